//! The one error type of `strata-iceberg`.

use thiserror::Error;

/// Errors of Iceberg metadata generation. Every variant names the table and, where one is
/// concerned, the Strata version.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the Strata table failed.
    #[error("{table}: reading version {version}: {source}")]
    Table {
        /// Table URI.
        table: String,
        /// Strata version being exported.
        version: u64,
        /// The engine's error.
        #[source]
        source: Box<strata_table::Error>,
    },
    /// An object store request failed.
    #[error("{table}: `{path}`: {source}")]
    Storage {
        /// Table URI.
        table: String,
        /// Object path (relative to the table root, or the location).
        path: String,
        /// The store's error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// The version has something Iceberg format version 2 cannot express without changing
    /// what a reader sees (for example a column `initialDefault`).
    #[error("{table}: version {version} cannot be exported to Iceberg: {message}")]
    Unsupported {
        /// Table URI.
        table: String,
        /// Strata version.
        version: u64,
        /// What cannot be expressed.
        message: String,
    },
    /// A live data file of the exported version is in an archive storage class and not
    /// restored (SPEC §6.4): an Iceberg reader would fail on it, so the version is refused.
    #[error(
        "{table}: version {version}: data file `{path}` at `{location}` is in archive storage \
         class {storage_class}; restore it or move it to another tier before exporting"
    )]
    ArchivedFile {
        /// Table URI.
        table: String,
        /// Strata version.
        version: u64,
        /// Logical path of the file.
        path: String,
        /// Its physical location.
        location: String,
        /// Its storage class.
        storage_class: String,
    },
    /// The Strata log holds a value that cannot be decoded (a statistic, a partition value or
    /// a deletion vector).
    #[error("{table}: version {version}: {message}")]
    Invalid {
        /// Table URI.
        table: String,
        /// Strata version.
        version: u64,
        /// What is wrong.
        message: String,
    },
    /// Writing an Avro or Parquet file failed.
    #[error("{table}: version {version}: writing `{path}`: {message}")]
    Encode {
        /// Table URI.
        table: String,
        /// Strata version.
        version: u64,
        /// Object path being written.
        path: String,
        /// The encoder's message.
        message: String,
    },
}

/// Result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the pure mapping functions, before the caller adds table and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MapError {
    /// Not expressible in Iceberg v2.
    Unsupported(String),
    /// An undecodable value in the log.
    Invalid(String),
}

impl MapError {
    /// The full error for `table` at `version`.
    pub(crate) fn at(self, table: &str, version: u64) -> Error {
        match self {
            MapError::Unsupported(message) => Error::Unsupported {
                table: table.to_string(),
                version,
                message,
            },
            MapError::Invalid(message) => Error::Invalid {
                table: table.to_string(),
                version,
                message,
            },
        }
    }
}
