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
    encode_rows(actions.iter().cloned()).map(|(bytes, _)| bytes)
}

/// Encodes checkpoint rows as a Parquet file, a batch at a time; returns the bytes and the
/// number of rows.
pub fn encode_rows(actions: impl Iterator<Item = Action>) -> Result<(Vec<u8>, u64), String> {
    let schema = schema();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).map_err(|e| e.to_string())?,
        ))
        .build();
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, schema.clone(), Some(props)).map_err(|e| e.to_string())?;
    let mut rows = 0u64;
    let mut actions = actions.peekable();
    while actions.peek().is_some() {
        let chunk: Vec<Action> = actions.by_ref().take(BATCH_ROWS).collect();
        rows += chunk.len() as u64;
        let mut kinds = Vec::with_capacity(chunk.len());
        let mut paths = Vec::with_capacity(chunk.len());
        let mut lines = Vec::with_capacity(chunk.len());
        for a in &chunk {
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
    Ok((out, rows))
}

/// Decodes a checkpoint file into its actions, in file order.
pub fn decode(bytes: Bytes) -> Result<Vec<Action>, String> {
    let mut out = Vec::new();
    decode_each(bytes, None, &mut |a| {
        out.push(a);
        Ok(())
    })?;
    Ok(out)
}

/// Decodes a checkpoint file and hands its actions to `sink` in file order, a batch of rows at
/// a time: the whole checkpoint is never held decoded. The first error (of the file or of
/// `sink`) stops it. With `expected_rows` (the `actionCount` of `_last_checkpoint`, SPEC
/// §10.3), a file whose footer counts other rows is rejected before any row is decoded: a
/// checkpoint that lost or gained rows fails at once instead of after decoding, or silently.
///
/// The Parquet reader panics on some corrupt files instead of returning an error (found by the
/// `checkpoint` fuzz target: `offset + len out of bounds` in arrow-buffer while reading the
/// definition levels of a damaged page). Such a panic is caught and reported as an error, so a
/// corrupt checkpoint cannot take the process down (the workspace builds with `panic = unwind`).
pub fn decode_each(
    bytes: Bytes,
    expected_rows: Option<u64>,
    sink: &mut dyn FnMut(Action) -> Result<(), String>,
) -> Result<(), String> {
    // A panic mid-way leaves `sink` with part of the rows; the caller gets the error and
    // discards what it built.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        decode_unguarded(bytes, expected_rows, sink)
    }))
    .unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(format!(
            "the Parquet reader failed on corrupt data (it panicked: {what})"
        ))
    })
}

fn decode_unguarded(
    bytes: Bytes,
    expected_rows: Option<u64>,
    sink: &mut dyn FnMut(Action) -> Result<(), String>,
) -> Result<(), String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| format!("not a Parquet file: {e}"))?;
    let rows = builder.metadata().file_metadata().num_rows();
    if let Some(expected) = expected_rows
        && u64::try_from(rows).ok() != Some(expected)
    {
        return Err(format!(
            "it holds {rows} rows but `_last_checkpoint` says {expected} (actionCount)"
        ));
    }
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| e.to_string())?;
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
        let kinds = col("kind")?;
        let lines = col("action")?;
        for a in decode_rows(&kinds, &lines, row)? {
            sink(a)?;
        }
        row += batch.num_rows();
    }
    Ok(())
}

/// Rows below which decoding stays on one thread (a thread costs more than it saves).
const ROWS_PER_THREAD: usize = 512;

/// Decodes rows of one batch (`first_row` rows precede it), in order. JSON decoding dominates
/// opening a table, so large batches are split over the machine's cores.
fn decode_rows(
    kinds: &StringArray,
    lines: &StringArray,
    first_row: usize,
) -> Result<Vec<Action>, String> {
    let n = lines.len();
    let threads = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1)
        .min(n / ROWS_PER_THREAD)
        .max(1);
    let one = |range: std::ops::Range<usize>| -> Result<Vec<Action>, String> {
        let mut out = Vec::with_capacity(range.len());
        for i in range {
            let row = first_row + i + 1;
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
        Ok(out)
    };
    if threads == 1 {
        return one(0..n);
    }
    let chunk = n.div_ceil(threads);
    let parts: Vec<Result<Vec<Action>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = t * chunk..((t + 1) * chunk).min(n);
                scope.spawn(move || one(range))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a checkpoint decoding thread panicked".to_string()))
            })
            .collect()
    });
    // The first error in row order wins, as in a sequential decode.
    let mut out = Vec::with_capacity(n);
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// The check of the `checkpoint` fuzz target (`fuzz/fuzz_targets/checkpoint.rs` compiles this
/// file) and of the replay test below: arbitrary bytes must decode or fail cleanly, and decoded
/// actions must survive an encode/decode round trip. `Err` describes a broken invariant.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn fuzz_check(data: &[u8]) -> Result<(), String> {
    let Ok(actions) = decode(Bytes::copy_from_slice(data)) else {
        return Ok(());
    };
    let bytes = encode(&actions).map_err(|e| format!("decoded actions do not encode: {e}"))?;
    let again =
        decode(Bytes::from(bytes)).map_err(|e| format!("a re-encoded checkpoint fails: {e}"))?;
    if again != actions {
        return Err(format!(
            "checkpoint actions do not round-trip:\n first: {actions:?}\nsecond: {again:?}"
        ));
    }
    Ok(())
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
    fn a_row_count_other_than_the_pointers_is_rejected_before_any_row() {
        let mut actions = create_commit().actions;
        actions.push(add("data/a.parquet", 3));
        let (bytes, rows) = encode_rows(actions.iter().cloned()).unwrap();
        assert_eq!(rows, actions.len() as u64);
        let mut seen = 0;
        let err = decode_each(Bytes::from(bytes.clone()), Some(rows + 1), &mut |_| {
            seen += 1;
            Ok(())
        })
        .unwrap_err();
        assert!(
            err.contains("actionCount") && err.contains(&rows.to_string()),
            "{err}"
        );
        assert_eq!(seen, 0);
        let mut all = Vec::new();
        decode_each(Bytes::from(bytes), Some(rows), &mut |a| {
            all.push(a);
            Ok(())
        })
        .unwrap();
        assert_eq!(all, actions);
    }

    #[test]
    fn large_checkpoints_decode_in_order_and_report_the_first_bad_row() {
        let mut actions = create_commit().actions;
        for i in 0..5 * ROWS_PER_THREAD {
            actions.push(add(&format!("data/{i:05}.parquet"), i as u64));
        }
        let bytes = encode(&actions).unwrap();
        assert_eq!(decode(Bytes::from(bytes)).unwrap(), actions);

        // Rows with a broken `kind` in two different thread chunks: the first is named.
        let kinds: Vec<&str> = actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if i == 700 || i == 2000 {
                    "remove"
                } else {
                    a.key()
                }
            })
            .collect();
        let lines: Vec<String> = actions.iter().map(|a| a.to_json_line().unwrap()).collect();
        let err = decode_rows(&StringArray::from(kinds), &StringArray::from(lines), 0).unwrap_err();
        assert!(err.starts_with("row 701:"), "{err}");
    }

    #[test]
    fn garbage_is_reported_not_panicked() {
        let err = decode(Bytes::from_static(b"PAR1 not really")).unwrap_err();
        assert!(err.contains("not a Parquet file"), "{err}");
        let good = encode(&create_commit().actions).unwrap();
        let cut = Bytes::from(good[..good.len() - 10].to_vec());
        assert!(decode(cut).is_err());
    }

    /// Found by the `checkpoint` fuzz target: a mutated checkpoint whose definition levels made
    /// the Parquet reader panic (`offset + len out of bounds` in arrow-buffer).
    #[test]
    fn corrupt_page_that_panics_the_parquet_reader_is_an_error() {
        let data = include_bytes!(
            "../../../fuzz/regressions/checkpoint/corrupt-def-levels-panic-in-arrow-buffer.parquet"
        );
        let err = decode(Bytes::from_static(data)).unwrap_err();
        assert!(err.contains("corrupt data"), "{err}");
    }

    /// Replays `fuzz/corpus/checkpoint/*` and `fuzz/regressions/checkpoint/*` (inputs the fuzzer
    /// started from or found) through the fuzz check.
    #[test]
    fn every_fuzz_corpus_and_regression_checkpoint_passes_the_fuzz_check() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let mut seen = 0;
        for kind in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(kind).join("checkpoint")) else {
                continue;
            };
            for path in entries.map(|e| e.unwrap().path()) {
                if path.file_name().unwrap().to_string_lossy().starts_with('.') {
                    continue;
                }
                let data = std::fs::read(&path).unwrap();
                if let Err(e) = fuzz_check(&data) {
                    panic!("{}: {e}", path.display());
                }
                seen += 1;
            }
        }
        assert!(
            seen > 0,
            "no checkpoint fuzz input under {}",
            root.display()
        );
    }
}
