//! Reading data files that earlier versions stored under another key.
//!
//! Before keys were the logical path verbatim (SPEC §2.3), a `%` in a logical path became `%25`
//! in the key (`object_store` encoded every segment), and absolute locations were written
//! without URI escaping. [`StoreResolver`](crate::StoreResolver) hands out this wrapper for a
//! file whose old key differs from its key: reads, copies and deletes of the key fall back to
//! the old key when the object is not found, so such tables keep reading, moving and cleaning
//! up. New objects are always written under the key.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// A store whose object `key` may still be stored under `legacy`.
#[derive(Debug)]
pub(crate) struct LegacyKey {
    inner: Arc<dyn ObjectStore>,
    key: Path,
    legacy: Path,
}

impl LegacyKey {
    pub(crate) fn wrap(
        inner: Arc<dyn ObjectStore>,
        key: Path,
        legacy: Path,
    ) -> Arc<dyn ObjectStore> {
        Arc::new(Self { inner, key, legacy })
    }

    /// The old key to try when `location` is the file's key and it was not found.
    fn fallback(
        &self,
        location: &Path,
        result: &object_store::Result<impl Sized>,
    ) -> Option<&Path> {
        let missing = matches!(result, Err(object_store::Error::NotFound { .. }));
        (missing && *location == self.key).then_some(&self.legacy)
    }
}

impl fmt::Display for LegacyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (old key {} for {})",
            self.inner, self.legacy, self.key
        )
    }
}

#[async_trait]
impl ObjectStore for LegacyKey {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let first = self.inner.get_opts(location, options.clone()).await;
        match self.fallback(location, &first) {
            Some(old) => self.inner.get_opts(old, options).await,
            None => first,
        }
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let first = self.inner.get_ranges(location, ranges).await;
        match self.fallback(location, &first) {
            Some(old) => self.inner.get_ranges(old, ranges).await,
            None => first,
        }
    }

    /// Deleting the key deletes the old key too (a missing object is no error of a delete).
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let inner = self.inner.clone();
        let (key, legacy) = (self.key.clone(), self.legacy.clone());
        locations
            .then(move |location| {
                let (inner, key, legacy) = (inner.clone(), key.clone(), legacy.clone());
                async move {
                    let location = location?;
                    let first = inner.delete(&location).await;
                    if location != key {
                        return first.map(|()| location);
                    }
                    let second = inner.delete(&legacy).await;
                    match (first, second) {
                        // Not found under either key: report it as the store would.
                        (
                            Err(e @ object_store::Error::NotFound { .. }),
                            Err(object_store::Error::NotFound { .. }),
                        ) => Err(e),
                        (Err(e), _) if !matches!(e, object_store::Error::NotFound { .. }) => Err(e),
                        (_, Err(e)) if !matches!(e, object_store::Error::NotFound { .. }) => Err(e),
                        _ => Ok(location),
                    }
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let first = self.inner.copy_opts(from, to, options.clone()).await;
        match self.fallback(from, &first) {
            Some(old) => self.inner.copy_opts(old, to, options).await,
            None => first,
        }
    }
}
