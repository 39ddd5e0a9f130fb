//! `strata optimize` (compaction of small files, purging of deletion vectors), `strata expire`
//! (log retention) and `strata vacuum` (deleting what no retained version needs).

use std::io::Write;

use serde_json::{Value, json};
use strata_format::expr::Expr;
use strata_table::{
    ExpireOptions, OptimizeOptions, OptimizeReport, Table, VacuumOptions, VacuumProgress,
    VacuumProgressHook,
};

use crate::args::OutputFormat;
use crate::error::{CliError, CliResult};
use crate::output::{TextTable, human_size, write_csv, write_json};
use crate::style::bytes_bar;

/// A size such as `256MiB`, `128MB`, `1GiB` or a number of bytes.
pub fn parse_size(text: &str) -> CliResult<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => 0,
    };
    let value: f64 = number.parse().unwrap_or(f64::NAN);
    if factor == 0 || !value.is_finite() || value <= 0.0 {
        return Err(CliError::user(format!("`{text}` is not a size"))
            .with_hint("e.g. 256MiB, 128MB, 1GiB or a number of bytes"));
    }
    Ok((value * factor as f64) as u64)
}

/// The options of the command line.
pub struct Args {
    /// Row filter.
    pub filter: Option<String>,
    /// Target size text.
    pub target_size: Option<String>,
    /// Sort columns.
    pub sort_by: Vec<String>,
    /// Plan only.
    pub dry_run: bool,
    /// Ignore minimum storage durations.
    pub force: bool,
}

fn report_json(table: &Table, r: &OptimizeReport, dry_run: bool) -> Value {
    json!({
        "table": table.uri(),
        "dryRun": dry_run,
        "version": r.commit.as_ref().map(|c| c.version),
        "targetSize": r.target_size,
        "filesRemoved": r.files_removed(),
        "bytesRemoved": r.bytes_removed(),
        "filesAdded": r.files_added,
        "bytesAdded": r.bytes_added,
        "skippedArchived": r.skipped_archived,
        "skippedMinimumDuration": r.skipped_minimum_duration,
        "bins": r.bins.iter().map(|b| json!({
            "tier": b.tier,
            "partition": serde_json::from_str::<Value>(&b.partition).unwrap_or(Value::Null),
            "files": b.files,
            "bytes": b.bytes,
            "rows": b.rows,
            "purgedRows": b.purged_rows,
        })).collect::<Vec<_>>(),
    })
}

/// Runs `strata optimize`.
pub async fn optimize(
    table: &Table,
    args: Args,
    format: OutputFormat,
    quiet: bool,
    out: &mut impl Write,
) -> CliResult {
    let mut options = OptimizeOptions::default()
        .sort_by(args.sort_by.clone())
        .dry_run(args.dry_run)
        .force(args.force);
    if let Some(f) = &args.filter {
        options = options.filter(Expr::parse(f)?);
    }
    if let Some(s) = &args.target_size {
        options = options.target_size(parse_size(s)?);
    }
    let r = table.optimize(options).await?;
    let header = ["TIER", "PARTITION", "FILES", "BYTES", "ROWS", "PURGED ROWS"];
    let rows: Vec<Vec<String>> = r
        .bins
        .iter()
        .map(|b| {
            vec![
                b.tier.clone(),
                b.partition.clone(),
                b.files.to_string(),
                b.bytes.to_string(),
                b.rows.to_string(),
                b.purged_rows.to_string(),
            ]
        })
        .collect();
    match format {
        OutputFormat::Json | OutputFormat::Ndjson => {
            write_json(format, &report_json(table, &r, args.dry_run), None, out)?;
        }
        OutputFormat::Csv => write_csv(&header, &rows, out)?,
        OutputFormat::Table => {
            if args.dry_run && !r.bins.is_empty() {
                let mut t = TextTable::new(&header);
                for (b, row) in r.bins.iter().zip(rows) {
                    let mut row = row;
                    row[3] = human_size(b.bytes);
                    t.row(row);
                }
                t.write(out)?;
            }
        }
    }
    if !quiet {
        let skipped = match (r.skipped_archived, r.skipped_minimum_duration) {
            (0, 0) => String::new(),
            (a, m) => format!(
                "; left alone: {a} archived, {m} inside their storage class's minimum duration \
                 (--force rewrites those)"
            ),
        };
        let purged: u64 = r.bins.iter().map(|b| b.purged_rows).sum();
        match (&r.commit, args.dry_run) {
            (_, true) => eprintln!(
                "dry run: would rewrite {} files ({}) in {} groups, purging {purged} deleted \
                 rows{skipped}",
                r.files_removed(),
                human_size(r.bytes_removed()),
                r.bins.len()
            ),
            (Some(c), false) => eprintln!(
                "committed version {}: rewrote {} files ({}) into {} ({}), purging {purged} \
                 deleted rows{skipped}",
                c.version,
                r.files_removed(),
                human_size(r.bytes_removed()),
                r.files_added,
                human_size(r.bytes_added)
            ),
            (None, false) => eprintln!("nothing to optimize: nothing committed{skipped}"),
        }
    }
    Ok(())
}

/// An age such as `30d`, `12h` or `2w`, in ms.
pub fn parse_age(text: &str) -> CliResult<i64> {
    strata_format::calendar::parse_relative_age_ms(&format!("{} ago", text.trim())).ok_or_else(
        || CliError::user(format!("`{text}` is not an age")).with_hint("e.g. 30d, 12h, 90m or 2w"),
    )
}

/// Runs `strata expire`.
pub async fn expire(
    table: &Table,
    older_than: &str,
    keep_last: Option<u64>,
    dry_run: bool,
    format: OutputFormat,
    quiet: bool,
    out: &mut impl Write,
) -> CliResult {
    let mut options = ExpireOptions::older_than_ms(parse_age(older_than)?).dry_run(dry_run);
    if let Some(k) = keep_last {
        options = options.keep_last(k);
    }
    let r = table.expire(options).await?;
    if matches!(format, OutputFormat::Json | OutputFormat::Ndjson) {
        let doc = json!({
            "table": table.uri(),
            "dryRun": dry_run,
            "version": r.commit.as_ref().map(|c| c.version),
            "oldestVersionBefore": r.oldest_before,
            "oldestVersion": r.oldest_after,
            "commitsDeleted": r.commits_deleted.len(),
            "checkpointsDeleted": r.checkpoints_deleted.len(),
            "checkpointWritten": r.checkpoint_written,
        });
        write_json(format, &doc, None, out)?;
    }
    if !quiet {
        let what = format!(
            "{} commit files and {} checkpoints before version {}",
            r.commits_deleted.len(),
            r.checkpoints_deleted.len(),
            r.oldest_after
        );
        match (dry_run, &r.commit) {
            (true, _) => eprintln!("dry run: would delete {what}"),
            (false, Some(c)) => eprintln!(
                "committed version {}: the oldest version kept is {}; deleted {what}",
                c.version, r.oldest_after
            ),
            (false, None) if r.commits_deleted.is_empty() && r.checkpoints_deleted.is_empty() => {
                eprintln!(
                    "nothing to expire: the oldest version kept is {}",
                    r.oldest_after
                )
            }
            (false, None) => eprintln!("deleted {what} (left by an earlier run)"),
        }
    }
    Ok(())
}

/// The options of `strata vacuum`.
pub struct VacuumArgs {
    /// Retention text.
    pub retain: String,
    /// Report only.
    pub dry_run: bool,
    /// Allow a retention under 24 hours.
    pub force: bool,
}

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Runs `strata vacuum`.
pub async fn vacuum(
    table: &Table,
    args: &VacuumArgs,
    format: OutputFormat,
    quiet: bool,
    out: &mut impl Write,
) -> CliResult {
    let retain = parse_age(&args.retain)?;
    if retain < DAY_MS && !args.force {
        return Err(CliError::user(format!(
            "a retention of {} is under 24 hours: a writer still in progress could lose files it \
             wrote longer ago than that",
            args.retain
        ))
        .with_hint("use --retain 24h or more, or --force if no writer can be in progress"));
    }
    let bar = std::sync::Arc::new(std::sync::Mutex::new(None::<indicatif::ProgressBar>));
    let hook_bar = bar.clone();
    let hook: VacuumProgressHook = std::sync::Arc::new(move |p| {
        let mut slot = hook_bar.lock().unwrap_or_else(|e| e.into_inner());
        match p {
            VacuumProgress::Planned { bytes, .. } => *slot = Some(bytes_bar(bytes, quiet)),
            VacuumProgress::Deleted { bytes } => {
                if let Some(b) = slot.as_ref() {
                    b.inc(bytes);
                }
            }
            _ => {}
        }
    });
    let options = VacuumOptions::retain_ms(retain)
        .dry_run(args.dry_run)
        .progress(hook);
    let r = table.vacuum(options).await?;
    if let Some(b) = bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
        b.finish_and_clear();
    }
    let tiers = r.by_tier();
    let header = ["REASON", "TIER", "LOCATION", "BYTES"];
    let rows: Vec<Vec<String>> = r
        .deleted
        .iter()
        .map(|o| {
            vec![
                o.reason.as_str().to_string(),
                o.tier.clone(),
                o.location.clone(),
                o.bytes.to_string(),
            ]
        })
        .collect();
    match format {
        OutputFormat::Json | OutputFormat::Ndjson => {
            let doc = json!({
                "table": table.uri(),
                "dryRun": args.dry_run,
                "version": r.version,
                "oldestVersion": r.oldest_version,
                "objects": r.deleted.len(),
                "bytes": r.bytes(),
                "tiers": tiers.iter().map(|(t, (n, b))| json!({
                    "tier": t, "objects": n, "bytes": b,
                })).collect::<Vec<_>>(),
                "deleted": r.deleted.iter().map(|o| json!({
                    "reason": o.reason.as_str(),
                    "tier": o.tier,
                    "location": o.location,
                    "bytes": o.bytes,
                })).collect::<Vec<_>>(),
                "keptRetained": r.kept_retained,
                "keptRecent": r.kept_recent,
                "spared": r.spared,
            });
            write_json(format, &doc, None, out)?;
        }
        OutputFormat::Csv => write_csv(&header, &rows, out)?,
        OutputFormat::Table => {
            if !r.deleted.is_empty() {
                let mut t = TextTable::new(&header);
                for (o, mut row) in r.deleted.iter().zip(rows) {
                    row[3] = human_size(o.bytes);
                    t.row(row);
                }
                t.write(out)?;
            }
        }
    }
    if !quiet {
        let per_tier: Vec<String> = tiers
            .iter()
            .map(|(t, (n, b))| format!("{t}: {n} objects, {}", human_size(*b)))
            .collect();
        let what = if r.deleted.is_empty() {
            "nothing".to_string()
        } else {
            format!(
                "{} objects ({}; {})",
                r.deleted.len(),
                human_size(r.bytes()),
                per_tier.join("; ")
            )
        };
        let verb = if args.dry_run {
            "dry run: would delete"
        } else {
            "deleted"
        };
        let kept = format!(
            "kept {} removed files that versions from {} on need and {} objects younger than \
             {}",
            r.kept_retained, r.oldest_version, r.kept_recent, args.retain
        );
        let hint = if r.kept_retained > 0 && r.oldest_version == 0 {
            " (every version is retained: `strata expire` first)"
        } else {
            ""
        };
        eprintln!("{verb} {what}; {kept}{hint}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("128MB").unwrap(), 128_000_000);
        assert_eq!(parse_size("1.5 GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
    }
}
