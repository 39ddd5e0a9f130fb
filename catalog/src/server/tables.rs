//! Table endpoints: create, register, list, load, rename, drop, history, tags.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::{ApiResult, AppState};
use crate::auth::{Principal, Role};
use crate::model::{
    CreateTableRequest, DropTableQuery, ErrorEnvelope, History, HistoryQuery, RegisterTableRequest,
    RenameTableRequest, TableInfo, TableList, TagEntry, TagList,
};
use crate::names::{validate_namespace, validate_table};
use crate::store::TableIdent;

fn ident(ns: &str, table: &str) -> crate::error::Result<TableIdent> {
    validate_namespace(ns)?;
    validate_table(table)?;
    Ok(TableIdent::new(ns, table))
}

/// List the tables of a namespace.
#[utoipa::path(get, operation_id = "listTables", path = "/v1/namespaces/{namespace}/tables", tag = "tables",
    params(("namespace" = String, Path)),
    responses((status = 200, body = TableList), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list(
    p: Principal,
    State(s): State<AppState>,
    Path(ns): Path<String>,
) -> ApiResult<Json<TableList>> {
    validate_namespace(&ns)?;
    p.require(Role::Reader, Some(&ns))?;
    Ok(Json(TableList {
        tables: s.catalog.list_tables(&ns).await?,
    }))
}

/// Create a table (writes version 0 to storage).
#[utoipa::path(post, operation_id = "createTable", path = "/v1/namespaces/{namespace}/tables", tag = "tables",
    params(("namespace" = String, Path)),
    request_body = CreateTableRequest,
    responses((status = 201, body = TableInfo), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn create(
    p: Principal,
    State(s): State<AppState>,
    Path(ns): Path<String>,
    Json(req): Json<CreateTableRequest>,
) -> ApiResult<(StatusCode, Json<TableInfo>)> {
    validate_namespace(&ns)?;
    p.require(Role::Writer, Some(&ns))?;
    Ok((
        StatusCode::CREATED,
        Json(s.catalog.create_table(&ns, req).await?),
    ))
}

/// Register an existing table location.
#[utoipa::path(post, operation_id = "registerTable", path = "/v1/namespaces/{namespace}/register", tag = "tables",
    params(("namespace" = String, Path)),
    request_body = RegisterTableRequest,
    responses((status = 201, body = TableInfo), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn register(
    p: Principal,
    State(s): State<AppState>,
    Path(ns): Path<String>,
    Json(req): Json<RegisterTableRequest>,
) -> ApiResult<(StatusCode, Json<TableInfo>)> {
    validate_namespace(&ns)?;
    p.require(Role::Writer, Some(&ns))?;
    let info = s
        .catalog
        .register_table(&ns, &req.name, &req.location)
        .await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// Load a table: location, current version, schema, properties.
#[utoipa::path(get, operation_id = "loadTable", path = "/v1/namespaces/{namespace}/tables/{table}", tag = "tables",
    params(("namespace" = String, Path), ("table" = String, Path)),
    responses((status = 200, body = TableInfo), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn load(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
) -> ApiResult<Json<TableInfo>> {
    let id = ident(&ns, &table)?;
    p.require(Role::Reader, Some(&ns))?;
    Ok(Json(s.catalog.load_table(&id).await?))
}

/// Drop a table; `purge=true` also deletes its objects.
#[utoipa::path(delete, operation_id = "dropTable", path = "/v1/namespaces/{namespace}/tables/{table}", tag = "tables",
    params(("namespace" = String, Path), ("table" = String, Path), DropTableQuery),
    responses((status = 204), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn drop(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Query(q): Query<DropTableQuery>,
) -> ApiResult<StatusCode> {
    let id = ident(&ns, &table)?;
    p.require(Role::Writer, Some(&ns))?;
    s.catalog.drop_table(&id, q.purge).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rename a table (or move it to another namespace).
#[utoipa::path(post, operation_id = "renameTable", path = "/v1/namespaces/{namespace}/tables/{table}/rename", tag = "tables",
    params(("namespace" = String, Path), ("table" = String, Path)),
    request_body = RenameTableRequest,
    responses((status = 204), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn rename(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Json(req): Json<RenameTableRequest>,
) -> ApiResult<StatusCode> {
    let from = ident(&ns, &table)?;
    let to_ns = req.namespace.unwrap_or_else(|| ns.clone());
    let to = ident(&to_ns, &req.name)?;
    p.require(Role::Writer, Some(&ns))?;
    p.require(Role::Writer, Some(&to_ns))?;
    s.catalog.rename_table(&from, &to).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A table's commits, newest first.
#[utoipa::path(get, operation_id = "tableHistory", path = "/v1/namespaces/{namespace}/tables/{table}/history", tag = "tables",
    params(("namespace" = String, Path), ("table" = String, Path), HistoryQuery),
    responses((status = 200, body = History), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn history(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<History>> {
    let id = ident(&ns, &table)?;
    p.require(Role::Reader, Some(&ns))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
    Ok(Json(History {
        history: s.catalog.history(&id, limit).await?,
    }))
}

/// Tags of a table.
#[utoipa::path(get, operation_id = "listTags", path = "/v1/namespaces/{namespace}/tables/{table}/tags", tag = "tables",
    params(("namespace" = String, Path), ("table" = String, Path)),
    responses((status = 200, body = TagList), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn tags(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
) -> ApiResult<Json<TagList>> {
    let id = ident(&ns, &table)?;
    p.require(Role::Reader, Some(&ns))?;
    Ok(Json(TagList {
        tags: s.catalog.tags(&id).await?,
    }))
}

/// Create a tag (a commit through the catalog).
#[utoipa::path(post, operation_id = "createTag", path = "/v1/namespaces/{namespace}/tables/{table}/tags", tag = "tables",
    params(("namespace" = String, Path), ("table" = String, Path)),
    request_body = TagEntry,
    responses((status = 201, body = TagEntry), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn create_tag(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Json(tag): Json<TagEntry>,
) -> ApiResult<(StatusCode, Json<TagEntry>)> {
    let id = ident(&ns, &table)?;
    p.require(Role::Writer, Some(&ns))?;
    s.catalog.create_tag(&id, &tag.name, tag.version).await?;
    Ok((StatusCode::CREATED, Json(tag)))
}

/// Delete a tag (a commit through the catalog).
#[utoipa::path(delete, operation_id = "deleteTag", path = "/v1/namespaces/{namespace}/tables/{table}/tags/{tag}", tag = "tables",
    params(("namespace" = String, Path), ("table" = String, Path), ("tag" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn delete_tag(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table, tag)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let id = ident(&ns, &table)?;
    p.require(Role::Writer, Some(&ns))?;
    s.catalog.delete_tag(&id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}
