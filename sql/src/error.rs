//! The crate's error type.

use datafusion::error::DataFusionError;

/// Errors of SQL over Strata tables.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The engine refused or failed (carries the table and version where it knows them).
    #[error(transparent)]
    Table(#[from] strata_table::Error),
    /// DataFusion refused or failed to plan or run a statement.
    #[error("{0}")]
    DataFusion(#[from] DataFusionError),
    /// A table reference that names no table, or a suffix that cannot be read.
    #[error("table `{name}`: {message}")]
    TableName {
        /// The reference as written.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A statement Strata cannot run (named, with the reason).
    #[error("{0}")]
    Unsupported(String),
}

/// Results of this crate.
pub type Result<T, E = SqlError> = std::result::Result<T, E>;

impl From<SqlError> for DataFusionError {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::DataFusion(e) => e,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}

/// A DataFusion error carrying an engine error (kept whole, so callers can find the restore
/// hint of archived files, the conflict type, …).
pub(crate) fn table_err(e: strata_table::Error) -> DataFusionError {
    DataFusionError::External(Box::new(SqlError::Table(e)))
}

/// An engine error for a failure while evaluating rows (DataFusion's, inside an engine write).
pub(crate) fn eval_err(e: impl std::fmt::Display) -> strata_table::Error {
    strata_table::Error::Format(strata_format::FormatError::Evaluation(e.to_string()))
}

/// The engine error inside a DataFusion error, if any (through contexts and shared errors).
pub fn find_table_error(e: &DataFusionError) -> Option<&strata_table::Error> {
    let mut current: &(dyn std::error::Error + 'static) = e;
    loop {
        if let Some(SqlError::Table(t)) = current.downcast_ref::<SqlError>() {
            return Some(t);
        }
        if let Some(t) = current.downcast_ref::<strata_table::Error>() {
            return Some(t);
        }
        current = match current.downcast_ref::<DataFusionError>() {
            Some(DataFusionError::External(inner)) => inner.as_ref(),
            Some(DataFusionError::Context(_, inner)) => inner.as_ref(),
            Some(DataFusionError::Shared(inner)) => inner.as_ref(),
            _ => current.source()?,
        };
    }
}
