//! The one error type of `strata-format`.

use thiserror::Error;

/// Everything that can be wrong with Strata metadata, independent of where it was read from.
///
/// Errors carry the location they refer to (log version, line, field id or name) so that the
/// engine can add the object path and surface a message that points at the exact problem.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// A log entry line is not valid JSON or does not match the action shape.
    #[error("log version {version}, line {line}: {message}")]
    InvalidLogLine {
        /// Version of the commit file.
        version: u64,
        /// 1-based line number inside the commit file.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A commit file is structurally wrong (missing commit info, truncated, inconsistent).
    #[error("log version {version}: {message}")]
    InvalidCommit {
        /// Version of the commit file.
        version: u64,
        /// What is wrong.
        message: String,
    },
    /// A schema is invalid (duplicate ids, bad types, bad defaults).
    #[error("invalid schema: {0}")]
    InvalidSchema(String),
    /// A partition spec is invalid.
    #[error("invalid partition spec: {0}")]
    InvalidPartitionSpec(String),
    /// A single field of an action or metadata object holds an invalid value.
    #[error("invalid value for `{field}`: {message}")]
    InvalidField {
        /// The JSON field (dotted path) concerned.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Replaying the log produced an inconsistent state (e.g. removing a file that is not present).
    #[error("log version {version}: inconsistent state: {message}")]
    InconsistentState {
        /// The version whose actions could not be applied.
        version: u64,
        /// What is wrong.
        message: String,
    },
    /// The table requires a protocol version or feature this implementation does not support.
    #[error("unsupported protocol: {0}")]
    UnsupportedProtocol(String),
    /// Time travel asked for something the log does not contain.
    #[error("{0}")]
    TimeTravel(String),
    /// A partition transform cannot be applied to a value or column (SPEC §5.2–§5.4).
    #[error("partition transform: {0}")]
    Transform(String),
    /// A single value cannot be decoded from its JSON encoding or converted to another type.
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// A predicate expression cannot be parsed or bound to a schema.
    #[error("invalid expression: {0}")]
    InvalidExpression(String),
    /// A deletion vector does not decode or does not fit its descriptor or data file (SPEC §7);
    /// the message names the vector object and offset.
    #[error("deletion vector of `{file}`: {message}")]
    InvalidDeletionVector {
        /// Logical path of the data file.
        file: String,
        /// Which object and what is wrong.
        message: String,
    },
    /// Evaluating a bound expression over data failed.
    #[error("expression evaluation failed: {0}")]
    Evaluation(String),
}

/// Convenience alias.
pub type Result<T, E = FormatError> = std::result::Result<T, E>;
