//! The catalog's operations, independent of HTTP: namespaces and tables in the store, tables'
//! contents in their logs (the source of truth).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use strata_format::{PartitionSpec, Schema};
use strata_table::{CreateTable, Snapshot, StoreResolver, Table, TableLocation, TableOptions};

use crate::error::{Error, Result};
use crate::locations::{Confinement, Place};
use crate::model::{CreateTableRequest, HistoryItem, Namespace, TableEntry, TableInfo, TagEntry};
use crate::names::{validate_namespace, validate_table};
use crate::store::{NamespaceRecord, Store, TableIdent, TableRecord};

/// Deletes an object; one already gone is fine.
async fn delete_quietly(
    store: &dyn object_store::ObjectStore,
    path: &object_store::path::Path,
) -> Result<()> {
    match store.delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Removes a folder and everything in it without following symbolic links (a link is
/// removed as a link). A folder that does not exist is fine.
fn remove_tree(dir: &std::path::Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if !meta.is_dir() {
        // The root itself is a link or a file: remove that entry only.
        std::fs::remove_file(dir)?;
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            remove_tree(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    std::fs::remove_dir(dir)?;
    Ok(())
}

/// The catalog: a metadata store, a warehouse root for new tables, and open table handles.
///
/// The handles are a cache of logs read from storage; every answer about a table's contents
/// refreshes from storage first, so several catalog processes never disagree.
pub struct Catalog {
    pub(crate) store: Arc<dyn Store>,
    warehouse: String,
    pub(crate) confinement: Confinement,
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
    /// A catalog over `store`; new tables go under `warehouse` (an absolute path or a URI).
    pub fn new(store: Arc<dyn Store>, warehouse: impl Into<String>) -> Result<Self> {
        let warehouse = warehouse.into().trim_end_matches('/').to_string();
        Ok(Self {
            store,
            confinement: Confinement::new(&warehouse, &[])?,
            warehouse,
            handles: Mutex::new(HashMap::new()),
        })
    }

    /// Also allows tier locations under each of `locations` (URIs or absolute paths), in the
    /// folder of the table's namespace (`<location>/<namespace>/…`).
    pub fn allow_locations(mut self, locations: &[String]) -> Result<Self> {
        self.confinement = Confinement::new(&self.warehouse, locations)?;
        Ok(self)
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
        Ok(self.handle_latest(record).await?.0)
    }

    /// [`Catalog::handle`] with the latest snapshot it read from storage (to check the table
    /// id), so that a caller does not read the log again.
    pub(crate) async fn handle_latest(&self, record: &TableRecord) -> Result<(Table, Snapshot)> {
        if let Some(t) = self.cached(&record.location) {
            let latest = t.latest().await?;
            if latest.metadata().table_id == record.table_id {
                return Ok((t, latest));
            }
            self.forget(&record.location);
        }
        let loc = TableLocation::parse(&record.location)?;
        let t = Table::open_with(loc, TableOptions::default()).await?;
        let latest = t.latest().await?;
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(record.location.clone(), t.clone());
        Ok((t, latest))
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

    /// Refuses a table root that is, contains or lies inside the root of another table
    /// (`except`: the table itself). The other table is not named: it may belong to a
    /// namespace the caller cannot see.
    async fn check_overlap(&self, place: &Place, except: Option<&TableIdent>) -> Result<()> {
        for ns in self.store.list_namespaces().await? {
            for t in self.store.list_tables(&ns.name).await? {
                if Some(&t.ident) == except {
                    continue;
                }
                if Place::parse(&t.location).is_ok_and(|other| other.overlaps(place)) {
                    return Err(Error::BadRequest(format!(
                        "location `{}` is, contains or lies inside another table's folder",
                        place.key.escape_default()
                    )));
                }
            }
        }
        Ok(())
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
        let place = self.confinement.table_root(namespace, &location)?;
        self.check_overlap(&place, None).await?;
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
        let place = self.confinement.table_root(namespace, location)?;
        self.check_overlap(&place, None).await?;
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
        let (_, snap) = self.handle_latest(record).await?;
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
        let record = self.table_record(from).await?;
        if from.namespace != to.namespace {
            self.check_tiers_move_with(&record, to).await?;
        }
        self.store.rename_table(from, to).await
    }

    /// A table's tier locations outside its root lie in its namespace's folder of an allowed
    /// place (`<allowed>/<namespace>/…`); renamed into another namespace, they would stay in
    /// the old one's folder, where that namespace's writers could reach them. Such a rename
    /// is refused until those tiers are gone.
    async fn check_tiers_move_with(&self, record: &TableRecord, to: &TableIdent) -> Result<()> {
        let root = Place::parse(&record.location)?;
        let (_, snap) = self.handle_latest(record).await?;
        for tier in &snap.metadata().tiers {
            let Some(location) = &tier.location else {
                continue;
            };
            if !root.contains(&Place::parse(location)?) {
                return Err(Error::Unprocessable(format!(
                    "cannot rename `{}` to `{to}`: its tier `{}` lives at `{location}`, in the \
                     folder of namespace `{}` of an allowed location; move its files to a tier \
                     inside the table's folder and drop that tier first, or rename it within \
                     `{}`",
                    record.ident, tier.name, record.ident.namespace, record.ident.namespace
                )));
            }
        }
        Ok(())
    }

    /// Drops a table; with `purge`, deletes every object under its root and every file its
    /// log references in its tier locations — nothing else.
    pub async fn drop_table(&self, ident: &TableIdent, purge: bool) -> Result<()> {
        let record = self.table_record(ident).await?;
        let mut referenced = Vec::new();
        let root = if purge {
            let root = Place::parse(&record.location)?;
            if !self.confinement.in_warehouse(&root) {
                return Err(Error::BadRequest(format!(
                    "refusing to purge `{ident}`: its location is outside the catalog's warehouse; \
                     drop it without purge and delete its data yourself"
                )));
            }
            self.check_overlap(&root, Some(ident)).await.map_err(|_| {
                Error::BadRequest(format!(
                    "refusing to purge `{ident}`: its folder overlaps another table's; drop it \
                     without purge"
                ))
            })?;
            referenced = self.referenced_elsewhere(&record, &root).await;
            Some(root)
        } else {
            None
        };
        let record = self.store.drop_table(ident).await?;
        self.forget(&record.location);
        if let Some(root) = root {
            let loc = TableLocation::parse(&record.location)?;
            match root.local_path() {
                // A local folder is emptied without following symbolic links: a link inside
                // the table's folder is removed, never what it points to.
                Some(dir) => tokio::task::spawn_blocking(move || remove_tree(&dir))
                    .await
                    .map_err(|e| Error::Config(format!("purge task failed: {e}")))??,
                None => {
                    let store = loc.store().clone();
                    let objects: Vec<_> = store
                        .list(Some(loc.root()))
                        .map_ok(|m| m.location)
                        .try_collect()
                        .await?;
                    for path in objects {
                        delete_quietly(store.as_ref(), &path).await?;
                    }
                }
            }
            let resolver = StoreResolver::new(loc);
            for (path, location) in referenced {
                let (store, key) = resolver.resolve(&path, Some(&location))?;
                delete_quietly(store.as_ref(), &key).await?;
            }
        }
        Ok(())
    }

    /// Files of the table's latest state (active and tombstoned) whose location is outside its
    /// root but in a place purge may delete (its tiers). A log that cannot be read names none.
    async fn referenced_elsewhere(
        &self,
        record: &TableRecord,
        root: &Place,
    ) -> Vec<(String, String)> {
        let Ok((_, snap)) = self.handle_latest(record).await else {
            return Vec::new();
        };
        let state = snap.state_arc();
        let located = state
            .files()
            .values()
            .map(|f| (&f.path, f.location.as_ref()))
            .chain(
                state
                    .tombstones()
                    .values()
                    .map(|r| (&r.path, r.location.as_ref())),
            );
        located
            .filter_map(|(path, location)| {
                let location = location?;
                let place = Place::parse(location).ok()?;
                (!root.contains(&place)
                    && self
                        .confinement
                        .purgeable(&record.ident.namespace, root, &place))
                .then(|| (path.clone(), location.clone()))
            })
            .collect()
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
        let (_, latest) = self.handle_latest(&record).await?;
        Ok(latest
            .tags()
            .iter()
            .map(|(name, version)| TagEntry {
                name: name.clone(),
                version: *version,
            })
            .collect())
    }
}
