//! Protocol versions and named features (SPEC §9).

use crate::actions::Protocol;
use crate::error::{FormatError, Result};

/// Highest reader version this implementation understands.
pub const MAX_READER_VERSION: u32 = 1;
/// Highest writer version this implementation understands.
pub const MAX_WRITER_VERSION: u32 = 1;

/// Reader features this implementation supports.
pub const SUPPORTED_READER_FEATURES: &[&str] =
    &[crate::dv::FEATURE, crate::typed_checkpoint::FEATURE];
/// Writer features this implementation supports.
pub const SUPPORTED_WRITER_FEATURES: &[&str] = &[
    "appTransactions",
    crate::dv::FEATURE,
    crate::typed_checkpoint::FEATURE,
];

/// Refuses a table this implementation cannot read correctly.
pub fn check_readable(p: &Protocol) -> Result<()> {
    if p.min_reader_version > MAX_READER_VERSION {
        return Err(FormatError::UnsupportedProtocol(format!(
            "the table needs reader version {}, this reader supports up to {MAX_READER_VERSION}",
            p.min_reader_version
        )));
    }
    let unknown: Vec<&str> = p
        .reader_features
        .iter()
        .map(String::as_str)
        .filter(|f| !SUPPORTED_READER_FEATURES.contains(f))
        .collect();
    if !unknown.is_empty() {
        return Err(FormatError::UnsupportedProtocol(format!(
            "the table requires reader features this reader does not implement: {}",
            unknown.join(", ")
        )));
    }
    Ok(())
}

/// Refuses a table this implementation cannot write correctly.
pub fn check_writable(p: &Protocol) -> Result<()> {
    check_readable(p)?;
    if p.min_writer_version > MAX_WRITER_VERSION {
        return Err(FormatError::UnsupportedProtocol(format!(
            "the table needs writer version {}, this writer supports up to {MAX_WRITER_VERSION}",
            p.min_writer_version
        )));
    }
    let unknown: Vec<&str> = p
        .writer_features
        .iter()
        .map(String::as_str)
        .filter(|f| !SUPPORTED_WRITER_FEATURES.contains(f))
        .collect();
    if !unknown.is_empty() {
        return Err(FormatError::UnsupportedProtocol(format!(
            "the table requires writer features this writer does not implement: {}",
            unknown.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_required_features_are_refused_by_name() {
        let mut p = Protocol::default();
        check_writable(&p).unwrap();
        p.reader_features.push("timeMachines".into());
        let err = check_readable(&p).unwrap_err().to_string();
        assert!(err.contains("timeMachines"), "{err}");
        let p = Protocol {
            writer_features: vec!["fancyWrites".into()],
            ..Protocol::default()
        };
        check_readable(&p).unwrap();
        assert!(
            check_writable(&p)
                .unwrap_err()
                .to_string()
                .contains("fancyWrites")
        );
        let p = Protocol {
            min_reader_version: 2,
            ..Protocol::default()
        };
        assert!(check_readable(&p).is_err());
    }
}
