//! Reading CSV, JSON (NDJSON) and Parquet files into batches of a table's schema.
//!
//! Columns are matched by name. A value that does not fit its column is an error naming the
//! file, the line (CSV, JSON) or row (Parquet) and the column; nothing is committed then, since
//! the write that consumes these batches commits only at the end.

mod csv;
mod json;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema as ArrowSchema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata_format::Schema;

use crate::arrow_schema::to_arrow_schema;
use crate::error::{Error, Result};

/// Rows per batch read from input files.
pub const INGEST_BATCH_ROWS: usize = 8192;

/// Threads that decode NDJSON: the machine's cores (reading lines is not what costs).
fn decode_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// CSV with a header line.
    Csv,
    /// Newline-delimited JSON objects (`.json`, `.ndjson`, `.jsonl`).
    Json,
    /// Parquet.
    Parquet,
}

impl InputFormat {
    /// The format a file name's extension implies.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "json" | "ndjson" | "jsonl" => Some(Self::Json),
            "parquet" | "pq" => Some(Self::Parquet),
            _ => None,
        }
    }
}

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::InvalidInput {
        file: path.display().to_string(),
        message: message.into(),
    }
}

/// The table's Arrow schema with every column nullable and without field ids: the shape text
/// inputs are parsed into before they are conformed (nulls in required columns are reported
/// by the conform step with the column name).
fn parse_schema(schema: &Schema) -> Result<SchemaRef> {
    let arrow = to_arrow_schema(schema)?;
    Ok(Arc::new(ArrowSchema::new(
        arrow
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), parse_type(f.data_type()), true))
            .collect::<Vec<_>>(),
    )))
}

/// Text parsers know offsets, not zone names: parse `timestamptz` as `+00:00` (the conform
/// step relabels it `UTC`).
fn parse_type(t: &arrow::datatypes::DataType) -> arrow::datatypes::DataType {
    use arrow::datatypes::DataType as T;
    match t {
        T::Timestamp(unit, Some(_)) => T::Timestamp(*unit, Some("+00:00".into())),
        other => other.clone(),
    }
}

/// Rows read to infer the types of columns the table lacks (merge-schema, text inputs).
pub const INFER_ROWS: usize = 10_000;

pub use csv::CsvOptions;

/// Options of [`read_file_with`].
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Keep columns the table lacks (their types inferred from the first [`INFER_ROWS`] rows of
    /// CSV and JSON inputs), for a write with merge-schema; otherwise they are refused.
    pub merge_schema: bool,
    /// How CSV inputs are written.
    pub csv: CsvOptions,
}

/// The Arrow schema of an input file: inferred from the first [`INFER_ROWS`] rows of CSV and
/// JSON (every column nullable; all-null columns are strings), read from a Parquet footer.
pub fn infer_file_schema(
    path: &Path,
    format: InputFormat,
    options: &ReadOptions,
) -> Result<ArrowSchema> {
    match format {
        InputFormat::Csv => csv::infer(path, &options.csv),
        InputFormat::Json => {
            let f = File::open(path).map_err(|e| bad(path, format!("cannot open: {e}")))?;
            let (s, _) =
                arrow::json::reader::infer_json_schema(BufReader::new(f), Some(INFER_ROWS))
                    .map_err(|e| bad(path, format!("cannot infer column types: {e}")))?;
            Ok(ArrowSchema::new(
                s.fields()
                    .iter()
                    .map(|f| match f.data_type() {
                        arrow::datatypes::DataType::Null => {
                            Field::new(f.name(), arrow::datatypes::DataType::Utf8, true)
                        }
                        _ => f.as_ref().clone().with_nullable(true),
                    })
                    .collect::<Vec<_>>(),
            ))
        }
        InputFormat::Parquet => {
            let f = File::open(path).map_err(|e| bad(path, format!("cannot open: {e}")))?;
            let b = ParquetRecordBatchReaderBuilder::try_new(f)
                .map_err(|e| bad(path, format!("not a readable Parquet file: {e}")))?;
            Ok(ArrowSchema::new(
                b.schema()
                    .fields()
                    .iter()
                    .map(|f| Field::new(f.name(), f.data_type().clone(), true))
                    .collect::<Vec<_>>(),
            ))
        }
    }
}

/// A new table's schema for `files`: their inferred schemas merged (a column in several files
/// must have one type), mapped like merge-schema does ([`crate::schema_from_arrow`]).
pub fn infer_table_schema(
    files: &[(std::path::PathBuf, InputFormat)],
    options: &ReadOptions,
) -> Result<Schema> {
    let mut merged: Option<ArrowSchema> = None;
    for (path, format) in files {
        let s = infer_file_schema(path, *format, options)?;
        merged = Some(match merged {
            None => s,
            Some(m) => ArrowSchema::try_merge([m, s]).map_err(|e| {
                bad(
                    path,
                    format!("its columns do not agree with the earlier files: {e}"),
                )
            })?,
        });
    }
    let merged = merged.ok_or_else(|| Error::InvalidInput {
        file: String::new(),
        message: "no input file to infer a schema from".into(),
    })?;
    crate::write::schema_merge::schema_from_arrow(&merged, false)
}

/// Reads a file into record batches whose columns carry the table's names. CSV and JSON
/// values are parsed as the table's column types. A column the table lacks is an error.
pub fn read_file(
    path: &Path,
    format: InputFormat,
    schema: &Schema,
) -> Result<Box<dyn Iterator<Item = Result<RecordBatch>> + Send>> {
    read_file_with(path, format, schema, ReadOptions::default())
}

/// The table's text-parse schema plus, with merge-schema, the inferred columns it lacks.
fn with_inferred(target: SchemaRef, inferred: Option<&ArrowSchema>) -> SchemaRef {
    let Some(inferred) = inferred else {
        return target;
    };
    let mut fields: Vec<Field> = target.fields().iter().map(|f| f.as_ref().clone()).collect();
    for f in inferred.fields() {
        if target.field_with_name(f.name()).is_err() {
            let t = match f.data_type() {
                arrow::datatypes::DataType::Null => arrow::datatypes::DataType::Utf8,
                other => other.clone(),
            };
            fields.push(Field::new(f.name(), t, true));
        }
    }
    Arc::new(ArrowSchema::new(fields))
}

/// [`read_file`] with options.
pub fn read_file_with(
    path: &Path,
    format: InputFormat,
    schema: &Schema,
    options: ReadOptions,
) -> Result<Box<dyn Iterator<Item = Result<RecordBatch>> + Send>> {
    let file = File::open(path).map_err(|e| bad(path, format!("cannot open: {e}")))?;
    let owned = path.to_path_buf();
    match format {
        InputFormat::Csv => {
            let inferred = if options.merge_schema {
                Some(csv::infer(path, &options.csv)?)
            } else {
                None
            };
            let target = with_inferred(parse_schema(schema)?, inferred.as_ref());
            drop(file);
            csv::read(path, &target, &options.csv)
        }
        InputFormat::Json => {
            let inferred = if options.merge_schema {
                let f = File::open(path).map_err(|e| bad(path, format!("cannot open: {e}")))?;
                let (s, _) =
                    arrow::json::reader::infer_json_schema(BufReader::new(f), Some(INFER_ROWS))
                        .map_err(|e| bad(path, format!("cannot infer column types: {e}")))?;
                Some(s)
            } else {
                None
            };
            let target = with_inferred(parse_schema(schema)?, inferred.as_ref());
            Ok(json::batches(
                BufReader::with_capacity(json::READ_BLOCK, file),
                target,
                owned,
                json::write_defaults(schema),
                decode_threads(),
            ))
        }
        InputFormat::Parquet => {
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| bad(path, format!("not a readable Parquet file: {e}")))?
                .with_batch_size(INGEST_BATCH_ROWS)
                .build()
                .map_err(|e| bad(path, e.to_string()))?;
            Ok(Box::new(reader.map(move |b| {
                b.map_err(|e| bad(&owned, format!("unreadable row group: {e}")))
            })))
        }
    }
}

/// Arrow's CSV messages name columns by index and count lines from 0 (the header included):
/// name the column and give the file's 1-based line number.
fn csv_message(msg: &str, schema: &ArrowSchema) -> String {
    let mut out = msg.to_string();
    // Arrow says `for column N` or `Error parsing column N`, N counted from 0.
    for pattern in ["for column ", "parsing column "] {
        let Some(i) = out.find(pattern) else {
            continue;
        };
        let rest = &out[i + pattern.len()..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Some(f) = digits
            .parse::<usize>()
            .ok()
            .and_then(|c| schema.fields().get(c))
        {
            out = out.replacen(
                &format!("{pattern}{digits}"),
                &format!("{pattern}`{}`", f.name()),
                1,
            );
        }
    }
    if let Some(i) = out.find("at line ") {
        let rest = &out[i + "at line ".len()..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(n) = digits.parse::<usize>() {
            out = out.replacen(
                &format!("at line {digits}"),
                &format!("at line {}", n + 1),
                1,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;
    use strata_format::compact::parse_schema as compact;
    use strata_format::{DataType, PrimitiveType};

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn json_rows_without_a_key_get_the_write_default_at_any_depth() {
        use arrow::array::AsArray;
        use arrow::datatypes::Int64Type;
        use strata_format::schema::{StructField, StructType};
        let mut n = StructField::optional(2, "n", PrimitiveType::Int64);
        n.write_default = Some(serde_json::json!(5));
        let mut d = StructField::optional(4, "d", PrimitiveType::Int64);
        d.write_default = Some(serde_json::json!(9));
        let s = StructField::optional(
            3,
            "s",
            DataType::Struct(StructType {
                fields: vec![StructField::optional(5, "a", PrimitiveType::Int64), d],
            }),
        );
        let schema = Schema::new(
            0,
            vec![StructField::required(1, "id", PrimitiveType::Int64), n, s],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            &dir,
            "a.ndjson",
            "{\"id\":1,\"s\":{\"a\":1}}\n\
             {\"id\":2,\"n\":null,\"s\":{\"a\":2,\"d\":null}}\n\
             {\"id\":3,\"n\":7,\"s\":null}\n\
             {\"id\":4,\"s\":{\"d\":8}}\n",
        );
        let batch = read_file(&p, InputFormat::Json, &schema)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let ints = |a: &dyn Array| {
            a.as_primitive::<Int64Type>()
                .iter()
                .collect::<Vec<Option<i64>>>()
        };
        assert_eq!(ints(batch.column(1)), [Some(5), None, Some(7), Some(5)]);
        let s = batch.column(2).as_struct();
        assert_eq!(s.null_count(), 1, "a null struct stays null");
        assert_eq!(ints(s.column(1)), [Some(9), None, None, Some(8)]);
    }

    #[test]
    fn csv_values_that_do_not_fit_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let schema = compact("id:int64,name:string?").unwrap();
        let ok = write(&dir, "a.csv", "name,id\nx,1\ny,2\n");
        let rows: usize = read_file(&ok, InputFormat::Csv, &schema)
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        assert_eq!(rows, 2);
        let badf = write(&dir, "b.csv", "id,name\n1,x\nseven,y\n");
        let err = read_file(&badf, InputFormat::Csv, &schema)
            .unwrap()
            .find_map(|b| b.err())
            .unwrap()
            .to_string();
        assert!(err.contains("b.csv"), "{err}");
        assert!(err.contains("column `id`"), "{err}");
        assert!(err.contains("at line 3"), "{err}");
        let unknown = write(&dir, "c.csv", "id,nope\n1,2\n");
        let err = read_file(&unknown, InputFormat::Csv, &schema)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("column `nope` is not in the table"), "{err}");
    }

    #[test]
    fn json_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let schema = compact("id:int64,name:string?").unwrap();
        let p = write(
            &dir,
            "a.ndjson",
            "{\"id\": 1, \"name\": \"a\"}\n\n{\"id\": \"x\"}\n",
        );
        let err = read_file(&p, InputFormat::Json, &schema)
            .unwrap()
            .find_map(|b| b.err())
            .unwrap()
            .to_string();
        assert!(err.contains("a.ndjson") && err.contains("line 3"), "{err}");
        let good = write(&dir, "b.json", "{\"id\": 1}\n{\"id\": 2, \"name\": null}\n");
        let rows: usize = read_file(&good, InputFormat::Json, &schema)
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        assert_eq!(rows, 2);
    }

    #[test]
    fn unknown_columns_are_refused_unless_merging_then_typed_by_inference() {
        let dir = tempfile::tempdir().unwrap();
        let schema = compact("id:int64").unwrap();
        let csv = write(&dir, "m.csv", "id,score,note\n1,0.5,a\n2,1.5,\n");
        let json = write(
            &dir,
            "m.ndjson",
            "{\"id\": 1, \"score\": 0.5}\n{\"id\": 2, \"note\": \"b\"}\n",
        );
        for (p, format) in [(&csv, InputFormat::Csv), (&json, InputFormat::Json)] {
            let err = match read_file(p, format, &schema) {
                Err(e) => e.to_string(),
                Ok(mut it) => it.find_map(|b| b.err()).unwrap().to_string(),
            };
            assert!(
                err.contains("score") || err.contains("note"),
                "{format:?}: {err}"
            );
            let opts = ReadOptions {
                merge_schema: true,
                ..ReadOptions::default()
            };
            let batches: Vec<RecordBatch> = read_file_with(p, format, &schema, opts)
                .unwrap()
                .map(|b| b.unwrap())
                .collect();
            let s = batches[0].schema();
            assert_eq!(
                s.field_with_name("score").unwrap().data_type(),
                &arrow::datatypes::DataType::Float64,
                "{format:?}"
            );
            assert_eq!(
                s.field_with_name("note").unwrap().data_type(),
                &arrow::datatypes::DataType::Utf8,
                "{format:?}"
            );
            assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        }
    }

    #[test]
    fn formats_follow_extensions() {
        assert_eq!(
            InputFormat::from_path(Path::new("x.NDJSON")),
            Some(InputFormat::Json)
        );
        assert_eq!(
            InputFormat::from_path(Path::new("x.parquet")),
            Some(InputFormat::Parquet)
        );
        assert_eq!(InputFormat::from_path(Path::new("x.txt")), None);
    }
}
