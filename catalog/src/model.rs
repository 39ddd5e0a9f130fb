//! Wire shapes of the REST API v1, shared by the service and the client.
//!
//! Requests refuse unknown fields; field names are camelCase.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::Role;

/// `{"error": {...}}`: the one error envelope.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// An error.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `commit_conflict`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Id of the server log line (5xx only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    /// Details of a commit conflict (409 `commit_conflict`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<ConflictBody>,
}

/// A typed commit conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConflictBody {
    /// `namespace.table`.
    pub table: String,
    /// The version whose commit conflicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winning_version: Option<u64>,
    /// `protocolChanged`, `metadataChanged`, `concurrentAppend`, `concurrentDelete`,
    /// `concurrentRelocate`, `concurrentTag` or `duplicateBatch`.
    pub kind: String,
    /// File path or tag name concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// Create a namespace.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateNamespaceRequest {
    /// Name (ASCII letters, digits, `_`, `-`; no dots).
    pub name: String,
    /// Properties.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// A namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    /// Name.
    pub name: String,
    /// Properties.
    pub properties: BTreeMap<String, String>,
}

/// Namespaces.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NamespaceList {
    /// Namespaces, by name.
    pub namespaces: Vec<Namespace>,
}

/// Change namespace properties.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePropertiesRequest {
    /// Properties to set.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Properties to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// Create a table (writes version 0 to storage).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTableRequest {
    /// Table name.
    pub name: String,
    /// Schema (SPEC §4.1 JSON).
    #[schema(value_type = Object)]
    pub schema: Value,
    /// Partition spec (SPEC JSON); unpartitioned when absent.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub partition_spec: Option<Value>,
    /// Table properties.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Location; default `<warehouse>/<namespace>/<table>`.
    #[serde(default)]
    pub location: Option<String>,
}

/// Register an existing table location.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterTableRequest {
    /// Table name.
    pub name: String,
    /// Where the table's log lives (`s3://...`, `file://...`, ...).
    pub location: String,
}

/// A table, as loaded from its log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Location of the table root.
    pub location: String,
    /// Table id (from the table's metadata).
    pub table_id: String,
    /// Current version (read from the log, the source of truth).
    pub current_version: u64,
    /// Schema.
    #[schema(value_type = Object)]
    pub schema: Value,
    /// Default partition spec.
    #[schema(value_type = Object)]
    pub partition_spec: Value,
    /// Table properties.
    pub properties: BTreeMap<String, String>,
}

/// A table entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableEntry {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Location.
    pub location: String,
}

/// Tables of a namespace.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TableList {
    /// Tables, by name.
    pub tables: Vec<TableEntry>,
}

/// Rename (or move to another namespace).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenameTableRequest {
    /// New namespace (default: the same).
    #[serde(default)]
    pub namespace: Option<String>,
    /// New name.
    pub name: String,
}

/// Query of the drop endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DropTableQuery {
    /// Also delete every object under the table's location.
    #[serde(default)]
    pub purge: bool,
}

/// What a commit read (for conflict checks against commits after its base version).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadScope {
    /// The outcome depends on the whole table (any concurrent add conflicts).
    #[serde(default)]
    pub whole_table: bool,
    /// Data files read beyond those removed.
    #[serde(default)]
    pub files: Vec<String>,
    /// The outcome depends on the files matching this predicate (expression text, SPEC
    /// Appendix B); a concurrently added file that may match conflicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
}

/// One table's part of a commit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableChange {
    /// Namespace.
    pub namespace: String,
    /// Table.
    pub table: String,
    /// The version the change was planned on.
    pub base_version: u64,
    /// Log actions (SPEC §3 JSON objects, e.g. `{"add": {...}}`); no `commitInfo`.
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<Value>,
    /// Operation name recorded in the commit info (default `WRITE`).
    #[serde(default)]
    pub operation: Option<String>,
    /// Operation parameters recorded in the commit info.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub operation_parameters: BTreeMap<String, Value>,
    /// `Serializable` or `WriteSerializable` (default: the table's property).
    #[serde(default)]
    pub isolation_level: Option<String>,
    /// What the change read.
    #[serde(default)]
    pub read: ReadScope,
    /// Free-form user text recorded in the commit info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<String>,
    /// Operation metrics recorded in the commit info.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operation_metrics: BTreeMap<String, i64>,
    /// In-commit timestamp proposed by the writer's clock (ms since the epoch). The catalog
    /// keeps timestamps increasing and refuses one more than five minutes ahead of its own
    /// clock; absent, the catalog's clock is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

/// A commit: one transaction id, a list of table changes. One change per request today;
/// the list shape is where multi-table atomic commits go.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommitRequest {
    /// Transaction id (a UUID): retrying with the same id returns the same answer.
    pub txn_id: String,
    /// Table changes.
    pub changes: Vec<TableChange>,
}

/// A committed table change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommittedTable {
    /// Namespace.
    pub namespace: String,
    /// Table.
    pub table: String,
    /// The version the change landed at.
    pub version: u64,
}

/// Result of a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitResponse {
    /// Transaction id.
    pub txn_id: String,
    /// One entry per change, in request order.
    pub results: Vec<CommittedTable>,
}

/// One commit of a table's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryItem {
    /// Version.
    pub version: u64,
    /// In-commit timestamp (ms since the epoch).
    pub timestamp: i64,
    /// Operation.
    pub operation: String,
    /// Transaction id.
    pub txn_id: String,
    /// Version read (absent for version 0).
    pub read_version: Option<u64>,
    /// Data files added.
    pub files_added: u64,
    /// Data files removed.
    pub files_removed: u64,
    /// Rows added.
    pub rows_added: u64,
    /// Rows removed.
    pub rows_removed: u64,
    /// Operation parameters of the commit info.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub operation_parameters: BTreeMap<String, Value>,
    /// Operation metrics of the commit info.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operation_metrics: BTreeMap<String, i64>,
    /// User metadata of the commit info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<String>,
    /// Engine that wrote the commit.
    #[serde(default)]
    pub engine: String,
}

/// A table's history, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct History {
    /// Entries.
    pub history: Vec<HistoryItem>,
}

/// Query of the history endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Newest entries to return (default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagEntry {
    /// Tag name.
    pub name: String,
    /// Version it points at.
    pub version: u64,
}

/// Tags of a table.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TagList {
    /// Tags by name.
    pub tags: Vec<TagEntry>,
}

/// Create a token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// Role.
    pub role: Role,
    /// Namespace the token is limited to.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Free-form description.
    #[serde(default)]
    pub description: Option<String>,
    /// The token expires this many seconds after its creation (default: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// Token id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Namespace scope.
    pub namespace: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Creation time (ms since the epoch).
    pub created_at_ms: i64,
    /// Expiry time, if any.
    pub expires_at_ms: Option<i64>,
    /// Revocation time, if revoked.
    pub revoked_at_ms: Option<i64>,
    /// Last use (to the minute), if ever used.
    pub last_used_at_ms: Option<i64>,
}

/// Tokens.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenList {
    /// Oldest first.
    pub tokens: Vec<TokenInfo>,
}

/// One audited write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// Token that made the request.
    pub token_id: String,
    /// `METHOD /path`.
    pub action: String,
    /// Namespace concerned.
    pub namespace: Option<String>,
    /// Table concerned, `namespace.table`.
    pub target: Option<String>,
    /// HTTP status of the answer.
    pub status: u16,
    /// What came of it (e.g. `version 4`).
    pub detail: Option<String>,
}

/// Audited writes, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditLog {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
}

/// Query of the audit endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this namespace (a namespace-scoped admin always gets its own).
    #[serde(default)]
    pub namespace: Option<String>,
    /// How many entries (default 100, at most 10000).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A created token: the secret is shown only here.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    /// Token id (not secret).
    pub id: String,
    /// The bearer token.
    pub token: String,
    /// Role.
    pub role: Role,
    /// Namespace scope.
    pub namespace: Option<String>,
    /// Expiry time (ms since the epoch), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

/// `/healthz` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}
