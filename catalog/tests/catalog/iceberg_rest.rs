//! The Iceberg REST view under `/iceberg`: the endpoints `config` advertises, the same tokens
//! and scopes as the Strata API, `ETag`/304, and Iceberg's error shape everywhere, write
//! endpoints included. (Real Iceberg clients read through it in the CLI tests.)

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use strata_catalog::TableRef;
use strata_catalog::auth::Role;
use strata_catalog::model::{CommitRequest, ReadScope, TableChange};

use crate::harness::{Backend, TestCatalog, add_in, token};

struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .client
            .request(method, format!("{}/iceberg{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
        };
        (status, headers, body)
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.send(Method::GET, path, Some(token), &[]).await;
        (s, b)
    }
}

/// Asserts Iceberg's error shape with `status` and `kind`.
fn iceberg_error(status: StatusCode, body: &Value, want: u16, kind: &str) {
    assert_eq!(status.as_u16(), want, "{body}");
    assert_eq!(body["error"]["code"], want, "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

fn snapshot_ids(metadata: &Value) -> Vec<i64> {
    metadata["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["snapshot-id"].as_i64().unwrap())
        .collect()
}

async fn append(cat: &TestCatalog, ns: &str, base: u64, file: &str) {
    let add = add_in(cat.warehouse.path(), ns, "t", file, 10);
    cat.admin
        .commit(&CommitRequest {
            txn_id: uuid::Uuid::new_v4().to_string(),
            changes: vec![TableChange {
                namespace: ns.into(),
                table: "t".into(),
                base_version: base,
                actions: vec![add],
                operation: Some("WRITE".into()),
                operation_parameters: BTreeMap::new(),
                isolation_level: None,
                read: ReadScope::default(),
                ..Default::default()
            }],
        })
        .await
        .unwrap();
}

async fn suite(backend: Backend) {
    let cat = TestCatalog::start(&backend).await;
    let http = Http {
        base: cat.url(),
        client: reqwest::Client::new(),
    };
    let admin = cat.admin_token.as_str();
    let (ns, _) = cat.namespace_with_table("ice").await;
    let (other, _) = cat.namespace_with_table("ice_other").await;
    let scoped = token(cat.store.as_ref(), Role::Reader, Some(&ns)).await;
    let table = format!("/v1/namespaces/{ns}/tables/t");

    // Config: exactly the implemented endpoints, no prefix; a token is needed.
    let (s, config) = http.get("/v1/config?warehouse=anything", admin).await;
    assert_eq!(s, StatusCode::OK, "{config}");
    let endpoints: Vec<&str> = config["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(endpoints, strata_catalog::server::iceberg::ENDPOINTS);
    assert!(config["overrides"].get("prefix").is_none(), "{config}");
    let (s, _, body) = http.send(Method::GET, "/v1/config", None, &[]).await;
    iceberg_error(s, &body, 401, "NotAuthorizedException");
    let (s, _, body) = http
        .send(Method::GET, "/v1/config", Some("not-a-token"), &[])
        .await;
    iceberg_error(s, &body, 401, "NotAuthorizedException");

    // Namespaces: the admin sees both, the scoped token its own only.
    let names = |body: &Value| -> Vec<String> {
        body["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n[0].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = http.get("/v1/namespaces", admin).await;
    assert!(
        names(&all).contains(&ns) && names(&all).contains(&other),
        "{all}"
    );
    let (_, mine) = http.get("/v1/namespaces", &scoped).await;
    assert_eq!(names(&mine), vec![ns.clone()]);
    let (s, body) = http
        .get(&format!("/v1/namespaces?parent={ns}"), admin)
        .await;
    assert_eq!(
        (s, body["namespaces"].clone()),
        (StatusCode::OK, Value::Array(vec![]))
    );
    let (s, body) = http.get(&format!("/v1/namespaces/{ns}"), &scoped).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["namespace"][0], ns.as_str());
    let (s, _, _) = http
        .send(
            Method::HEAD,
            &format!("/v1/namespaces/{ns}"),
            Some(&scoped),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = http.get("/v1/namespaces/missing_ns", admin).await;
    iceberg_error(s, &body, 404, "NoSuchNamespaceException");
    let (s, body) = http
        .get(&format!("/v1/namespaces/{ns}/tables"), &scoped)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["identifiers"][0]["namespace"][0], ns.as_str());
    assert_eq!(body["identifiers"][0]["name"], "t");
    // A multi-level namespace (parts joined by 0x1F) does not exist here: a clear 400.
    let (s, body) = http.get("/v1/namespaces/a%1Fb", admin).await;
    iceberg_error(s, &body, 400, "BadRequestException");

    // The scoped token reaches nothing of the other namespace, not even its existence.
    for path in [
        format!("/v1/namespaces/{other}"),
        format!("/v1/namespaces/{other}/tables"),
        format!("/v1/namespaces/{other}/tables/t"),
        format!("/v1/namespaces/{other}/tables/missing"),
        format!("/v1/namespaces?parent={other}"),
    ] {
        let (s, body) = http.get(&path, &scoped).await;
        iceberg_error(s, &body, 403, "ForbiddenException");
    }
    let (s, _, _) = http
        .send(
            Method::HEAD,
            &format!("/v1/namespaces/{other}/tables/t"),
            Some(&scoped),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Load: the generated metadata, with an ETag; If-None-Match answers 304.
    append(&cat, &ns, 0, "part-1.parquet").await;
    let (s, headers, loaded) = http.send(Method::GET, &table, Some(&scoped), &[]).await;
    assert_eq!(s, StatusCode::OK, "{loaded}");
    let location = loaded["metadata-location"].as_str().unwrap().to_string();
    assert!(location.contains("/_strata_iceberg/v1-"), "{location}");
    let metadata = &loaded["metadata"];
    assert_eq!(metadata["format-version"], 2);
    assert_eq!(metadata["current-snapshot-id"], 2);
    assert_eq!(snapshot_ids(metadata), vec![1, 2]);
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (s, h304, body) = http
        .send(
            Method::GET,
            &table,
            Some(&scoped),
            &[("If-None-Match", &etag)],
        )
        .await;
    assert_eq!((s, body), (StatusCode::NOT_MODIFIED, Value::Null));
    assert_eq!(h304["etag"].to_str().unwrap(), etag);
    let (s, _, _) = http
        .send(
            Method::GET,
            &table,
            Some(&scoped),
            &[("If-None-Match", "\"stale\"")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = http.send(Method::HEAD, &table, Some(&scoped), &[]).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // A commit (here a tag, then an append) changes the metadata, its location and its tag.
    let tref = TableRef::parse(&format!("{ns}.t")).unwrap();
    cat.admin.create_tag(&tref, "first", 0).await.unwrap();
    append(&cat, &ns, 2, "part-2.parquet").await;
    let (s, headers, loaded) = http
        .send(
            Method::GET,
            &table,
            Some(&scoped),
            &[("If-None-Match", &etag)],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(headers["etag"].to_str().unwrap(), etag);
    assert_ne!(loaded["metadata-location"].as_str().unwrap(), location);
    assert_eq!(loaded["metadata"]["current-snapshot-id"], 4);
    assert_eq!(loaded["metadata"]["refs"]["first"]["snapshot-id"], 1);
    assert_eq!(snapshot_ids(&loaded["metadata"]), vec![1, 2, 3, 4]);
    // snapshots=refs: only what `main` and the tag point to.
    let (s, refs) = http.get(&format!("{table}?snapshots=refs"), &scoped).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(snapshot_ids(&refs["metadata"]), vec![1, 4]);
    let (s, body) = http.get(&format!("{table}?snapshots=some"), &scoped).await;
    iceberg_error(s, &body, 400, "BadRequestException");
    let (s, body) = http
        .get(&format!("/v1/namespaces/{ns}/tables/missing"), &scoped)
        .await;
    iceberg_error(s, &body, 404, "NoSuchTableException");
    let (s, _, _) = http
        .send(
            Method::HEAD,
            &format!("/v1/namespaces/{ns}/tables/missing"),
            Some(&scoped),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Write endpoints: not advertised, refused in Iceberg's shape (after authentication),
    // and nothing changes.
    let writes = [
        (Method::POST, "/v1/namespaces".to_string()),
        (Method::DELETE, format!("/v1/namespaces/{ns}")),
        (Method::POST, format!("/v1/namespaces/{ns}/properties")),
        (Method::POST, format!("/v1/namespaces/{ns}/tables")),
        (Method::POST, format!("/v1/namespaces/{ns}/register")),
        (Method::POST, table.clone()),
        (Method::DELETE, table.clone()),
        (Method::POST, "/v1/tables/rename".to_string()),
        (Method::POST, "/v1/transactions/commit".to_string()),
    ];
    for (method, path) in writes {
        let (s, _, body) = http.send(method.clone(), &path, Some(admin), &[]).await;
        iceberg_error(s, &body, 406, "UnsupportedOperationException");
        let (s, _, body) = http.send(method, &path, None, &[]).await;
        iceberg_error(s, &body, 401, "NotAuthorizedException");
    }
    assert_eq!(
        cat.admin.load_table(&tref).await.unwrap().current_version,
        3
    );
    // Unknown routes and methods keep the shape too.
    let (s, body) = http.get("/v1/nothing/here", admin).await;
    iceberg_error(s, &body, 404, "NoSuchEndpointException");
    let (s, _, body) = http.send(Method::PUT, &table, Some(admin), &[]).await;
    iceberg_error(s, &body, 405, "MethodNotAllowedException");
    cat.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iceberg_rest_sqlite() {
    suite(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iceberg_rest_postgres() {
    if let Some(b) = Backend::postgres("iceberg_rest_postgres") {
        suite(b).await;
    }
}
