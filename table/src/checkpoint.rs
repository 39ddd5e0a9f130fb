//! Checkpoint files: the full table state at a version, as Parquet (SPEC §10).
//!
//! Three columns: `kind` (action key), `path` (data file path or null) and `action` (the action
//! as a commit-file JSON line). Encoding and decoding are pure functions over bytes.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use strata_format::Action;

/// Rows per record batch when writing.
const BATCH_ROWS: usize = 8192;

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, true),
        Field::new("action", DataType::Utf8, false),
    ]))
}

/// Encodes checkpoint actions as a Parquet file.
pub fn encode(actions: &[Action]) -> Result<Vec<u8>, String> {
    let schema = schema();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).map_err(|e| e.to_string())?,
        ))
        .build();
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, schema.clone(), Some(props)).map_err(|e| e.to_string())?;
    for chunk in actions.chunks(BATCH_ROWS) {
        let mut kinds = Vec::with_capacity(chunk.len());
        let mut paths = Vec::with_capacity(chunk.len());
        let mut lines = Vec::with_capacity(chunk.len());
        for a in chunk {
            kinds.push(a.key());
            paths.push(a.path());
            lines.push(a.to_json_line().map_err(|e| e.to_string())?);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(kinds)),
            Arc::new(StringArray::from(paths)),
            Arc::new(StringArray::from(lines)),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?;
        writer.write(&batch).map_err(|e| e.to_string())?;
    }
    writer.close().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Decodes a checkpoint file into its actions, in file order.
pub fn decode(bytes: Bytes) -> Result<Vec<Action>, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| format!("not a Parquet file: {e}"))?
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut row = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| format!("row group unreadable: {e}"))?;
        // Any Arrow string encoding is accepted (Utf8, LargeUtf8, Utf8View).
        let col = |name: &str| -> Result<StringArray, String> {
            let c = batch
                .column_by_name(name)
                .ok_or_else(|| format!("column `{name}` is missing"))?;
            let c = arrow::compute::cast(c, &DataType::Utf8)
                .map_err(|e| format!("column `{name}` is not a string column: {e}"))?;
            c.as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| format!("column `{name}` is not a string column"))
        };
        let kinds = &col("kind")?;
        let lines = &col("action")?;
        for i in 0..batch.num_rows() {
            row += 1;
            if lines.is_null(i) || kinds.is_null(i) {
                return Err(format!("row {row}: null `kind` or `action`"));
            }
            // Unknown actions are ignored, as in commit files (SPEC §10.2).
            let Some(action) =
                Action::from_json_line(lines.value(i)).map_err(|m| format!("row {row}: {m}"))?
            else {
                continue;
            };
            if action.key() != kinds.value(i) {
                return Err(format!(
                    "row {row}: `kind` is {} but the action is {}",
                    kinds.value(i),
                    action.key()
                ));
            }
            out.push(action);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_format::testing::{add, create_commit};

    #[test]
    fn checkpoint_round_trips_actions_in_order() {
        let mut actions = create_commit().actions;
        actions.push(add("data/a.parquet", 3));
        actions.push(add("data/b.parquet", 4));
        let bytes = encode(&actions).unwrap();
        assert_eq!(&bytes[..4], b"PAR1");
        assert_eq!(decode(Bytes::from(bytes)).unwrap(), actions);
    }

    #[test]
    fn garbage_is_reported_not_panicked() {
        let err = decode(Bytes::from_static(b"PAR1 not really")).unwrap_err();
        assert!(err.contains("not a Parquet file"), "{err}");
        let good = encode(&create_commit().actions).unwrap();
        let cut = Bytes::from(good[..good.len() - 10].to_vec());
        assert!(decode(cut).is_err());
    }
}
