//! Namespace endpoints.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::error::ApiError;
use super::{ApiResult, AppState};
use crate::auth::{Principal, Role};
use crate::model::{
    CreateNamespaceRequest, ErrorEnvelope, Namespace, NamespaceList, UpdatePropertiesRequest,
};
use crate::names::validate_namespace;

/// List the namespaces the token can see.
#[utoipa::path(get, operation_id = "listNamespaces", path = "/v1/namespaces", tag = "namespaces",
    responses((status = 200, body = NamespaceList), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list(p: Principal, State(s): State<AppState>) -> ApiResult<Json<NamespaceList>> {
    p.require(Role::Reader, p.namespace.as_deref())?;
    let namespaces = s
        .catalog
        .store()
        .list_namespaces()
        .await?
        .into_iter()
        .filter(|n| p.sees(&n.name))
        .map(|n| Namespace {
            name: n.name,
            properties: n.properties,
        })
        .collect();
    Ok(Json(NamespaceList { namespaces }))
}

/// Create a namespace (catalog-wide admin).
#[utoipa::path(post, operation_id = "createNamespace", path = "/v1/namespaces", tag = "namespaces",
    request_body = CreateNamespaceRequest,
    responses((status = 201, body = Namespace), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn create(
    p: Principal,
    State(s): State<AppState>,
    Json(req): Json<CreateNamespaceRequest>,
) -> ApiResult<(StatusCode, Json<Namespace>)> {
    p.require(Role::Admin, None)?;
    let ns = s
        .catalog
        .create_namespace(&req.name, req.properties)
        .await?;
    Ok((StatusCode::CREATED, Json(ns)))
}

/// Get a namespace.
#[utoipa::path(get, operation_id = "getNamespace", path = "/v1/namespaces/{namespace}", tag = "namespaces",
    params(("namespace" = String, Path)),
    responses((status = 200, body = Namespace), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn get(
    p: Principal,
    State(s): State<AppState>,
    Path(ns): Path<String>,
) -> ApiResult<Json<Namespace>> {
    validate_namespace(&ns)?;
    p.require(Role::Reader, Some(&ns))?;
    Ok(Json(s.catalog.namespace(&ns).await?))
}

/// Drop an empty namespace.
#[utoipa::path(delete, operation_id = "dropNamespace", path = "/v1/namespaces/{namespace}", tag = "namespaces",
    params(("namespace" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn drop(
    p: Principal,
    State(s): State<AppState>,
    Path(ns): Path<String>,
) -> ApiResult<StatusCode> {
    validate_namespace(&ns)?;
    p.require(Role::Admin, Some(&ns))?;
    s.catalog.store().drop_namespace(&ns).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set and remove namespace properties.
#[utoipa::path(post, operation_id = "updateNamespaceProperties", path = "/v1/namespaces/{namespace}/properties", tag = "namespaces",
    params(("namespace" = String, Path)),
    request_body = UpdatePropertiesRequest,
    responses((status = 200, body = Namespace), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn update_properties(
    p: Principal,
    State(s): State<AppState>,
    Path(ns): Path<String>,
    Json(req): Json<UpdatePropertiesRequest>,
) -> ApiResult<Json<Namespace>> {
    validate_namespace(&ns)?;
    p.require(Role::Admin, Some(&ns))?;
    let r = s
        .catalog
        .store()
        .update_namespace_properties(&ns, &req.set, &req.remove)
        .await
        .map_err(ApiError::from)?;
    Ok(Json(Namespace {
        name: r.name,
        properties: r.properties,
    }))
}
