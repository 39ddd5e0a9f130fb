//! `strata tier ...`: tiers, policies, plans, moves and reports.

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use strata_format::TierDef;
use strata_format::expr::Expr;
use strata_format::tiering::{PolicyCondition, PriceTable, TierPolicy, TierUsage};
use strata_table::{
    MoveOptions, MoveReport, OnArchived, RestoreOptions, RestoreReport, RestoreSpeed, Table,
};

use super::{open, parse_time, selector};
use crate::args::{OutputFormat, RestoreArgs, RestoreSpeedArg, Selector};
use crate::error::{CliError, CliResult};
use crate::output::{TextTable, human_size, time, write_csv, write_json};

/// `strata tier ...`.
#[derive(Debug, Args)]
pub struct TierArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: TierAction,
}

/// Options of commands that move files.
#[derive(Debug, Clone, Args)]
pub struct MoveArgs {
    /// How long old copies stay for readers that resolved them (e.g. `1h`, `0s`).
    #[arg(long, default_value = "1h")]
    pub grace: String,
    /// Files copied at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// Tier actions.
#[derive(Debug, Subcommand)]
pub enum TierAction {
    /// Define the table's tiers (replaces the current definition).
    ///
    /// Example: strata tier set ./events --tier hot --tier warm=s3://archive/events,class=STANDARD_IA --tier cold=s3://archive/events-cold,class=GLACIER
    Set {
        /// Table.
        table: String,
        /// `NAME`, `NAME=URI` or `NAME=URI,class=CLASS` (repeatable, hottest first). A tier
        /// without URI lives at the table root.
        #[arg(long = "tier", required = true)]
        tiers: Vec<String>,
        /// Tier new data lands in (default: the first).
        #[arg(long)]
        default: Option<String>,
    },
    /// Add, list or remove tier policies.
    ///
    /// Example: strata tier policy ./events add cold180 --to cold --column ts --older-than 180d
    Policy {
        /// Table.
        table: String,
        /// What to do.
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// Dry run: files and bytes the policies would move, and the monthly cost before and after.
    ///
    /// JSON fields: version, now, moves[{path, size, fromTier, toTier, policy}], before[], after[]
    /// (per tier: tier, storageClass, files, bytes, monthlyCost).
    ///
    /// Example: strata tier plan ./events --now '2027-01-01T00:00:00Z'
    Plan {
        /// Table.
        table: String,
        /// Evaluate the policies at this time (RFC 3339 or `2h ago`; default now).
        #[arg(long)]
        now: Option<String>,
        /// JSON object of USD per GB-month by storage class (default: AWS list prices).
        #[arg(long)]
        prices: Option<String>,
    },
    /// Apply the policies: move what they select, then clean up old copies past the grace.
    ///
    /// Example: strata tier apply ./events --grace 1h
    Apply {
        /// Table.
        table: String,
        /// Evaluate the policies at this time (default now).
        #[arg(long)]
        now: Option<String>,
        /// Only show what would move (same as `tier plan`).
        #[arg(long)]
        dry_run: bool,
        /// Move options.
        #[command(flatten)]
        options: MoveArgs,
    },
    /// Move the files that may hold rows matching a filter to a tier.
    ///
    /// Example: strata tier move ./events --where "ts < TIMESTAMP '2026-01-01 00:00:00'" --to cold
    Move {
        /// Table.
        table: String,
        /// Which files (by partition values and statistics).
        #[arg(long = "where")]
        filter: String,
        /// Target tier.
        #[arg(long)]
        to: String,
        /// Move options.
        #[command(flatten)]
        options: MoveArgs,
    },
    /// Restore archived files (S3 GLACIER, DEEP_ARCHIVE) so they can be read: starts
    /// RestoreObject for each file that may hold matching rows, records the restore in the
    /// table, waits until it completes and records when the restored copies expire.
    ///
    /// JSON fields: version, files[{path, location, storageClass, expiresMs}], readable.
    ///
    /// Example: strata tier restore ./events --where "ts < TIMESTAMP '2025-01-01 00:00:00'" --days 3
    Restore {
        /// Table.
        table: String,
        /// Which files (by partition values and statistics; default: all).
        #[arg(long = "where")]
        filter: Option<String>,
        /// Version whose files to restore (default: the latest).
        #[command(flatten)]
        selector: Selector,
        /// Return once the restores are requested and recorded, without waiting.
        #[arg(long)]
        no_wait: bool,
        /// Restore options.
        #[command(flatten)]
        options: RestoreArgs,
    },
    /// Bytes, files and monthly cost per tier.
    ///
    /// JSON fields per tier: tier, storageClass, files, bytes, monthlyCost.
    ///
    /// Example: strata tier report ./events --output json
    Report {
        /// Table.
        table: String,
        /// JSON object of USD per GB-month by storage class (default: AWS list prices).
        #[arg(long)]
        prices: Option<String>,
    },
    /// Delete old copies of finished moves past the grace period (also done by apply/move).
    ///
    /// Example: strata tier cleanup ./events --grace 1h
    Cleanup {
        /// Table.
        table: String,
        /// Move options.
        #[command(flatten)]
        options: MoveArgs,
    },
}

/// Policy actions.
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Add a policy: files move to `--to` after `--older-than`, counted from their commit
    /// (`--after-commit`) or from the newest value of a date/timestamp `--column`.
    ///
    /// Example: strata tier policy ./events add warm30 --to warm --after-commit --older-than 30d
    Add {
        /// Policy id.
        id: String,
        /// Target tier.
        #[arg(long)]
        to: String,
        /// Age, e.g. `30d`, `12h`, `2w`.
        #[arg(long)]
        older_than: String,
        /// Count the age from the file's commit.
        #[arg(long, conflicts_with = "column", required_unless_present = "column")]
        after_commit: bool,
        /// Count the age from the newest value of this date/timestamp column (its partition
        /// value or its max statistic).
        #[arg(long)]
        column: Option<String>,
        /// Pack the files this policy moves that are smaller than ¾ of SIZE into files of
        /// about SIZE, written in the target tier, before moving (e.g. 128MiB): cold classes
        /// bill each small object as 128 KiB or more.
        #[arg(long, value_name = "SIZE")]
        pack_target: Option<String>,
    },
    /// List the policies.
    ///
    /// Example: strata tier policy ./events list
    List,
    /// Remove a policy.
    ///
    /// Example: strata tier policy ./events remove warm30
    Remove {
        /// Policy id.
        id: String,
    },
}

/// Parses `30d`, `12h`, `90m`, `45s`, `2w`, `500ms` into milliseconds.
pub fn parse_duration_ms(text: &str) -> CliResult<i64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit_ms = match unit.trim() {
        "ms" => Some(1),
        "s" => Some(1_000),
        "m" => Some(60_000),
        "h" => Some(3_600_000),
        "d" => Some(86_400_000),
        "w" => Some(7 * 86_400_000),
        _ => None,
    };
    match (num.parse::<i64>(), unit_ms) {
        (Ok(n), Some(u)) => n
            .checked_mul(u)
            .ok_or_else(|| CliError::user(format!("duration `{text}` is too large"))),
        _ => Err(CliError::user(format!("cannot read the duration `{text}`"))
            .with_hint("use a number and a unit: 500ms, 45s, 90m, 12h, 30d, 2w")),
    }
}

fn parse_tier(spec: &str) -> CliResult<TierDef> {
    let mut parts = spec.split(',');
    let head = parts.next().unwrap_or_default().trim();
    let (name, location) = match head.split_once('=') {
        Some((n, l)) => (n.trim(), Some(l.trim().trim_end_matches('/').to_string())),
        None => (head, None),
    };
    let location = match location {
        Some(l) if !l.contains("://") => {
            let abs = std::path::absolute(&l).map_err(|e| {
                CliError::user(format!(
                    "tier `{name}`: cannot resolve the folder `{l}`: {e}"
                ))
            })?;
            Some(format!("file://{}", abs.display()))
        }
        other => other,
    };
    let mut storage_class = None;
    for p in parts {
        match p.split_once('=') {
            Some(("class", c)) => storage_class = Some(c.trim().to_ascii_uppercase()),
            _ => {
                return Err(
                    CliError::user(format!("tier `{spec}`: unknown option `{p}`"))
                        .with_hint("e.g. --tier cold=s3://bucket/cold,class=GLACIER"),
                );
            }
        }
    }
    Ok(TierDef {
        name: name.to_string(),
        location,
        storage_class,
    })
}

fn prices(path: Option<&str>) -> CliResult<PriceTable> {
    let Some(p) = path else {
        return Ok(PriceTable::default());
    };
    let text = std::fs::read_to_string(p)
        .map_err(|e| CliError::user(format!("cannot read the price table `{p}`: {e}")))?;
    let mut table = PriceTable::default();
    let given: std::collections::BTreeMap<String, f64> =
        serde_json::from_str(&text).map_err(|e| {
            CliError::user(format!("price table `{p}`: {e}"))
                .with_hint("a JSON object like {\"STANDARD\": 0.023, \"GLACIER\": 0.0036}")
        })?;
    table.0.extend(given);
    Ok(table)
}

/// Restore options from the command line.
pub(crate) fn restore_options(a: &RestoreArgs) -> CliResult<RestoreOptions> {
    let poll = parse_duration_ms(&a.poll)?;
    let timeout = a
        .wait_timeout
        .as_deref()
        .map(parse_duration_ms)
        .transpose()?;
    let ms = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
    Ok(RestoreOptions {
        days: a.days.max(1),
        speed: match a.speed {
            RestoreSpeedArg::Expedited => RestoreSpeed::Expedited,
            RestoreSpeedArg::Standard => RestoreSpeed::Standard,
            RestoreSpeedArg::Bulk => RestoreSpeed::Bulk,
        },
        wait: true,
        poll_interval: ms(poll).max(Duration::from_millis(100)),
        timeout: timeout.map(ms),
        ..RestoreOptions::default()
    })
}

fn write_restore(report: &RestoreReport, format: OutputFormat, out: &mut impl Write) -> CliResult {
    if format == OutputFormat::Table {
        let ready: Vec<_> = report.files.iter().filter_map(|f| f.expires_ms).collect();
        let pending = report.files.len() - ready.len();
        match report.version {
            None => writeln!(
                out,
                "nothing to restore: {} file(s) readable already",
                report.readable
            )?,
            Some(v) => {
                write!(out, "version {v}: {} file(s) restored", ready.len())?;
                if let Some(first) = ready.iter().min() {
                    write!(out, " until {}", time(*first))?;
                }
                if pending > 0 {
                    write!(out, "; {pending} restore(s) in progress")?;
                }
                writeln!(out, "; {} file(s) readable already", report.readable)?;
            }
        }
        return Ok(());
    }
    let items: Vec<Value> = report.files.iter().map(|f| json!(f)).collect();
    write_json(format, &json!(report), Some(&items), out)
}

fn move_options(a: &MoveArgs) -> CliResult<MoveOptions> {
    let grace = parse_duration_ms(&a.grace)?;
    Ok(MoveOptions {
        concurrency: a.concurrency.max(1),
        grace: Duration::from_millis(u64::try_from(grace).unwrap_or(0)),
        ..MoveOptions::default()
    })
}

/// A bytes bar over `total` (hidden when piped or quiet) wired into the move's progress hook.
fn with_progress(
    mut options: MoveOptions,
    total: u64,
    quiet: bool,
) -> (MoveOptions, indicatif::ProgressBar) {
    let bar = crate::style::bytes_bar(total, quiet);
    let progress = bar.clone();
    options.on_copied = Some(std::sync::Arc::new(move |n| progress.inc(n)));
    (options, bar)
}

fn now_ms(now: Option<&str>) -> CliResult<i64> {
    let real = chrono::Utc::now().timestamp_millis();
    match now {
        Some(t) => parse_time(t, real),
        None => Ok(real),
    }
}

fn usage_rows(usage: &[TierUsage]) -> Vec<Vec<String>> {
    usage
        .iter()
        .map(|u| {
            vec![
                u.tier.clone(),
                u.storage_class.clone().unwrap_or_else(|| "-".into()),
                u.files.to_string(),
                human_size(u.bytes),
                human_size(u.billed_bytes),
                format!("${:.4}", u.monthly_cost),
            ]
        })
        .collect()
}

const USAGE_HEADER: [&str; 6] = ["TIER", "CLASS", "FILES", "BYTES", "BILLED", "COST/MONTH"];

fn write_moves(reports: &[MoveReport], format: OutputFormat, out: &mut impl Write) -> CliResult {
    if format == OutputFormat::Table {
        for r in reports {
            match r.version {
                Some(v) if r.packed_files > 0 => writeln!(
                    out,
                    "version {v}: packed {} small file(s) into {} ({}) in {}",
                    r.packed_files,
                    r.packed_into,
                    human_size(r.bytes),
                    r.tier
                )?,
                Some(v) => writeln!(
                    out,
                    "version {v}: moved {} file(s), {} to {}{}; {} old copies deleted",
                    r.moved.len(),
                    human_size(r.bytes),
                    r.tier,
                    if r.dropped.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} removed concurrently, left out)", r.dropped.len())
                    },
                    r.cleaned
                )?,
                None if !r.skipped_archived.is_empty() => writeln!(
                    out,
                    "{} archived file(s) left where they are: restore them first (strata tier \
                     restore)",
                    r.skipped_archived.len()
                )?,
                None => writeln!(out, "nothing to move; {} old copies deleted", r.cleaned)?,
            }
        }
        return Ok(());
    }
    let items: Vec<Value> = reports.iter().map(|r| json!(r)).collect();
    write_json(format, &json!({"moves": items}), Some(&items), out)
}

/// Runs a tier command.
pub async fn tier(
    args: TierArgs,
    format: OutputFormat,
    quiet: bool,
    out: &mut impl Write,
) -> CliResult {
    match args.action {
        TierAction::Set {
            table,
            tiers,
            default,
        } => {
            let t = open(&table).await?;
            let defs = tiers
                .iter()
                .map(|s| parse_tier(s))
                .collect::<CliResult<Vec<_>>>()?;
            let c = t.set_tiers(defs, default).await?;
            writeln!(out, "committed version {}: tiers set", c.version)?;
            Ok(())
        }
        TierAction::Policy { table, action } => {
            policy(&open(&table).await?, action, format, out).await
        }
        TierAction::Plan {
            table,
            now,
            prices: p,
        } => {
            plan(
                &open(&table).await?,
                now.as_deref(),
                p.as_deref(),
                format,
                out,
            )
            .await
        }
        TierAction::Apply {
            table,
            now,
            dry_run,
            options,
        } => {
            let t = open(&table).await?;
            if dry_run {
                return plan(&t, now.as_deref(), None, format, out).await;
            }
            let now = now_ms(now.as_deref())?;
            let planned = t.tier_plan(now, &PriceTable::default()).await?;
            let total = planned.moves.iter().map(|m| m.size).sum();
            let (options, bar) = with_progress(move_options(&options)?, total, quiet);
            let reports = t.apply_tier_policies(now, &options).await;
            bar.finish_and_clear();
            write_moves(&reports?, format, out)
        }
        TierAction::Move {
            table,
            filter,
            to,
            options,
        } => {
            let t = open(&table).await?;
            let scan = t
                .scan()
                .filter(Expr::parse(&filter)?)
                .on_archived(OnArchived::Include)
                .plan()
                .await?;
            let paths: Vec<String> = scan.files().iter().map(|f| f.path.clone()).collect();
            let total = scan.files().iter().map(|f| f.size).sum();
            let (options, bar) = with_progress(move_options(&options)?, total, quiet);
            let report = t.move_files(&paths, &to, &options).await;
            bar.finish_and_clear();
            write_moves(&[report?], format, out)
        }
        TierAction::Restore {
            table,
            filter,
            selector: sel,
            no_wait,
            options,
        } => {
            let t = open(&table).await?;
            let mut builder = t
                .scan()
                .snapshot(selector(&sel)?)
                .on_archived(OnArchived::Include);
            if let Some(f) = &filter {
                builder = builder.filter(Expr::parse(f)?);
            }
            let scan = builder.plan().await?;
            let paths: Vec<String> = scan.files().iter().map(|f| f.path.clone()).collect();
            let mut options = restore_options(&options)?;
            options.wait = !no_wait;
            let spinner = crate::style::spinner("waiting for restores", quiet);
            let report = t.restore_files(&paths, &options).await;
            spinner.finish_and_clear();
            write_restore(&report?, format, out)
        }
        TierAction::Report { table, prices: p } => {
            let t = open(&table).await?;
            let usage = t.tier_report(&prices(p.as_deref())?).await?;
            match format {
                OutputFormat::Table => {
                    let mut tt = TextTable::new(&USAGE_HEADER);
                    for r in usage_rows(&usage) {
                        tt.row(r);
                    }
                    tt.write(out)
                }
                OutputFormat::Csv => write_csv(&USAGE_HEADER, &usage_rows(&usage), out),
                _ => {
                    let items: Vec<Value> = usage.iter().map(|u| json!(u)).collect();
                    write_json(
                        format,
                        &json!({"table": t.uri(), "tiers": items}),
                        Some(&items),
                        out,
                    )
                }
            }
        }
        TierAction::Cleanup { table, options } => {
            let n = open(&table)
                .await?
                .tier_cleanup(&move_options(&options)?)
                .await?;
            writeln!(out, "{n} old copies deleted")?;
            Ok(())
        }
    }
}

async fn plan(
    t: &Table,
    now: Option<&str>,
    price_file: Option<&str>,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let p = t.tier_plan(now_ms(now)?, &prices(price_file)?).await?;
    if format == OutputFormat::Table {
        let mut tt = TextTable::new(&["PATH", "SIZE", "FROM", "TO", "POLICY", "PACKED"]);
        for m in &p.moves {
            let packed = m
                .pack_target
                .filter(|t| m.size.saturating_mul(4) < t.saturating_mul(3))
                .map_or("-".to_string(), |t| format!("into ~{}", human_size(t)));
            tt.row(vec![
                m.path.clone(),
                human_size(m.size),
                m.from_tier.clone(),
                m.to_tier.clone(),
                m.policy.clone(),
                packed,
            ]);
        }
        tt.write(out)?;
        let bytes: u64 = p.moves.iter().map(|m| m.size).sum();
        let cost = |u: &[TierUsage]| u.iter().map(|x| x.monthly_cost).sum::<f64>();
        let billed = |u: &[TierUsage]| u.iter().map(|x| x.billed_bytes).sum::<u64>();
        writeln!(
            out,
            "\n{} file(s), {} to move at {} (version {}); storage ${:.4}/month now, ${:.4} after \
             (billed {} now, {} after: small objects count as 128 KiB in IA classes)",
            p.moves.len(),
            human_size(bytes),
            time(p.now_ms),
            p.version,
            cost(&p.before),
            cost(&p.after),
            human_size(billed(&p.before)),
            human_size(billed(&p.after)),
        )?;
        return Ok(());
    }
    let doc = json!({
        "version": p.version,
        "now": time(p.now_ms),
        "moves": p.moves,
        "before": p.before,
        "after": p.after,
    });
    let items: Vec<Value> = p.moves.iter().map(|m| json!(m)).collect();
    write_json(format, &doc, Some(&items), out)
}

async fn policy(
    t: &Table,
    action: PolicyAction,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let current = t.latest().await?.metadata().policies.clone();
    match action {
        PolicyAction::List => {
            if format == OutputFormat::Table {
                let schema = t.latest().await?.schema().clone();
                let index = schema.field_index();
                let mut tt = TextTable::new(&["ID", "TO", "WHEN"]);
                for p in &current {
                    let days = |ms: i64| format!("{:.4}", ms as f64 / 86_400_000.0);
                    let when = match &p.condition {
                        PolicyCondition::CommitAge { older_than_ms } => {
                            format!(
                                "{} days after commit",
                                days(*older_than_ms)
                                    .trim_end_matches('0')
                                    .trim_end_matches('.')
                            )
                        }
                        PolicyCondition::DataAge {
                            field_id,
                            older_than_ms,
                        } => format!(
                            "`{}` older than {} days",
                            index
                                .get(field_id)
                                .map(|i| i.path.clone())
                                .unwrap_or_else(|| format!("#{field_id}")),
                            days(*older_than_ms)
                                .trim_end_matches('0')
                                .trim_end_matches('.')
                        ),
                        other => other_condition(other),
                    };
                    tt.row(vec![p.id.clone(), p.tier.clone(), when]);
                }
                return tt.write(out);
            }
            let items: Vec<Value> = current.iter().map(|p| json!(p)).collect();
            write_json(format, &json!({"policies": items}), Some(&items), out)
        }
        PolicyAction::Remove { id } => {
            if !current.iter().any(|p| p.id == id) {
                return Err(CliError::user(format!("the table has no policy `{id}`"))
                    .with_hint("list them with `strata tier policy TABLE list`"));
            }
            let keep = current.into_iter().filter(|p| p.id != id).collect();
            let c = t.set_tier_policies(keep).await?;
            writeln!(
                out,
                "committed version {}: policy `{id}` removed",
                c.version
            )?;
            Ok(())
        }
        PolicyAction::Add {
            id,
            to,
            older_than,
            after_commit: _,
            column,
            pack_target,
        } => {
            let older_than_ms = parse_duration_ms(&older_than)?;
            let pack_target_bytes = pack_target
                .as_deref()
                .map(super::maintain::parse_size)
                .transpose()?;
            let condition = match column {
                None => PolicyCondition::CommitAge { older_than_ms },
                Some(c) => {
                    let snap = t.latest().await?;
                    let field = snap
                        .schema()
                        .field_by_name(&c)
                        .ok_or_else(|| CliError::user(format!("the table has no column `{c}`")))?;
                    PolicyCondition::DataAge {
                        field_id: field.id,
                        older_than_ms,
                    }
                }
            };
            let mut all = current;
            all.push(TierPolicy {
                id: id.clone(),
                tier: to,
                condition,
                pack_target_bytes,
            });
            let c = t.set_tier_policies(all).await?;
            writeln!(out, "committed version {}: policy `{id}` added", c.version)?;
            Ok(())
        }
    }
}

/// How a policy whose condition kind this version does not know is listed (never applied).
fn other_condition(c: &PolicyCondition) -> String {
    match c {
        PolicyCondition::Unknown { kind, .. } => {
            format!("condition `{kind}` (unknown to this version: never applied)")
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_tier_specs_parse_or_explain() {
        assert_eq!(parse_duration_ms("30d").unwrap(), 30 * 86_400_000);
        assert_eq!(parse_duration_ms("0s").unwrap(), 0);
        assert!(parse_duration_ms("soon").unwrap_err().hint().is_some());
        let t = parse_tier("cold=s3://b/p/,class=glacier").unwrap();
        assert_eq!(t.location.as_deref(), Some("s3://b/p"));
        assert_eq!(t.storage_class.as_deref(), Some("GLACIER"));
        assert_eq!(parse_tier("hot").unwrap().location, None);
        assert!(parse_tier("x=/tmp/y,speed=fast").is_err());
    }
}
