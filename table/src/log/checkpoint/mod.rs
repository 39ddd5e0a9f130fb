//! Checkpoint files: the full table state at a version, as Parquet (SPEC §10).
//!
//! Columns `kind` (action key), `path` (data file path or null) and `action` (the action as a
//! commit-file JSON line); in tables with the `typedCheckpoints` feature also `add`, a struct
//! holding each `add` row's fields typed, its `action` then null (SPEC §10.2.2). Row groups
//! are encoded and decoded in parallel. Encoding and decoding are pure functions over bytes.

mod encode;
mod typed;

use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use strata_format::log::{CHECKPOINT_CHECKSUM_KEY, verify_checkpoint_checksum};
use strata_format::{Action, TableState};

use encode::Row;
use typed::AddColumns;

/// Rows per record batch when reading.
const BATCH_ROWS: usize = 8192;

/// Encodes checkpoint actions as a Parquet file: typed when their `protocol` lists the
/// `typedCheckpoints` feature (SPEC §10.2.2), as a writer of that table must.
pub fn encode(actions: &[Action]) -> Result<Vec<u8>, String> {
    let typed = actions.iter().any(
        |a| matches!(a, Action::Protocol(p) if strata_format::typed_checkpoint::enabled_in(p)),
    );
    let rows: Vec<Row<'_>> = actions.iter().map(Row::of).collect();
    encode::encode(&rows, typed)
}

/// Encodes the checkpoint of `state` (SPEC §10.2), typed when its protocol lists the feature;
/// returns the bytes and the number of rows. The state's entries are borrowed, not cloned.
pub fn encode_state(state: &TableState) -> Result<(Vec<u8>, u64), String> {
    let head = state.checkpoint_head();
    let mut rows: Vec<Row<'_>> =
        Vec::with_capacity(head.len() + state.files().len() + state.tombstones().len());
    rows.extend(head.iter().map(Row::of));
    rows.extend(state.files().values().map(Row::Add));
    rows.extend(state.tombstones().values().map(Row::Remove));
    let typed = strata_format::typed_checkpoint::enabled_in(state.protocol());
    let bytes = encode::encode(&rows, typed)?;
    Ok((bytes, rows.len() as u64))
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

/// Decodes a checkpoint file and hands its actions to `sink` in file order, a few row groups
/// at a time (decoded in parallel): the whole checkpoint is never held decoded. The first
/// error (of the file or of `sink`) stops it. With `expected_rows` (the `actionCount` of
/// `_last_checkpoint`, SPEC §10.3), a file whose footer counts other rows is rejected before
/// any row is decoded: a checkpoint that lost or gained rows fails at once instead of after
/// decoding, or silently.
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
    let meta = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::default())
        .map_err(|e| format!("not a Parquet file: {e}"))?;
    // SPEC §10.2.5: a damaged byte anywhere before the footer is found before any row is
    // decoded (a flipped byte in a page can decode to a wrong but valid value).
    let recorded = meta
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|e| e.key == CHECKPOINT_CHECKSUM_KEY));
    if let Some(entry) = recorded {
        verify_checkpoint_checksum(&bytes, entry.value.as_deref().unwrap_or_default())?;
    }
    let rows = meta.metadata().file_metadata().num_rows();
    if let Some(expected) = expected_rows
        && u64::try_from(rows).ok() != Some(expected)
    {
        return Err(format!(
            "it holds {rows} rows but `_last_checkpoint` says {expected} (actionCount)"
        ));
    }
    let groups = meta.metadata().row_groups();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(groups.len())
        .max(1);
    // The first row of every row group, for error messages.
    let mut firsts = Vec::with_capacity(groups.len());
    let mut first = 0usize;
    for g in groups {
        firsts.push(first);
        first += usize::try_from(g.num_rows()).unwrap_or(0);
    }
    let read_groups = |which: Vec<usize>, first_row: usize, parallel_json: bool| {
        let reader =
            ParquetRecordBatchReaderBuilder::new_with_metadata(bytes.clone(), meta.clone())
                .with_row_groups(which)
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(|e| e.to_string())?;
        let mut row = first_row;
        let mut out = Vec::new();
        for batch in reader {
            let batch = batch.map_err(|e| format!("row group unreadable: {e}"))?;
            out.push(decode_batch(&batch, row, parallel_json)?);
            row += batch.num_rows();
        }
        Ok::<_, String>(out)
    };
    if threads == 1 {
        // One row group (or one core): batches one after the other, the JSON lines of each
        // spread over the cores.
        let all: Vec<usize> = (0..groups.len()).collect();
        let reader =
            ParquetRecordBatchReaderBuilder::new_with_metadata(bytes.clone(), meta.clone())
                .with_row_groups(all)
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(|e| e.to_string())?;
        let mut row = 0usize;
        for batch in reader {
            let batch = batch.map_err(|e| format!("row group unreadable: {e}"))?;
            for a in decode_batch(&batch, row, true)? {
                sink(a)?;
            }
            row += batch.num_rows();
        }
        return Ok(());
    }
    // Row groups in waves of one per thread; each wave's actions go to `sink` in file order
    // and the first error in row order wins.
    for wave in (0..groups.len()).collect::<Vec<_>>().chunks(threads) {
        let decoded: Vec<Result<Vec<Vec<Action>>, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = wave
                .iter()
                .map(|&g| {
                    let read = &read_groups;
                    let first_row = firsts[g];
                    scope.spawn(move || read(vec![g], first_row, false))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err("a checkpoint decoding thread panicked".to_string())
                    })
                })
                .collect()
        });
        for group in decoded {
            for batch in group? {
                for a in batch {
                    sink(a)?;
                }
            }
        }
    }
    Ok(())
}

/// A string column of `batch` by name; any Arrow string encoding is accepted (Utf8,
/// LargeUtf8, Utf8View).
fn string_column(batch: &RecordBatch, name: &str) -> Result<StringArray, String> {
    let c = batch
        .column_by_name(name)
        .ok_or_else(|| format!("column `{name}` is missing"))?;
    let c = arrow::compute::cast(c, &DataType::Utf8)
        .map_err(|e| format!("column `{name}` is not a string column: {e}"))?;
    c.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| format!("column `{name}` is not a string column"))
}

/// The actions of one batch (`first_row` rows precede it), in order.
fn decode_batch(
    batch: &RecordBatch,
    first_row: usize,
    parallel_json: bool,
) -> Result<Vec<Action>, String> {
    let kinds = string_column(batch, "kind")?;
    let lines = string_column(batch, "action")?;
    let Some(adds) = AddColumns::of(batch)? else {
        return if parallel_json {
            decode_rows(&kinds, &lines, first_row)
        } else {
            decode_range(&kinds, &lines, first_row, 0..lines.len())
        };
    };
    let paths = string_column(batch, "path")?;
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let row = first_row + i + 1;
        if kinds.is_null(i) {
            return Err(format!("row {row}: null `kind`"));
        }
        if !lines.is_null(i) {
            out.extend(decode_range(&kinds, &lines, first_row, i..i + 1)?);
            continue;
        }
        if !adds.is_add(i) {
            return Err(format!("row {row}: neither `action` nor `add` is set"));
        }
        if kinds.value(i) != "add" {
            return Err(format!(
                "row {row}: `kind` is {} but the row is a typed add",
                kinds.value(i)
            ));
        }
        if paths.is_null(i) {
            return Err(format!("row {row}: a typed add without `path`"));
        }
        let add = adds
            .add(i, paths.value(i))
            .map_err(|m| format!("row {row}: {m}"))?;
        let action = Action::Add(Box::new(add));
        action.validate().map_err(|m| format!("row {row}: {m}"))?;
        out.push(action);
    }
    Ok(out)
}

/// Decodes the JSON rows `range` of a batch (`first_row` rows precede it), in order.
fn decode_range(
    kinds: &StringArray,
    lines: &StringArray,
    first_row: usize,
    range: std::ops::Range<usize>,
) -> Result<Vec<Action>, String> {
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
    let one = |range: std::ops::Range<usize>| decode_range(kinds, lines, first_row, range);
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
        let bytes = encode(&actions).unwrap();
        let rows = actions.len() as u64;
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

    /// The actions of a table with the `typedCheckpoints` feature: adds of every shape (stats of
    /// each bound kind, partition values, tier facts, a vector) and one add too large for the
    /// typed columns, which stays a JSON line.
    fn typed_actions(files: usize) -> Vec<Action> {
        use strata_format::actions::{DeletionVectorDescriptor, RestoreState};
        use strata_format::{ColumnStats, StatValue};
        let mut actions = create_commit().actions;
        for a in &mut actions {
            if let Action::Protocol(p) = a {
                let f = strata_format::typed_checkpoint::FEATURE.to_string();
                p.reader_features.push(f.clone());
                p.writer_features.push(f);
            }
        }
        for i in 0..files {
            let mut f = strata_format::testing::add_file(&format!("data/{i:07}.parquet"), i as u64);
            match i % 4 {
                0 => {}
                1 => {
                    f.stats = [
                        (
                            1,
                            ColumnStats {
                                min: Some(StatValue::Int(-5)),
                                max: Some(StatValue::UInt(i as u64)),
                                null_count: Some(0),
                                nan_count: None,
                            },
                        ),
                        (
                            3,
                            ColumnStats {
                                min: Some(StatValue::Str("a\"b\u{e9}".into())),
                                max: Some(StatValue::Str("zz".into())),
                                null_count: None,
                                nan_count: None,
                            },
                        ),
                        (
                            4,
                            ColumnStats {
                                min: Some(StatValue::Float(-0.5)),
                                max: Some(StatValue::Bool(true)),
                                null_count: Some(2),
                                nan_count: Some(1),
                            },
                        ),
                    ]
                    .into();
                    f.partition_values.insert(1000, serde_json::json!(19723));
                    f.partition_values.insert(1001, serde_json::Value::Null);
                }
                2 => {
                    f.schema_id = None;
                    f.data_change = false;
                    f.tier = "cold".into();
                    f.location = Some(format!("s3://archive/t/data/{i}.parquet"));
                    f.storage_class = Some("GLACIER".into());
                    f.restore = Some(RestoreState {
                        requested_ms: 7,
                        expires_ms: Some(9),
                    });
                }
                _ => {
                    f.deletion_vector = Some(DeletionVectorDescriptor {
                        path: "_strata_dv/x.bin".into(),
                        offset: 4,
                        size_in_bytes: 40,
                        cardinality: 1,
                    });
                    f.modification_time = -1;
                }
            }
            actions.push(Action::Add(Box::new(f)));
        }
        let mut huge = strata_format::testing::add_file("data/huge.parquet", 1);
        huge.size = u64::MAX;
        actions.push(Action::Add(Box::new(huge)));
        actions.push(strata_format::testing::remove("data/old.parquet"));
        actions
    }

    #[test]
    fn typed_checkpoints_round_trip_every_add_shape() {
        let actions = typed_actions(8);
        let bytes = Bytes::from(encode(&actions).unwrap());
        let meta = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::default()).unwrap();
        let names: Vec<String> = meta
            .metadata()
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.path().string())
            .collect();
        assert_eq!(
            names,
            [
                "kind",
                "path",
                "action",
                "add.size",
                "add.recordCount",
                "add.modificationTime",
                "add.dataChange",
                "add.specId",
                "add.schemaId",
                "add.partitionValues",
                "add.stats.list.element.fieldId",
                "add.stats.list.element.min",
                "add.stats.list.element.max",
                "add.stats.list.element.nullCount",
                "add.stats.list.element.nanCount",
                "add.tier",
                "add.location",
                "add.storageClass",
                "add.restore",
                "add.deletionVector",
            ]
        );
        assert_eq!(decode(bytes.clone()).unwrap(), actions);
        // Typed adds leave `action` null; the oversized one is a JSON line.
        let batch = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let lines = string_column(&batch, "action").unwrap();
        let json_rows: Vec<usize> = (0..lines.len()).filter(|&i| !lines.is_null(i)).collect();
        let expected: Vec<usize> = (0..actions.len())
            .filter(|&i| !matches!(&actions[i], Action::Add(a) if a.size < u64::MAX))
            .collect();
        assert_eq!(json_rows, expected);
        assert_eq!(json_rows.len(), create_commit().actions.len() + 2);
    }

    /// A typed checkpoint whose `add.stats` list names a field id twice (no writer produces
    /// one: the statistics are a map) is refused, naming the row and the id.
    #[test]
    fn typed_stats_with_a_field_id_twice_are_refused() {
        use arrow_array::{Int32Array, ListArray, StructArray};
        use parquet::arrow::ArrowWriter;
        use std::sync::Arc;

        let actions = typed_actions(8);
        let bytes = Bytes::from(encode(&actions).unwrap());
        let batch = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let (index, _) = batch.schema().column_with_name("add").unwrap();
        let add = batch
            .column(index)
            .as_any()
            .downcast_ref::<StructArray>()
            .unwrap()
            .clone();
        let (add_fields, mut add_columns, add_nulls) = add.into_parts();
        let (stats_index, _) = add_fields.find("stats").unwrap();
        let stats = add_columns[stats_index]
            .as_any()
            .downcast_ref::<ListArray>()
            .unwrap()
            .clone();
        let (list_field, offsets, values, list_nulls) = stats.into_parts();
        let entries = values
            .as_any()
            .downcast_ref::<StructArray>()
            .unwrap()
            .clone();
        let (entry_fields, mut entry_columns, entry_nulls) = entries.into_parts();
        let (id_index, _) = entry_fields.find("fieldId").unwrap();
        // Every entry of a list takes the list's first id.
        let ids = entry_columns[id_index]
            .as_any()
            .downcast_ref::<Int32Array>()
            .unwrap()
            .clone();
        let mut same = ids.values().to_vec();
        let mut twice = None;
        for w in offsets.windows(2) {
            let (start, end) = (w[0] as usize, w[1] as usize);
            if end == start {
                continue;
            }
            let first = ids.value(start);
            same[start..end].fill(first);
            if end - start >= 2 && twice.is_none() {
                twice = Some(ids.value(start));
            }
        }
        let twice = twice.expect("an add with two statistics");
        entry_columns[id_index] = Arc::new(Int32Array::new(same.into(), ids.nulls().cloned()));
        let entries = StructArray::new(entry_fields, entry_columns, entry_nulls);
        add_columns[stats_index] = Arc::new(ListArray::new(
            list_field,
            offsets,
            Arc::new(entries),
            list_nulls,
        ));
        let mut columns = batch.columns().to_vec();
        columns[index] = Arc::new(StructArray::new(add_fields, add_columns, add_nulls));
        let broken = RecordBatch::try_new(batch.schema(), columns).unwrap();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, broken.schema(), None).unwrap();
        writer.write(&broken).unwrap();
        writer.close().unwrap();

        let err = decode(Bytes::from(out)).unwrap_err();
        // Rows are numbered from 1.
        let row = 1 + actions
            .iter()
            .position(|a| matches!(a, Action::Add(f) if f.stats.len() >= 2))
            .unwrap();
        assert_eq!(
            err,
            format!("row {row}: `add.stats` holds field id {twice} twice")
        );
    }

    #[test]
    fn untyped_tables_keep_three_columns() {
        let mut actions = create_commit().actions;
        actions.push(add("data/a.parquet", 3));
        let bytes = Bytes::from(encode(&actions).unwrap());
        let meta = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::default()).unwrap();
        assert_eq!(
            meta.metadata().file_metadata().schema_descr().num_columns(),
            3
        );
        assert_eq!(decode(bytes).unwrap(), actions);
    }

    #[test]
    fn row_groups_decode_in_parallel_in_order_and_name_the_first_bad_row() {
        use strata_format::typed_checkpoint::ROW_GROUP_ROWS;
        let actions = typed_actions(ROW_GROUP_ROWS * 2 + 10);
        let bytes = Bytes::from(encode(&actions).unwrap());
        let meta = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::default()).unwrap();
        assert_eq!(meta.metadata().num_row_groups(), 3);
        let mut seen = Vec::new();
        decode_each(bytes, Some(actions.len() as u64), &mut |a| {
            seen.push(a);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, actions);

        // Bad adds in the second and third row groups: the error names the first one.
        let mut broken = actions.clone();
        for at in [ROW_GROUP_ROWS + 5, 2 * ROW_GROUP_ROWS + 1] {
            let Action::Add(a) = &mut broken[at] else {
                panic!("row {at} is not an add")
            };
            a.tier = "not a tier!".into();
        }
        let err = decode(Bytes::from(encode(&broken).unwrap())).unwrap_err();
        assert!(
            err.starts_with(&format!("row {}:", ROW_GROUP_ROWS + 6)),
            "{err}"
        );
    }

    #[test]
    fn typed_adds_are_validated_like_json_ones() {
        let mut actions = typed_actions(1);
        let Action::Add(a) = &mut actions[3] else {
            panic!("row 3 is not an add")
        };
        a.tier = "not a tier!".into();
        let err = decode(Bytes::from(encode(&actions).unwrap())).unwrap_err();
        assert!(err.starts_with("row 4:"), "{err}");
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
            "../../../../fuzz/regressions/checkpoint/corrupt-def-levels-panic-in-arrow-buffer.parquet"
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
