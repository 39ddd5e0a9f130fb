//! Commands that move rows: append, overwrite, scan, count.

use std::io::{IsTerminal, Write};
use std::path::Path;

use futures::{StreamExt, TryStreamExt};
use strata_format::expr::Expr;
use strata_table::ingest::{
    CsvOptions, InputFormat, ReadOptions, infer_table_schema, read_file_with,
};
use strata_table::{OnArchived, Table, WriteMode, WriteOptions};

use super::selector;
use crate::args::{CsvArgs, FileFormat, OutputFormat, ScanArgs, Selector};
use crate::error::{CliError, CliResult};

pub(super) fn input_format(path: &str, forced: Option<FileFormat>) -> CliResult<InputFormat> {
    match forced {
        Some(FileFormat::Csv) => Ok(InputFormat::Csv),
        Some(FileFormat::Json) => Ok(InputFormat::Json),
        Some(FileFormat::Parquet) => Ok(InputFormat::Parquet),
        None => InputFormat::from_path(Path::new(path)).ok_or_else(|| {
            CliError::user(format!(
                "cannot tell the format of `{path}` from its extension"
            ))
            .with_hint("use --format csv|json|parquet")
        }),
    }
}

/// The CSV options of the command line, checked.
pub fn csv_options(args: &CsvArgs) -> CliResult<CsvOptions> {
    let one_byte = |flag: &str, text: &str| -> CliResult<u8> {
        let t = if text == "\\t" { "\t" } else { text };
        match t.as_bytes() {
            [b] => Ok(*b),
            _ => Err(CliError::user(format!(
                "--{flag} must be one ASCII character, not `{text}`"
            ))
            .with_hint("e.g. --delimiter ';' or --delimiter '\\t' for a tab")),
        }
    };
    Ok(CsvOptions {
        delimiter: one_byte("delimiter", &args.delimiter)?,
        quote: one_byte("quote", &args.quote)?,
        header: !args.no_header,
        null_values: args.null_values.clone(),
        timestamp_format: args.timestamp_format.clone(),
    })
}

/// The schema of a new table for `files` (inferred, every column optional).
pub fn infer_schema(
    files: &[String],
    format: Option<FileFormat>,
    csv: &CsvOptions,
) -> CliResult<strata_format::Schema> {
    let inputs = files
        .iter()
        .map(|f| Ok((std::path::PathBuf::from(f), input_format(f, format)?)))
        .collect::<CliResult<Vec<_>>>()?;
    let options = ReadOptions {
        csv: csv.clone(),
        ..ReadOptions::default()
    };
    Ok(infer_table_schema(&inputs, &options)?)
}

/// How `write` changes the table.
pub enum Mode {
    /// Append or overwrite everything, optionally adding the input's new columns.
    Write {
        /// Append or overwrite.
        mode: WriteMode,
        /// Merge-schema.
        merge_schema: bool,
    },
    /// Replace the rows matching a filter.
    OverwriteWhere(String),
}

/// Deletes the rows matching `filter`.
pub async fn delete(
    table: &Table,
    filter: &str,
    mode: strata_table::DeleteMode,
    app: Option<(String, u64)>,
    quiet: bool,
) -> CliResult {
    let mut options = strata_table::DeleteOptions::default().mode(mode);
    if let Some((app, batch)) = app {
        options = options.app_transaction(app, batch);
    }
    let c = table.delete_with(Expr::parse(filter)?, options).await?;
    if !quiet {
        let metrics = &c.snapshot.commit_info().operation_metrics;
        let get = |k: &str| metrics.get(k).copied().unwrap_or(0);
        let how = match get("numDeletionVectors") {
            0 => format!(
                "{} files removed, {} written",
                get("numRemovedFiles"),
                get("numAddedFiles")
            ),
            n => format!(
                "{n} files marked in deletion vectors, {} removed",
                get("numRemovedFiles")
            ),
        };
        eprintln!(
            "committed version {}: deleted {} rows ({how}); the table now has {} rows",
            c.version,
            get("numDeletedRows"),
            c.snapshot.record_count()
        );
    }
    Ok(())
}

/// Appends or overwrites with the rows of `files`.
pub async fn write(
    table: &Table,
    files: &[String],
    format: Option<FileFormat>,
    mode: Mode,
    csv: &CsvOptions,
    app: Option<(String, u64)>,
    quiet: bool,
) -> CliResult {
    let schema = table.latest().await?.schema().clone();
    let mut inputs = Vec::new();
    let mut total = 0;
    for f in files {
        let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        total += size;
        inputs.push((f.clone(), input_format(f, format)?, size));
    }
    let bar = crate::style::bytes_bar(total, quiet);
    let progress = bar.clone();
    let read = ReadOptions {
        merge_schema: matches!(
            mode,
            Mode::Write {
                merge_schema: true,
                ..
            }
        ),
        csv: csv.clone(),
    };
    let batches = futures::stream::iter(inputs)
        .map(move |(f, fmt, size)| {
            progress.set_message(f.clone());
            let batches = read_file_with(Path::new(&f), fmt, &schema, read.clone());
            progress.inc(size);
            if progress.position() >= total {
                progress.set_message("committing");
            }
            batches.map(futures::stream::iter)
        })
        .try_flatten();
    let mut options = WriteOptions {
        app_transaction: app,
        ..WriteOptions::default()
    };
    options
        .parameters
        .insert("files".into(), serde_json::json!(files));
    let c = match mode {
        Mode::Write { mode, merge_schema } => {
            options.mode = mode;
            options.merge_schema = merge_schema;
            table.write(batches, options).await?
        }
        Mode::OverwriteWhere(filter) => {
            table
                .overwrite_where_with(Expr::parse(&filter)?, batches, options)
                .await?
        }
    };
    bar.finish_and_clear();
    if !quiet {
        let rows = c
            .snapshot
            .commit_info()
            .operation_metrics
            .get("numAddedRows")
            .copied()
            .unwrap_or(0);
        eprintln!(
            "committed version {}: {rows} rows from {} file(s); the table now has {} rows",
            c.version,
            files.len(),
            c.snapshot.record_count()
        );
    }
    Ok(())
}

/// Prints the rows of a scan.
pub async fn scan(
    table: &Table,
    args: &ScanArgs,
    format: OutputFormat,
    quiet: bool,
    out: &mut impl Write,
) -> CliResult {
    // People and scripts expect the same rows in the same order every time.
    let mut builder = table
        .scan()
        .preserve_order(true)
        .snapshot(selector(&args.selector)?);
    if let Some(c) = &args.columns {
        builder = builder.columns(c.clone());
    }
    if let Some(f) = &args.filter {
        builder = builder.filter(Expr::parse(f)?);
    }
    if let Some(l) = args.limit {
        builder = builder.limit(l);
    }
    if args.restore {
        builder = builder.on_archived(OnArchived::Restore(super::tier::restore_options(
            &args.restore_options,
        )?));
    }
    let scan = builder.plan().await?;
    let schema = scan.output_schema();
    // A progress bar when the rows go to a file or pipe and stderr is a terminal.
    let total: u64 = scan
        .files()
        .iter()
        .map(|f| strata_format::dv::live_rows(f))
        .sum();
    let bar = crate::style::rows_bar(total, quiet, !std::io::stdout().is_terminal());
    let metrics = scan.metrics();
    let progress = bar.clone();
    let mut stream = scan
        .stream()
        .map_err(CliError::from)
        .inspect_ok(move |_| progress.set_position(metrics.report().rows_scanned));
    write_rows(&mut stream, schema, format, out).await?;
    bar.finish_and_clear();
    Ok(())
}

/// Writes a stream of batches in `format` (aligned tables in chunks of about 1,000 rows, so
/// huge results still stream; on a terminal, a screenful) and returns the number of rows.
pub(crate) async fn write_rows<S>(
    stream: &mut S,
    schema: arrow::datatypes::SchemaRef,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult<u64>
where
    S: futures::Stream<Item = Result<arrow::array::RecordBatch, CliError>> + Unpin,
{
    let mut total = 0u64;
    let screen = match format {
        OutputFormat::Table => crate::screen::Screenful::for_stdout(),
        _ => None,
    };
    match (format, screen) {
        (OutputFormat::Table, Some(screen)) => {
            let mut sample = crate::screen::Sampler::new(screen);
            while let Some(b) = stream.try_next().await? {
                sample.push(b);
            }
            total = sample.total();
            if sample.elided() {
                sample.write_elided(out)?;
            } else {
                let mut batches = sample.into_batches();
                if batches.is_empty() {
                    batches.push(arrow::array::RecordBatch::new_empty(schema));
                }
                print_pretty(&batches, out)?;
            }
        }
        (OutputFormat::Table, _) => {
            let mut chunk = Vec::new();
            let mut rows = 0usize;
            while let Some(b) = stream.try_next().await? {
                total += b.num_rows() as u64;
                rows += b.num_rows();
                chunk.push(b);
                if rows >= 1000 {
                    print_pretty(&chunk, out)?;
                    chunk.clear();
                    rows = 0;
                }
            }
            if !chunk.is_empty() || total == 0 {
                if chunk.is_empty() {
                    chunk.push(arrow::array::RecordBatch::new_empty(schema));
                }
                print_pretty(&chunk, out)?;
            }
        }
        (OutputFormat::Csv, _) => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            while let Some(b) = stream.try_next().await? {
                total += b.num_rows() as u64;
                w.write(&b).map_err(arrow_err)?;
            }
        }
        (OutputFormat::Ndjson, _) => {
            while let Some(b) = stream.try_next().await? {
                total += b.num_rows() as u64;
                for row in crate::json_rows::rows(&b).map_err(arrow_err)? {
                    serde_json::to_writer(&mut *out, &row)?;
                    writeln!(out)?;
                }
            }
        }
        (OutputFormat::Json, _) => {
            write!(out, "[")?;
            let mut first = true;
            while let Some(b) = stream.try_next().await? {
                total += b.num_rows() as u64;
                for row in crate::json_rows::rows(&b).map_err(arrow_err)? {
                    if !first {
                        write!(out, ",")?;
                    }
                    first = false;
                    serde_json::to_writer(&mut *out, &row)?;
                }
            }
            writeln!(out, "]")?;
        }
    }
    Ok(total)
}

fn print_pretty(batches: &[arrow::array::RecordBatch], out: &mut impl Write) -> CliResult {
    let text = arrow::util::pretty::pretty_format_batches(batches).map_err(arrow_err)?;
    writeln!(out, "{text}")?;
    Ok(())
}

fn arrow_err(e: arrow::error::ArrowError) -> CliError {
    use arrow::error::ArrowError;
    let broken_pipe = match &e {
        ArrowError::IoError(_, io) => io.kind() == std::io::ErrorKind::BrokenPipe,
        // The CSV writer keeps only the text of its I/O errors.
        ArrowError::CsvError(text) => text.contains("Broken pipe"),
        _ => false,
    };
    if broken_pipe {
        return std::io::Error::from(std::io::ErrorKind::BrokenPipe).into();
    }
    CliError::user(format!("output failed: {e}"))
}

/// Prints the number of matching rows.
pub async fn count(
    table: &Table,
    sel: &Selector,
    filter: Option<&str>,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let snapshot_sel = selector(sel)?;
    let n = match filter {
        // Without a filter the log knows the answer.
        None => table.snapshot(&snapshot_sel).await?.record_count(),
        Some(f) => {
            let scan = table
                .scan()
                .snapshot(snapshot_sel)
                .filter(Expr::parse(f)?)
                .columns(Vec::<String>::new())
                .plan()
                .await?;
            let mut n = 0u64;
            let mut stream = scan.stream();
            while let Some(b) = stream.try_next().await? {
                n += b.num_rows() as u64;
            }
            n
        }
    };
    match format {
        OutputFormat::Table | OutputFormat::Csv => writeln!(out, "{n}")?,
        _ => writeln!(out, "{}", serde_json::json!({ "count": n }))?,
    }
    Ok(())
}
