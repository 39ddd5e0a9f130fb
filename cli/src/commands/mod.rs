//! Command implementations: parse, call the library, print.

use std::collections::BTreeMap;

use strata_table::{SnapshotSelector, Table, WriteMode};

use crate::args::{Cli, Command, ConfigAction, Selector};
use crate::error::{CliError, CliResult};

pub mod admin;
pub mod catalog;
mod data;
mod demo;
mod diff;
pub mod iceberg;
mod inspect;
pub mod lifecycle;
mod maintain;
mod manage;
mod merge;
mod schema;
mod settings;
mod shell;
pub mod sql;
pub mod tier;
mod update;

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> CliResult {
    let settings = settings::resolve(&cli)?;
    let format = settings.output;
    catalog::set_catalog(settings.catalog.clone());
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Config {
            action: ConfigAction::Show,
        } => settings::show(&settings, format, &mut out),
        Command::Create {
            table,
            schema,
            from,
            format,
            csv,
            partition_by,
            properties,
        } => {
            let props = parse_properties(&properties)?;
            let csv = data::csv_options(&csv)?;
            let schema = match &schema {
                Some(text) => manage::load_schema(text)?,
                None => data::infer_schema(&from, format, &csv)?,
            };
            let (created, via_catalog) =
                match catalog::create(&table, &schema, partition_by.as_deref(), &props, cli.quiet)
                    .await?
                {
                    Some(t) => (t, true),
                    None => {
                        let t = manage::create(
                            &table,
                            schema,
                            partition_by.as_deref(),
                            &props,
                            cli.quiet,
                        )
                        .await?;
                        (t, false)
                    }
                };
            if from.is_empty() {
                return Ok(());
            }
            let mode = data::Mode::Write {
                mode: WriteMode::Append,
                merge_schema: false,
            };
            let loaded = data::write(&created, &from, format, mode, &csv, None, cli.quiet).await;
            if let Err(e) = loaded {
                // Nothing half-made: the new, empty table goes too.
                let discarded = if via_catalog {
                    catalog::discard(&table).await
                } else {
                    created.discard_new().await.map_err(CliError::from)
                };
                if let Err(d) = discarded {
                    eprintln!(
                        "warning: the empty table {} could not be removed: {d}",
                        created.uri()
                    );
                }
                return Err(e);
            }
            Ok(())
        }
        Command::Append {
            table,
            files,
            format,
            merge_schema,
            csv,
            app,
        } => {
            let mode = data::Mode::Write {
                mode: WriteMode::Append,
                merge_schema,
            };
            let csv = data::csv_options(&csv)?;
            let t = open(&table).await?;
            data::write(&t, &files, format, mode, &csv, app.get(), cli.quiet).await
        }
        Command::Overwrite {
            table,
            files,
            format,
            filter,
            merge_schema,
            csv,
            app,
        } => {
            let mode = match filter {
                Some(f) => data::Mode::OverwriteWhere(f),
                None => data::Mode::Write {
                    mode: WriteMode::Overwrite,
                    merge_schema,
                },
            };
            let csv = data::csv_options(&csv)?;
            let t = open(&table).await?;
            data::write(&t, &files, format, mode, &csv, app.get(), cli.quiet).await
        }
        Command::Delete {
            table,
            filter,
            copy_on_write,
            app,
        } => {
            let mode = if copy_on_write {
                strata_table::DeleteMode::CopyOnWrite
            } else {
                strata_table::DeleteMode::Auto
            };
            data::delete(&open(&table).await?, &filter, mode, app.get(), cli.quiet).await
        }
        Command::Update {
            table,
            set,
            filter,
            app,
        } => update::update(&table, &set, filter.as_deref(), app.get(), cli.quiet).await,
        Command::Merge {
            table,
            files,
            on,
            when_matched,
            when_not_matched,
            when_not_matched_by_source,
            format,
            csv,
            app,
        } => {
            let merge = merge::merge_of(
                on,
                when_matched,
                when_not_matched,
                when_not_matched_by_source,
                app.get(),
            );
            let csv = data::csv_options(&csv)?;
            let t = open(&table).await?;
            merge::merge(&t, &files, format, &csv, merge, cli.quiet).await
        }
        Command::Optimize {
            table,
            filter,
            target_size,
            sort_by,
            dry_run,
            force,
        } => {
            let args = maintain::Args {
                filter,
                target_size,
                sort_by,
                dry_run,
                force,
            };
            let t = open(&table).await?;
            maintain::optimize(&t, args, format, cli.quiet, &mut out).await
        }
        Command::Expire {
            table,
            older_than,
            keep_last,
            dry_run,
        } => {
            let t = open(&table).await?;
            maintain::expire(
                &t,
                &older_than,
                keep_last,
                dry_run,
                format,
                cli.quiet,
                &mut out,
            )
            .await
        }
        Command::Vacuum {
            table,
            retain,
            dry_run,
            force,
        } => {
            let t = open(&table).await?;
            let args = maintain::VacuumArgs {
                retain,
                dry_run,
                force,
            };
            maintain::vacuum(&t, &args, format, cli.quiet, &mut out).await
        }
        Command::Scan(args) => {
            crate::screen::set_show_all(args.all);
            data::scan(
                &open(&args.table).await?,
                &args,
                format,
                cli.quiet,
                &mut out,
            )
            .await
        }
        Command::Count {
            table,
            selector,
            filter,
        } => {
            data::count(
                &open(&table).await?,
                &selector,
                filter.as_deref(),
                format,
                &mut out,
            )
            .await
        }
        Command::Show { table, selector } => {
            inspect::show(&open(&table).await?, &selector, format, &mut out).await
        }
        Command::History { table, limit } => {
            inspect::history(&open(&table).await?, limit, format, &mut out).await
        }
        Command::Files { table, selector } => {
            inspect::files(&open(&table).await?, &selector, format, &mut out).await
        }
        Command::Diff { table, from, to } => {
            diff::run(&open(&table).await?, &from, &to, format, &mut out).await
        }
        Command::Serve(args) => catalog::serve(args).await,
        Command::Catalog(args) => admin::catalog(args, format, &mut out).await,
        Command::Namespace(args) => catalog::namespace(args, format, &mut out).await,
        Command::Table(args) => catalog::table(args, format, &mut out).await,
        Command::Tier(args) => tier::tier(args, format, cli.quiet, &mut out).await,
        Command::Iceberg(args) => iceberg::iceberg(args, format, &mut out).await,
        Command::Lifecycle(args) => lifecycle::lifecycle(args, format, &mut out).await,
        Command::Tag { table, action } => {
            manage::tag(&open(&table).await?, action, format, &mut out).await
        }
        Command::Properties { table, set, unset } => {
            let set = parse_properties(&set)?;
            manage::properties(&open(&table).await?, &set, &unset, format, &mut out).await
        }
        Command::Restore { table, version } => {
            manage::restore(&open(&table).await?, version, cli.quiet).await
        }
        Command::Checkpoint { table } => manage::checkpoint(&open(&table).await?, cli.quiet).await,
        Command::Schema { table, action } => {
            schema::schema(&open(&table).await?, action, cli.quiet).await
        }
        Command::Partition { table, action } => {
            schema::partition(&open(&table).await?, action, cli.quiet).await
        }
        Command::Sql(args) => {
            crate::screen::set_show_all(args.all);
            sql::sql(args, format, cli.quiet, &mut out).await
        }
        Command::Demo { dir } => demo::demo(&dir, &mut out).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            // clap_complete panics when its writer fails: generate into memory, then write
            // (a closed pipe, as in `strata completions bash | head -1`, is no error).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "strata", &mut script);
            std::io::Write::write_all(&mut out, &script)?;
            std::io::Write::flush(&mut out)?;
            Ok(())
        }
    }
}

/// How long a command takes the state it opened (or last committed) for the latest: a
/// command works as of its start, and does not ask the store again right after opening (one
/// round trip less per command on an object store). Commits stay safe (SPEC §8).
pub const STATE_REUSE: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens a table reference (a catalog table commits through its catalog).
pub async fn open(table: &str) -> CliResult<Table> {
    if let Some(t) = catalog::open_table(table).await? {
        return Ok(t);
    }
    let options = strata_table::TableOptions::default().with_state_reuse(STATE_REUSE);
    Ok(Table::open_with(strata_table::TableLocation::parse(table)?, options).await?)
}

fn parse_properties(props: &[String]) -> CliResult<BTreeMap<String, String>> {
    props
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| {
                    CliError::user(format!("property `{p}` is not `key=value`"))
                        .with_hint("e.g. --property strata.checkpointInterval=50")
                })
        })
        .collect()
}

/// Turns `--version/--as-of/--tag` into a selector.
pub fn selector(s: &Selector) -> CliResult<SnapshotSelector> {
    if let Some(v) = s.version {
        return Ok(SnapshotSelector::Version(v));
    }
    if let Some(t) = &s.tag {
        return Ok(SnapshotSelector::Tag(t.clone()));
    }
    if let Some(t) = &s.as_of {
        return Ok(SnapshotSelector::Timestamp(parse_time(
            t,
            chrono::Utc::now().timestamp_millis(),
        )?));
    }
    Ok(SnapshotSelector::Latest)
}

/// Parses RFC 3339 or a relative time like `2h ago` (units s, m, h, d, w) into epoch ms.
pub fn parse_time(text: &str, now_ms: i64) -> CliResult<i64> {
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_millis());
    }
    if let Some(age) = strata_format::calendar::parse_relative_age_ms(t) {
        return Ok(now_ms - age);
    }
    Err(
        CliError::user(format!("cannot read the time `{text}`")).with_hint(
            "use RFC 3339 (2026-01-31T12:00:00Z) or a relative time (2h ago, 30m ago, 1d ago)",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_absolute_and_relative() {
        let now = 1_000_000_000_000;
        assert_eq!(parse_time("2h ago", now).unwrap(), now - 7_200_000);
        assert_eq!(parse_time("30 m ago", now).unwrap(), now - 1_800_000);
        assert_eq!(parse_time("1970-01-01T00:00:01Z", now).unwrap(), 1000);
        assert!(parse_time("yesterday", now).is_err());
        assert!(parse_time("2 fortnights ago", now).is_err());
    }
}
