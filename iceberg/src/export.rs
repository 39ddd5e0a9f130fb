//! Reading the Strata log and writing the Iceberg metadata under `_strata_iceberg/`.
//!
//! Layout, relative to the table root (never part of Strata's commit protocol; everything can
//! be deleted and is written again on demand):
//!
//! * `_strata_iceberg/v<V>-<key>.metadata.json`: the Iceberg metadata of Strata version `V`.
//!   `<key>` is the start of a SHA-256 over everything the metadata is made of: every retained
//!   version's metadata, tags and data files **with their current locations, storage classes
//!   and deletion vectors**. A tier move therefore changes the key, and the next export writes
//!   new metadata naming the new locations; the old one stays valid for readers that hold it
//!   until the vacuum's grace period has passed.
//! * `_strata_iceberg/v<V>-<key>/snap-<id>-m<n>.avro`, `…/snap-<id>-list.avro`: the manifests
//!   and manifest list of each Iceberg snapshot of that metadata.
//! * `_strata_iceberg/deletes/<hash>.parquet`: position-delete files, one per (data file
//!   location, deletion vector), shared by every export that needs them.
//!
//! The `metadata.json` is written last: when it exists, everything it names exists, so a
//! second call finds it and returns at once (the operation is idempotent, and concurrent
//! exports of the same version write the same content).

use std::collections::HashMap;

use object_store::{ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use strata_format::dv::DeletionVector;
use strata_format::location::location_uri;
use strata_format::tiering::is_archive_class;
use strata_table::{Snapshot, Table};

use crate::deletes::position_delete_parquet;
use crate::error::{Error, Result};
use crate::metadata::{DeleteFile, DeleteKey, build};

/// The folder of the table root that holds the generated Iceberg metadata (SPEC §8.7).
pub const ICEBERG_DIR: &str = "_strata_iceberg";

/// Version of the generator: part of every cache key, so a change in what is generated never
/// returns metadata written by an older generator.
const GENERATOR: &str = "strata-iceberg/1";

/// Where the Iceberg metadata of a version is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataLocation {
    /// The Strata version (Iceberg's current snapshot has id `version + 1`).
    pub version: u64,
    /// The `metadata.json` key relative to the table root.
    pub key: String,
    /// Its absolute URI (`file:///…`, `s3://bucket/…`).
    pub uri: String,
    /// Whether this call wrote it (`false`: it was already there).
    pub written: bool,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Whether a file of `snapshot` cannot be read now (SPEC §6.4): its location, path and class.
fn archived(snapshot: &Snapshot, now: i64) -> Option<(String, String, String)> {
    snapshot.files().values().find_map(|f| {
        let class = f.storage_class.as_deref()?;
        let restored = f.restore.is_some_and(|r| r.readable_at(now));
        (is_archive_class(class) && !restored).then(|| {
            (
                f.path.clone(),
                snapshot.physical_location(f),
                class.to_string(),
            )
        })
    })
}

/// Makes sure the Iceberg metadata of `version` (`None`: the latest) exists under
/// `_strata_iceberg/` and returns where it is. Idempotent: the inputs are hashed, and metadata
/// already written for the same inputs is returned without writing anything.
///
/// Every retained version becomes an Iceberg snapshot, except older versions with a live
/// file in an archive storage class that is not restored (SPEC §6.4): an Iceberg reader would
/// fail on them, so they are left out (and tags pointing at them). The exported version itself
/// is refused in that case ([`Error::ArchivedFile`]).
pub async fn ensure_metadata(table: &Table, version: Option<u64>) -> Result<MetadataLocation> {
    let uri = table.uri().to_string();
    let table_err = |version: u64| {
        let uri = uri.clone();
        move |e: strata_table::Error| Error::Table {
            table: uri,
            version,
            source: Box::new(e),
        }
    };
    let latest = table
        .latest()
        .await
        .map_err(table_err(version.unwrap_or(0)))?;
    let target = version.unwrap_or(latest.version());
    if target > latest.version() {
        // The engine's error: the version does not exist (yet).
        table
            .snapshot_at_version(target)
            .await
            .map_err(table_err(target))?;
    }
    let oldest = strata_format::retention::oldest_version(latest.metadata()).min(target);
    let now = now_ms();

    let mut snapshots = Vec::new();
    for v in oldest..=target {
        let s = if v == latest.version() {
            latest.clone()
        } else {
            table.snapshot_at_version(v).await.map_err(table_err(v))?
        };
        match archived(&s, now) {
            Some((path, location, storage_class)) if v == target => {
                return Err(Error::ArchivedFile {
                    table: uri,
                    version: v,
                    path,
                    location,
                    storage_class,
                });
            }
            Some(_) => {}
            None => snapshots.push(s),
        }
    }

    let key = cache_key(&uri, &snapshots);
    let dir = format!("{ICEBERG_DIR}/v{target}-{key}");
    let metadata_key = format!("{dir}.metadata.json");
    let location = table.location();
    let store = location.store();
    let metadata_path = location.child(&metadata_key);
    let result = |written| MetadataLocation {
        version: target,
        key: metadata_key.clone(),
        uri: location_uri(&uri, &metadata_key),
        written,
    };
    match store.head(&metadata_path).await {
        Ok(_) => return Ok(result(false)),
        Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => {
            return Err(Error::Storage {
                table: uri,
                path: metadata_key,
                source: Box::new(e),
            });
        }
    }

    let deletes = write_deletes(table, target, &snapshots).await?;
    let built = build(&uri, &dir, &snapshots, &deletes).map_err(|e| e.at(&uri, target))?;
    for (key, bytes) in built.files {
        put(table, &key, bytes).await?;
    }
    let json = serde_json::to_vec_pretty(&built.metadata).map_err(|e| Error::Encode {
        table: uri.clone(),
        version: target,
        path: metadata_key.clone(),
        message: e.to_string(),
    })?;
    put(table, &metadata_key, json).await?;
    Ok(result(true))
}

/// The start (16 hex digits) of a SHA-256 over every input of the metadata.
fn cache_key(uri: &str, snapshots: &[Snapshot]) -> String {
    let mut h = Sha256::new();
    let mut feed = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    feed(GENERATOR.as_bytes());
    feed(uri.as_bytes());
    for s in snapshots {
        feed(&s.version().to_le_bytes());
        feed(&s.timestamp().to_le_bytes());
        feed(s.commit_info().operation.as_bytes());
        feed(&serde_json::to_vec(s.metadata()).unwrap_or_default());
        feed(&serde_json::to_vec(s.tags()).unwrap_or_default());
        for (_, add) in s.files().iter() {
            feed(&serde_json::to_vec(add).unwrap_or_default());
            // The resolved location (a file without `location` is under the root).
            feed(s.physical_location(add).as_bytes());
        }
    }
    hex::encode(&h.finalize()[..8])
}

async fn put(table: &Table, key: &str, bytes: Vec<u8>) -> Result<()> {
    let location = table.location();
    location
        .store()
        .put(&location.child(key), PutPayload::from(bytes))
        .await
        .map_err(|e| Error::Storage {
            table: table.uri().to_string(),
            path: key.to_string(),
            source: Box::new(e),
        })?;
    Ok(())
}

/// Writes (or finds) the position-delete file of every deletion vector of `snapshots`.
async fn write_deletes(
    table: &Table,
    version: u64,
    snapshots: &[Snapshot],
) -> Result<HashMap<DeleteKey, DeleteFile>> {
    let uri = table.uri();
    let location = table.location();
    let store = location.store();
    let mut out: HashMap<DeleteKey, DeleteFile> = HashMap::new();
    for s in snapshots {
        for (path, add) in s.files().iter() {
            let Some(dv) = &add.deletion_vector else {
                continue;
            };
            let key: DeleteKey = (path.clone(), dv.path.clone(), dv.offset);
            if out.contains_key(&key) {
                continue;
            }
            let data_uri = s.physical_location(add);
            let mut h = Sha256::new();
            for part in [
                data_uri.as_bytes(),
                dv.path.as_bytes(),
                &dv.offset.to_le_bytes(),
            ] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
            let name = format!(
                "{ICEBERG_DIR}/deletes/{}.parquet",
                hex::encode(&h.finalize()[..16])
            );
            let object = location.child(&name);
            let size = match store.head(&object).await {
                Ok(meta) => meta.size,
                Err(object_store::Error::NotFound { .. }) => {
                    let dv_object = location.child(&dv.path);
                    let end = dv.offset.saturating_add(dv.size_in_bytes);
                    let bytes = store
                        .get_range(&dv_object, dv.offset..end)
                        .await
                        .map_err(|e| Error::Storage {
                            table: uri.to_string(),
                            path: dv.path.clone(),
                            source: Box::new(e),
                        })?;
                    let vector =
                        DeletionVector::decode(&bytes, dv, add).map_err(|e| Error::Invalid {
                            table: uri.to_string(),
                            version: s.version(),
                            message: e.to_string(),
                        })?;
                    let positions: Vec<u64> = vector.iter().collect();
                    let parquet = position_delete_parquet(&data_uri, &positions).map_err(|e| {
                        Error::Encode {
                            table: uri.to_string(),
                            version,
                            path: name.clone(),
                            message: e,
                        }
                    })?;
                    let size = parquet.len() as u64;
                    put(table, &name, parquet).await?;
                    size
                }
                Err(e) => {
                    return Err(Error::Storage {
                        table: uri.to_string(),
                        path: name,
                        source: Box::new(e),
                    });
                }
            };
            out.insert(
                key,
                DeleteFile {
                    uri: location_uri(uri, &name),
                    size,
                    rows: dv.cardinality,
                },
            );
        }
    }
    Ok(out)
}
