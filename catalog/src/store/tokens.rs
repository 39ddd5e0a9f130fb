//! Tokens and the audit trail in the metadata store. The SQL is shared by both backends:
//! it is written with `$N` parameters (PostgreSQL), which SQLite reads as `?N` ([`sqlite`]).

use async_trait::async_trait;

use crate::auth::Role;
use crate::error::Result;

/// A token row (the secret itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Token id.
    pub id: String,
    /// SHA-256 of the secret, hex.
    pub hash: String,
    /// Role.
    pub role: Role,
    /// Namespace scope.
    pub namespace: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Creation time (ms since the epoch).
    pub created_at_ms: i64,
    /// After this time the token is refused.
    pub expires_at_ms: Option<i64>,
    /// When the token was revoked; it is refused from then on.
    pub revoked_at_ms: Option<i64>,
    /// Last successful authentication (to the minute).
    pub last_used_at_ms: Option<i64>,
}

impl TokenRecord {
    /// Why the token cannot be used at `now_ms`, if it cannot.
    pub fn refusal(&self, now_ms: i64) -> Option<&'static str> {
        if self.revoked_at_ms.is_some() {
            Some("this token was revoked")
        } else if self.expires_at_ms.is_some_and(|t| now_ms >= t) {
            Some("this token has expired")
        } else {
            None
        }
    }
}

/// One write through the catalog, with the token that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// The token that authenticated the request.
    pub token_id: String,
    /// `METHOD /path` of the request.
    pub action: String,
    /// Namespace concerned, when there is one.
    pub namespace: Option<String>,
    /// Table concerned (`namespace.table`), when there is one.
    pub target: Option<String>,
    /// HTTP status of the answer.
    pub status: u16,
    /// What it did (e.g. the version a commit landed at).
    pub detail: Option<String>,
}

/// Token storage.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a token.
    async fn create_token(&self, token: &TokenRecord) -> Result<()>;
    /// The token with this hash (also when revoked or expired).
    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>>;
    /// Tokens, oldest first: all, or those scoped to `namespace`.
    async fn list_tokens(&self, namespace: Option<&str>) -> Result<Vec<TokenRecord>>;
    /// Revokes a token; `false` when there is no such token.
    async fn revoke_token(&self, id: &str, at_ms: i64) -> Result<bool>;
    /// Records a use of the token.
    async fn touch_token(&self, id: &str, at_ms: i64) -> Result<()>;
}

/// The audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends a record.
    async fn record_audit(&self, entry: &AuditRecord) -> Result<()>;
    /// The newest `limit` records, newest first: all, or those of `namespace`.
    async fn list_audit(&self, namespace: Option<&str>, limit: u32) -> Result<Vec<AuditRecord>>;
}

/// SQL shared by the backends, with `$N` parameters.
pub(crate) mod sql {
    pub const TOKEN_COLUMNS: &str = "id, hash, role, namespace, description, created_at_ms, \
         expires_at_ms, revoked_at_ms, last_used_at_ms";
    pub const INSERT_TOKEN: &str = "INSERT INTO tokens (id, hash, role, namespace, description, \
         created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub const FIND_TOKEN: &str = "WHERE hash = $1";
    pub const ALL_TOKENS: &str = "ORDER BY created_at_ms, id";
    pub const NS_TOKENS: &str = "WHERE namespace = $1 ORDER BY created_at_ms, id";
    pub const REVOKE_TOKEN: &str =
        "UPDATE tokens SET revoked_at_ms = COALESCE(revoked_at_ms, $2) WHERE id = $1";
    pub const TOUCH_TOKEN: &str = "UPDATE tokens SET last_used_at_ms = $2 WHERE id = $1";
    pub const INSERT_AUDIT: &str = "INSERT INTO audit (at_ms, token_id, action, namespace, \
         target, status, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub const AUDIT_COLUMNS: &str = "at_ms, token_id, action, namespace, target, status, detail";
    pub const ALL_AUDIT: &str = "ORDER BY id DESC LIMIT $1";
    pub const NS_AUDIT: &str = "WHERE namespace = $2 ORDER BY id DESC LIMIT $1";

    /// `SELECT <columns> FROM tokens <tail>`.
    pub fn select_tokens(tail: &str) -> String {
        format!("SELECT {TOKEN_COLUMNS} FROM tokens {tail}")
    }

    /// `SELECT <columns> FROM audit <tail>`.
    pub fn select_audit(tail: &str) -> String {
        format!("SELECT {AUDIT_COLUMNS} FROM audit {tail}")
    }
}

/// The SQLite spelling of shared SQL: `$N` parameters as `?N`.
pub(crate) fn sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}

/// A [`TokenRecord`] out of a row of [`sql::TOKEN_COLUMNS`] (either backend).
macro_rules! token_from_row {
    ($r:expr) => {{
        let r = $r;
        $crate::store::TokenRecord {
            id: r.try_get("id")?,
            hash: r.try_get("hash")?,
            role: r.try_get::<String, _>("role")?.parse()?,
            namespace: r.try_get("namespace")?,
            description: r.try_get("description")?,
            created_at_ms: r.try_get("created_at_ms")?,
            expires_at_ms: r.try_get("expires_at_ms")?,
            revoked_at_ms: r.try_get("revoked_at_ms")?,
            last_used_at_ms: r.try_get("last_used_at_ms")?,
        }
    }};
}

/// An [`AuditRecord`] out of a row of [`sql::AUDIT_COLUMNS`] (either backend).
macro_rules! audit_from_row {
    ($r:expr) => {{
        let r = $r;
        $crate::store::AuditRecord {
            at_ms: r.try_get("at_ms")?,
            token_id: r.try_get("token_id")?,
            action: r.try_get("action")?,
            namespace: r.try_get("namespace")?,
            target: r.try_get("target")?,
            status: u16::try_from(r.try_get::<i64, _>("status")?).unwrap_or(0),
            detail: r.try_get("detail")?,
        }
    }};
}

pub(crate) use {audit_from_row, token_from_row};

/// The [`TokenStore`] and [`AuditStore`] implementations of a backend that reads through
/// `self.pool` and writes through `self.writer`, with the shared SQL spelled by `$dialect`
/// (`&str -> String`).
macro_rules! token_and_audit_stores {
    ($store:ty, $dialect:path) => {
        #[async_trait]
        impl TokenStore for $store {
            async fn create_token(&self, t: &TokenRecord) -> Result<()> {
                sqlx::query(&$dialect(sql::INSERT_TOKEN))
                    .bind(&t.id)
                    .bind(&t.hash)
                    .bind(t.role.as_str())
                    .bind(&t.namespace)
                    .bind(&t.description)
                    .bind(t.created_at_ms)
                    .bind(t.expires_at_ms)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>> {
                let row = sqlx::query(&$dialect(&sql::select_tokens(sql::FIND_TOKEN)))
                    .bind(hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) => Some(token_from_row!(&r)),
                    None => None,
                })
            }

            async fn list_tokens(&self, namespace: Option<&str>) -> Result<Vec<TokenRecord>> {
                let rows = match namespace {
                    Some(ns) => {
                        sqlx::query(&$dialect(&sql::select_tokens(sql::NS_TOKENS)))
                            .bind(ns)
                            .fetch_all(&self.pool)
                            .await?
                    }
                    None => {
                        sqlx::query(&$dialect(&sql::select_tokens(sql::ALL_TOKENS)))
                            .fetch_all(&self.pool)
                            .await?
                    }
                };
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(token_from_row!(r));
                }
                Ok(out)
            }

            async fn revoke_token(&self, id: &str, at_ms: i64) -> Result<bool> {
                let done = sqlx::query(&$dialect(sql::REVOKE_TOKEN))
                    .bind(id)
                    .bind(at_ms)
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn touch_token(&self, id: &str, at_ms: i64) -> Result<()> {
                sqlx::query(&$dialect(sql::TOUCH_TOKEN))
                    .bind(id)
                    .bind(at_ms)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl AuditStore for $store {
            async fn record_audit(&self, e: &AuditRecord) -> Result<()> {
                sqlx::query(&$dialect(sql::INSERT_AUDIT))
                    .bind(e.at_ms)
                    .bind(&e.token_id)
                    .bind(&e.action)
                    .bind(&e.namespace)
                    .bind(&e.target)
                    .bind(i64::from(e.status))
                    .bind(&e.detail)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn list_audit(
                &self,
                namespace: Option<&str>,
                limit: u32,
            ) -> Result<Vec<AuditRecord>> {
                let rows = match namespace {
                    Some(ns) => {
                        sqlx::query(&$dialect(&sql::select_audit(sql::NS_AUDIT)))
                            .bind(i64::from(limit))
                            .bind(ns)
                            .fetch_all(&self.pool)
                            .await?
                    }
                    None => {
                        sqlx::query(&$dialect(&sql::select_audit(sql::ALL_AUDIT)))
                            .bind(i64::from(limit))
                            .fetch_all(&self.pool)
                            .await?
                    }
                };
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(audit_from_row!(r));
                }
                Ok(out)
            }
        }
    };
}

pub(crate) use token_and_audit_stores;

/// The PostgreSQL spelling of shared SQL: as written.
pub(crate) fn postgres(sql: &str) -> String {
    sql.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> TokenRecord {
        TokenRecord {
            id: "t".into(),
            hash: "h".into(),
            role: Role::Reader,
            namespace: None,
            description: None,
            created_at_ms: 0,
            expires_at_ms: Some(100),
            revoked_at_ms: None,
            last_used_at_ms: None,
        }
    }

    #[test]
    fn tokens_expire_and_are_revoked() {
        let mut t = token();
        assert_eq!(t.refusal(99), None);
        assert!(t.refusal(100).unwrap().contains("expired"));
        t.revoked_at_ms = Some(5);
        assert!(t.refusal(6).unwrap().contains("revoked"));
    }

    #[test]
    fn shared_sql_reads_as_sqlite() {
        assert_eq!(sqlite("a = $1 AND b = $2"), "a = ?1 AND b = ?2");
    }
}
