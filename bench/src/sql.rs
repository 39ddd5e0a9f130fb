//! W8: analytic SQL over W3's data set, through Strata's DataFusion provider (`strata-sql`)
//! against DataFusion's own Parquet listing table over the very same data files (the files of
//! the snapshot read, listed explicitly), in one process, systems alternating query by query.
//!
//! The table is W3's rows, day-partitioned (`day(ts)`), appended in two commits (half each),
//! plus a 100-row dimension table for the join. Queries: a scan-aggregate, two selective
//! filters (1% of the time range: partition pruning; a narrow `id` range: statistics pruning),
//! a group-by on strings, a join, and a time-travel aggregate (version 1: the first half; the
//! listing table gets version 1's files). Every query's rows are checked to agree between the
//! two systems before anything is timed. `strata-bench w8-prepare DIR` writes the same tables
//! and a manifest (queries, file lists) for `bench/compare w8`'s DuckDB side; `w8` then reads
//! the tables in `STRATA_BENCH_W8_DIR` when it is set. `STRATA_BENCH_W8_SETTINGS` (`SET`
//! statements separated by `;`) adds a third system, `strata-variant`: the provider under those
//! session settings, timed in the same rounds.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::SessionContext;
use strata_format::compact::parse_schema;
use strata_sql::{SqlOptions, SqlSession};
use strata_table::{CreateTable, SnapshotSelector, Table};

use crate::{BoxError, STEP_US, T0_US, create, emit, env_u64, median};

/// The two tables of W8 in `dir` and their latest and version-1 files.
pub(crate) struct W8Tables {
    pub events: Table,
    pub categories: Table,
    pub rows: usize,
}

/// Writes W8's tables under `dir`.
pub(crate) async fn tables(dir: &Path, rows: usize) -> Result<W8Tables, BoxError> {
    let (batches, _) = crate::dataset(rows)?;
    let events = create(&dir.join("events"), true).await?;
    let half = batches.len().div_ceil(2);
    events.append(batches[..half].iter().cloned()).await?;
    events.append(batches[half..].iter().cloned()).await?;
    let schema = parse_schema("category:string,label:string")?;
    let categories = Table::create(
        dir.join("categories").to_str().ok_or("path")?,
        CreateTable::new(schema),
    )
    .await?;
    let arrow = Arc::new(ArrowSchema::new(vec![
        Field::new("category", DataType::Utf8, true),
        Field::new("label", DataType::Utf8, true),
    ]));
    let cats: Vec<String> = (0..100).map(|i| format!("category-{i:03}")).collect();
    let labels: Vec<String> = (0..100).map(|i| format!("group-{}", i % 10)).collect();
    categories
        .append([RecordBatch::try_new(
            arrow,
            vec![
                Arc::new(StringArray::from(cats)),
                Arc::new(StringArray::from(labels)),
            ],
        )?])
        .await?;
    Ok(W8Tables {
        events,
        categories,
        rows,
    })
}

/// Absolute paths of the data files of `t` at `selector`.
pub(crate) async fn files(t: &Table, selector: SnapshotSelector) -> Result<Vec<String>, BoxError> {
    let snap = t.snapshot(&selector).await?;
    let root = t.uri().strip_prefix("file://").ok_or("local tables only")?;
    Ok(snap.files().keys().map(|f| format!("{root}/{f}")).collect())
}

/// The queries: (name, selective, SQL with `{events}`, `{events_v1}` and `{categories}`).
pub(crate) fn queries(rows: usize) -> Vec<(&'static str, bool, String)> {
    let cutoff = strata_format::datum::format_timestamp(T0_US + rows as i64 * STEP_US / 100);
    let mid = rows as i64 / 2;
    vec![
        (
            "scan_aggregate",
            false,
            "SELECT count(*) AS n, sum(id) AS ids, avg(value) AS v FROM {events}".into(),
        ),
        (
            "filter_time_1pct",
            true,
            format!(
                "SELECT count(*) AS n, sum(id) AS ids, avg(value) AS v FROM {{events}} \
                 WHERE ts < '{cutoff}'"
            ),
        ),
        (
            "filter_id_range",
            true,
            format!(
                "SELECT count(*) AS n, sum(id) AS ids, max(payload) AS p FROM {{events}} \
                 WHERE id BETWEEN {mid} AND {}",
                mid + 999
            ),
        ),
        (
            "group_by_string",
            false,
            "SELECT category, count(*) AS n, avg(value) AS v FROM {events} \
             GROUP BY category ORDER BY category"
                .into(),
        ),
        (
            "join",
            false,
            "SELECT c.label, count(*) AS n, sum(e.value) AS v FROM {events} e \
             JOIN {categories} c ON e.category = c.category GROUP BY c.label ORDER BY c.label"
                .into(),
        ),
        (
            "time_travel_v1",
            false,
            "SELECT count(*) AS n, sum(id) AS ids, avg(value) AS v FROM {events_v1}".into(),
        ),
    ]
}

fn fill(sql: &str, events: &str, events_v1: &str, categories: &str) -> String {
    sql.replace("{events_v1}", events_v1)
        .replace("{events}", events)
        .replace("{categories}", categories)
}

/// The rows of a result with floats rounded (sums of floats depend on the order of addition).
fn canonical(batches: &[RecordBatch]) -> Result<Vec<String>, BoxError> {
    let mut out = Vec::new();
    for b in batches {
        let options = arrow::util::display::FormatOptions::default();
        let formatters = b
            .columns()
            .iter()
            .map(|c| arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..b.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .zip(b.columns())
                .map(|(f, c)| {
                    let text = f.value(r).to_string();
                    if matches!(c.data_type(), DataType::Float64) {
                        text.parse::<f64>()
                            .map(|x| format!("{:.6e}", x))
                            .unwrap_or(text)
                    } else {
                        text
                    }
                })
                .collect();
            out.push(cells.join("|"));
        }
    }
    Ok(out)
}

async fn listing(ctx: &SessionContext, name: &str, files: &[String]) -> Result<(), BoxError> {
    let urls = files
        .iter()
        .map(ListingTableUrl::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .infer_schema(&ctx.state())
        .await?;
    ctx.register_table(name, Arc::new(ListingTable::try_new(config)?))?;
    Ok(())
}

pub(crate) async fn w8() -> Result<(), BoxError> {
    let rows = env_u64("STRATA_BENCH_ROWS", 10_000_000) as usize;
    let reps = env_u64("STRATA_BENCH_REPS", 5).max(1);
    // `bench/compare w8` prepares the tables once (`w8-prepare`) for every system to read.
    let prepared = std::env::var_os("STRATA_BENCH_W8_DIR")
        .map(std::path::PathBuf::from)
        .filter(|d| d.join("w8.json").is_file());
    let _scratch;
    let t = match prepared {
        Some(d) => {
            let manifest: serde_json::Value =
                serde_json::from_slice(&std::fs::read(d.join("w8.json"))?)?;
            W8Tables {
                events: Table::open(d.join("events").to_str().ok_or("path")?).await?,
                categories: Table::open(d.join("categories").to_str().ok_or("path")?).await?,
                rows: manifest["rows"].as_u64().ok_or("w8.json: no rows")? as usize,
            }
        }
        None => {
            let dir = tempfile::tempdir()?;
            let t = tables(dir.path(), rows).await?;
            _scratch = dir;
            t
        }
    };
    let strata = SqlSession::new(SqlOptions::default()).await?;
    // A variant of the provider, measured in the same run: the session settings of
    // `STRATA_BENCH_W8_SETTINGS` (`;`-separated `SET` statements, e.g.
    // `SET strata.batch_rows = 0`), reported as system `strata-variant`.
    let settings = std::env::var("STRATA_BENCH_W8_SETTINGS").unwrap_or_default();
    let variant = if settings.trim().is_empty() {
        None
    } else {
        let v = SqlSession::new(SqlOptions::default()).await?;
        for set in settings.split(';').filter(|s| !s.trim().is_empty()) {
            v.sql(set).await?;
        }
        eprintln!("w8: strata-variant is strata with `{settings}`");
        Some(v)
    };
    let df = SessionContext::new();
    listing(
        &df,
        "events",
        &files(&t.events, SnapshotSelector::Latest).await?,
    )
    .await?;
    listing(
        &df,
        "events_v1",
        &files(&t.events, SnapshotSelector::Version(1)).await?,
    )
    .await?;
    listing(
        &df,
        "categories",
        &files(&t.categories, SnapshotSelector::Latest).await?,
    )
    .await?;
    let (e, c) = (t.events.uri(), t.categories.uri());
    let (se, se1, sc) = (format!("'{e}'"), format!("'{e}@1'"), format!("'{c}'"));

    for (name, selective, sql) in queries(t.rows) {
        let strata_sql = fill(&sql, &se, &se1, &sc);
        let df_sql = fill(&sql, "events", "events_v1", "categories");
        // Same rows first (also the warm-up of both).
        let a = canonical(&strata.query(&strata_sql).await?)?;
        let b = canonical(&df.sql(&df_sql).await?.collect().await?)?;
        if a != b {
            return Err(format!("w8 {name}: strata and datafusion disagree:\n{a:?}\n{b:?}").into());
        }
        if let Some(v) = &variant
            && canonical(&v.query(&strata_sql).await?)? != a
        {
            return Err(format!("w8 {name}: the variant's settings change the rows").into());
        }
        let (mut ms_strata, mut ms_variant, mut ms_df) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            let start = Instant::now();
            strata.query(&strata_sql).await?;
            ms_strata.push(start.elapsed().as_secs_f64() * 1000.0);
            let start = Instant::now();
            df.sql(&df_sql).await?.collect().await?;
            ms_df.push(start.elapsed().as_secs_f64() * 1000.0);
            if let Some(v) = &variant {
                let start = Instant::now();
                v.query(&strata_sql).await?;
                ms_variant.push(start.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let (s, d) = (median(&mut ms_strata), median(&mut ms_df));
        emit("w8", "strata", &format!("{name}_ms"), s, "ms");
        emit("w8", "datafusion-listing", &format!("{name}_ms"), d, "ms");
        emit("w8", "strata", &format!("{name}_vs_listing"), s / d, "x");
        if variant.is_some() {
            let v = median(&mut ms_variant);
            emit("w8", "strata-variant", &format!("{name}_ms"), v, "ms");
            emit(
                "w8",
                "strata-variant",
                &format!("{name}_vs_listing"),
                v / d,
                "x",
            );
        }
        if selective {
            emit("w8", "strata", &format!("{name}_selective"), 1.0, "flag");
        }
    }
    Ok(())
}

/// `strata-bench w8-prepare DIR`: W8's tables in `DIR` and `DIR/w8.json` (rows, queries with
/// their tables spelled as `read_parquet` lists) for `bench/compare w8`.
pub(crate) async fn prepare(dir: &Path) -> Result<(), BoxError> {
    let rows = env_u64("STRATA_BENCH_ROWS", 10_000_000) as usize;
    std::fs::create_dir_all(dir)?;
    for sub in ["events", "categories"] {
        let p = dir.join(sub);
        if p.exists() {
            std::fs::remove_dir_all(&p)?;
        }
    }
    let t = tables(dir, rows).await?;
    let list = |files: Vec<String>| {
        format!(
            "read_parquet([{}])",
            files
                .iter()
                .map(|f| format!("'{f}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let events = list(files(&t.events, SnapshotSelector::Latest).await?);
    let events_v1 = list(files(&t.events, SnapshotSelector::Version(1)).await?);
    let categories = list(files(&t.categories, SnapshotSelector::Latest).await?);
    let queries: Vec<serde_json::Value> = queries(rows)
        .into_iter()
        .map(|(name, selective, sql)| {
            serde_json::json!({"name": name, "selective": selective,
                               "sql": fill(&sql, &events, &events_v1, &categories)})
        })
        .collect();
    let manifest = serde_json::json!({"rows": rows, "queries": queries});
    std::fs::write(dir.join("w8.json"), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(())
}
