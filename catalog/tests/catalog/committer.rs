//! Engine transactions routed through the catalog (`CatalogCommitter`): the catalog writes the
//! commits, conflicts come back typed, roles are enforced. On SQLite and PostgreSQL.

use std::sync::Arc;

use strata_catalog::auth::Role;
use strata_catalog::{CatalogCommitter, ENGINE, TableRef};
use strata_format::TierDef;
use strata_format::conflict::ConflictKind;
use strata_format::testing::add;
use strata_table::{Table, TableLocation, TableOptions};

use crate::harness::{Backend, TestCatalog, put_object, token};

async fn open(cat: &TestCatalog, t: &TableRef, token: &str) -> Table {
    let client = cat.client(Some(token));
    let info = client.load_table(t).await.unwrap();
    let options = TableOptions::default()
        .with_commit_handler(Arc::new(CatalogCommitter::new(client, t.clone())));
    Table::open_with(TableLocation::parse(&info.location).unwrap(), options)
        .await
        .unwrap()
}

async fn suite(backend: Backend) {
    let cat = TestCatalog::start(&backend).await;
    let (ns, info) = cat.namespace_with_table("cm").await;
    let t = TableRef::parse(&format!("{ns}.t")).unwrap();
    let writer = token(cat.store.as_ref(), Role::Writer, Some(&ns)).await;
    let table = open(&cat, &t, &writer).await;
    let root = cat.warehouse.path().join(&ns).join("t");
    put_object(&root, "a.parquet", 2);
    put_object(&root, "b.parquet", 1);

    // A transaction lands through the catalog: its commit info is the catalog's.
    let r = table
        .transaction()
        .await
        .unwrap()
        .action(add("a.parquet", 2))
        .commit()
        .await
        .unwrap();
    assert_eq!(r.version, 1);
    assert!(r.snapshot.files().contains_key("a.parquet"));
    let history = cat.admin.history(&t, 1).await.unwrap();
    assert_eq!(
        (history[0].version, history[0].txn_id.as_str()),
        (1, r.txn_id.as_str())
    );
    let by_path = Table::open(&info.location).await.unwrap();
    let entry = &by_path.history(Some(1)).await.unwrap()[0];
    assert_eq!(entry.info.engine, ENGINE);

    // Library operations built on transactions go through it too (a metadata commit).
    let c = table
        .set_tiers(
            vec![
                TierDef {
                    name: "hot".into(),
                    location: None,
                    storage_class: None,
                },
                TierDef {
                    name: "cold".into(),
                    location: None,
                    storage_class: None,
                },
            ],
            None,
        )
        .await
        .unwrap();
    assert_eq!(c.version, 2);
    assert_eq!(
        by_path.history(Some(1)).await.unwrap()[0].info.engine,
        ENGINE
    );

    // Two removes of the same file planned on the same version: the second is a typed conflict.
    let first = table
        .transaction()
        .await
        .unwrap()
        .remove_file("a.parquet")
        .unwrap();
    let second = table
        .transaction()
        .await
        .unwrap()
        .remove_file("a.parquet")
        .unwrap();
    assert_eq!(first.commit().await.unwrap().version, 3);
    let err = second.commit().await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(
        matches!(
            &err,
            strata_table::Error::Conflict { conflict, .. }
                if conflict.winning_version == 3
                    && matches!(conflict.kind, ConflictKind::ConcurrentDelete { .. })
        ),
        "{err:?}"
    );
    assert_eq!(cat.admin.load_table(&t).await.unwrap().current_version, 3);

    // A reader's transaction is refused by the catalog and writes nothing.
    let reader = token(cat.store.as_ref(), Role::Reader, Some(&ns)).await;
    let read_only = open(&cat, &t, &reader).await;
    let err = read_only
        .transaction()
        .await
        .unwrap()
        .action(add("b.parquet", 1))
        .commit()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    assert_eq!(by_path.latest().await.unwrap().version(), 3);
    cat.stop().await;
}

/// A tier move committed through the catalog while another client deletes one of its files:
/// both commits land, the delete wins, the move leaves that file out and removes its copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_move_through_the_catalog_loses_a_concurrently_deleted_file() {
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let (ns, info) = cat.namespace_with_table("mv").await;
    let t = TableRef::parse(&format!("{ns}.t")).unwrap();
    let writer = token(cat.store.as_ref(), Role::Writer, Some(&ns)).await;
    let table = open(&cat, &t, &writer).await;
    let root = std::path::PathBuf::from(&info.location);
    let mut txn = table.transaction().await.unwrap();
    for name in ["a.parquet", "b.parquet"] {
        std::fs::write(root.join(name), [b'x'; 10]).unwrap();
        txn = txn.action(add(name, 1));
    }
    txn.commit().await.unwrap();
    let cold_uri = cat.archive_uri(&format!("{ns}/mv-cold"));
    let cold = std::path::PathBuf::from(cold_uri.trim_start_matches("file://"));
    let tiers = vec![
        TierDef {
            name: "hot".into(),
            location: None,
            storage_class: None,
        },
        TierDef {
            name: "cold".into(),
            location: Some(cold_uri.clone()),
            storage_class: None,
        },
    ];
    table.set_tiers(tiers, None).await.unwrap();

    let other = open(&cat, &t, &writer).await;
    let hook: Arc<dyn Fn() -> futures::future::BoxFuture<'static, ()> + Send + Sync> =
        Arc::new(move || {
            let other = other.clone();
            Box::pin(async move {
                let txn = other.transaction().await.unwrap();
                txn.remove_file("b.parquet")
                    .unwrap()
                    .commit()
                    .await
                    .unwrap();
            })
        });
    let options = strata_table::MoveOptions {
        before_commit: Some(hook),
        ..strata_table::MoveOptions::immediate()
    };
    let paths = vec!["a.parquet".to_string(), "b.parquet".to_string()];
    let report = table.move_files(&paths, "cold", &options).await.unwrap();
    assert_eq!(report.version, Some(4), "{report:?}");
    assert_eq!(report.dropped, vec!["b.parquet".to_string()]);
    assert_eq!(report.moved.len(), 1);
    let snap = Table::open(&info.location)
        .await
        .unwrap()
        .latest()
        .await
        .unwrap();
    assert_eq!(snap.files().len(), 1);
    assert_eq!(snap.files()["a.parquet"].tier, "cold");
    assert_eq!(files_under(&cold), 1, "the dropped file's copy is removed");
    let history = cat.admin.history(&t, 2).await.unwrap();
    assert_eq!(history[0].operation, "TIER MOVE");
    assert_eq!(history[1].files_removed, 1);
    cat.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_commits_through_the_catalog_sqlite() {
    suite(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_commits_through_the_catalog_postgres() {
    if let Some(b) = Backend::postgres("engine_commits_through_the_catalog_postgres") {
        suite(b).await;
    }
}

fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { files_under(&p) } else { 1 }
        })
        .sum()
}

/// An expiry through the catalog lands (its checkpoint exists); a commit that moves the oldest
/// retained version to a version without a checkpoint, back down, or past a tag is refused,
/// and the table keeps every version it had (SPEC §11.5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_through_the_catalog_is_checked() {
    use strata_format::Action;
    use strata_format::retention::PROP_OLDEST_VERSION;
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let (ns, _) = cat.namespace_with_table("ex").await;
    let t = TableRef::parse(&format!("{ns}.t")).unwrap();
    let writer = token(cat.store.as_ref(), Role::Writer, Some(&ns)).await;
    let table = open(&cat, &t, &writer).await;
    let root = cat.warehouse.path().join(&ns).join("t");
    for k in 0..4 {
        let name = format!("f{k}.parquet");
        put_object(&root, &name, 1);
        table
            .transaction()
            .await
            .unwrap()
            .action(add(&name, 1))
            .commit()
            .await
            .unwrap();
    }
    let with_oldest = |snapshot: &strata_table::Snapshot, v: &str| {
        let mut m = snapshot.metadata().clone();
        m.properties.insert(PROP_OLDEST_VERSION.into(), v.into());
        Action::Metadata(Box::new(m))
    };
    // Version 3 has no checkpoint: refused, nothing changes.
    let txn = table.transaction().await.unwrap();
    let action = with_oldest(txn.base(), "3");
    let err = txn
        .operation("EXPIRE")
        .action(action)
        .commit()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("has no checkpoint"), "{err}");
    // The engine's expiry writes the checkpoint first, then commits through the catalog.
    let r = table
        .expire(strata_table::ExpireOptions::older_than_ms(0).keep_last(2))
        .await
        .unwrap();
    assert_eq!(r.oldest_after, 3, "{r:?}");
    assert!(r.commit.is_some());
    let history = cat.admin.history(&t, 1).await.unwrap();
    assert_eq!(history[0].operation, "EXPIRE");
    // Going back down is refused by the spec's rules.
    let txn = table.transaction().await.unwrap();
    let action = with_oldest(txn.base(), "1");
    let err = txn
        .operation("EXPIRE")
        .action(action)
        .commit()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot go down"), "{err}");
    assert_eq!(table.snapshot_at_version(3).await.unwrap().files().len(), 3);
    cat.stop().await;
}
