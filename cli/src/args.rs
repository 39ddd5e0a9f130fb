//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Strata: ACID tables over Parquet in object storage, with time travel and storage tiers.
#[derive(Debug, Parser)]
#[command(
    name = "strata",
    version,
    about,
    long_about = None,
    after_help = "Example: strata demo && strata show ./strata-demo/events"
)]
pub struct Cli {
    /// Output format of read commands [default: table, or `output` in the settings file].
    #[arg(long, short = 'o', global = true, value_enum)]
    pub output: Option<OutputFormat>,
    /// No progress bars or step messages.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Show the cause chain of errors and tracing logs.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    /// Catalog: a URL, or the name of a catalog in the settings file (`strata config show`).
    /// Table arguments may then be `namespace.table` (token from STRATA_TOKEN or the settings).
    #[arg(long, global = true, env = "STRATA_CATALOG")]
    pub catalog: Option<String>,
    /// AWS profile for S3 (as the AWS CLI's --profile: overrides AWS_PROFILE and credentials in
    /// the environment) [default: AWS_PROFILE, or `aws_profile` in the settings file].
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
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

/// How CSV input files are written.
#[derive(Debug, Clone, Default, Args)]
pub struct CsvArgs {
    /// CSV field delimiter: one character, or `\t` for a tab.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    pub delimiter: String,
    /// CSV quote character.
    #[arg(long, value_name = "CHAR", default_value = "\"")]
    pub quote: String,
    /// The CSV files have no header line: values are the table's columns in order (a table
    /// created --from them gets columns column_1, column_2, ...).
    #[arg(long)]
    pub no_header: bool,
    /// A CSV value that means null, exactly, e.g. `--null NA` (repeatable). Empty values of
    /// non-text columns are null anyway.
    #[arg(long = "null", value_name = "TEXT")]
    pub null_values: Vec<String>,
    /// strftime format of CSV timestamps and dates, e.g. `%d/%m/%Y %H:%M` (default: RFC 3339
    /// and ISO 8601 forms).
    #[arg(long, value_name = "FORMAT")]
    pub timestamp_format: Option<String>,
}

/// Exactly-once writes: the command commits as one batch of an application.
#[derive(Debug, Clone, Default, Args)]
pub struct AppArgs {
    /// Application id for exactly-once writes (with --batch): a batch the application already
    /// committed (or an earlier one) is refused and changes nothing (exit code 3).
    #[arg(long, value_name = "ID", requires = "batch")]
    pub app_id: Option<String>,
    /// Batch number of --app-id; batches of one application only go up.
    #[arg(long, value_name = "N", requires = "app_id")]
    pub batch: Option<u64>,
}

impl AppArgs {
    /// The (application, batch) asked for.
    pub fn get(&self) -> Option<(String, u64)> {
        Some((self.app_id.clone()?, self.batch?))
    }
}

/// What `strata merge` does with a target row a source row matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchedAction {
    /// Replace it with the source row.
    Update,
    /// Delete it.
    Delete,
    /// Keep it.
    Ignore,
}

/// What `strata merge` does with a source row that matches nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NotMatchedAction {
    /// Insert it.
    Insert,
    /// Drop it.
    Ignore,
}

/// What `strata merge` does with a target row that no source row matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BySourceAction {
    /// Delete it.
    Delete,
}

/// `strata config ...`.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum ConfigAction {
    /// Print the resolved settings (secrets hidden) and where each came from.
    ///
    /// Example: strata config show
    Show,
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
    /// Create a table, from a schema or from data files (schema inferred, rows loaded).
    ///
    /// Example: strata create ./events --schema 'id:int64,name:string,ts:timestamptz,score:float64?' --partition-by 'day(ts)'
    ///
    /// Example: strata create ./flights --from flights.csv --null NA --partition-by carrier
    Create {
        /// Table: a path, file://, s3://bucket/prefix or memory://name/prefix.
        table: String,
        /// Schema: a JSON schema file (SPEC §4.1) or `name:type[?],...` (`?` = optional).
        /// With --from, replaces the inferred schema.
        #[arg(long, required_unless_present = "from")]
        schema: Option<String>,
        /// CSV, JSON (NDJSON) or Parquet files: the schema is inferred from them (as
        /// --merge-schema does: every column optional) and their rows are the first append.
        #[arg(long, num_args = 1.., value_name = "FILE")]
        from: Vec<String>,
        /// Format of the --from files (default: from each file's extension).
        #[arg(long, value_enum, requires = "from")]
        format: Option<FileFormat>,
        #[command(flatten)]
        csv: CsvArgs,
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
        /// Add columns of the input that the table lacks (as optional columns, types inferred
        /// from CSV/JSON values) in the same commit, instead of refusing the input.
        #[arg(long)]
        merge_schema: bool,
        #[command(flatten)]
        csv: CsvArgs,
        #[command(flatten)]
        app: AppArgs,
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
        /// Add columns of the input that the table lacks (whole-table overwrite only).
        #[arg(long, conflicts_with = "filter")]
        merge_schema: bool,
        #[command(flatten)]
        csv: CsvArgs,
        #[command(flatten)]
        app: AppArgs,
    },
    /// Delete the rows matching a filter, as one atomic commit. Tables with deletion vectors
    /// (the default) get the rows marked; others get the files holding them rewritten.
    ///
    /// Example: strata delete ./events --where "category = 'cat-03'"
    Delete {
        /// Table.
        table: String,
        /// Rows to delete.
        #[arg(long = "where", required = true)]
        filter: String,
        /// Rewrite the files holding deleted rows instead of marking the rows in deletion
        /// vectors (the default for tables that use them).
        #[arg(long)]
        copy_on_write: bool,
        #[command(flatten)]
        app: AppArgs,
    },
    /// Change values of the rows matching a filter, in one commit. SET and WHERE are SQL
    /// (`strata sql`'s dialect): expressions over the row's columns. With deletion vectors the
    /// old rows are marked deleted and the new ones appended; otherwise files are rewritten.
    ///
    /// Example: strata update ./events --set "score = score * 2, name = upper(name)" --where "id < 10"
    Update {
        /// Table (path, URI, or `namespace.table` with --catalog).
        table: String,
        /// Assignments `column = expression`, comma-separated.
        #[arg(long = "set", required = true)]
        set: String,
        /// Rows to change (default: every row).
        #[arg(long = "where")]
        filter: Option<String>,
        #[command(flatten)]
        app: AppArgs,
    },
    /// Merge (upsert) the rows of CSV, JSON or Parquet files into a table on key columns, in
    /// one commit: by default a source row replaces the target rows with its key and is
    /// inserted when there are none. Two source rows with one key are an error.
    ///
    /// Example: strata merge ./users changes.csv --on id
    ///
    /// Example: strata merge ./users snapshot.parquet --on id --when-not-matched-by-source delete
    Merge {
        /// Table (path, URI, or `namespace.table` with --catalog).
        table: String,
        /// Source files; the format follows the extension unless --format is given.
        #[arg(required = true)]
        files: Vec<String>,
        /// Key columns, comma-separated: rows match when all keys are equal (NULL matches
        /// nothing).
        #[arg(long, value_delimiter = ',', required = true)]
        on: Vec<String>,
        /// Target rows a source row matches.
        #[arg(long, value_enum, default_value = "update")]
        when_matched: MatchedAction,
        /// Source rows that match no target row.
        #[arg(long, value_enum, default_value = "insert")]
        when_not_matched: NotMatchedAction,
        /// Target rows that no source row matches (kept unless given).
        #[arg(long, value_enum)]
        when_not_matched_by_source: Option<BySourceAction>,
        /// Input format (default: from each file's extension).
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        #[command(flatten)]
        csv: CsvArgs,
        #[command(flatten)]
        app: AppArgs,
    },
    /// Compact small files (per partition and tier, into files of about the target size) and
    /// purge deletion vectors, in one commit that changes no row. Files in archive storage
    /// classes are never rewritten; files inside their class's minimum storage duration (S3
    /// Standard-IA 30 days, Glacier Instant Retrieval 90) only with --force.
    ///
    /// Example: strata optimize ./events --target-size 256MiB --dry-run
    Optimize {
        /// Table (path, URI, or `namespace.table` with --catalog).
        table: String,
        /// Only files that may hold rows matching this filter.
        #[arg(long = "where")]
        filter: Option<String>,
        /// Target file size, e.g. 256MiB (default: strata.write.targetFileSizeBytes, 128 MiB).
        #[arg(long, value_name = "SIZE")]
        target_size: Option<String>,
        /// Sort the rows of each new file by these columns (comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
        sort_by: Vec<String>,
        /// Print what would be rewritten; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Rewrite files inside their storage class's minimum storage duration too.
        #[arg(long)]
        force: bool,
    },
    /// Expire old versions of the log (SPEC §11.5): the version current --older-than ago
    /// becomes the oldest one kept (fewer expire with --keep-last, and tagged versions are
    /// kept); older commit files and checkpoints are deleted. Data files are not touched.
    ///
    /// Example: strata expire ./events --older-than 30d --keep-last 100
    Expire {
        /// Table (path, URI, or `namespace.table` with --catalog).
        table: String,
        /// Retention: versions older than this expire, e.g. 30d, 12h, 2w.
        #[arg(long, value_name = "AGE")]
        older_than: String,
        /// Keep at least the N newest versions.
        #[arg(long, value_name = "N")]
        keep_last: Option<u64>,
        /// Print what would be deleted; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete what no retained version needs (SPEC §11.6): data files removed before the
    /// oldest version kept (run `expire` first), deletion-vector objects no retained version
    /// names, and orphans (objects under the data folders of the table and of every tier that
    /// no commit references), all only once older than --retain. Never commits; never touches
    /// the log or a move's old copies still in their grace period.
    ///
    /// JSON fields: table, dryRun, version, oldestVersion, objects, bytes,
    /// tiers[{tier, objects, bytes}], deleted[{reason, tier, location, bytes}], keptRetained,
    /// keptRecent, spared.
    ///
    /// Example: strata vacuum ./events --retain 7d --dry-run
    Vacuum {
        /// Table (path, URI, or `namespace.table` with --catalog).
        table: String,
        /// Keep objects (and removed files) younger than this, e.g. 7d, 48h.
        #[arg(long, value_name = "AGE", default_value = "7d")]
        retain: String,
        /// Print what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Allow a retention under 24 hours (files of writers still in progress that are
        /// older than the retention would be deleted under them).
        #[arg(long)]
        force: bool,
    },
    /// Print rows: projection, filter, time travel.
    ///
    /// Example: strata scan ./events --columns id,ts --where "ts >= TIMESTAMP '2026-01-02 00:00:00' AND category = 'cat-01'" --limit 20
    Scan(ScanArgs),
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
    /// partitionSpec, properties, files, rows, bytes, bytesPerTier, tags. CSV: KEY,VALUE rows.
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
    /// JSON fields per entry: version, timestamp, timestampMs, operation, parameters, metrics,
    /// userMetadata, filesAdded, filesRemoved, rowsAdded, rowsRemoved, bytesAdded,
    /// bytesRemoved, filesRelocated, engine, txnId, readVersion, isBlindAppend.
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
    /// Show what changed between two versions: files and rows added and removed, schema
    /// changes by field id, partitioning, properties, tags and tier moves. FROM and TO are
    /// version numbers, tag names or `latest`; TO may be older than FROM (the diff then reads
    /// backwards).
    ///
    /// JSON fields: table, from and to {version, timestamp, timestampMs, operation}, summary
    /// {filesAdded, filesRemoved, rowsAdded, rowsRemoved, bytesAdded, bytesRemoved, rowsBefore,
    /// rowsAfter, schemaChanges, tierMoves}, filesAdded and filesRemoved [{path, rows, bytes,
    /// partition, tier}], schema {fromSchemaId, toSchemaId, changes [{change (added, dropped,
    /// renamed, typeChanged, nullabilityChanged), id, path or from/to, type, required,
    /// fromRequired, toRequired}]}, partitionSpec (null or {from, to, fromText, toText}),
    /// properties [{key, from, to}], tags [{name, from, to}], tierMoves [{path, bytes, fromTier,
    /// toTier, fromLocation, toLocation, fromStorageClass, toStorageClass}].
    /// ndjson and csv: one entry per change with kind, subject, from, to, rows, bytes.
    ///
    /// Example: strata diff ./events 3 release-1
    Diff {
        /// Table.
        table: String,
        /// The older version (number, tag name or `latest`).
        from: String,
        /// The newer version (number, tag name or `latest`).
        to: String,
    },
    /// Run SQL (DataFusion) over Strata tables: a query, a script (-f) or, with neither, an
    /// interactive shell.
    ///
    /// Tables are named by path or URI in double quotes (`"./events"`), or `namespace.table`
    /// with --catalog. Suffixes: `"events@3"` (version), `"events@tag:prod"`,
    /// `"events@2026-01-31T12:00:00Z"`, `"events@2h ago"`; metadata tables `"events$history"`,
    /// `$snapshots`, `$files`, `$partitions`, `$tags`, `$schemas`, `$tiers`, `$tier_policies`.
    ///
    /// Example: strata sql "SELECT carrier, avg(arr_delay) FROM \"./flights\" GROUP BY carrier"
    Sql(crate::commands::sql::SqlArgs),
    /// Run the catalog service (REST API; default: embedded SQLite store and local warehouse).
    ///
    /// Example: strata serve --bind 127.0.0.1:8181 --store sqlite://catalog.db --warehouse ./warehouse
    Serve(crate::commands::catalog::ServeArgs),
    /// Catalog administration: tokens.
    ///
    /// Example: strata --catalog http://127.0.0.1:8181 catalog token create --role reader
    Catalog(crate::commands::admin::CatalogArgs),
    /// Namespaces of a catalog (--catalog URL or STRATA_CATALOG; token from STRATA_TOKEN).
    ///
    /// Example: strata --catalog http://127.0.0.1:8181 namespace create sales
    Namespace(crate::commands::catalog::NamespaceArgs),
    /// Tables of a catalog, named `namespace.table`.
    ///
    /// Example: strata --catalog http://127.0.0.1:8181 table list sales
    Table(crate::commands::catalog::TableArgs),
    /// Storage tiers: define tiers and policies, plan, move, report.
    ///
    /// Example: strata tier plan ./events --now '2027-01-01T00:00:00Z'
    Tier(crate::commands::tier::TierArgs),
    /// Apache Iceberg metadata of a table, for engines that read Iceberg.
    ///
    /// Example: strata iceberg export ./events --version 3
    Iceberg(crate::commands::iceberg::IcebergArgs),
    /// Apply the tier policies of every table of a catalog (for cron): one line per table.
    ///
    /// Example: strata lifecycle run --catalog http://127.0.0.1:8181 --grace 1h
    Lifecycle(crate::commands::lifecycle::LifecycleArgs),
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
    /// Show table properties, or set and remove some (one commit). Setting
    /// strata.deletionVectors=true on an older table enables deletion vectors (SPEC §7),
    /// strata.typedCheckpoints=true typed checkpoints (SPEC §10.2.2).
    ///
    /// Example: strata properties ./events --set strata.deletionVectors=true --unset owner
    Properties {
        /// Table.
        table: String,
        /// Properties to set, `KEY=VALUE` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Properties to remove (repeatable).
        #[arg(long = "unset", value_name = "KEY")]
        unset: Vec<String>,
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
    /// Settings: `strata config show` prints what applies and where it came from.
    ///
    /// Example: strata config show --output json   (STRATA_CONFIG names another file)
    Config {
        /// What to do.
        #[command(subcommand)]
        action: ConfigAction,
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
    ///
    /// Example: strata tag ./events create release-1 --version 3
    Create {
        /// Tag name.
        name: String,
        /// Version (default: latest).
        #[arg(long)]
        version: Option<u64>,
    },
    /// List tags.
    ///
    /// JSON fields per tag: name, version.
    ///
    /// Example: strata tag ./events list --output json
    List,
    /// Delete a tag.
    ///
    /// Example: strata tag ./events delete release-1
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
    ///
    /// Example: strata schema ./events add score float64 --optional --after id
    Add {
        /// Column name; `a.b` adds field `b` into struct `a`. Also `name:type` or
        /// `name:type?` (optional), as in `create --schema`.
        name: String,
        /// Primitive type, e.g. int64, string, decimal(10,2); a trailing `?` makes it optional.
        #[arg(value_name = "TYPE")]
        data_type: Option<String>,
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
    ///
    /// Example: strata schema ./events drop score
    Drop {
        /// Column.
        column: String,
    },
    /// Rename a column.
    ///
    /// Example: strata schema ./events rename name full_name
    Rename {
        /// Column.
        column: String,
        /// New name.
        new_name: String,
    },
    /// Move a column within its struct.
    ///
    /// Example: strata schema ./events move score --after id
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
    ///
    /// Example: strata schema ./events widen score float64
    Widen {
        /// Column.
        column: String,
        /// New type.
        #[arg(value_name = "TYPE")]
        data_type: String,
    },
    /// Make a required column optional.
    ///
    /// Example: strata schema ./events optional name
    Optional {
        /// Column.
        column: String,
    },
}

/// Partitioning changes.
#[derive(Debug, Subcommand)]
pub enum PartitionAction {
    /// Partition new data by SPEC, e.g. `day(ts), bucket(16, id)`; `none` for unpartitioned.
    ///
    /// Example: strata partition ./events set 'day(ts), bucket(16, id)'
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

/// Arguments of `strata scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Table.
    pub table: String,
    /// On a terminal, print every row (by default a screenful: the first and last rows and
    /// the total; pipes and files always get every row).
    #[arg(long)]
    pub all: bool,
    /// Version selector.
    #[command(flatten)]
    pub selector: Selector,
    /// Columns to print, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Row filter (SQL expression: comparisons, AND/OR/NOT, IN, IS NULL, LIKE 'prefix%').
    #[arg(long = "where")]
    pub filter: Option<String>,
    /// Print at most N rows.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Restore archived files the scan needs (S3 RestoreObject), wait, then read them.
    #[arg(long)]
    pub restore: bool,
    /// Restore options (with `--restore`).
    #[command(flatten)]
    pub restore_options: RestoreArgs,
}

/// Speed of an S3 restore (retrieval tier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RestoreSpeedArg {
    /// Minutes (GLACIER only; the most expensive).
    Expedited,
    /// Hours.
    Standard,
    /// Cheapest, up to two days.
    Bulk,
}

/// Options of restores of archived files.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// Days the restored copies stay readable.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Retrieval speed.
    #[arg(long, value_enum, default_value_t = RestoreSpeedArg::Standard)]
    pub speed: RestoreSpeedArg,
    /// How often to check restores in progress (e.g. `30s`, `5m`).
    #[arg(long, default_value = "30s")]
    pub poll: String,
    /// Stop waiting after this long (e.g. `6h`); the restores go on and a re-run records them.
    #[arg(long)]
    pub wait_timeout: Option<String>,
}
