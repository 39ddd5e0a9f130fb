//! Loading the deletion vector of a data file (SPEC §7.1–§7.3), which scans apply as a row
//! selection. Vector objects are always under the table root (§7.2), whatever the file's tier.

use object_store::ObjectStoreExt;
use strata_format::AddFile;
use strata_format::dv::DeletionVector;

use crate::error::{Error, Result};
use crate::storage::resolve::StoreResolver;

/// Reads and checks the deletion vector of `file`, if it has one. Vector objects are always
/// under the table root (SPEC §7.2), whatever the tier of the file.
pub(crate) async fn read_vector(
    resolver: &StoreResolver,
    table_uri: &str,
    file: &AddFile,
) -> Result<Option<DeletionVector>> {
    let Some(d) = &file.deletion_vector else {
        return Ok(None);
    };
    let (store, path) = resolver.resolve(&d.path, None)?;
    let end = d.offset.saturating_add(d.size_in_bytes);
    let bytes = store
        .get_range(&path, d.offset..end)
        .await
        .map_err(|e| Error::Storage {
            table: table_uri.to_string(),
            path: d.path.clone(),
            source: Box::new(e),
        })?;
    Ok(Some(DeletionVector::decode(&bytes, d, file)?))
}
