//! Resolving physical file locations (SPEC §6.2) to object stores.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use object_store::ObjectStore;
use object_store::path::Path;

use crate::error::{Error, Result};
use crate::storage::TableLocation;

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

    /// Store and object path of a file: `location` when set, else `path` under the table root.
    pub fn resolve(
        &self,
        path: &str,
        location: Option<&str>,
    ) -> Result<(Arc<dyn ObjectStore>, Path)> {
        let Some(uri) = location else {
            return Ok((self.table.store().clone(), self.table.child(path)));
        };
        let table_prefix = format!("{}/", self.table.uri());
        if let Some(rel) = uri.strip_prefix(&table_prefix) {
            return Ok((self.table.store().clone(), self.table.child(rel)));
        }
        let url = url::Url::parse(uri).map_err(|e| Error::InvalidUri {
            uri: uri.to_string(),
            message: e.to_string(),
        })?;
        let key = format!("{}://{}", url.scheme(), url.authority());
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        let store = match stores.get(&key) {
            Some(s) => s.clone(),
            None => {
                let loc = TableLocation::parse(&format!("{key}/"))?;
                let s = loc.store().clone();
                stores.insert(key.clone(), s.clone());
                s
            }
        };
        let object = match url.scheme() {
            // Local stores are rooted at `/`: the object path is the absolute file path.
            "file" => {
                let p = url.to_file_path().map_err(|()| Error::InvalidUri {
                    uri: uri.to_string(),
                    message: "not a local file path".into(),
                })?;
                Path::from_absolute_path(&p).map_err(|e| Error::InvalidUri {
                    uri: uri.to_string(),
                    message: e.to_string(),
                })?
            }
            _ => {
                Path::parse(url.path().trim_start_matches('/')).map_err(|e| Error::InvalidUri {
                    uri: uri.to_string(),
                    message: e.to_string(),
                })?
            }
        };
        Ok((store, object))
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
