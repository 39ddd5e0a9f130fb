//! W4: scans of W3's table against the bare parquet reader over the same files, and the bytes a
//! 1% time-range scan reads (unpartitioned: statistics pruning; day-partitioned: partition
//! pruning).

use std::path::Path;
use std::time::Instant;

use arrow::array::{Float64Array, RecordBatch};
use futures::TryStreamExt;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata_format::expr::Expr;
use strata_table::Table;

use crate::{BoxError, STEP_US, T0_US, create, emit, env_u64, median};

fn sum_values(b: &RecordBatch) -> f64 {
    b.column(0)
        .as_any()
        .downcast_ref::<Float64Array>()
        .and_then(arrow::compute::sum)
        .unwrap_or(0.0)
}

/// The bare parquet crate: every data file read in turn with the synchronous Arrow reader,
/// projecting `value` (column 3).
fn bare_full_scan(root: &Path, files: &[String]) -> Result<f64, BoxError> {
    let mut sum = 0.0;
    for f in files {
        let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(root.join(f))?)?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), [3]);
        for b in builder.with_projection(mask).build()? {
            sum += sum_values(&b?);
        }
    }
    Ok(sum)
}

async fn strata_full_scan(t: &Table, ordered: bool) -> Result<f64, BoxError> {
    let mut sum = 0.0;
    let mut s = t
        .scan()
        .columns(["value"])
        .preserve_order(ordered)
        .plan()
        .await?
        .stream();
    while let Some(b) = s.try_next().await? {
        sum += sum_values(&b);
    }
    Ok(sum)
}

/// Runs the 1% scan; returns (milliseconds, rows, percent of the table's bytes fetched).
async fn first_percent(t: &Table, cutoff: &str) -> Result<(f64, usize, f64), BoxError> {
    let start = Instant::now();
    let pred = Expr::parse(&format!("ts < TIMESTAMP '{cutoff}'"))?;
    let scan = t.scan().columns(["value"]).filter(pred).plan().await?;
    let metrics = scan.metrics();
    let n: usize = scan.collect().await?.iter().map(|b| b.num_rows()).sum();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let r = metrics.report();
    if std::env::var_os("STRATA_BENCH_DEBUG").is_some() {
        eprintln!("{r:?}");
    }
    let pct = 100.0 * r.bytes_scanned as f64 / (r.bytes_total.max(1)) as f64;
    Ok((ms, n, pct))
}

pub(crate) async fn w4(
    t: &Table,
    root: &Path,
    rows: usize,
    batches: &[RecordBatch],
    dir: &Path,
) -> Result<(), BoxError> {
    let reps = env_u64("STRATA_BENCH_REPS", 5).max(5) as usize;
    let files: Vec<String> = t.latest().await?.files().keys().cloned().collect();
    let mut full = Vec::new();
    let mut full_unordered = Vec::new();
    let mut bare = Vec::new();
    let mut selective = Vec::new();
    let end_us = T0_US + rows as i64 * STEP_US / 100;
    let cutoff = strata_format::datum::format_timestamp(end_us);
    let mut pct = 0.0;
    for _ in 0..reps {
        let start = Instant::now();
        let a = strata_full_scan(t, true).await?;
        full.push(start.elapsed().as_secs_f64() * 1000.0);
        let start = Instant::now();
        let c = strata_full_scan(t, false).await?;
        full_unordered.push(start.elapsed().as_secs_f64() * 1000.0);
        let start = Instant::now();
        let b = bare_full_scan(root, &files)?;
        bare.push(start.elapsed().as_secs_f64() * 1000.0);
        if (a - b).abs() > 1e-6 * a.abs().max(1.0) || (c - b).abs() > 1e-6 * c.abs().max(1.0) {
            return Err(format!("sums differ: strata {a} / {c}, parquet-rs {b}").into());
        }
        let (ms, n, p) = first_percent(t, &cutoff).await?;
        selective.push(ms);
        pct = p;
        std::hint::black_box(n);
    }
    let (full, bare) = (median(&mut full), median(&mut bare));
    let unordered = median(&mut full_unordered);
    // `full_scan_sum` is the default scan (files decoded in parallel, batches in any order),
    // the one compared with DuckDB and the others; `_ordered` is `preserve_order(true)`.
    emit("w4", "strata", "full_scan_sum", unordered, "ms");
    emit("w4", "strata", "full_scan_sum_ordered", full, "ms");
    emit("w4", "parquet-rs", "full_scan_sum", bare, "ms");
    let ratio = |x: f64| x / bare;
    emit(
        "w4",
        "strata",
        "full_scan_ratio_vs_parquet_rs",
        ratio(unordered),
        "x",
    );
    emit(
        "w4",
        "strata",
        "ordered_ratio_vs_parquet_rs",
        ratio(full),
        "x",
    );
    emit(
        "w4",
        "strata",
        "scan_first_1pct",
        median(&mut selective),
        "ms",
    );
    emit("w4", "strata", "scan_first_1pct_bytes", pct, "%");

    // The same rows in a day-partitioned table: the 1% scan prunes whole partitions.
    let p = create(&dir.join("w4-day"), true).await?;
    let start = Instant::now();
    p.append(batches.iter().cloned()).await?;
    let ingest = start.elapsed().as_secs_f64();
    emit(
        "w4",
        "strata",
        "ingest_seconds_day_partitioned",
        ingest,
        "s",
    );
    let mut selective = Vec::new();
    for _ in 0..reps {
        let (ms, _, p_) = first_percent(&p, &cutoff).await?;
        selective.push(ms);
        pct = p_;
    }
    emit(
        "w4",
        "strata",
        "scan_first_1pct_day_partitioned",
        median(&mut selective),
        "ms",
    );
    emit(
        "w4",
        "strata",
        "scan_first_1pct_bytes_day_partitioned",
        pct,
        "%",
    );
    Ok(())
}
