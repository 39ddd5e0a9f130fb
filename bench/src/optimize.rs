//! W11: a table of many small appends, then OPTIMIZE. `STRATA_BENCH_W11_COMMITS` (default
//! 10,000) appends of `STRATA_BENCH_W11_ROWS` (default 1,000) rows each, the first
//! commits x rows rows of W3's data set (`crate::dataset` of `STRATA_BENCH_ROWS` rows, or of
//! exactly commits x rows when that is unset), one commit per append: the same rows, in the
//! same slices, that `bench/python/others.py` appends to a Delta table for delta-rs's
//! `optimize.compact()`.
//!
//! The appended table is built once per work folder (`STRATA_BENCH_WORK/w11-strata/base`, its
//! sizes and the appends' total time in `base.json` beside it; without `STRATA_BENCH_WORK`, a
//! temporary folder), and `append_total_s` is reported by the run that builds it. Optimize is
//! destructive, so each run copies the base (not timed) and then:
//!
//! 1. the full scan of W4 (`value` summed over every row), `STRATA_BENCH_W11_SCANS` (default 3)
//!    times, median: `scan_before_ms`;
//! 2. `Table::optimize(OptimizeOptions::default())` (the table's target size, 128 MiB), timed:
//!    `optimize_ms`, with `files_before`, `files_after` and `optimize_mb_written` (growth of the
//!    table's folder);
//! 3. the same scan after: `scan_after_ms`.
//!
//! Row count and sum must be the same before and after, and the rows all that were appended,
//! or the run fails.

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow::array::{Float64Array, RecordBatch};
use arrow::compute::concat_batches;
use futures::TryStreamExt;
use strata_table::{OptimizeOptions, Table};

use crate::rows::{copy_folder, folder_bytes};
use crate::{BoxError, create, emit, env_u64, median};

/// Rows and sum of `value` over the latest version, and the milliseconds the scan took.
async fn scan_sum(t: &Table) -> Result<(f64, u64, f64), BoxError> {
    let start = Instant::now();
    let mut s = t.scan().columns(["value"]).plan().await?.stream();
    let (mut rows, mut sum) = (0u64, 0.0);
    while let Some(b) = s.try_next().await? {
        rows += b.num_rows() as u64;
        sum += b
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .and_then(arrow::compute::sum)
            .unwrap_or(0.0);
    }
    Ok((start.elapsed().as_secs_f64() * 1000.0, rows, sum))
}

/// `reps` scans; the median time, and the rows and sum (the same every time, or an error).
async fn scans(t: &Table, reps: usize) -> Result<(f64, u64, f64), BoxError> {
    let mut ms = Vec::new();
    let mut seen: Option<(u64, f64)> = None;
    for _ in 0..reps {
        let (m, rows, sum) = scan_sum(t).await?;
        ms.push(m);
        if let Some((r, s)) = seen
            && (r != rows || !same_sum(s, sum))
        {
            return Err(
                format!("scans disagree: {r} rows sum {s}, then {rows} rows sum {sum}").into(),
            );
        }
        seen = Some((rows, sum));
    }
    let (rows, sum) = seen.unwrap_or_default();
    Ok((median(&mut ms), rows, sum))
}

/// Sums of the same values added in another order differ in the last bits only.
fn same_sum(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The rows W11 takes its slices from: W3's data set of `STRATA_BENCH_ROWS` rows (what
/// `bench/compare` prepares for the Python side), or of exactly `total` rows when unset.
fn source_rows(total: u64) -> Result<u64, BoxError> {
    let source = env_u64("STRATA_BENCH_ROWS", total);
    if source < total {
        return Err(format!("W11 needs {total} rows; STRATA_BENCH_ROWS is {source}").into());
    }
    Ok(source)
}

/// What the base table holds, as recorded beside it.
fn describe(commits: u64, per: u64, source: u64) -> serde_json::Value {
    serde_json::json!({"commits": commits, "rows_per_commit": per, "source_rows": source})
}

/// Builds the table of `commits` appends in `base` (replacing what is there); returns the
/// appends' total time in seconds.
async fn build(base: &Path, commits: u64, per: u64, source: u64) -> Result<f64, BoxError> {
    let (batches, _) = crate::dataset(source as usize)?;
    let schema = batches.first().ok_or("no rows")?.schema();
    let all = concat_batches(&schema, &batches)?;
    drop(batches);
    let slices: Vec<RecordBatch> = (0..commits)
        .map(|i| all.slice((i * per) as usize, per as usize))
        .collect();
    if base.exists() {
        std::fs::remove_dir_all(base)?;
    }
    let t = create(base, false).await?;
    let start = Instant::now();
    for b in slices {
        t.append([b]).await?;
    }
    Ok(start.elapsed().as_secs_f64())
}

pub(crate) async fn w11() -> Result<(), BoxError> {
    let commits = env_u64("STRATA_BENCH_W11_COMMITS", 10_000).max(1);
    let per = env_u64("STRATA_BENCH_W11_ROWS", 1_000).max(1);
    let reps = env_u64("STRATA_BENCH_W11_SCANS", 3).clamp(1, 9) as usize;
    let scratch;
    let dir: PathBuf = match std::env::var_os("STRATA_BENCH_WORK") {
        Some(w) => PathBuf::from(w).join("w11-strata"),
        None => {
            scratch = tempfile::tempdir()?;
            scratch.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir)?;
    let (base, marker) = (dir.join("base"), dir.join("base.json"));
    let source = source_rows(commits * per)?;
    let want = describe(commits, per, source);
    let built = std::fs::read(&marker)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    if built.as_ref().and_then(|b| b.get("table")) != Some(&want) || !base.exists() {
        let _ = std::fs::remove_file(&marker);
        let s = build(&base, commits, per, source).await?;
        emit("w11", "strata", "append_total_s", s, "s");
        emit(
            "w11",
            "strata",
            "append_mean_ms",
            s * 1000.0 / commits as f64,
            "ms",
        );
        std::fs::write(
            &marker,
            serde_json::to_vec(&serde_json::json!({"table": want, "append_total_s": s}))?,
        )?;
    }

    let run = dir.join("run");
    if run.exists() {
        std::fs::remove_dir_all(&run)?;
    }
    copy_folder(&base, &run)?;
    let t = Table::open(run.to_str().ok_or("path")?).await?;
    let files_before = t.latest().await?.files().len();
    let (before_ms, rows_before, sum_before) = scans(&t, reps).await?;
    if rows_before != commits * per {
        return Err(format!(
            "the table holds {rows_before} rows, {} were appended",
            commits * per
        )
        .into());
    }

    let bytes = folder_bytes(&run)?;
    let start = Instant::now();
    let report = t.optimize(OptimizeOptions::default()).await?;
    let optimize_ms = start.elapsed().as_secs_f64() * 1000.0;
    let written = (folder_bytes(&run)? - bytes) as f64 / 1e6;
    let files_after = t.latest().await?.files().len();
    if report.files_removed() + files_after != files_before + report.files_added {
        return Err(format!(
            "optimize removed {} and added {} files, but {files_before} became {files_after}",
            report.files_removed(),
            report.files_added
        )
        .into());
    }

    let (after_ms, rows_after, sum_after) = scans(&t, reps).await?;
    if rows_after != rows_before || !same_sum(sum_before, sum_after) {
        return Err(format!(
            "optimize changed the rows: {rows_before} rows sum {sum_before} before, \
             {rows_after} rows sum {sum_after} after"
        )
        .into());
    }
    emit("w11", "strata", "rows", rows_before as f64, "rows");
    emit("w11", "strata", "value_sum", sum_before, "sum");
    emit(
        "w11",
        "strata",
        "files_before",
        files_before as f64,
        "files",
    );
    emit("w11", "strata", "files_after", files_after as f64, "files");
    emit("w11", "strata", "scan_before_ms", before_ms, "ms");
    emit("w11", "strata", "optimize_ms", optimize_ms, "ms");
    emit("w11", "strata", "optimize_mb_written", written, "MB");
    emit("w11", "strata", "scan_after_ms", after_ms, "ms");
    drop(t);
    std::fs::remove_dir_all(&run)?;
    Ok(())
}
