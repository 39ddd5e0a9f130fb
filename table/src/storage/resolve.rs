//! Resolving physical file locations (SPEC §6.2) to object stores.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use object_store::ObjectStore;
use object_store::path::Path;

use strata_format::location::decode_uri_path;

use crate::error::{Error, Result};
use crate::storage::legacy_keys::LegacyKey;
use crate::storage::{TableLocation, file_key, uri_root};

/// A resolved location: store identity, store, key, and the key earlier versions used.
pub(crate) type ObjectKeys = (String, Arc<dyn ObjectStore>, Path, Option<Path>);

/// Maps a data file's physical location to a store and path. Files under the table root use
/// the table's own store (so wrappers such as fault injection apply); absolute URIs (files in
/// other tiers) get a store per scheme and authority, created once and cached.
#[derive(Debug)]
pub struct StoreResolver {
    table: TableLocation,
    stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl StoreResolver {
    /// A resolver for files of `table`.
    pub fn new(table: TableLocation) -> Self {
        Self {
            table,
            stores: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the file at `location` (`None`: under the table root) is on a local file
    /// system.
    pub fn is_local(&self, location: Option<&str>) -> bool {
        match location {
            None => self.table.is_local(),
            Some(uri) => {
                if uri.starts_with(&format!("{}/", self.table.uri())) {
                    self.table.is_local()
                } else {
                    uri.starts_with("file://")
                }
            }
        }
    }

    /// Store and object path of a file: `location` when set, else `path` under the table root
    /// (SPEC §2.3, §6.2: the path is the key verbatim; a location is URI text, decoded once).
    /// Where tables written before keys were verbatim stored the file under another key, the
    /// store handed back falls back to that key when the object is not found.
    pub fn resolve(
        &self,
        path: &str,
        location: Option<&str>,
    ) -> Result<(Arc<dyn ObjectStore>, Path)> {
        let (_, store, object) = self.resolve_with_identity(path, location)?;
        Ok((store, object))
    }

    /// [`StoreResolver::resolve`], with the store's identity as [`StoreResolver::object_keys`]
    /// gives it.
    pub(crate) fn resolve_with_identity(
        &self,
        path: &str,
        location: Option<&str>,
    ) -> Result<(String, Arc<dyn ObjectStore>, Path)> {
        let (identity, store, object, legacy) = self.object_keys(path, location)?;
        Ok(match legacy {
            Some(old) => (
                identity,
                LegacyKey::wrap(store, object.clone(), old),
                object,
            ),
            None => (identity, store, object),
        })
    }

    /// Whether earlier versions may have stored this file under another key than its own.
    pub(crate) fn has_legacy_key(&self, path: &str, location: Option<&str>) -> Result<bool> {
        Ok(self.object_keys(path, location)?.3.is_some())
    }

    /// Like [`StoreResolver::resolve`], without the fallback: the store's identity (`""` for
    /// the table's own store, else `scheme://authority`), the store, the key, and the key
    /// earlier versions used if it differs. Two locations name the same object exactly when
    /// their identities and keys are equal.
    pub(crate) fn object_keys(&self, path: &str, location: Option<&str>) -> Result<ObjectKeys> {
        let bad = |uri: &str, message: String| Error::InvalidUri {
            uri: uri.to_string(),
            message,
        };
        let Some(uri) = location else {
            let legacy = self.table.legacy_child(path);
            return Ok((
                String::new(),
                self.table.store().clone(),
                self.table.child(path),
                legacy,
            ));
        };
        let table_prefix = format!("{}/", self.table.uri());
        if let Some(rel) = uri.strip_prefix(&table_prefix) {
            let key = decode_uri_path(rel).map_err(|m| bad(uri, m))?;
            let object = self.table.child(&key);
            // Earlier versions stored the path with every `%` encoded, and wrote such
            // locations unescaped.
            let old = if key == path || rel == path {
                self.table.encoded_child(path)
            } else {
                self.table.encoded_child(rel)
            };
            let legacy = (old != object).then_some(old);
            return Ok((String::new(), self.table.store().clone(), object, legacy));
        }
        let url = url::Url::parse(uri).map_err(|e| bad(uri, e.to_string()))?;
        let scheme_key = format!("{}://{}", url.scheme(), url.authority());
        let store = {
            let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
            match stores.get(&scheme_key) {
                Some(s) => s.clone(),
                None => {
                    let loc = TableLocation::parse(&format!("{scheme_key}/"))?;
                    let s = loc.store().clone();
                    stores.insert(scheme_key.clone(), s.clone());
                    s
                }
            }
        };
        let (object, old) = match url.scheme() {
            // Local stores are rooted at `/`: the object path is the absolute file path.
            "file" => {
                let p = url
                    .to_file_path()
                    .map_err(|()| bad(uri, "not a local file path".into()))?;
                let object = file_key(&p).map_err(|m| bad(uri, m))?;
                (object, Path::from_absolute_path(&p).ok())
            }
            _ => {
                let object = uri_root(&url).map_err(|m| bad(uri, m))?;
                (object, Path::parse(url.path().trim_start_matches('/')).ok())
            }
        };
        let legacy = old.filter(|o| *o != object);
        Ok((scheme_key, store, object, legacy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_under_the_root_use_the_table_store_and_others_their_own() {
        let t = TableLocation::parse("memory://resolver-a/t").unwrap();
        let r = StoreResolver::new(t.clone());
        let (s, p) = r.resolve("data/x.parquet", None).unwrap();
        assert!(Arc::ptr_eq(&s, t.store()));
        assert_eq!(p.as_ref(), "t/data/x.parquet");
        let (s2, p2) = r
            .resolve(
                "data/x.parquet",
                Some("memory://resolver-a/t/data/y.parquet"),
            )
            .unwrap();
        assert!(Arc::ptr_eq(&s2, t.store()));
        assert_eq!(p2.as_ref(), "t/data/y.parquet");
        let (s3, p3) = r
            .resolve(
                "data/x.parquet",
                Some("memory://resolver-cold/archive/x.parquet"),
            )
            .unwrap();
        assert!(!Arc::ptr_eq(&s3, t.store()));
        assert_eq!(p3.as_ref(), "archive/x.parquet");
        let (_, p4) = r
            .resolve("data/x.parquet", Some("file:///var/cold/t/x.parquet"))
            .unwrap();
        assert_eq!(p4.as_ref(), "var/cold/t/x.parquet");
    }
}
