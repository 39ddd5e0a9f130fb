//! Location confinement: every location a client names (a table root, a tier location, a
//! file's location) is parsed and normalised before any check — percent-decoded once, `.` and
//! `..` segments refused in every spelling, empty segments dropped, symbolic links on local
//! disk resolved — and compared as a store (`scheme://authority`) and a key, never as text.
//!
//! The rules (see `catalog/SECURITY.md`):
//! - a table root lies in its namespace's folder of the warehouse (`<warehouse>/<namespace>/…`)
//!   and neither inside nor around another table's root;
//! - a tier location lies inside its table's root or inside a place the administrator allowed
//!   (`strata serve --allow-location`);
//! - `memory://` locations exist only in the server's RAM: refused unless the warehouse itself
//!   is in memory (an embedded test catalog).

use std::path::{Path, PathBuf};

use strata_format::location::split_uri;

use crate::error::{Error, Result};

/// A normalised location: the store and the key below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Lower-cased `scheme://authority` (`file://` for local paths).
    pub store: String,
    /// `/`-separated key without empty, `.` or `..` segments; for `file://`, the absolute path
    /// without its leading `/`, symbolic links resolved.
    pub key: String,
}

fn bad(location: &str, message: impl std::fmt::Display) -> Error {
    Error::BadRequest(format!(
        "location `{}`: {message}",
        location.escape_default()
    ))
}

impl Place {
    /// Parses and normalises a location: a URI, or an absolute local path.
    pub fn parse(location: &str) -> Result<Self> {
        // An empty segment is a distinct key on object stores (`a//b` is not under `a/b/`):
        // refused rather than normalised away. A trailing `/` is fine.
        let path_part = location.split_once("://").map_or(location, |(_, rest)| {
            rest.split_once('/').map_or("", |(_, p)| p)
        });
        let decoded = if location.contains("://") {
            strata_format::location::decode_uri_path(path_part).map_err(|m| bad(location, m))?
        } else {
            path_part.to_string()
        };
        let trimmed = decoded.trim_end_matches('/');
        if trimmed.contains("//") || (location.contains("://") && trimmed.starts_with('/')) {
            return Err(bad(location, "has an empty segment (`//`)"));
        }
        let (store, key) = if location.contains("://") {
            split_uri(location).map_err(|m| bad(location, m))?
        } else {
            let path = Path::new(location);
            if !path.is_absolute() {
                return Err(bad(
                    location,
                    "is relative: use an absolute path or a URI (file://, s3://)",
                ));
            }
            let mut segments = Vec::new();
            for seg in location.split('/').filter(|s| !s.is_empty()) {
                if seg == "." || seg == ".." {
                    return Err(bad(location, format!("has a `{seg}` segment")));
                }
                segments.push(seg);
            }
            ("file://".to_string(), segments.join("/"))
        };
        let key = if store == "file://" {
            resolve_links(&key)
        } else {
            key
        };
        Ok(Self { store, key })
    }

    /// Whether `other` lies strictly below this place.
    pub fn contains(&self, other: &Place) -> bool {
        self.store == other.store
            && (self.key.is_empty() && !other.key.is_empty()
                || other
                    .key
                    .strip_prefix(self.key.as_str())
                    .is_some_and(|rest| rest.starts_with('/')))
    }

    /// Whether the two places are the same or one lies below the other.
    pub fn overlaps(&self, other: &Place) -> bool {
        self == other || self.contains(other) || other.contains(self)
    }

    /// The place one segment below.
    pub fn child(&self, segment: &str) -> Place {
        Place {
            store: self.store.clone(),
            key: if self.key.is_empty() {
                segment.to_string()
            } else {
                format!("{}/{segment}", self.key)
            },
        }
    }

    /// Whether this is a local directory or file path.
    pub fn local_path(&self) -> Option<PathBuf> {
        (self.store == "file://").then(|| PathBuf::from(format!("/{}", self.key)))
    }
}

/// `key` (an absolute path without its leading `/`) with the symbolic links of its longest
/// existing prefix resolved, so that a link inside the warehouse that points outside is seen
/// as the outside place it is.
fn resolve_links(key: &str) -> String {
    let full = PathBuf::from(format!("/{key}"));
    let mut existing = full.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let mut p = real;
            for seg in rest.iter().rev() {
                p.push(seg);
            }
            return p
                .to_string_lossy()
                .trim_start_matches('/')
                .trim_end_matches('/')
                .to_string();
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return key.to_string(),
        }
    }
}

/// Where a catalog lets tables and tiers live.
#[derive(Debug, Clone)]
pub struct Confinement {
    warehouse: Place,
    allowed: Vec<Place>,
    in_memory: bool,
}

impl Confinement {
    /// The places of a catalog whose warehouse is `warehouse`, with tier locations also
    /// allowed under each of `allowed`.
    pub fn new(warehouse: &str, allowed: &[String]) -> Result<Self> {
        let warehouse_place = Place::parse(warehouse)?;
        let allowed = allowed
            .iter()
            .map(|a| Place::parse(a))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            in_memory: warehouse_place.store.starts_with("memory://"),
            warehouse: warehouse_place,
            allowed,
        })
    }

    fn check_memory(&self, location: &str, place: &Place) -> Result<()> {
        if place.store.starts_with("memory://") && !self.in_memory {
            return Err(bad(
                location,
                "memory:// lives only in the server's RAM; use the warehouse or an allowed location",
            ));
        }
        Ok(())
    }

    /// The folder of `namespace` in the warehouse.
    pub fn namespace_folder(&self, namespace: &str) -> Place {
        self.warehouse.child(namespace)
    }

    /// Whether `place` lies strictly inside the warehouse.
    pub fn in_warehouse(&self, place: &Place) -> bool {
        self.warehouse.contains(place)
    }

    /// Checks a table root of `namespace`: inside the namespace's folder of the warehouse.
    pub fn table_root(&self, namespace: &str, location: &str) -> Result<Place> {
        let place = Place::parse(location)?;
        self.check_memory(location, &place)?;
        if !self.namespace_folder(namespace).contains(&place) {
            return Err(bad(
                location,
                format!(
                    "a table of namespace `{namespace}` lives in the warehouse under `{namespace}/`"
                ),
            ));
        }
        if let Some(dir) = place.local_path()
            && dir.exists()
            && !dir.is_dir()
        {
            return Err(bad(location, "is a file, not a folder"));
        }
        Ok(place)
    }

    /// Checks a tier location of a table of `namespace` whose root is `root`: inside the root,
    /// or inside the namespace's folder of a place the administrator allowed
    /// (`<allowed>/<namespace>/…`), so that tables of different namespaces never share one.
    pub fn tier_location(&self, namespace: &str, root: &Place, location: &str) -> Result<Place> {
        let place = Place::parse(location)?;
        self.check_memory(location, &place)?;
        if root.contains(&place) || self.in_allowed(namespace, &place) {
            Ok(place)
        } else {
            Err(bad(
                location,
                format!(
                    "a tier location lies inside the table's folder or, under a location the \
                     administrator allowed (strata serve --allow-location), inside its folder \
                     of the table's namespace (`<allowed>/{namespace}/…`)"
                ),
            ))
        }
    }

    /// Whether `place` lies inside the folder of `namespace` of an allowed place.
    fn in_allowed(&self, namespace: &str, place: &Place) -> bool {
        self.allowed
            .iter()
            .any(|a| a.child(namespace).contains(place))
    }

    /// Whether a file's `place` is one purge may delete for the table of `namespace` at
    /// `root`: inside the root or inside the namespace's folder of an allowed place.
    pub fn purgeable(&self, namespace: &str, root: &Place, place: &Place) -> bool {
        root.contains(place) || self.in_allowed(namespace, place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_the_same_place_compare_equal() {
        let a = Place::parse("s3://B/wh/ns/t").unwrap();
        for same in ["s3://b/wh/ns/t/", "S3://b/wh/n%73/t", "s3://b/wh/ns/t%2F"] {
            assert_eq!(Place::parse(same).unwrap(), a, "{same}");
        }
        for bad in [
            "s3://b/wh/ns/../x",
            "s3://b/wh/ns/%2e%2e/x",
            "s3://b/wh/ns/%2E%2e/x",
            "s3://b/wh/./ns",
            "/wh/ns/../x",
            "relative/path",
            "s3://b/wh//ns/t",
            "s3://b/wh/%2F/ns/t",
            "s3://b/%2Fwh/ns/t",
            "/wh//ns/t",
        ] {
            assert!(Place::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tables_stay_in_their_namespace_folder() {
        let c = Confinement::new("s3://b/wh", &["s3://archive/".into()]).unwrap();
        c.table_root("ns", "s3://b/wh/ns/t").unwrap();
        for bad in [
            "s3://b/wh",
            "s3://b/wh/ns",
            "s3://b/wh/other/t",
            "s3://b/elsewhere/t",
            "s3://archive/t",
            "memory://x/t",
        ] {
            assert!(c.table_root("ns", bad).is_err(), "{bad}");
        }
        let root = Place::parse("s3://b/wh/ns/t").unwrap();
        c.tier_location("ns", &root, "s3://b/wh/ns/t/cold").unwrap();
        c.tier_location("ns", &root, "s3://archive/ns/t").unwrap();
        c.tier_location("ns", &root, "s3://archive/n%73/t/cold")
            .unwrap();
        for bad in [
            "s3://b/wh/ns/u",
            "s3://b/wh",
            "file:///tmp",
            "s3://archive2/x",
            // The allowed place itself, its namespace folder, another namespace's folder.
            "s3://archive",
            "s3://archive/ns",
            "s3://archive/other/t",
            "s3://archive/t",
            "s3://archive/ns2/t",
        ] {
            assert!(c.tier_location("ns", &root, bad).is_err(), "{bad}");
        }
        let place = |l: &str| Place::parse(l).unwrap();
        assert!(c.purgeable("ns", &root, &place("s3://archive/ns/t/data/a.parquet")));
        assert!(c.purgeable("ns", &root, &place("s3://b/wh/ns/t/data/a.parquet")));
        for other in [
            "s3://archive/other/t/data/a.parquet",
            "s3://archive/a.parquet",
            "s3://b/wh/ns/u/a.parquet",
        ] {
            assert!(!c.purgeable("ns", &root, &place(other)), "{other}");
        }
    }

    #[test]
    fn symbolic_links_are_resolved() {
        let wh = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(wh.path().join("ns")).unwrap();
        std::os::unix::fs::symlink(outside.path(), wh.path().join("ns/link")).unwrap();
        let c = Confinement::new(wh.path().to_str().unwrap(), &[]).unwrap();
        let through = wh.path().join("ns/link/t");
        assert!(c.table_root("ns", through.to_str().unwrap()).is_err());
        c.table_root("ns", wh.path().join("ns/t").to_str().unwrap())
            .unwrap();
        let uri = format!("file://{}/ns/link/t", wh.path().display());
        assert!(c.table_root("ns", &uri).is_err());
    }
}
