//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Strata: ACID tables over Parquet in object storage, with time travel and storage tiers.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, long_about = None)]
pub struct Cli {
    /// Output format of read commands.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// No progress bars or step messages.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Show the cause chain of errors and tracing logs.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people (human sizes and times).
    Table,
    /// One JSON document with stable field names.
    Json,
    /// One JSON object per line (per row for `scan`, per entry otherwise).
    Ndjson,
    /// Comma-separated values with a header.
    Csv,
}

/// Input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// CSV with a header line.
    Csv,
    /// Newline-delimited JSON objects.
    Json,
    /// Parquet.
    Parquet,
}

/// Which version to read.
#[derive(Debug, Clone, Default, Args)]
#[group(multiple = false)]
pub struct Selector {
    /// Read this version.
    #[arg(long)]
    pub version: Option<u64>,
    /// Read the version current at this time: RFC 3339 (`2026-01-31T12:00:00Z`) or relative
    /// (`2h ago`, `30m ago`, `1d ago`).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Read the version a tag points at.
    #[arg(long)]
    pub tag: Option<String>,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a table.
    ///
    /// Example: strata create ./events --schema 'id:int64,name:string,ts:timestamptz,score:float64?' --partition-by 'day(ts)'
    Create {
        /// Table: a path, file://, s3://bucket/prefix or memory://name/prefix.
        table: String,
        /// Schema: a JSON schema file (SPEC §4.1) or `name:type[?],...` (`?` = optional).
        #[arg(long)]
        schema: String,
        /// Partition spec, e.g. `day(ts)`, `bucket(16, id)`, `truncate(4, name)`, `region`.
        #[arg(long)]
        partition_by: Option<String>,
        /// Table property `key=value` (repeatable).
        #[arg(long = "property", value_name = "KEY=VALUE")]
        properties: Vec<String>,
    },
    /// Append rows from CSV, JSON (NDJSON) or Parquet files as one atomic commit.
    ///
    /// Example: strata append ./events day1.csv day2.parquet
    Append {
        /// Table.
        table: String,
        /// Input files; the format follows the extension unless --format is given.
        #[arg(required = true)]
        files: Vec<String>,
        /// Input format (default: from each file's extension).
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
    },
    /// Replace the rows of the table (all, or those matching --where) with the rows of the
    /// files, as one atomic commit.
    ///
    /// Example: strata overwrite ./events jan2.csv --where "ts >= TIMESTAMP '2026-01-02 00:00:00'"
    Overwrite {
        /// Table.
        table: String,
        /// Input files.
        #[arg(required = true)]
        files: Vec<String>,
        /// Input format (default: from each file's extension).
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// Replace only the rows matching this filter.
        #[arg(long = "where")]
        filter: Option<String>,
    },
    /// Delete the rows matching a filter, as one atomic commit (copy-on-write).
    ///
    /// Example: strata delete ./events --where "category = 'cat-03'"
    Delete {
        /// Table.
        table: String,
        /// Rows to delete.
        #[arg(long = "where", required = true)]
        filter: String,
    },
    /// Print rows: projection, filter, time travel.
    ///
    /// Example: strata scan ./events --columns id,ts --where "ts >= TIMESTAMP '2026-01-02 00:00:00' AND category = 'cat-01'" --limit 20
    Scan {
        /// Table.
        table: String,
        /// Version selector.
        #[command(flatten)]
        selector: Selector,
        /// Columns to print, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        columns: Option<Vec<String>>,
        /// Row filter (SQL expression: comparisons, AND/OR/NOT, IN, IS NULL, LIKE 'prefix%').
        #[arg(long = "where")]
        filter: Option<String>,
        /// Print at most N rows.
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Count rows (of a version, matching a filter).
    ///
    /// Example: strata count ./events --where "value > 10"
    Count {
        /// Table.
        table: String,
        /// Version selector.
        #[command(flatten)]
        selector: Selector,
        /// Row filter.
        #[arg(long = "where")]
        filter: Option<String>,
    },
    /// Show a snapshot: version, time, schema with field ids, partitioning, properties, sizes.
    ///
    /// JSON fields: table, version, timestamp, timestampMs, operation, tableId, schema,
    /// partitionSpec, properties, files, rows, bytes, bytesPerTier, tags.
    ///
    /// Example: strata show ./events --as-of '2h ago'
    Show {
        /// Table.
        table: String,
        /// Version selector.
        #[command(flatten)]
        selector: Selector,
    },
    /// Show the history of commits, newest first.
    ///
    /// JSON fields per entry: version, timestamp, timestampMs, operation, parameters,
    /// filesAdded, filesRemoved, rowsAdded, rowsRemoved, bytesAdded, bytesRemoved, engine,
    /// txnId, readVersion, isBlindAppend.
    ///
    /// Example: strata history ./events --limit 10
    History {
        /// Table.
        table: String,
        /// Show at most N entries.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// List the data files of a snapshot with size, rows, partition, tier and location.
    ///
    /// JSON fields per file: path, size, rows, partition, tier, storageClass, location.
    ///
    /// Example: strata files ./events --version 3
    Files {
        /// Table.
        table: String,
        /// Version selector.
        #[command(flatten)]
        selector: Selector,
    },
    /// Create, list or delete tags.
    ///
    /// Example: strata tag ./events create release-1 --version 3
    Tag {
        /// Table.
        table: String,
        /// What to do.
        #[command(subcommand)]
        action: TagAction,
    },
    /// Commit a new version equal to an older one.
    ///
    /// Example: strata restore ./events --version 3
    Restore {
        /// Table.
        table: String,
        /// Version to restore.
        #[arg(long)]
        version: u64,
    },
    /// Write a checkpoint of the latest version (makes opening fast).
    ///
    /// Example: strata checkpoint ./events
    Checkpoint {
        /// Table.
        table: String,
    },
    /// Change the schema: add, drop, rename, move or widen columns, make columns optional.
    /// Data files are not rewritten; dotted names (`point.label`) address struct fields.
    ///
    /// Example: strata schema ./events add score int64 --optional --after id
    Schema {
        /// Table.
        table: String,
        /// The change.
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// Change the partitioning of new data; existing files keep theirs.
    ///
    /// Example: strata partition ./events set 'day(ts), bucket(16, id)'
    Partition {
        /// Table.
        table: String,
        /// What to do.
        #[command(subcommand)]
        action: PartitionAction,
    },
    /// Build a sample table in a local folder and walk through what Strata does.
    ///
    /// Example: strata demo ./strata-demo
    Demo {
        /// Folder to create the demo table in (replaced if it holds an earlier demo).
        #[arg(default_value = "strata-demo")]
        dir: String,
    },
    /// Print shell completions.
    ///
    /// Example: strata completions bash > /etc/bash_completion.d/strata
    Completions {
        /// Shell.
        shell: clap_complete::Shell,
    },
}

/// Tag operations.
#[derive(Debug, Subcommand)]
pub enum TagAction {
    /// Create a tag at a version (default: latest).
    Create {
        /// Tag name.
        name: String,
        /// Version (default: latest).
        #[arg(long)]
        version: Option<u64>,
    },
    /// List tags.
    List,
    /// Delete a tag.
    Delete {
        /// Tag name.
        name: String,
    },
}

/// Schema changes.
#[derive(Debug, Subcommand)]
pub enum SchemaAction {
    /// Add a column (required unless --optional or TYPE ends with `?`; a required column
    /// needs --default).
    Add {
        /// Column name; `a.b` adds field `b` into struct `a`.
        name: String,
        /// Primitive type, e.g. int64, string, decimal(10,2).
        #[arg(value_name = "TYPE")]
        data_type: String,
        /// Rows may hold null.
        #[arg(long)]
        optional: bool,
        /// Default (JSON, e.g. 0, "n/a", true): what older rows read and writers fill in.
        #[arg(long, value_name = "JSON")]
        default: Option<String>,
        /// Documentation of the column.
        #[arg(long)]
        doc: Option<String>,
        /// Place the column after this sibling.
        #[arg(long, conflicts_with = "first")]
        after: Option<String>,
        /// Place the column first in its struct.
        #[arg(long)]
        first: bool,
    },
    /// Drop a column (and all its fields).
    Drop {
        /// Column.
        column: String,
    },
    /// Rename a column.
    Rename {
        /// Column.
        column: String,
        /// New name.
        new_name: String,
    },
    /// Move a column within its struct.
    #[command(group(clap::ArgGroup::new("position").required(true).args(["first", "after", "before"])))]
    Move {
        /// Column.
        column: String,
        /// Make it first.
        #[arg(long)]
        first: bool,
        /// Put it after this sibling.
        #[arg(long)]
        after: Option<String>,
        /// Put it before this sibling.
        #[arg(long)]
        before: Option<String>,
    },
    /// Widen a column's type (int8→int16→int32→int64, float32→float64, decimal precision,
    /// date→timestamp).
    Widen {
        /// Column.
        column: String,
        /// New type.
        #[arg(value_name = "TYPE")]
        data_type: String,
    },
    /// Make a required column optional.
    Optional {
        /// Column.
        column: String,
    },
}

/// Partitioning changes.
#[derive(Debug, Subcommand)]
pub enum PartitionAction {
    /// Partition new data by SPEC, e.g. `day(ts), bucket(16, id)`; `none` for unpartitioned.
    Set {
        /// Partition spec.
        spec: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
