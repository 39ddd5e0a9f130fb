//! The metadata store seam: namespaces, tables, commit records and tokens.
//!
//! Two implementations: SQLite (embedded, the default) and PostgreSQL (several catalog
//! processes sharing one database). Every piece of state lives in the store; nothing that
//! matters for correctness is kept in one process's memory.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{Error, Result};

mod postgres;
mod sqlite;
mod tokens;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use tokens::{AuditRecord, AuditStore, TokenRecord, TokenStore};

/// A namespace row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceRecord {
    /// Name.
    pub name: String,
    /// Properties.
    pub properties: BTreeMap<String, String>,
}

/// `namespace.table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableIdent {
    /// Namespace.
    pub namespace: String,
    /// Table name.
    pub name: String,
}

impl TableIdent {
    /// An identifier.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for TableIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.namespace, self.name)
    }
}

/// A table row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRecord {
    /// Identifier.
    pub ident: TableIdent,
    /// Location of the table root.
    pub location: String,
    /// The table's id (from its metadata).
    pub table_id: String,
    /// Version of the last commit the catalog knows of (the log may be ahead).
    pub current_version: u64,
}

/// An exclusive hold on one table's row for the duration of a commit (a row lock on
/// PostgreSQL, a write transaction on SQLite). Dropping it without [`TableLock::finish`] rolls
/// back.
#[async_trait]
pub trait TableLock: Send {
    /// The table row, as read under the lock.
    fn table(&self) -> &TableRecord;
    /// The version transaction `txn_id` committed at, if the catalog recorded it.
    async fn find_commit(&mut self, txn_id: &str) -> Result<Option<u64>>;
    /// Records `txn_id` at `version`, advances the table's pointer and releases the lock.
    async fn finish(self: Box<Self>, txn_id: &str, version: u64) -> Result<()>;
    /// Releases the lock without changes.
    async fn release(self: Box<Self>) -> Result<()>;
}

/// The metadata store.
#[async_trait]
pub trait Store: TokenStore + AuditStore + Send + Sync + fmt::Debug {
    /// Which backend (`sqlite`, `postgres`).
    fn kind(&self) -> &'static str;
    /// Whether the store answers (health checks).
    async fn ping(&self) -> Result<()>;

    /// Creates a namespace.
    async fn create_namespace(&self, ns: &NamespaceRecord) -> Result<()>;
    /// All namespaces by name.
    async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>>;
    /// One namespace.
    async fn get_namespace(&self, name: &str) -> Result<Option<NamespaceRecord>>;
    /// Drops an empty namespace.
    async fn drop_namespace(&self, name: &str) -> Result<()>;
    /// Sets and removes properties; returns the namespace after the change.
    async fn update_namespace_properties(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<NamespaceRecord>;

    /// Adds a table row (the namespace must exist).
    async fn create_table(&self, table: &TableRecord) -> Result<()>;
    /// Tables of a namespace by name.
    async fn list_tables(&self, namespace: &str) -> Result<Vec<TableRecord>>;
    /// One table.
    async fn get_table(&self, ident: &TableIdent) -> Result<Option<TableRecord>>;
    /// Renames a table (possibly into another, existing namespace).
    async fn rename_table(&self, from: &TableIdent, to: &TableIdent) -> Result<()>;
    /// Removes a table row and its commit records; returns the removed row.
    async fn drop_table(&self, ident: &TableIdent) -> Result<TableRecord>;
    /// Locks a table's row for a commit; waits for other holders.
    async fn lock_table(&self, ident: &TableIdent) -> Result<Box<dyn TableLock>>;
}

/// Opens (and migrates) the store named by `url`: `sqlite://PATH` (created if missing),
/// `sqlite::memory:`, or `postgres://...`.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(Error::Config(format!(
            "unsupported store URL `{}`: use sqlite://PATH or postgres://...",
            redact(url)
        )))
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// The current time in ms since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn props_to_json(p: &BTreeMap<String, String>) -> Result<String> {
    Ok(serde_json::to_string(p)?)
}

pub(crate) fn props_from_json(s: &str) -> Result<BTreeMap<String, String>> {
    Ok(serde_json::from_str(s)?)
}

pub(crate) fn version_from_db(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn version_to_db(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::BadRequest(format!("version {v} is out of range")))
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
