//! Tier endpoints: report, plan, apply, set tiers, set policies (SPEC §6, run by the engine on
//! the table's location).

use axum::Json;
use axum::extract::{Path, State};

use super::{ApiResult, AppState};
use crate::auth::{Principal, Role};
use crate::model::ErrorEnvelope;
use crate::names::{validate_namespace, validate_table};
use crate::store::TableIdent;
use crate::tiering::{
    ApplyRequest, ApplyResponse, MoveBody, MoveRequest, PlanRequest, RestoreRequest,
    RestoreResponse, SetPoliciesRequest, SetTiersRequest, TierPlanBody, TierReport,
};

fn ident(ns: &str, table: &str) -> crate::error::Result<TableIdent> {
    validate_namespace(ns)?;
    validate_table(table)?;
    Ok(TableIdent::new(ns, table))
}

/// A table's tiers, policies, and files, bytes and monthly cost per tier.
#[utoipa::path(get, operation_id = "tierReport", path = "/v1/namespaces/{namespace}/tables/{table}/tiers", tag = "tiers",
    params(("namespace" = String, Path), ("table" = String, Path)),
    responses((status = 200, body = TierReport), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn report(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
) -> ApiResult<Json<TierReport>> {
    let id = ident(&ns, &table)?;
    p.require(Role::Reader, Some(&ns))?;
    Ok(Json(s.catalog.tier_report(&id).await?))
}

/// Replace a table's tiers (one commit); refused while a removed tier still holds files.
#[utoipa::path(put, operation_id = "setTiers", path = "/v1/namespaces/{namespace}/tables/{table}/tiers", tag = "tiers",
    params(("namespace" = String, Path), ("table" = String, Path)),
    request_body = SetTiersRequest,
    responses((status = 200, body = TierReport), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn set_tiers(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Json(req): Json<SetTiersRequest>,
) -> ApiResult<Json<TierReport>> {
    let id = ident(&ns, &table)?;
    p.require(Role::Writer, Some(&ns))?;
    Ok(Json(s.catalog.set_tiers(&id, req).await?))
}

/// Replace a table's tier policies (one commit).
#[utoipa::path(put, operation_id = "setTierPolicies", path = "/v1/namespaces/{namespace}/tables/{table}/tiers/policies", tag = "tiers",
    params(("namespace" = String, Path), ("table" = String, Path)),
    request_body = SetPoliciesRequest,
    responses((status = 200, body = TierReport), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn set_policies(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Json(req): Json<SetPoliciesRequest>,
) -> ApiResult<Json<TierReport>> {
    let id = ident(&ns, &table)?;
    p.require(Role::Writer, Some(&ns))?;
    Ok(Json(s.catalog.set_tier_policies(&id, req).await?))
}

/// Dry run: the files the policies would move at `now`, and the monthly cost before and after.
#[utoipa::path(post, operation_id = "tierPlan", path = "/v1/namespaces/{namespace}/tables/{table}/tiers/plan", tag = "tiers",
    params(("namespace" = String, Path), ("table" = String, Path)),
    request_body = PlanRequest,
    responses((status = 200, body = TierPlanBody), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn plan(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Json(req): Json<PlanRequest>,
) -> ApiResult<Json<TierPlanBody>> {
    let id = ident(&ns, &table)?;
    p.require(Role::Reader, Some(&ns))?;
    Ok(Json(s.catalog.tier_plan(&id, &req).await?))
}

/// Apply the policies at `now`: copy, commit one move per target tier, delete old copies past
/// the grace period. Idempotent: a re-run finishes an interrupted move.
#[utoipa::path(post, operation_id = "tierApply", path = "/v1/namespaces/{namespace}/tables/{table}/tiers/apply", tag = "tiers",
    params(("namespace" = String, Path), ("table" = String, Path)),
    request_body = ApplyRequest,
    responses((status = 200, body = ApplyResponse), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn apply(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Json(req): Json<ApplyRequest>,
) -> ApiResult<Json<ApplyResponse>> {
    let id = ident(&ns, &table)?;
    p.require(Role::Writer, Some(&ns))?;
    Ok(Json(s.catalog.tier_apply(&id, &req).await?))
}

/// Move the files that may hold rows matching a filter to a tier: copy, one commit, delete the
/// old copies after the grace period. Idempotent: files already there are skipped.
#[utoipa::path(post, operation_id = "tierMove", path = "/v1/namespaces/{namespace}/tables/{table}/tiers/move", tag = "tiers",
    params(("namespace" = String, Path), ("table" = String, Path)),
    request_body = MoveRequest,
    responses((status = 200, body = MoveBody), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn move_files(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Json(req): Json<MoveRequest>,
) -> ApiResult<Json<MoveBody>> {
    let id = ident(&ns, &table)?;
    p.require(Role::Writer, Some(&ns))?;
    Ok(Json(s.catalog.tier_move(&id, &req).await?))
}

/// Restore archived files (S3 GLACIER, DEEP_ARCHIVE) a filter selects: starts RestoreObject for
/// each and records the restores in the table. It does not wait: call again later to record
/// the restores that have completed, with their expiry.
#[utoipa::path(post, operation_id = "tierRestore", path = "/v1/namespaces/{namespace}/tables/{table}/tiers/restore", tag = "tiers",
    params(("namespace" = String, Path), ("table" = String, Path)),
    request_body = RestoreRequest,
    responses((status = 200, body = RestoreResponse), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn restore(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Json(req): Json<RestoreRequest>,
) -> ApiResult<Json<RestoreResponse>> {
    let id = ident(&ns, &table)?;
    p.require(Role::Writer, Some(&ns))?;
    Ok(Json(s.catalog.tier_restore(&id, &req).await?))
}
