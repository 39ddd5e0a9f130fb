//! `strata iceberg ...`: Apache Iceberg metadata of a table (the logic is in `strata-iceberg`).

use std::io::Write;

use clap::{Args, Subcommand};
use serde_json::json;

use super::open;
use crate::args::OutputFormat;
use crate::error::CliResult;
use crate::output::{write_csv, write_json};

/// `strata iceberg ...`.
#[derive(Debug, Args)]
pub struct IcebergArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: IcebergAction,
}

/// Iceberg actions.
#[derive(Debug, Subcommand)]
pub enum IcebergAction {
    /// Write the Iceberg metadata (format version 2) of a version under the table's
    /// `_strata_iceberg/` and print the URI of its `metadata.json`, for engines that read a
    /// static metadata file (pyiceberg's StaticTable, DuckDB's iceberg_scan). Already written
    /// metadata is reused; a tier move since makes a new one.
    ///
    /// JSON: {metadata, version, snapshotId, written}.
    ///
    /// Example: strata iceberg export ./events --version 3
    Export {
        /// Table.
        table: String,
        /// Strata version (default: the latest).
        #[arg(long)]
        version: Option<u64>,
    },
}

/// Runs `strata iceberg ...`.
pub async fn iceberg(args: IcebergArgs, format: OutputFormat, out: &mut impl Write) -> CliResult {
    match args.action {
        IcebergAction::Export { table, version } => {
            let t = open(&table).await?;
            let loc = strata_iceberg::ensure_metadata(&t, version).await?;
            let snapshot = strata_iceberg::snapshot_id(loc.version);
            match format {
                OutputFormat::Table => {
                    writeln!(out, "{}", loc.uri)?;
                    Ok(())
                }
                OutputFormat::Csv => write_csv(
                    &["METADATA", "VERSION", "SNAPSHOT_ID", "WRITTEN"],
                    &[vec![
                        loc.uri.clone(),
                        loc.version.to_string(),
                        snapshot.to_string(),
                        loc.written.to_string(),
                    ]],
                    out,
                ),
                _ => write_json(
                    format,
                    &json!({
                        "metadata": loc.uri,
                        "version": loc.version,
                        "snapshotId": snapshot,
                        "written": loc.written,
                    }),
                    None,
                    out,
                ),
            }
        }
    }
}
