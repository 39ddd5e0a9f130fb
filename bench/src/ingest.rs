//! W13: the ingest users run from the command line. A CSV file and an NDJSON file of the same
//! rows (ids, timestamps, strings, floats and integers with nulls) are generated once per work
//! directory (`strata-bench w13-prepare DIR`, not timed); W13 then times the release `strata`
//! CLI, spawned as users run it, creating a table and appending each file
//! (`strata create T --schema ...` then `strata append T FILE`), and checks the table's row
//! count. `bench/compare` runs DuckDB's `COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT
//! parquet)` (and `read_json`) and pyarrow on the same files.
//!
//! Also here: W3's encoding comparison (`STRATA_BENCH_W3_ENCODINGS=1`): the bare parquet
//! writer on W3's batches with the float column's fallback encoding PLAIN against
//! BYTE_STREAM_SPLIT, size and time of the write and of a scan of that column.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{BoxError, STEP_US, T0_US, emit, env_u64, median};

/// The schema the CLI creates the table with; the columns DuckDB and pyarrow detect.
pub(crate) const W13_SCHEMA: &str =
    "id:int64,ts:timestamp,category:string,value:float64?,qty:int64?,payload:string";

/// Generates `DIR/input.csv` and `DIR/input.ndjson` (`STRATA_BENCH_W13_ROWS` rows, default
/// 8,000,000: about 0.8 GB of CSV and 1.3 GB of NDJSON) and `DIR/w13.json`, unless
/// `w13.json` already describes that many rows.
pub(crate) fn prepare(dir: &Path) -> Result<(), BoxError> {
    let rows = env_u64("STRATA_BENCH_W13_ROWS", 8_000_000);
    let manifest = dir.join("w13.json");
    if let Ok(text) = std::fs::read_to_string(&manifest)
        && let Ok(m) = serde_json::from_str::<serde_json::Value>(&text)
        && m["rows"].as_u64() == Some(rows)
    {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let dir = &dir.canonicalize()?;
    let csv_path = dir.join("input.csv");
    let json_path = dir.join("input.ndjson");
    let mut csv = BufWriter::with_capacity(1 << 20, std::fs::File::create(&csv_path)?);
    let mut json = BufWriter::with_capacity(1 << 20, std::fs::File::create(&json_path)?);
    writeln!(csv, "id,ts,category,value,qty,payload")?;
    let mut rng = StdRng::seed_from_u64(13);
    let mut payload = String::with_capacity(20);
    for i in 0..rows as i64 {
        let ts = strata_format::calendar::format_timestamp(T0_US + i * STEP_US);
        let category = rng.random_range(0..100);
        let value: Option<f64> =
            (rng.random_range(0..20) != 0).then(|| rng.random_range(0.0..1000.0));
        let qty: Option<i64> = (rng.random_range(0..10) != 0).then(|| rng.random_range(0..1000));
        payload.clear();
        payload.extend((0..20).map(|_| char::from(b'a' + rng.random_range(0..26u8))));
        let v = value.map(|v| v.to_string()).unwrap_or_default();
        let q = qty.map(|q| q.to_string()).unwrap_or_default();
        writeln!(csv, "{i},{ts},category-{category:03},{v},{q},{payload}")?;
        let jv = value.map_or("null".to_string(), |v| v.to_string());
        let jq = qty.map_or("null".to_string(), |q| q.to_string());
        writeln!(
            json,
            "{{\"id\":{i},\"ts\":\"{ts}\",\"category\":\"category-{category:03}\",\"value\":{jv},\"qty\":{jq},\"payload\":\"{payload}\"}}"
        )?;
    }
    csv.flush()?;
    json.flush()?;
    let m = serde_json::json!({
        "rows": rows,
        "csv": csv_path.to_string_lossy(),
        "ndjson": json_path.to_string_lossy(),
        "csv_bytes": std::fs::metadata(&csv_path)?.len(),
        "ndjson_bytes": std::fs::metadata(&json_path)?.len(),
        "schema": W13_SCHEMA,
    });
    std::fs::write(&manifest, serde_json::to_vec_pretty(&m)?)?;
    println!("{m}");
    Ok(())
}

/// The `strata` binary: `STRATA_BENCH_CLI`, else next to this executable.
fn cli() -> Result<PathBuf, BoxError> {
    if let Some(p) = std::env::var_os("STRATA_BENCH_CLI") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let p = exe.parent().ok_or("no directory")?.join("strata");
    if !p.exists() {
        return Err(format!("no strata CLI at {} (set STRATA_BENCH_CLI)", p.display()).into());
    }
    Ok(p)
}

fn run(cmd: &mut Command) -> Result<String, BoxError> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// W13 on Strata: `w13-prepare`'s files in `STRATA_BENCH_WORK/w13` (generated there, or in a
/// temporary directory, when missing); one create + append per format.
pub(crate) async fn w13() -> Result<(), BoxError> {
    let tmp = tempfile::tempdir()?;
    let dir = match std::env::var_os("STRATA_BENCH_WORK") {
        Some(w) => PathBuf::from(w).join("w13"),
        None => tmp.path().join("w13"),
    };
    prepare(&dir)?;
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("w13.json"))?)?;
    let rows = m["rows"].as_u64().ok_or("w13.json: rows")?;
    let strata = cli()?;
    for (format, key) in [("csv", "csv"), ("ndjson", "ndjson")] {
        let input = m[key].as_str().ok_or("w13.json: input")?;
        let mb = m[format!("{key}_bytes")]
            .as_f64()
            .ok_or("w13.json: bytes")?
            / 1e6;
        let table = tmp.path().join(format!("t-{format}"));
        let start = Instant::now();
        run(Command::new(&strata)
            .arg("--quiet")
            .arg("create")
            .arg(&table)
            .arg("--schema")
            .arg(W13_SCHEMA))?;
        run(Command::new(&strata)
            .arg("--quiet")
            .arg("append")
            .arg(&table)
            .arg(input))?;
        let s = start.elapsed().as_secs_f64();
        let counted = run(Command::new(&strata).arg("count").arg(&table))?;
        let n: u64 = counted
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()?;
        if n != rows {
            return Err(format!("w13 {format}: the table has {n} rows, expected {rows}").into());
        }
        let data: u64 = walk_bytes(&table.join("data"))?;
        emit("w13", "strata", &format!("{format}_seconds"), s, "s");
        emit(
            "w13",
            "strata",
            &format!("{format}_throughput"),
            mb / s,
            "MB/s",
        );
        emit("w13", "strata", &format!("{format}_rows"), n as f64, "rows");
        emit(
            "w13",
            "strata",
            &format!("{format}_parquet_mb"),
            data as f64 / 1e6,
            "MB",
        );
        std::fs::remove_dir_all(&table)?;
    }
    Ok(())
}

fn walk_bytes(dir: &Path) -> Result<u64, BoxError> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let meta = e.metadata()?;
        total += if meta.is_dir() {
            walk_bytes(&e.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// W3's float column written by the bare parquet writer with each fallback encoding (dictionary
/// first, as Strata writes), `reps` times alternating: write seconds, bytes of that column,
/// and the median scan of it.
pub(crate) fn w3_encodings(
    batches: &[RecordBatch],
    dir: &Path,
    reps: usize,
) -> Result<(), BoxError> {
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let schema = first.schema();
    let column = schema.index_of("value")?;
    let variants = [
        ("plain", Encoding::PLAIN),
        ("bss", Encoding::BYTE_STREAM_SPLIT),
    ];
    let mut write_s = vec![Vec::new(); variants.len()];
    let mut scan_ms = vec![Vec::new(); variants.len()];
    let mut bytes = vec![0i64; variants.len()];
    for _ in 0..reps {
        for (k, (name, encoding)) in variants.iter().enumerate() {
            let path = dir.join(format!("enc-{name}.parquet"));
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
                .set_column_encoding(ColumnPath::from("value"), *encoding)
                .build();
            let start = Instant::now();
            let mut w =
                ArrowWriter::try_new(std::fs::File::create(&path)?, schema.clone(), Some(props))?;
            for b in batches {
                w.write(b)?;
            }
            let meta = w.close()?;
            write_s[k].push(start.elapsed().as_secs_f64());
            bytes[k] = meta
                .row_groups()
                .iter()
                .map(|rg| rg.column(column).compressed_size())
                .sum();
            let start = Instant::now();
            let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path)?)?;
            let mask = ProjectionMask::leaves(builder.parquet_schema(), [column]);
            let mut rows = 0;
            for b in builder.with_projection(mask).build()? {
                rows += b?.num_rows();
            }
            scan_ms[k].push(start.elapsed().as_secs_f64() * 1000.0);
            if rows == 0 {
                return Err("w3 encodings: no rows read".into());
            }
            std::fs::remove_file(&path)?;
        }
    }
    for (k, (name, _)) in variants.iter().enumerate() {
        let sys = format!("parquet-rs-{name}");
        emit("w3", &sys, "write_seconds", median(&mut write_s[k]), "s");
        emit("w3", &sys, "value_column_mb", bytes[k] as f64 / 1e6, "MB");
        emit("w3", &sys, "value_scan_ms", median(&mut scan_ms[k]), "ms");
    }
    Ok(())
}
