//! CLI errors: one clear line, a hint, and an exit code.

use std::fmt;

/// Exit code for a user error (bad input, missing table, corrupt data...).
pub const EXIT_USER: u8 = 1;
/// Exit code for a usage error (clap's own).
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a commit conflict that retries could not resolve.
pub const EXIT_CONFLICT: u8 = 3;

/// An error as the CLI reports it.
#[derive(Debug)]
pub struct CliError {
    message: String,
    hint: Option<String>,
    code: u8,
    broken_pipe: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl CliError {
    /// A user error with a message.
    pub fn user(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            code: EXIT_USER,
            broken_pipe: false,
            source: None,
        }
    }

    /// Adds a hint line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The exit code.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// The hint, if any.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// True when stdout was closed by the reader (e.g. `| head`): not an error.
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }

    /// The chain of causes, outermost first (for `--verbose`).
    pub fn causes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = match &self.source {
            Some(s) => s.source(),
            None => None,
        };
        while let Some(e) = cur {
            out.push(e.to_string());
            cur = e.source();
        }
        out
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The exit code and hint of an engine error.
fn table_code_hint(e: &strata_table::Error) -> (u8, Option<String>) {
    use strata_table::Error as E;
    match e {
        E::Conflict { .. } | E::RetriesExhausted { .. } => (
            EXIT_CONFLICT,
            Some("another writer changed the table; run the command again".to_string()),
        ),
        E::DuplicateBatch { .. } => (
            EXIT_CONFLICT,
            Some("this batch was already committed; nothing to do".to_string()),
        ),
        E::TableNotFound { .. } => (
            EXIT_USER,
            Some("create it with `strata create TABLE --schema ...`".to_string()),
        ),
        E::TagNotFound { .. } => (
            EXIT_USER,
            Some("list tags with `strata tag TABLE list`".to_string()),
        ),
        E::VersionExpired { .. } | E::TimestampExpired { .. } => (
            EXIT_USER,
            Some("versions before the oldest kept were expired (`strata expire`); see `strata history TABLE`".to_string()),
        ),
        E::VersionNotFound { .. } | E::TimestampBeforeTable { .. } => (
            EXIT_USER,
            Some("see the versions with `strata history TABLE`".to_string()),
        ),
        E::Storage { table, source, .. } => (
            EXIT_USER,
            strata_table::diagnose_storage(source).hint(table),
        ),
        E::CommitOutcomeUnknown { txn_id, .. } => (
            EXIT_USER,
            Some(format!(
                "check `strata history TABLE --output json` for transaction {txn_id} before retrying"
            )),
        ),
        _ => (EXIT_USER, None),
    }
}

impl CliError {
    /// An engine error seen through a reference (inside another library's error): its
    /// message, hint and exit code.
    pub fn from_table_error(e: &strata_table::Error) -> Self {
        let (code, hint) = table_code_hint(e);
        Self {
            message: e.to_string(),
            hint,
            code,
            broken_pipe: false,
            source: None,
        }
    }
}

impl From<strata_table::Error> for CliError {
    fn from(e: strata_table::Error) -> Self {
        let (code, hint) = table_code_hint(&e);
        Self {
            message: e.to_string(),
            hint,
            code,
            broken_pipe: false,
            source: Some(Box::new(e)),
        }
    }
}

impl From<strata_iceberg::Error> for CliError {
    fn from(e: strata_iceberg::Error) -> Self {
        if let strata_iceberg::Error::Table { source, .. } = &e {
            let (code, hint) = table_code_hint(source);
            return Self {
                message: e.to_string(),
                hint,
                code,
                broken_pipe: false,
                source: Some(Box::new(e)),
            };
        }
        let hint = match &e {
            strata_iceberg::Error::ArchivedFile { .. } => {
                Some("restore it with `strata tier restore`, or export an older version".into())
            }
            _ => None,
        };
        Self {
            message: e.to_string(),
            hint,
            code: EXIT_USER,
            broken_pipe: false,
            source: Some(Box::new(e)),
        }
    }
}

impl From<strata_format::FormatError> for CliError {
    fn from(e: strata_format::FormatError) -> Self {
        Self {
            message: e.to_string(),
            hint: None,
            code: EXIT_USER,
            broken_pipe: false,
            source: Some(Box::new(e)),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self {
            broken_pipe: e.kind() == std::io::ErrorKind::BrokenPipe,
            message: format!("output failed: {e}"),
            hint: None,
            code: EXIT_USER,
            source: Some(Box::new(e)),
        }
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) {
            return std::io::Error::from(std::io::ErrorKind::BrokenPipe).into();
        }
        Self::user(format!("JSON output failed: {e}"))
    }
}

/// Result alias.
pub type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_exit_with_code_3() {
        let e: CliError = strata_table::Error::RetriesExhausted {
            table: "memory://t".into(),
            attempts: 5,
            version: 9,
        }
        .into();
        assert_eq!(e.code(), EXIT_CONFLICT);
        assert!(
            e.hint()
                .is_some_and(|h| h.contains("run the command again"))
        );
        let e: CliError = strata_table::Error::TableNotFound {
            uri: "memory://t".into(),
        }
        .into();
        assert_eq!(e.code(), EXIT_USER);
        let e: CliError = std::io::Error::from(std::io::ErrorKind::BrokenPipe).into();
        assert!(e.is_broken_pipe());
    }
}
