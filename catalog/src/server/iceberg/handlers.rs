//! Handlers of the Iceberg REST routes.

use std::collections::HashSet;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{ENDPOINTS, IcebergError};
use crate::auth::{Principal, Role};
use crate::names::{validate_namespace, validate_table};
use crate::server::AppState;
use crate::server::error::ApiError;
use crate::store::TableIdent;

type IcebergResult<T> = Result<T, IcebergError>;

/// The caller, or the Iceberg-shaped reason there is none.
type Caller = Result<Principal, ApiError>;

/// `GET /v1/config`: no overrides (no prefix), and the endpoints implemented. The
/// `warehouse` a client names is accepted and ignored: the catalog has one.
pub async fn config(p: Caller) -> IcebergResult<Json<Value>> {
    let p = p?;
    p.require(Role::Reader, p.namespace.as_deref())?;
    Ok(Json(json!({
        "defaults": {},
        "overrides": {},
        "endpoints": ENDPOINTS,
    })))
}

/// Query of `GET /v1/namespaces`.
#[derive(Debug, Deserialize)]
pub struct ListNamespacesQuery {
    parent: Option<String>,
}

/// `GET /v1/namespaces`: the namespaces the token sees. Namespaces are flat: a `parent` has
/// no children.
pub async fn list_namespaces(
    p: Caller,
    State(s): State<AppState>,
    Query(q): Query<ListNamespacesQuery>,
) -> IcebergResult<Json<Value>> {
    let p = p?;
    if let Some(parent) = q.parent.as_deref() {
        validate_namespace(parent)?;
        p.require(Role::Reader, Some(parent))?;
        s.catalog.namespace(parent).await?;
        return Ok(Json(json!({"namespaces": [], "next-page-token": null})));
    }
    p.require(Role::Reader, p.namespace.as_deref())?;
    let names: Vec<Value> = s
        .catalog
        .store()
        .list_namespaces()
        .await?
        .into_iter()
        .filter(|n| p.sees(&n.name))
        .map(|n| json!([n.name]))
        .collect();
    Ok(Json(json!({"namespaces": names, "next-page-token": null})))
}

fn readable_namespace(p: Caller, ns: &str) -> IcebergResult<()> {
    let p = p?;
    validate_namespace(ns)?;
    p.require(Role::Reader, Some(ns))?;
    Ok(())
}

/// `GET /v1/namespaces/{namespace}`.
pub async fn load_namespace(
    p: Caller,
    State(s): State<AppState>,
    Path(ns): Path<String>,
) -> IcebergResult<Json<Value>> {
    readable_namespace(p, &ns)?;
    let n = s.catalog.namespace(&ns).await?;
    Ok(Json(
        json!({"namespace": [n.name], "properties": n.properties}),
    ))
}

/// `HEAD /v1/namespaces/{namespace}`: 204, or 404.
pub async fn namespace_exists(
    p: Caller,
    State(s): State<AppState>,
    Path(ns): Path<String>,
) -> IcebergResult<StatusCode> {
    readable_namespace(p, &ns)?;
    s.catalog.namespace(&ns).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/namespaces/{namespace}/tables`.
pub async fn list_tables(
    p: Caller,
    State(s): State<AppState>,
    Path(ns): Path<String>,
) -> IcebergResult<Json<Value>> {
    readable_namespace(p, &ns)?;
    let identifiers: Vec<Value> = s
        .catalog
        .list_tables(&ns)
        .await?
        .into_iter()
        .map(|t| json!({"namespace": [t.namespace], "name": t.name}))
        .collect();
    Ok(Json(
        json!({"identifiers": identifiers, "next-page-token": null}),
    ))
}

fn readable_table(p: Caller, ns: &str, table: &str) -> IcebergResult<TableIdent> {
    readable_namespace(p, ns)?;
    validate_table(table)?;
    Ok(TableIdent::new(ns, table))
}

/// `HEAD /v1/namespaces/{namespace}/tables/{table}`: 204, or 404.
pub async fn table_exists(
    p: Caller,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
) -> IcebergResult<StatusCode> {
    let ident = readable_table(p, &ns, &table)?;
    s.catalog.table_record(&ident).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of a table load.
#[derive(Debug, Deserialize)]
pub struct LoadTableQuery {
    snapshots: Option<String>,
}

/// `GET /v1/namespaces/{namespace}/tables/{table}`: the metadata of the latest version
/// (written on first load), with an `ETag`; `If-None-Match` with it answers 304.
/// `snapshots=refs` keeps only the snapshots a branch or tag points to.
pub async fn load_table(
    p: Caller,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Query(q): Query<LoadTableQuery>,
    headers: HeaderMap,
) -> IcebergResult<Response> {
    let ident = readable_table(p, &ns, &table)?;
    let refs_only = match q.snapshots.as_deref() {
        None | Some("all") => false,
        Some("refs") => true,
        Some(other) => {
            return Err(IcebergError::new(
                StatusCode::BAD_REQUEST,
                "BadRequestException",
                format!(
                    "snapshots={}: expected `all` or `refs`",
                    other.escape_default()
                ),
            ));
        }
    };
    let view = s.catalog.iceberg_view(&ident).await?;
    let etag = etag(view.metadata_location(), refs_only);
    let etag_value = HeaderValue::from_str(&etag)
        .map_err(|e| IcebergError::internal(StatusCode::INTERNAL_SERVER_ERROR, &e))?;
    if matches_etag(&headers, &etag) {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        resp.headers_mut().insert(header::ETAG, etag_value);
        return Ok(resp);
    }
    let mut metadata = view.metadata().await?;
    if refs_only {
        keep_referenced_snapshots(&mut metadata);
    }
    let body = json!({
        "metadata-location": view.metadata_location(),
        "metadata": metadata,
        "config": {},
    });
    let mut resp = Json(body).into_response();
    resp.headers_mut().insert(header::ETAG, etag_value);
    Ok(resp)
}

/// A strong entity tag: the metadata location names a hash of everything in it.
fn etag(metadata_location: &str, refs_only: bool) -> String {
    let mut h = Sha256::new();
    h.update(metadata_location.as_bytes());
    h.update(if refs_only { b"refs" } else { b"all\0" });
    format!("\"{}\"", hex::encode(&h.finalize()[..16]))
}

/// Whether `If-None-Match` names `etag` (or is `*`). Weak tags compare by their opaque part
/// (RFC 9110 §13.1.2: weak comparison).
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// Drops the snapshots no ref points to (and their log entries).
fn keep_referenced_snapshots(metadata: &mut Value) {
    let referenced: HashSet<i64> = metadata
        .get("refs")
        .and_then(Value::as_object)
        .map(|refs| {
            refs.values()
                .filter_map(|r| r.get("snapshot-id").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default();
    let keep = |v: &Value| {
        v.get("snapshot-id")
            .and_then(Value::as_i64)
            .is_some_and(|id| referenced.contains(&id))
    };
    for key in ["snapshots", "snapshot-log"] {
        if let Some(list) = metadata.get_mut(key).and_then(Value::as_array_mut) {
            list.retain(keep);
        }
    }
}

/// The protocol's write endpoints: authenticated, then refused.
pub async fn read_only(p: Caller) -> IcebergError {
    if let Err(e) = p {
        return e.into();
    }
    IcebergError::new(
        StatusCode::NOT_ACCEPTABLE,
        "UnsupportedOperationException",
        "this catalog serves Strata tables read-only over the Iceberg REST protocol: change \
         them with Strata (its API under /v1, or the `strata` CLI)",
    )
}

/// Any other path under `/iceberg`.
pub async fn no_such_endpoint() -> IcebergError {
    IcebergError::new(
        StatusCode::NOT_FOUND,
        "NoSuchEndpointException",
        "no such endpoint of the Iceberg REST catalog; GET /iceberg/v1/config lists them",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_tags() {
        let tag = etag("s3://b/t/_strata_iceberg/v3-abc.metadata.json", false);
        let mut h = HeaderMap::new();
        assert!(!matches_etag(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{tag}")).unwrap(),
        );
        assert!(matches_etag(&h, &tag));
        assert!(!matches_etag(&h, &etag("other", false)));
        // The two snapshot modes are different representations.
        assert_ne!(
            tag,
            etag("s3://b/t/_strata_iceberg/v3-abc.metadata.json", true)
        );
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches_etag(&h, "\"anything\""));
    }

    #[test]
    fn refs_mode_keeps_referenced_snapshots() {
        let mut m = json!({
            "refs": {"main": {"snapshot-id": 3, "type": "branch"},
                     "t": {"snapshot-id": 1, "type": "tag"}},
            "snapshots": [{"snapshot-id": 1}, {"snapshot-id": 2}, {"snapshot-id": 3}],
            "snapshot-log": [{"snapshot-id": 1}, {"snapshot-id": 2}, {"snapshot-id": 3}],
        });
        keep_referenced_snapshots(&mut m);
        let ids = |k: &str| -> Vec<i64> {
            m[k].as_array()
                .unwrap()
                .iter()
                .map(|s| s["snapshot-id"].as_i64().unwrap())
                .collect()
        };
        assert_eq!(ids("snapshots"), vec![1, 3]);
        assert_eq!(ids("snapshot-log"), vec![1, 3]);
    }
}
