//! Parquet reads over any `object_store` backend (an `AsyncFileReader`).

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use std::io::{Read, Seek, SeekFrom};

use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

/// Bytes fetched from the end of a file for its footer in one request (most footers fit).
const FOOTER_PREFETCH: usize = 64 * 1024;

/// Reads one Parquet object whose size is known from the log (no HEAD request).
#[derive(Debug, Clone)]
pub(crate) struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    /// Counts the bytes requested from the store (footer, page index, pages).
    fetched: Option<Arc<AtomicU64>>,
    /// Set when the store is a local file system: ranges are then read from the file a GET
    /// opens ([`read_file_ranges`]) into these buffers instead of through `get_ranges`.
    local: Option<Arc<ReadBuffers>>,
    /// The end of the object as fetched with the footer (offset, bytes), from an object
    /// store: later reads inside it are served without a request. A file no larger than
    /// [`FOOTER_PREFETCH`] is then read in one round trip instead of two.
    tail: Option<(u64, Bytes)>,
}

impl ObjectReader {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, path: Path, size: u64) -> Self {
        Self {
            store,
            path,
            size,
            fetched: None,
            local: None,
            tail: None,
        }
    }

    /// The end of the object fetched with its footer, if any (see the field).
    pub(crate) fn tail(&self) -> Option<(u64, Bytes)> {
        self.tail.clone()
    }

    /// Serves reads inside `tail` (from [`ObjectReader::tail`] of a reader of the same
    /// object) without a request.
    pub(crate) fn with_tail(mut self, tail: Option<(u64, Bytes)>) -> Self {
        self.tail = tail;
        self
    }

    /// The bytes of `range` if the tail holds them.
    fn held_in_tail(&self, range: &Range<u64>) -> Option<Bytes> {
        let (start, bytes) = self.tail.as_ref()?;
        let end = start + bytes.len() as u64;
        if range.start < *start || range.end > end || range.start > range.end {
            return None;
        }
        let from = usize::try_from(range.start - start).ok()?;
        let to = usize::try_from(range.end - start).ok()?;
        Some(bytes.slice(from..to))
    }

    /// Marks the store as a local file system whose reads go into `buffers` (see
    /// [`read_file_ranges`]).
    pub(crate) fn local(mut self, buffers: Option<Arc<ReadBuffers>>) -> Self {
        self.local = buffers;
        self
    }

    /// Adds the bytes of every request to `counter`.
    pub(crate) fn counting(mut self, counter: Arc<AtomicU64>) -> Self {
        self.fetched = Some(counter);
        self
    }

    fn count(&self, n: usize) {
        if let Some(c) = &self.fetched {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

/// Most bytes of idle buffers a [`ReadBuffers`] keeps.
const READ_BUFFERS_KEPT_BYTES: usize = 64 * 1024 * 1024;

/// Buffers for local range reads, reused by the reads of one scan. A fresh buffer costs a page
/// fault and a page of zeros from the kernel for every 4 KiB the read fills; a scan reads one
/// column chunk after another, so a buffer freed by a decoded row group serves the next.
#[derive(Debug, Default)]
pub(crate) struct ReadBuffers {
    idle: Mutex<Vec<Vec<u8>>>,
}

impl ReadBuffers {
    /// An empty buffer with room for `len` bytes: the smallest idle one that fits, else a new
    /// one (never a grown idle one: growing copies its old capacity). New buffers are rounded
    /// up to a multiple of 1 MiB so that the column chunks of one column, which differ by a
    /// few bytes, fit each other's buffers.
    fn take(&self, len: usize) -> Vec<u8> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let best = idle
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        match best {
            Some(i) => {
                let mut buf = idle.swap_remove(i);
                buf.clear();
                buf
            }
            None => Vec::with_capacity(len.next_multiple_of(1 << 20)),
        }
    }

    /// Keeps `buf` for a later read, unless that would keep too many bytes idle.
    fn give_back(&self, buf: Vec<u8>) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let kept: usize = idle.iter().map(Vec::capacity).sum();
        if kept + buf.capacity() <= READ_BUFFERS_KEPT_BYTES {
            idle.push(buf);
        }
    }
}

/// A read buffer lent to a [`Bytes`]: it goes back to its [`ReadBuffers`] when the last
/// `Bytes` referring to it is dropped (or is freed if the scan is gone by then).
struct Lent {
    buf: Vec<u8>,
    home: Weak<ReadBuffers>,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(home) = self.home.upgrade() {
            home.give_back(std::mem::take(&mut self.buf));
        }
    }
}

/// Reads `ranges` of a local file. `object_store`'s local range reads fill a new buffer with
/// zeros before reading into it, an extra pass over every byte of a scan. Here one GET of the
/// span of the ranges (so store wrappers still see the request) hands back the open file, and
/// each range is read by `read_to_end` into a reused buffer, which skips that pass and the
/// page faults of a new buffer. A store that answers with a stream instead is asked for the
/// ranges the usual way.
async fn read_file_ranges(
    store: &dyn ObjectStore,
    path: &Path,
    ranges: Vec<Range<u64>>,
    buffers: &Arc<ReadBuffers>,
) -> parquet::errors::Result<Vec<Bytes>> {
    let (Some(start), Some(end)) = (
        ranges.iter().map(|r| r.start).min(),
        ranges.iter().map(|r| r.end).max(),
    ) else {
        return Ok(Vec::new());
    };
    let options = GetOptions {
        range: Some(GetRange::Bounded(start..end)),
        ..GetOptions::default()
    };
    let got = store.get_opts(path, options).await.map_err(external)?;
    match got.payload {
        GetResultPayload::File(mut file, file_path) => {
            let buffers = buffers.clone();
            tokio::task::spawn_blocking(move || {
                ranges
                    .into_iter()
                    .map(|r| read_exact_range(&mut file, &file_path, r, &buffers))
                    .collect()
            })
            .await
            .map_err(|e| ParquetError::External(Box::new(e)))?
        }
        GetResultPayload::Stream(_) => store.get_ranges(path, &ranges).await.map_err(external),
    }
}

/// Reads `range` of `file` into a buffer of `buffers`, failing if the file ends before it.
fn read_exact_range(
    file: &mut std::fs::File,
    file_path: &std::path::Path,
    range: Range<u64>,
    buffers: &Arc<ReadBuffers>,
) -> parquet::errors::Result<Bytes> {
    let want = range.end.saturating_sub(range.start);
    let io_err =
        |e: std::io::Error| ParquetError::General(format!("reading {}: {e}", file_path.display()));
    file.seek(SeekFrom::Start(range.start)).map_err(io_err)?;
    let mut buf = buffers.take(usize::try_from(want).unwrap_or(0));
    file.take(want).read_to_end(&mut buf).map_err(io_err)?;
    if buf.len() as u64 != want {
        return Err(ParquetError::EOF(format!(
            "{}: bytes {}..{} requested, the file ends after {} of them",
            file_path.display(),
            range.start,
            range.end,
            buf.len()
        )));
    }
    Ok(Bytes::from_owner(Lent {
        buf,
        home: Arc::downgrade(buffers),
    }))
}

impl AsyncFileReader for ObjectReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            if let Some(b) = self.held_in_tail(&range) {
                return Ok(b);
            }
            let b = if let Some(buffers) = &self.local {
                read_file_ranges(self.store.as_ref(), &self.path, vec![range], buffers)
                    .await?
                    .pop()
                    .unwrap_or_default()
            } else {
                let start = range.start;
                let b = self
                    .store
                    .get_range(&self.path, range.clone())
                    .await
                    .map_err(external)?;
                if range.end == self.size && b.len() as u64 == range.end - start {
                    self.tail = Some((start, b.clone()));
                }
                b
            };
            self.count(b.len());
            Ok(b)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let held: Option<Vec<Bytes>> = ranges.iter().map(|r| self.held_in_tail(r)).collect();
            if let Some(parts) = held {
                return Ok(parts);
            }
            let parts = if let Some(buffers) = &self.local {
                read_file_ranges(self.store.as_ref(), &self.path, ranges, buffers).await?
            } else {
                self.store
                    .get_ranges(&self.path, &ranges)
                    .await
                    .map_err(external)?
            };
            self.count(parts.iter().map(Bytes::len).sum());
            Ok(parts)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(FOOTER_PREFETCH))
                .load_and_finish(&mut *self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_range_reads_return_the_bytes_and_name_the_file_when_it_is_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part.parquet");
        let data: Vec<u8> = (0..100u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let buffers = Arc::new(ReadBuffers::default());
        let got = read_exact_range(&mut file, &path, 10..20, &buffers).unwrap();
        assert_eq!(got.as_ref(), &data[10..20]);
        assert!(
            read_exact_range(&mut file, &path, 100..100, &buffers)
                .unwrap()
                .is_empty()
        );
        let err = read_exact_range(&mut file, &path, 50..150, &buffers)
            .unwrap_err()
            .to_string();
        assert!(err.contains("part.parquet"), "{err}");
        assert!(err.contains("50..150") && err.contains("after 50"), "{err}");
    }

    #[test]
    fn read_buffers_come_back_when_the_bytes_are_dropped_and_are_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part.parquet");
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        std::fs::write(&path, &data).unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let buffers = Arc::new(ReadBuffers::default());
        let first = read_exact_range(&mut file, &path, 0..8000, &buffers).unwrap();
        let first_ptr = first.as_ptr();
        let slice = first.slice(100..200);
        drop(first);
        // A slice still refers to the buffer: it is not idle yet.
        assert!(buffers.idle.lock().unwrap().is_empty());
        assert_eq!(slice.as_ref(), &data[100..200]);
        drop(slice);
        assert_eq!(buffers.idle.lock().unwrap().len(), 1);
        // The next read of no more bytes reuses it, and sees only its own bytes.
        let second = read_exact_range(&mut file, &path, 5000..9000, &buffers).unwrap();
        assert_eq!(second.as_ptr(), first_ptr);
        assert_eq!(second.as_ref(), &data[5000..9000]);
        assert!(buffers.idle.lock().unwrap().is_empty());
        // Buffers outliving their pool are simply freed.
        drop(buffers);
        drop(second);
    }

    #[test]
    fn read_buffers_keep_a_bounded_number_of_idle_bytes() {
        let buffers = ReadBuffers::default();
        for _ in 0..3 {
            buffers.give_back(Vec::with_capacity(READ_BUFFERS_KEPT_BYTES / 2));
        }
        let kept: usize = buffers.idle.lock().unwrap().iter().map(Vec::capacity).sum();
        assert!(kept <= READ_BUFFERS_KEPT_BYTES, "{kept}");
        assert_eq!(buffers.idle.lock().unwrap().len(), 2);
    }
}
