//! The storage backends every conformance case runs over: memory, local disk and S3.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use strata_table::TableLocation;

/// Result of a conformance case: `Err` carries what went wrong.
pub type CaseResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Environment variable naming the S3 endpoint (e.g. a moto server on loopback).
pub const S3_ENDPOINT_VAR: &str = "STRATA_TEST_S3_ENDPOINT";
/// Environment variable naming the S3 bucket to use.
pub const S3_BUCKET_VAR: &str = "STRATA_TEST_S3_BUCKET";

/// Which kind of store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// `object_store::memory::InMemory`.
    Memory,
    /// Local disk in a temporary directory.
    Local,
    /// S3 (moto in CI).
    S3,
}

/// A fresh, isolated place to create tables in.
#[derive(Debug)]
pub struct TestBackend {
    kind: BackendKind,
    base: String,
    _dir: Option<tempfile::TempDir>,
    /// Local only: a folder on another file system (tmpfs at `/dev/shm`) for the other
    /// namespace, when the machine has one, so that moves there cannot hard-link.
    other_fs: Option<tempfile::TempDir>,
}

impl TestBackend {
    /// A new backend of `kind`; `None` (after printing a notice) for S3 when no endpoint is
    /// configured.
    pub fn new(kind: BackendKind) -> Option<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match kind {
            BackendKind::Memory => Some(Self {
                kind,
                base: format!("memory://conformance-{id}"),
                _dir: None,
                other_fs: None,
            }),
            BackendKind::Local => {
                let dir = tempfile::tempdir().ok()?;
                let base = dir.path().to_str()?.to_string();
                let other_fs = another_file_system(dir.path());
                Some(Self {
                    kind,
                    base,
                    _dir: Some(dir),
                    other_fs,
                })
            }
            BackendKind::S3 => {
                let (Ok(_), Ok(bucket)) =
                    (std::env::var(S3_ENDPOINT_VAR), std::env::var(S3_BUCKET_VAR))
                else {
                    // Written to the stderr handle, not with eprintln!, so that the test
                    // harness does not capture the notice.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "NOTICE: S3 conformance case skipped: set {S3_ENDPOINT_VAR} and \
                         {S3_BUCKET_VAR} (scripts/test starts a moto server and sets them)"
                    );
                    return None;
                };
                Some(Self {
                    kind,
                    base: format!("s3://{bucket}/conformance-{id}"),
                    _dir: None,
                    other_fs: None,
                })
            }
        }
    }

    /// The kind.
    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// URI of a table named `name` in this backend.
    pub fn table_uri(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    /// An absolute URI for `name` in another namespace of this backend's kind: on S3 the bucket
    /// `<test bucket>-archive` (scripts/s3_setup.py creates it), in memory another store, on
    /// local disk a folder on another file system when the machine has one (see
    /// [`TestBackend::other_namespace_is_another_file_system`]), else beside the tables.
    pub fn other_namespace_uri(&self, name: &str) -> String {
        match self.kind {
            BackendKind::S3 => match self.base.strip_prefix("s3://") {
                Some(rest) => match rest.split_once('/') {
                    Some((bucket, prefix)) => format!("s3://{bucket}-archive/{prefix}/{name}"),
                    None => format!("s3://{rest}-archive/{name}"),
                },
                None => self.table_uri(name),
            },
            BackendKind::Memory => format!("{}-archive/{name}", self.base),
            BackendKind::Local => match self.other_fs.as_ref().and_then(|d| d.path().to_str()) {
                Some(other) => format!("file://{other}/{name}"),
                None => format!("file://{}/archive/{name}", self.base),
            },
        }
    }

    /// Local only: whether [`TestBackend::other_namespace_uri`] is on another file system than
    /// the tables (no hard link reaches it).
    pub fn other_namespace_is_another_file_system(&self) -> bool {
        self.other_fs.is_some()
    }

    /// Location of a table named `name` in this backend.
    pub fn location(&self, name: &str) -> Result<TableLocation, strata_table::Error> {
        TableLocation::parse(&self.table_uri(name))
    }

    /// A raw object store and path prefix for the table `name`, for tests that tamper with
    /// objects directly.
    pub fn raw(&self, name: &str) -> Result<(Arc<dyn ObjectStore>, Path), strata_table::Error> {
        let loc = self.location(name)?;
        Ok((loc.store().clone(), loc.root().clone()))
    }
}

/// A temporary folder in `/dev/shm` when that is a file system other than `tables`'.
fn another_file_system(tables: &std::path::Path) -> Option<tempfile::TempDir> {
    use std::os::unix::fs::MetadataExt;
    let shm = std::path::Path::new("/dev/shm");
    let device = |p: &std::path::Path| std::fs::metadata(p).ok().map(|m| m.dev());
    let other = device(shm)?;
    if Some(other) == device(tables) {
        return None;
    }
    tempfile::Builder::new()
        .prefix("strata-conformance-")
        .tempdir_in(shm)
        .ok()
}

/// An S3 store for the configured test bucket (used by tests that need the raw bucket).
pub fn s3_store() -> Option<Arc<dyn ObjectStore>> {
    let bucket = std::env::var(S3_BUCKET_VAR).ok()?;
    let store = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .ok()?;
    Some(Arc::new(store))
}
