//! Fault injection: randomized commit sequences over a store that fails before and after
//! writes land, fails lists and reads; every acknowledged commit must be present exactly once
//! and the table must always open.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strata_table::{
    Error, PROP_CHECKPOINT_INTERVAL, RetryPolicy, SnapshotSelector, Table, TableLocation,
    TableOptions,
};

use super::data_faults::{Row, rows_at, rows_batch, sequence_tiers};
use super::{add_file, create};
use crate::backends::{CaseResult, TestBackend};
use crate::counting::CountingStore;
use crate::faults::{FaultConfig, FaultyStore};
use crate::{check, check_eq};

pub(super) fn fast_retries() -> TableOptions {
    TableOptions::default().with_retry(RetryPolicy {
        failure_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..RetryPolicy::default()
    })
}

/// The fault configuration of sequence `seed`: [`FaultConfig::chaos`], and in one sequence of
/// four also slow calls (20% of calls delayed by up to 1 ms), which reorders concurrent writers.
pub(super) fn chaos_for(seed: u64) -> FaultConfig {
    if seed % 4 == 3 {
        FaultConfig::chaos().with_latency(0.2, Duration::from_millis(1))
    } else {
        FaultConfig::chaos()
    }
}

/// Errors a correct engine may surface under storage faults; anything else is a bug.
pub(super) fn tolerated(e: &Error) -> bool {
    matches!(
        e,
        Error::Storage { .. }
            | Error::CommitOutcomeUnknown { .. }
            | Error::Conflict { .. }
            | Error::DuplicateBatch { .. }
            | Error::RetriesExhausted { .. }
            | Error::TagNotFound { .. }
    )
}

pub(super) async fn open_retrying(loc: &TableLocation) -> Result<Table, Error> {
    let mut last = None;
    for _ in 0..50 {
        match Table::open_with(loc.clone(), fast_retries()).await {
            Ok(t) => return Ok(t),
            Err(e) if tolerated(&e) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(Error::TableNotFound {
        uri: loc.uri().to_string(),
    }))
}

/// One writer doing `steps` random operations; returns acknowledged (version, txn id) pairs.
async fn random_writer(
    loc: TableLocation,
    seed: u64,
    writer: u64,
    steps: u32,
) -> Result<Vec<(u64, String)>, String> {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(31).wrapping_add(writer));
    let t = open_retrying(&loc).await.map_err(|e| e.to_string())?;
    let mut acked = Vec::new();
    let mut batch = 0u64;
    for step in 0..steps {
        let roll: u32 = rng.random_range(0..100);
        let result: Result<Option<strata_table::CommitResult>, Error> = async {
            let txn = t.transaction().await?;
            let base = txn.base().clone();
            let fixture = |p: &str, rows| {
                add_file(p, rows).map_err(|message| Error::InvalidOperation {
                    table: String::new(),
                    message,
                })
            };
            if roll < 45 {
                let mut txn = txn.operation("APPEND");
                for k in 0..rng.random_range(1..=2) {
                    txn = txn.add_file(fixture(&format!("data/w{writer}-{step}-{k}.parquet"), 3)?);
                }
                txn.commit().await.map(Some)
            } else if roll < 60 {
                batch += 1;
                let p = format!("data/w{writer}-{step}-b{batch}.parquet");
                txn.operation("APPEND")
                    .add_file(fixture(&p, 1)?)
                    .app_transaction(format!("app-{writer}"), batch)
                    .commit()
                    .await
                    .map(Some)
            } else if roll < 75 && !base.files().is_empty() {
                let idx = rng.random_range(0..base.files().len());
                let path = base.files().keys().nth(idx).cloned().unwrap_or_default();
                txn.operation("DELETE")
                    .remove_file(&path)?
                    .commit()
                    .await
                    .map(Some)
            } else if roll < 85 {
                t.create_tag(&format!("t{writer}-{step}"), base.version())
                    .await
                    .map(Some)
            } else if roll < 89 {
                // A schema change: a metadata commit that conflicts with every concurrent one.
                t.update_schema(vec![strata_table::SchemaChange::AddColumn {
                    parent: None,
                    name: format!("c{writer}_{step}"),
                    data_type: strata_format::PrimitiveType::Int64.into(),
                    required: false,
                    default: None,
                    doc: None,
                }])
                .await
                .map(Some)
            } else if roll < 94 && base.version() > 0 {
                t.restore(rng.random_range(0..base.version()))
                    .await
                    .map(Some)
            } else {
                t.checkpoint().await.map(|_| None)
            }
        }
        .await;
        match result {
            Ok(Some(c)) => acked.push((c.version, c.txn_id)),
            Ok(None) => {}
            Err(e) if tolerated(&e) => {}
            Err(e) => return Err(format!("seed {seed} writer {writer} step {step}: {e}")),
        }
    }
    Ok(acked)
}

/// Runs `sequences` randomized sequences (seeds `first_seed..`), each on a fresh table with
/// one or two concurrent writers over a chaos store, then checks the invariants with faults off.
pub async fn randomized_fault_sequences(
    b: &TestBackend,
    first_seed: u64,
    sequences: u64,
) -> CaseResult {
    let mut injected = 0;
    for seed in first_seed..first_seed + sequences {
        let name = format!("f{seed}");
        create(b, &name, &[(PROP_CHECKPOINT_INTERVAL, "4")], fast_retries()).await?;
        let loc = b.location(&name)?;
        let faulty = Arc::new(FaultyStore::new(loc.store().clone(), seed, chaos_for(seed)));
        let floc = loc.with_store(faulty.clone());
        let mut rng = StdRng::seed_from_u64(seed);
        let writers = if rng.random_bool(0.3) { 2 } else { 1 };
        let steps = rng.random_range(3..=8);
        let runs = (0..writers).map(|w| random_writer(floc.clone(), seed, w, steps));
        let results = futures::future::join_all(runs).await;
        faulty.set_enabled(false);
        injected += faulty.injected();
        let replay = |e: String| {
            format!(
                "sequence {seed}: {e}\n  replay it: STRATA_FAULT_FIRST_SEED={seed} \
                 STRATA_FAULT_SEQUENCES=1 cargo test -p strata-conformance --test conformance \
                 {}_randomized_fault_sequences",
                backend_name(b)
            )
        };
        let mut acked = Vec::new();
        for r in results {
            acked.extend(r.map_err(replay)?);
        }
        verify_acknowledged(&loc, &acked)
            .await
            .map_err(|e| replay(e.to_string()))?;
    }
    check!(
        injected > sequences,
        "only {injected} faults injected over {sequences} sequences: the test is not testing"
    );
    Ok(())
}

/// The table opens from scratch, versions are contiguous, transaction ids unique, and every
/// acknowledged commit is at its version.
pub async fn verify_acknowledged(loc: &TableLocation, acked: &[(u64, String)]) -> CaseResult {
    let t = Table::open_with(loc.clone(), TableOptions::default()).await?;
    let latest = t.latest().await?;
    let history = t.history(None).await?;
    check_eq!(history.len() as u64, latest.version() + 1);
    let mut by_txn = BTreeMap::new();
    for h in &history {
        if by_txn.insert(h.info.txn_id.clone(), h.version).is_some() {
            return Err(format!("transaction {} committed twice", h.info.txn_id).into());
        }
    }
    for (v, txn) in acked {
        check_eq!(by_txn.get(txn), Some(v));
    }
    // Every version is readable too (checkpoints and commits agree).
    for v in [0, latest.version() / 2, latest.version()] {
        t.snapshot(&SnapshotSelector::Version(v)).await?;
    }
    Ok(())
}

/// A put that lands but reports failure is recognized by its transaction id: one commit.
pub async fn ambiguous_put_is_not_duplicated(b: &TestBackend) -> CaseResult {
    create(b, "t", &[], TableOptions::default()).await?;
    let loc = b.location("t")?;
    let faulty = Arc::new(FaultyStore::new(
        loc.store().clone(),
        7,
        FaultConfig::none().with_put_fail_after(1.0),
    ));
    let t = Table::open_with(loc.with_store(faulty.clone()), fast_retries()).await?;
    let c = t
        .transaction()
        .await?
        .operation("APPEND")
        .add_file(add_file("data/a.parquet", 1)?)
        .commit()
        .await?;
    check_eq!(c.version, 1);
    check!(faulty.injected() >= 1, "no fault was injected");
    faulty.set_enabled(false);
    verify_acknowledged(&loc, &[(c.version, c.txn_id)]).await?;
    check_eq!(
        Table::open_with(loc, TableOptions::default())
            .await?
            .latest()
            .await?
            .version(),
        1
    );
    Ok(())
}

/// Opening a table with `commits` commits reads `_last_checkpoint`, one checkpoint and at most
/// `interval` commits, with one LIST.
pub async fn open_reads_one_checkpoint_and_tail(b: &TestBackend, commits: u64) -> CaseResult {
    let t = create(b, "big", &[], TableOptions::default()).await?;
    for i in 1..=commits {
        let txn = t.transaction().await?.operation("APPEND");
        let txn = if i % 250 == 0 {
            txn.add_file(add_file(&format!("data/{i}.parquet"), 1)?)
        } else {
            txn.app_transaction("stream", i)
        };
        txn.commit().await?;
    }
    let loc = b.location("big")?;
    let counting = Arc::new(CountingStore::new(loc.store().clone()));
    let opened =
        Table::open_with(loc.with_store(counting.clone()), TableOptions::default()).await?;
    let counts = counting.counts();
    let paths = counting.get_paths();
    let s = opened.latest().await?;
    check_eq!(s.version(), commits);
    check_eq!(s.files().len() as u64, commits / 250);
    // A small table (few live files): checkpoints at the small-table interval.
    let interval = strata_table::SMALL_TABLE_CHECKPOINT_INTERVAL;
    let tail = commits % interval;
    check_eq!(counts.lists(), 1);
    // pointer + checkpoint + tail commits
    check_eq!(counts.reads(), 2 + tail);
    check!(tail <= interval, "tail {tail} exceeds the interval");
    check!(
        paths
            .iter()
            .filter(|p| p.ends_with(".checkpoint.parquet"))
            .count()
            == 1,
        "exactly one checkpoint read: {paths:?}"
    );
    Ok(())
}

/// The backend's name, for messages.
pub(super) fn backend_name(b: &TestBackend) -> &'static str {
    match b.kind() {
        crate::backends::BackendKind::Memory => "memory",
        crate::backends::BackendKind::Local => "local",
        crate::backends::BackendKind::S3 => "s3",
    }
}

/// A tiered table for the deterministic move cases: `hot` (root, default), `cold` (a prefix of
/// the root) and `warm`, and two appended files; returns the table and its two file paths.
async fn two_file_tiered_table(
    b: &TestBackend,
    name: &str,
) -> Result<(Table, Vec<String>), Box<dyn std::error::Error + Send + Sync>> {
    let t = create(b, name, &[], TableOptions::default()).await?;
    let loc = b.location(name)?;
    let warm = b.location(&format!("{name}-warm"))?;
    t.set_tiers(sequence_tiers(&loc, warm.uri()), Some("hot".into()))
        .await?;
    for k in 0..2 {
        t.append([rows_batch(&[(k, Some(format!("r{k}")))])?])
            .await?;
    }
    let paths: Vec<String> = t.latest().await?.files().keys().cloned().collect();
    check_eq!(paths.len(), 2);
    Ok((t, paths))
}

/// A data file whose upload fails (before or after it lands) makes the write fail with an
/// error, not a panic, and commits nothing. (Found by the data sequences: after a failed
/// upload the writer aborted an object_store `BufWriter` already shut down, which panics.)
pub async fn failed_data_file_upload_is_an_error_not_a_panic(b: &TestBackend) -> CaseResult {
    for (i, fault) in ["put_fail_before", "put_fail_after"]
        .into_iter()
        .enumerate()
    {
        let name = format!("t{i}");
        create(b, &name, &[], TableOptions::default()).await?;
        let loc = b.location(&name)?;
        let config = if i == 0 {
            FaultConfig::none().with_put_fail_before(1.0)
        } else {
            FaultConfig::none().with_put_fail_after(1.0)
        };
        let faulty = Arc::new(FaultyStore::new(loc.store().clone(), 1, config));
        let t = Table::open_with(loc.with_store(faulty.clone()), fast_retries()).await?;
        let write = tokio::spawn(async move { t.append([rows_batch(&[(1, None)])?]).await });
        let result = write
            .await
            .map_err(|e| format!("{fault}: the write panicked: {e}"))?;
        check!(result.is_err(), "{fault}: the write succeeded");
        check!(faulty.injected() >= 1, "{fault}: no fault injected");
        faulty.set_enabled(false);
        let t = Table::open_with(loc, TableOptions::default()).await?;
        check_eq!(t.latest().await?.version(), 0);
        check_eq!(rows_at(&t, None).await?.1, Vec::<Row>::new());
    }
    Ok(())
}

/// A move whose second copy fails abandons the first copy; when deleting that copy fails too,
/// a later cleanup must still delete it (the journal record must outlive the failed delete).
pub async fn failed_move_copy_is_cleaned_up_even_if_its_first_delete_fails(
    b: &TestBackend,
) -> CaseResult {
    let (t, paths) = two_file_tiered_table(b, "t").await?;
    let loc = b.location("t")?;
    let faulty = Arc::new(FaultyStore::new(
        loc.store().clone(),
        1,
        FaultConfig::none(),
    ));
    let ft = Table::open_with(loc.with_store(faulty.clone()), fast_retries()).await?;
    let (first, second) = (&paths[0], &paths[1]);
    faulty.fail_next("copy_fail", &loc.child(second));
    let first_copy = loc.child(&format!("cold/{first}"));
    faulty.fail_next("delete_fail", &first_copy);
    let options = strata_table::MoveOptions {
        concurrency: 1,
        ..strata_table::MoveOptions::immediate()
    };
    let moved = ft.move_files(&paths, "cold", &options).await;
    check!(moved.is_err(), "the move succeeded: {moved:?}");
    use object_store::ObjectStoreExt;
    check!(
        faulty
            .injected_faults()
            .iter()
            .any(|f| f.fault == "delete_fail"),
        "the abandoned copy was never deleted: {:?}",
        faulty.injected_faults()
    );
    // Faults over: a cleanup finishes what the failed move left.
    t.tier_cleanup(&strata_table::MoveOptions::immediate())
        .await?;
    let left = match loc.store().head(&first_copy).await {
        Ok(_) => true,
        Err(object_store::Error::NotFound { .. }) => false,
        Err(e) => return Err(e.into()),
    };
    check!(
        !left,
        "the copy {first_copy} of the failed move is left behind, and no journal record names it"
    );
    check_eq!(t.pending_moves().await?, 0);
    check_eq!(
        rows_at(&t, None).await?.1,
        vec![(0, Some("r0".to_string())), (1, Some("r1".to_string()))]
    );
    Ok(())
}
