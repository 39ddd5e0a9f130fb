//! SQLite store (embedded, the default). Commits take the database write lock with
//! `BEGIN IMMEDIATE`, which serializes them across connections and processes.

use std::collections::BTreeMap;
use std::str::FromStr;
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
    pool: SqlitePool,
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
            .connect_with(opts)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }
}

struct SqliteLock {
    tx: Transaction<'static, Sqlite>,
    table: TableRecord,
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
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(match row {
            Some(r) => Some(version_from_db(r.try_get("version")?)),
            None => None,
        })
    }

    async fn finish(mut self: Box<Self>, txn_id: &str, version: u64) -> Result<()> {
        let v = version_to_db(version)?;
        sqlx::query(
            "INSERT INTO commits (table_id, txn_id, version, committed_at_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(&self.table.table_id)
        .bind(txn_id)
        .bind(v)
        .bind(now_ms())
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "UPDATE tables SET current_version = MAX(current_version, ?) \
             WHERE namespace = ? AND name = ?",
        )
        .bind(v)
        .bind(&self.table.ident.namespace)
        .bind(&self.table.ident.name)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }

    async fn release(self: Box<Self>) -> Result<()> {
        self.tx.rollback().await?;
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
        .execute(&self.pool)
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(&format!(
            "SELECT {TABLE_COLUMNS} FROM tables WHERE namespace = ? AND name = ?"
        ))
        .bind(&ident.namespace)
        .bind(&ident.name)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::TableNotFound(ident.to_string()))?;
        let t = table_row(&row)?;
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(&format!(
            "SELECT {TABLE_COLUMNS} FROM tables WHERE namespace = ? AND name = ?"
        ))
        .bind(&ident.namespace)
        .bind(&ident.name)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::TableNotFound(ident.to_string()))?;
        let table = table_row(&row)?;
        Ok(Box::new(SqliteLock { tx, table }))
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
