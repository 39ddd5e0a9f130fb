//! Copying one data file to its new location for a tier move (SPEC §6.3 step 2): a streamed
//! multipart copy between any two object stores, setting the target storage class on S3, with
//! the size verified on both ends.

use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    WriteMultipart,
};

use crate::error::{Error, Result};

/// Bytes per uploaded part.
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts uploading at once per copy.
const PARTS_IN_FLIGHT: usize = 4;

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

/// Streams `from` into `to` (overwriting it), setting `storage_class` when given (S3 only), and
/// checks that exactly `size` bytes arrived. On failure the upload is aborted.
pub(crate) async fn copy_object(
    table: &str,
    from: &Endpoint,
    to: &Endpoint,
    size: u64,
    storage_class: Option<&str>,
) -> Result<()> {
    let source = from
        .store
        .get(&from.path)
        .await
        .map_err(|e| storage(table, &from.uri, e))?;
    let mut attributes = Attributes::new();
    if let Some(class) = storage_class {
        attributes.insert(
            Attribute::StorageClass,
            AttributeValue::from(class.to_string()),
        );
    }
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
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
    let mut copied = 0u64;
    let mut stream = source.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let _ = writer.abort().await;
                return Err(storage(table, &from.uri, e));
            }
        };
        if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
            let _ = writer.abort().await;
            return Err(storage(table, &to.uri, e));
        }
        copied += chunk.len() as u64;
        writer.write(&chunk);
    }
    if copied != size {
        let _ = writer.abort().await;
        return Err(Error::CopyFailed {
            table: table.to_string(),
            from: from.uri.clone(),
            to: to.uri.clone(),
            message: format!(
                "the log records {size} bytes for this data file but {copied} were read; the copy \
                 was abandoned"
            ),
        });
    }
    writer
        .finish()
        .await
        .map_err(|e| storage(table, &to.uri, e))?;
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
            message: format!("the copy holds {} bytes, {size} were written", written.size),
        });
    }
    Ok(())
}
