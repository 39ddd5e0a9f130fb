//! `strata-bench prepare DIR`: the shared inputs of `bench/compare`. Writes W3's data set
//! (`STRATA_BENCH_ROWS` rows, seed 42, the same batches `w3` ingests) to `DIR/dataset.parquet`
//! for the Python systems, W3's Strata table to `DIR/strata-w3` for DuckDB's and pyarrow's W4
//! scans over the same data files, and `DIR/manifest.json` with the sizes and the 1% time bound.
//! Nothing here is timed.

use std::path::Path;

use crate::{BoxError, STEP_US, T0_US, create, env_u64};

/// Rows the Python side slices for W1 (300 x 1,000) and W5 (4 x 50 x 1,000).
const MIN_ROWS: usize = 300_000;

pub(crate) async fn prepare(dir: &Path) -> Result<(), BoxError> {
    let rows = env_u64("STRATA_BENCH_ROWS", 10_000_000) as usize;
    std::fs::create_dir_all(dir)?;
    let (batches, bytes) = crate::dataset(rows)?;
    let extra = if rows < MIN_ROWS {
        // Appended after W3's rows, so the first `rows` rows stay W3's.
        let mut rng = rand::SeedableRng::seed_from_u64(43);
        vec![crate::batch(
            &batches[0].schema(),
            rows as i64,
            MIN_ROWS - rows,
            &mut rng,
        )?]
    } else {
        Vec::new()
    };

    // Uncompressed-ish input for the Python readers: zstd level 1 keeps it small and fast.
    let file = std::fs::File::create(dir.join("dataset.parquet"))?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(
            parquet::basic::ZstdLevel::try_new(1)?,
        ))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batches[0].schema(), Some(props))?;
    for b in batches.iter().chain(&extra) {
        w.write(b)?;
    }
    w.close()?;

    let root = dir.join("strata-w3");
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let t = create(&root, false).await?;
    t.append(batches.iter().cloned()).await?;
    let snap = t.latest().await?;
    let files: Vec<String> = snap
        .files()
        .keys()
        .map(|f| root.join(f).to_string_lossy().into_owned())
        .collect();
    let cutoff_us = T0_US + rows as i64 * STEP_US / 100;
    let manifest = serde_json::json!({
        "rows": rows,
        "dataset_rows": rows.max(MIN_ROWS),
        "bytes": bytes,
        "mb": bytes as f64 / 1e6,
        "t0_us": T0_US,
        "step_us": STEP_US,
        "cutoff_us": cutoff_us,
        "cutoff": strata_format::datum::format_timestamp(cutoff_us),
        "strata_table": root.to_string_lossy(),
        "strata_files": files,
    });
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    println!("{manifest}");
    Ok(())
}
