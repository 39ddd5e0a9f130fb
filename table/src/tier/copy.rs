//! Copying one data file to its new location for a tier move (SPEC §6.3 step 2): a streamed
//! multipart copy between any two object stores, setting the target storage class on S3, with
//! the size verified on both ends.

use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    PutOptions, WriteMultipart,
};

use crate::error::{Error, Result};

/// Bytes per uploaded part.
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts uploading at once per copy.
const PARTS_IN_FLIGHT: usize = 4;
/// Bytes per ranged read of a large object: several parts, since every request costs a round
/// trip (and some servers pay for a ranged read in proportion to the whole object).
const RANGE_BYTES: u64 = 64 * 1024 * 1024;
/// Ranged reads in flight per copy (with the parts uploading, about
/// `RANGES_IN_FLIGHT * RANGE_BYTES + 2 * RANGE_BYTES` bytes held per copy at most).
const RANGES_IN_FLIGHT: usize = 1;
/// Objects up to this size are read with one GET (no more than the ranged path holds in
/// flight), saving requests.
const SMALL_OBJECT_BYTES: u64 = (PART_BYTES * PARTS_IN_FLIGHT) as u64;

/// One end of a copy.
pub(crate) struct Endpoint {
    pub store: Arc<dyn ObjectStore>,
    pub path: Path,
    /// The URI, for messages.
    pub uri: String,
}

fn storage(table: &str, uri: &str, e: object_store::Error) -> Error {
    Error::Storage {
        table: table.to_string(),
        path: uri.to_string(),
        source: Box::new(e),
    }
}

/// Copies `from` into `to` (overwriting it) through this process, setting `storage_class` when
/// given (S3 only). Both ends are checked to hold exactly `size` bytes; on failure the upload is
/// aborted and nothing is left at `to`.
pub(crate) async fn copy_object(
    table: &str,
    from: &Endpoint,
    to: &Endpoint,
    size: u64,
    storage_class: Option<&str>,
) -> Result<()> {
    let failed = |message: String| Error::CopyFailed {
        table: table.to_string(),
        from: from.uri.clone(),
        to: to.uri.clone(),
        message,
    };
    let wrong_size = |held: u64| {
        failed(format!(
            "the log records {size} bytes for this data file but the object holds {held}; \
             nothing was copied"
        ))
    };
    let mut attributes = Attributes::new();
    if let Some(class) = storage_class {
        attributes.insert(
            Attribute::StorageClass,
            AttributeValue::from(class.to_string()),
        );
    }
    if size <= SMALL_OBJECT_BYTES {
        // No more than the ranged path holds in flight: one GET, and one PUT up to a part.
        let got = from
            .store
            .get(&from.path)
            .await
            .map_err(|e| storage(table, &from.uri, e))?;
        if got.meta.size != size {
            return Err(wrong_size(got.meta.size));
        }
        let bytes = got
            .bytes()
            .await
            .map_err(|e| storage(table, &from.uri, e))?;
        if bytes.len() as u64 != size {
            return Err(wrong_size(bytes.len() as u64));
        }
        if bytes.len() <= PART_BYTES {
            to.store
                .put_opts(
                    &to.path,
                    bytes.into(),
                    PutOptions {
                        attributes,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| storage(table, &to.uri, e))?;
        } else {
            let mut writer = start_upload(table, to, attributes).await?;
            writer.put(bytes);
            writer
                .finish()
                .await
                .map_err(|e| storage(table, &to.uri, e))?;
        }
        return verify_copy(table, from, to, size).await;
    }
    let source = from
        .store
        .head(&from.path)
        .await
        .map_err(|e| storage(table, &from.uri, e))?;
    if source.size != size {
        return Err(wrong_size(source.size));
    }
    let mut writer = start_upload(table, to, attributes).await?;
    // Ranged reads of several parts each, one in flight while earlier parts upload, handed to
    // the upload without copying (the upload cuts them into parts).
    let ranges: Vec<std::ops::Range<u64>> = (0..size.div_ceil(RANGE_BYTES))
        .map(|i| i * RANGE_BYTES..((i + 1) * RANGE_BYTES).min(size))
        .collect();
    // Each read is a task of its own, so that its body keeps arriving while the upload waits
    // for capacity: a server that answers one request at a time (moto) would otherwise be
    // stuck sending the read and never serve the upload.
    let mut parts = futures::stream::iter(ranges)
        .map(|r| {
            let (store, path) = (from.store.clone(), from.path.clone());
            tokio::spawn(async move { store.get_range(&path, r).await })
        })
        .buffered(RANGES_IN_FLIGHT);
    let mut copied = 0u64;
    while let Some(bytes) = parts.next().await {
        let bytes = match bytes {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                let _ = writer.abort().await;
                return Err(storage(table, &from.uri, e));
            }
            Err(e) => {
                let _ = writer.abort().await;
                return Err(failed(format!("a read task failed: {e}")));
            }
        };
        if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
            let _ = writer.abort().await;
            return Err(storage(table, &to.uri, e));
        }
        copied += bytes.len() as u64;
        writer.put(bytes);
    }
    if copied != size {
        let _ = writer.abort().await;
        return Err(failed(format!(
            "{copied} bytes were read of the {size} the log records"
        )));
    }
    writer
        .finish()
        .await
        .map_err(|e| storage(table, &to.uri, e))?;
    verify_copy(table, from, to, size).await
}

/// A multipart upload to `to` in parts of `PART_BYTES`.
async fn start_upload(
    table: &str,
    to: &Endpoint,
    attributes: Attributes,
) -> Result<WriteMultipart> {
    let upload = to
        .store
        .put_multipart_opts(
            &to.path,
            PutMultipartOptions {
                attributes,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| storage(table, &to.uri, e))?;
    Ok(WriteMultipart::new_with_chunk_size(upload, PART_BYTES))
}

/// Checks that the copy at `to` holds exactly `size` bytes.
pub(crate) async fn verify_copy(
    table: &str,
    from: &Endpoint,
    to: &Endpoint,
    size: u64,
) -> Result<()> {
    let written = to
        .store
        .head(&to.path)
        .await
        .map_err(|e| storage(table, &to.uri, e))?;
    if written.size != size {
        return Err(Error::CopyFailed {
            table: table.to_string(),
            from: from.uri.clone(),
            to: to.uri.clone(),
            message: format!(
                "the copy holds {} bytes, the log records {size}",
                written.size
            ),
        });
    }
    Ok(())
}

/// Whether two absolute URIs are in one object namespace (same scheme and bucket / host), so
/// that the store can copy between them by itself.
pub(crate) fn same_namespace(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(x), Ok(y)) => x.scheme() == y.scheme() && x.authority() == y.authority(),
        _ => false,
    }
}

/// Copies within one store (S3 CopyObject; on disk a hard link, or a kernel file copy across
/// file systems, flushed like every local write), then checks the size.
pub(crate) async fn server_side_copy(
    table: &str,
    from: &Endpoint,
    to: &Endpoint,
    size: u64,
) -> Result<()> {
    from.store
        .copy(&from.path, &to.path)
        .await
        .map_err(|e| storage(table, &from.uri, e))?;
    verify_copy(table, from, to, size).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(store: &str, path: &str) -> Endpoint {
        Endpoint {
            store: crate::storage::memory_store(store),
            path: Path::from(path),
            uri: format!("memory://{store}/{path}"),
        }
    }

    #[tokio::test]
    async fn a_streamed_copy_moves_every_byte_and_refuses_a_wrong_size() {
        // One PUT, one multipart GET/PUT, and ranged GETs (one, then two with a short last
        // one) into a multipart upload.
        for (i, len) in [
            1000,
            PART_BYTES + 12_345,
            SMALL_OBJECT_BYTES as usize + 12_345,
            RANGE_BYTES as usize + PART_BYTES + 12_345,
        ]
        .into_iter()
        .enumerate()
        {
            let from = endpoint("copy-src", &format!("data/{i}.parquet"));
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            from.store
                .put(&from.path, data.clone().into())
                .await
                .unwrap();
            let to = endpoint("copy-dst", &format!("cold/data/{i}.parquet"));
            copy_object("t", &from, &to, data.len() as u64, None)
                .await
                .unwrap();
            let got = to.store.get(&to.path).await.unwrap().bytes().await.unwrap();
            assert_eq!(got.as_ref(), data.as_slice(), "{len} bytes");
            let other = endpoint("copy-dst", &format!("cold/data/{i}-wrong.parquet"));
            let err = copy_object("t", &from, &other, 7, None)
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("records 7 bytes"), "{err}");
            assert!(
                other.store.head(&other.path).await.is_err(),
                "an abandoned copy leaves no object"
            );
        }
    }

    #[test]
    fn namespaces_are_scheme_and_bucket() {
        assert!(same_namespace("s3://b/t/data/x", "s3://b/cold/data/x"));
        assert!(!same_namespace("s3://b/t/data/x", "s3://other/t/data/x"));
        assert!(same_namespace("file:///a/x", "file:///b/x"));
        assert!(!same_namespace("file:///a/x", "memory://m/x"));
    }
}
