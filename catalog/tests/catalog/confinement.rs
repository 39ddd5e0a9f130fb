//! A hostile writer scoped to one namespace names locations built to reach outside it: table
//! roots and tier locations in every spelling (encoded and mixed-case dot segments, `./`,
//! double slashes, the warehouse root, another namespace's folder, another table's root,
//! symbolic links that point outside, memory://), and purges. Each is refused with a 4xx; no
//! object outside the allowed places is created, changed or deleted; the victim's table still
//! reads. Runs on SQLite and PostgreSQL, with a local and (when configured) an S3 warehouse.

use std::collections::BTreeMap;

use strata_catalog::auth::Role;
use strata_catalog::model::{CreateTableRequest, TableChange};
use strata_catalog::tiering::{SetTiersRequest, TierSpec};
use strata_catalog::{Error, TableRef};
use strata_table::Table;

use crate::harness::{Backend, Universe, serve_universe, token, unique};

fn status(e: &Error) -> u16 {
    match e {
        Error::Api { status, .. } => *status,
        other => panic!("not an API error: {other}"),
    }
}

fn create(name: &str, location: Option<String>) -> CreateTableRequest {
    CreateTableRequest {
        name: name.into(),
        schema: serde_json::to_value(strata_format::testing::sample_schema()).unwrap(),
        partition_spec: None,
        properties: BTreeMap::new(),
        location,
    }
}

fn tiers(location: &str) -> SetTiersRequest {
    SetTiersRequest {
        tiers: vec![
            TierSpec {
                name: "hot".into(),
                location: None,
                storage_class: None,
            },
            TierSpec {
                name: "cold".into(),
                location: Some(location.to_string()),
                storage_class: None,
            },
        ],
        default_tier: None,
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
    let victim = admin
        .create_table(&victim_ns, &create("t", None))
        .await
        .unwrap();
    let writer = admin.with_token(Some(token(store.as_ref(), Role::Writer, Some(&ns)).await));
    let own = writer.create_table(&ns, &create("t", None)).await.unwrap();
    let own_ref = TableRef::parse(&format!("{ns}.t")).unwrap();
    // Objects outside the allowed places, and one in the victim's table.
    u.put("outside/secret.bin", b"secret").await;
    u.put(&format!("wh/{victim_ns}/t/data/theirs.bin"), b"theirs")
        .await;
    u.put(&format!("wh/{ns}/afile"), b"not a folder").await;
    // The victim's archived file in the allowed place, in its namespace's folder.
    u.put(
        &format!("archive/{victim_ns}/t/data/archived.bin"),
        b"archived",
    )
    .await;
    let outside = format!("{}/outside", u.uri);
    // Symbolic links inside the warehouse that point outside (local only).
    if let Some(dir) = &u.dir {
        std::fs::create_dir_all(dir.path().join(format!("wh/{ns}"))).unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("outside"),
            dir.path().join(format!("wh/{ns}/link")),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("outside"),
            dir.path().join(format!("wh/{ns}/t/link")),
        )
        .unwrap();
    }
    let before = u.snapshot().await;

    // Table roots.
    let mut roots = vec![
        wh.clone(),
        format!("{wh}/{ns}"),
        format!("{wh}/{ns}/"),
        format!("{wh}/{victim_ns}/t2"),
        format!("{wh}/{victim_ns}/t"),
        format!("{wh}/{ns}/t"),
        format!("{wh}/{ns}/t/inner"),
        format!("{wh}/{ns}/%2e%2e/{victim_ns}/t2"),
        format!("{wh}/{ns}/%2E%2e/{victim_ns}/t2"),
        format!("{wh}/{ns}/../{victim_ns}/t2"),
        format!("{wh}/{ns}/./x"),
        format!("{wh}//{ns}/x"),
        format!("{wh}/{ns}/%2F/x"),
        format!("{outside}/t"),
        format!("{archive}/t"),
        "memory://wh/t".to_string(),
        "relative/t".to_string(),
    ];
    if u.dir.is_some() {
        // On a file system, a link inside the warehouse leads outside, and a file is not a
        // folder.
        roots.push(format!("{wh}/{ns}/link/t"));
        roots.push(format!("{wh}/{ns}/afile"));
    }
    let mut failures = Vec::new();
    for (i, root) in roots.iter().enumerate() {
        match writer
            .create_table(&ns, &create(&format!("x{i}"), Some(root.clone())))
            .await
        {
            Ok(_) => failures.push(format!("create at {root} accepted")),
            Err(e) if status(&e) != 400 && status(&e) != 409 => {
                failures.push(format!("create at {root}: {e}"));
            }
            Err(_) => {}
        }
        let r = TableRef::parse(&format!("{ns}.r{i}")).unwrap();
        match writer.register_table(&r, root).await {
            Ok(_) => failures.push(format!("register at {root} accepted")),
            Err(e) if status(&e) != 400 && status(&e) != 409 => {
                failures.push(format!("register at {root}: {e}"));
            }
            Err(_) => {}
        }
    }

    // Registering where there is no table is a 400, not a 500.
    let missing = TableRef::parse(&format!("{ns}.missing")).unwrap();
    match writer
        .register_table(&missing, &format!("{wh}/{ns}/missing"))
        .await
    {
        Err(e) if status(&e) == 400 => {}
        other => failures.push(format!("register of a missing table: {other:?}")),
    }

    // Tier locations, through the tier endpoint and through a metadata commit.
    let mut stray_tiers = vec![
        outside.clone(),
        format!("{wh}/{ns}"),
        format!("{wh}/{ns}/other"),
        format!("{wh}/{victim_ns}/t"),
        format!("{}/%2e%2e/{victim_ns}/t", own.location),
        format!("{archive}/%2E%2E/outside"),
        format!("{archive}/../outside"),
        // In the allowed place, only the namespace's own folder: not the place itself, not
        // the namespace folder as a whole, not another namespace's folder (whose files a
        // purge of this table would otherwise delete).
        archive.clone(),
        format!("{archive}/t"),
        format!("{archive}/{ns}"),
        format!("{archive}/{victim_ns}/t"),
        format!("{archive}/{ns}/%2E%2E/{victim_ns}/t"),
        "memory://x/cold".to_string(),
    ];
    if u.dir.is_some() {
        // On a file system, a link inside the table's folder leads outside.
        stray_tiers.push(format!("{}/link", own.location));
    }
    let by_path = Table::open(&own.location).await.unwrap();
    for loc in &stray_tiers {
        match writer.set_tiers(&own_ref, &tiers(loc)).await {
            Ok(_) => failures.push(format!("tier at {loc} accepted")),
            Err(e) if status(&e) != 400 => failures.push(format!("tier at {loc}: {e}")),
            Err(_) => {}
        }
        let mut m = by_path.latest().await.unwrap().metadata().clone();
        m.tiers = vec![
            strata_format::TierDef {
                name: "hot".into(),
                location: None,
                storage_class: None,
            },
            strata_format::TierDef {
                name: "cold".into(),
                location: Some(loc.clone()),
                storage_class: None,
            },
        ];
        let change = TableChange {
            namespace: ns.clone(),
            table: "t".into(),
            base_version: by_path.latest().await.unwrap().version(),
            actions: vec![
                serde_json::from_str(
                    &strata_format::Action::Metadata(Box::new(m))
                        .to_json_line()
                        .unwrap(),
                )
                .unwrap(),
            ],
            operation: Some("SET TIERS".into()),
            ..Default::default()
        };
        let req = strata_catalog::model::CommitRequest {
            txn_id: uuid::Uuid::new_v4().to_string(),
            changes: vec![change],
        };
        match writer.commit(&req).await {
            Ok(_) => failures.push(format!("metadata commit with a tier at {loc} accepted")),
            Err(e) if status(&e) != 422 => failures.push(format!("commit tier {loc}: {e}")),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        u.snapshot().await,
        before,
        "objects changed outside the allowed places"
    );

    // Allowed: a tier in the archive. Data written there and in the root; a purge deletes
    // exactly the table's root and its files in the archive.
    writer
        .set_tiers(&own_ref, &tiers(&format!("{archive}/{ns}/t")))
        .await
        .unwrap();
    u.put(&format!("archive/{ns}/neighbour.bin"), b"n").await;
    // Renamed into another namespace, the tier would stay in this one's folder: refused.
    let away = TableRef::parse(&format!("{victim_ns}.moved")).unwrap();
    let e = admin.rename_table(&own_ref, &away).await.unwrap_err();
    assert_eq!(status(&e), 422, "{e}");
    assert!(e.to_string().contains("tier `cold`"), "{e}");
    writer.load_table(&own_ref).await.unwrap();
    let keep = u.snapshot().await;
    writer.drop_table(&own_ref, true).await.unwrap();
    let after = u.snapshot().await;
    let root_key = u.key(&format!("wh/{ns}/t/")).to_string();
    for (k, v) in &keep {
        if k.starts_with(&root_key) {
            continue;
        }
        assert_eq!(after.get(k), Some(v), "purge touched {k}");
    }
    assert!(after.keys().all(|k| !k.starts_with(&root_key)), "{after:?}");
    assert_eq!(status(&writer.load_table(&own_ref).await.unwrap_err()), 404);
    // The victim is untouched and reads.
    let t = Table::open(&victim.location).await.unwrap();
    assert_eq!(t.latest().await.unwrap().version(), 0);
    t.scan().plan().await.unwrap();
    srv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_are_confined_sqlite_local() {
    suite(Backend::sqlite(), Universe::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_are_confined_postgres_local() {
    if let Some(b) = Backend::postgres("locations_are_confined_postgres_local") {
        suite(b, Universe::local()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_are_confined_sqlite_s3() {
    if let Some(u) = Universe::s3() {
        suite(Backend::sqlite(), u).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_are_confined_postgres_s3() {
    if let (Some(b), Some(u)) = (
        Backend::postgres("locations_are_confined_postgres_s3"),
        Universe::s3(),
    ) {
        suite(b, u).await;
    }
}
