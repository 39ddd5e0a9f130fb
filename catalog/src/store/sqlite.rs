//! SQLite store (embedded, the default). Writes take the database write lock with
//! `BEGIN IMMEDIATE`, which serializes them across connections and processes, for as long as
//! a few statements take. Within one process every write goes through one connection of its
//! own, so concurrent requests queue for it instead of meeting SQLite's lock, whose busy
//! handler sleeps between retries; reads use a pool of their own (WAL: they never wait for
//! the writer). A commit's table lock is a **lease** instead (a `table_leases` row
//! with its holder and expiry, taken and given back in short transactions), so that the
//! storage write between them does not hold SQLite's database-wide lock: commits to other
//! tables, and every other write, go on meanwhile. Within one process, writers of one table
//! queue on a mutex; across processes they poll the lease. A holder that died loses its lease
//! when it expires; the log's put-if-absent (SPEC §2.4) stays the mutual exclusion of the
//! commit itself.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use super::tokens::{self, audit_from_row, sql, token_and_audit_stores, token_from_row};
use super::{AuditRecord, AuditStore, TokenRecord, TokenStore};
use super::{
    NamespaceRecord, Store, TableIdent, TableLock, TableRecord, is_unique_violation, now_ms,
    props_from_json, props_to_json, version_from_db, version_to_db,
};
use crate::error::{Error, Result};

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Reads (several connections: WAL readers do not wait for the writer).
    pool: SqlitePool,
    /// Writes: one connection, so that this process's writers queue here in order instead of
    /// colliding on SQLite's lock, whose busy handler sleeps milliseconds between retries.
    /// Other processes still meet the lock (and the busy timeout).
    writer: SqlitePool,
    /// Per table id: the mutex writers of this process queue on before taking the lease.
    queues: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// The row of table `ident`, or `TableNotFound`.
async fn read_table<'e, E>(executor: E, ident: &TableIdent) -> Result<TableRecord>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let row = sqlx::query(&format!(
        "SELECT {TABLE_COLUMNS} FROM tables WHERE namespace = ? AND name = ?"
    ))
    .bind(&ident.namespace)
    .bind(&ident.name)
    .fetch_optional(executor)
    .await?
    .ok_or_else(|| Error::TableNotFound(ident.to_string()))?;
    table_row(&row)
}

/// How long a lease lasts: longer than any commit's storage write takes.
const LEASE_MS: i64 = 120_000;
/// How long a writer waits for another process's lease before giving up (busy).
const LEASE_WAIT: Duration = Duration::from_secs(60);

/// The lease of one table's lock (see the module documentation).
struct SqliteLock {
    pool: SqlitePool,
    writer: SqlitePool,
    table: TableRecord,
    owner: String,
    /// Given back (finished or released): nothing left to clean up on drop.
    done: bool,
    _queued: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for SqliteLock {
    fn drop(&mut self) {
        // Dropped without finish or release (a cancelled request): give the lease back now
        // rather than when it expires.
        if self.done {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (pool, id, owner) = (
                self.writer.clone(),
                self.table.table_id.clone(),
                self.owner.clone(),
            );
            rt.spawn(async move {
                let _ = give_back(&pool, &id, &owner).await;
            });
        }
    }
}

async fn give_back(pool: &SqlitePool, table_id: &str, owner: &str) -> Result<()> {
    sqlx::query("DELETE FROM table_leases WHERE table_id = ? AND owner = ?")
        .bind(table_id)
        .bind(owner)
        .execute(pool)
        .await?;
    Ok(())
}

/// Whether a live lease of another writer holds the table (inside a transaction).
async fn leased(tx: &mut Transaction<'static, Sqlite>, table_id: &str) -> Result<bool> {
    let row = sqlx::query("SELECT until_ms FROM table_leases WHERE table_id = ?")
        .bind(table_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<i64, _>("until_ms")? > now_ms(),
        None => false,
    })
}

/// Sleeps before the next attempt to take a lease; `Busy` once `LEASE_WAIT` has passed.
async fn back_off(started: std::time::Instant, attempt: &mut u32, what: &str) -> Result<()> {
    if started.elapsed() > LEASE_WAIT {
        return Err(Error::Busy(format!(
            "{what}: another catalog process has been committing to the table for over {} s",
            LEASE_WAIT.as_secs()
        )));
    }
    *attempt += 1;
    tokio::time::sleep(Duration::from_millis(u64::from((*attempt).min(20)) * 5)).await;
    Ok(())
}

fn table_row(r: &SqliteRow) -> Result<TableRecord> {
    Ok(TableRecord {
        ident: TableIdent::new(
            r.try_get::<String, _>("namespace")?,
            r.try_get::<String, _>("name")?,
        ),
        location: r.try_get("location")?,
        table_id: r.try_get("table_id")?,
        current_version: version_from_db(r.try_get("current_version")?),
    })
}

fn ns_row(r: &SqliteRow) -> Result<NamespaceRecord> {
    Ok(NamespaceRecord {
        name: r.try_get("name")?,
        properties: props_from_json(&r.try_get::<String, _>("properties")?)?,
    })
}

const TABLE_COLUMNS: &str = "namespace, name, location, table_id, current_version";

impl SqliteStore {
    /// Opens `sqlite://PATH` (creating the file) or `sqlite::memory:` and migrates it.
    pub async fn connect(url: &str) -> Result<Self> {
        let memory = url.contains(":memory:");
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let opts = if memory {
            opts
        } else {
            opts.journal_mode(SqliteJournalMode::Wal)
        };
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists once per connection: keep exactly one.
            .max_connections(if memory { 1 } else { 8 })
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(opts.clone())
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let writer = if memory {
            pool.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(60))
                .connect_with(opts)
                .await?
        };
        Ok(Self {
            pool,
            writer,
            queues: Arc::default(),
        })
    }

    fn queue(&self, table_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(table_id.to_string())
            .or_default()
            .clone()
    }

    /// Begins a write transaction on the row of `ident` once no commit holds its lease (a
    /// rename or drop waits for the commit in progress, as it did for the write lock).
    async fn begin_unleased(
        &self,
        ident: &TableIdent,
        what: &str,
    ) -> Result<(Transaction<'static, Sqlite>, TableRecord)> {
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
            let table = read_table(&mut *tx, ident).await?;
            if !leased(&mut tx, &table.table_id).await? {
                return Ok((tx, table));
            }
            tx.rollback().await?;
            back_off(started, &mut attempt, what).await?;
        }
    }
}

#[async_trait]
impl TableLock for SqliteLock {
    fn table(&self) -> &TableRecord {
        &self.table
    }

    async fn find_commit(&mut self, txn_id: &str) -> Result<Option<u64>> {
        let row = sqlx::query("SELECT version FROM commits WHERE table_id = ? AND txn_id = ?")
            .bind(&self.table.table_id)
            .bind(txn_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Some(version_from_db(r.try_get("version")?)),
            None => None,
        })
    }

    async fn finish(mut self: Box<Self>, txn_id: &str, version: u64) -> Result<()> {
        let v = version_to_db(version)?;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO commits (table_id, txn_id, version, committed_at_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(&self.table.table_id)
        .bind(txn_id)
        .bind(v)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE tables SET current_version = MAX(current_version, ?) WHERE table_id = ?",
        )
        .bind(v)
        .bind(&self.table.table_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM table_leases WHERE table_id = ? AND owner = ?")
            .bind(&self.table.table_id)
            .bind(&self.owner)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.done = true;
        Ok(())
    }

    async fn release(mut self: Box<Self>) -> Result<()> {
        give_back(&self.writer, &self.table.table_id, &self.owner).await?;
        self.done = true;
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_namespace(&self, ns: &NamespaceRecord) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO namespaces (name, properties, created_at_ms) VALUES (?, ?, ?)",
        )
        .bind(&ns.name)
        .bind(props_to_json(&ns.properties)?)
        .bind(now_ms())
        .execute(&self.writer)
        .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(Error::NamespaceExists(ns.name.clone())),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>> {
        sqlx::query("SELECT name, properties FROM namespaces ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(ns_row)
            .collect()
    }

    async fn get_namespace(&self, name: &str) -> Result<Option<NamespaceRecord>> {
        sqlx::query("SELECT name, properties FROM namespaces WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(ns_row)
            .transpose()
    }

    async fn drop_namespace(&self, name: &str) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let tables: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tables WHERE namespace = ?")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if tables > 0 {
            return Err(Error::NamespaceNotEmpty(name.to_string()));
        }
        let done = sqlx::query("DELETE FROM namespaces WHERE name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NamespaceNotFound(name.to_string()));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn update_namespace_properties(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<NamespaceRecord> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query("SELECT name, properties FROM namespaces WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::NamespaceNotFound(name.to_string()))?;
        let mut ns = ns_row(&row)?;
        for k in remove {
            ns.properties.remove(k);
        }
        ns.properties
            .extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
        sqlx::query("UPDATE namespaces SET properties = ? WHERE name = ?")
            .bind(props_to_json(&ns.properties)?)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ns)
    }

    async fn create_table(&self, t: &TableRecord) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let ns = sqlx::query("SELECT name FROM namespaces WHERE name = ?")
            .bind(&t.ident.namespace)
            .fetch_optional(&mut *tx)
            .await?;
        if ns.is_none() {
            return Err(Error::NamespaceNotFound(t.ident.namespace.clone()));
        }
        let r = sqlx::query(
            "INSERT INTO tables (namespace, name, location, table_id, current_version, \
             created_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.ident.namespace)
        .bind(&t.ident.name)
        .bind(&t.location)
        .bind(&t.table_id)
        .bind(version_to_db(t.current_version)?)
        .bind(now_ms())
        .execute(&mut *tx)
        .await;
        match r {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::TableExists(format!(
                    "{} (or its table id {} is already registered)",
                    t.ident, t.table_id
                )));
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_tables(&self, namespace: &str) -> Result<Vec<TableRecord>> {
        sqlx::query(&format!(
            "SELECT {TABLE_COLUMNS} FROM tables WHERE namespace = ? ORDER BY name"
        ))
        .bind(namespace)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(table_row)
        .collect()
    }

    async fn get_table(&self, ident: &TableIdent) -> Result<Option<TableRecord>> {
        sqlx::query(&format!(
            "SELECT {TABLE_COLUMNS} FROM tables WHERE namespace = ? AND name = ?"
        ))
        .bind(&ident.namespace)
        .bind(&ident.name)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(table_row)
        .transpose()
    }

    async fn rename_table(&self, from: &TableIdent, to: &TableIdent) -> Result<()> {
        let (mut tx, _) = self.begin_unleased(from, "rename").await?;
        let ns = sqlx::query("SELECT name FROM namespaces WHERE name = ?")
            .bind(&to.namespace)
            .fetch_optional(&mut *tx)
            .await?;
        if ns.is_none() {
            return Err(Error::NamespaceNotFound(to.namespace.clone()));
        }
        let r = sqlx::query(
            "UPDATE tables SET namespace = ?, name = ? WHERE namespace = ? AND name = ?",
        )
        .bind(&to.namespace)
        .bind(&to.name)
        .bind(&from.namespace)
        .bind(&from.name)
        .execute(&mut *tx)
        .await;
        match r {
            Ok(done) if done.rows_affected() == 0 => {
                return Err(Error::TableNotFound(from.to_string()));
            }
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(Error::TableExists(to.to_string())),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    async fn drop_table(&self, ident: &TableIdent) -> Result<TableRecord> {
        let (mut tx, t) = self.begin_unleased(ident, "drop").await?;
        sqlx::query("DELETE FROM commits WHERE table_id = ?")
            .bind(&t.table_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tables WHERE namespace = ? AND name = ?")
            .bind(&ident.namespace)
            .bind(&ident.name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(t)
    }

    async fn lock_table(&self, ident: &TableIdent) -> Result<Box<dyn TableLock>> {
        // The row first (a missing table is an error at once), then this process's queue for
        // the table, then the lease.
        let table = read_table(&self.pool, ident).await?;
        let queued = self.queue(&table.table_id).lock_owned().await;
        let owner = uuid::Uuid::new_v4().to_string();
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
            // Read again under the write lock: the table may have been dropped or renamed.
            let table = read_table(&mut *tx, ident).await?;
            let now = now_ms();
            let taken = sqlx::query(
                "INSERT INTO table_leases (table_id, owner, until_ms) VALUES (?, ?, ?) \
                 ON CONFLICT (table_id) DO UPDATE SET owner = excluded.owner, \
                 until_ms = excluded.until_ms WHERE table_leases.until_ms <= ?",
            )
            .bind(&table.table_id)
            .bind(&owner)
            .bind(now + LEASE_MS)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            tx.commit().await?;
            if taken {
                return Ok(Box::new(SqliteLock {
                    pool: self.pool.clone(),
                    writer: self.writer.clone(),
                    table,
                    owner,
                    done: false,
                    _queued: queued,
                }));
            }
            back_off(started, &mut attempt, "commit").await?;
        }
    }
}

token_and_audit_stores!(SqliteStore, tokens::sqlite);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// The lease design (module documentation): while a commit of `t` holds its lease (its
    /// storage write in progress), other writes and commits to other tables go on; a second
    /// writer of `t` waits for the first; another process's live lease blocks until it
    /// expires.
    #[test]
    fn a_table_lease_leaves_other_writes_free_and_queues_writers_of_the_table() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("c.db").display());
            let s = SqliteStore::connect(&url).await.unwrap();
            let ns = |name: &str| NamespaceRecord {
                name: name.into(),
                properties: BTreeMap::new(),
            };
            s.create_namespace(&ns("a")).await.unwrap();
            let table = |name: &str| TableRecord {
                ident: TableIdent::new("a", name),
                location: format!("memory://x/{name}"),
                table_id: format!("id-{name}"),
                current_version: 0,
            };
            let (t, u) = (table("t"), table("u"));
            s.create_table(&t).await.unwrap();
            s.create_table(&u).await.unwrap();
            let held = s.lock_table(&t.ident).await.unwrap();
            let others = tokio::time::timeout(Duration::from_secs(10), async {
                s.create_namespace(&ns("b")).await.unwrap();
                let l = s.lock_table(&u.ident).await.unwrap();
                l.finish("tx-u", 1).await.unwrap();
            })
            .await;
            assert!(others.is_ok(), "other writes waited for t's lease");

            let (s2, ident) = (s.clone(), t.ident.clone());
            let waiter = tokio::spawn(async move {
                let l = s2.lock_table(&ident).await.unwrap();
                l.finish("tx-2", 2).await.unwrap();
            });
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(!waiter.is_finished(), "a second writer of t got in");
            held.finish("tx-1", 1).await.unwrap();
            tokio::time::timeout(Duration::from_secs(10), waiter)
                .await
                .unwrap()
                .unwrap();
            let now = s.get_table(&t.ident).await.unwrap().unwrap();
            assert_eq!(now.current_version, 2);

            // Another process's live lease of u: this one waits; once it expires, takes over.
            sqlx::query("INSERT INTO table_leases (table_id, owner, until_ms) VALUES (?, ?, ?)")
                .bind(&u.table_id)
                .bind("other-process")
                .bind(now_ms() + 60_000)
                .execute(&s.pool)
                .await
                .unwrap();
            let blocked =
                tokio::time::timeout(Duration::from_millis(300), s.lock_table(&u.ident)).await;
            assert!(
                blocked.is_err(),
                "a live lease of another process was ignored"
            );
            let dropped =
                tokio::time::timeout(Duration::from_millis(300), s.drop_table(&u.ident)).await;
            assert!(dropped.is_err(), "a drop went through a commit in progress");
            sqlx::query("UPDATE table_leases SET until_ms = ? WHERE table_id = ?")
                .bind(now_ms() - 1)
                .bind(&u.table_id)
                .execute(&s.pool)
                .await
                .unwrap();
            let l = s.lock_table(&u.ident).await.unwrap();
            l.release().await.unwrap();
            s.drop_table(&u.ident).await.unwrap();
        });
    }

    #[test]
    fn namespaces_tables_and_locks() {
        rt().block_on(async {
            let s = SqliteStore::connect("sqlite::memory:").await.unwrap();
            let ns = NamespaceRecord {
                name: "a".into(),
                properties: BTreeMap::from([("k".into(), "v".into())]),
            };
            s.create_namespace(&ns).await.unwrap();
            assert!(matches!(
                s.create_namespace(&ns).await,
                Err(Error::NamespaceExists(_))
            ));
            let t = TableRecord {
                ident: TableIdent::new("a", "t"),
                location: "memory://x/t".into(),
                table_id: "id1".into(),
                current_version: 0,
            };
            s.create_table(&t).await.unwrap();
            assert!(matches!(
                s.drop_namespace("a").await,
                Err(Error::NamespaceNotEmpty(_))
            ));
            let mut lock = s.lock_table(&t.ident).await.unwrap();
            assert_eq!(lock.find_commit("x").await.unwrap(), None);
            lock.finish("x", 1).await.unwrap();
            let mut lock = s.lock_table(&t.ident).await.unwrap();
            assert_eq!(lock.find_commit("x").await.unwrap(), Some(1));
            lock.release().await.unwrap();
            assert_eq!(
                s.get_table(&t.ident)
                    .await
                    .unwrap()
                    .unwrap()
                    .current_version,
                1
            );
            s.drop_table(&t.ident).await.unwrap();
            s.drop_namespace("a").await.unwrap();
            let tok = TokenRecord {
                id: "i".into(),
                hash: "h".into(),
                role: Role::Writer,
                namespace: Some("a".into()),
                description: None,
                created_at_ms: 5,
                expires_at_ms: Some(1_000),
                revoked_at_ms: None,
                last_used_at_ms: None,
            };
            s.create_token(&tok).await.unwrap();
            assert_eq!(s.find_token("h").await.unwrap(), Some(tok.clone()));
            s.touch_token("i", 7).await.unwrap();
            assert!(s.revoke_token("i", 9).await.unwrap());
            assert!(!s.revoke_token("nope", 9).await.unwrap());
            let listed = s.list_tokens(Some("a")).await.unwrap();
            assert_eq!(
                (listed[0].last_used_at_ms, listed[0].revoked_at_ms),
                (Some(7), Some(9))
            );
            assert!(s.list_tokens(Some("b")).await.unwrap().is_empty());
            let entry = AuditRecord {
                at_ms: 1,
                token_id: "i".into(),
                action: "POST /v1/commits".into(),
                namespace: Some("a".into()),
                target: Some("a.t".into()),
                status: 200,
                detail: Some("version 1".into()),
            };
            s.record_audit(&entry).await.unwrap();
            assert_eq!(s.list_audit(Some("a"), 10).await.unwrap(), vec![entry]);
            assert!(s.list_audit(Some("b"), 10).await.unwrap().is_empty());
        });
    }
}
