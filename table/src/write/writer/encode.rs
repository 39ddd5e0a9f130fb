//! Pipelined, column-parallel Parquet encoding of one data file.
//!
//! The Arrow writer of the `parquet` crate encodes the columns of a row group one after the
//! other on the calling thread. Encoding (dictionary, levels, compression) is where writes spend
//! their time, and columns are independent, so this encoder hands each top-level column (or, for
//! wide tables, a group of columns) to its own worker on the blocking pool for the duration of a
//! row group. Input is gathered into chunks of [`CHUNK_ROWS`] rows and sent to every worker
//! through a bounded channel; the caller does not wait for a chunk to be encoded, only for room
//! in the channels, so reading the input (parsing a CSV file, say), encoding the columns and
//! uploading run at the same time, and a column that encodes faster than another does not wait
//! for it chunk by chunk. When a row group is full its workers close their writers while the next
//! row group's workers already take input; the closed group is spliced into the file (in order)
//! and uploaded as soon as it is complete. The output is an ordinary Parquet file (same
//! encodings, statistics, page index and footer as the sequential writer's).
//!
//! **Input budget.** One column often costs most of the encoding (a long string column: more
//! than half of W3's CPU). The row group cannot close before that column has taken all of its
//! input, so with little input queued the next row group could not start while it works, and
//! the other columns' threads, done early, would leave a core idle. Input is therefore queued
//! up to a budget of bytes (the row-group byte limit, shared by the files one write keeps open)
//! rather than a number of chunks: the fast columns run ahead, the row group stops taking
//! input early, and the next row group's heavy column encodes beside the previous one's. A
//! chunk holds its share of the budget until every worker is done with it.
//!
//! Memory: at most two row groups are being encoded at once (the one taking input and the one
//! closing), each bounded by the row-group byte limit (checked after every chunk against the
//! workers' estimates; input a worker has not encoded yet is counted at the ratio of encoded to
//! input bytes that worker has shown so far); input chunks shared by the workers, bounded by
//! the input budget; and one encoded row group being uploaded. The encoded bytes go through one
//! buffer kept for the life of the file.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
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
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

/// Rows gathered before a chunk of input is encoded (the unit of parallel work).
pub(crate) const CHUNK_ROWS: usize = 65_536;

/// An in-memory sink the synchronous file writer writes into; drained to the upload after
/// each row group.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    /// The bytes written so far, replaced by `empty` (an emptied buffer whose capacity is
    /// reused).
    fn swap(&self, empty: Vec<u8>) -> std::io::Result<Vec<u8>> {
        let mut guard = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("encoder buffer lock poisoned"))?;
        Ok(std::mem::replace(&mut *guard, empty))
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

/// Unit of the input budget's permits (a semaphore counts `u32` permits).
const BUDGET_UNIT: usize = 1024;

/// Bytes of input queued for encoders and not yet encoded by all their workers, shared by
/// the files of one write (so a write keeping many files open queues no more than one that
/// keeps one open).
#[derive(Clone)]
pub(crate) struct InputBudget {
    semaphore: Arc<Semaphore>,
    units: u32,
}

impl std::fmt::Debug for InputBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputBudget")
            .field("bytes", &(self.units as usize * BUDGET_UNIT))
            .field(
                "free_bytes",
                &(self.semaphore.available_permits() * BUDGET_UNIT),
            )
            .finish()
    }
}

impl InputBudget {
    /// A budget of `bytes` (at least one unit).
    pub(crate) fn new(bytes: usize) -> Self {
        let units = u32::try_from(bytes.div_ceil(BUDGET_UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, Semaphore::MAX_PERMITS as u32);
        Self {
            semaphore: Arc::new(Semaphore::new(units as usize)),
            units,
        }
    }
}

/// A chunk of input shared by the workers of a row group; its share of the input budget is
/// returned when the last worker drops it.
struct Chunk {
    batches: Vec<RecordBatch>,
    _budget: OwnedSemaphorePermit,
}

/// The column writers of one top-level field (one per Parquet leaf under it).
type FieldWriters = Vec<ArrowColumnWriter>;

/// What a worker hands back: per field it encoded, the field's index and its closed chunks.
type Closed = Vec<(usize, Vec<ArrowColumnChunk>)>;

/// A worker encoding some fields of one row group.
struct Worker {
    /// Input; `None` once the row group stopped taking it.
    tx: Option<mpsc::UnboundedSender<Arc<Chunk>>>,
    /// In-memory bytes of the input columns sent to it.
    sent: usize,
    /// The fields it encodes.
    fields: Vec<usize>,
    /// The worker's thread, to see whether it finished.
    thread: std::thread::JoinHandle<()>,
    /// Its result once its input ended and its writers are closed.
    result: oneshot::Receiver<PqResult<Closed>>,
    /// The worker's estimate of its encoded bytes so far.
    size: Arc<AtomicUsize>,
    /// In-memory bytes of the input columns it has encoded.
    consumed: Arc<AtomicUsize>,
}

impl Worker {
    /// Its estimate of its encoded bytes, plus the input it has not encoded yet.
    fn estimated_size(&self) -> usize {
        estimate(
            self.size.load(Ordering::Relaxed),
            self.consumed.load(Ordering::Relaxed),
            self.sent,
        )
    }
}

/// Encoded size of a worker's row group so far: `encoded` bytes for the `consumed` input bytes
/// it has encoded, plus the `sent` input it has not encoded yet at the same ratio (at its
/// in-memory size before the worker has encoded anything).
fn estimate(encoded: usize, consumed: usize, sent: usize) -> usize {
    let waiting = sent.saturating_sub(consumed);
    if consumed == 0 || waiting == 0 {
        return encoded + waiting;
    }
    let ratio = encoded as f64 / consumed as f64;
    encoded + (waiting as f64 * ratio).ceil() as usize
}

/// A row group being encoded.
struct Group {
    workers: Vec<Worker>,
}

impl Group {
    /// The workers' estimates of their encoded bytes, input not encoded yet included.
    fn estimated_size(&self) -> usize {
        self.workers.iter().map(Worker::estimated_size).sum()
    }

    /// Ends the workers' input: they close their writers.
    fn stop(&mut self) {
        for w in &mut self.workers {
            w.tx = None;
        }
    }

    /// Stops input and waits for every worker's closed chunks, in field order.
    async fn close(mut self, fields: usize) -> PqResult<Vec<ArrowColumnChunk>> {
        self.stop();
        let mut by_field: Vec<Option<Vec<ArrowColumnChunk>>> = (0..fields).map(|_| None).collect();
        let mut first_error = None;
        for w in self.workers {
            let result = w.result.await.unwrap_or_else(|_| {
                Err(ParquetError::General("an encoder thread panicked".into()))
            });
            match result {
                Ok(closed) => {
                    for (i, chunks) in closed {
                        if let Some(slot) = by_field.get_mut(i) {
                            *slot = Some(chunks);
                        }
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let mut out = Vec::new();
        for slot in by_field {
            out.extend(
                slot.ok_or_else(|| ParquetError::General("a column was not encoded".into()))?,
            );
        }
        Ok(out)
    }

    /// Whether every worker has finished (after [`Self::stop`]).
    fn is_done(&self) -> bool {
        self.workers.iter().all(|w| w.thread.is_finished())
    }
}

/// Encodes one Parquet file with pipelined column-parallel encoding; see the module docs.
pub(crate) struct FileEncoder {
    file: SerializedFileWriter<SharedBuf>,
    factory: ArrowRowGroupWriterFactory,
    buf: SharedBuf,
    /// The other half of the output buffer: swapped with `buf`'s contents to upload them.
    spare: Vec<u8>,
    sink: BufWriter,
    /// Set once the upload's shutdown began: from then on `BufWriter::abort` panics.
    shut_down: bool,
    schema: SchemaRef,
    max_rows: usize,
    max_bytes: usize,
    max_workers: usize,
    /// Input queued for the workers and not yet encoded by all of them.
    budget: InputBudget,
    /// The row group taking input (`None` before its first chunk).
    group: Option<Group>,
    /// The previous row group, input stopped, its workers closing their writers.
    closing: Option<Group>,
    row_groups_started: usize,
    group_rows: usize,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

impl FileEncoder {
    pub(crate) fn try_new(
        sink: BufWriter,
        schema: SchemaRef,
        props: WriterProperties,
        budget: InputBudget,
    ) -> PqResult<Self> {
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let max_bytes = props.max_row_group_bytes().unwrap_or(usize::MAX).max(1);
        let buf = SharedBuf::default();
        let options = ArrowWriterOptions::new().with_properties(props);
        let (file, factory) =
            ArrowWriter::try_new_with_options(buf.clone(), schema.clone(), options)?
                .into_serialized_writer()?;
        // One worker per column up to a few per core (the OS shares the cores between them, so
        // unequal columns balance themselves); wider tables group their columns.
        let max_workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .saturating_mul(4)
            .max(1);
        Ok(Self {
            file,
            factory,
            buf,
            spare: Vec::new(),
            sink,
            shut_down: false,
            schema,
            max_rows,
            max_bytes,
            max_workers,
            budget,
            group: None,
            closing: None,
            row_groups_started: 0,
            group_rows: 0,
            pending: Vec::new(),
            pending_rows: 0,
        })
    }

    /// Bytes of the file already written out (row groups spliced into it).
    pub(crate) fn bytes_written(&self) -> usize {
        self.file.bytes_written()
    }

    /// Estimated encoded size of the row groups being encoded plus the input not yet sent.
    pub(crate) fn in_progress_size(&self) -> usize {
        let encoded = self.group.as_ref().map_or(0, Group::estimated_size)
            + self.closing.as_ref().map_or(0, Group::estimated_size);
        let pending: usize = (0..self.schema.fields().len())
            .map(|i| input_size(&self.pending, i))
            .sum();
        encoded + pending
    }

    /// Adds rows; sends a chunk to the workers once enough rows are gathered, and closes the
    /// row group at its row or byte limit.
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
                self.send_pending().await?;
                let too_big = self
                    .group
                    .as_ref()
                    .is_some_and(|g| g.estimated_size() >= self.max_bytes);
                if group_full || too_big {
                    self.close_row_group().await?;
                }
            }
            self.splice_closed(false).await?;
        }
        Ok(())
    }

    /// Sends the gathered input to the row group's workers (starting them for its first chunk),
    /// once the input budget has room for it.
    async fn send_pending(&mut self) -> PqResult<()> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.pending);
        let sizes: Vec<usize> = (0..self.schema.fields().len())
            .map(|i| input_size(&batches, i))
            .collect();
        let bytes: usize = sizes.iter().sum();
        // A chunk larger than the whole budget takes all of it (and waits for an empty queue).
        let units = u32::try_from(bytes.div_ceil(BUDGET_UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget.units);
        let permit = self
            .budget
            .semaphore
            .clone()
            .acquire_many_owned(units)
            .await
            .map_err(|_| ParquetError::General("the encoder's input budget was closed".into()))?;
        let chunk = Arc::new(Chunk {
            batches,
            _budget: permit,
        });
        self.group_rows += self.pending_rows;
        self.pending_rows = 0;
        let group = match self.group.take() {
            Some(g) => g,
            None => self.start_group(&chunk.batches)?,
        };
        let group = self.group.insert(group);
        let mut failed = false;
        for w in &mut group.workers {
            w.sent += w.fields.iter().filter_map(|i| sizes.get(*i)).sum::<usize>();
            let sent = match &w.tx {
                Some(tx) => tx.send(chunk.clone()).is_ok(),
                None => false,
            };
            if !sent {
                // The worker stopped on an error: closing the group reports it.
                failed = true;
                break;
            }
        }
        if failed && let Some(g) = self.group.take() {
            g.close(self.schema.fields().len()).await?;
            return Err(ParquetError::General("an encoder stopped early".into()));
        }
        Ok(())
    }

    /// Starts the workers of a new row group, fields spread by the first chunk's sizes.
    fn start_group(&mut self, first: &[RecordBatch]) -> PqResult<Group> {
        let mut all = self
            .factory
            .create_column_writers(self.row_groups_started)?
            .into_iter();
        self.row_groups_started += 1;
        let mut writers: Vec<Option<FieldWriters>> = Vec::with_capacity(self.schema.fields().len());
        for f in self.schema.fields() {
            writers.push(Some(all.by_ref().take(leaf_count(f.data_type())).collect()));
        }
        let fields = writers.len();
        let workers = self.max_workers.min(fields).max(1);
        let mut order: Vec<(usize, usize)> = (0..fields)
            .map(|i| (input_size(first, i).max(1), i))
            .collect();
        order.sort_unstable_by(|a, b| b.cmp(a));
        let mut assigned: Vec<(usize, Vec<(usize, FieldWriters)>)> =
            (0..workers).map(|_| (0, Vec::new())).collect();
        for (w, i) in order {
            if let Some(g) = assigned.iter_mut().min_by_key(|g| g.0)
                && let Some(ws) = writers.get_mut(i).and_then(Option::take)
            {
                g.0 += w;
                g.1.push((i, ws));
            }
        }
        let workers = assigned
            .into_iter()
            .filter(|(_, fields)| !fields.is_empty())
            .map(|(_, fields)| spawn_worker(self.schema.clone(), fields))
            .collect::<PqResult<_>>()?;
        Ok(Group { workers })
    }

    /// Stops input to the row group in progress (if it has rows); it is spliced into the file
    /// once closed. A group still closing from before is spliced first.
    async fn close_row_group(&mut self) -> PqResult<()> {
        self.send_pending().await?;
        let Some(mut group) = self.group.take() else {
            return Ok(());
        };
        group.stop();
        self.group_rows = 0;
        self.splice_closed(true).await?;
        self.closing = Some(group);
        Ok(())
    }

    /// Splices the closing row group into the file and uploads it: when `wait`, after waiting
    /// for it; otherwise only if its workers are already done.
    async fn splice_closed(&mut self, wait: bool) -> PqResult<()> {
        let ready = match &self.closing {
            Some(g) => wait || g.is_done(),
            None => false,
        };
        if !ready {
            return Ok(());
        }
        let Some(group) = self.closing.take() else {
            return Ok(());
        };
        let chunks = group.close(self.schema.fields().len()).await?;
        let mut rg = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut rg)?;
        }
        rg.close()?;
        self.upload().await
    }

    async fn upload(&mut self) -> PqResult<()> {
        let mut bytes = self.buf.swap(std::mem::take(&mut self.spare))?;
        if !bytes.is_empty() {
            self.sink.write_all(&bytes).await?;
        }
        bytes.clear();
        self.spare = bytes;
        Ok(())
    }

    /// Writes the last row group and the footer, completes the upload and returns the file's
    /// metadata.
    pub(crate) async fn finish(&mut self) -> PqResult<ParquetMetaData> {
        self.close_row_group().await?;
        self.splice_closed(true).await?;
        let metadata = self.file.finish()?;
        self.upload().await?;
        self.shut_down = true;
        self.sink.shutdown().await?;
        Ok(metadata)
    }

    /// Aborts the upload (best effort). After a failed [`finish`](Self::finish) whose
    /// shutdown had begun there is nothing left to abort here (`BufWriter::abort` would panic):
    /// the single put failed, or the multipart completion did, and an unfinished multipart
    /// upload is reaped by store lifecycles. Workers still running stop when their input ends.
    pub(crate) async fn abort(self) -> object_store::Result<()> {
        if self.shut_down {
            return Ok(());
        }
        let mut sink = self.sink;
        sink.abort().await
    }
}

/// In-memory bytes of column `i` of `batches`.
fn input_size(batches: &[RecordBatch], i: usize) -> usize {
    batches
        .iter()
        .filter_map(|b| b.columns().get(i))
        .map(|c| slice_size(c.as_ref()))
        .sum()
}

/// Bytes of the values a (possibly sliced) array refers to. Arrow's `get_slice_memory_size`
/// counts the whole child of a sliced list or map, so a column of lists sliced into many small
/// pieces would count its values once per piece.
fn slice_size(array: &dyn Array) -> usize {
    let nulls = array.nulls().map_or(0, |n| n.len().div_ceil(8));
    let (offsets, values): (usize, Option<ArrayRef>) = match array.data_type() {
        ArrowType::List(_) => {
            let l = array.as_list::<i32>();
            let o = l.value_offsets();
            let (start, end) = (o.first().copied(), o.last().copied());
            let child = start
                .zip(end)
                .map(|(s, e)| l.values().slice(s.max(0) as usize, (e - s).max(0) as usize));
            (o.len() * 4, child)
        }
        ArrowType::LargeList(_) => {
            let l = array.as_list::<i64>();
            let o = l.value_offsets();
            let (start, end) = (o.first().copied(), o.last().copied());
            let child = start
                .zip(end)
                .map(|(s, e)| l.values().slice(s.max(0) as usize, (e - s).max(0) as usize));
            (o.len() * 8, child)
        }
        ArrowType::Map(..) => {
            let m = array.as_map();
            let o = m.value_offsets();
            let (start, end) = (o.first().copied(), o.last().copied());
            let child = start.zip(end).map(|(s, e)| {
                Arc::new(
                    m.entries()
                        .slice(s.max(0) as usize, (e - s).max(0) as usize),
                ) as ArrayRef
            });
            (o.len() * 4, child)
        }
        ArrowType::Struct(_) => {
            let children: usize = array
                .as_struct()
                .columns()
                .iter()
                .map(|c| slice_size(c.as_ref()))
                .sum();
            return nulls + children;
        }
        _ => return array.to_data().get_slice_memory_size().unwrap_or(0),
    };
    nulls + offsets + values.map_or(0, |v| slice_size(v.as_ref()))
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

/// Starts a worker thread encoding `fields` (index and writers) from the chunks it is sent; it
/// closes the writers when its input ends. After an error it stops taking input and returns the
/// error. (Its own thread, not the runtime's blocking pool: a write keeping many files open
/// could otherwise fill the pool with workers waiting for input from a writer that waits for a
/// worker still queued.)
fn spawn_worker(schema: SchemaRef, fields: Vec<(usize, FieldWriters)>) -> PqResult<Worker> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Arc<Chunk>>();
    let indices = fields.iter().map(|(i, _)| *i).collect();
    let (done, result) = oneshot::channel();
    let size = Arc::new(AtomicUsize::new(0));
    let consumed = Arc::new(AtomicUsize::new(0));
    let (reported, progress) = (size.clone(), consumed.clone());
    let encode = move || -> PqResult<Closed> {
        let mut fields = fields;
        while let Some(chunk) = rx.blocking_recv() {
            let mut total = 0;
            let mut input = 0;
            for (i, ws) in &mut fields {
                input += input_size(&chunk.batches, *i);
                let field = schema.field(*i);
                for b in chunk.batches.iter() {
                    let leaves = compute_leaves(field, b.column(*i))?;
                    for (w, leaf) in ws.iter_mut().zip(leaves.iter()) {
                        w.write(leaf)?;
                    }
                }
                total += ws
                    .iter()
                    .map(|w| w.get_estimated_total_bytes())
                    .sum::<usize>();
            }
            reported.store(total, Ordering::Relaxed);
            progress.fetch_add(input, Ordering::Relaxed);
        }
        let mut out = Vec::with_capacity(fields.len());
        for (i, ws) in fields {
            let mut chunks = Vec::with_capacity(ws.len());
            for w in ws {
                chunks.push(w.close()?);
            }
            out.push((i, chunks));
        }
        Ok(out)
    };
    let thread = std::thread::Builder::new()
        .name("strata-encode".into())
        .spawn(move || {
            // The receiver is gone only when the file was abandoned.
            let _ = done.send(encode());
        })
        .map_err(|e| ParquetError::General(format!("cannot start an encoder thread: {e}")))?;
    Ok(Worker {
        tx: Some(tx),
        sent: 0,
        fields: indices,
        thread,
        result,
        size,
        consumed,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::DataFileWriter;
    use super::super::fixtures::memory_location;
    use super::*;
    use arrow::array::{Int64Array, ListArray};
    use arrow::datatypes::Int64Type;
    use strata_format::{PrimitiveType as P, Schema, StructField};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn files_of_one_write_share_a_small_input_budget() {
        // Two writers (two partitions of one write) share a budget far smaller than one
        // chunk: each chunk waits for the other's to be encoded, and both files come out whole.
        let loc = memory_location();
        let schema = Schema::new(0, vec![StructField::required(1, "id", P::Int64)]).unwrap();
        let budget = InputBudget::new(1);
        let mut writers: Vec<DataFileWriter> = (0..2)
            .map(|p| {
                DataFileWriter::builder(loc.clone(), schema.clone())
                    .partition(BTreeMap::new(), vec![format!("p={p}")])
                    .input_budget(budget.clone())
                    .build()
                    .unwrap()
            })
            .collect();
        let target = crate::arrow_schema::to_arrow_schema(&schema).unwrap();
        let rows = 3 * CHUNK_ROWS as i64 + 17;
        for part in 0..4i64 {
            for (p, w) in writers.iter_mut().enumerate() {
                let start = part * rows + p as i64 * 1_000_000_000;
                let batch = RecordBatch::try_new(
                    target.clone(),
                    vec![Arc::new(Int64Array::from_iter_values(start..start + rows))],
                )
                .unwrap();
                w.write(&batch).await.unwrap();
            }
        }
        for (p, w) in writers.into_iter().enumerate() {
            let adds = w.finish().await.unwrap();
            assert_eq!(
                adds.iter().map(|a| a.record_count).sum::<u64>(),
                4 * rows as u64,
                "partition {p}"
            );
            assert!(
                adds.iter()
                    .all(|a| a.path.starts_with(&format!("data/p={p}/")))
            );
        }
    }

    #[test]
    fn input_not_yet_encoded_counts_at_the_ratio_shown_so_far() {
        // Nothing encoded yet: queued input counts at its in-memory size.
        assert_eq!(estimate(0, 0, 1_000), 1_000);
        assert_eq!(estimate(500, 0, 1_000), 1_500);
        // 4 MB of input encoded into 1 MB: the 8 MB still queued count as 2 MB.
        assert_eq!(estimate(1_000_000, 4_000_000, 12_000_000), 3_000_000);
        // Everything encoded: the encoder's own estimate.
        assert_eq!(estimate(1_000_000, 4_000_000, 4_000_000), 1_000_000);
        // Input that grows when encoded counts as grown.
        assert_eq!(estimate(300, 100, 200), 600);
    }

    #[test]
    fn a_sliced_list_counts_only_its_own_values() {
        let rows = 100_000;
        let lists = ListArray::from_iter_primitive::<Int64Type, _, _>(
            (0..rows).map(|i| Some(vec![Some(i), None, Some(-i)])),
        );
        let whole = slice_size(&lists);
        // Offsets (4 bytes a row plus one), 3 values of 8 bytes, the values' validity bits.
        assert_eq!(
            whole,
            (rows as usize + 1) * 4 + rows as usize * 24 + rows as usize * 3 / 8
        );
        let pieces: usize = (0..rows as usize)
            .step_by(8192)
            .map(|start| slice_size(&lists.slice(start, 8192.min(rows as usize - start))))
            .sum();
        // Each piece counts its own offsets (one more than its rows) and values, nothing more.
        assert!(
            pieces >= whole && pieces <= whole + 13 * 8,
            "{pieces} against {whole}"
        );
        let flat = Int64Array::from_iter_values(0..rows);
        assert_eq!(slice_size(&flat.slice(10, 100)), 800);
    }
}
