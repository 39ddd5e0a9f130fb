//! Namespace and table names (flat namespaces: one segment, no dots).

use crate::error::{Error, Result};

/// Longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

fn check(kind: &'static str, name: &str) -> Result<()> {
    let bad = |message: &str| Error::InvalidName {
        kind,
        name: name.escape_default().to_string(),
        message: message.to_string(),
    };
    if name.is_empty() {
        return Err(bad("must not be empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(bad(&format!("longer than {MAX_NAME_LEN} bytes")));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("control characters are not allowed"));
    }
    if name == "." || name == ".." || name.contains('/') || name.contains('\\') {
        return Err(bad("path separators and `.`/`..` are not allowed"));
    }
    if name.contains('.') {
        return Err(bad(
            "dots are not allowed (`namespace.table` separates names with a dot)",
        ));
    }
    if name.starts_with('-') {
        return Err(bad("must not start with `-`"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(bad("use ASCII letters, digits, `_` and `-` only"));
    }
    Ok(())
}

/// Checks a namespace name.
pub fn validate_namespace(name: &str) -> Result<()> {
    check("namespace", name)
}

/// Checks a table name.
pub fn validate_table(name: &str) -> Result<()> {
    check("table", name)
}

/// Splits `namespace.table`.
pub fn split_qualified(name: &str) -> Result<(&str, &str)> {
    let (ns, table) = name.split_once('.').ok_or_else(|| {
        Error::BadRequest(format!(
            "`{}` is not `namespace.table`",
            name.escape_default()
        ))
    })?;
    validate_namespace(ns)?;
    validate_table(table)?;
    Ok((ns, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        for n in ["events", "a", "A_b-9", "_x", &"x".repeat(MAX_NAME_LEN)] {
            assert!(validate_namespace(n).is_ok(), "{n}");
            assert!(validate_table(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn refuses_traversal_control_and_dots() {
        for n in [
            "",
            ".",
            "..",
            "../etc",
            "a/b",
            "a\\b",
            "a.b",
            "tab\tname",
            "nul\0",
            "new\nline",
            "-flag",
            "sp ace",
            "é",
            &"x".repeat(MAX_NAME_LEN + 1),
        ] {
            assert!(validate_namespace(n).is_err(), "{n:?}");
            assert!(validate_table(n).is_err(), "{n:?}");
        }
    }

    #[test]
    fn splits_qualified_names() {
        assert_eq!(split_qualified("ns.t").unwrap(), ("ns", "t"));
        assert!(split_qualified("nodot").is_err());
        assert!(split_qualified("a.b.c").is_err());
    }
}
