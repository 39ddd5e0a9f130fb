//! The one error type of `strata-catalog`.

use strata_format::conflict::{Conflict, DuplicateBatch};
use thiserror::Error;

/// Errors of the catalog (store, service and client).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A namespace or table name is not acceptable.
    #[error("invalid {kind} name `{name}`: {message}")]
    InvalidName {
        /// `namespace` or `table`.
        kind: &'static str,
        /// The name as given (control characters escaped).
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A request is malformed or cannot be applied.
    #[error("{0}")]
    BadRequest(String),
    /// A well-formed commit that the spec's rules refuse; the message names the field.
    #[error("{0}")]
    Unprocessable(String),
    /// A transaction id was committed before with a different change.
    #[error(
        "{table}: txnId {txn_id} was committed at version {version} with a different change; \
         a retry must resend the same change, a new change needs a new txnId"
    )]
    TxnReused {
        /// The transaction id.
        txn_id: String,
        /// `namespace.table`.
        table: String,
        /// Where the first change landed.
        version: u64,
    },
    /// The namespace does not exist.
    #[error("namespace `{0}` does not exist")]
    NamespaceNotFound(String),
    /// The namespace already exists.
    #[error("namespace `{0}` already exists")]
    NamespaceExists(String),
    /// The namespace still holds tables.
    #[error("namespace `{0}` is not empty: drop or move its tables first")]
    NamespaceNotEmpty(String),
    /// The table does not exist.
    #[error("table `{0}` does not exist")]
    TableNotFound(String),
    /// The token does not exist (or is not visible to the caller).
    #[error("token `{0}` does not exist")]
    TokenNotFound(String),
    /// The tag does not exist.
    #[error("{0}")]
    TagNotFound(String),
    /// The table already exists.
    #[error("table `{0}` already exists")]
    TableExists(String),
    /// A commit conflicts with a commit that landed after its base version.
    #[error("{table}: {conflict}")]
    Conflict {
        /// `namespace.table`.
        table: String,
        /// The winning version and why.
        conflict: Conflict,
    },
    /// An application batch was already committed.
    #[error("{table}: duplicate batch: {duplicate}")]
    DuplicateBatch {
        /// `namespace.table`.
        table: String,
        /// Which batch.
        duplicate: DuplicateBatch,
    },
    /// No credentials, or credentials the catalog does not know.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials without the needed role.
    #[error("{0}")]
    Forbidden(String),
    /// The metadata store failed.
    #[error("catalog store: {0}")]
    Store(#[from] sqlx::Error),
    /// A store migration failed.
    #[error("catalog store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The engine failed (storage, corrupt log...).
    #[error(transparent)]
    Table(#[from] strata_table::Error),
    /// Generating a table's Iceberg metadata failed (the Iceberg REST view).
    #[error(transparent)]
    Iceberg(#[from] strata_iceberg::Error),
    /// Object storage failed outside the engine.
    #[error("storage: {0}")]
    Storage(#[from] object_store::Error),
    /// A storage write whose outcome is unknown.
    #[error("{table}: the outcome of writing version {version} is unknown: {message}")]
    CommitOutcomeUnknown {
        /// `namespace.table`.
        table: String,
        /// Version written.
        version: u64,
        /// Cause.
        message: String,
    },
    /// The table's log kept moving under the catalog (writers bypassing it); retry later.
    #[error("{0}")]
    Busy(String),
    /// Server configuration or start-up failed.
    #[error("{0}")]
    Config(String),
    /// An I/O error (binding, serving).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The HTTP transport of the client failed.
    #[error("cannot reach the catalog: {0}")]
    Http(#[from] reqwest::Error),
    /// The catalog answered with an error.
    #[error("catalog error {status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Error code of the envelope.
        code: String,
        /// Message of the envelope.
        message: String,
        /// The server's error id (5xx), to find the log line.
        error_id: Option<String>,
        /// The typed conflict of a 409.
        conflict: Option<Box<crate::model::ConflictBody>>,
    },
    /// JSON (de)serialization failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
