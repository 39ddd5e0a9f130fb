//! Column-parallel Parquet encoding of one data file.
//!
//! The Arrow writer of the `parquet` crate encodes the columns of a row group one after the
//! other on the calling thread. Encoding (dictionary, levels, compression) is where writes spend
//! their time, and columns are independent, so this encoder gives each top-level column its own
//! `ArrowColumnWriter` and encodes groups of columns on several threads at once: input is
//! gathered into chunks of [`CHUNK_ROWS`] rows, each chunk's columns are encoded in parallel (on
//! a blocking thread, so the async runtime is never stalled), and the encoded pages stay in
//! memory until the row group closes and is spliced into the file. The output is an ordinary
//! Parquet file (same encodings, statistics, page index and footer as the sequential writer's),
//! written through the async upload as each row group completes.
//!
//! Memory: the input chunk (at most [`CHUNK_ROWS`] rows) plus the encoded row group in progress
//! (bounded by the row-group byte limit) plus one encoded row group waiting for upload.

use std::io::Write;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType as ArrowType, SchemaRef};
use object_store::buffered::BufWriter;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriterOptions,
    compute_leaves,
};
use parquet::errors::{ParquetError, Result as PqResult};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use tokio::io::AsyncWriteExt;

/// Rows gathered before a chunk of input is encoded (the unit of parallel work).
pub(crate) const CHUNK_ROWS: usize = 65_536;

/// An in-memory sink the synchronous file writer writes into; drained to the upload after
/// each row group.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn take(&self) -> std::io::Result<Vec<u8>> {
        let mut guard = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("encoder buffer lock poisoned"))?;
        Ok(std::mem::take(&mut *guard))
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut guard = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("encoder buffer lock poisoned"))?;
        guard.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The column writers of one top-level field (one per Parquet leaf under it).
type FieldWriters = Vec<ArrowColumnWriter>;

/// Encodes one Parquet file with column-parallel encoding; see the module docs.
pub(crate) struct FileEncoder {
    file: SerializedFileWriter<SharedBuf>,
    factory: ArrowRowGroupWriterFactory,
    buf: SharedBuf,
    sink: BufWriter,
    /// Set once the upload's shutdown began: from then on `BufWriter::abort` panics.
    shut_down: bool,
    schema: SchemaRef,
    max_rows: usize,
    max_bytes: usize,
    threads: usize,
    /// Writers of the row group in progress (`None` before its first chunk).
    writers: Option<Vec<FieldWriters>>,
    row_groups: usize,
    group_rows: usize,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

impl FileEncoder {
    pub(crate) fn try_new(
        sink: BufWriter,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> PqResult<Self> {
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let max_bytes = props.max_row_group_bytes().unwrap_or(usize::MAX).max(1);
        let buf = SharedBuf::default();
        let options = ArrowWriterOptions::new().with_properties(props);
        let (file, factory) =
            ArrowWriter::try_new_with_options(buf.clone(), schema.clone(), options)?
                .into_serialized_writer()?;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(schema.fields().len())
            .max(1);
        Ok(Self {
            file,
            factory,
            buf,
            sink,
            shut_down: false,
            schema,
            max_rows,
            max_bytes,
            threads,
            writers: None,
            row_groups: 0,
            group_rows: 0,
            pending: Vec::new(),
            pending_rows: 0,
        })
    }

    /// Bytes of the file already written out (closed row groups).
    pub(crate) fn bytes_written(&self) -> usize {
        self.file.bytes_written()
    }

    /// Estimated encoded size of the row group in progress plus the input not yet encoded.
    pub(crate) fn in_progress_size(&self) -> usize {
        let encoded: usize = self
            .writers
            .iter()
            .flatten()
            .flatten()
            .map(|w| w.get_estimated_total_bytes())
            .sum();
        let pending: usize = self
            .pending
            .iter()
            .map(|b| {
                b.columns()
                    .iter()
                    .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0))
                    .sum::<usize>()
            })
            .sum();
        encoded + pending
    }

    /// Adds rows; encodes a chunk once enough rows are gathered, and closes the row group at
    /// its row or byte limit.
    pub(crate) async fn write(&mut self, batch: &RecordBatch) -> PqResult<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let room = self.max_rows - self.group_rows - self.pending_rows;
            let n = room.min(batch.num_rows() - offset);
            self.pending.push(batch.slice(offset, n));
            self.pending_rows += n;
            offset += n;
            let group_full = self.group_rows + self.pending_rows >= self.max_rows;
            if self.pending_rows >= CHUNK_ROWS || group_full {
                self.encode_pending(false).await?;
                let too_big = self.in_progress_size() >= self.max_bytes;
                if group_full || too_big {
                    self.close_row_group().await?;
                }
            }
        }
        Ok(())
    }

    /// Encodes the gathered input (and closes the column writers when `close`).
    async fn encode_pending(&mut self, close: bool) -> PqResult<Option<Vec<ArrowColumnChunk>>> {
        let writers = match self.writers.take() {
            Some(w) => w,
            None => self.new_writers()?,
        };
        let batches = std::mem::take(&mut self.pending);
        self.group_rows += self.pending_rows;
        self.pending_rows = 0;
        let schema = self.schema.clone();
        let threads = self.threads;
        let (writers, chunks) = tokio::task::spawn_blocking(move || {
            encode_parallel(&schema, writers, &batches, threads, close)
        })
        .await
        .map_err(|e| ParquetError::General(format!("encoder task failed: {e}")))??;
        if close {
            Ok(Some(chunks))
        } else {
            self.writers = Some(writers);
            Ok(None)
        }
    }

    fn new_writers(&self) -> PqResult<Vec<FieldWriters>> {
        let mut all = self
            .factory
            .create_column_writers(self.row_groups)?
            .into_iter();
        let mut out = Vec::with_capacity(self.schema.fields().len());
        for f in self.schema.fields() {
            out.push(all.by_ref().take(leaf_count(f.data_type())).collect());
        }
        Ok(out)
    }

    /// Closes the row group in progress (if it has rows) and uploads it.
    async fn close_row_group(&mut self) -> PqResult<()> {
        if self.group_rows + self.pending_rows == 0 {
            return Ok(());
        }
        let chunks = self.encode_pending(true).await?.unwrap_or_default();
        let mut group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group)?;
        }
        group.close()?;
        self.row_groups += 1;
        self.group_rows = 0;
        self.upload().await
    }

    async fn upload(&mut self) -> PqResult<()> {
        let bytes = self.buf.take()?;
        if !bytes.is_empty() {
            self.sink.write_all(&bytes).await?;
        }
        Ok(())
    }

    /// Writes the last row group and the footer, completes the upload and returns the file's
    /// metadata.
    pub(crate) async fn finish(&mut self) -> PqResult<ParquetMetaData> {
        self.close_row_group().await?;
        let metadata = self.file.finish()?;
        self.upload().await?;
        self.shut_down = true;
        self.sink.shutdown().await?;
        Ok(metadata)
    }

    /// Aborts the upload (best effort). After a failed [`finish`](Self::finish) whose
    /// shutdown had begun there is nothing left to abort here (`BufWriter::abort` would panic):
    /// the single put failed, or the multipart completion did, and an unfinished multipart
    /// upload is reaped by store lifecycles.
    pub(crate) async fn abort(self) -> object_store::Result<()> {
        if self.shut_down {
            return Ok(());
        }
        let mut sink = self.sink;
        sink.abort().await
    }
}

/// Parquet leaf columns under an Arrow type (the writers one top-level field needs).
fn leaf_count(t: &ArrowType) -> usize {
    match t {
        ArrowType::Struct(fields) => fields.iter().map(|f| leaf_count(f.data_type())).sum(),
        ArrowType::List(f)
        | ArrowType::LargeList(f)
        | ArrowType::ListView(f)
        | ArrowType::LargeListView(f)
        | ArrowType::FixedSizeList(f, _)
        | ArrowType::Map(f, _) => leaf_count(f.data_type()),
        _ => 1,
    }
}

/// Encodes `batches` into the writers, columns spread over `threads` threads (largest input
/// first onto the least loaded thread), and closes them when `close`.
fn encode_parallel(
    schema: &SchemaRef,
    writers: Vec<FieldWriters>,
    batches: &[RecordBatch],
    threads: usize,
    close: bool,
) -> PqResult<(Vec<FieldWriters>, Vec<ArrowColumnChunk>)> {
    let fields = writers.len();
    let weight = |i: usize| -> usize {
        batches
            .iter()
            .filter_map(|b| b.columns().get(i))
            .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0))
            .sum::<usize>()
            .max(1)
    };
    let mut order: Vec<(usize, usize)> = (0..fields).map(|i| (weight(i), i)).collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    let mut groups: Vec<(usize, Vec<(usize, FieldWriters)>)> =
        (0..threads.max(1)).map(|_| (0, Vec::new())).collect();
    let mut slots: Vec<Option<FieldWriters>> = writers.into_iter().map(Some).collect();
    for (w, i) in order {
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0)
            && let Some(ws) = slots.get_mut(i).and_then(Option::take)
        {
            g.0 += w;
            g.1.push((i, ws));
        }
    }
    type Encoded = PqResult<Vec<(usize, FieldWriters, Vec<ArrowColumnChunk>)>>;
    let work = |group: Vec<(usize, FieldWriters)>| -> Encoded {
        let mut out = Vec::with_capacity(group.len());
        for (i, mut ws) in group {
            let field = schema.field(i);
            for b in batches {
                let leaves = compute_leaves(field, b.column(i))?;
                for (w, leaf) in ws.iter_mut().zip(leaves.iter()) {
                    w.write(leaf)?;
                }
            }
            let mut chunks = Vec::new();
            if close {
                for w in std::mem::take(&mut ws) {
                    chunks.push(w.close()?);
                }
            }
            out.push((i, ws, chunks));
        }
        Ok(out)
    };
    let mut results = Vec::with_capacity(groups.len());
    std::thread::scope(|scope| {
        let mut iter = groups.into_iter().map(|g| g.1);
        let first = iter.next();
        let handles: Vec<_> = iter
            .filter(|g| !g.is_empty())
            .map(|g| scope.spawn(|| work(g)))
            .collect();
        if let Some(g) = first {
            results.push(work(g));
        }
        for h in handles {
            results.push(
                h.join().unwrap_or_else(|_| {
                    Err(ParquetError::General("encoder thread panicked".into()))
                }),
            );
        }
    });
    let mut by_field: Vec<Option<(FieldWriters, Vec<ArrowColumnChunk>)>> =
        (0..fields).map(|_| None).collect();
    for r in results {
        for (i, ws, chunks) in r? {
            if let Some(slot) = by_field.get_mut(i) {
                *slot = Some((ws, chunks));
            }
        }
    }
    let mut writers = Vec::with_capacity(fields);
    let mut chunks = Vec::new();
    for slot in by_field {
        let (ws, cs) =
            slot.ok_or_else(|| ParquetError::General("a column was not encoded".into()))?;
        writers.push(ws);
        chunks.extend(cs);
    }
    Ok((writers, chunks))
}
