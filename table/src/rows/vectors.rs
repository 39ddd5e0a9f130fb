//! Deletion vectors at the storage edge for writers (SPEC §7): whether a table writes them, the
//! vector object of a transaction, and deleting one that was never committed (readers load
//! vectors in `scan`). Encoding and validation are [`strata_format::dv`]'s.

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutPayload};
use strata_format::dv::{self, DV_DIR, DvObjectBuilder};

use crate::error::{Error, Result};
use crate::log::snapshot::Snapshot;
use crate::table::Table;

/// Whether deletes of `snapshot`'s table write deletion vectors: its protocol lists the feature
/// and `strata.deletionVectors` is not `false` (SPEC §7).
pub(crate) fn enabled(snapshot: &Snapshot) -> bool {
    dv::enabled_in(snapshot.protocol())
        && snapshot
            .metadata()
            .properties
            .get(dv::PROP_DELETION_VECTORS)
            .is_none_or(|v| v != "false")
}

/// A new, empty vector object of `table` under a fresh name.
pub(crate) fn new_object(table: &Table) -> DvObjectBuilder {
    DvObjectBuilder::new(format!(
        "{DV_DIR}/{}.bin",
        table.inner.options.ids.next_id()
    ))
}

/// Stores `object` (before the commit naming it); returns its logical path, or `None` when it
/// holds no vector (nothing is written).
pub(crate) async fn write_object(table: &Table, object: DvObjectBuilder) -> Result<Option<String>> {
    if object.is_empty() {
        return Ok(None);
    }
    let (path, bytes) = object.finish();
    let location = table.location();
    let key = location.child(&path);
    location
        .store()
        .put(&key, PutPayload::from(Bytes::from(bytes)))
        .await
        .map_err(|e| Error::Storage {
            table: table.uri().to_string(),
            path: path.clone(),
            source: Box::new(e),
        })?;
    Ok(Some(path))
}

/// Deletes a vector object no commit names (after a failed commit).
pub(crate) async fn delete_object(table: &Table, path: &str) {
    let location = table.location();
    if let Err(e) = location.store().delete(&location.child(path)).await {
        tracing::warn!(table = table.uri(), path, error = %e,
            "could not delete an uncommitted deletion-vector object");
    }
}
