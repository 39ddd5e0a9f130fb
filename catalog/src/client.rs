//! The Rust client of the catalog's REST API.

use std::collections::BTreeMap;
use std::fmt;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use strata_format::Action;

use crate::error::{Error, Result};
use crate::model::{
    AuditEntry, AuditLog, CommitRequest, CommitResponse, CreateNamespaceRequest,
    CreateTableRequest, CreateTokenRequest, CreatedToken, ErrorEnvelope, History, HistoryItem,
    Namespace, NamespaceList, ReadScope, RegisterTableRequest, RenameTableRequest, TableChange,
    TableEntry, TableInfo, TableList, TagEntry, TagList, TokenInfo, TokenList,
    UpdatePropertiesRequest,
};
use crate::names::split_qualified;
use crate::tiering::{
    ApplyRequest, ApplyResponse, MoveBody, MoveRequest, PlanRequest, RestoreRequest,
    RestoreResponse, SetPoliciesRequest, SetTiersRequest, TierPlanBody, TierReport,
};

/// `namespace.table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    /// Namespace.
    pub namespace: String,
    /// Table.
    pub table: String,
}

impl TableRef {
    /// Parses and validates `namespace.table`.
    pub fn parse(qualified: &str) -> Result<Self> {
        let (ns, t) = split_qualified(qualified)?;
        Ok(Self {
            namespace: ns.to_string(),
            table: t.to_string(),
        })
    }
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.namespace, self.table)
    }
}

/// A catalog client.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

fn seg(s: &str) -> String {
    // Names are validated server-side; escape anything that would change the path.
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// A client of the catalog at `base` (e.g. `http://127.0.0.1:8181`), with a bearer token.
    pub fn new(base: &str, token: Option<String>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
        })
    }

    /// The same client with another token.
    pub fn with_token(&self, token: Option<String>) -> Self {
        Self {
            token,
            ..self.clone()
        }
    }

    /// Base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    async fn check(resp: Response) -> Result<Response> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        Err(match serde_json::from_str::<ErrorEnvelope>(&text) {
            Ok(env) => Error::Api {
                status: status.as_u16(),
                code: env.error.code,
                message: env.error.message,
                error_id: env.error.error_id,
                conflict: env.error.conflict.map(Box::new),
            },
            Err(_) => Error::Api {
                status: status.as_u16(),
                code: "unknown".into(),
                message: text.chars().take(500).collect(),
                error_id: None,
                conflict: None,
            },
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = Self::check(self.req(Method::GET, path).send().await?).await?;
        Ok(resp.json().await?)
    }

    async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let resp = Self::check(self.req(method, path).json(body).send().await?).await?;
        Ok(resp.json().await?)
    }

    async fn no_content(&self, r: RequestBuilder) -> Result<()> {
        let resp = Self::check(r.send().await?).await?;
        if resp.status() != StatusCode::NO_CONTENT {
            let _ = resp.bytes().await?;
        }
        Ok(())
    }

    fn table_path(t: &TableRef) -> String {
        format!(
            "/v1/namespaces/{}/tables/{}",
            seg(&t.namespace),
            seg(&t.table)
        )
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<()> {
        Self::check(self.req(Method::GET, "/healthz").send().await?).await?;
        Ok(())
    }

    /// Namespaces the token sees.
    pub async fn list_namespaces(&self) -> Result<Vec<Namespace>> {
        Ok(self
            .get::<NamespaceList>("/v1/namespaces")
            .await?
            .namespaces)
    }

    /// Creates a namespace.
    pub async fn create_namespace(
        &self,
        name: &str,
        properties: BTreeMap<String, String>,
    ) -> Result<Namespace> {
        let body = CreateNamespaceRequest {
            name: name.to_string(),
            properties,
        };
        self.send(Method::POST, "/v1/namespaces", &body).await
    }

    /// One namespace.
    pub async fn get_namespace(&self, name: &str) -> Result<Namespace> {
        self.get(&format!("/v1/namespaces/{}", seg(name))).await
    }

    /// Drops an empty namespace.
    pub async fn drop_namespace(&self, name: &str) -> Result<()> {
        self.no_content(self.req(Method::DELETE, &format!("/v1/namespaces/{}", seg(name))))
            .await
    }

    /// Sets and removes namespace properties.
    pub async fn update_namespace_properties(
        &self,
        name: &str,
        update: &UpdatePropertiesRequest,
    ) -> Result<Namespace> {
        self.send(
            Method::POST,
            &format!("/v1/namespaces/{}/properties", seg(name)),
            update,
        )
        .await
    }

    /// Tables of a namespace.
    pub async fn list_tables(&self, namespace: &str) -> Result<Vec<TableEntry>> {
        Ok(self
            .get::<TableList>(&format!("/v1/namespaces/{}/tables", seg(namespace)))
            .await?
            .tables)
    }

    /// Creates a table.
    pub async fn create_table(
        &self,
        namespace: &str,
        req: &CreateTableRequest,
    ) -> Result<TableInfo> {
        self.send(
            Method::POST,
            &format!("/v1/namespaces/{}/tables", seg(namespace)),
            req,
        )
        .await
    }

    /// Registers an existing table location.
    pub async fn register_table(&self, table: &TableRef, location: &str) -> Result<TableInfo> {
        let body = RegisterTableRequest {
            name: table.table.clone(),
            location: location.to_string(),
        };
        self.send(
            Method::POST,
            &format!("/v1/namespaces/{}/register", seg(&table.namespace)),
            &body,
        )
        .await
    }

    /// Loads a table.
    pub async fn load_table(&self, table: &TableRef) -> Result<TableInfo> {
        self.get(&Self::table_path(table)).await
    }

    /// Renames a table.
    pub async fn rename_table(&self, from: &TableRef, to: &TableRef) -> Result<()> {
        let body = RenameTableRequest {
            namespace: Some(to.namespace.clone()),
            name: to.table.clone(),
        };
        self.no_content(
            self.req(Method::POST, &format!("{}/rename", Self::table_path(from)))
                .json(&body),
        )
        .await
    }

    /// Drops a table (with `purge`, its objects too).
    pub async fn drop_table(&self, table: &TableRef, purge: bool) -> Result<()> {
        self.no_content(self.req(
            Method::DELETE,
            &format!("{}?purge={purge}", Self::table_path(table)),
        ))
        .await
    }

    /// Newest commits first.
    pub async fn history(&self, table: &TableRef, limit: usize) -> Result<Vec<HistoryItem>> {
        Ok(self
            .get::<History>(&format!(
                "{}/history?limit={limit}",
                Self::table_path(table)
            ))
            .await?
            .history)
    }

    /// Tags.
    pub async fn tags(&self, table: &TableRef) -> Result<Vec<TagEntry>> {
        Ok(self
            .get::<TagList>(&format!("{}/tags", Self::table_path(table)))
            .await?
            .tags)
    }

    /// Creates a tag.
    pub async fn create_tag(&self, table: &TableRef, name: &str, version: u64) -> Result<()> {
        let body = TagEntry {
            name: name.to_string(),
            version,
        };
        let _: TagEntry = self
            .send(
                Method::POST,
                &format!("{}/tags", Self::table_path(table)),
                &body,
            )
            .await?;
        Ok(())
    }

    /// Deletes a tag.
    pub async fn delete_tag(&self, table: &TableRef, name: &str) -> Result<()> {
        self.no_content(self.req(
            Method::DELETE,
            &format!("{}/tags/{}", Self::table_path(table), seg(name)),
        ))
        .await
    }

    /// Tiers, policies and usage per tier.
    pub async fn tier_report(&self, table: &TableRef) -> Result<TierReport> {
        self.get(&format!("{}/tiers", Self::table_path(table)))
            .await
    }

    /// Replaces the tiers (one commit).
    pub async fn set_tiers(&self, table: &TableRef, req: &SetTiersRequest) -> Result<TierReport> {
        self.send(
            Method::PUT,
            &format!("{}/tiers", Self::table_path(table)),
            req,
        )
        .await
    }

    /// Replaces the tier policies (one commit).
    pub async fn set_tier_policies(
        &self,
        table: &TableRef,
        req: &SetPoliciesRequest,
    ) -> Result<TierReport> {
        self.send(
            Method::PUT,
            &format!("{}/tiers/policies", Self::table_path(table)),
            req,
        )
        .await
    }

    /// What the policies would move (a dry run).
    pub async fn tier_plan(&self, table: &TableRef, req: &PlanRequest) -> Result<TierPlanBody> {
        self.send(
            Method::POST,
            &format!("{}/tiers/plan", Self::table_path(table)),
            req,
        )
        .await
    }

    /// Applies the policies (moves, commits, cleans up).
    pub async fn tier_apply(&self, table: &TableRef, req: &ApplyRequest) -> Result<ApplyResponse> {
        self.send(
            Method::POST,
            &format!("{}/tiers/apply", Self::table_path(table)),
            req,
        )
        .await
    }

    /// Runs the table's maintenance on the server (tier policies, compaction, expiry, vacuum).
    pub async fn maintain(
        &self,
        table: &TableRef,
        req: &crate::maintenance::MaintenanceRequest,
    ) -> Result<crate::maintenance::MaintenanceBody> {
        self.send(
            Method::POST,
            &format!("{}/maintenance", Self::table_path(table)),
            req,
        )
        .await
    }

    /// Moves the files a filter selects to a tier.
    pub async fn tier_move(&self, table: &TableRef, req: &MoveRequest) -> Result<MoveBody> {
        self.send(
            Method::POST,
            &format!("{}/tiers/move", Self::table_path(table)),
            req,
        )
        .await
    }

    /// Requests restores of archived files and records them (no wait).
    pub async fn tier_restore(
        &self,
        table: &TableRef,
        req: &RestoreRequest,
    ) -> Result<RestoreResponse> {
        self.send(
            Method::POST,
            &format!("{}/tiers/restore", Self::table_path(table)),
            req,
        )
        .await
    }

    /// Sends a commit request.
    pub async fn commit(&self, req: &CommitRequest) -> Result<CommitResponse> {
        self.send(Method::POST, "/v1/commits", req).await
    }

    /// Commits engine actions on one table; returns the version committed.
    pub async fn commit_actions(
        &self,
        table: &TableRef,
        base_version: u64,
        txn_id: &str,
        operation: &str,
        actions: &[Action],
        read: ReadScope,
    ) -> Result<u64> {
        let actions = actions
            .iter()
            .map(|a| {
                let line = a
                    .to_json_line()
                    .map_err(|e| Error::BadRequest(e.to_string()))?;
                Ok(serde_json::from_str(&line)?)
            })
            .collect::<Result<Vec<_>>>()?;
        let req = CommitRequest {
            txn_id: txn_id.to_string(),
            changes: vec![TableChange {
                namespace: table.namespace.clone(),
                table: table.table.clone(),
                base_version,
                actions,
                operation: Some(operation.to_string()),
                operation_parameters: BTreeMap::new(),
                isolation_level: None,
                read,
                user_metadata: None,
                operation_metrics: BTreeMap::new(),
                timestamp: None,
            }],
        };
        let resp = self.commit(&req).await?;
        resp.results
            .first()
            .map(|r| r.version)
            .ok_or_else(|| Error::BadRequest("the catalog answered without a result".into()))
    }

    /// Creates a token (the secret is returned once).
    pub async fn create_token(&self, req: &CreateTokenRequest) -> Result<CreatedToken> {
        self.send(Method::POST, "/v1/tokens", req).await
    }

    /// Tokens the caller may manage (never their secrets).
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        Ok(self.get::<TokenList>("/v1/tokens").await?.tokens)
    }

    /// Revokes a token.
    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        self.no_content(self.req(Method::DELETE, &format!("/v1/tokens/{}", seg(id))))
            .await
    }

    /// The newest `limit` audited writes, optionally of one namespace.
    pub async fn audit(&self, namespace: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut path = format!("/v1/audit?limit={limit}");
        if let Some(ns) = namespace {
            path.push_str(&format!("&namespace={}", seg(ns)));
        }
        Ok(self.get::<AuditLog>(&path).await?.entries)
    }

    /// The OpenAPI document.
    pub async fn openapi(&self) -> Result<serde_json::Value> {
        self.get("/openapi.json").await
    }

    /// The Prometheus metrics text.
    pub async fn metrics(&self) -> Result<String> {
        let resp = Self::check(self.req(Method::GET, "/metrics").send().await?).await?;
        Ok(resp.text().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_refs_parse_and_segments_escape() {
        let t = TableRef::parse("ns.events").unwrap();
        assert_eq!(t.to_string(), "ns.events");
        assert!(TableRef::parse("../x").is_err());
        assert_eq!(seg("a b/c"), "a%20b%2Fc");
    }
}
