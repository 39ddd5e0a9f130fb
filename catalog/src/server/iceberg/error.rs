//! Iceberg's error shape: `{"error": {"message", "type", "code"}}` (the protocol's
//! `ErrorModel`), with the status and exception type its clients expect.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::Error;
use crate::server::error::{ApiError, error_id};

/// An error of an Iceberg REST route.
#[derive(Debug)]
pub struct IcebergError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl IcebergError {
    /// An error with Iceberg's exception type `kind`.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
        }
    }

    /// A 5xx: logs the cause under a new error id and answers with a generic message.
    pub fn internal(status: StatusCode, cause: &dyn std::fmt::Display) -> Self {
        let id = error_id();
        tracing::error!(error_id = %id, status = status.as_u16(), error = %cause,
            "iceberg request failed");
        Self::new(
            status,
            if status == StatusCode::SERVICE_UNAVAILABLE {
                "ServiceUnavailableException"
            } else {
                "ServerErrorException"
            },
            format!("internal error (error id {id})"),
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Iceberg's exception type.
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}

impl From<Error> for IcebergError {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        let plain = |status, kind, e: &Error| Self::new(status, kind, e.to_string());
        match &e {
            Error::InvalidName { .. } | Error::BadRequest(_) => {
                plain(S::BAD_REQUEST, "BadRequestException", &e)
            }
            Error::NamespaceNotFound(_) => plain(S::NOT_FOUND, "NoSuchNamespaceException", &e),
            Error::TableNotFound(_) => plain(S::NOT_FOUND, "NoSuchTableException", &e),
            Error::Unauthenticated(_) => plain(S::UNAUTHORIZED, "NotAuthorizedException", &e),
            Error::Forbidden(_) => plain(S::FORBIDDEN, "ForbiddenException", &e),
            // What the table holds cannot be served as Iceberg (an archived file in the
            // current version, a field Iceberg v2 cannot express): the reader's problem to
            // see, with the message naming the file or field.
            Error::Iceberg(strata_iceberg::Error::ArchivedFile { .. }) => {
                plain(S::UNPROCESSABLE_ENTITY, "ArchivedFileException", &e)
            }
            Error::Iceberg(strata_iceberg::Error::Unsupported { .. }) => {
                plain(S::UNPROCESSABLE_ENTITY, "UnsupportedOperationException", &e)
            }
            Error::Busy(_) => Self::internal(S::SERVICE_UNAVAILABLE, &e),
            _ => Self::internal(S::INTERNAL_SERVER_ERROR, &e),
        }
    }
}

impl From<ApiError> for IcebergError {
    fn from(e: ApiError) -> Self {
        e.0.into()
    }
}

impl IntoResponse for IcebergError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "code": self.status.as_u16(),
            }
        });
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"strata\""),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_errors_map_to_iceberg_types() {
        let cases = [
            (
                Error::TableNotFound("a.b".into()),
                404,
                "NoSuchTableException",
            ),
            (
                Error::NamespaceNotFound("a".into()),
                404,
                "NoSuchNamespaceException",
            ),
            (
                Error::Unauthenticated("x".into()),
                401,
                "NotAuthorizedException",
            ),
            (Error::Forbidden("x".into()), 403, "ForbiddenException"),
            (Error::BadRequest("x".into()), 400, "BadRequestException"),
            (Error::Busy("x".into()), 503, "ServiceUnavailableException"),
            (
                Error::Config("/etc/secret".into()),
                500,
                "ServerErrorException",
            ),
        ];
        for (e, status, kind) in cases {
            let i = IcebergError::from(e);
            assert_eq!((i.status().as_u16(), i.kind()), (status, kind));
        }
        // A 5xx hides its cause.
        let i = IcebergError::from(Error::Config("/etc/secret".into()));
        assert!(!i.message.contains("/etc/secret"), "{}", i.message);
        assert!(i.message.contains("error id"), "{}", i.message);
    }
}
