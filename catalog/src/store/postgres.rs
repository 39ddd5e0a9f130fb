//! PostgreSQL store: several catalog processes may share one database. Commits lock the
//! table's row with `SELECT ... FOR UPDATE`, which serializes them across processes.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, Row, Transaction};

use super::tokens::{self, audit_from_row, sql, token_and_audit_stores, token_from_row};
use super::{AuditRecord, AuditStore, TokenRecord, TokenStore};
use super::{
    NamespaceRecord, Store, TableIdent, TableLock, TableRecord, is_unique_violation, now_ms,
    props_from_json, props_to_json, version_from_db, version_to_db,
};
use crate::error::{Error, Result};

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The same pool: PostgreSQL's row locks need no single writer (see the SQLite store).
    writer: PgPool,
}

fn table_row(r: &PgRow) -> Result<TableRecord> {
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

fn ns_row(r: &PgRow) -> Result<NamespaceRecord> {
    Ok(NamespaceRecord {
        name: r.try_get("name")?,
        properties: props_from_json(&r.try_get::<String, _>("properties")?)?,
    })
}

const TABLE_COLUMNS: &str = "namespace, name, location, table_id, current_version";

impl PostgresStore {
    /// Connects to `postgres://...` and migrates the database.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(60))
            .connect(url)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self {
            writer: pool.clone(),
            pool,
        })
    }
}

struct PgLock {
    tx: Transaction<'static, Postgres>,
    table: TableRecord,
}

#[async_trait]
impl TableLock for PgLock {
    fn table(&self) -> &TableRecord {
        &self.table
    }

    async fn find_commit(&mut self, txn_id: &str) -> Result<Option<u64>> {
        let row = sqlx::query("SELECT version FROM commits WHERE table_id = $1 AND txn_id = $2")
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
            "INSERT INTO commits (table_id, txn_id, version, committed_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(&self.table.table_id)
        .bind(txn_id)
        .bind(v)
        .bind(now_ms())
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "UPDATE tables SET current_version = GREATEST(current_version, $1) \
             WHERE namespace = $2 AND name = $3",
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
impl Store for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_namespace(&self, ns: &NamespaceRecord) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO namespaces (name, properties, created_at_ms) VALUES ($1, $2, $3)",
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
        sqlx::query("SELECT name, properties FROM namespaces WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(ns_row)
            .transpose()
    }

    async fn drop_namespace(&self, name: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT name FROM namespaces WHERE name = $1 FOR UPDATE")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let tables: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tables WHERE namespace = $1")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if tables > 0 {
            return Err(Error::NamespaceNotEmpty(name.to_string()));
        }
        let done = sqlx::query("DELETE FROM namespaces WHERE name = $1")
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
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT name, properties FROM namespaces WHERE name = $1 FOR UPDATE")
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
        sqlx::query("UPDATE namespaces SET properties = $1 WHERE name = $2")
            .bind(props_to_json(&ns.properties)?)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ns)
    }

    async fn create_table(&self, t: &TableRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let ns = sqlx::query("SELECT name FROM namespaces WHERE name = $1 FOR SHARE")
            .bind(&t.ident.namespace)
            .fetch_optional(&mut *tx)
            .await?;
        if ns.is_none() {
            return Err(Error::NamespaceNotFound(t.ident.namespace.clone()));
        }
        let r = sqlx::query(
            "INSERT INTO tables (namespace, name, location, table_id, current_version, \
             created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
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
            "SELECT {TABLE_COLUMNS} FROM tables WHERE namespace = $1 ORDER BY name"
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
            "SELECT {TABLE_COLUMNS} FROM tables WHERE namespace = $1 AND name = $2"
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
        let mut tx = self.pool.begin().await?;
        let ns = sqlx::query("SELECT name FROM namespaces WHERE name = $1 FOR SHARE")
            .bind(&to.namespace)
            .fetch_optional(&mut *tx)
            .await?;
        if ns.is_none() {
            return Err(Error::NamespaceNotFound(to.namespace.clone()));
        }
        let r = sqlx::query(
            "UPDATE tables SET namespace = $1, name = $2 WHERE namespace = $3 AND name = $4",
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
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {TABLE_COLUMNS} FROM tables WHERE namespace = $1 AND name = $2 FOR UPDATE"
        ))
        .bind(&ident.namespace)
        .bind(&ident.name)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::TableNotFound(ident.to_string()))?;
        let t = table_row(&row)?;
        sqlx::query("DELETE FROM commits WHERE table_id = $1")
            .bind(&t.table_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tables WHERE namespace = $1 AND name = $2")
            .bind(&ident.namespace)
            .bind(&ident.name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(t)
    }

    async fn lock_table(&self, ident: &TableIdent) -> Result<Box<dyn TableLock>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {TABLE_COLUMNS} FROM tables WHERE namespace = $1 AND name = $2 FOR UPDATE"
        ))
        .bind(&ident.namespace)
        .bind(&ident.name)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::TableNotFound(ident.to_string()))?;
        let table = table_row(&row)?;
        Ok(Box::new(PgLock { tx, table }))
    }
}
token_and_audit_stores!(PostgresStore, tokens::postgres);
