//! The one error type of `strata-table`.

use strata_format::FormatError;
use strata_format::conflict::{Conflict, DuplicateBatch};
use thiserror::Error;

/// Errors of the engine. Every variant names the table, object and/or version involved.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The table URI cannot be used.
    #[error("invalid table URI `{uri}`: {message}")]
    InvalidUri {
        /// The URI as given.
        uri: String,
        /// What is wrong.
        message: String,
    },
    /// An object store request failed. The message is one line naming the operation and
    /// its cause ([`crate::storage::diagnose`]); the store's own error is the source.
    #[error("{table}: {}", crate::storage::diagnose::describe(.path, .source))]
    Storage {
        /// Table URI.
        table: String,
        /// Object path.
        path: String,
        /// The store's error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// No table exists at the URI.
    #[error("no Strata table at `{uri}` (no commit in `_strata_log/`)")]
    TableNotFound {
        /// Table URI.
        uri: String,
    },
    /// A table already exists where one was to be created.
    #[error("a table already exists at `{uri}`")]
    TableExists {
        /// Table URI.
        uri: String,
    },
    /// A log object is corrupt, truncated or inconsistent.
    #[error("{table}: `{path}` (version {version}): {source}")]
    Corrupt {
        /// Table URI.
        table: String,
        /// Object path.
        path: String,
        /// Version concerned.
        version: u64,
        /// What is wrong.
        #[source]
        source: FormatError,
    },
    /// A checkpoint cannot be decoded.
    #[error("{table}: checkpoint `{path}` (version {version}) is unreadable: {message}")]
    CorruptCheckpoint {
        /// Table URI.
        table: String,
        /// Object path.
        path: String,
        /// Version of the checkpoint.
        version: u64,
        /// What is wrong.
        message: String,
    },
    /// A version that does not exist was asked for.
    #[error("{table}: version {version} does not exist (latest is {latest})")]
    VersionNotFound {
        /// Table URI.
        table: String,
        /// Version asked for.
        version: u64,
        /// Latest version.
        latest: u64,
    },
    /// A commit file the log needs is missing.
    #[error("{table}: log version {version} is missing (`{path}`); the log is incomplete")]
    MissingVersion {
        /// Table URI.
        table: String,
        /// Object path expected.
        path: String,
        /// The missing version.
        version: u64,
    },
    /// Time travel by timestamp asked for a time before the table existed.
    #[error(
        "{table}: no version at or before {timestamp}: the table's first version was committed at {first}"
    )]
    TimestampBeforeTable {
        /// Table URI.
        table: String,
        /// Requested time (RFC 3339).
        timestamp: String,
        /// Time of version 0 (RFC 3339).
        first: String,
    },
    /// An unknown tag was asked for.
    #[error("{table}: no tag named `{name}` (tags: {known})")]
    TagNotFound {
        /// Table URI.
        table: String,
        /// Tag name.
        name: String,
        /// Comma-separated known tags, or `none`.
        known: String,
    },
    /// The commit conflicts with a concurrent commit; re-plan on a newer snapshot.
    #[error("{table}: {conflict}")]
    Conflict {
        /// Table URI.
        table: String,
        /// Which version won and why it conflicts.
        conflict: Conflict,
    },
    /// An application batch was already committed (exactly-once ingestion).
    #[error("{table}: duplicate batch: {duplicate}")]
    DuplicateBatch {
        /// Table URI.
        table: String,
        /// Details.
        duplicate: DuplicateBatch,
    },
    /// The version was expired (SPEC §11.5): the log keeps versions from `oldest` on.
    #[error("{table}: version {version} was expired; the oldest version kept is {oldest}")]
    VersionExpired {
        /// Table URI.
        table: String,
        /// The version asked for.
        version: u64,
        /// The oldest version kept.
        oldest: u64,
    },
    /// A time before the oldest version the log keeps (SPEC §11.5).
    #[error(
        "{table}: {timestamp} is before the oldest version kept, {oldest} (committed \
         {oldest_time}); older versions were expired"
    )]
    TimestampExpired {
        /// Table URI.
        table: String,
        /// The time asked for (RFC 3339).
        timestamp: String,
        /// The oldest version kept.
        oldest: u64,
        /// Its commit time (RFC 3339).
        oldest_time: String,
    },
    /// A merge source holds two rows with one key: which of them a matching target row takes
    /// would be ambiguous.
    #[error(
        "{table}: the merge source has more than one row with key {key} (source rows {first} \
         and {second}, counted from 0); each key may appear at most once"
    )]
    AmbiguousMergeSource {
        /// Table URI.
        table: String,
        /// The key, as `(column = value, ...)`.
        key: String,
        /// The first source row with the key.
        first: u64,
        /// The second.
        second: u64,
    },
    /// The commit kept losing races and gave up.
    #[error("{table}: commit gave up after {attempts} attempts (last version tried: {version})")]
    RetriesExhausted {
        /// Table URI.
        table: String,
        /// Attempts made.
        attempts: u32,
        /// Last version tried.
        version: u64,
    },
    /// Storage kept failing so that it is unknown whether the commit landed.
    #[error(
        "{table}: commit outcome unknown at version {version} (transaction {txn_id}): {source}; \
         look for the transaction id in the history before retrying"
    )]
    CommitOutcomeUnknown {
        /// Table URI.
        table: String,
        /// Version tried.
        version: u64,
        /// The transaction id to look for.
        txn_id: String,
        /// Last storage error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// The requested operation is not valid for the table's state.
    #[error("{table}: {message}")]
    InvalidOperation {
        /// Table URI.
        table: String,
        /// What is wrong.
        message: String,
    },
    /// Invalid format input (schema, spec, action) not tied to a stored object.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// Data handed to a writer does not fit the table schema.
    #[error("data does not match the table schema{}: {message}", at_column(.column))]
    SchemaMismatch {
        /// Dotted path of the column concerned (`element`, `key`, `value` for list/map parts).
        column: String,
        /// What is wrong, naming the types involved.
        message: String,
    },
    /// An input file (CSV, JSON, Parquet) cannot be read into the table's schema.
    #[error("input `{file}`: {message}")]
    InvalidInput {
        /// The file as named by the caller.
        file: String,
        /// What is wrong, with the line or row and the column.
        message: String,
    },
    /// A table property (or writer option) has a value that cannot be used.
    #[error("table property `{key}` = `{value}` is invalid: {message}")]
    InvalidProperty {
        /// Property key.
        key: String,
        /// Value as given.
        value: String,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// Encoding or writing a Parquet data file failed.
    #[error("{table}: Parquet file `{path}`: {source}")]
    Parquet {
        /// Table URI.
        table: String,
        /// Object path of the data file.
        path: String,
        /// The Parquet (or underlying storage) error.
        #[source]
        source: Box<parquet::errors::ParquetError>,
    },
    /// A tier-move copy did not produce the bytes the log records; nothing was committed.
    #[error("{table}: copying `{from}` to `{to}` failed: {message}")]
    CopyFailed {
        /// Table URI.
        table: String,
        /// Source location.
        from: String,
        /// Target location.
        to: String,
        /// What went wrong.
        message: String,
    },
    /// A read needs files in an archive storage class (SPEC §6.4) that have no completed,
    /// unexpired restore.
    #[error(
        "{table}: {} file(s) to read are archived and cannot be read until restored: {}; run \
         `strata tier restore {table} --where ...` (or scan with `--restore`), move them to a \
         readable tier with `strata tier move`, or filter them out of the scan",
        files.len(),
        files.join(", ")
    )]
    ArchivedFiles {
        /// Table URI.
        table: String,
        /// Each file as `path (location, storage class)`.
        files: Vec<String>,
    },
    /// Restoring an archived file failed (SPEC §6.4.1); restores already requested stay so.
    #[error("{table}: restoring `{path}` at {location} failed: {message}")]
    RestoreFailed {
        /// Table URI.
        table: String,
        /// Logical path.
        path: String,
        /// Physical location.
        location: String,
        /// What went wrong.
        message: String,
    },
    /// Restores were requested but did not complete in the time allowed.
    #[error(
        "{table}: {} restore(s) still in progress after the wait: {}; they continue in the \
         store: run the restore again later to record them",
        pending.len(),
        pending.join(", ")
    )]
    RestoreTimeout {
        /// Table URI.
        table: String,
        /// Files whose restore is in progress.
        pending: Vec<String>,
    },
}

impl Error {
    /// True when the error is a commit conflict or duplicate batch (a typed outcome of a race).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. } | Error::DuplicateBatch { .. })
    }
}

fn at_column(column: &str) -> String {
    if column.is_empty() {
        String::new()
    } else {
        format!(" at column `{column}`")
    }
}

/// Convenience alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
