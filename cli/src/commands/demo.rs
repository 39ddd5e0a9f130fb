//! `strata demo`: builds a sample table in a local folder and walks through what Strata does.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use strata_format::TierDef;
use strata_format::compact::{parse_partition_spec, parse_schema};
use strata_format::partition::FIRST_PARTITION_FIELD_ID;
use strata_format::tiering::{DAY_MS, PolicyCondition, TierPolicy};
use strata_table::{CreateTable, MoveOptions, SnapshotSelector, Table};

use super::inspect;
use crate::args::{OutputFormat, Selector};
use crate::error::{CliError, CliResult};
use crate::output::{human_size, time};

const DAY_US: i64 = 86_400_000_000;
const START_US: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

/// `rows` sample events on day `day` (0-based from 2026-01-01), ids from `first_id`.
fn events(day: i64, first_id: i64, rows: usize) -> CliResult<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("category", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
    ]));
    let n = rows as i64;
    let ids: Vec<i64> = (first_id..first_id + n).collect();
    let ts: Vec<i64> = (0..n)
        .map(|i| START_US + day * DAY_US + i * (DAY_US / n))
        .collect();
    let cats: Vec<String> = (0..n).map(|i| format!("cat-{:02}", i % 10)).collect();
    let values: Vec<Option<f64>> = (0..n)
        .map(|i| {
            if i % 17 == 0 {
                None
            } else {
                Some(i as f64 * 0.5)
            }
        })
        .collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
            Arc::new(StringArray::from(cats)),
            Arc::new(Float64Array::from(values)),
        ],
    )
    .map_err(|e| CliError::user(format!("building demo data: {e}")))
}

async fn count(table: &Table, version: u64) -> CliResult<usize> {
    let batches = table
        .scan()
        .snapshot(SnapshotSelector::Version(version))
        .plan()
        .await?
        .collect()
        .await?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

fn step(out: &mut impl Write, n: u32, text: &str) -> CliResult {
    writeln!(out)?;
    writeln!(out, "== {n}. {text}")?;
    Ok(())
}

/// Runs the demo in `dir`.
pub async fn demo(dir: &str, out: &mut impl Write) -> CliResult {
    let root = std::path::Path::new(dir);
    if root.exists() {
        let is_demo = root.join("events").join("_strata_log").is_dir();
        let empty = std::fs::read_dir(root)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !is_demo && !empty {
            return Err(CliError::user(format!(
                "`{dir}` exists and does not hold an earlier demo; not touching it"
            ))
            .with_hint("pass another folder: strata demo ./some-new-folder"));
        }
        std::fs::remove_dir_all(root)
            .map_err(|e| CliError::user(format!("cannot clear `{dir}`: {e}")))?;
    }
    let uri = root.join("events").to_string_lossy().into_owned();

    step(out, 1, "create a table partitioned by day(ts)")?;
    let schema = parse_schema("id:int64,ts:timestamptz,category:string,value:float64?")?;
    let spec = parse_partition_spec("day(ts)", &schema, 0, FIRST_PARTITION_FIELD_ID)?;
    let table = Table::create(
        &uri,
        CreateTable::new(schema)
            .with_partition_spec(spec)
            .with_property("strata.checkpointInterval", "5"),
    )
    .await?;
    writeln!(out, "created {} (version 0)", table.uri())?;

    step(
        out,
        2,
        "append three days of events, one atomic commit each",
    )?;
    for day in 0..3 {
        let c = table.append([events(day, day * 10_000, 5_000)?]).await?;
        let s = &c.snapshot;
        writeln!(
            out,
            "version {}: +5000 rows -> {} rows in {} Parquet files ({})",
            c.version,
            s.record_count(),
            s.files().len(),
            human_size(s.size_in_bytes())
        )?;
    }

    step(
        out,
        3,
        "tag version 2 as `before-backfill`, then overwrite everything",
    )?;
    table.create_tag("before-backfill", 2).await?;
    let c = table
        .write(
            futures::stream::iter([Ok(events(7, 100_000, 2_000)?)]),
            strata_table::WriteOptions::overwrite(),
        )
        .await?;
    writeln!(
        out,
        "version {}: overwrite -> {} rows in {} files",
        c.version,
        c.snapshot.record_count(),
        c.snapshot.files().len()
    )?;

    step(out, 4, "time travel: by version, by tag, by timestamp")?;
    let latest = table.latest().await?;
    for (label, sel) in [
        ("version 1", SnapshotSelector::Version(1)),
        (
            "tag before-backfill",
            SnapshotSelector::Tag("before-backfill".into()),
        ),
        (
            "as of the second append",
            SnapshotSelector::Timestamp(
                table
                    .snapshot(&SnapshotSelector::Version(2))
                    .await?
                    .timestamp(),
            ),
        ),
        ("latest", SnapshotSelector::Latest),
    ] {
        let s = table.snapshot(&sel).await?;
        writeln!(
            out,
            "{label:<26} -> version {} ({}): {} rows",
            s.version(),
            time(s.timestamp()),
            s.record_count()
        )?;
    }

    step(out, 5, "restore the tagged version as a new commit")?;
    let r = table.restore(2).await?;
    writeln!(
        out,
        "version {}: restored version 2 -> {} rows (version {} still readable: {} rows)",
        r.version,
        r.snapshot.record_count(),
        latest.version(),
        table
            .snapshot(&SnapshotSelector::Version(latest.version()))
            .await?
            .record_count()
    )?;

    step(
        out,
        6,
        "a pruned scan: one day and one category, reading only what can match",
    )?;
    let filter = "ts >= TIMESTAMP '2026-01-02 00:00:00' AND ts < TIMESTAMP '2026-01-03 00:00:00' \
                  AND category = 'cat-03'";
    let scan = table
        .scan()
        .filter(strata_format::expr::Expr::parse(filter)?)
        .plan()
        .await?;
    let metrics = scan.metrics();
    let rows: usize = futures::TryStreamExt::try_collect::<Vec<_>>(scan.stream())
        .await?
        .iter()
        .map(|b| b.num_rows())
        .sum();
    let r = metrics.report();
    writeln!(out, "WHERE {filter}")?;
    writeln!(
        out,
        "-> {rows} rows; files read {} of {} ({} skipped by partition, {} by statistics); \
         {} of {} fetched",
        r.files_read,
        r.files_total,
        r.files_pruned_by_partition,
        r.files_pruned_by_stats,
        human_size(r.bytes_scanned),
        human_size(r.bytes_total)
    )?;
    let d = table
        .delete(strata_format::expr::Expr::parse("category = 'cat-03'")?)
        .await?;
    let marked = d
        .snapshot
        .commit_info()
        .operation_metrics
        .get("numDeletionVectors")
        .copied()
        .unwrap_or(0);
    writeln!(
        out,
        "DELETE WHERE category = 'cat-03' -> version {}: {} rows left ({marked} files keep \
         their bytes; the deleted rows are marked in deletion vectors)",
        d.version,
        d.snapshot.record_count()
    )?;

    step(
        out,
        7,
        "checkpoint, so that opening reads one checkpoint plus a few commits",
    )?;
    let v = table.checkpoint().await?;
    writeln!(out, "checkpoint written at version {v}")?;

    step(
        out,
        8,
        "storage tiers: a cold folder, a policy, a move that keeps time travel",
    )?;
    let cold = std::path::absolute(root.join("cold-tier"))
        .map_err(|e| CliError::user(format!("cannot resolve the cold folder: {e}")))?;
    let tiers = vec![
        TierDef {
            name: "hot".into(),
            location: None,
            storage_class: None,
        },
        TierDef {
            name: "cold".into(),
            location: Some(format!("file://{}", cold.display())),
            storage_class: None,
        },
    ];
    table.set_tiers(tiers, None).await?;
    let ts_id = table
        .latest()
        .await?
        .schema()
        .field_by_name("ts")
        .map(|f| f.id)
        .ok_or_else(|| CliError::user("the demo table lost its `ts` column"))?;
    table
        .set_tier_policies(vec![TierPolicy {
            id: "cold-after-1d".into(),
            tier: "cold".into(),
            condition: PolicyCondition::DataAge {
                field_id: ts_id,
                older_than_ms: DAY_MS,
            },
            pack_target_bytes: None,
        }])
        .await?;
    // Evaluated as of 2026-01-03 01:00 UTC: only the first day is older than one day then.
    let now = START_US / 1000 + 2 * DAY_MS + 3_600_000;
    let before_move = table.latest().await?.version();
    let plan = table.tier_plan(now, &Default::default()).await?;
    writeln!(
        out,
        "policy `ts older than 1 day`, evaluated at {}: {} file(s), {} to move to cold",
        time(now),
        plan.moves.len(),
        human_size(plan.moves.iter().map(|m| m.size).sum())
    )?;
    let options = MoveOptions {
        grace: std::time::Duration::ZERO,
        ..MoveOptions::default()
    };
    for r in table.apply_tier_policies(now, &options).await? {
        if let Some(v) = r.version {
            writeln!(
                out,
                "version {v}: moved {} file(s) to `{}` under {}",
                r.moved.len(),
                r.tier,
                cold.display()
            )?;
        }
    }
    let rows_then = count(&table, before_move).await?;
    let rows_now = count(&table, table.latest().await?.version()).await?;
    writeln!(
        out,
        "version {before_move} (before the move) still reads {rows_then} rows, the latest \
         {rows_now}: old versions find moved files at their new location"
    )?;

    step(out, 9, "the snapshot and its files")?;
    let t = Table::open(&uri).await?;
    inspect::show(&t, &Selector::default(), OutputFormat::Table, out).await?;
    writeln!(out)?;
    inspect::files(&t, &Selector::default(), OutputFormat::Table, out).await?;

    step(out, 10, "history")?;
    inspect::history(&t, None, OutputFormat::Table, out).await?;

    step(out, 11, "what changed since the tag: strata diff")?;
    super::diff::run(&t, "before-backfill", "latest", OutputFormat::Table, out).await?;
    writeln!(out)?;
    writeln!(
        out,
        "Try: strata show {uri} --tag before-backfill   |   strata history {uri} --output json   \
         |   strata diff {uri} 1 latest --output json"
    )?;
    Ok(())
}
