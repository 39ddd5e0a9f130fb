//! CSV input: delimiter, quote, header or not, null spellings (`--null NA`) and a timestamp
//! format, for reading into a table's schema and for inferring a new table's schema.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, RecordBatch, TimestampMicrosecondArray};
use arrow::datatypes::{DataType as ArrowType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::{INFER_ROWS, INGEST_BATCH_ROWS, bad, csv_message};
use crate::error::Result;

/// How CSV files are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Field delimiter (default `,`).
    pub delimiter: u8,
    /// Quote character (default `"`).
    pub quote: u8,
    /// Whether the first line names the columns (default true). Without a header, columns
    /// are the table's in order (a new table's are `column_1`, `column_2`, …).
    pub header: bool,
    /// Values that mean null, exactly (e.g. `NA`); empty fields of non-string columns are null
    /// in any case.
    pub null_values: Vec<String>,
    /// A `strftime` format of timestamp and date values (e.g. `%d/%m/%Y %H:%M`); default: RFC
    /// 3339 and the usual ISO 8601 forms.
    pub timestamp_format: Option<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            quote: b'"',
            header: true,
            null_values: Vec::new(),
            timestamp_format: None,
        }
    }
}

impl CsvOptions {
    fn null_regex(&self) -> Option<regex::Regex> {
        if self.null_values.is_empty() {
            return None;
        }
        let alternatives: Vec<String> = self.null_values.iter().map(|v| regex::escape(v)).collect();
        regex::Regex::new(&format!("^(?:{})$", alternatives.join("|"))).ok()
    }

    fn format(&self) -> arrow::csv::reader::Format {
        let mut f = arrow::csv::reader::Format::default()
            .with_header(self.header)
            .with_delimiter(self.delimiter)
            .with_quote(self.quote);
        if let Some(r) = self.null_regex() {
            f = f.with_null_regex(r);
        }
        f
    }

    /// The first record of the file (its header, or its first row).
    fn first_record(&self, path: &Path) -> Result<Vec<String>> {
        let file = File::open(path).map_err(|e| bad(path, format!("cannot open: {e}")))?;
        let mut reader = ::csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .quote(self.quote)
            .has_headers(false)
            .flexible(true)
            .from_reader(file);
        let mut record = ::csv::StringRecord::new();
        match reader.read_record(&mut record) {
            Ok(true) => Ok(record.iter().map(|s| s.trim().to_string()).collect()),
            Ok(false) => Err(bad(path, "the file is empty")),
            Err(e) => Err(bad(path, format!("line 1: {e}"))),
        }
    }

    /// The column names of the file: its header, or `column_1`, … .
    fn names(&self, path: &Path) -> Result<Vec<String>> {
        let first = self.first_record(path)?;
        Ok(if self.header {
            first
        } else {
            (1..=first.len()).map(|i| format!("column_{i}")).collect()
        })
    }
}

/// The columns read as text to be parsed with the timestamp format.
fn is_temporal(t: &ArrowType) -> bool {
    matches!(
        t,
        ArrowType::Timestamp(..) | ArrowType::Date32 | ArrowType::Date64
    )
}

/// Reads `path` into batches of `target`'s columns (by header name, or in order without a
/// header). `names` lists the target's columns for error messages.
pub(super) fn read(
    path: &Path,
    target: &SchemaRef,
    options: &CsvOptions,
) -> Result<Box<dyn Iterator<Item = Result<RecordBatch>> + Send>> {
    let names: Vec<String> = target.fields().iter().map(|f| f.name().clone()).collect();
    let first = options.first_record(path)?;
    let mut fields = Vec::new();
    if options.header {
        for h in &first {
            let f = target.field_with_name(h).map_err(|_| {
                bad(
                    path,
                    format!(
                        "line 1: column `{h}` is not in the table (columns: {}); use \
                         merge-schema to add it",
                        names.join(", ")
                    ),
                )
            })?;
            fields.push(f.clone());
        }
    } else {
        if first.len() > target.fields().len() {
            return Err(bad(
                path,
                format!(
                    "line 1: {} values, but the table has {} columns ({})",
                    first.len(),
                    target.fields().len(),
                    names.join(", ")
                ),
            ));
        }
        fields.extend(
            target
                .fields()
                .iter()
                .take(first.len())
                .map(|f| f.as_ref().clone()),
        );
    }
    let parsed = Arc::new(ArrowSchema::new(fields));
    // With a timestamp format, temporal columns are read as text and parsed here.
    let text_schema: SchemaRef = match &options.timestamp_format {
        Some(_) => Arc::new(ArrowSchema::new(
            parsed
                .fields()
                .iter()
                .map(|f| {
                    if is_temporal(f.data_type()) {
                        Field::new(f.name(), ArrowType::Utf8, true)
                    } else {
                        f.as_ref().clone()
                    }
                })
                .collect::<Vec<_>>(),
        )),
        None => parsed.clone(),
    };
    let mut builder = arrow::csv::ReaderBuilder::new(text_schema.clone())
        .with_header(options.header)
        .with_delimiter(options.delimiter)
        .with_quote(options.quote)
        .with_batch_size(INGEST_BATCH_ROWS);
    if let Some(r) = options.null_regex() {
        builder = builder.with_null_regex(r);
    }
    let file = File::open(path).map_err(|e| bad(path, format!("cannot open: {e}")))?;
    let csv = builder
        .build(BufReader::new(file))
        .map_err(|e| bad(path, e.to_string()))?;
    let owned = path.to_path_buf();
    let header_lines = usize::from(options.header);
    let format = options.timestamp_format.clone();
    let mut row = 0usize;
    Ok(Box::new(csv.map(move |b| {
        let b = b.map_err(|e| bad(&owned, csv_message(&e.to_string(), &text_schema)))?;
        let first_line = row + header_lines + 1;
        row += b.num_rows();
        match &format {
            Some(fmt) => parse_temporal(&b, &parsed, fmt, first_line).map_err(|m| bad(&owned, m)),
            None => Ok(b),
        }
    })))
}

/// Replaces the text columns of `batch` that `parsed` types as timestamps or dates with
/// values parsed by `fmt`. `first_line` is the file line of the batch's first row.
fn parse_temporal(
    batch: &RecordBatch,
    parsed: &SchemaRef,
    fmt: &str,
    first_line: usize,
) -> std::result::Result<RecordBatch, String> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in parsed.fields().iter().zip(batch.columns()) {
        if !is_temporal(field.data_type()) {
            columns.push(column.clone());
            continue;
        }
        let text = column
            .as_string_opt::<i32>()
            .ok_or_else(|| format!("column `{}` was not read as text", field.name()))?;
        let fail = |i: usize, v: &str| {
            format!(
                "line {}: column `{}`: `{v}` does not match the timestamp format `{fmt}`",
                first_line + i,
                field.name()
            )
        };
        let array: ArrayRef = match field.data_type() {
            ArrowType::Date32 | ArrowType::Date64 => {
                let mut out = Vec::with_capacity(text.len());
                for i in 0..text.len() {
                    if text.is_null(i) {
                        out.push(None);
                        continue;
                    }
                    let v = text.value(i);
                    let date = NaiveDate::parse_from_str(v, fmt)
                        .or_else(|_| NaiveDateTime::parse_from_str(v, fmt).map(|d| d.date()))
                        .map_err(|_| fail(i, v))?;
                    let days = date.signed_duration_since(NaiveDate::default()).num_days();
                    out.push(Some(i32::try_from(days).map_err(|_| fail(i, v))?));
                }
                Arc::new(Date32Array::from(out))
            }
            ArrowType::Timestamp(_, tz) => {
                let mut out = Vec::with_capacity(text.len());
                for i in 0..text.len() {
                    if text.is_null(i) {
                        out.push(None);
                        continue;
                    }
                    let v = text.value(i);
                    let micros = match DateTime::parse_from_str(v, fmt) {
                        Ok(dt) if tz.is_some() => dt.timestamp_micros(),
                        _ => NaiveDateTime::parse_from_str(v, fmt)
                            .or_else(|_| {
                                NaiveDate::parse_from_str(v, fmt)
                                    .map(|d| d.and_time(chrono::NaiveTime::MIN))
                            })
                            .map_err(|_| fail(i, v))?
                            .and_utc()
                            .timestamp_micros(),
                    };
                    out.push(Some(micros));
                }
                let array = TimestampMicrosecondArray::from(out);
                Arc::new(match tz {
                    Some(tz) => array.with_timezone(tz.clone()),
                    None => array,
                })
            }
            _ => column.clone(),
        };
        columns.push(array);
    }
    let fields: Vec<Field> = parsed
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            ArrowType::Timestamp(_, tz) => Field::new(
                f.name(),
                ArrowType::Timestamp(TimeUnit::Microsecond, tz.clone()),
                true,
            ),
            ArrowType::Date64 => Field::new(f.name(), ArrowType::Date32, true),
            _ => f.as_ref().clone(),
        })
        .collect();
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns).map_err(|e| e.to_string())
}

/// The Arrow schema of a CSV file, inferred from its first [`INFER_ROWS`] rows: integers,
/// floats, booleans, dates and timestamps (with the timestamp format, text columns whose
/// values all match it), strings otherwise; all-null columns are strings.
pub(super) fn infer(path: &Path, options: &CsvOptions) -> Result<ArrowSchema> {
    let names = options.names(path)?;
    let mut file = File::open(path).map_err(|e| bad(path, format!("cannot open: {e}")))?;
    let (inferred, _) = options
        .format()
        .infer_schema(&mut file, Some(INFER_ROWS))
        .map_err(|e| bad(path, format!("cannot infer column types: {e}")))?;
    let mut fields: Vec<Field> = inferred
        .fields()
        .iter()
        .zip(&names)
        .map(|(f, name)| {
            let t = match f.data_type() {
                ArrowType::Null => ArrowType::Utf8,
                other => other.clone(),
            };
            Field::new(name, t, true)
        })
        .collect();
    if let Some(fmt) = &options.timestamp_format {
        // Text columns whose sampled values all parse with the format are timestamps.
        file.seek(SeekFrom::Start(0))
            .map_err(|e| bad(path, format!("cannot read: {e}")))?;
        let mut reader = ::csv::ReaderBuilder::new()
            .delimiter(options.delimiter)
            .quote(options.quote)
            .has_headers(options.header)
            .flexible(true)
            .from_reader(BufReader::new(file));
        let nulls = options.null_regex();
        let mut parses = vec![true; fields.len()];
        let mut seen = vec![false; fields.len()];
        for record in reader.records().take(INFER_ROWS) {
            let record = record.map_err(|e| bad(path, e.to_string()))?;
            for (i, v) in record.iter().enumerate().take(fields.len()) {
                if v.is_empty() || nulls.as_ref().is_some_and(|r| r.is_match(v)) {
                    continue;
                }
                seen[i] = true;
                parses[i] &= NaiveDateTime::parse_from_str(v, fmt).is_ok()
                    || NaiveDate::parse_from_str(v, fmt).is_ok()
                    || DateTime::parse_from_str(v, fmt).is_ok();
            }
        }
        for (i, f) in fields.iter_mut().enumerate() {
            if seen[i] && parses[i] && f.data_type() == &ArrowType::Utf8 {
                *f = Field::new(
                    f.name(),
                    ArrowType::Timestamp(TimeUnit::Microsecond, None),
                    true,
                );
            }
        }
    }
    Ok(ArrowSchema::new(fields))
}

#[cfg(test)]
mod tests {
    use arrow::array::{Float64Array, Int64Array, StringArray};
    use strata_format::compact::parse_schema;

    use super::*;
    use crate::ingest::{InputFormat, ReadOptions, infer_table_schema, read_file_with};

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn options(csv: CsvOptions) -> ReadOptions {
        ReadOptions {
            csv,
            ..ReadOptions::default()
        }
    }

    #[test]
    fn na_delimiter_quote_and_no_header_are_honoured() {
        let dir = tempfile::tempdir().unwrap();
        let schema = parse_schema("id:int64,delay:float64?,name:string?").unwrap();
        let f = write(&dir, "a.csv", "1;NA;'x;y'\n2;-3.5;NA\n");
        let csv = CsvOptions {
            delimiter: b';',
            quote: b'\'',
            header: false,
            null_values: vec!["NA".into()],
            timestamp_format: None,
        };
        let batches: Vec<RecordBatch> = read_file_with(&f, InputFormat::Csv, &schema, options(csv))
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
        let b = &batches[0];
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let delays = b.column(1).as_any().downcast_ref::<Float64Array>().unwrap();
        let names = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(ids.values(), &[1, 2]);
        assert!(delays.is_null(0) && delays.value(1) == -3.5);
        assert_eq!(names.value(0), "x;y");
        assert!(names.is_null(1), "`NA` in a string column is null too");
    }

    #[test]
    fn timestamps_parse_with_the_format_and_bad_ones_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let schema = parse_schema("id:int64,ts:timestamp,day:date?").unwrap();
        let f = write(
            &dir,
            "t.csv",
            "id,ts,day\n1,31/01/2026 10:30,01/02/2026\n2,01/02/2026 00:00,\n",
        );
        let csv = CsvOptions {
            timestamp_format: Some("%d/%m/%Y %H:%M".into()),
            ..CsvOptions::default()
        };
        let day_fmt = CsvOptions {
            timestamp_format: Some("%d/%m/%Y".into()),
            ..CsvOptions::default()
        };
        // The timestamp column parses with its format; the date column does not (other format).
        let err = read_file_with(&f, InputFormat::Csv, &schema, options(csv.clone()))
            .unwrap()
            .find_map(|b| b.err())
            .unwrap()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("column `day`"),
            "{err}"
        );
        let ts_only = parse_schema("id:int64,ts:timestamp").unwrap();
        let g = write(&dir, "u.csv", "id,ts\n1,31/01/2026 10:30\n2,bad\n");
        let err = read_file_with(&g, InputFormat::Csv, &ts_only, options(csv))
            .unwrap()
            .find_map(|b| b.err())
            .unwrap()
            .to_string();
        assert!(err.contains("line 3") && err.contains("`bad`"), "{err}");
        let h = write(&dir, "v.csv", "id,day\n1,01/02/2026\n");
        let dates = parse_schema("id:int64,day:date").unwrap();
        let b = read_file_with(&h, InputFormat::Csv, &dates, options(day_fmt))
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let days = b.column(1).as_any().downcast_ref::<Date32Array>().unwrap();
        assert_eq!(days.value(0), 20485); // 2026-02-01
    }

    #[test]
    fn inference_reads_types_nulls_and_formats() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            &dir,
            "flights.csv",
            "carrier,dep_delay,arr_delay,when,note\nUA,2,NA,2026-01-31 10:30,\nAA,NA,-3,2026-02-01 00:00,\n",
        );
        let csv = CsvOptions {
            null_values: vec!["NA".into()],
            timestamp_format: Some("%Y-%m-%d %H:%M".into()),
            ..CsvOptions::default()
        };
        let schema = infer_table_schema(&[(f, InputFormat::Csv)], &options(csv)).unwrap();
        let text: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| {
                format!(
                    "{}:{}{}",
                    f.name,
                    f.data_type,
                    if f.required { "" } else { "?" }
                )
            })
            .collect();
        assert_eq!(
            text,
            [
                "carrier:string?",
                "dep_delay:int64?",
                "arr_delay:int64?",
                "when:timestamp?",
                "note:string?"
            ]
        );
        let g = write(&dir, "nohead.csv", "1,x\n2,y\n");
        let csv = CsvOptions {
            header: false,
            ..CsvOptions::default()
        };
        let schema = infer_table_schema(&[(g, InputFormat::Csv)], &options(csv)).unwrap();
        assert_eq!(schema.fields()[0].name, "column_1");
        assert_eq!(schema.fields()[1].name, "column_2");
    }
}
