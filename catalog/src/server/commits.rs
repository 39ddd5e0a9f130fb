//! Commits, tokens, health.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::{ApiResult, AppState};
use crate::auth::{Principal, Role, generate_token, hash_token};
use crate::error::Error;
use crate::model::{
    CommitRequest, CommitResponse, CreateTokenRequest, CreatedToken, ErrorEnvelope, Health,
};
use crate::names::validate_namespace;
use crate::store::TokenRecord;

/// Commit table changes: `409` with a typed conflict when a commit after the base version
/// conflicts; retrying with the same `txnId` returns the same answer.
#[utoipa::path(post, operation_id = "commit", path = "/v1/commits", tag = "commits",
    request_body = CommitRequest,
    responses((status = 200, body = CommitResponse), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn commit(
    p: Principal,
    State(s): State<AppState>,
    Json(req): Json<CommitRequest>,
) -> ApiResult<Json<CommitResponse>> {
    for c in &req.changes {
        validate_namespace(&c.namespace)?;
        p.require(Role::Writer, Some(&c.namespace))?;
    }
    let result = s.catalog.commit(req).await;
    match &result {
        Ok(_) => s.metrics.commit("committed"),
        Err(Error::Conflict { .. } | Error::DuplicateBatch { .. }) => s.metrics.commit("conflict"),
        Err(_) => s.metrics.commit("failed"),
    }
    Ok(Json(result?))
}

/// Create a token; the secret is in this answer only. A namespace-scoped admin may only
/// create tokens for its namespace.
#[utoipa::path(post, operation_id = "createToken", path = "/v1/tokens", tag = "tokens",
    request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn create_token(
    p: Principal,
    State(s): State<AppState>,
    Json(req): Json<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    if let Some(ns) = &req.namespace {
        validate_namespace(ns)?;
    }
    p.require(Role::Admin, req.namespace.as_deref())?;
    let created = issue_token(s.catalog.store().as_ref(), req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Creates a token in the store (used by the API and by the `--store` bootstrap).
pub async fn issue_token(
    store: &dyn crate::store::Store,
    req: CreateTokenRequest,
) -> crate::error::Result<CreatedToken> {
    let token = generate_token();
    let id = uuid::Uuid::new_v4().to_string();
    store
        .create_token(&TokenRecord {
            id: id.clone(),
            hash: hash_token(&token),
            role: req.role,
            namespace: req.namespace.clone(),
            description: req.description,
        })
        .await?;
    Ok(CreatedToken {
        id,
        token,
        role: req.role,
        namespace: req.namespace,
    })
}

/// Liveness and store reachability (no authentication).
#[utoipa::path(get, operation_id = "health", path = "/healthz", tag = "service",
    responses((status = 200, body = Health), (status = 503, body = ErrorEnvelope)))]
pub async fn health(State(s): State<AppState>) -> ApiResult<Json<Health>> {
    s.catalog.store().ping().await?;
    Ok(Json(Health {
        status: "ok".into(),
    }))
}
