//! Concurrent commits through the catalog: every acknowledged commit is in the log exactly
//! once and versions are contiguous — with one catalog, and with two catalog processes on
//! one PostgreSQL database.

use std::collections::{BTreeMap, BTreeSet};

use strata_catalog::model::ReadScope;
use strata_catalog::{Client, TableRef};
use strata_table::Table;

use crate::harness::{Backend, TestCatalog, put_object, start_server};

const CLIENTS: usize = 16;
const COMMITS_PER_CLIENT: usize = 4;

/// Runs `CLIENTS` writers over `clients` (round robin); returns (txn id, version) acknowledged.
async fn hammer(
    clients: Vec<Client>,
    table: TableRef,
    root: &std::path::Path,
) -> Vec<(String, u64)> {
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let c = clients[i % clients.len()].clone();
        let table = table.clone();
        let root = root.to_path_buf();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for j in 0..COMMITS_PER_CLIENT {
                // Plan on whatever version this client saw last (often stale).
                let base = c.load_table(&table).await.unwrap().current_version;
                let txn = uuid::Uuid::new_v4().to_string();
                let name = format!("c{i}-{j}.parquet");
                put_object(&root, &name, 1);
                let action = strata_format::testing::add(&name, 1);
                let v = c
                    .commit_actions(
                        &table,
                        base,
                        &txn,
                        "WRITE",
                        std::slice::from_ref(&action),
                        ReadScope::default(),
                    )
                    .await
                    .unwrap();
                // A retry of the same transaction gets the same answer.
                let again = c
                    .commit_actions(&table, base, &txn, "WRITE", &[action], ReadScope::default())
                    .await
                    .unwrap();
                assert_eq!(v, again, "retry of {txn}");
                acked.push((txn, v));
            }
            acked
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

async fn check_log(location: &str, acked: &[(String, u64)]) {
    let expected = (CLIENTS * COMMITS_PER_CLIENT) as u64;
    assert_eq!(acked.len() as u64, expected);
    let versions: BTreeSet<u64> = acked.iter().map(|(_, v)| *v).collect();
    assert_eq!(
        versions.len() as u64,
        expected,
        "two commits acknowledged at one version"
    );
    let table = Table::open(location).await.unwrap();
    let latest = table.latest().await.unwrap();
    assert_eq!(
        latest.version(),
        expected,
        "versions 1..={expected} contiguous after version 0"
    );
    assert_eq!(latest.files().len() as u64, expected);
    let history = table.history(None).await.unwrap();
    let mut by_txn: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for h in &history {
        by_txn
            .entry(h.info.txn_id.as_str())
            .or_default()
            .push(h.version);
    }
    for (txn, v) in acked {
        assert_eq!(
            by_txn.get(txn.as_str()),
            Some(&vec![*v]),
            "txn {txn} exactly once, at {v}"
        );
    }
    let listed: Vec<u64> = history.iter().map(|h| h.version).rev().collect();
    assert_eq!(listed, (0..=expected).collect::<Vec<_>>());
}

async fn one_catalog(backend: Backend) {
    let cat = TestCatalog::start(&backend).await;
    let (ns, info) = cat.namespace_with_table("ns").await;
    let table = TableRef::parse(&format!("{ns}.t")).unwrap();
    let acked = hammer(
        vec![cat.admin.clone()],
        table,
        std::path::Path::new(&info.location),
    )
    .await;
    check_log(&info.location, &acked).await;
    cat.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_clients_sqlite() {
    one_catalog(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_clients_postgres() {
    if let Some(b) = Backend::postgres("sixteen_concurrent_clients_postgres") {
        one_catalog(b).await;
    }
}

/// Two catalog processes (two servers, two connection pools, no shared memory but the
/// database and the warehouse) on one PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_catalogs_on_one_postgres() {
    let Some(backend) = Backend::postgres("two_catalogs_on_one_postgres") else {
        return;
    };
    let Backend::Postgres(url) = &backend else {
        return;
    };
    let cat = TestCatalog::start(&backend).await;
    let second_store = strata_catalog::open_store(url).await.unwrap();
    let second = start_server(
        second_store,
        cat.warehouse.path().to_str().unwrap(),
        &Default::default(),
    )
    .await;
    let (ns, info) = cat.namespace_with_table("ns").await;
    let table = TableRef::parse(&format!("{ns}.t")).unwrap();
    let other = Client::new(&second.url(), Some(cat.admin_token.clone())).unwrap();
    let acked = hammer(
        vec![cat.admin.clone(), other],
        table,
        std::path::Path::new(&info.location),
    )
    .await;
    check_log(&info.location, &acked).await;
    second.shutdown().await.unwrap();
    cat.stop().await;
}

/// A writer that bypasses the catalog (committing to the log directly) does not break it:
/// the catalog commits on top, the log stays contiguous.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_bypassing_the_catalog_are_tolerated() {
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let (ns, info) = cat.namespace_with_table("ns").await;
    let direct = Table::open(&info.location).await.unwrap();
    direct
        .transaction()
        .await
        .unwrap()
        .add_file(match strata_format::testing::add("direct.parquet", 1) {
            strata_format::Action::Add(a) => *a,
            _ => unreachable!(),
        })
        .commit()
        .await
        .unwrap();
    let table = TableRef::parse(&format!("{ns}.t")).unwrap();
    put_object(
        std::path::Path::new(&info.location),
        "via-catalog.parquet",
        1,
    );
    let v = cat
        .admin
        .commit_actions(
            &table,
            0,
            &uuid::Uuid::new_v4().to_string(),
            "WRITE",
            &[strata_format::testing::add("via-catalog.parquet", 1)],
            ReadScope::default(),
        )
        .await
        .unwrap();
    assert_eq!(v, 2);
    let latest = Table::open(&info.location)
        .await
        .unwrap()
        .latest()
        .await
        .unwrap();
    assert_eq!(latest.version(), 2);
    assert_eq!(latest.files().len(), 2);
    cat.stop().await;
}
