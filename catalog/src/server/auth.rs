//! Bearer-token authentication: the `Principal` extractor.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::auth::{Principal, hash_token};
use crate::error::Error;

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
        let record = state
            .catalog
            .store()
            .find_token(&hash_token(token))
            .await?
            .ok_or_else(|| Error::Unauthenticated("invalid token".into()))?;
        Ok(Principal {
            token_id: record.id,
            role: record.role,
            namespace: record.namespace,
        })
    }
}
