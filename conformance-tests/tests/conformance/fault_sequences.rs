//! Randomized fault sequences over whole data operations (appends, overwrites, deletes,
//! schema changes, restores, checkpoints, tier moves), seeded and replayable:
//!
//! - `STRATA_FAULT_SEQUENCES=N` runs N sequences instead of the default,
//! - `STRATA_FAULT_FIRST_SEED=S` starts at seed S (a failure prints the command replaying it).

use strata_conformance::backends::BackendKind;
use strata_conformance::cases::{data_faults, faults};

use super::{run, sequence_range};

/// 1,000 data sequences on memory in CI; the long run sets `STRATA_FAULT_SEQUENCES`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_randomized_data_fault_sequences() {
    let (first, n) = sequence_range(0, 1000);
    run(BackendKind::Memory, |b| async move {
        data_faults::randomized_data_fault_sequences(&b, first, n).await
    })
    .await;
}

/// The same code path on local disk (slower: fewer sequences).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_randomized_data_fault_sequences() {
    let (first, n) = sequence_range(10_000, 200);
    run(BackendKind::Local, |b| async move {
        data_faults::randomized_data_fault_sequences(&b, first, n).await
    })
    .await;
}

/// And on S3 (moto).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_randomized_data_fault_sequences() {
    let (first, n) = sequence_range(20_000, 10);
    run(BackendKind::S3, |b| async move {
        data_faults::randomized_data_fault_sequences(&b, first, n).await
    })
    .await;
}

/// Regression test: a failed move whose first copy cannot be deleted keeps its journal record,
/// so a later cleanup deletes the copy (`Table::abandon`, table/src/tier/mover.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_failed_move_copy_is_cleaned_up_even_if_its_first_delete_fails() {
    run(BackendKind::Memory, |b| async move {
        faults::failed_move_copy_is_cleaned_up_even_if_its_first_delete_fails(&b).await
    })
    .await;
}
