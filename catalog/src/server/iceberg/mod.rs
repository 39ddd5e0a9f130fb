//! The Iceberg REST catalog protocol, read-only, under `/iceberg`: engines that speak it
//! (pyiceberg, DuckDB, iceberg-rust, Spark, Trino, …) list and read Strata tables with the
//! catalog's URL (`http://HOST:PORT/iceberg`) and a Strata bearer token. The same tokens and
//! roles apply: reading needs the reader role on the namespace, and a token scoped to one
//! namespace sees nothing else.
//!
//! Implemented, and advertised by `GET /v1/config` (exactly these): list, load and check
//! namespaces; list tables; load and check a table. A table's metadata is the one
//! `strata-iceberg` generates from its log (every retained version a snapshot, tags as refs),
//! with an `ETag` (`If-None-Match` answers 304 when nothing changed). A table whose latest
//! version has a live file in an archive storage class that is not restored answers 422
//! `ArchivedFileException` naming the file (an Iceberg reader would fail reading it);
//! older versions with such files are left out of the snapshot list (`strata-iceberg`).
//!
//! The write endpoints of the protocol (creating, committing, renaming, dropping) are not
//! advertised and answer 406 `UnsupportedOperationException`: Strata tables change through
//! Strata (its API under `/v1` or the `strata` CLI), whose commit protocol the catalog
//! validates. Every error, of any route under `/iceberg`, has Iceberg's shape
//! `{"error": {"message", "type", "code"}}`; a 5xx hides its cause behind an error id.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::AppState;
use crate::server::error as api_error;

mod error;
mod handlers;

pub use error::IcebergError;

/// The endpoints `GET /v1/config` advertises, in the protocol's notation.
pub const ENDPOINTS: &[&str] = &[
    "GET /v1/{prefix}/namespaces",
    "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}",
    "GET /v1/{prefix}/namespaces/{namespace}/tables",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
];

/// The routes, to be nested under `/iceberg`.
pub fn routes(state: AppState) -> Router<AppState> {
    use handlers as h;
    let namespace = "/v1/namespaces/{namespace}";
    let table = "/v1/namespaces/{namespace}/tables/{table}";
    Router::new()
        .route("/v1/config", get(h::config))
        .route("/v1/namespaces", get(h::list_namespaces).post(h::read_only))
        .route(
            namespace,
            get(h::load_namespace)
                .head(h::namespace_exists)
                .delete(h::read_only),
        )
        .route(&format!("{namespace}/properties"), post(h::read_only))
        .route(
            &format!("{namespace}/tables"),
            get(h::list_tables).post(h::read_only),
        )
        .route(&format!("{namespace}/register"), post(h::read_only))
        .route(
            table,
            get(h::load_table)
                .head(h::table_exists)
                .post(h::read_only)
                .delete(h::read_only),
        )
        .route("/v1/tables/rename", post(h::read_only))
        .route("/v1/transactions/commit", post(h::read_only))
        .fallback(h::no_such_endpoint)
        .layer(axum::middleware::map_response(iceberg_shape))
        .with_state(state)
}

/// Middleware: error responses not produced by [`IcebergError`] (bad methods, extractor
/// rejections) get Iceberg's error shape.
async fn iceberg_shape(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    if api_error::is_json(&resp) {
        return resp;
    }
    if status.is_server_error() {
        return IcebergError::internal(status, &status).into_response();
    }
    let message = api_error::plain_message(resp).await;
    let kind = match status {
        StatusCode::NOT_FOUND => "NoSuchEndpointException",
        StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowedException",
        _ => "BadRequestException",
    };
    IcebergError::new(status, kind, message).into_response()
}
