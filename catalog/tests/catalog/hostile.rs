//! A hostile writer, scoped to its own namespace, sends commits built to break the table or
//! reach outside it. Each is refused with a 4xx naming the field; afterwards the log is
//! unchanged, nothing outside the table was created or changed, and the table still opens and
//! scans by its path. Run on SQLite and, when configured, PostgreSQL.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use strata_catalog::auth::Role;
use strata_catalog::model::{CommitRequest, ReadScope, TableChange};
use strata_catalog::{Client, Error, TableRef};
use strata_format::Action;
use strata_format::schema::{DataType, PrimitiveType};
use strata_table::Table;

use crate::harness::{
    Backend, TestCatalog, Universe, add_json, create_request, put_object, remove_json,
    serve_universe, token, unique,
};

fn change(ns: &str, base: u64, actions: Vec<Value>) -> TableChange {
    TableChange {
        namespace: ns.into(),
        table: "t".into(),
        base_version: base,
        actions,
        operation: Some("WRITE".into()),
        read: ReadScope::default(),
        ..Default::default()
    }
}

fn request(c: TableChange) -> CommitRequest {
    CommitRequest {
        txn_id: uuid::Uuid::new_v4().to_string(),
        changes: vec![c],
    }
}

fn json_of(a: &Action) -> Value {
    serde_json::from_str(&a.to_json_line().unwrap()).unwrap()
}

fn refusal(e: &Error) -> (u16, String) {
    match e {
        Error::Api {
            status, message, ..
        } => (*status, message.clone()),
        other => panic!("not an API error: {other}"),
    }
}

async fn suite(backend: Backend, u: Universe) {
    let wh = format!("{}/wh", u.uri);
    let archive = format!("{}/archive", u.uri);
    let (srv, admin, store) = serve_universe(&backend, &wh, &archive).await;
    let ns = unique("hostile");
    let victim_ns = unique("victim");
    for n in [&ns, &victim_ns] {
        admin.create_namespace(n, BTreeMap::new()).await.unwrap();
    }
    let info = admin.create_table(&ns, &create_request("t")).await.unwrap();
    let victim = admin
        .create_table(&victim_ns, &create_request("t"))
        .await
        .unwrap();
    let writer = token(store.as_ref(), Role::Writer, Some(&ns)).await;
    let c: Client = admin.with_token(Some(writer));
    let t = TableRef::parse(&format!("{ns}.t")).unwrap();
    // Objects of 10 bytes (one row of `add_json`): in the hostile table, outside the
    // warehouse and in the victim's table, as targets.
    let ten = [b'x'; 10];
    for key in [
        format!("wh/{ns}/t/real.parquet"),
        format!("wh/{ns}/t/real2.parquet"),
        "outside/secret.parquet".to_string(),
        format!("wh/{victim_ns}/t/theirs.parquet"),
    ] {
        u.put(&key, &ten).await;
    }

    let by_path = Table::open(&info.location).await.unwrap();
    let metadata = by_path.latest().await.unwrap().metadata().clone();
    let with_schema = |f: &dyn Fn(&mut Vec<strata_format::StructField>)| {
        let mut m = metadata.clone();
        let mut fields = m.schema.fields().to_vec();
        f(&mut fields);
        m.schema = strata_format::Schema::new(m.schema.schema_id() + 1, fields).unwrap();
        json_of(&Action::Metadata(Box::new(m)))
    };
    let swapped = with_schema(&|f| {
        let (a, b) = (f[0].id, f[1].id);
        f[0].id = b;
        f[1].id = a;
    });
    let retyped = with_schema(&|f| {
        for x in f.iter_mut() {
            if x.data_type == DataType::Primitive(PrimitiveType::Int64) {
                x.data_type = PrimitiveType::String.into();
            }
        }
    });
    // Maintenance settings that would have the catalog's vacuum delete files in-flight
    // writers still need, and one this version does not know.
    let with_property = |k: &str, v: &str| {
        let mut m = metadata.clone();
        m.properties.insert(k.to_string(), v.to_string());
        json_of(&Action::Metadata(Box::new(m)))
    };
    let short_vacuum = with_property("strata.maintenance.vacuumRetention", "1h");
    let unknown_setting = with_property("strata.maintenance.sometimes", "1");
    let add_at = |path: &str, location: &str| {
        let mut v = add_json(path, 1);
        v["add"]["location"] = json!(location);
        v
    };
    let outside_uri = format!("{}/outside/secret.parquet", u.uri);
    let victim_uri = format!("{}/theirs.parquet", victim.location);
    let dotted = format!("{}/%2e%2E/../{victim_ns}/t/theirs.parquet", info.location);
    let mut huge = [add_json("real.parquet", 1), add_json("real2.parquet", 1)];
    for h in &mut huge {
        h["add"]["recordCount"] = json!(u64::MAX / 2 + 1);
    }
    let mut wrong_size = add_json("real.parquet", 1);
    wrong_size["add"]["size"] = json!(999);
    let mut op_empty = change(&ns, 0, vec![add_json("real.parquet", 1)]);
    op_empty.operation = Some(" ".into());
    // Labelled a RESTORE, with a wrong size: refused for its location before the object is
    // looked at (a HEAD would tell its size in the error).
    let mut probe = add_at("secret.parquet", &outside_uri);
    probe["add"]["size"] = json!(1);
    let mut restore_probe = change(&ns, 0, vec![probe]);
    restore_probe.operation = Some("RESTORE".into());
    restore_probe.operation_parameters = [("version".to_string(), json!(0))].into();

    type Case = (&'static str, TableChange, u16, &'static str);
    let cases: Vec<Case> = vec![
        ("empty operation", op_empty, 422, "commitInfo.operation"),
        (
            "bad tag name",
            change(
                &ns,
                0,
                vec![json!({"tag": {"name": "bad name!", "version": 0}})],
            ),
            400,
            "tag.name",
        ),
        (
            "swapped field ids",
            change(&ns, 0, vec![swapped]),
            422,
            "metadata.schema",
        ),
        (
            "int64 to string",
            change(&ns, 0, vec![retyped]),
            422,
            "not a widening",
        ),
        (
            "unknown writer feature",
            change(
                &ns,
                0,
                vec![
                    json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 1,
                    "writerFeatures": ["timeMachine"]}}),
                ],
            ),
            422,
            "timeMachine",
        ),
        (
            "vacuum retention under a day",
            change(&ns, 0, vec![short_vacuum]),
            422,
            "under 24 hours",
        ),
        (
            "unknown maintenance setting",
            change(&ns, 0, vec![unknown_setting]),
            422,
            "not a maintenance property",
        ),
        ("restore-labelled probe", restore_probe, 422, "location"),
        (
            "add outside the warehouse",
            change(&ns, 0, vec![add_at("secret.parquet", &outside_uri)]),
            422,
            "location",
        ),
        (
            "add of another namespace's file",
            change(&ns, 0, vec![add_at("theirs.parquet", &victim_uri)]),
            422,
            "location",
        ),
        (
            "add through encoded dot segments",
            change(&ns, 0, vec![add_at("theirs.parquet", &dotted)]),
            422,
            "location",
        ),
        (
            "add under the log",
            change(
                &ns,
                0,
                vec![add_json("_strata_log/00000000000000000001.json", 1)],
            ),
            422,
            "path",
        ),
        (
            "add under the move journal",
            change(&ns, 0, vec![add_json("_strata_tier/moves/x.json", 1)]),
            422,
            "path",
        ),
        (
            "add with a dot segment",
            change(&ns, 0, vec![add_json("data/../../x.parquet", 1)]),
            400,
            "add.path",
        ),
        (
            "add of a missing object",
            change(&ns, 0, vec![add_json("ghost.parquet", 1)]),
            422,
            "does not exist",
        ),
        (
            "add with a wrong size",
            change(&ns, 0, vec![wrong_size]),
            422,
            "size",
        ),
        (
            "totals that overflow",
            change(&ns, 0, huge.to_vec()),
            422,
            "overflows",
        ),
    ];
    let before = u.snapshot().await;
    let mut failures = Vec::new();
    for (name, ch, want, needle) in cases {
        match c.commit(&request(ch)).await {
            Ok(r) => failures.push(format!("{name}: accepted at {:?}", r.results)),
            Err(e) => {
                let (status, message) = refusal(&e);
                if status != want || !message.contains(needle) {
                    failures.push(format!(
                        "{name}: got {status} `{message}`, want {want} naming `{needle}`"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(u.snapshot().await, before, "objects changed");
    assert_eq!(c.load_table(&t).await.unwrap().current_version, 0);

    // A txn id replayed with a different change is a 409 naming the txn; the same change
    // gets the first answer.
    u.put(&format!("wh/{ns}/t/a.parquet"), &ten).await;
    u.put(&format!("wh/{ns}/t/b.parquet"), &ten).await;
    let first = request(change(&ns, 0, vec![add_json("a.parquet", 1)]));
    assert_eq!(c.commit(&first).await.unwrap().results[0].version, 1);
    assert_eq!(c.commit(&first).await.unwrap().results[0].version, 1);
    let mut other = first.clone();
    other.changes[0].actions = vec![add_json("b.parquet", 1)];
    let (status, message) = refusal(&c.commit(&other).await.unwrap_err());
    assert_eq!(status, 409, "{message}");
    assert!(message.contains(&first.txn_id), "{message}");

    // The table still opens and plans a scan by its path, at the version the catalog reports.
    let reopened = Table::open(&info.location).await.unwrap();
    let latest = reopened.latest().await.unwrap();
    assert_eq!(latest.version(), 1);
    let plan = reopened.scan().plan().await.unwrap();
    assert_eq!(plan.files().len(), 1);
    srv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_commits_are_refused_sqlite_local() {
    suite(Backend::sqlite(), Universe::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_commits_are_refused_postgres_local() {
    if let Some(b) = Backend::postgres("hostile_commits_are_refused_postgres_local") {
        suite(b, Universe::local()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_commits_are_refused_sqlite_s3() {
    if let Some(u) = Universe::s3() {
        suite(Backend::sqlite(), u).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_commits_are_refused_postgres_s3() {
    if let (Some(b), Some(u)) = (
        Backend::postgres("hostile_commits_are_refused_postgres_s3"),
        Universe::s3(),
    ) {
        suite(b, u).await;
    }
}

/// Operation metrics, user metadata and the in-commit timestamp of an engine commit survive
/// the catalog, exactly as on a path-addressed table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_info_survives_the_catalog() {
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let (ns, info) = cat.namespace_with_table("meta").await;
    let t = TableRef::parse(&format!("{ns}.t")).unwrap();
    put_object(Path::new(&info.location), "a.parquet", 1);
    let mut ch = change(&ns, 0, vec![add_json("a.parquet", 1)]);
    ch.user_metadata = Some("backfill of 2025-01".into());
    ch.operation_metrics = [("numAddedRows".to_string(), 1)].into();
    ch.operation_parameters = [("mode".to_string(), json!("append"))].into();
    // A writer clock one minute ahead of the catalog's (within the tolerated skew).
    let ts = chrono::Utc::now().timestamp_millis() + 60_000;
    ch.timestamp = Some(ts);
    let v = cat
        .admin
        .commit(&request(ch.clone()))
        .await
        .unwrap()
        .results[0]
        .version;
    let h = &cat.admin.history(&t, 1).await.unwrap()[0];
    assert_eq!(h.version, v);
    assert_eq!(h.user_metadata.as_deref(), Some("backfill of 2025-01"));
    assert_eq!(h.operation_metrics["numAddedRows"], 1);
    assert_eq!(h.operation_parameters["mode"], json!("append"));
    // The writer's clock is kept, and path-addressed readers see the same commit info.
    assert_eq!(h.timestamp, ts);
    let by_path = Table::open(&info.location).await.unwrap();
    let entry = &by_path.history(Some(1)).await.unwrap()[0];
    assert_eq!(entry.info.timestamp, ts);
    assert_eq!(entry.info.user_metadata, h.user_metadata);
    assert_eq!(entry.info.operation_metrics, h.operation_metrics);
    // A clock far ahead of the catalog's is refused.
    ch.timestamp = Some(chrono::Utc::now().timestamp_millis() + 3_600_000);
    ch.base_version = v;
    let (status, message) = refusal(&cat.admin.commit(&request(ch)).await.unwrap_err());
    assert_eq!(status, 422, "{message}");
    cat.stop().await;
}

/// A read predicate sent with a commit is re-evaluated by the catalog: a concurrent append
/// that cannot match it commutes; one that may match conflicts; a whole-table read conflicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_predicates_survive_the_catalog() {
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let (ns, info) = cat.namespace_with_table("pred").await;
    let root = Path::new(&info.location);
    for name in ["a.parquet", "b.parquet"] {
        put_object(root, name, 1);
    }
    let c = &cat.admin;
    c.commit(&request(change(&ns, 0, vec![add_json("a.parquet", 1)])))
        .await
        .unwrap();
    // Version 2: a file whose ids are 1..=5.
    let mut b = add_json("b.parquet", 1);
    b["add"]["stats"] = json!({"1": {"min": 1, "max": 5, "nullCount": 0}});
    c.commit(&request(change(&ns, 1, vec![b]))).await.unwrap();
    let remove_a =
        json!({"remove": {"path": "a.parquet", "deletionTimestamp": 1, "dataChange": true}});
    let planned_on_1 = |read: ReadScope| {
        let mut ch = change(&ns, 1, vec![remove_a.clone()]);
        ch.read = read;
        ch.operation = Some("DELETE".into());
        ch.isolation_level = Some("Serializable".into());
        request(ch)
    };
    let conflict = |e: Error| match e {
        Error::Api {
            status: 409,
            conflict: Some(c),
            ..
        } => c.kind,
        other => panic!("not a conflict: {other}"),
    };
    // May match (ids 3..=5 are in b): conflict.
    let may_match = ReadScope {
        predicate: Some("id >= 3".into()),
        ..Default::default()
    };
    let e = c.commit(&planned_on_1(may_match)).await.unwrap_err();
    assert_eq!(conflict(e), "concurrentAppend");
    // The whole table: conflict.
    let whole = ReadScope {
        whole_table: true,
        ..Default::default()
    };
    let e = c.commit(&planned_on_1(whole)).await.unwrap_err();
    assert_eq!(conflict(e), "concurrentAppend");
    // Cannot match: commutes, lands after b.
    let disjoint = ReadScope {
        predicate: Some("id >= 100".into()),
        ..Default::default()
    };
    let r = c.commit(&planned_on_1(disjoint)).await.unwrap();
    assert_eq!(r.results[0].version, 3);
    // A predicate that does not parse is a 400 naming it.
    let bad = ReadScope {
        predicate: Some("id >>> 1".into()),
        ..Default::default()
    };
    let e = c.commit(&planned_on_1(bad)).await.unwrap_err();
    assert!(matches!(e, Error::Api { status: 400, .. }), "{e}");
    cat.stop().await;
}

/// A deletion vector sent with a commit is checked by the catalog (SPEC §7): its object must lie
/// under `_strata_dv/` of the table, exist, hold the addressed range and decode to exactly its
/// cardinality of positions below the file's row count; a replacement may change nothing but
/// the vector. Two replacements of one file from the same base: the second is a typed conflict
/// the writer re-plans (`deletionVectorChanged`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_vectors_are_checked_by_the_catalog() {
    use strata_format::dv::{DeletionVector, DvObjectBuilder};
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let (ns, info) = cat.namespace_with_table("dv").await;
    let root = Path::new(&info.location);
    put_object(root, "a.parquet", 4);
    let c = &cat.admin;
    c.commit(&request(change(&ns, 0, vec![add_json("a.parquet", 4)])))
        .await
        .unwrap();
    let mut object = DvObjectBuilder::new("_strata_dv/v.bin");
    let one = object.push(&DeletionVector::from_positions([1]));
    let past_end = object.push(&DeletionVector::from_positions([9]));
    let (path, bytes) = object.finish();
    std::fs::create_dir_all(root.join("_strata_dv")).unwrap();
    std::fs::write(root.join(&path), &bytes).unwrap();
    let replace = |d: Value, rows: u64| {
        let mut add = add_json("a.parquet", rows);
        add["add"]["deletionVector"] = d;
        vec![remove_json("a.parquet"), add]
    };
    let descriptor =
        |d: &strata_format::actions::DeletionVectorDescriptor| serde_json::to_value(d).unwrap();
    let refused = |e: Error| refusal(&e);
    // Outside `_strata_dv/`: a field error.
    let mut outside = descriptor(&one);
    outside["path"] = json!("data/v.bin");
    let (status, message) = refused(
        c.commit(&request(change(&ns, 1, replace(outside, 4))))
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("_strata_dv"), "{message}");
    // A missing object, a range past its end, a position past the file's rows.
    let mut missing = descriptor(&one);
    missing["path"] = json!("_strata_dv/none.bin");
    let mut long = descriptor(&one);
    long["sizeInBytes"] = json!(bytes.len());
    for (d, want) in [
        (missing, "does not exist"),
        (long, "addresses bytes"),
        (descriptor(&past_end), "past the file's 4 rows"),
    ] {
        let (status, message) = refused(
            c.commit(&request(change(&ns, 1, replace(d, 4))))
                .await
                .unwrap_err(),
        );
        assert_eq!(status, 422, "{message}");
        assert!(message.contains(want), "{want}: {message}");
    }
    // A replacement that changes the file itself: refused by replay.
    let (status, message) = refused(
        c.commit(&request(change(&ns, 1, replace(descriptor(&one), 5))))
            .await
            .unwrap_err(),
    );
    assert!(status == 422 || status == 400, "{status}: {message}");
    // A good one lands; the same replacement planned on version 1 again is a typed conflict.
    c.commit(&request(change(&ns, 1, replace(descriptor(&one), 4))))
        .await
        .unwrap();
    let e = c
        .commit(&request(change(&ns, 1, replace(descriptor(&one), 4))))
        .await
        .unwrap_err();
    match e {
        Error::Api {
            status: 409,
            conflict: Some(k),
            ..
        } => assert_eq!(k.kind, "deletionVectorChanged"),
        other => panic!("not a conflict: {other}"),
    }
    cat.stop().await;
}
