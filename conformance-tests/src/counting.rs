//! A request-counting [`ObjectStore`] wrapper.
//!
//! [`CountingStore`] forwards every call to an inner store and counts the
//! requests by kind, so tests can assert how many (and which) requests an
//! operation issued — e.g. that a pruned scan reads only some data files, or
//! that a snapshot load does not list the whole table.
//!
//! Counting is *logical*: one call on the wrapper is one count, whatever the
//! inner store does with it (a `get_ranges` call may become several HTTP range
//! requests on S3; a `list` stream may be several pages).

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

/// A snapshot of the request counters of a [`CountingStore`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// `put_opts` calls.
    pub put: u64,
    /// `put_multipart_opts` calls (uploads started; parts are not counted).
    pub put_multipart: u64,
    /// `get_opts` calls without a range and without `head`.
    pub get: u64,
    /// `get_opts` calls with a range (e.g. `get_range`), excluding `head`.
    pub get_range: u64,
    /// `get_ranges` calls (one per call, regardless of the number of ranges).
    pub get_ranges: u64,
    /// `get_opts` calls with `head = true` (e.g. `head`).
    pub head: u64,
    /// `list` calls.
    pub list: u64,
    /// `list_with_offset` calls.
    pub list_with_offset: u64,
    /// `list_with_delimiter` calls.
    pub list_with_delimiter: u64,
    /// Locations passed through `delete_stream` (so one per `delete`).
    pub delete: u64,
    /// `copy_opts` calls (`copy`, `copy_if_not_exists`).
    pub copy: u64,
    /// `rename_opts` calls (`rename`, `rename_if_not_exists`).
    pub rename: u64,
}

impl RequestCounts {
    /// Sum of all counters.
    pub fn total(&self) -> u64 {
        self.put
            + self.put_multipart
            + self.get
            + self.get_range
            + self.get_ranges
            + self.head
            + self.list
            + self.list_with_offset
            + self.list_with_delimiter
            + self.delete
            + self.copy
            + self.rename
    }

    /// All read requests: `get + get_range + get_ranges + head`.
    pub fn reads(&self) -> u64 {
        self.get + self.get_range + self.get_ranges + self.head
    }

    /// All list requests: `list + list_with_offset + list_with_delimiter`.
    pub fn lists(&self) -> u64 {
        self.list + self.list_with_offset + self.list_with_delimiter
    }
}

#[derive(Debug, Default)]
struct Counters {
    put: AtomicU64,
    put_multipart: AtomicU64,
    get: AtomicU64,
    get_range: AtomicU64,
    get_ranges: AtomicU64,
    head: AtomicU64,
    list: AtomicU64,
    list_with_offset: AtomicU64,
    list_with_delimiter: AtomicU64,
    delete: AtomicU64,
    copy: AtomicU64,
    rename: AtomicU64,
}

impl Counters {
    fn all(&self) -> [&AtomicU64; 12] {
        [
            &self.put,
            &self.put_multipart,
            &self.get,
            &self.get_range,
            &self.get_ranges,
            &self.head,
            &self.list,
            &self.list_with_offset,
            &self.list_with_delimiter,
            &self.delete,
            &self.copy,
            &self.rename,
        ]
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// An [`ObjectStore`] wrapper that counts requests by kind and records the
/// paths of object reads. All calls are forwarded unchanged to the inner store.
#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    counters: Arc<Counters>,
    get_paths: Mutex<Vec<String>>,
}

impl CountingStore {
    /// Wraps `inner`; all counters start at zero.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            counters: Arc::new(Counters::default()),
            get_paths: Mutex::new(Vec::new()),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    /// A snapshot of the current counters.
    pub fn counts(&self) -> RequestCounts {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RequestCounts {
            put: load(&c.put),
            put_multipart: load(&c.put_multipart),
            get: load(&c.get),
            get_range: load(&c.get_range),
            get_ranges: load(&c.get_ranges),
            head: load(&c.head),
            list: load(&c.list),
            list_with_offset: load(&c.list_with_offset),
            list_with_delimiter: load(&c.list_with_delimiter),
            delete: load(&c.delete),
            copy: load(&c.copy),
            rename: load(&c.rename),
        }
    }

    /// Resets all counters to zero and clears the recorded GET paths.
    pub fn reset(&self) {
        for counter in self.counters.all() {
            counter.store(0, Ordering::Relaxed);
        }
        self.paths().clear();
    }

    /// Paths of every object read, in call order (with repetitions): one entry
    /// per `get_opts` call that is not a `head`, and one per `get_ranges` call.
    pub fn get_paths(&self) -> Vec<String> {
        self.paths().clone()
    }

    fn paths(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.get_paths.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record_get(&self, location: &Path) {
        self.paths().push(location.to_string());
    }
}

impl fmt::Display for CountingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountingStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        bump(&self.counters.put);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        bump(&self.counters.put_multipart);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if options.head {
            bump(&self.counters.head);
        } else {
            if options.range.is_some() {
                bump(&self.counters.get_range);
            } else {
                bump(&self.counters.get);
            }
            self.record_get(location);
        }
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        bump(&self.counters.get_ranges);
        self.record_get(location);
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let counters = Arc::clone(&self.counters);
        let counted = locations
            .inspect(move |location| {
                if location.is_ok() {
                    bump(&counters.delete);
                }
            })
            .boxed();
        self.inner.delete_stream(counted)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        bump(&self.counters.list);
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        bump(&self.counters.list_with_offset);
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        bump(&self.counters.list_with_delimiter);
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        bump(&self.counters.copy);
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        bump(&self.counters.rename);
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    fn store() -> CountingStore {
        CountingStore::new(Arc::new(InMemory::new()))
    }

    #[tokio::test]
    async fn counts_put_get_list() -> Result<()> {
        let store = store();
        let a = Path::from("t/a.parquet");
        let b = Path::from("t/b.parquet");
        store.put(&a, Bytes::from_static(b"hello").into()).await?;
        store.put(&b, Bytes::from_static(b"world").into()).await?;

        let bytes = store.get(&a).await?.bytes().await?;
        assert_eq!(bytes, Bytes::from_static(b"hello"));
        let listed: Vec<ObjectMeta> = store.list(Some(&Path::from("t"))).try_collect().await?;
        assert_eq!(listed.len(), 2);

        let counts = store.counts();
        assert_eq!(
            counts,
            RequestCounts {
                put: 2,
                get: 1,
                list: 1,
                ..RequestCounts::default()
            }
        );
        assert_eq!(counts.total(), 4);
        assert_eq!(store.get_paths(), vec!["t/a.parquet".to_string()]);
        Ok(())
    }

    #[tokio::test]
    async fn distinguishes_head_range_and_other_kinds() -> Result<()> {
        let store = store();
        let a = Path::from("a");
        let b = Path::from("b");
        let c = Path::from("c");
        store
            .put(&a, Bytes::from_static(b"0123456789").into())
            .await?;

        let meta = store.head(&a).await?;
        assert_eq!(meta.size, 10);
        assert_eq!(store.get_range(&a, 2..4).await?, Bytes::from_static(b"23"));
        let parts = store.get_ranges(&a, &[0..1, 8..10]).await?;
        assert_eq!(parts.len(), 2);

        let offset: Vec<ObjectMeta> = store.list_with_offset(None, &a).try_collect().await?;
        assert!(offset.is_empty());
        let delimited = store.list_with_delimiter(None).await?;
        assert_eq!(delimited.objects.len(), 1);

        store.copy(&a, &b).await?;
        store.rename(&b, &c).await?;
        store.delete(&c).await?;

        let counts = store.counts();
        assert_eq!(
            counts,
            RequestCounts {
                put: 1,
                head: 1,
                get_range: 1,
                get_ranges: 1,
                list_with_offset: 1,
                list_with_delimiter: 1,
                copy: 1,
                rename: 1,
                delete: 1,
                ..RequestCounts::default()
            }
        );
        assert_eq!(counts.reads(), 3);
        assert_eq!(counts.lists(), 2);
        assert_eq!(counts.total(), 9);
        // head is not a read of the object's contents.
        assert_eq!(store.get_paths(), vec!["a".to_string(), "a".to_string()]);

        store.reset();
        assert_eq!(store.counts(), RequestCounts::default());
        assert!(store.get_paths().is_empty());
        Ok(())
    }
}
