//! Tokens (create, list, revoke) and the audit trail. Only admins manage tokens; an admin
//! scoped to a namespace sees and manages only the tokens of that namespace.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::audit::AuditSlot;
use super::{ApiResult, AppState};
use crate::auth::{Principal, Role, generate_token, hash_token};
use crate::error::Error;
use crate::model::{
    AuditEntry, AuditLog, AuditQuery, CreateTokenRequest, CreatedToken, ErrorEnvelope, TokenInfo,
    TokenList,
};
use crate::names::validate_namespace;
use crate::store::{Store, TokenRecord, now_ms};

/// Longest expiry accepted (ten years), so that the arithmetic never overflows.
const MAX_EXPIRY_SECONDS: u64 = 10 * 366 * 24 * 3600;

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
    axum::Extension(audit): axum::Extension<AuditSlot>,
    Json(req): Json<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    if let Some(ns) = &req.namespace {
        validate_namespace(ns)?;
    }
    p.require(Role::Admin, req.namespace.as_deref())?;
    let created = issue_token(s.catalog.store().as_ref(), req).await?;
    if let Some(ns) = &created.namespace {
        audit.touched(ns, None, None);
    }
    audit.detail(format!("created token {} ({})", created.id, created.role));
    Ok((StatusCode::CREATED, Json(created)))
}

/// Creates a token in the store (used by the API and by the `--store` bootstrap).
pub async fn issue_token(
    store: &dyn Store,
    req: CreateTokenRequest,
) -> crate::error::Result<CreatedToken> {
    let token = generate_token();
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_ms();
    let expires_at_ms = match req.expires_in_seconds {
        Some(0) => {
            return Err(Error::BadRequest(
                "expiresInSeconds must be at least 1".into(),
            ));
        }
        Some(secs) if secs > MAX_EXPIRY_SECONDS => {
            return Err(Error::BadRequest(format!(
                "expiresInSeconds must be at most {MAX_EXPIRY_SECONDS} (ten years)"
            )));
        }
        Some(secs) => Some(now + i64::try_from(secs * 1000).unwrap_or(i64::MAX - now)),
        None => None,
    };
    store
        .create_token(&TokenRecord {
            id: id.clone(),
            hash: hash_token(&token),
            role: req.role,
            namespace: req.namespace.clone(),
            description: req.description,
            created_at_ms: now,
            expires_at_ms,
            revoked_at_ms: None,
            last_used_at_ms: None,
        })
        .await?;
    Ok(CreatedToken {
        id,
        token,
        role: req.role,
        namespace: req.namespace,
        expires_at_ms,
    })
}

fn info(t: TokenRecord) -> TokenInfo {
    TokenInfo {
        id: t.id,
        role: t.role,
        namespace: t.namespace,
        description: t.description,
        created_at_ms: t.created_at_ms,
        expires_at_ms: t.expires_at_ms,
        revoked_at_ms: t.revoked_at_ms,
        last_used_at_ms: t.last_used_at_ms,
    }
}

/// List tokens (never their secrets): all for a catalog-wide admin, those of its namespace
/// for a scoped one.
#[utoipa::path(get, operation_id = "listTokens", path = "/v1/tokens", tag = "tokens",
    responses((status = 200, body = TokenList), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_tokens(p: Principal, State(s): State<AppState>) -> ApiResult<Json<TokenList>> {
    p.require(Role::Admin, p.namespace.as_deref())?;
    let tokens = s
        .catalog
        .store()
        .list_tokens(p.namespace.as_deref())
        .await?;
    Ok(Json(TokenList {
        tokens: tokens.into_iter().map(info).collect(),
    }))
}

/// Revoke a token: it is refused from now on. A scoped admin may revoke only tokens of its
/// namespace; others are 404 to it, like tokens that do not exist.
#[utoipa::path(delete, operation_id = "revokeToken", path = "/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn revoke_token(
    p: Principal,
    State(s): State<AppState>,
    axum::Extension(audit): axum::Extension<AuditSlot>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    p.require(Role::Admin, p.namespace.as_deref())?;
    let store = s.catalog.store();
    let visible = store
        .list_tokens(p.namespace.as_deref())
        .await?
        .into_iter()
        .find(|t| t.id == id);
    let Some(token) = visible else {
        return Err(Error::TokenNotFound(id).into());
    };
    if !store.revoke_token(&token.id, now_ms()).await? {
        return Err(Error::TokenNotFound(id).into());
    }
    if let Some(ns) = &token.namespace {
        audit.touched(ns, None, None);
    }
    audit.detail(format!("revoked token {}", token.id));
    Ok(StatusCode::NO_CONTENT)
}

/// The audit trail of writes, newest first: everything for a catalog-wide admin, its own
/// namespace for a scoped one.
#[utoipa::path(get, operation_id = "audit", path = "/v1/audit", tag = "tokens",
    params(AuditQuery),
    responses((status = 200, body = AuditLog), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn audit(
    p: Principal,
    State(s): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditLog>> {
    if let Some(ns) = &q.namespace {
        validate_namespace(ns)?;
    }
    let ns = q.namespace.as_deref().or(p.namespace.as_deref());
    p.require(Role::Admin, ns)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
    let entries = s.catalog.store().list_audit(ns, limit).await?;
    Ok(Json(AuditLog {
        entries: entries
            .into_iter()
            .map(|e| AuditEntry {
                at_ms: e.at_ms,
                token_id: e.token_id,
                action: e.action,
                namespace: e.namespace,
                target: e.target,
                status: e.status,
                detail: e.detail,
            })
            .collect(),
    }))
}
