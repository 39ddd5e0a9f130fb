//! Tables on S3: object_store's S3 client acting as the AWS chain's identity, with a bounded
//! retry budget, and a missing bucket reported as such rather than as a missing object.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    BackoffConfig, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RetryConfig,
};

use super::aws;

/// Retries of a failing S3 request. Transient errors (throttling, a dropped connection) get
/// a few attempts with exponential backoff; an endpoint that refuses connections is reported
/// in seconds rather than after minutes.
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 5,
        retry_timeout: Duration::from_secs(60),
    }
}

/// The store of `bucket`, acting as the AWS chain's identity (see [`aws`]).
pub(crate) fn s3_store(bucket: &str) -> Result<Arc<dyn ObjectStore>, String> {
    let identity = aws::identity()?;
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(identity.region())
        .with_credentials(identity.credentials())
        .with_retry(retry_config());
    if let Some(endpoint) = identity.endpoint() {
        builder = builder.with_endpoint(endpoint);
    }
    let inner = builder.build().map_err(|e| e.to_string())?;
    Ok(Arc::new(S3Store {
        inner,
        bucket: bucket.to_string(),
    }))
}

/// S3 answered `NoSuchBucket`: every key of the bucket is missing, which is not what
/// "not found" means to the log.
#[derive(Debug, thiserror::Error)]
#[error("bucket `{bucket}` does not exist")]
pub struct BucketNotFound {
    pub(crate) bucket: String,
    #[source]
    source: object_store::Error,
}

/// object_store's S3 store whose `NotFound` answers that came from a missing bucket are
/// errors of their own.
#[derive(Debug)]
struct S3Store {
    inner: AmazonS3,
    bucket: String,
}

impl fmt::Display for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

/// `e`, unless it is a `NotFound` for a missing bucket.
fn bucket_checked(bucket: &str, e: object_store::Error) -> object_store::Error {
    let missing_bucket =
        matches!(e, object_store::Error::NotFound { .. }) && e.to_string().contains("NoSuchBucket");
    if missing_bucket {
        object_store::Error::Generic {
            store: "S3",
            source: Box::new(BucketNotFound {
                bucket: bucket.to_string(),
                source: e,
            }),
        }
    } else {
        e
    }
}

impl S3Store {
    fn check<T>(&self, r: object_store::Result<T>) -> object_store::Result<T> {
        r.map_err(|e| bucket_checked(&self.bucket, e))
    }

    fn check_stream<T: Send + 'static>(
        &self,
        s: BoxStream<'static, object_store::Result<T>>,
    ) -> BoxStream<'static, object_store::Result<T>> {
        let bucket = self.bucket.clone();
        s.map(move |r| r.map_err(|e| bucket_checked(&bucket, e)))
            .boxed()
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.check(self.inner.put_opts(location, payload, opts).await)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.check(self.inner.put_multipart_opts(location, opts).await)
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.check(self.inner.get_opts(location, options).await)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.check(self.inner.get_ranges(location, ranges).await)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.check_stream(self.inner.delete_stream(locations))
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.check_stream(self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.check_stream(self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.check(self.inner.list_with_delimiter(prefix).await)
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.check(self.inner.copy_opts(from, to, options).await)
    }
}
