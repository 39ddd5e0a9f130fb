//! W9 and W10. W9: deleting 0.1% of W3's rows, spread over every file, with deletion vectors and by
//! rewriting files (copy-on-write), and what deletes cost a full scan afterwards. delta-rs runs
//! the same deletes in `bench/python/others.py`.
//!
//! W3's table is written once per process (not timed) and copied, so both modes start from the
//! same files. Each of `STRATA_BENCH_W9_DELETES` (default 3) rounds deletes another 0.1% slice
//! (`value >= k AND value < k + 1`; values are uniform over 0..1000), vectors and copy-on-write
//! alternating. Bytes written are the growth of the table's folder (data files, vector objects
//! and the log). Then 1% of the rows (`value < 10`, all slices so far included) is deleted by
//! vector and the full scan of W4 (`value`, every row) is timed at that version and at the
//! version before any delete, alternating.
//!
//! W10: a MERGE (upsert on `id`) of 100,000 source rows into W3's table: 50,000 updates (every
//! (rows/50,000)th row, `value` + 1000) and 50,000 inserts (the first 50,000 rows with `id` +
//! rows). Each of `STRATA_BENCH_W10_MERGES` (default 3) rounds merges into a fresh copy of the
//! table (copy not timed), with vectors and with copy-on-write alternating.

use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Arc;
use strata_format::expr::Expr;

use arrow::array::{Array, Float64Array, Int64Array, RecordBatch};
use arrow::compute::{concat_batches, filter_record_batch};
use strata_table::{DeleteMode, Merge, SnapshotSelector, Table};

use crate::{BoxError, create, emit, env_u64, median};

pub(crate) fn folder_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            folder_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

pub(crate) fn copy_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.metadata()?.is_dir() {
            copy_folder(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

async fn full_scan(t: &Table, version: u64) -> Result<(f64, usize), BoxError> {
    let start = Instant::now();
    let batches = t
        .scan()
        .snapshot(SnapshotSelector::Version(version))
        .columns(["value"])
        .plan()
        .await?
        .collect()
        .await?;
    let rows = batches.iter().map(|b| b.num_rows()).sum();
    Ok((start.elapsed().as_secs_f64() * 1000.0, rows))
}

pub(crate) async fn w9() -> Result<(), BoxError> {
    let rows = env_u64("STRATA_BENCH_ROWS", 10_000_000) as usize;
    let reps = env_u64("STRATA_BENCH_W9_DELETES", 3).clamp(1, 9) as usize;
    let scratch;
    let dir: PathBuf = match std::env::var_os("STRATA_BENCH_WORK") {
        Some(w) => PathBuf::from(w).join("w9-strata"),
        None => {
            scratch = tempfile::tempdir()?;
            scratch.path().to_path_buf()
        }
    };
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let (batches, _) = crate::dataset(rows)?;
    let base = dir.join("base");
    let t = create(&base, false).await?;
    t.append(batches).await?;
    drop(t);
    let (vec_dir, cow_dir) = (dir.join("vectors"), dir.join("cow"));
    copy_folder(&base, &vec_dir)?;
    copy_folder(&base, &cow_dir)?;
    let path = |p: &Path| p.to_str().map(str::to_string).ok_or("path");
    let vectors = Table::open(&path(&vec_dir)?).await?;
    let cow = Table::open(&path(&cow_dir)?).await?;
    let files = vectors.latest().await?.files().len();

    let (mut vec_ms, mut cow_ms, mut vec_bytes, mut cow_bytes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut deleted = (0u64, 0u64);
    for k in 0..reps {
        let predicate = Expr::parse(&format!("value >= {k}.0 AND value < {}.0", k + 1))?;
        for (t, mode, folder, ms, bytes, n) in [
            (
                &vectors,
                DeleteMode::Auto,
                &vec_dir,
                &mut vec_ms,
                &mut vec_bytes,
                &mut deleted.0,
            ),
            (
                &cow,
                DeleteMode::CopyOnWrite,
                &cow_dir,
                &mut cow_ms,
                &mut cow_bytes,
                &mut deleted.1,
            ),
        ] {
            let before = folder_bytes(folder)?;
            let start = Instant::now();
            let c = t.delete_with(predicate.clone(), mode).await?;
            ms.push(start.elapsed().as_secs_f64() * 1000.0);
            bytes.push((folder_bytes(folder)? - before) as f64 / 1e6);
            *n += c
                .snapshot
                .commit_info()
                .operation_metrics
                .get("numDeletedRows")
                .copied()
                .unwrap_or(0) as u64;
        }
    }
    if deleted.0 != deleted.1 {
        return Err(format!(
            "vectors deleted {} rows, copy-on-write {}",
            deleted.0, deleted.1
        )
        .into());
    }
    emit("w9", "strata", "files", files as f64, "files");
    emit(
        "w9",
        "strata",
        "rows_deleted_per_delete",
        deleted.0 as f64 / reps as f64,
        "rows",
    );
    emit("w9", "strata", "delete_ms", median(&mut vec_ms), "ms");
    emit(
        "w9",
        "strata",
        "delete_mb_written",
        median(&mut vec_bytes),
        "MB",
    );
    emit("w9", "strata-cow", "delete_ms", median(&mut cow_ms), "ms");
    emit(
        "w9",
        "strata-cow",
        "delete_mb_written",
        median(&mut cow_bytes),
        "MB",
    );

    // The full scan with 1% of the rows deleted against the same files without deletes.
    let c = vectors.delete(Expr::parse("value < 10.0")?).await?;
    let (with, without) = (c.version, 1);
    let (mut with_ms, mut without_ms) = (Vec::new(), Vec::new());
    let mut counts = (0, 0);
    for _ in 0..reps.max(3) {
        let (ms, n) = full_scan(&vectors, without).await?;
        without_ms.push(ms);
        counts.1 = n;
        let (ms, n) = full_scan(&vectors, with).await?;
        with_ms.push(ms);
        counts.0 = n;
    }
    let (with_ms, without_ms) = (median(&mut with_ms), median(&mut without_ms));
    emit("w9", "strata", "scan_rows_live", counts.0 as f64, "rows");
    emit("w9", "strata", "scan_rows_all", counts.1 as f64, "rows");
    emit("w9", "strata", "scan_1pct_deleted_ms", with_ms, "ms");
    emit("w9", "strata", "scan_no_deletes_ms", without_ms, "ms");
    emit(
        "w9",
        "strata",
        "scan_deleted_vs_not",
        with_ms / without_ms,
        "x",
    );
    if std::env::var_os("STRATA_BENCH_WORK").is_some() {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

/// W10's source: the updates and inserts described in the module documentation.
fn merge_source(batches: &[RecordBatch], rows: usize) -> Result<RecordBatch, BoxError> {
    let schema = batches.first().ok_or("no rows")?.schema();
    let all = concat_batches(&schema, batches)?;
    let every = (rows / 50_000).max(1) as i64;
    let ids = all
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or("id is not int64")?;
    let mask: arrow::array::BooleanArray =
        ids.iter().map(|id| id.map(|i| i % every == 0)).collect();
    let updates = filter_record_batch(&all, &mask)?;
    let values = updates
        .column(3)
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or("value is not float64")?;
    let bumped: Float64Array = values.iter().map(|v| v.map(|x| x + 1000.0)).collect();
    let mut columns = updates.columns().to_vec();
    columns[3] = Arc::new(bumped);
    let updates = RecordBatch::try_new(schema.clone(), columns)?;
    let n = 50_000.min(all.num_rows());
    let first = all.slice(0, n);
    let shifted: Int64Array = first
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or("id is not int64")?
        .iter()
        .map(|v| v.map(|i| i + rows as i64))
        .collect();
    let mut columns = first.columns().to_vec();
    columns[0] = Arc::new(shifted);
    let inserts = RecordBatch::try_new(schema.clone(), columns)?;
    Ok(concat_batches(&schema, [&updates, &inserts])?)
}

pub(crate) async fn w10() -> Result<(), BoxError> {
    let rows = env_u64("STRATA_BENCH_ROWS", 10_000_000) as usize;
    let reps = env_u64("STRATA_BENCH_W10_MERGES", 3).clamp(1, 9) as usize;
    let scratch;
    let dir: PathBuf = match std::env::var_os("STRATA_BENCH_WORK") {
        Some(w) => PathBuf::from(w).join("w10-strata"),
        None => {
            scratch = tempfile::tempdir()?;
            scratch.path().to_path_buf()
        }
    };
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let (batches, _) = crate::dataset(rows)?;
    let source = merge_source(&batches, rows)?;
    let base = dir.join("base");
    let t = create(&base, false).await?;
    t.append(batches).await?;
    let cow_base = dir.join("cow-base");
    copy_folder(&base, &cow_base)?;
    let path = |p: &Path| p.to_str().map(str::to_string).ok_or("path");
    Table::open(&path(&cow_base)?)
        .await?
        .set_properties(
            &[("strata.deletionVectors".to_string(), "false".to_string())].into(),
            &[],
        )
        .await?;
    let (mut vec_ms, mut cow_ms, mut vec_bytes, mut cow_bytes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut counts = Vec::new();
    for _ in 0..reps {
        for (from, ms, bytes) in [
            (&base, &mut vec_ms, &mut vec_bytes),
            (&cow_base, &mut cow_ms, &mut cow_bytes),
        ] {
            let run = dir.join("run");
            if run.exists() {
                std::fs::remove_dir_all(&run)?;
            }
            copy_folder(from, &run)?;
            let t = Table::open(&path(&run)?).await?;
            let before = folder_bytes(&run)?;
            let start = Instant::now();
            let r = t
                .merge(
                    futures::stream::iter([Ok(source.clone())]),
                    Merge::on(["id"]),
                )
                .await?;
            ms.push(start.elapsed().as_secs_f64() * 1000.0);
            bytes.push((folder_bytes(&run)? - before) as f64 / 1e6);
            counts.push((r.updated_rows, r.inserted_rows));
        }
    }
    if counts.windows(2).any(|w| w[0] != w[1]) {
        return Err(format!("the merges disagree: {counts:?}").into());
    }
    let (updated, inserted) = counts.first().copied().unwrap_or_default();
    emit(
        "w10",
        "strata",
        "source_rows",
        source.num_rows() as f64,
        "rows",
    );
    emit("w10", "strata", "rows_updated", updated as f64, "rows");
    emit("w10", "strata", "rows_inserted", inserted as f64, "rows");
    emit("w10", "strata", "merge_ms", median(&mut vec_ms), "ms");
    emit(
        "w10",
        "strata",
        "merge_mb_written",
        median(&mut vec_bytes),
        "MB",
    );
    emit("w10", "strata-cow", "merge_ms", median(&mut cow_ms), "ms");
    emit(
        "w10",
        "strata-cow",
        "merge_mb_written",
        median(&mut cow_bytes),
        "MB",
    );
    if std::env::var_os("STRATA_BENCH_WORK").is_some() {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
