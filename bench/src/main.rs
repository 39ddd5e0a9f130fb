//! `strata-bench`: runs named workloads on Strata and prints one JSON line per measurement:
//! `{"workload","system","metric","value","unit"}`.
//!
//! `cargo run --release -p strata-bench -- w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12` (no names:
//! all; W12 also wants the `strata` binary built, see `catalog.rs`).
//! `w13` runs only when named: it spawns the release `strata` CLI (see `ingest.rs`).
//! Sizes scale with `STRATA_BENCH_ROWS` (W3/W4 rows, default 10,000,000),
//! `STRATA_BENCH_COMMITS` (W2, default 2,000) and `STRATA_BENCH_W11_COMMITS`/`_ROWS` (W11,
//! default 10,000 appends of 1,000 rows). Data is deterministic (seed 42). `strata-bench prepare
//! DIR` writes the inputs `bench/compare` shares with the Python systems (see `compare.rs`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::SchemaRef;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strata_format::compact::{parse_partition_spec, parse_schema};
use strata_table::arrow_schema::to_arrow_schema;
use strata_table::{CreateTable, LocalStore, SnapshotSelector, Table, TableLocation, TableOptions};

mod catalog;
mod compare;
mod concurrency;
mod ingest;
mod optimize;
mod rows;
mod scale;
mod scans;
mod sql;
mod tiers;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SCHEMA: &str = "id:int64,ts:timestamptz,category:string,value:float64,payload:string";
const T0_US: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
/// 0.864 s between rows: 10M rows span 100 days, so a day-partitioned table has 100
/// partitions and 1% of the time range is one day.
const STEP_US: i64 = 864_000;

fn emit(workload: &str, system: &str, metric: &str, value: f64, unit: &str) {
    println!(
        "{}",
        serde_json::json!({"workload": workload, "system": system, "metric": metric,
                           "value": (value * 1000.0).round() / 1000.0, "unit": unit})
    );
}

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Rows `first..first+n` of the benchmark data set.
pub(crate) fn batch(
    schema: &SchemaRef,
    first: i64,
    n: usize,
    rng: &mut StdRng,
) -> Result<RecordBatch, BoxError> {
    let ids: Vec<i64> = (first..first + n as i64).collect();
    let ts: Vec<i64> = ids.iter().map(|i| T0_US + i * STEP_US).collect();
    let cats: Vec<String> = (0..n)
        .map(|_| format!("category-{:03}", rng.random_range(0..100)))
        .collect();
    let values: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..1000.0)).collect();
    let payload: Vec<String> = (0..n)
        .map(|_| {
            (0..20)
                .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
                .collect()
        })
        .collect();
    Ok(RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
            Arc::new(StringArray::from(cats)),
            Arc::new(Float64Array::from(values)),
            Arc::new(StringArray::from(payload)),
        ],
    )?)
}

/// W3's data set: `rows` rows in batches of 65,536 (seed 42), and their in-memory size in
/// bytes (the MB of the MB/s figures).
pub(crate) fn dataset(rows: usize) -> Result<(Vec<RecordBatch>, usize), BoxError> {
    let schema = to_arrow_schema(&parse_schema(SCHEMA)?)?;
    let mut rng = StdRng::seed_from_u64(42);
    let mut batches = Vec::new();
    let mut first = 0i64;
    while (first as usize) < rows {
        let n = (rows - first as usize).min(65_536);
        batches.push(batch(&schema, first, n, &mut rng)?);
        first += n as i64;
    }
    let bytes = batches.iter().map(|b| b.get_array_memory_size()).sum();
    Ok((batches, bytes))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(0.0)
}

async fn create(dir: &std::path::Path, partitioned: bool) -> Result<Table, BoxError> {
    create_with(dir, partitioned, true).await
}

/// [`create`], with or without typed checkpoints (SPEC §10.2.2).
async fn create_with(
    dir: &std::path::Path,
    partitioned: bool,
    typed_checkpoints: bool,
) -> Result<Table, BoxError> {
    let schema = parse_schema(SCHEMA)?;
    let mut c = CreateTable::new(schema.clone()).with_typed_checkpoints(typed_checkpoints);
    if partitioned {
        c = c.with_partition_spec(parse_partition_spec("day(ts)", &schema, 0, 1000)?);
    }
    Ok(Table::create(dir.to_str().ok_or("path")?, c).await?)
}

/// W1: 300 sequential appends of 1,000 rows to a fresh local table, flushed before each
/// commit is acknowledged (the default, SPEC §2.4). Side by side, round by round, the same
/// appends to a table whose store does not flush (`STRATA_UNSAFE_NO_FSYNC`, metrics
/// `*_no_fsync`) and to one on `object_store`'s own local store (no flushing either; the store
/// local tables used before, metrics `*_object_store`): the cost of durability, and what the
/// staging of the durable store costs by itself.
async fn w1() -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let schema = parse_schema(SCHEMA)?;
    let at = |name: &str, store: Arc<dyn object_store::ObjectStore>| {
        let path = dir.path().join(name);
        let path = path.to_str().ok_or("path")?;
        Ok::<_, BoxError>(TableLocation::parse(path)?.with_store(store))
    };
    let arms = [
        (
            "",
            TableLocation::parse(dir.path().join("w1").to_str().ok_or("path")?)?,
        ),
        (
            "_no_fsync",
            at(
                "w1-no-fsync",
                Arc::new(LocalStore::new().unsafe_without_flush(true)),
            )?,
        ),
        (
            "_object_store",
            at(
                "w1-object-store",
                Arc::new(object_store::local::LocalFileSystem::new()),
            )?,
        ),
    ];
    let mut tables = Vec::new();
    for (suffix, loc) in arms {
        let t = Table::create_with(
            loc,
            CreateTable::new(schema.clone()),
            TableOptions::default(),
        )
        .await?;
        tables.push((suffix, t, Vec::new()));
    }
    let arrow_schema = to_arrow_schema(&schema)?;
    let mut rng = StdRng::seed_from_u64(42);
    for i in 0..300 {
        let b = batch(&arrow_schema, i * 1000, 1000, &mut rng)?;
        // Rotate which table goes first, so that none always finds a warm cache.
        let n = tables.len();
        for k in 0..n {
            let (_, t, ms) = &mut tables[(i as usize + k) % n];
            let start = Instant::now();
            t.append([b.clone()]).await?;
            ms.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    for (suffix, _, ms) in &mut tables {
        let mut last: Vec<f64> = ms[270..].to_vec();
        // The mean carries the commits that also write a checkpoint (every 10th of this small
        // table, SPEC §10.4), which the median and p95 leave out.
        emit(
            "w1",
            "strata",
            &format!("commit_mean{suffix}"),
            ms.iter().sum::<f64>() / ms.len().max(1) as f64,
            "ms",
        );
        emit(
            "w1",
            "strata",
            &format!("commit_median{suffix}"),
            median(&mut ms.clone()),
            "ms",
        );
        emit(
            "w1",
            "strata",
            &format!("commit_p95{suffix}"),
            percentile(ms, 0.95),
            "ms",
        );
        emit(
            "w1",
            "strata",
            &format!("commit_median_last_10pct{suffix}"),
            median(&mut last),
            "ms",
        );
    }
    Ok(())
}

/// W2: open latest, version 1000 and a mid timestamp on a table of single-file commits.
async fn w2() -> Result<(), BoxError> {
    let commits = env_u64("STRATA_BENCH_COMMITS", 2000) as i64;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w2");
    let t = create(&path, false).await?;
    let schema = to_arrow_schema(&parse_schema(SCHEMA)?)?;
    let mut rng = StdRng::seed_from_u64(42);
    for i in 0..commits {
        t.append([batch(&schema, i * 10, 10, &mut rng)?]).await?;
    }
    let uri = path.to_str().ok_or("path")?.to_string();
    let mid_version = (commits / 2) as u64;
    let mid_ts = t
        .snapshot(&SnapshotSelector::Version(mid_version))
        .await?
        .timestamp();
    for (metric, sel) in [
        ("open_latest", SnapshotSelector::Latest),
        ("open_version_mid", SnapshotSelector::Version(mid_version)),
        ("open_timestamp_mid", SnapshotSelector::Timestamp(mid_ts)),
    ] {
        let mut ms = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let fresh = Table::open(&uri).await?;
            fresh.snapshot(&sel).await?;
            ms.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        emit("w2", "strata", metric, median(&mut ms), "ms");
    }
    Ok(())
}

/// W3 + W4: ingest N rows in one commit (and the bare parquet writer on the same batches);
/// then a full scan summing `value`, and a scan of the first 1% of the time range.
/// W3 and W4: ingest of `STRATA_BENCH_ROWS` rows in one commit against the bare parquet
/// writer, then scans against the bare parquet reader over the same files. Strata and the bare
/// crate alternate, `STRATA_BENCH_REPS` times each (default 3 for W3, 5 for W4), and medians
/// are reported.
async fn w3_w4(run_w4: bool) -> Result<(), BoxError> {
    let rows = env_u64("STRATA_BENCH_ROWS", 10_000_000) as usize;
    let reps = env_u64("STRATA_BENCH_REPS", 3).max(1) as usize;
    let dir = tempfile::tempdir()?;
    let schema = to_arrow_schema(&parse_schema(SCHEMA)?)?;
    let (batches, bytes) = dataset(rows)?;
    let mb = bytes as f64 / 1e6;

    let mut bare_s = Vec::new();
    let mut strata_s = Vec::new();
    let mut table = None;
    for rep in 0..reps {
        // The physical reference: the parquet crate writing the same batches, same codec.
        let start = Instant::now();
        let file = std::fs::File::create(dir.path().join(format!("bare-{rep}.parquet")))?;
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::ZSTD(
                parquet::basic::ZstdLevel::try_new(3)?,
            ))
            .build();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        for b in &batches {
            w.write(b)?;
        }
        w.close()?;
        bare_s.push(start.elapsed().as_secs_f64());
        std::fs::remove_file(dir.path().join(format!("bare-{rep}.parquet")))?;

        let t = create(&dir.path().join(format!("w3-{rep}")), false).await?;
        let start = Instant::now();
        t.append(batches.iter().cloned()).await?;
        strata_s.push(start.elapsed().as_secs_f64());
        table = Some(t);
    }
    if let Some(t) = &table {
        let data: u64 = t.latest().await?.files().values().map(|a| a.size).sum();
        emit("w3", "strata", "data_mb", data as f64 / 1e6, "MB");
    }
    if env_u64("STRATA_BENCH_W3_ENCODINGS", 0) == 1 {
        ingest::w3_encodings(&batches, dir.path(), reps)?;
    }
    let bare = median(&mut bare_s);
    let took = median(&mut strata_s);
    emit("w3", "parquet-rs", "ingest_seconds", bare, "s");
    emit("w3", "parquet-rs", "ingest_throughput", mb / bare, "MB/s");
    emit("w3", "strata", "ingest_seconds", took, "s");
    emit("w3", "strata", "ingest_throughput", mb / took, "MB/s");
    emit("w3", "strata", "ratio_vs_parquet_rs", bare / took, "x");
    let Some(t) = table else {
        return Ok(());
    };
    if !run_w4 {
        return Ok(());
    }
    let root = dir.path().join(format!("w3-{}", reps - 1));
    scans::w4(&t, &root, rows, &batches, dir.path()).await
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.is_empty();
    let want = |w: &str| all || args.iter().any(|a| a == w);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let [cmd, uri, id, n] = &args[..]
        && cmd == "w5-writer"
    {
        let (Ok(id), Ok(n)) = (id.parse(), n.parse()) else {
            eprintln!("usage: strata-bench w5-writer URI ID N");
            return ExitCode::FAILURE;
        };
        return match rt.block_on(concurrency::writer(uri, id, n)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("writer {id}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let [cmd, target, table, id, n] = &args[..]
        && cmd == "w12-writer"
    {
        let (Ok(id), Ok(n)) = (id.parse(), n.parse()) else {
            eprintln!("usage: strata-bench w12-writer TARGET TABLE ID N");
            return ExitCode::FAILURE;
        };
        return match rt.block_on(catalog::writer(target, table, id, n)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("w12 writer {id}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let [cmd, dir] = &args[..]
        && cmd == "prepare"
    {
        return match rt.block_on(compare::prepare(std::path::Path::new(dir))) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("prepare: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let [cmd, dir] = &args[..]
        && cmd == "w8-prepare"
    {
        return match rt.block_on(sql::prepare(std::path::Path::new(dir))) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("w8-prepare: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let [cmd, dir] = &args[..]
        && cmd == "w13-prepare"
    {
        return match ingest::prepare(std::path::Path::new(dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("w13-prepare: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let [cmd, uri, variant] = &args[..]
        && cmd == "w7-corrupt"
    {
        return match rt.block_on(scale::open_corrupt(uri, variant)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("w7-corrupt: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let [cmd, uri] = &args[..]
        && cmd == "w7-open"
    {
        return match rt.block_on(scale::open(uri)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("w7-open: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let result = rt.block_on(async {
        if want("w1") {
            w1().await?;
        }
        if want("w2") {
            w2().await?;
        }
        if want("w3") || want("w4") {
            w3_w4(want("w4")).await?;
        }
        if want("w5") {
            concurrency::w5().await?;
        }
        if want("w6") {
            tiers::w6().await?;
        }
        if want("w7") {
            scale::w7().await?;
        }
        if want("w8") {
            sql::w8().await?;
        }
        if want("w9") {
            rows::w9().await?;
        }
        if want("w10") {
            rows::w10().await?;
        }
        if want("w11") {
            optimize::w11().await?;
        }
        if want("w12") {
            catalog::w12().await?;
        }
        // Only when named: it needs the `strata` binary.
        if args.iter().any(|a| a == "w13") {
            ingest::w13().await?;
        }
        Ok::<(), BoxError>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
