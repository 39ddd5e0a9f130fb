//! The local-disk store: `object_store`'s file-system store for reads, listings and deletes,
//! with every write made durable before it returns (see [`durable`](super::durable)).

use std::fmt;
use std::io::{self, ErrorKind, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

use super::durable::{DirSet, Durability, FsEventHook, parent_of};

const STORE: &str = "LocalStore";

/// Environment variable that turns flushing off for local tables in this process: for scratch
/// work only, since a power loss or kernel crash can then lose acknowledged commits or leave
/// a log entry whose data file is empty (SPEC §2.4).
pub const UNSAFE_NO_FSYNC_VAR: &str = "STRATA_UNSAFE_NO_FSYNC";

/// A local file system as an object store whose writes are durable when they return: the
/// bytes of every put, multipart upload and copy are flushed before the object gets its name,
/// and the folder holding the name is flushed before the call returns (SPEC §2.4). Reads,
/// listings and deletes are `object_store`'s [`LocalFileSystem`] (rooted at `/`).
#[derive(Debug)]
pub struct LocalStore {
    inner: LocalFileSystem,
    durability: Arc<Durability>,
}

impl Default for LocalStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.durability.flushes() {
            "durable"
        } else {
            "UNSAFE: not flushed"
        };
        write!(f, "{STORE}({mode})")
    }
}

impl LocalStore {
    /// A durable local store rooted at `/`.
    pub fn new() -> Self {
        Self {
            inner: LocalFileSystem::new(),
            durability: Arc::new(Durability::new(true, None)),
        }
    }

    /// A local store that flushes unless [`UNSAFE_NO_FSYNC_VAR`] is set to `1` or `true`.
    pub fn from_env() -> Self {
        let unsafe_no_fsync = std::env::var(UNSAFE_NO_FSYNC_VAR)
            .map(|v| matches!(v.trim(), "1" | "true"))
            .unwrap_or(false);
        Self::new().unsafe_without_flush(unsafe_no_fsync)
    }

    /// With `true`, writes are not flushed: faster, and an acknowledged write can be lost or
    /// left empty by a power loss or kernel crash. For scratch tables and benchmarks only.
    pub fn unsafe_without_flush(self, no_flush: bool) -> Self {
        let hook = self.durability_hook();
        Self {
            inner: self.inner,
            durability: Arc::new(Durability::new(!no_flush, hook)),
        }
    }

    /// Calls `hook` for every step of every write (staging, flushes, links, renames), in order
    /// on each thread: the seam the durability tests watch.
    pub fn with_event_hook(self, hook: FsEventHook) -> Self {
        let flush = self.durability.flushes();
        Self {
            inner: self.inner,
            durability: Arc::new(Durability::new(flush, Some(hook))),
        }
    }

    /// Whether writes are flushed before they return.
    pub fn flushes(&self) -> bool {
        self.durability.flushes()
    }

    fn durability_hook(&self) -> Option<FsEventHook> {
        self.durability.hook()
    }

    fn fs_path(&self, location: &Path) -> object_store::Result<PathBuf> {
        self.inner.path_to_filesystem(location)
    }
}

/// An I/O error as the store error a caller can match: not found, already exists, or a
/// generic failure naming the operation and the file.
fn store_error(op: &str, path: &FsPath, e: io::Error) -> object_store::Error {
    let shown = path.display().to_string();
    match e.kind() {
        ErrorKind::NotFound => object_store::Error::NotFound {
            path: shown,
            source: Box::new(e),
        },
        ErrorKind::AlreadyExists => object_store::Error::AlreadyExists {
            path: shown,
            source: Box::new(e),
        },
        kind => object_store::Error::Generic {
            store: STORE,
            source: Box::new(io::Error::new(kind, format!("cannot {op} `{shown}`: {e}"))),
        },
    }
}

/// Runs blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> object_store::Result<T> + Send + 'static,
) -> object_store::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| object_store::Error::Generic {
            store: STORE,
            source: Box::new(e),
        })?
}

/// The entity tag `object_store`'s local store reports for the same file.
fn e_tag(meta: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0u64;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default()
        .as_micros();
    format!("\"{inode:x}-{mtime:x}-{:x}\"", meta.len())
}

fn put_result(meta: &std::fs::Metadata) -> PutResult {
    PutResult {
        e_tag: Some(e_tag(meta)),
        version: None,
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if matches!(opts.mode, PutMode::Update(_)) || !opts.attributes.is_empty() {
            return Err(object_store::Error::NotImplemented {
                operation: "`put_opts` with `PutMode::Update` or attributes".into(),
                implementer: self.to_string(),
            });
        }
        let create = matches!(opts.mode, PutMode::Create);
        let dest = self.fs_path(location)?;
        let d = self.durability.clone();
        blocking(move || {
            let mut changed = DirSet::new();
            let (mut file, staged) = d
                .stage(&dest, &mut changed)
                .map_err(|e| store_error("create a file beside", &dest, e))?;
            let written = (|| {
                let mut n = 0u64;
                for chunk in payload.iter() {
                    file.write_all(chunk)?;
                    n += chunk.len() as u64;
                }
                d.wrote(&staged, n);
                d.flush_file(&file, &staged)?;
                file.metadata()
            })();
            drop(file);
            let meta = match written {
                Ok(meta) => meta,
                Err(e) => {
                    d.remove_staged(&staged);
                    return Err(store_error("write", &staged, e));
                }
            };
            if create {
                d.publish_new(&staged, &dest)
            } else {
                d.publish_replace(&staged, &dest)
            }
            .map_err(|e| store_error("publish", &dest, e))?;
            changed.insert(
                parent_of(&dest)
                    .map_err(|e| store_error("put", &dest, e))?
                    .into(),
            );
            d.flush_dirs(&changed)
                .map_err(|e| store_error("flush the folder of", &dest, e))?;
            Ok(put_result(&meta))
        })
        .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        if !opts.attributes.is_empty() {
            return Err(object_store::Error::NotImplemented {
                operation: "`put_multipart_opts` with attributes".into(),
                implementer: self.to_string(),
            });
        }
        let dest = self.fs_path(location)?;
        let d = self.durability.clone();
        blocking(move || {
            let mut changed = DirSet::new();
            let (file, staged) = d
                .stage(&dest, &mut changed)
                .map_err(|e| store_error("create a file beside", &dest, e))?;
            let upload: Box<dyn MultipartUpload> = Box::new(DurableUpload {
                shared: Arc::new(Upload {
                    file: Mutex::new(Some(file)),
                    staged,
                    dest,
                    changed,
                    durability: d,
                }),
                offset: 0,
                finished: false,
            });
            Ok(upload)
        })
        .await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
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

    /// A hard link where the file system allows one, else a kernel copy; the source is flushed
    /// first (it may come from a process that did not flush), the copy is staged and published
    /// like a put, and the folder is flushed before returning.
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let create = matches!(options.mode, CopyMode::Create);
        let (from, to) = (self.fs_path(from)?, self.fs_path(to)?);
        let d = self.durability.clone();
        blocking(move || {
            d.flush_existing(&from)
                .map_err(|e| store_error("flush", &from, e))?;
            let mut changed = DirSet::new();
            let staged = d
                .stage_copy(&from, &to, &mut changed)
                .map_err(|e| store_error("copy", &from, e))?;
            if create {
                d.publish_new(&staged, &to)
            } else {
                d.publish_replace(&staged, &to)
            }
            .map_err(|e| store_error("publish", &to, e))?;
            changed.insert(
                parent_of(&to)
                    .map_err(|e| store_error("copy", &to, e))?
                    .into(),
            );
            d.flush_dirs(&changed)
                .map_err(|e| store_error("flush the folder of", &to, e))
        })
        .await
    }
}

/// A multipart upload into a staged file, published and flushed on completion.
#[derive(Debug)]
struct DurableUpload {
    shared: Arc<Upload>,
    /// Where the next part goes.
    offset: u64,
    finished: bool,
}

#[derive(Debug)]
struct Upload {
    /// `None` once completed.
    file: Mutex<Option<std::fs::File>>,
    staged: PathBuf,
    dest: PathBuf,
    /// Folders created for the staged file.
    changed: DirSet,
    durability: Arc<Durability>,
}

impl Upload {
    fn write_at(&self, offset: u64, data: &PutPayload) -> io::Result<()> {
        let guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = guard
            .as_ref()
            .ok_or_else(|| io::Error::other("the upload was already completed"))?;
        file.seek(SeekFrom::Start(offset))?;
        for chunk in data.iter() {
            file.write_all(chunk)?;
        }
        self.durability
            .wrote(&self.staged, data.content_length() as u64);
        Ok(())
    }

    fn complete(&self) -> io::Result<std::fs::Metadata> {
        let file = self
            .file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| io::Error::other("the upload was already completed"))?;
        let d = &self.durability;
        d.flush_file(&file, &self.staged)?;
        let meta = file.metadata()?;
        drop(file);
        d.publish_replace(&self.staged, &self.dest)?;
        let mut changed = self.changed.clone();
        changed.insert(parent_of(&self.dest)?.into());
        d.flush_dirs(&changed)?;
        Ok(meta)
    }
}

#[async_trait]
impl MultipartUpload for DurableUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let offset = self.offset;
        self.offset += data.content_length() as u64;
        let shared = self.shared.clone();
        Box::pin(blocking(move || {
            shared
                .write_at(offset, &data)
                .map_err(|e| store_error("write", &shared.staged, e))
        }))
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let shared = self.shared.clone();
        let meta = blocking(move || {
            shared
                .complete()
                .map_err(|e| store_error("complete the upload of", &shared.dest, e))
        })
        .await?;
        self.finished = true;
        Ok(put_result(&meta))
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        let shared = self.shared.clone();
        self.finished = true;
        blocking(move || {
            shared.file.lock().unwrap_or_else(|e| e.into_inner()).take();
            shared.durability.remove_staged(&shared.staged);
            Ok(())
        })
        .await
    }
}

impl Drop for DurableUpload {
    /// An upload dropped unfinished leaves no staged file behind.
    fn drop(&mut self) {
        if !self.finished {
            self.shared.durability.remove_staged(&self.shared.staged);
        }
    }
}
