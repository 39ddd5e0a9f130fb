//! The catalog's operations, independent of HTTP: namespaces and tables in the store, tables'
//! contents in their logs (the source of truth).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use strata_format::{PartitionSpec, Schema};
use strata_table::{CreateTable, Table, TableLocation, TableOptions};

use crate::error::{Error, Result};
use crate::model::{CreateTableRequest, HistoryItem, Namespace, TableEntry, TableInfo, TagEntry};
use crate::names::{validate_namespace, validate_table};
use crate::store::{NamespaceRecord, Store, TableIdent, TableRecord};

/// A location the server can resolve the same way whatever its working directory: a URI or
/// an absolute path.
fn check_location(location: &str) -> Result<()> {
    if location.contains("://") || std::path::Path::new(location).is_absolute() {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "location `{}` is relative: use an absolute path or a URI (file://, s3://, memory://)",
            location.escape_default()
        )))
    }
}

/// The catalog: a metadata store, a warehouse root for new tables, and open table handles.
///
/// The handles are a cache of logs read from storage; every answer about a table's contents
/// refreshes from storage first, so several catalog processes never disagree.
pub struct Catalog {
    pub(crate) store: Arc<dyn Store>,
    warehouse: String,
    handles: Mutex<HashMap<String, Table>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("store", &self.store.kind())
            .field("warehouse", &self.warehouse)
            .finish()
    }
}

impl Catalog {
    /// A catalog over `store`; new tables go under `warehouse` (a path or URI).
    pub fn new(store: Arc<dyn Store>, warehouse: impl Into<String>) -> Self {
        Self {
            store,
            warehouse: warehouse.into().trim_end_matches('/').to_string(),
            handles: Mutex::new(HashMap::new()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The warehouse root.
    pub fn warehouse(&self) -> &str {
        &self.warehouse
    }

    /// A table handle (cached), refreshed from storage by its users. A cached handle whose
    /// table id is not the record's (the location was dropped and reused, perhaps by another
    /// catalog process) is reopened.
    pub(crate) async fn handle(&self, record: &TableRecord) -> Result<Table> {
        if let Some(t) = self.cached(&record.location) {
            if t.latest().await?.metadata().table_id == record.table_id {
                return Ok(t);
            }
            self.forget(&record.location);
        }
        let loc = TableLocation::parse(&record.location)?;
        let t = Table::open_with(loc, TableOptions::default()).await?;
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(record.location.clone(), t.clone());
        Ok(t)
    }

    fn cached(&self, location: &str) -> Option<Table> {
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(location)
            .cloned()
    }

    fn forget(&self, location: &str) {
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(location);
    }

    /// The table row, or 404.
    pub async fn table_record(&self, ident: &TableIdent) -> Result<TableRecord> {
        validate_namespace(&ident.namespace)?;
        validate_table(&ident.name)?;
        self.store
            .get_table(ident)
            .await?
            .ok_or_else(|| Error::TableNotFound(ident.to_string()))
    }

    /// The namespace, or 404.
    pub async fn namespace(&self, name: &str) -> Result<Namespace> {
        validate_namespace(name)?;
        let ns = self
            .store
            .get_namespace(name)
            .await?
            .ok_or_else(|| Error::NamespaceNotFound(name.to_string()))?;
        Ok(Namespace {
            name: ns.name,
            properties: ns.properties,
        })
    }

    /// Creates a namespace.
    pub async fn create_namespace(
        &self,
        name: &str,
        properties: BTreeMap<String, String>,
    ) -> Result<Namespace> {
        validate_namespace(name)?;
        self.store
            .create_namespace(&NamespaceRecord {
                name: name.to_string(),
                properties: properties.clone(),
            })
            .await?;
        Ok(Namespace {
            name: name.to_string(),
            properties,
        })
    }

    /// Tables of a namespace.
    pub async fn list_tables(&self, namespace: &str) -> Result<Vec<TableEntry>> {
        self.namespace(namespace).await?;
        Ok(self
            .store
            .list_tables(namespace)
            .await?
            .into_iter()
            .map(|t| TableEntry {
                namespace: t.ident.namespace,
                name: t.ident.name,
                location: t.location,
            })
            .collect())
    }

    /// Whether `location` is inside the warehouse (only those tables may be purged).
    fn in_warehouse(&self, location: &str) -> bool {
        location
            .strip_prefix(&self.warehouse)
            .is_some_and(|rest| rest.starts_with('/') && !rest.split('/').any(|s| s == ".."))
    }

    fn default_location(&self, ident: &TableIdent) -> String {
        format!("{}/{}/{}", self.warehouse, ident.namespace, ident.name)
    }

    /// Creates a table: writes its version 0 to storage, then registers it.
    pub async fn create_table(
        &self,
        namespace: &str,
        req: CreateTableRequest,
    ) -> Result<TableInfo> {
        let ident = TableIdent::new(namespace, req.name.clone());
        validate_table(&ident.name)?;
        self.namespace(namespace).await?;
        if self.store.get_table(&ident).await?.is_some() {
            return Err(Error::TableExists(ident.to_string()));
        }
        let schema: Schema = serde_json::from_value(req.schema)
            .map_err(|e| Error::BadRequest(format!("invalid schema: {e}")))?;
        let mut create = CreateTable::new(schema);
        if let Some(spec) = req.partition_spec {
            let spec: PartitionSpec = serde_json::from_value(spec)
                .map_err(|e| Error::BadRequest(format!("invalid partition spec: {e}")))?;
            create = create.with_partition_spec(spec);
        }
        create.properties = req.properties;
        create.name = Some(ident.name.clone());
        let location = match req.location {
            Some(l) => l,
            None => self.default_location(&ident),
        };
        check_location(&location)?;
        let loc = TableLocation::parse(&location)
            .map_err(|e| Error::BadRequest(format!("invalid location: {e}")))?;
        let table = Table::create_with(loc, create, TableOptions::default())
            .await
            .map_err(|e| match e {
                strata_table::Error::TableExists { uri } => {
                    Error::TableExists(format!("a table already exists at `{uri}`"))
                }
                strata_table::Error::Format(f) => Error::BadRequest(f.to_string()),
                other => other.into(),
            })?;
        self.register(ident, &location, table).await
    }

    /// Registers an existing table location.
    pub async fn register_table(
        &self,
        namespace: &str,
        name: &str,
        location: &str,
    ) -> Result<TableInfo> {
        let ident = TableIdent::new(namespace, name);
        validate_table(name)?;
        self.namespace(namespace).await?;
        check_location(location)?;
        let loc = TableLocation::parse(location)
            .map_err(|e| Error::BadRequest(format!("invalid location: {e}")))?;
        let table = Table::open_with(loc, TableOptions::default())
            .await
            .map_err(|e| match e {
                strata_table::Error::TableNotFound { uri } => {
                    Error::BadRequest(format!("no Strata table at `{uri}`"))
                }
                other => other.into(),
            })?;
        self.register(ident, location, table).await
    }

    async fn register(&self, ident: TableIdent, location: &str, table: Table) -> Result<TableInfo> {
        let snap = table.latest().await?;
        let record = TableRecord {
            ident,
            location: location.to_string(),
            table_id: snap.metadata().table_id.clone(),
            current_version: snap.version(),
        };
        self.store.create_table(&record).await?;
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(location.to_string(), table);
        self.info(&record).await
    }

    /// Loads a table from its log.
    pub async fn load_table(&self, ident: &TableIdent) -> Result<TableInfo> {
        let record = self.table_record(ident).await?;
        self.info(&record).await
    }

    async fn info(&self, record: &TableRecord) -> Result<TableInfo> {
        let table = self.handle(record).await?;
        let snap = table.latest().await?;
        let meta = snap.metadata();
        let spec = meta
            .partition_specs
            .iter()
            .find(|s| s.spec_id == meta.default_spec_id)
            .cloned()
            .unwrap_or_else(PartitionSpec::unpartitioned);
        Ok(TableInfo {
            namespace: record.ident.namespace.clone(),
            name: record.ident.name.clone(),
            location: record.location.clone(),
            table_id: meta.table_id.clone(),
            current_version: snap.version(),
            schema: serde_json::to_value(&meta.schema)?,
            partition_spec: serde_json::to_value(&spec)?,
            properties: meta.properties.clone(),
        })
    }

    /// Renames a table.
    pub async fn rename_table(&self, from: &TableIdent, to: &TableIdent) -> Result<()> {
        validate_namespace(&to.namespace)?;
        validate_table(&to.name)?;
        self.table_record(from).await?;
        self.store.rename_table(from, to).await
    }

    /// Drops a table; with `purge`, deletes every object under its location too.
    pub async fn drop_table(&self, ident: &TableIdent, purge: bool) -> Result<()> {
        let record = self.table_record(ident).await?;
        if purge && !self.in_warehouse(&record.location) {
            return Err(Error::BadRequest(format!(
                "refusing to purge `{ident}`: its location is outside the catalog's warehouse; \
                 drop it without purge and delete its data yourself"
            )));
        }
        let record = self.store.drop_table(ident).await?;
        self.forget(&record.location);
        if purge {
            let loc = TableLocation::parse(&record.location)?;
            let store = loc.store().clone();
            let objects: Vec<_> = store
                .list(Some(loc.root()))
                .map_ok(|m| m.location)
                .try_collect()
                .await?;
            for path in objects {
                match store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// The newest `limit` commits, newest first.
    pub async fn history(&self, ident: &TableIdent, limit: usize) -> Result<Vec<HistoryItem>> {
        let record = self.table_record(ident).await?;
        let table = self.handle(&record).await?;
        Ok(table
            .history(Some(limit))
            .await?
            .into_iter()
            .map(|h| HistoryItem {
                version: h.version,
                timestamp: h.info.timestamp,
                operation: h.info.operation,
                txn_id: h.info.txn_id,
                read_version: h.info.read_version,
                files_added: h.files_added,
                files_removed: h.files_removed,
                rows_added: h.rows_added,
                rows_removed: h.rows_removed,
                operation_parameters: h.info.operation_parameters,
                operation_metrics: h.info.operation_metrics,
                user_metadata: h.info.user_metadata,
                engine: h.info.engine,
            })
            .collect())
    }

    /// Tags of the latest version.
    pub async fn tags(&self, ident: &TableIdent) -> Result<Vec<TagEntry>> {
        let record = self.table_record(ident).await?;
        let table = self.handle(&record).await?;
        Ok(table
            .latest()
            .await?
            .tags()
            .iter()
            .map(|(name, version)| TagEntry {
                name: name.clone(),
                version: *version,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_must_be_absolute_and_purge_stays_in_the_warehouse() {
        assert!(check_location("/data/t").is_ok());
        assert!(check_location("s3://b/t").is_ok());
        assert!(check_location("./t").is_err());
        assert!(check_location("t").is_err());
        let store: Arc<dyn Store> = Arc::new(NoStore);
        let c = Catalog::new(store, "/wh/");
        assert!(c.in_warehouse("/wh/ns/t"));
        assert!(!c.in_warehouse("/wh"));
        assert!(!c.in_warehouse("/whx/t"));
        assert!(!c.in_warehouse("/wh/../etc"));
        assert!(!c.in_warehouse("/elsewhere/t"));
    }

    #[derive(Debug)]
    struct NoStore;

    #[async_trait::async_trait]
    impl Store for NoStore {
        fn kind(&self) -> &'static str {
            "none"
        }
        async fn ping(&self) -> Result<()> {
            Ok(())
        }
        async fn create_namespace(&self, _: &NamespaceRecord) -> Result<()> {
            Ok(())
        }
        async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>> {
            Ok(Vec::new())
        }
        async fn get_namespace(&self, _: &str) -> Result<Option<NamespaceRecord>> {
            Ok(None)
        }
        async fn drop_namespace(&self, _: &str) -> Result<()> {
            Ok(())
        }
        async fn update_namespace_properties(
            &self,
            n: &str,
            _: &BTreeMap<String, String>,
            _: &[String],
        ) -> Result<NamespaceRecord> {
            Err(Error::NamespaceNotFound(n.into()))
        }
        async fn create_table(&self, _: &TableRecord) -> Result<()> {
            Ok(())
        }
        async fn list_tables(&self, _: &str) -> Result<Vec<TableRecord>> {
            Ok(Vec::new())
        }
        async fn get_table(&self, _: &TableIdent) -> Result<Option<TableRecord>> {
            Ok(None)
        }
        async fn rename_table(&self, _: &TableIdent, _: &TableIdent) -> Result<()> {
            Ok(())
        }
        async fn drop_table(&self, i: &TableIdent) -> Result<TableRecord> {
            Err(Error::TableNotFound(i.to_string()))
        }
        async fn lock_table(&self, i: &TableIdent) -> Result<Box<dyn crate::store::TableLock>> {
            Err(Error::TableNotFound(i.to_string()))
        }
        async fn create_token(&self, _: &crate::store::TokenRecord) -> Result<()> {
            Ok(())
        }
        async fn find_token(&self, _: &str) -> Result<Option<crate::store::TokenRecord>> {
            Ok(None)
        }
    }
}
