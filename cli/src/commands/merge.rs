//! `strata merge`: upserts the rows of files into a table on key columns (one commit).

use std::path::Path;

use strata_table::ingest::{CsvOptions, ReadOptions, read_file_with};
use strata_table::{Merge, Table, WhenMatched, WhenNotMatched, WhenNotMatchedBySource};

use super::data::input_format;
use crate::args::{BySourceAction, FileFormat, MatchedAction, NotMatchedAction};
use crate::error::CliResult;

/// The engine's merge for the command line's choices.
pub fn merge_of(
    on: Vec<String>,
    matched: MatchedAction,
    not_matched: NotMatchedAction,
    by_source: Option<BySourceAction>,
    app: Option<(String, u64)>,
) -> Merge {
    let mut merge = Merge::on(on)
        .when_matched(match matched {
            MatchedAction::Update => WhenMatched::Update,
            MatchedAction::Delete => WhenMatched::Delete,
            MatchedAction::Ignore => WhenMatched::Ignore,
        })
        .when_not_matched(match not_matched {
            NotMatchedAction::Insert => WhenNotMatched::Insert,
            NotMatchedAction::Ignore => WhenNotMatched::Ignore,
        })
        .when_not_matched_by_source(match by_source {
            Some(BySourceAction::Delete) => WhenNotMatchedBySource::Delete,
            None => WhenNotMatchedBySource::Keep,
        });
    if let Some((app, batch)) = app {
        merge = merge.app_transaction(app, batch);
    }
    merge
}

/// Merges the rows of `files` into `table`.
pub async fn merge(
    table: &Table,
    files: &[String],
    format: Option<FileFormat>,
    csv: &CsvOptions,
    merge: Merge,
    quiet: bool,
) -> CliResult {
    let schema = table.latest().await?.schema().clone();
    let read = ReadOptions {
        csv: csv.clone(),
        ..ReadOptions::default()
    };
    let mut batches = Vec::new();
    for f in files {
        let fmt = input_format(f, format)?;
        for b in read_file_with(Path::new(f), fmt, &schema, read.clone())? {
            batches.push(b);
        }
    }
    let merge = merge.parameter("files", serde_json::json!(files));
    let r = table.merge(futures::stream::iter(batches), merge).await?;
    if !quiet {
        let Some(c) = &r.commit else {
            eprintln!(
                "nothing to change: {} source rows, none updated, deleted or inserted",
                r.source_rows
            );
            return Ok(());
        };
        let metrics = &c.snapshot.commit_info().operation_metrics;
        let how = match metrics.get("numDeletionVectors").copied().unwrap_or(0) {
            0 => String::new(),
            n => format!(" ({n} files marked in deletion vectors)"),
        };
        eprintln!(
            "committed version {}: {} source rows: {} updated, {} deleted, {} inserted{how}; the \
             table now has {} rows",
            c.version,
            r.source_rows,
            r.updated_rows,
            r.deleted_rows,
            r.inserted_rows,
            c.snapshot.record_count()
        );
    }
    Ok(())
}
