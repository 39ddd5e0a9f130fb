//! The conformance suite: every case over memory, local disk and S3 (S3 only when
//! `STRATA_TEST_S3_ENDPOINT` is set; otherwise each S3 test prints a notice and passes).

// This whole crate is test code: helpers outside `#[test]` functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use strata_conformance::backends::{BackendKind, CaseResult, TestBackend};
use strata_conformance::cases::{
    checkpoints, concurrency, corruption, data, defaults, evolution, faults, keys, log,
    maintenance, merge, model, tiering, vacuum, vectors, views,
};

mod fault_sequences;
mod golden;
mod pruning;

/// The seeds of a randomized fault test: `STRATA_FAULT_FIRST_SEED` (default `first`) and
/// `STRATA_FAULT_SEQUENCES` (default `n`) sequences from it.
fn sequence_range(first: u64, n: u64) -> (u64, u64) {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (
        var("STRATA_FAULT_FIRST_SEED", first),
        var("STRATA_FAULT_SEQUENCES", n),
    )
}

async fn run<F, Fut>(kind: BackendKind, case: F)
where
    F: FnOnce(TestBackend) -> Fut,
    Fut: std::future::Future<Output = CaseResult>,
{
    let Some(backend) = TestBackend::new(kind) else {
        return;
    };
    let result = case(backend).await.map_err(|e| format!("{kind:?}: {e}"));
    assert_eq!(result, Ok(()));
}

macro_rules! suite {
    ($($module:ident :: $case:ident),+ $(,)?) => {
        mod memory {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                run(BackendKind::Memory, |b| async move { $module::$case(&b).await }).await;
            })+
        }
        mod local {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                run(BackendKind::Local, |b| async move { $module::$case(&b).await }).await;
            })+
        }
        mod s3 {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                run(BackendKind::S3, |b| async move { $module::$case(&b).await }).await;
            })+
        }
    };
}

suite!(
    log::create_then_open,
    log::create_twice_is_refused,
    log::open_missing_table_fails,
    log::appends_and_history,
    log::time_travel,
    log::restore_to_older_version,
    log::checkpoint_then_reopen,
    log::default_interval_follows_the_tables_size,
    checkpoints::typed_checkpoints_read_by_an_independent_reader,
    checkpoints::untyped_tables_stay_readable_and_upgrade,
    log::relocation_reaches_old_versions,
    log::uri_errors_are_clear,
    concurrency::threads_append_concurrently,
    concurrency::same_file_removed_twice_conflicts,
    concurrency::overwrite_sees_concurrent_changes,
    concurrency::duplicate_batches_are_refused,
    corruption::truncated_commit_is_reported,
    corruption::garbage_commit_is_reported,
    corruption::missing_version_is_reported,
    corruption::unknown_required_feature_is_refused,
    corruption::corrupt_checkpoint_is_reported,
    corruption::invalid_operations_write_nothing,
    faults::ambiguous_put_is_not_duplicated,
    faults::failed_data_file_upload_is_an_error_not_a_panic,
    data::all_types_round_trip,
    data::scans_time_travel,
    data::pruned_scan_matches_brute_force,
    data::row_groups_of_one_file_scan_in_order,
    data::footer_cache_serves_repeated_scans,
    data::delete_where_is_copy_on_write,
    data::concurrent_overwrites_cannot_both_win,
    vectors::delete_by_vectors_marks_rows_and_keeps_files,
    vectors::concurrent_deletes_of_one_file_both_land,
    vectors::rewrite_racing_a_vector_delete_conflicts,
    vectors::vectors_off_and_corrupt_vectors,
    vectors::independent_reader_applies_vectors,
    merge::merge_upserts_by_vector_and_by_rewrite,
    merge::merge_clauses_nulls_and_errors,
    merge::row_changes_are_exactly_once,
    merge::concurrent_merge_and_delete_both_land,
    model::random_row_changes_match_a_model,
    maintenance::optimize_packs_small_files_and_keeps_every_version,
    maintenance::optimize_keeps_tiers_and_respects_storage_classes,
    maintenance::optimize_commutes_with_appends,
    maintenance::expire_keeps_retained_versions_and_refuses_older_ones,
    maintenance::policies_pack_small_files_before_moving,
    vacuum::vacuum_deletes_only_what_no_retained_version_needs,
    vacuum::vacuum_covers_every_tier_and_spares_moves_in_grace,
    data::pyarrow_reads_data_files_with_field_ids,
    evolution::schema_evolution_matrix,
    evolution::partition_evolution_keeps_old_files,
    evolution::incompatible_changes_are_refused_and_change_nothing,
    evolution::restore_across_schema_changes_keeps_the_lineage,
    tiering::policies_move_the_right_files_and_time_travel_survives,
    tiering::crash_at_every_step_then_rerun_finishes,
    tiering::append_during_move_both_land,
    tiering::delete_during_move_wins,
    tiering::archived_files_fail_clearly_unless_pruned,
    tiering::archived_files_restore_then_read_at_every_version,
    tiering::moves_to_another_bucket_keep_rows_and_class,
    tiering::new_data_lands_in_the_default_tier,
    keys::partition_values_that_need_escaping_keep_one_key,
    keys::files_under_keys_of_earlier_versions_still_read,
    defaults::write_defaults_apply_to_every_input,
    views::string_views_read_the_same_rows,
);

/// 1,000 randomized fault sequences on memory (the CI run; the long run takes a count from
/// `STRATA_FAULT_SEQUENCES`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_randomized_fault_sequences() {
    let (first, n) = sequence_range(0, 1000);
    run(BackendKind::Memory, |b| async move {
        faults::randomized_fault_sequences(&b, first, n).await
    })
    .await;
}

/// Fewer sequences on local disk and S3 (same code path, slower stores).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_randomized_fault_sequences() {
    run(BackendKind::Local, |b| async move {
        let (first, n) = sequence_range(10_000, 100);
        faults::randomized_fault_sequences(&b, first, n).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_randomized_fault_sequences() {
    run(BackendKind::S3, |b| async move {
        let (first, n) = sequence_range(20_000, 10);
        faults::randomized_fault_sequences(&b, first, n).await
    })
    .await;
}

/// A 10,000-commit table opens from one checkpoint plus at most `interval` commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_open_10k_commit_table_reads_checkpoint_and_tail() {
    run(BackendKind::Memory, |b| async move {
        faults::open_reads_one_checkpoint_and_tail(&b, 10_037).await
    })
    .await;
}

/// 8 OS processes x 50 appends on one local table: all 400 land exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_processes_append_concurrently() {
    run(BackendKind::Local, |b| async move {
        const WRITERS: u64 = 8;
        const COMMITS: u64 = 50;
        strata_conformance::cases::create(&b, "t", &[], Default::default()).await?;
        let uri = b.table_uri("t");
        let exe = env!("CARGO_BIN_EXE_strata-conformance-writer");
        let children: Vec<_> = (0..WRITERS)
            .map(|id| {
                std::process::Command::new(exe)
                    .args([uri.as_str(), &id.to_string(), &COMMITS.to_string()])
                    .spawn()
            })
            .collect::<Result<_, _>>()?;
        for mut c in children {
            let status = c.wait()?;
            if !status.success() {
                return Err(format!("a writer process failed: {status}").into());
            }
        }
        concurrency::verify_appends(&uri, WRITERS, COMMITS).await
    })
    .await;
}

/// Writer processes killed with SIGKILL at random moments (mid-commit, mid-checkpoint), round
/// after round: every commit a writer acknowledged is in the table, versions stay contiguous,
/// no transaction appears twice, and the table still opens and takes new commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_writers_killed_with_sigkill_lose_no_acknowledged_commit() {
    run(BackendKind::Local, |b| async move {
        use rand::{Rng, SeedableRng};
        use std::io::BufRead;
        const ROUNDS: u64 = 6;
        const WRITERS: u64 = 3;
        strata_conformance::cases::create(
            &b,
            "t",
            &[("strata.checkpointInterval", "7")],
            Default::default(),
        )
        .await?;
        let uri = b.table_uri("t");
        let exe = env!("CARGO_BIN_EXE_strata-conformance-writer");
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut acked: Vec<(u64, u64, u64)> = Vec::new();
        for round in 0..ROUNDS {
            let mut children = Vec::new();
            for w in 0..WRITERS {
                let id = round * WRITERS + w;
                children.push(
                    std::process::Command::new(exe)
                        .args([uri.as_str(), &id.to_string(), "100000"])
                        .env("STRATA_WRITER_ACKS", "1")
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::null())
                        .spawn()?,
                );
            }
            let wait = rng.random_range(200..800);
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            for mut c in children {
                c.kill()?; // SIGKILL on Unix: no destructor, no flush, no cleanup.
                c.wait()?;
                let out = c.stdout.take().ok_or("no stdout")?;
                for line in std::io::BufReader::new(out).lines() {
                    let line = line?;
                    let parts: Vec<u64> = line
                        .split_whitespace()
                        .skip(1)
                        .filter_map(|x| x.parse().ok())
                        .collect();
                    if let [id, i, v] = parts[..] {
                        acked.push((id, i, v));
                    }
                }
            }
        }
        if acked.is_empty() {
            return Err("no commit was acknowledged before the kills".into());
        }
        let t = strata_table::Table::open(&uri).await?;
        let s = t.latest().await?;
        let history = t.history(None).await?;
        if history.len() as u64 != s.version() + 1 {
            return Err(format!("{} entries for version {}", history.len(), s.version()).into());
        }
        let mut txns = std::collections::BTreeSet::new();
        for h in &history {
            if !txns.insert(h.info.txn_id.clone()) {
                return Err(format!("transaction {} appears twice", h.info.txn_id).into());
            }
        }
        for (id, i, v) in &acked {
            let path = format!("data/w{id}-{i}.parquet");
            if !s.files().contains_key(&path) || *v > s.version() {
                return Err(format!("acknowledged commit {path} (version {v}) is lost").into());
            }
        }
        // Every file in the table came from a commit, and the table still takes commits.
        concurrency::writer(&uri, 999, 5).await?;
        let after = strata_table::Table::open(&uri).await?.latest().await?;
        if after.version() != s.version() + 5 {
            return Err("the table did not take new commits after the kills".into());
        }
        eprintln!(
            "{} acknowledged commits survived {ROUNDS} rounds of SIGKILL; table at version {}",
            acked.len(),
            after.version()
        );
        Ok(())
    })
    .await;
}
