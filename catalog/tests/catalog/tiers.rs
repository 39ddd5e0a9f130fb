//! The tier endpoints (report, set tiers, set policies, plan, apply, move, restore), run on
//! SQLite and on PostgreSQL.

use std::collections::BTreeMap;

use strata_catalog::model::{CommitRequest, ReadScope, TableChange};
use strata_catalog::tiering::{
    ApplyRequest, ConditionSpec, MoveRequest, PlanRequest, PolicySpec, RestoreRequest,
    SetPoliciesRequest, SetTiersRequest, TierSpec,
};
use strata_catalog::{Error, TableRef};
use strata_table::Table;

use crate::harness::{Backend, TestCatalog, add_json, create_request, unique};

const DAY_MS: i64 = 86_400_000;

fn status(e: &Error) -> u16 {
    match e {
        Error::Api { status, .. } => *status,
        other => panic!("not an API error: {other}"),
    }
}

fn tier(name: &str, location: Option<String>) -> TierSpec {
    TierSpec {
        name: name.into(),
        location,
        storage_class: None,
    }
}

fn policy(id: &str, to: &str, older_than_ms: i64) -> PolicySpec {
    PolicySpec {
        id: id.into(),
        tier: to.into(),
        condition: ConditionSpec::CommitAge { older_than_ms },
        pack_target_bytes: None,
    }
}

/// `GET /iceberg/v1/namespaces/{ns}/tables/t` as the admin: status and body.
async fn iceberg_load(cat: &TestCatalog, ns: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/iceberg/v1/namespaces/{ns}/tables/t", cat.url()))
        .bearer_auth(&cat.admin_token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn suite(backend: Backend) {
    let cat = TestCatalog::start(&backend).await;
    let c = &cat.admin;
    let ns = unique("tiers");
    c.create_namespace(&ns, BTreeMap::new()).await.unwrap();
    let info = c.create_table(&ns, &create_request("t")).await.unwrap();
    let t = TableRef::parse(&format!("{ns}.t")).unwrap();

    // Two data files (10 bytes each, committed at time 0 by the sample actions).
    let root = std::path::PathBuf::from(&info.location);
    for (i, name) in ["a.parquet", "b.parquet"].iter().enumerate() {
        std::fs::write(root.join(name), [b'x'; 10]).unwrap();
        let req = CommitRequest {
            txn_id: uuid::Uuid::new_v4().to_string(),
            changes: vec![TableChange {
                namespace: ns.clone(),
                table: "t".into(),
                base_version: i as u64,
                actions: vec![add_json(name, 1)],
                operation: Some("WRITE".into()),
                operation_parameters: BTreeMap::new(),
                isolation_level: None,
                read: ReadScope::default(),
                ..Default::default()
            }],
        };
        c.commit(&req).await.unwrap();
    }

    // Report: the single default tier holds both files.
    let r = c.tier_report(&t).await.unwrap();
    assert_eq!(r.version, 2);
    assert!(r.tiers.is_empty() && r.policies.is_empty());
    assert_eq!((r.usage[0].tier.as_str(), r.usage[0].files), ("hot", 2));
    assert_eq!(r.usage[0].bytes, 20);

    // Tiers: a cold tier in the allowed archive; refusals are 400s and change nothing.
    let cold_uri = cat.archive_uri(&format!("{ns}/{}", unique("cold")));
    let cold_dir = std::path::PathBuf::from(cold_uri.trim_start_matches("file://"));
    // GLACIER on a local folder: the class is recorded, so reads need a restore (SPEC §6.4).
    let glacier = TierSpec {
        storage_class: Some("GLACIER".into()),
        ..tier("cold", Some(cold_uri.clone()))
    };
    let set = SetTiersRequest {
        tiers: vec![tier("hot", None), glacier],
        default_tier: None,
    };
    let r = c.set_tiers(&t, &set).await.unwrap();
    assert_eq!(r.version, 3);
    assert_eq!(r.tiers, set.tiers);
    let relative = SetTiersRequest {
        tiers: vec![tier("hot", None), tier("cold", Some("cold".into()))],
        default_tier: None,
    };
    assert_eq!(status(&c.set_tiers(&t, &relative).await.unwrap_err()), 400);
    // A tier outside the table's folder and the allowed places is refused, in any spelling.
    let stray = tempfile::tempdir().unwrap();
    for loc in [
        format!("file://{}", stray.path().display()),
        format!("{cold_uri}/%2e%2e/%2E%2E/elsewhere"),
        format!("file://{}/other/t", cat.warehouse.path().display()),
    ] {
        let outside = SetTiersRequest {
            tiers: vec![tier("hot", None), tier("cold", Some(loc.clone()))],
            default_tier: None,
        };
        assert_eq!(
            status(&c.set_tiers(&t, &outside).await.unwrap_err()),
            400,
            "{loc}"
        );
    }
    let orphaning = SetTiersRequest {
        tiers: vec![tier("cold", Some(cold_uri.clone()))],
        default_tier: None,
    };
    let e = c.set_tiers(&t, &orphaning).await.unwrap_err();
    assert_eq!(status(&e), 400, "{e}");
    assert!(e.to_string().contains("still holds 2"), "{e}");
    assert_eq!(c.tier_report(&t).await.unwrap().version, 3);

    // Policies.
    let r = c
        .set_tier_policies(
            &t,
            &SetPoliciesRequest {
                policies: vec![policy("old", "cold", DAY_MS)],
            },
        )
        .await
        .unwrap();
    assert_eq!(r.version, 4);
    assert_eq!(r.policies, vec![policy("old", "cold", DAY_MS)]);
    let unknown_tier = SetPoliciesRequest {
        policies: vec![policy("x", "glacier", DAY_MS)],
    };
    assert_eq!(
        status(&c.set_tier_policies(&t, &unknown_tier).await.unwrap_err()),
        400
    );

    // Plan: at time 0 nothing is a day old; now both files are.
    let early = PlanRequest {
        now: Some("1970-01-01T00:00:00Z".into()),
        prices: BTreeMap::new(),
    };
    assert!(c.tier_plan(&t, &early).await.unwrap().moves.is_empty());
    let p = c.tier_plan(&t, &PlanRequest::default()).await.unwrap();
    assert_eq!(p.version, 4);
    let mut planned: Vec<(&str, &str)> = p
        .moves
        .iter()
        .map(|m| (m.path.as_str(), m.to_tier.as_str()))
        .collect();
    planned.sort();
    assert_eq!(planned, vec![("a.parquet", "cold"), ("b.parquet", "cold")]);
    let cold_after = p.after.iter().find(|u| u.tier == "cold").unwrap();
    assert_eq!((cold_after.files, cold_after.bytes), (2, 20));
    let bad_now = PlanRequest {
        now: Some("tomorrow".into()),
        prices: BTreeMap::new(),
    };
    assert_eq!(status(&c.tier_plan(&t, &bad_now).await.unwrap_err()), 400);
    assert_eq!(
        c.tier_report(&t).await.unwrap().version,
        4,
        "plans commit nothing"
    );

    // Apply: one move commit, files in the cold folder, old copies gone (no grace).
    let apply = ApplyRequest {
        now: None,
        grace_seconds: Some(0),
        concurrency: Some(2),
    };
    let a = c.tier_apply(&t, &apply).await.unwrap();
    assert_eq!(a.moves.len(), 1);
    assert_eq!(a.moves[0].tier, "cold");
    assert_eq!(a.moves[0].version, Some(5));
    assert_eq!(a.moves[0].bytes, 20);
    assert_eq!(count_files(&cold_dir), 2);
    assert!(!root.join("a.parquet").exists() && !root.join("b.parquet").exists());
    let r = c.tier_report(&t).await.unwrap();
    let cold = r.usage.iter().find(|u| u.tier == "cold").unwrap();
    assert_eq!((r.version, cold.files), (5, 2));

    // The log is the source of truth: opened by path, without the catalog.
    let snap = Table::open(&info.location)
        .await
        .unwrap()
        .latest()
        .await
        .unwrap();
    assert!(snap.files().values().all(|f| f.tier == "cold"));
    // The Iceberg REST view cannot serve a version whose files are archived: a clear 422
    // naming a file and its class, in Iceberg's error shape.
    let (status422, body) = iceberg_load(&cat, &ns).await;
    assert_eq!(status422, 422, "{body}");
    assert_eq!(body["error"]["type"], "ArchivedFileException", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("GLACIER") && message.contains(".parquet"),
        "{message}"
    );
    let history = c.history(&t, 1).await.unwrap();
    assert_eq!(history[0].version, 5);

    // A re-run has nothing left to move.
    let again = c.tier_apply(&t, &apply).await.unwrap();
    assert_eq!(again.moves.len(), 1);
    assert_eq!(again.moves[0].version, None);

    // Restore: both archived files are restored (at once on a local folder) and recorded.
    let restore = RestoreRequest {
        days: Some(2),
        ..RestoreRequest::default()
    };
    let r = c.tier_restore(&t, &restore).await.unwrap();
    assert_eq!((r.version, r.files.len(), r.readable), (Some(6), 2, 0));
    assert!(r.files.iter().all(|f| f.storage_class == "GLACIER"));
    assert!(r.files.iter().all(|f| f.expires_ms.is_some()));
    assert_eq!(history_op(c, &t).await, "TIER RESTORE");
    let again = c.tier_restore(&t, &restore).await.unwrap();
    assert_eq!((again.version, again.readable), (None, 2));
    // Restored files are readable, so the Iceberg view serves the table again.
    let (status200, body) = iceberg_load(&cat, &ns).await;
    assert_eq!(status200, 200, "{body}");
    assert_eq!(body["metadata"]["current-snapshot-id"], 7);
    for bad in [
        RestoreRequest {
            filter: Some("nope = 1".into()),
            ..RestoreRequest::default()
        },
        RestoreRequest {
            speed: Some("Warp".into()),
            ..RestoreRequest::default()
        },
        RestoreRequest {
            version: Some(99),
            ..RestoreRequest::default()
        },
    ] {
        let e = c.tier_restore(&t, &bad).await.unwrap_err();
        assert_eq!(status(&e), 400, "{bad:?}: {e}");
    }

    // Move: the restored files back to the hot tier (the table root), old copies deleted.
    let mv = MoveRequest {
        filter: "id >= 0".into(),
        to: "hot".into(),
        grace_seconds: Some(0),
        concurrency: None,
    };
    let m = c.tier_move(&t, &mv).await.unwrap();
    assert_eq!((m.version, m.moved.len(), m.bytes), (Some(7), 2, 20));
    assert!(root.join("a.parquet").exists() && root.join("b.parquet").exists());
    assert_eq!(count_files(&cold_dir), 0);
    assert_eq!(history_op(c, &t).await, "TIER MOVE");
    let again = c.tier_move(&t, &mv).await.unwrap();
    assert_eq!(again.version, None, "files already in the tier are skipped");
    let unknown = MoveRequest {
        to: "nowhere".into(),
        ..mv.clone()
    };
    assert_eq!(status(&c.tier_move(&t, &unknown).await.unwrap_err()), 400);

    // Unknown tables are 404; unknown fields 400 (or 422 from the JSON extractor).
    let missing = TableRef::parse(&format!("{ns}.nope")).unwrap();
    assert_eq!(status(&c.tier_report(&missing).await.unwrap_err()), 404);
    assert_eq!(
        status(&c.tier_apply(&missing, &apply).await.unwrap_err()),
        404
    );
    let raw = reqwest::Client::new()
        .post(format!(
            "{}/v1/namespaces/{ns}/tables/t/tiers/apply",
            cat.url()
        ))
        .bearer_auth(&cat.admin_token)
        .json(&serde_json::json!({"grace": 0}))
        .send()
        .await
        .unwrap();
    assert!(raw.status().is_client_error(), "{}", raw.status());

    // The OpenAPI document describes the tier endpoints.
    let doc = c.openapi().await.unwrap();
    let base = "/v1/namespaces/{namespace}/tables/{table}/tiers";
    for (path, method) in [
        (base.to_string(), "get"),
        (base.to_string(), "put"),
        (format!("{base}/policies"), "put"),
        (format!("{base}/plan"), "post"),
        (format!("{base}/apply"), "post"),
        (format!("{base}/restore"), "post"),
        (format!("{base}/move"), "post"),
    ] {
        assert!(
            doc["paths"][&path][method].is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["TierReport"].is_object());
    cat.stop().await;
}

async fn history_op(c: &strata_catalog::Client, t: &TableRef) -> String {
    c.history(t, 1).await.unwrap()[0].operation.clone()
}

fn count_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            n += count_files(&p);
        } else {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_endpoints_sqlite() {
    suite(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_endpoints_postgres() {
    if let Some(b) = Backend::postgres("tier_endpoints_postgres") {
        suite(b).await;
    }
}
