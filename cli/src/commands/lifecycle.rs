//! `strata lifecycle run`: the scheduled maintenance of every table of a catalog, for cron:
//! tier policies, compaction, log expiry and vacuum, as each table's `strata.maintenance.*`
//! properties describe, run by the catalog server.
//!
//! One summary line per table; a table that fails is reported and the others are still
//! processed; the exit code is non-zero when any table failed.

use std::io::Write;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use strata_catalog::maintenance::{MaintenanceBody, MaintenanceRequest, StepBody};
use strata_catalog::{Client, TableRef};

use super::catalog::{Connection, cerr, client as catalog_client};
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
    /// Maintain every table of every namespace of the catalog (--catalog URL or
    /// STRATA_CATALOG; token from STRATA_TOKEN): the catalog applies its tier policies
    /// (packing small files first where a policy asks), compacts small files, expires old
    /// versions and vacuums, as the table's properties say (strata.maintenance.optimize,
    /// .targetFileSizeBytes, .logRetention, .keepVersions, .vacuum, .vacuumRetention; expiry
    /// only with logRetention). Prints one line per table; a failing table does not stop the
    /// others; exits non-zero when any table failed.
    ///
    /// JSON fields per table: table, status (ok, failed), dryRun, settingsError, and per step
    /// (tiers, optimize, expire, vacuum) {status (done, skipped, failed), reason, detail}; error
    /// when the run could not happen.
    ///
    /// Example: strata lifecycle run --catalog http://127.0.0.1:8181 --grace 1h
    Run {
        /// Evaluate the tier policies at this time (RFC 3339 or `2h ago`; default now).
        #[arg(long)]
        now: Option<String>,
        /// How long old copies stay for readers that resolved them (e.g. `1h`, `0s`).
        #[arg(long, default_value = "1h")]
        grace: String,
        /// Files copied at once, per table.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Only report what would be done.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        conn: Connection,
    },
}

/// The outcome for one table.
#[derive(Debug)]
enum Outcome {
    /// What the catalog's maintenance run did.
    Ran(Box<MaintenanceBody>),
    /// Why the run could not happen.
    Failed(String),
}

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

/// The phrases of one step (none when it did nothing).
fn phrases(step: &str, body: &StepBody, dry_run: bool, out: &mut Vec<String>) {
    match body.status.as_str() {
        "failed" => {
            out.push(format!(
                "{step} FAILED: {}",
                body.reason.as_deref().unwrap_or("unknown error")
            ));
            return;
        }
        "done" => {}
        _ => return,
    }
    let d = &body.detail;
    match step {
        "tiers" => {
            if num(d, "packedFiles") > 0 {
                out.push(format!(
                    "packed {} small file(s) into {}",
                    num(d, "packedFiles"),
                    num(d, "packedInto")
                ));
            }
            for m in d["moves"].as_array().into_iter().flatten() {
                out.push(format!(
                    "{} {} file(s) ({}) to {}",
                    if dry_run { "would move" } else { "moved" },
                    num(m, "files"),
                    human_size(num(m, "bytes")),
                    m["tier"].as_str().unwrap_or("?")
                ));
            }
        }
        "optimize" if num(d, "filesRemoved") > 0 => out.push(if dry_run {
            format!(
                "would optimize {} file(s) ({})",
                num(d, "filesRemoved"),
                human_size(num(d, "bytesRemoved"))
            )
        } else {
            format!(
                "optimized {} file(s) ({}) into {}",
                num(d, "filesRemoved"),
                human_size(num(d, "bytesRemoved")),
                num(d, "filesAdded")
            )
        }),
        "expire" if num(d, "oldestVersion") > num(d, "oldestVersionBefore") => out.push(format!(
            "{} versions before {}",
            if dry_run { "would expire" } else { "expired" },
            num(d, "oldestVersion")
        )),
        "vacuum" if num(d, "objects") > 0 => out.push(format!(
            "{} {} object(s) ({})",
            if dry_run { "would vacuum" } else { "vacuumed" },
            num(d, "objects"),
            human_size(num(d, "bytes"))
        )),
        _ => {}
    }
}

/// One summary line.
fn summary(name: &str, outcome: &Outcome, dry_run: bool) -> String {
    match outcome {
        Outcome::Failed(reason) => format!("{name}: FAILED: {reason}"),
        Outcome::Ran(b) => {
            if let Some(e) = &b.settings_error {
                return format!("{name}: FAILED: invalid maintenance settings: {e}");
            }
            let mut parts = Vec::new();
            phrases("tiers", &b.tiers, dry_run, &mut parts);
            phrases("optimize", &b.optimize, dry_run, &mut parts);
            phrases("expire", &b.expire, dry_run, &mut parts);
            phrases("vacuum", &b.vacuum, dry_run, &mut parts);
            if parts.is_empty() {
                format!("{name}: nothing to do")
            } else {
                format!("{name}: {}", parts.join("; "))
            }
        }
    }
}

fn to_json(name: &str, outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Failed(reason) => json!({"table": name, "status": "failed", "error": reason}),
        Outcome::Ran(b) => {
            let mut v = serde_json::to_value(b).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("table".into(), Value::from(name));
            }
            v
        }
    }
}

fn failed(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Failed(_) => true,
        Outcome::Ran(b) => b.status != "ok",
    }
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
    let now = match now.as_deref() {
        Some(t) => {
            let ms = parse_time(t, chrono::Utc::now().timestamp_millis())?;
            chrono::DateTime::from_timestamp_millis(ms).map(|d| d.to_rfc3339())
        }
        None => None,
    };
    let grace_ms = parse_duration_ms(&grace)?;
    let req = MaintenanceRequest {
        now,
        dry_run,
        grace_seconds: Some(u64::try_from(grace_ms / 1000).unwrap_or(0)),
        concurrency: Some(concurrency.max(1)),
    };
    let client = catalog_client(&conn)?;
    let mut failures = 0usize;
    let mut items = Vec::new();
    let list = tables(&client).await?;
    for (name, location) in &list {
        // The catalog runs each table's maintenance (it deletes objects, not this client).
        let outcome = match location {
            Err(reason) => Outcome::Failed(reason.clone()),
            Ok((r, _)) => match client.maintain(r, &req).await {
                Ok(body) => Outcome::Ran(Box::new(body)),
                Err(e) => Outcome::Failed(e.to_string()),
            },
        };
        if failed(&outcome) {
            failures += 1;
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
    if failures > 0 {
        return Err(CliError::user(format!(
            "{failures} of {} table(s) failed; the others were processed",
            list.len()
        ))
        .with_hint("see the FAILED lines above; re-running finishes interrupted moves"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(status: &str, detail: Value) -> StepBody {
        StepBody {
            status: status.into(),
            reason: (status == "failed").then(|| "boom".to_string()),
            detail,
        }
    }

    #[test]
    fn summary_lines_name_the_table_and_what_happened() {
        let body = MaintenanceBody {
            dry_run: false,
            status: "failed".into(),
            settings_error: None,
            tiers: step(
                "done",
                json!({"moves": [{"tier": "cold", "files": 2, "bytes": 3 << 20}],
                    "packedFiles": 4, "packedInto": 1}),
            ),
            optimize: step(
                "done",
                json!({"filesRemoved": 5, "bytesRemoved": 1024, "filesAdded": 1}),
            ),
            expire: step("skipped", Value::Null),
            vacuum: step("failed", Value::Null),
        };
        let ran = Outcome::Ran(Box::new(body.clone()));
        assert_eq!(
            summary("s.e", &ran, false),
            "s.e: packed 4 small file(s) into 1; moved 2 file(s) (3.0 MiB) to cold; optimized 5 \
             file(s) (1.0 KiB) into 1; vacuum FAILED: boom"
        );
        assert!(summary("s.e", &ran, true).contains("would move"));
        assert!(failed(&ran));
        let quiet = MaintenanceBody {
            status: "ok".into(),
            tiers: step("done", json!({"moves": []})),
            optimize: step("done", json!({"filesRemoved": 0})),
            vacuum: step("done", json!({"objects": 0})),
            ..body
        };
        let quiet = Outcome::Ran(Box::new(quiet));
        assert_eq!(summary("s.e", &quiet, false), "s.e: nothing to do");
        assert!(!failed(&quiet));
        assert_eq!(
            summary("s.e", &Outcome::Failed("gone".into()), false),
            "s.e: FAILED: gone"
        );
        assert_eq!(to_json("s.e", &ran)["table"], "s.e");
    }
}
