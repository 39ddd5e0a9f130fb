//! Commits and health.

use axum::extract::State;
use axum::{Extension, Json};

use super::audit::AuditSlot;
use super::{ApiResult, AppState};
use crate::auth::{Principal, Role};
use crate::error::Error;
use crate::model::{CommitRequest, CommitResponse, ErrorEnvelope, Health};
use crate::names::validate_namespace;

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
    Extension(audit): Extension<AuditSlot>,
    Json(req): Json<CommitRequest>,
) -> ApiResult<Json<CommitResponse>> {
    for c in &req.changes {
        validate_namespace(&c.namespace)?;
        p.require(Role::Writer, Some(&c.namespace))?;
        audit.touched(
            &c.namespace,
            Some(&c.table),
            Some(format!("txn {}", req.txn_id)),
        );
    }
    let result = s.catalog.commit(req).await;
    if let Ok(r) = &result {
        for t in &r.results {
            audit.detail(format!("txn {} at version {}", r.txn_id, t.version));
        }
    }
    match &result {
        Ok(_) => s.metrics.commit("committed"),
        Err(Error::Conflict { .. } | Error::DuplicateBatch { .. }) => s.metrics.commit("conflict"),
        Err(_) => s.metrics.commit("failed"),
    }
    Ok(Json(result?))
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
