//! S3 operations object_store does not offer: a server-side copy between buckets or with a
//! storage class (CopyObject), so that such moves transfer no data through the client, and
//! restores of archived objects (RestoreObject, HeadObject's `x-amz-restore`). Credentials,
//! region and endpoint come from the AWS chain, the same identity as the table's own object
//! store ([`crate::storage::aws`]).

use std::sync::Arc;

use aws_sdk_s3::types::{MetadataDirective, StorageClass};

use crate::error::{Error, Result};

/// The largest object CopyObject copies in one request (5 GiB); larger ones are streamed.
pub(crate) const MAX_COPY_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// `(bucket, key)` of an `s3://bucket/key` URI.
pub(crate) fn bucket_and_key(uri: &str) -> Option<(&str, String)> {
    let rest = uri
        .strip_prefix("s3://")
        .or_else(|| uri.strip_prefix("s3a://"))?;
    let (bucket, key) = rest.split_once('/')?;
    // A location is URI text: the key is its path decoded once (SPEC §6.2).
    let key = strata_format::location::decode_uri_path(key).ok()?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

/// Percent-encodes a key for the `x-amz-copy-source` header (`/` kept).
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Most clients [`client`] keeps (a process normally has one runtime).
const CLIENTS_KEPT: usize = 8;

/// The S3 client of the process's AWS identity (the same one the table's object store uses,
/// see [`crate::storage::aws`]). Clients are kept and reused so that requests share pooled
/// connections (on S3, a new connection costs a TLS handshake: moving or restoring many files
/// would pay one per file). A client's connections belong to the tokio runtime that opened
/// them and die with it, so clients are kept per runtime; the oldest is dropped beyond
/// [`CLIENTS_KEPT`].
fn client() -> Result<aws_sdk_s3::Client, String> {
    static CLIENTS: std::sync::Mutex<Vec<(ClientKey, aws_sdk_s3::Client)>> =
        std::sync::Mutex::new(Vec::new());
    let identity = crate::storage::aws::identity()?;
    let Ok(runtime) = tokio::runtime::Handle::try_current().map(|h| h.id()) else {
        return Ok(identity.s3_client());
    };
    let key = (runtime, Arc::as_ptr(&identity) as usize);
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = clients.iter().find(|(k, _)| *k == key) {
        return Ok(c.clone());
    }
    let c = identity.s3_client();
    if clients.len() >= CLIENTS_KEPT {
        clients.remove(0);
    }
    clients.push((key, c.clone()));
    Ok(c)
}

/// A runtime and an identity (by address: identities live as long as the process).
type ClientKey = (tokio::runtime::Id, usize);

/// Copies `from` to `to` inside S3 (CopyObject: the bytes never leave S3; the buckets may
/// differ), with `storage_class` when given.
pub(crate) async fn copy_within_s3(
    table: &str,
    from: &str,
    to: &str,
    storage_class: Option<&str>,
) -> Result<()> {
    let fail = |message: String| Error::CopyFailed {
        table: table.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        message,
    };
    let (Some((bucket, src_key)), Some((dst_bucket, dst_key))) =
        (bucket_and_key(from), bucket_and_key(to))
    else {
        return Err(fail("both locations must be s3://bucket/key URIs".into()));
    };
    let mut request = client()
        .map_err(&fail)?
        .copy_object()
        .bucket(dst_bucket)
        .key(dst_key)
        .copy_source(format!("{bucket}/{}", encode_key(&src_key)))
        .metadata_directive(MetadataDirective::Copy);
    if let Some(class) = storage_class {
        request = request.storage_class(StorageClass::from(class));
    }
    request.send().await.map_err(|e| {
        fail(format!(
            "S3 CopyObject failed: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        ))
    })?;
    Ok(())
}

/// Where an S3 restore of an archived object stands (from HeadObject's `x-amz-restore`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RestoreStatus {
    /// No restore was requested (or the last one expired).
    None,
    /// A restore is in progress.
    Ongoing,
    /// The restored copy is readable until this time (ms since epoch).
    Ready(i64),
}

/// Parses an `x-amz-restore` header: `ongoing-request="true"` or
/// `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`.
pub(crate) fn parse_restore_header(header: &str) -> Option<RestoreStatus> {
    let ongoing = header
        .split("ongoing-request=\"")
        .nth(1)?
        .split('"')
        .next()?;
    if ongoing == "true" {
        return Some(RestoreStatus::Ongoing);
    }
    let expiry = header.split("expiry-date=\"").nth(1)?.split('"').next()?;
    let t = aws_sdk_s3::primitives::DateTime::from_str(
        expiry,
        aws_sdk_s3::primitives::DateTimeFormat::HttpDate,
    )
    .ok()?;
    Some(RestoreStatus::Ready(t.to_millis().ok()?))
}

/// S3 retrieval speed of a restore (`Tier` of RestoreObject's GlacierJobParameters).
pub(crate) fn retrieval_tier(speed: &str) -> aws_sdk_s3::types::Tier {
    aws_sdk_s3::types::Tier::from(speed)
}

/// Starts (or extends) the restore of the archived object `uri` for `days` days. A restore
/// already in progress is not an error.
pub(crate) async fn request_restore(uri: &str, days: i32, speed: &str) -> Result<(), String> {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    use aws_sdk_s3::types::{GlacierJobParameters, RestoreRequest};
    let (bucket, key) =
        bucket_and_key(uri).ok_or_else(|| "not an s3://bucket/key location".to_string())?;
    let job = GlacierJobParameters::builder()
        .tier(retrieval_tier(speed))
        .build()
        .map_err(|e| e.to_string())?;
    let request = RestoreRequest::builder()
        .days(days)
        .glacier_job_parameters(job)
        .build();
    match client()?
        .restore_object()
        .bucket(bucket)
        .key(key)
        .restore_request(request)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("RestoreAlreadyInProgress") => Ok(()),
        Err(e) => Err(format!(
            "S3 RestoreObject failed: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        )),
    }
}

/// The restore status of the object `uri` (HeadObject).
pub(crate) async fn restore_status(uri: &str) -> Result<RestoreStatus, String> {
    let (bucket, key) =
        bucket_and_key(uri).ok_or_else(|| "not an s3://bucket/key location".to_string())?;
    let head = client()?
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            format!(
                "S3 HeadObject failed: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })?;
    match head.restore() {
        None => Ok(RestoreStatus::None),
        Some(h) => {
            parse_restore_header(h).ok_or_else(|| format!("unexpected x-amz-restore header `{h}`"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_headers_parse_into_ongoing_or_expiry() {
        assert_eq!(
            parse_restore_header("ongoing-request=\"true\""),
            Some(RestoreStatus::Ongoing)
        );
        assert_eq!(
            parse_restore_header(
                "ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\""
            ),
            Some(RestoreStatus::Ready(1_356_048_000_000))
        );
        assert_eq!(parse_restore_header("garbage"), None);
    }

    #[test]
    fn s3_uris_split_and_keys_encode_for_copy_source() {
        assert_eq!(
            bucket_and_key("s3://b/t/data/day=2026-01-01/x.parquet"),
            Some(("b", "t/data/day=2026-01-01/x.parquet".to_string()))
        );
        // The URI path is decoded once: `%2520` is a `%20` in the key.
        assert_eq!(
            bucket_and_key("s3://b/t/data/k=eu%2520west/a%20b.parquet"),
            Some(("b", "t/data/k=eu%20west/a b.parquet".to_string()))
        );
        assert_eq!(bucket_and_key("s3://b/"), None);
        assert_eq!(bucket_and_key("file:///x"), None);
        assert_eq!(
            encode_key("t/data/day=2026-01-01/a b+c.parquet"),
            "t/data/day%3D2026-01-01/a%20b%2Bc.parquet"
        );
    }
}
