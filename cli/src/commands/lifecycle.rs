//! `strata lifecycle run`: applies the tier policies of every table of a catalog, for cron.
//!
//! One summary line per table; a table that fails is reported and the others are still
//! processed; the exit code is non-zero when any table failed.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use strata_catalog::{Client, TableRef};
use strata_format::tiering::PriceTable;
use strata_table::{MoveOptions, Table};

use super::catalog::{Connection, cerr, client as catalog_client, open_committing_through};
use super::parse_time;
use super::tier::parse_duration_ms;
use crate::args::OutputFormat;
use crate::error::{CliError, CliResult};
use crate::output::{human_size, write_json};

/// `strata lifecycle ...`.
#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: LifecycleAction,
}

/// Lifecycle actions.
#[derive(Debug, Subcommand)]
pub enum LifecycleAction {
    /// Apply the tier policies of every table of every namespace of the catalog (--catalog URL
    /// or STRATA_CATALOG; token from STRATA_TOKEN). Prints one line per table; a failing table
    /// does not stop the others; exits non-zero when any table failed.
    ///
    /// JSON fields per table: table, status (moved, nothing, failed), files, bytes,
    /// moves[{tier, files, bytes, version}], error.
    ///
    /// Example: strata lifecycle run --catalog http://127.0.0.1:8181 --grace 1h
    Run {
        /// Evaluate the policies at this time (RFC 3339 or `2h ago`; default now).
        #[arg(long)]
        now: Option<String>,
        /// How long old copies stay for readers that resolved them (e.g. `1h`, `0s`).
        #[arg(long, default_value = "1h")]
        grace: String,
        /// Files copied at once, per table.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Only report what would move.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        conn: Connection,
    },
}

/// Files and bytes moved (or to move) to one tier.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct TierTotal {
    files: u64,
    bytes: u64,
    version: Option<u64>,
}

/// The outcome for one table.
#[derive(Debug)]
enum Outcome {
    /// Moves per target tier (empty: nothing to move).
    Moved(BTreeMap<String, TierTotal>),
    /// Why it failed.
    Failed(String),
}

/// One summary line.
fn summary(name: &str, outcome: &Outcome, dry_run: bool) -> String {
    match outcome {
        Outcome::Failed(reason) => format!("{name}: FAILED: {reason}"),
        Outcome::Moved(m) if m.is_empty() => format!("{name}: nothing to move"),
        Outcome::Moved(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(tier, t)| format!("{} file(s) ({}) to {tier}", t.files, human_size(t.bytes)))
                .collect();
            let verb = if dry_run { "would move" } else { "moved" };
            format!("{name}: {verb} {}", parts.join(", "))
        }
    }
}

fn to_json(name: &str, outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Failed(reason) => json!({"table": name, "status": "failed", "error": reason}),
        Outcome::Moved(m) => {
            let moves: Vec<Value> = m
                .iter()
                .map(|(tier, t)| {
                    json!({"tier": tier, "files": t.files, "bytes": t.bytes, "version": t.version})
                })
                .collect();
            json!({
                "table": name,
                "status": if m.is_empty() { "nothing" } else { "moved" },
                "files": m.values().map(|t| t.files).sum::<u64>(),
                "bytes": m.values().map(|t| t.bytes).sum::<u64>(),
                "moves": moves,
            })
        }
    }
}

async fn one_table(
    table: Table,
    now_ms: i64,
    options: &MoveOptions,
    dry_run: bool,
) -> CliResult<BTreeMap<String, TierTotal>> {
    let mut totals: BTreeMap<String, TierTotal> = BTreeMap::new();
    if dry_run {
        let plan = table.tier_plan(now_ms, &PriceTable::default()).await?;
        for m in plan.moves {
            let t = totals.entry(m.to_tier).or_default();
            t.files += 1;
            t.bytes += m.size;
        }
    } else {
        for r in table.apply_tier_policies(now_ms, options).await? {
            if r.moved.is_empty() {
                continue;
            }
            let t = totals.entry(r.tier).or_default();
            t.files += r.moved.len() as u64;
            t.bytes += r.bytes;
            t.version = r.version;
        }
    }
    Ok(totals)
}

/// A listed table, or why a namespace could not be listed.
type Listed = Result<(TableRef, String), String>;

/// Every table of every namespace: `(qualified name, table and location, or listing error)`.
async fn tables(client: &Client) -> CliResult<Vec<(String, Listed)>> {
    let mut out = Vec::new();
    for ns in client.list_namespaces().await.map_err(cerr)? {
        match client.list_tables(&ns.name).await {
            Ok(list) => out.extend(list.into_iter().map(|t| {
                let r = TableRef {
                    namespace: t.namespace,
                    table: t.name,
                };
                (r.to_string(), Ok((r, t.location)))
            })),
            Err(e) => out.push((ns.name.clone(), Err(format!("cannot list tables: {e}")))),
        }
    }
    Ok(out)
}

/// Runs a lifecycle command.
pub async fn lifecycle(
    args: LifecycleArgs,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let LifecycleAction::Run {
        now,
        grace,
        concurrency,
        dry_run,
        conn,
    } = args.action;
    let real_now = chrono::Utc::now().timestamp_millis();
    let now_ms = match now.as_deref() {
        Some(t) => parse_time(t, real_now)?,
        None => real_now,
    };
    let options = MoveOptions {
        concurrency: concurrency.max(1),
        grace: Duration::from_millis(u64::try_from(parse_duration_ms(&grace)?).unwrap_or(0)),
        ..MoveOptions::default()
    };
    let client = catalog_client(&conn)?;
    let mut failed = 0usize;
    let mut items = Vec::new();
    let list = tables(&client).await?;
    for (name, location) in &list {
        let outcome = match location {
            Err(reason) => Outcome::Failed(reason.clone()),
            Ok((r, loc)) => {
                // Moves commit through the catalog, like every write to a catalog table.
                let opened = open_committing_through(client.clone(), r.clone(), loc).await;
                match opened {
                    Ok(t) => match one_table(t, now_ms, &options, dry_run).await {
                        Ok(m) => Outcome::Moved(m),
                        Err(e) => Outcome::Failed(e.to_string()),
                    },
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            }
        };
        if matches!(outcome, Outcome::Failed(_)) {
            failed += 1;
        }
        match format {
            OutputFormat::Table | OutputFormat::Csv => {
                writeln!(out, "{}", summary(name, &outcome, dry_run))?;
                out.flush()?;
            }
            _ => items.push(to_json(name, &outcome)),
        }
    }
    if !matches!(format, OutputFormat::Table | OutputFormat::Csv) {
        let doc = json!({"dryRun": dry_run, "tables": items});
        write_json(format, &doc, Some(&items), out)?;
    }
    if failed > 0 {
        return Err(CliError::user(format!(
            "{failed} of {} table(s) failed; the others were processed",
            list.len()
        ))
        .with_hint("see the FAILED lines above; re-running finishes interrupted moves"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines_name_the_table_and_what_happened() {
        let mut m = BTreeMap::new();
        m.insert(
            "cold".to_string(),
            TierTotal {
                files: 2,
                bytes: 3 * 1024 * 1024,
                version: Some(4),
            },
        );
        assert_eq!(
            summary("s.e", &Outcome::Moved(m.clone()), false),
            "s.e: moved 2 file(s) (3.0 MiB) to cold"
        );
        assert!(summary("s.e", &Outcome::Moved(m.clone()), true).contains("would move"));
        assert_eq!(
            summary("s.e", &Outcome::Moved(BTreeMap::new()), false),
            "s.e: nothing to move"
        );
        assert_eq!(
            summary("s.e", &Outcome::Failed("gone".into()), false),
            "s.e: FAILED: gone"
        );
        assert_eq!(to_json("s.e", &Outcome::Moved(m))["files"], 2);
    }
}
