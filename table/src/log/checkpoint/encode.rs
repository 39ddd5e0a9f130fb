//! Writing a checkpoint: rows into row groups of `ROW_GROUP_ROWS`, each row group turned into
//! Arrow arrays and encoded by its own thread (up to one per core), then spliced into the file
//! in order (SPEC §10.2.3).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowWriterOptions, compute_leaves,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use strata_format::log::{CHECKPOINT_CHECKSUM_KEY, checkpoint_checksum};
use strata_format::typed_checkpoint::{ADD_COLUMN, ROW_GROUP_ROWS, typeable};
use strata_format::{Action, AddFile, RemoveFile};

/// One row of a checkpoint, borrowed from the state (or from a list of actions).
#[derive(Clone, Copy)]
pub(super) enum Row<'a> {
    /// Any action written as its JSON line.
    Action(&'a Action),
    /// An active file.
    Add(&'a AddFile),
    /// A tombstone.
    Remove(&'a RemoveFile),
}

impl<'a> Row<'a> {
    pub(super) fn of(action: &'a Action) -> Self {
        match action {
            Action::Add(a) => Row::Add(a),
            other => Row::Action(other),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Row::Action(a) => a.key(),
            Row::Add(_) => "add",
            Row::Remove(_) => "remove",
        }
    }

    fn path(&self) -> Option<&'a str> {
        match self {
            Row::Action(a) => a.path(),
            Row::Add(a) => Some(&a.path),
            Row::Remove(r) => Some(&r.path),
        }
    }

    fn json_line(&self) -> Result<String, String> {
        let line = match self {
            Row::Action(a) => a.to_json_line(),
            Row::Add(a) => Action::Add(Box::new((*a).clone())).to_json_line(),
            Row::Remove(r) => Action::Remove((*r).clone()).to_json_line(),
        };
        line.map_err(|e| e.to_string())
    }
}

/// The Arrow schema of a checkpoint: untyped (three columns) or typed (with `add`).
pub(super) fn schema(typed: bool) -> SchemaRef {
    let mut fields = vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, true),
        Field::new("action", DataType::Utf8, typed),
    ];
    if typed {
        fields.push(Field::new(
            ADD_COLUMN,
            DataType::Struct(super::typed::add_fields()),
            true,
        ));
    }
    Arc::new(Schema::new(fields))
}

/// The record batch of `rows`.
fn batch(schema: &SchemaRef, rows: &[Row<'_>], typed: bool) -> Result<RecordBatch, String> {
    let mut kinds = Vec::with_capacity(rows.len());
    let mut paths = Vec::with_capacity(rows.len());
    let mut lines: Vec<Option<String>> = Vec::with_capacity(rows.len());
    let mut adds: Vec<Option<&AddFile>> = Vec::with_capacity(if typed { rows.len() } else { 0 });
    for r in rows {
        kinds.push(r.kind());
        paths.push(r.path());
        match r {
            Row::Add(a) if typed && typeable(a) => {
                lines.push(None);
                adds.push(Some(a));
            }
            _ => {
                lines.push(Some(r.json_line()?));
                if typed {
                    adds.push(None);
                }
            }
        }
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(kinds)),
        Arc::new(StringArray::from(paths)),
        Arc::new(StringArray::from(lines)),
    ];
    if typed {
        columns.push(super::typed::encode_adds(&adds)?);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}

/// Encodes one row group's rows with its column writers.
fn encode_group(
    schema: &SchemaRef,
    rows: &[Row<'_>],
    typed: bool,
    mut writers: Vec<ArrowColumnWriter>,
) -> Result<Vec<ArrowColumnChunk>, String> {
    let batch = batch(schema, rows, typed)?;
    let mut next = writers.iter_mut();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        for leaf in compute_leaves(field, column).map_err(|e| e.to_string())? {
            next.next()
                .ok_or("fewer column writers than leaves")?
                .write(&leaf)
                .map_err(|e| e.to_string())?;
        }
    }
    writers
        .into_iter()
        .map(|w| w.close().map_err(|e| e.to_string()))
        .collect()
}

/// Encodes `rows` as a checkpoint file; typed (SPEC §10.2.2) or not. Returns the bytes.
pub(super) fn encode(rows: &[Row<'_>], typed: bool) -> Result<Vec<u8>, String> {
    let schema = schema(typed);
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).map_err(|e| e.to_string())?,
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        // SPEC §10.2.5: nothing between the column chunks and the footer (no page indexes,
        // no bloom filters), so the checksummed bytes are the column chunks.
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_offset_index_disabled(true)
        .build();
    let mut out = Vec::new();
    let (mut file, factory) = ArrowWriter::try_new_with_options(
        &mut out,
        schema.clone(),
        ArrowWriterOptions::new().with_properties(props),
    )
    .and_then(|w| w.into_serialized_writer())
    .map_err(|e| e.to_string())?;
    let groups: Vec<&[Row<'_>]> = rows.chunks(ROW_GROUP_ROWS).collect();
    let mut writers = Vec::with_capacity(groups.len());
    for i in 0..groups.len() {
        writers.push(std::sync::Mutex::new(Some(
            factory
                .create_column_writers(i)
                .map_err(|e| e.to_string())?,
        )));
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(groups.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let mut encoded: Vec<Option<Result<Vec<ArrowColumnChunk>, String>>> =
        (0..groups.len()).map(|_| None).collect();
    let results = std::sync::Mutex::new(&mut encoded);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(rows) = groups.get(i) else { break };
                    let taken = writers[i].lock().ok().and_then(|mut w| w.take());
                    let result = match taken {
                        Some(w) => encode_group(&schema, rows, typed, w),
                        None => Err("a row group's column writers are missing".into()),
                    };
                    let failed = result.is_err();
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(result);
                    }
                    if failed {
                        // Later groups are useless after an error: stop handing them out.
                        next.store(groups.len(), Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    for group in encoded {
        let chunks = group.ok_or("a row group was not encoded")??;
        let mut rg = file.next_row_group().map_err(|e| e.to_string())?;
        for chunk in chunks {
            chunk
                .append_to_row_group(&mut rg)
                .map_err(|e| e.to_string())?;
        }
        rg.close().map_err(|e| e.to_string())?;
    }
    // SPEC §10.2.5: the checksum of every byte before the footer, kept in the footer.
    file.flush().map_err(|e| e.to_string())?;
    let data: &[u8] = file.inner();
    if data.len() != file.bytes_written() {
        return Err("the checkpoint's bytes were not all flushed before its checksum".into());
    }
    let checksum = checkpoint_checksum(data);
    file.append_key_value_metadata(KeyValue::new(CHECKPOINT_CHECKSUM_KEY.to_string(), checksum));
    file.close().map_err(|e| e.to_string())?;
    Ok(out)
}
