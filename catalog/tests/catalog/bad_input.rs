//! Bad input: a 4xx with the error envelope and a clear message, and nothing changed.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use strata_catalog::TableRef;
use strata_catalog::server::ServerOptions;

use crate::harness::{Backend, TestCatalog, add_in, add_json, create_request, remove_json, unique};

async fn send(
    cat: &TestCatalog,
    method: reqwest::Method,
    path: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", cat.url()))
        .bearer_auth(&cat.admin_token);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    (status, v)
}

fn assert_envelope(v: &Value) {
    let err = &v["error"];
    assert!(err["code"].is_string(), "{v}");
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_envelope_and_changes_nothing() {
    let options = ServerOptions {
        body_limit: 4096,
        ..Default::default()
    };
    let cat = TestCatalog::start_with(&Backend::sqlite(), &options).await;
    let ns = unique("ns");
    cat.admin
        .create_namespace(&ns, BTreeMap::new())
        .await
        .unwrap();
    cat.admin
        .create_table(&ns, &create_request("t"))
        .await
        .unwrap();
    use reqwest::Method as M;

    // (case, method, path, body, acceptable statuses)
    type Case<'a> = (&'a str, M, String, Option<String>, &'a [u16]);
    let cases: Vec<Case> = vec![
        ("malformed JSON", M::POST, "/v1/namespaces".into(), Some("{\"name\": ".into()), &[400]),
        ("unknown field", M::POST, "/v1/namespaces".into(),
            Some(json!({"name": unique("x"), "colour": "red"}).to_string()), &[422]),
        ("wrong type", M::POST, "/v1/namespaces".into(), Some(json!({"name": 5}).to_string()), &[422]),
        ("oversized body", M::POST, "/v1/namespaces".into(),
            Some(json!({"name": "big", "properties": {"k": "x".repeat(10_000)}}).to_string()), &[413]),
        ("dotted namespace", M::POST, "/v1/namespaces".into(), Some(json!({"name": "a.b"}).to_string()), &[400]),
        ("traversal namespace", M::POST, "/v1/namespaces".into(), Some(json!({"name": "../etc"}).to_string()), &[400]),
        ("control character", M::POST, "/v1/namespaces".into(), Some(json!({"name": "a\u{7}b"}).to_string()), &[400]),
        ("empty name", M::POST, "/v1/namespaces".into(), Some(json!({"name": ""}).to_string()), &[400]),
        ("encoded traversal in path", M::GET, "/v1/namespaces/..%2F..%2Fetc".into(), None, &[400]),
        ("encoded NUL in path", M::GET, format!("/v1/namespaces/{ns}/tables/a%00b"), None, &[400]),
        ("traversal table name", M::POST, format!("/v1/namespaces/{ns}/tables"),
            Some(serde_json::to_string(&create_request("../../x")).unwrap()), &[400]),
        ("unknown route", M::GET, "/v1/nothing".into(), None, &[404]),
        ("wrong method", M::PUT, "/v1/namespaces".into(), None, &[405]),
        ("bad txn id", M::POST, "/v1/commits".into(), Some(json!({"txnId": "x", "changes": [
            {"namespace": ns, "table": "t", "baseVersion": 0, "actions": [add_json("a.parquet", 1)]}]}).to_string()), &[400]),
        ("no changes", M::POST, "/v1/commits".into(), Some(json!({"txnId": uuid::Uuid::new_v4().to_string(),
            "changes": []}).to_string()), &[400]),
        ("bad action", M::POST, "/v1/commits".into(), Some(json!({"txnId": uuid::Uuid::new_v4().to_string(),
            "changes": [{"namespace": ns, "table": "t", "baseVersion": 0,
            "actions": [{"add": {"path": "/abs"}}]}]}).to_string()), &[400]),
        ("commitInfo action", M::POST, "/v1/commits".into(), Some(json!({"txnId": uuid::Uuid::new_v4().to_string(),
            "changes": [{"namespace": ns, "table": "t", "baseVersion": 0,
            "actions": [{"commitInfo": {"timestamp": 1, "txnId": "x", "operation": "W", "engine": "e"}}]}]}).to_string()), &[400]),
        ("remove of a missing file", M::POST, "/v1/commits".into(), Some(json!({"txnId": uuid::Uuid::new_v4().to_string(),
            "changes": [{"namespace": ns, "table": "t", "baseVersion": 0,
            "actions": [remove_json("missing.parquet")]}]}).to_string()), &[422]),
        ("multi-table commit", M::POST, "/v1/commits".into(), Some(json!({"txnId": uuid::Uuid::new_v4().to_string(),
            "changes": [
                {"namespace": ns, "table": "t", "baseVersion": 0, "actions": [add_json("a.parquet", 1)]},
                {"namespace": ns, "table": "t", "baseVersion": 0, "actions": [add_json("b.parquet", 1)]}]}).to_string()), &[400]),
        ("commit to a missing table", M::POST, "/v1/commits".into(), Some(json!({"txnId": uuid::Uuid::new_v4().to_string(),
            "changes": [{"namespace": ns, "table": "nope", "baseVersion": 0,
            "actions": [add_json("a.parquet", 1)]}]}).to_string()), &[404]),
        ("bad query", M::GET, format!("/v1/namespaces/{ns}/tables/t/history?limit=many"), None, &[400]),
    ];
    let mut failures = Vec::new();
    for (name, method, path, body, want) in cases {
        let (status, v) = send(&cat, method, &path, body.as_deref()).await;
        if !want.contains(&status) {
            failures.push(format!("{name}: got {status}, want {want:?}: {v}"));
            continue;
        }
        assert_envelope(&v);
        assert!(v["error"].get("errorId").is_none(), "{name}: {v}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The Authorization scheme is case-insensitive; a malformed header gets the envelope.
    let auth = |value: &[u8]| {
        let value = reqwest::header::HeaderValue::from_bytes(value).unwrap();
        reqwest::Client::new()
            .get(format!("{}/v1/namespaces", cat.url()))
            .header(reqwest::header::AUTHORIZATION, value)
            .send()
    };
    let token = cat.admin_token.clone();
    for scheme in ["Bearer", "bearer", "BEARER", "BeArEr"] {
        let resp = auth(format!("{scheme} {token}").as_bytes()).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{scheme}");
    }
    for bad in [
        b"Basic dXNlcjpwYXNz".to_vec(),
        b"Bearer".to_vec(),
        b"Bearer ".to_vec(),
        format!("Bearer{token}").into_bytes(),
        b"Bearer \xff\xfe".to_vec(),
    ] {
        let resp = auth(&bad).await.unwrap();
        let status = resp.status().as_u16();
        let v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        assert_eq!(status, 401, "{:?}: {v}", String::from_utf8_lossy(&bad));
        assert_envelope(&v);
    }

    // /metrics counts what the routes never saw: 413s and unmatched paths.
    let metrics = cat.admin.metrics().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("status=\"413\"") && l.starts_with("strata_http_requests_total")),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("route=\"unmatched\"") && l.contains("status=\"404\"")),
        "{metrics}"
    );

    // Nothing changed: one namespace of ours, one table at version 0.
    let names: Vec<String> = cat
        .admin
        .list_namespaces()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, vec![ns.clone()]);
    let t = TableRef::parse(&format!("{ns}.t")).unwrap();
    assert_eq!(cat.admin.load_table(&t).await.unwrap().current_version, 0);
    assert_eq!(cat.admin.list_tables(&ns).await.unwrap().len(), 1);
    cat.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_conflicting_commit_is_a_typed_409_and_changes_nothing() {
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let ns = unique("ns");
    cat.admin
        .create_namespace(&ns, BTreeMap::new())
        .await
        .unwrap();
    cat.admin
        .create_table(&ns, &create_request("t"))
        .await
        .unwrap();
    let commit = |base: u64, actions: Vec<Value>, read_all: bool| {
        json!({"txnId": uuid::Uuid::new_v4().to_string(), "changes": [{"namespace": ns,
            "table": "t", "baseVersion": base, "actions": actions,
            "isolationLevel": "Serializable", "read": {"wholeTable": read_all}}]})
        .to_string()
    };
    let (s, _) = send(
        &cat,
        reqwest::Method::POST,
        "/v1/commits",
        Some(&commit(
            0,
            vec![add_in(cat.warehouse.path(), &ns, "t", "a.parquet", 1)],
            false,
        )),
    )
    .await;
    assert_eq!(s, 200);
    // Under Serializable, a full overwrite planned on version 0 conflicts with the append at
    // version 1.
    let (s, v) = send(
        &cat,
        reqwest::Method::POST,
        "/v1/commits",
        Some(&commit(
            0,
            vec![add_in(cat.warehouse.path(), &ns, "t", "b.parquet", 1)],
            true,
        )),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"]["conflict"]["kind"], "concurrentAppend");
    assert_eq!(v["error"]["conflict"]["winningVersion"], 1);
    let t = TableRef::parse(&format!("{ns}.t")).unwrap();
    assert_eq!(cat.admin.load_table(&t).await.unwrap().current_version, 1);
    cat.stop().await;
}

/// A 5xx names an error id and leaks nothing about the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_errors_do_not_leak() {
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let (ns, info) = cat.namespace_with_table("ns").await;
    // Corrupt the log behind the catalog's back.
    let log = std::path::Path::new(&info.location).join("_strata_log");
    std::fs::write(
        log.join(strata_format::log::commit_file_name(1)),
        b"not json\n",
    )
    .unwrap();
    let fresh = crate::harness::start_server(
        cat.store.clone(),
        cat.warehouse.path().to_str().unwrap(),
        &Default::default(),
    )
    .await;
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/namespaces/{ns}/tables/t", fresh.url()))
        .bearer_auth(&cat.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let v: Value = resp.json().await.unwrap();
    assert_envelope(&v);
    let id = v["error"]["errorId"].as_str().unwrap();
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(id));
    assert!(
        !msg.contains("_strata_log") && !msg.contains(&info.location),
        "{msg}"
    );
    fresh.shutdown().await.unwrap();
    cat.stop().await;
}

/// Malformed or missing headers get the JSON envelope like any other refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_headers_get_the_envelope() {
    use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let url = format!("{}/v1/namespaces", cat.url());
    let http = reqwest::Client::new();
    let bearer = format!("Bearer {}", cat.admin_token);
    let body = json!({"name": unique("h")}).to_string();
    type Case = (&'static str, Option<HeaderValue>, Option<HeaderValue>, u16);
    let cases: Vec<Case> = vec![
        (
            "non-UTF-8 authorization",
            Some(HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap()),
            Some(HeaderValue::from_static("application/json")),
            401,
        ),
        (
            "scheme without token",
            Some(HeaderValue::from_static("Bearer")),
            Some(HeaderValue::from_static("application/json")),
            401,
        ),
        (
            "two tokens",
            Some(HeaderValue::from_static("Bearer a b")),
            Some(HeaderValue::from_static("application/json")),
            401,
        ),
        (
            "text body",
            Some(HeaderValue::from_str(&bearer).unwrap()),
            Some(HeaderValue::from_static("text/plain")),
            415,
        ),
        (
            "no content type",
            Some(HeaderValue::from_str(&bearer).unwrap()),
            None,
            415,
        ),
        (
            "content type with a bad charset",
            Some(HeaderValue::from_str(&bearer).unwrap()),
            Some(HeaderValue::from_static("application/xml; charset=nope")),
            415,
        ),
    ];
    for (name, auth, ctype, want) in cases {
        let mut req = http.post(&url).body(body.clone());
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        if let Some(c) = ctype {
            req = req.header(CONTENT_TYPE, c);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), want, "{name}");
        let text = resp.text().await.unwrap();
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"));
        assert_envelope(&v);
    }
    assert!(cat.admin.list_namespaces().await.unwrap().is_empty());
    cat.stop().await;
}

/// A dropped table is gone at once for every catalog process on the store, whatever they
/// had cached: loads, history, commits and tier reports answer 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_table_is_404_at_once_everywhere() {
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let (ns, _) = cat.namespace_with_table("dropped").await;
    let t = strata_catalog::TableRef::parse(&format!("{ns}.t")).unwrap();
    let db = cat.db_dir.path().join("catalog.db");
    let store = strata_catalog::open_store(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let second = crate::harness::start_server(
        store,
        cat.warehouse.path().to_str().unwrap(),
        &Default::default(),
    )
    .await;
    let other = strata_catalog::Client::new(&second.url(), Some(cat.admin_token.clone())).unwrap();
    // Both processes have the table's handle cached.
    for c in [&cat.admin, &other] {
        c.load_table(&t).await.unwrap();
        c.history(&t, 1).await.unwrap();
    }
    cat.admin.drop_table(&t, true).await.unwrap();
    let status = |e: strata_catalog::Error| match e {
        strata_catalog::Error::Api { status, .. } => status,
        other => panic!("{other}"),
    };
    for c in [&cat.admin, &other] {
        assert_eq!(status(c.load_table(&t).await.unwrap_err()), 404);
        assert_eq!(status(c.history(&t, 1).await.unwrap_err()), 404);
        assert_eq!(status(c.tier_report(&t).await.unwrap_err()), 404);
        assert_eq!(status(c.tags(&t).await.unwrap_err()), 404);
    }
    second.shutdown().await.unwrap();
    cat.stop().await;
}
