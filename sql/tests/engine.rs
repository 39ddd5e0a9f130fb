//! SQL against the engine's harder parts, over every backend (memory, local disk, S3 when
//! `STRATA_TEST_S3_ENDPOINT` is set): archived files and their restore hint, pruning that never
//! touches the archive, metadata tables of tiers, and a write conflict between two statements.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::mpsc;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use strata_conformance::backends::{BackendKind, TestBackend};
use strata_conformance::cases::tiering::{NOW_MS, policy, tiered_table};
use strata_sql::{SqlOptions, SqlSession, find_table_error};
use strata_table::MoveOptions;

async fn session() -> SqlSession {
    SqlSession::new(SqlOptions {
        target_partitions: Some(2),
        ..SqlOptions::default()
    })
    .await
    .unwrap()
}

fn text(batches: &[RecordBatch]) -> String {
    arrow::util::pretty::pretty_format_batches(batches)
        .unwrap()
        .to_string()
}

async fn archived_files_need_a_restore_unless_pruned(kind: BackendKind) {
    let Some(b) = TestBackend::new(kind) else {
        return;
    };
    let t = tiered_table(&b, "GLACIER").await.unwrap();
    t.set_tier_policies(vec![policy("cold365", "cold", 365)])
        .await
        .unwrap();
    t.apply_tier_policies(NOW_MS, &MoveOptions::immediate())
        .await
        .unwrap();
    let cold: Vec<String> = t
        .latest()
        .await
        .unwrap()
        .files()
        .values()
        .filter(|f| f.tier == "cold")
        .map(|f| f.path.clone())
        .collect();
    assert_eq!(cold.len(), 1);
    let s = session().await;
    let uri = t.uri();

    // A query that needs the archived file names it, with its class and the way out.
    let err = s
        .query(&format!("SELECT count(*) FROM '{uri}'"))
        .await
        .unwrap_err();
    let engine = match &err {
        strata_sql::SqlError::DataFusion(e) => find_table_error(e),
        _ => None,
    };
    assert!(
        matches!(engine, Some(strata_table::Error::ArchivedFiles { .. })),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&cold[0])
            && message.contains("GLACIER")
            && message.contains("strata tier move"),
        "{message}"
    );

    // Pruned away (ids 0..3 are the cold day), the archive is never touched.
    let rows = s
        .query(&format!(
            "SELECT count(*) AS n, min(id) AS lo FROM '{uri}' WHERE id >= 3"
        ))
        .await
        .unwrap();
    assert!(text(&rows).contains("| 6 | 3  |"), "{}", text(&rows));
    // An older version from before the move reads the same file, now archived: refused too.
    let err = s
        .query(&format!("SELECT count(*) FROM '{uri}@3'"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&cold[0]), "{err}");

    // Metadata tables see the tiers, the class and the restore state.
    let files = s
        .query(&format!(
            "SELECT tier, storage_class, restore_state, count(*) AS n FROM '{uri}$files' \
             GROUP BY tier, storage_class, restore_state ORDER BY tier"
        ))
        .await
        .unwrap();
    let files = text(&files);
    assert!(
        files.contains("| cold | GLACIER       | archived      | 1 |"),
        "{files}"
    );
    assert!(files.contains("| hot  |"), "{files}");
    let tiers = s
        .query(&format!(
            "SELECT name, storage_class, file_count FROM '{uri}$tiers' ORDER BY name"
        ))
        .await
        .unwrap();
    let tiers = text(&tiers);
    assert!(
        tiers.contains("| cold | GLACIER       | 1          |"),
        "{tiers}"
    );
    let policies = s
        .query(&format!(
            "SELECT id, tier, condition FROM '{uri}$tier_policies'"
        ))
        .await
        .unwrap();
    let policies = text(&policies);
    assert!(
        policies.contains("cold365") && policies.contains("dataAge"),
        "{policies}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_archived_files_need_a_restore_unless_pruned() {
    archived_files_need_a_restore_unless_pruned(BackendKind::Memory).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_archived_files_need_a_restore_unless_pruned() {
    archived_files_need_a_restore_unless_pruned(BackendKind::Local).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_archived_files_need_a_restore_unless_pruned() {
    archived_files_need_a_restore_unless_pruned(BackendKind::S3).await;
}

/// Statement A (an UPDATE) reads the table; statement B deletes rows and commits while A is
/// held between its read and its commit by a gate function in its WHERE clause. When B removed
/// the file A marks (every row of it deleted), A's commit conflicts, typed, and changes nothing.
/// When B only marked a row of it in the file's deletion vector, the two commute: A re-plans
/// on B's snapshot (SPEC §8.2) and lands, updating only the rows still there.
async fn conflicting_writes_one_wins(kind: BackendKind) {
    concurrent_update_and_delete(kind, "id >= 1", false).await;
    concurrent_update_and_delete(kind, "id = 1", true).await;
}

async fn concurrent_update_and_delete(kind: BackendKind, b_deletes: &str, a_lands: bool) {
    let Some(b) = TestBackend::new(kind) else {
        return;
    };
    let uri = b.table_uri(if a_lands { "commute" } else { "c" });
    let setup = session().await;
    setup
        .sql(&format!(
            "CREATE TABLE '{uri}' AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS v(id, s)"
        ))
        .await
        .unwrap();

    let (reached_tx, reached_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let gate = Arc::new(std::sync::Mutex::new(Some((reached_tx, go_rx))));
    let a = session().await;
    a.context().register_udf(create_udf(
        "gate",
        vec![DataType::Int64],
        DataType::Boolean,
        Volatility::Volatile,
        Arc::new(move |args: &[ColumnarValue]| {
            if let Some((reached, go)) = gate.lock().unwrap().take() {
                reached.send(()).unwrap();
                go.recv().unwrap();
            }
            let ids = args[0].clone().into_array(1)?;
            let ids = ids.as_primitive::<Int64Type>();
            let out: BooleanArray = ids.iter().map(|v| v.map(|v| v <= 2)).collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    ));
    let a_uri = uri.clone();
    // A runs on a runtime of its own: its gate blocks that runtime's only thread, never a
    // worker of the runtime B runs on (a task woken on a blocked worker could wait forever).
    let a_task = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                a.sql(&format!("UPDATE '{a_uri}' SET s = 'x' WHERE gate(id)"))
                    .await
            })
    });
    tokio::task::spawn_blocking(move || reached_rx.recv().unwrap())
        .await
        .unwrap();
    let b_session = session().await;
    let deleted = b_session
        .query(&format!("DELETE FROM '{uri}' WHERE {b_deletes}"))
        .await
        .unwrap();
    let deleted_rows = if a_lands { 1 } else { 3 };
    assert!(
        text(&deleted).contains(&format!("| {deleted_rows}     |")),
        "{}",
        text(&deleted)
    );
    go_tx.send(()).unwrap();
    let outcome = tokio::task::spawn_blocking(move || a_task.join().unwrap())
        .await
        .unwrap();
    if a_lands {
        let updated = outcome.unwrap();
        let n: Vec<RecordBatch> =
            futures::future::try_join_all(updated.into_iter().map(|df| df.collect()))
                .await
                .unwrap()
                .concat();
        assert!(
            text(&n).contains("| 1     |"),
            "only id 2 is left to update: {}",
            text(&n)
        );
        let rows = setup
            .query(&format!("SELECT id, s FROM '{uri}' ORDER BY id"))
            .await
            .unwrap();
        let rows = text(&rows);
        assert!(
            !rows.contains("| 1  |") && rows.contains("| 2  | x |") && rows.contains("| 3  | c |"),
            "{rows}"
        );
        return;
    }
    let err = outcome.unwrap_err();
    let engine = match &err {
        strata_sql::SqlError::DataFusion(e) => find_table_error(e),
        _ => None,
    };
    assert!(
        matches!(engine, Some(strata_table::Error::Conflict { .. })),
        "{err:?}"
    );
    // B's delete stands (every row is gone), A changed nothing.
    let rows = setup
        .query(&format!("SELECT count(*) AS n FROM '{uri}'"))
        .await
        .unwrap();
    let rows = text(&rows);
    assert!(rows.contains("| 0 |"), "{rows}");
    let history = setup
        .query(&format!(
            "SELECT operation FROM '{uri}$history' ORDER BY version"
        ))
        .await
        .unwrap();
    let history: Vec<String> = history
        .iter()
        .flat_map(|b| {
            let c = b.column(0).as_string::<i32>().clone();
            (0..c.len())
                .map(move |i| c.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(history, ["CREATE TABLE", "APPEND", "DELETE"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_conflicting_writes_one_wins() {
    conflicting_writes_one_wins(BackendKind::Memory).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_conflicting_writes_one_wins() {
    conflicting_writes_one_wins(BackendKind::Local).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_conflicting_writes_one_wins() {
    conflicting_writes_one_wins(BackendKind::S3).await;
}

/// What `EXPLAIN` shows of pushdown: partitions pruned, exact filters not re-applied, limits
/// pushed, files spread over partitions, and `count(*)` answered from the log's row counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_pushdown_pruning_and_statistics() {
    let b = TestBackend::new(BackendKind::Memory).unwrap();
    let uri = b.table_uri("p");
    let s = session().await;
    s.sql(&format!(
        "CREATE TABLE '{uri}' PARTITION BY (day) AS SELECT * FROM (VALUES \
         (1, 0.5, DATE '2026-01-01'), (2, 1.5, DATE '2026-01-02'), (3, 2.5, DATE '2026-01-03')) \
         AS v(id, score, day)"
    ))
    .await
    .unwrap();
    let plan = |sql: String| {
        let s = &s;
        async move { text(&s.query(&format!("EXPLAIN {sql}")).await.unwrap()) }
    };

    let p = plan(format!(
        "SELECT id FROM '{uri}' WHERE day = DATE '2026-01-02'"
    ))
    .await;
    assert!(
        p.contains("files=1/3 (pruned: 2 by partition, 0 by stats)"),
        "{p}"
    );
    assert!(
        !p.contains("FilterExec"),
        "an exact filter is not applied again:\n{p}"
    );

    let p = plan(format!("SELECT id FROM '{uri}' WHERE id >= 3")).await;
    assert!(
        p.contains("files=1/3 (pruned: 0 by partition, 2 by stats)"),
        "{p}"
    );

    // Floats stay with DataFusion (its NaN order differs): filtered above the scan.
    let p = plan(format!("SELECT id FROM '{uri}' WHERE score > 1.0")).await;
    assert!(p.contains("FilterExec") && p.contains("files=3/3"), "{p}");

    let p = plan(format!("SELECT * FROM '{uri}' LIMIT 1")).await;
    assert!(p.contains("limit=1"), "{p}");
    assert!(
        p.contains("partitions=2"),
        "three files over two partitions:\n{p}"
    );

    // Exact row counts from the log: no scan at all.
    let p = plan(format!("SELECT count(*) FROM '{uri}'")).await;
    assert!(!p.contains("StrataScanExec"), "{p}");
    let n = text(
        &s.query(&format!("SELECT count(*) AS n FROM '{uri}'"))
            .await
            .unwrap(),
    );
    assert!(n.contains("| 3 |"), "{n}");
    // With a filter the counts are estimates: the scan runs.
    let p = plan(format!("SELECT count(*) FROM '{uri}' WHERE id > 1")).await;
    assert!(p.contains("StrataScanExec"), "{p}");
}

/// Queries of one session share parsed footers: the second query reads none, a write adds
/// files whose footers are read once, and `SET strata.footer_cache = false` reads them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_of_a_session_share_footers() {
    let b = TestBackend::new(BackendKind::Memory).unwrap();
    let uri = b.table_uri("cached");
    let s = session().await;
    s.sql(&format!(
        "CREATE TABLE '{uri}' AS SELECT value AS id FROM range(0, 1000)"
    ))
    .await
    .unwrap();
    s.sql(&format!(
        "INSERT INTO '{uri}' SELECT value FROM range(1000, 1500)"
    ))
    .await
    .unwrap();
    let cache = s.footer_cache().unwrap();
    let sum = || {
        let (s, uri) = (&s, &uri);
        async move {
            text(
                &s.query(&format!("SELECT sum(id) AS s FROM '{uri}'"))
                    .await
                    .unwrap(),
            )
        }
    };
    let before = cache.stats();
    let first = sum().await;
    assert!(first.contains("| 1124250 |"), "{first}");
    let read = cache.stats();
    assert_eq!(read.misses - before.misses, 2, "{read:?}");
    assert_eq!(read.hits, before.hits, "{read:?}");
    assert_eq!(sum().await, first);
    let second = cache.stats();
    assert_eq!((second.hits - read.hits, second.misses), (2, read.misses));

    // A write adds a file: its footer is read, the others come from the cache.
    s.sql(&format!("INSERT INTO '{uri}' VALUES (5000)"))
        .await
        .unwrap();
    assert!(sum().await.contains("| 1129250 |"));
    let third = cache.stats();
    assert_eq!(third.hits - second.hits, 2, "{third:?}");
    assert_eq!(third.misses - second.misses, 1, "{third:?}");

    s.sql("SET strata.footer_cache = false").await.unwrap();
    assert!(sum().await.contains("| 1129250 |"));
    assert_eq!(cache.stats(), third);
}

/// Scan batches follow the session: `datafusion.execution.batch_size` unless
/// `strata.batch_rows` is set (`0`: Strata sizes them by the projected columns' width).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_batches_follow_the_session_batch_size() {
    let b = TestBackend::new(BackendKind::Memory).unwrap();
    let uri = b.table_uri("wide");
    let s = session().await;
    s.sql(&format!(
        "CREATE TABLE '{uri}' AS SELECT value AS id FROM range(0, 20000)"
    ))
    .await
    .unwrap();
    let largest = |setting: &'static str| {
        let (s, uri) = (&s, &uri);
        async move {
            s.sql(setting).await.unwrap();
            let batches = s.query(&format!("SELECT id FROM '{uri}'")).await.unwrap();
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(rows, 20_000, "{setting}");
            batches.iter().map(RecordBatch::num_rows).max().unwrap()
        }
    };
    assert!(largest("SET datafusion.execution.batch_size = 8192").await <= 8192);
    assert!(largest("SET datafusion.execution.batch_size = 1000").await <= 1000);
    // Automatic: one 20,000-row row group of one narrow column is one batch.
    assert!(largest("SET strata.batch_rows = 0").await > 8192);
    assert!(largest("SET strata.batch_rows = 300").await <= 300);
    // Decoding one unit at a time gives the same rows.
    assert!(largest("SET strata.scan_concurrency = 1").await <= 300);
    let e = s
        .sql("SET strata.scan_concurrency = 'many'")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("'many' as usize"), "{e}");
}
