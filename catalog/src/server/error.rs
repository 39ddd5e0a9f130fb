//! The JSON error envelope: every error response, whoever produced it, has the shape
//! `{"error": {"code", "message", "errorId"?}}`. A 5xx never carries internals: the cause is
//! logged with an error id, and the id is returned.

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use strata_format::conflict::ConflictKind;

use crate::error::Error;
use crate::model::{ConflictBody, ErrorBody, ErrorEnvelope};

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

fn conflict_body(table: &str, winning: u64, kind: &ConflictKind) -> ConflictBody {
    let (kind, subject) = match kind {
        ConflictKind::ProtocolChanged => ("protocolChanged", None),
        ConflictKind::MetadataChanged => ("metadataChanged", None),
        ConflictKind::ConcurrentAppend { path } => ("concurrentAppend", Some(path.clone())),
        ConflictKind::ConcurrentDelete { path } => ("concurrentDelete", Some(path.clone())),
        ConflictKind::ConcurrentRelocate { path } => ("concurrentRelocate", Some(path.clone())),
        ConflictKind::ConcurrentTag { name } => ("concurrentTag", Some(name.clone())),
        ConflictKind::DeletionVectorChanged { path } => {
            ("deletionVectorChanged", Some(path.clone()))
        }
        _ => ("conflict", None),
    };
    ConflictBody {
        table: table.to_string(),
        winning_version: Some(winning),
        kind: kind.to_string(),
        subject,
    }
}

/// A new error id for a log line.
pub fn error_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// An envelope response.
pub fn envelope(
    status: StatusCode,
    code: &str,
    message: String,
    error_id: Option<String>,
    conflict: Option<ConflictBody>,
) -> Response {
    let body = ErrorEnvelope {
        error: ErrorBody {
            code: code.to_string(),
            message,
            error_id,
            conflict,
        },
    };
    let mut resp = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"strata\""),
        );
    }
    resp
}

/// A 5xx: logs the cause under a new error id and answers with a generic message.
pub fn internal(
    status: StatusCode,
    code: &str,
    public: &str,
    cause: &dyn std::fmt::Display,
) -> Response {
    let id = error_id();
    tracing::error!(error_id = %id, status = status.as_u16(), error = %cause, "request failed");
    envelope(
        status,
        code,
        format!("{public} (error id {id})"),
        Some(id),
        None,
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use StatusCode as S;
        let e = self.0;
        let plain =
            |status: S, code: &str, e: &Error| envelope(status, code, e.to_string(), None, None);
        match &e {
            Error::InvalidName { .. } => plain(S::BAD_REQUEST, "invalid_name", &e),
            Error::BadRequest(_) => plain(S::BAD_REQUEST, "bad_request", &e),
            Error::Unprocessable(_) => plain(S::UNPROCESSABLE_ENTITY, "unprocessable", &e),
            Error::TxnReused { .. } => plain(S::CONFLICT, "txn_reused", &e),
            Error::NamespaceNotFound(_)
            | Error::TableNotFound(_)
            | Error::TagNotFound(_)
            | Error::TokenNotFound(_) => plain(S::NOT_FOUND, "not_found", &e),
            Error::NamespaceExists(_) | Error::TableExists(_) => {
                plain(S::CONFLICT, "already_exists", &e)
            }
            Error::NamespaceNotEmpty(_) => plain(S::CONFLICT, "namespace_not_empty", &e),
            Error::Conflict { table, conflict } => envelope(
                S::CONFLICT,
                "commit_conflict",
                e.to_string(),
                None,
                Some(conflict_body(
                    table,
                    conflict.winning_version,
                    &conflict.kind,
                )),
            ),
            Error::DuplicateBatch { table, duplicate } => envelope(
                S::CONFLICT,
                "duplicate_batch",
                e.to_string(),
                None,
                Some(ConflictBody {
                    table: table.clone(),
                    winning_version: None,
                    kind: "duplicateBatch".into(),
                    subject: Some(duplicate.app_id.clone()),
                }),
            ),
            Error::Unauthenticated(_) => plain(S::UNAUTHORIZED, "unauthenticated", &e),
            Error::Forbidden(_) => plain(S::FORBIDDEN, "forbidden", &e),
            Error::Busy(_) => internal(
                S::SERVICE_UNAVAILABLE,
                "busy",
                "the table is busy; retry later",
                &e,
            ),
            Error::CommitOutcomeUnknown { .. } => internal(
                S::SERVICE_UNAVAILABLE,
                "commit_outcome_unknown",
                "the outcome of the commit is unknown; retry with the same txnId",
                &e,
            ),
            _ => internal(S::INTERNAL_SERVER_ERROR, "internal", "internal error", &e),
        }
    }
}

fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        503 | 504 => "unavailable",
        s if s >= 500 => "internal",
        _ => "error",
    }
}

/// Middleware: rewrites error responses not produced by [`ApiError`] (unknown routes, bad
/// methods, extractor rejections, body limits, timeouts) into the envelope.
pub async fn normalize(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    if is_json(&resp) {
        return resp;
    }
    let code = code_for(status);
    if status.is_server_error() {
        return internal(status, code, "the request could not be served", &status);
    }
    envelope(status, code, plain_message(resp).await, None, None)
}

/// Whether a response already has a JSON body (an error shape of its own).
pub fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// The text of a plain error response (an extractor's rejection), or its status's reason.
pub async fn plain_message(resp: Response) -> String {
    let status = resp.status();
    let (_, body) = resp.into_parts();
    let text = axum::body::to_bytes(Body::new(body), 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_format::conflict::Conflict;

    #[test]
    fn errors_map_to_statuses_and_codes() {
        let cases = [
            (Error::BadRequest("x".into()), 400),
            (Error::TableNotFound("a.b".into()), 404),
            (Error::NamespaceExists("a".into()), 409),
            (Error::Unauthenticated("x".into()), 401),
            (Error::Forbidden("x".into()), 403),
            (Error::Busy("x".into()), 503),
            (Error::Config("secret path /etc/x".into()), 500),
        ];
        for (e, status) in cases {
            assert_eq!(ApiError(e).into_response().status().as_u16(), status);
        }
        let r = ApiError(Error::Unauthenticated("x".into())).into_response();
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    }

    #[test]
    fn conflicts_are_typed() {
        let c = conflict_body(
            "a.b",
            7,
            &ConflictKind::ConcurrentDelete {
                path: "f.parquet".into(),
            },
        );
        assert_eq!(c.kind, "concurrentDelete");
        assert_eq!(c.winning_version, Some(7));
        assert_eq!(c.subject.as_deref(), Some("f.parquet"));
        let e = Error::Conflict {
            table: "a.b".into(),
            conflict: Conflict {
                winning_version: 7,
                kind: ConflictKind::MetadataChanged,
            },
        };
        assert_eq!(ApiError(e).into_response().status().as_u16(), 409);
    }
}
