//! Bearer-token authentication: the `Principal` extractor.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::audit::AuditSlot;
use super::error::ApiError;
use crate::auth::{Principal, hash_token};
use crate::error::Error;
use crate::store::now_ms;

/// How precisely a token's last use is recorded.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(Error::Unauthenticated(
                "missing bearer token (Authorization: Bearer <token>)".into(),
            )
            .into());
        };
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().split_once(char::is_whitespace))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Unauthenticated("the Authorization header is not `Bearer <token>`".into())
            })?;
        let store = state.catalog.store();
        let record = store
            .find_token(&hash_token(token))
            .await?
            .ok_or_else(|| Error::Unauthenticated("invalid token".into()))?;
        let now = now_ms();
        if let Some(why) = record.refusal(now) {
            return Err(Error::Unauthenticated(why.into()).into());
        }
        // Last use, to the minute: one store write per token per minute at most.
        if record
            .last_used_at_ms
            .is_none_or(|t| now.saturating_sub(t) >= LAST_USED_RESOLUTION_MS)
            && let Err(e) = store.touch_token(&record.id, now).await
        {
            tracing::warn!(error = %e, token = %record.id, "recording a token's last use failed");
        }
        if let Some(slot) = parts.extensions.get::<AuditSlot>() {
            slot.principal(&record.id);
        }
        Ok(Principal {
            token_id: record.id,
            role: record.role,
            namespace: record.namespace,
        })
    }
}
