//! The API suite, run on SQLite and on PostgreSQL.

use std::collections::BTreeMap;

use strata_catalog::model::{CommitRequest, ReadScope, TableChange, UpdatePropertiesRequest};
use strata_catalog::{Error, TableRef};
use strata_table::Table;

use crate::harness::{Backend, TestCatalog, add_in, add_json, create_request, remove_json, unique};

fn change(ns: &str, table: &str, base: u64, actions: Vec<serde_json::Value>) -> TableChange {
    TableChange {
        namespace: ns.into(),
        table: table.into(),
        base_version: base,
        actions,
        operation: Some("WRITE".into()),
        operation_parameters: BTreeMap::new(),
        isolation_level: None,
        read: ReadScope::default(),
        ..Default::default()
    }
}

fn commit(txn: &str, c: TableChange) -> CommitRequest {
    CommitRequest {
        txn_id: txn.to_string(),
        changes: vec![c],
    }
}

fn status(e: &Error) -> u16 {
    match e {
        Error::Api { status, .. } => *status,
        other => panic!("not an API error: {other}"),
    }
}

async fn suite(backend: Backend) {
    let cat = TestCatalog::start(&backend).await;
    let c = &cat.admin;
    c.with_token(None).health().await.unwrap();

    // Namespaces.
    let ns = unique("ns");
    c.create_namespace(&ns, BTreeMap::from([("owner".into(), "data".into())]))
        .await
        .unwrap();
    assert_eq!(
        status(&c.create_namespace(&ns, BTreeMap::new()).await.unwrap_err()),
        409
    );
    assert_eq!(
        c.get_namespace(&ns).await.unwrap().properties["owner"],
        "data"
    );
    assert!(
        c.list_namespaces()
            .await
            .unwrap()
            .iter()
            .any(|n| n.name == ns)
    );
    let updated = c
        .update_namespace_properties(
            &ns,
            &UpdatePropertiesRequest {
                set: BTreeMap::from([("tier".into(), "gold".into())]),
                remove: vec!["owner".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        updated.properties,
        BTreeMap::from([("tier".into(), "gold".into())])
    );

    // Create and load.
    let info = c
        .create_table(&ns, &create_request("events"))
        .await
        .unwrap();
    assert_eq!(info.current_version, 0);
    assert!(info.location.ends_with(&format!("{ns}/events")));
    assert_eq!(
        status(
            &c.create_table(&ns, &create_request("events"))
                .await
                .unwrap_err()
        ),
        409
    );
    let t = TableRef::parse(&format!("{ns}.events")).unwrap();
    let loaded = c.load_table(&t).await.unwrap();
    assert_eq!(loaded.table_id, info.table_id);
    assert!(loaded.schema.is_object());
    assert_eq!(c.list_tables(&ns).await.unwrap().len(), 1);

    // Commit, idempotent retry, rebase over a commuting commit.
    let txn1 = uuid::Uuid::new_v4().to_string();
    let req1 = commit(
        &txn1,
        change(
            &ns,
            "events",
            0,
            vec![add_in(cat.warehouse.path(), &ns, "events", "a.parquet", 10)],
        ),
    );
    assert_eq!(c.commit(&req1).await.unwrap().results[0].version, 1);
    assert_eq!(c.commit(&req1).await.unwrap().results[0].version, 1);
    let txn2 = uuid::Uuid::new_v4().to_string();
    let req2 = commit(
        &txn2,
        change(
            &ns,
            "events",
            0,
            vec![add_in(cat.warehouse.path(), &ns, "events", "b.parquet", 5)],
        ),
    );
    assert_eq!(c.commit(&req2).await.unwrap().results[0].version, 2);

    // A conflict: two removes of the same file planned on version 2.
    let rm = |txn: &str| {
        commit(
            txn,
            change(&ns, "events", 2, vec![remove_json("a.parquet")]),
        )
    };
    let txn3 = uuid::Uuid::new_v4().to_string();
    assert_eq!(c.commit(&rm(&txn3)).await.unwrap().results[0].version, 3);
    let raw = reqwest::Client::new()
        .post(format!("{}/v1/commits", cat.url()))
        .bearer_auth(&cat.admin_token)
        .json(&rm(&uuid::Uuid::new_v4().to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 409);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["code"], "commit_conflict");
    assert_eq!(body["error"]["conflict"]["kind"], "concurrentDelete");
    assert_eq!(body["error"]["conflict"]["winningVersion"], 3);
    assert_eq!(body["error"]["conflict"]["subject"], "a.parquet");
    // The idempotent answer stays the same after other commits.
    assert_eq!(c.commit(&req1).await.unwrap().results[0].version, 1);
    // A base version from the future.
    let ahead = commit(
        &uuid::Uuid::new_v4().to_string(),
        change(&ns, "events", 99, vec![add_json("c.parquet", 1)]),
    );
    assert_eq!(status(&c.commit(&ahead).await.unwrap_err()), 400);

    // The log is the source of truth: open by path, without the catalog.
    let table = Table::open(&info.location).await.unwrap();
    let latest = table.latest().await.unwrap();
    assert_eq!(latest.version(), 3);
    assert!(latest.files().contains_key("b.parquet"));
    assert!(!latest.files().contains_key("a.parquet"));
    let history = c.history(&t, 100).await.unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(history.iter().filter(|h| h.txn_id == txn1).count(), 1);
    assert_eq!(c.history(&t, 2).await.unwrap().len(), 2);

    // Tags go through the catalog's commit path.
    c.create_tag(&t, "release-1", 1).await.unwrap();
    assert_eq!(c.tags(&t).await.unwrap()[0].version, 1);
    assert_eq!(
        status(&c.create_tag(&t, "release-1", 2).await.unwrap_err()),
        400
    );
    c.delete_tag(&t, "release-1").await.unwrap();
    assert!(c.tags(&t).await.unwrap().is_empty());
    assert_eq!(status(&c.delete_tag(&t, "nope").await.unwrap_err()), 404);

    // Register an existing table: in the namespace's folder of the warehouse.
    let ext_loc = cat.warehouse.path().join(&ns).join(unique("external"));
    let ext_loc = ext_loc.to_str().unwrap().to_string();
    Table::create(
        &ext_loc,
        strata_table::CreateTable::new(strata_format::testing::sample_schema()),
    )
    .await
    .unwrap();
    let ext = TableRef::parse(&format!("{ns}.ext")).unwrap();
    assert_eq!(
        c.register_table(&ext, &ext_loc)
            .await
            .unwrap()
            .current_version,
        0
    );
    let missing = TableRef::parse(&format!("{ns}.missing")).unwrap();
    let nowhere = cat.warehouse.path().join("nowhere");
    assert_eq!(
        status(
            &c.register_table(&missing, nowhere.to_str().unwrap())
                .await
                .unwrap_err()
        ),
        400
    );

    // Locations: relative paths are refused; purge stays inside the warehouse.
    let rel = TableRef::parse(&format!("{ns}.rel")).unwrap();
    assert_eq!(
        status(&c.register_table(&rel, "relative/path").await.unwrap_err()),
        400
    );
    let outside_dir = tempfile::tempdir().unwrap();
    let outside_loc = outside_dir.path().join("t");
    let outside_loc = outside_loc.to_str().unwrap();
    Table::create(
        outside_loc,
        strata_table::CreateTable::new(strata_format::testing::sample_schema()),
    )
    .await
    .unwrap();
    // A table outside the warehouse, or around, inside or at another table's folder, is
    // refused: it would belong to nobody or purge someone else's data.
    let outside = TableRef::parse(&format!("{ns}.outside")).unwrap();
    let ns_dir = cat.warehouse.path().join(&ns);
    let events_dir = ns_dir.join("events");
    for loc in [
        outside_loc.to_string(),
        cat.warehouse.path().display().to_string(),
        ns_dir.display().to_string(),
        events_dir.display().to_string(),
        events_dir.join("inner").display().to_string(),
        format!("file://{}/x/%2e%2e/events", ns_dir.display()),
    ] {
        assert_eq!(
            status(&c.register_table(&outside, &loc).await.unwrap_err()),
            400,
            "{loc}"
        );
    }
    assert!(Table::open(outside_loc).await.is_ok());

    // Rename.
    let renamed = TableRef::parse(&format!("{ns}.events2")).unwrap();
    c.rename_table(&t, &renamed).await.unwrap();
    assert_eq!(status(&c.load_table(&t).await.unwrap_err()), 404);
    assert_eq!(c.load_table(&renamed).await.unwrap().current_version, 5);
    assert_eq!(
        status(&c.rename_table(&renamed, &ext).await.unwrap_err()),
        409
    );

    // Drop: not while the namespace has tables; purge removes the data.
    assert_eq!(status(&c.drop_namespace(&ns).await.unwrap_err()), 409);
    c.drop_table(&ext, false).await.unwrap();
    assert!(Table::open(&ext_loc).await.is_ok());
    c.drop_table(&renamed, true).await.unwrap();
    assert!(Table::open(&info.location).await.is_err());
    assert_eq!(
        status(&c.drop_table(&renamed, false).await.unwrap_err()),
        404
    );
    c.drop_namespace(&ns).await.unwrap();
    assert_eq!(status(&c.get_namespace(&ns).await.unwrap_err()), 404);

    // Generated OpenAPI document and metrics.
    let doc = c.openapi().await.unwrap();
    assert!(doc["paths"]["/v1/commits"]["post"].is_object());
    assert!(doc["components"]["schemas"]["CommitRequest"].is_object());
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for p in [
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/v1/namespaces",
        "/v1/namespaces/{namespace}",
        "/v1/namespaces/{namespace}/properties",
        "/v1/namespaces/{namespace}/tables",
        "/v1/namespaces/{namespace}/register",
        "/v1/namespaces/{namespace}/tables/{table}",
        "/v1/namespaces/{namespace}/tables/{table}/rename",
        "/v1/namespaces/{namespace}/tables/{table}/history",
        "/v1/namespaces/{namespace}/tables/{table}/tags",
        "/v1/namespaces/{namespace}/tables/{table}/tags/{tag}",
        "/v1/commits",
        "/v1/tokens",
    ] {
        assert!(paths.contains(&p), "{p} missing from the OpenAPI document");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let metrics = c.metrics().await.unwrap();
    assert!(metrics.contains("strata_commits_total{outcome=\"committed\"}"));
    assert!(metrics.contains("strata_http_requests_total{"));
    cat.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_suite_sqlite() {
    suite(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_suite_postgres() {
    if let Some(b) = Backend::postgres("api_suite_postgres") {
        suite(b).await;
    }
}

/// A second server on the same SQLite file (a restart, or a second process) sees the
/// namespaces, tables and commit records: a retry there gets the same answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_restart_sqlite() {
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
    let txn = uuid::Uuid::new_v4().to_string();
    let req = commit(
        &txn,
        change(
            &ns,
            "t",
            0,
            vec![add_in(cat.warehouse.path(), &ns, "t", "a.parquet", 1)],
        ),
    );
    assert_eq!(cat.admin.commit(&req).await.unwrap().results[0].version, 1);
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
    assert_eq!(other.commit(&req).await.unwrap().results[0].version, 1);
    let t = TableRef::parse(&format!("{ns}.t")).unwrap();
    assert_eq!(other.load_table(&t).await.unwrap().current_version, 1);
    second.shutdown().await.unwrap();
    cat.stop().await;
}

/// A table dropped with purge and created again at the same location through another catalog
/// process is not served from the first process's cached state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reused_location_is_not_served_stale_by_another_process() {
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let (ns, first) = cat.namespace_with_table("ns").await;
    let t = TableRef::parse(&format!("{ns}.t")).unwrap();
    for i in 0..3 {
        let req = commit(
            &uuid::Uuid::new_v4().to_string(),
            change(
                &ns,
                "t",
                i,
                vec![add_in(
                    cat.warehouse.path(),
                    &ns,
                    "t",
                    &format!("{i}.parquet"),
                    1,
                )],
            ),
        );
        cat.admin.commit(&req).await.unwrap();
    }
    assert_eq!(cat.admin.load_table(&t).await.unwrap().current_version, 3);

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
    other.drop_table(&t, true).await.unwrap();
    let again = other.create_table(&ns, &create_request("t")).await.unwrap();
    assert_eq!(again.location, first.location);
    assert_ne!(again.table_id, first.table_id);

    let seen = cat.admin.load_table(&t).await.unwrap();
    assert_eq!(seen.table_id, again.table_id);
    assert_eq!(seen.current_version, 0);
    let req = commit(
        &uuid::Uuid::new_v4().to_string(),
        change(
            &ns,
            "t",
            0,
            vec![add_in(cat.warehouse.path(), &ns, "t", "new.parquet", 1)],
        ),
    );
    assert_eq!(cat.admin.commit(&req).await.unwrap().results[0].version, 1);
    second.shutdown().await.unwrap();
    cat.stop().await;
}
