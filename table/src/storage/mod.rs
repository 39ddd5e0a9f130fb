//! The storage seam: where a table lives and the object store that reaches it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;
use url::Url;

use crate::error::{Error, Result};

pub mod aws;
pub mod diagnose;
mod durable;
pub(crate) mod legacy_keys;
mod local;
pub(crate) mod resolve;
mod s3;

pub use diagnose::{StorageProblem, diagnose};
pub use durable::{FsEvent, FsEventHook};
pub use local::{LocalStore, UNSAFE_NO_FSYNC_VAR};

/// A table's root: an object store plus the prefix of the table inside it.
#[derive(Clone)]
pub struct TableLocation {
    store: Arc<dyn ObjectStore>,
    root: Path,
    uri: String,
}

impl fmt::Debug for TableLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableLocation")
            .field("uri", &self.uri)
            .field("root", &self.root)
            .finish()
    }
}

fn memory_stores() -> &'static Mutex<HashMap<String, Arc<InMemory>>> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<InMemory>>>> = OnceLock::new();
    STORES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The process-wide in-memory store named `name` (`memory://name/...`).
pub fn memory_store(name: &str) -> Arc<InMemory> {
    let mut stores = memory_stores().lock().unwrap_or_else(|e| e.into_inner());
    stores
        .entry(name.to_string())
        .or_insert_with(|| Arc::new(InMemory::new()))
        .clone()
}

/// The key prefix a URI names: its path percent-decoded once (SPEC §2.1, §6.2).
pub(crate) fn uri_root(url: &Url) -> std::result::Result<Path, String> {
    let decoded = strata_format::location::decode_uri_path(url.path())?;
    Path::parse(decoded.trim_matches('/')).map_err(|e| e.to_string())
}

/// The key of an absolute local path in a store rooted at `/`: the path's own characters (the
/// local store names files by the key verbatim).
pub(crate) fn file_key(path: &std::path::Path) -> std::result::Result<Path, String> {
    let text = path
        .to_str()
        .ok_or_else(|| format!("`{}` is not UTF-8", path.display()))?;
    Path::parse(text).map_err(|e| e.to_string())
}

/// The process-wide local store: one for every local table, so that concurrent writes into one
/// folder through different table handles (a catalog server's requests) share folder flushes.
fn shared_local_store() -> Arc<dyn ObjectStore> {
    static STORE: OnceLock<Arc<LocalStore>> = OnceLock::new();
    STORE
        .get_or_init(|| Arc::new(LocalStore::from_env()))
        .clone()
}

impl TableLocation {
    /// A table at `root` inside `store`; `uri` is how it is named in messages and in
    /// resolved file locations.
    pub fn new(store: Arc<dyn ObjectStore>, root: Path, uri: impl Into<String>) -> Self {
        Self {
            store,
            root,
            uri: uri.into().trim_end_matches('/').to_string(),
        }
    }

    /// Parses a table URI: a local path, `file://`, `memory://NAME/prefix` (a process-wide
    /// in-memory store) or `s3://bucket/prefix` (the AWS CLI's credential and region chain, see
    /// [`aws`]; `AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP` for other endpoints).
    pub fn parse(uri: &str) -> Result<Self> {
        let bad = |message: &str| Error::InvalidUri {
            uri: uri.to_string(),
            message: message.to_string(),
        };
        if uri.trim().is_empty() {
            return Err(bad("empty"));
        }
        let has_scheme = uri.contains("://");
        if !has_scheme {
            return Self::local(std::path::Path::new(uri), uri);
        }
        let url = Url::parse(uri).map_err(|e| bad(&e.to_string()))?;
        match url.scheme() {
            "file" => {
                let p = url
                    .to_file_path()
                    .map_err(|()| bad("not a local file path"))?;
                Self::local(&p, uri)
            }
            "memory" => {
                let name = url.host_str().unwrap_or("default");
                let root = uri_root(&url).map_err(|e| bad(&e))?;
                Ok(Self::new(memory_store(name), root, uri))
            }
            "s3" | "s3a" => {
                let bucket = url
                    .host_str()
                    .ok_or_else(|| bad("an s3 URI needs a bucket: s3://bucket/prefix"))?;
                let store = s3::s3_store(bucket).map_err(|e| bad(&e))?;
                let root = uri_root(&url).map_err(|e| bad(&e))?;
                Ok(Self::new(store, root, uri))
            }
            other => Err(bad(&format!(
                "unsupported scheme `{other}` (use a path, file://, memory:// or s3://)"
            ))),
        }
    }

    /// A local table: the store is rooted at `/` and the table root is the absolute,
    /// lexically normalized path, so that opening a path that does not exist creates nothing.
    /// Writes are flushed before they return (SPEC §2.4) unless [`UNSAFE_NO_FSYNC_VAR`] says
    /// otherwise.
    fn local(path: &std::path::Path, uri: &str) -> Result<Self> {
        use std::path::Component;
        let bad = |message: String| Error::InvalidUri {
            uri: uri.to_string(),
            message,
        };
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| bad(format!("cannot resolve a relative path: {e}")))?
                .join(path)
        };
        let mut abs = std::path::PathBuf::new();
        for c in joined.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    abs.pop();
                }
                other => abs.push(other.as_os_str()),
            }
        }
        let root = file_key(&abs).map_err(bad)?;
        let url =
            Url::from_directory_path(&abs).map_err(|()| bad("not an absolute path".into()))?;
        Ok(Self::new(shared_local_store(), root, url.as_str()))
    }

    /// The object store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The table's root prefix inside the store.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The table URI (without trailing slash).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Whether the table is on a local file system, where a GET that finds nothing costs less
    /// than listing a folder (a LIST walks every file of the log).
    pub fn is_local(&self) -> bool {
        !self.uri.contains("://") || self.uri.starts_with("file://")
    }

    /// Object path of `relative` (a `/`-separated path, e.g. a logical path) under the table
    /// root: the key is the root followed by `relative` **verbatim** (SPEC §2.3), so that
    /// `data/k=a%20b/x` is stored under a key with a `%` in it on every store. Segments no key
    /// may hold (control characters, `.`, `..`) are percent-encoded instead.
    pub fn child(&self, relative: &str) -> Path {
        let rel: Vec<&str> = relative.split('/').filter(|s| !s.is_empty()).collect();
        let joined = match self.root.as_ref() {
            "" => rel.join("/"),
            root => format!("{root}/{}", rel.join("/")),
        };
        Path::parse(&joined).unwrap_or_else(|_| self.encoded_child(relative))
    }

    /// The object path earlier versions gave `relative`: every segment percent-encoded by
    /// `object_store` (a `%` in a logical path became `%25` in the key).
    pub(crate) fn encoded_child(&self, relative: &str) -> Path {
        let mut p = self.root.clone();
        for part in relative.split('/').filter(|s| !s.is_empty()) {
            p = p.clone().join(part);
        }
        p
    }

    /// The key earlier versions of Strata stored `relative` under, when it differs from
    /// [`TableLocation::child`]'s: tables written before keys were verbatim are still read.
    pub(crate) fn legacy_child(&self, relative: &str) -> Option<Path> {
        let old = self.encoded_child(relative);
        (old != self.child(relative)).then_some(old)
    }

    /// The same table seen through another store (e.g. a fault-injecting or counting wrapper).
    pub fn with_store(&self, store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            root: self.root.clone(),
            uri: self.uri.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_uris_share_one_store_per_name() {
        let a = TableLocation::parse("memory://shared-test/t1").unwrap();
        let b = TableLocation::parse("memory://shared-test/t1/").unwrap();
        assert!(Arc::ptr_eq(a.store(), b.store()));
        assert_eq!(a.root().as_ref(), "t1");
        assert_eq!(
            a.child("_strata_log/x.json").as_ref(),
            "t1/_strata_log/x.json"
        );
    }

    #[test]
    fn plain_paths_become_file_uris_without_creating_anything() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tbl").join("..").join("tbl2");
        let loc = TableLocation::parse(p.to_str().unwrap()).unwrap();
        assert!(loc.uri().starts_with("file:///"), "{}", loc.uri());
        assert!(loc.uri().ends_with("/tbl2"), "{}", loc.uri());
        assert!(
            !dir.path().join("tbl2").exists(),
            "parsing must not create the directory"
        );
    }

    #[test]
    fn unsupported_schemes_are_refused_with_a_hint() {
        let err = TableLocation::parse("ftp://x/y").unwrap_err().to_string();
        assert!(err.contains("unsupported scheme `ftp`"), "{err}");
    }
}
