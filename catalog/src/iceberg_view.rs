//! The Iceberg view of a catalog table: the metadata `strata-iceberg` generates from its log
//! (cached under the table's `_strata_iceberg/`, SPEC §8.7), as the Iceberg REST endpoints
//! serve it.

use object_store::ObjectStoreExt;
use strata_table::Table;

use crate::error::Result;
use crate::service::Catalog;
use crate::store::TableIdent;

/// Where the Iceberg metadata of a table's latest version is.
#[derive(Debug, Clone)]
pub struct IcebergView {
    table: Table,
    location: strata_iceberg::MetadataLocation,
}

impl IcebergView {
    /// The absolute URI of the `metadata.json` (its name holds a hash of everything in it).
    pub fn metadata_location(&self) -> &str {
        &self.location.uri
    }

    /// The Strata version the metadata's current snapshot is.
    pub fn version(&self) -> u64 {
        self.location.version
    }

    /// Reads the `metadata.json`.
    pub async fn metadata(&self) -> Result<serde_json::Value> {
        let location = self.table.location();
        let bytes = location
            .store()
            .get(&location.child(&self.location.key))
            .await?
            .bytes()
            .await?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

impl Catalog {
    /// Makes sure the Iceberg metadata of the table's latest version exists (writing it on
    /// first use of a version, or after a tier move changed a file's location) and returns
    /// where it is.
    pub async fn iceberg_view(&self, ident: &TableIdent) -> Result<IcebergView> {
        let record = self.table_record(ident).await?;
        let table = self.handle(&record).await?;
        let location = strata_iceberg::ensure_metadata(&table, None).await?;
        Ok(IcebergView { table, location })
    }
}
