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
//!
//! Cost: computing the key replays every retained version (each from its nearest checkpoint,
//! eight at a time), and a new key writes manifests for every snapshot (O(versions × files)).
//! A process-wide memo keyed by (table, latest version, exported version) answers repeated
//! calls with one LIST and one HEAD, which suits a catalog server; the memo does not notice a
//! restore (SPEC §6.4.1) expiring, which is no commit, until the next commit.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use futures::{StreamExt, TryStreamExt};

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
pub const ICEBERG_DIR: &str = strata_format::commit::ICEBERG_DIR;

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

    // A process-wide memo: the same latest version means the same log, hence the same
    // inputs (a tier move is a commit). The object is checked, so a deleted folder is
    // written again.
    let memo_key = (uri.clone(), latest.version(), target);
    let memoized = memo().lock().ok().and_then(|m| m.get(&memo_key).cloned());
    if let Some(mut hit) = memoized
        && exists(table, &hit.key).await?
    {
        hit.written = false;
        return Ok(hit);
    }

    let loaded: Vec<Snapshot> = futures::stream::iter(oldest..=target)
        .map(|v| {
            let latest = latest.clone();
            let err = table_err(v);
            async move {
                if v == latest.version() {
                    Ok(latest)
                } else {
                    table.snapshot_at_version(v).await.map_err(err)
                }
            }
        })
        .buffered(LOAD_CONCURRENCY)
        .try_collect()
        .await?;
    let mut snapshots = Vec::with_capacity(loaded.len());
    for s in loaded {
        match archived(&s, now) {
            Some((path, location, storage_class)) if s.version() == target => {
                return Err(Error::ArchivedFile {
                    table: uri,
                    version: target,
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
    let result = |written| MetadataLocation {
        version: target,
        key: metadata_key.clone(),
        uri: location_uri(&uri, &metadata_key),
        written,
    };
    if exists(table, &metadata_key).await? {
        let found = result(false);
        remember(memo_key, &found);
        return Ok(found);
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
    let written = result(true);
    remember(memo_key, &written);
    Ok(written)
}

/// Versions replayed at once while loading the retained snapshots.
const LOAD_CONCURRENCY: usize = 8;

type MemoKey = (String, u64, u64);

/// Metadata locations by (table URI, latest version, exported version).
fn memo() -> &'static Mutex<HashMap<MemoKey, MetadataLocation>> {
    static MEMO: OnceLock<Mutex<HashMap<MemoKey, MetadataLocation>>> = OnceLock::new();
    MEMO.get_or_init(|| Mutex::new(HashMap::new()))
}

fn remember(key: MemoKey, location: &MetadataLocation) {
    if let Ok(mut m) = memo().lock() {
        // Bounded: a long-running server forgets everything now and then.
        if m.len() >= 4096 {
            m.clear();
        }
        m.insert(key, location.clone());
    }
}

/// Whether the object `key` (relative to the table root) exists.
async fn exists(table: &Table, key: &str) -> Result<bool> {
    let location = table.location();
    match location.store().head(&location.child(key)).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(Error::Storage {
            table: table.uri().to_string(),
            path: key.to_string(),
            source: Box::new(e),
        }),
    }
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
