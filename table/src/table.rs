//! The table handle: creating, opening, loading snapshots, time travel, history, tags.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use strata_format::actions::{Tag, Untag};
use strata_format::log::Commit;
use strata_format::{Action, CommitInfo, Metadata, PartitionSpec, Protocol, Schema, TableState};
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::log::commit_log::CommitLog;
use crate::log::log_store::LogStore;
use crate::log::snapshot::{Snapshot, SnapshotSelector};
use crate::log::transaction::{CommitResult, Transaction};
use crate::options::TableOptions;
use crate::storage::TableLocation;

mod latest;
mod time_travel;

use latest::Cached;

pub use strata_format::log::{
    DEFAULT_CHECKPOINT_INTERVAL, PROP_CHECKPOINT_INTERVAL, SMALL_TABLE_CHECKPOINT_INTERVAL,
};
/// Table property: default isolation level.
pub const PROP_ISOLATION_LEVEL: &str = strata_format::commit::PROP_ISOLATION_LEVEL;

/// What to create.
#[derive(Debug, Clone)]
pub struct CreateTable {
    /// Schema (field ids assigned by the caller).
    pub schema: Schema,
    /// Partition spec (default: unpartitioned).
    pub partition_spec: PartitionSpec,
    /// Table properties.
    pub properties: BTreeMap<String, String>,
    /// Optional name.
    pub name: Option<String>,
    /// Optional description.
    pub description: Option<String>,
    /// Whether the table lists the `deletionVectors` feature (default true; also false when
    /// the property `strata.deletionVectors` is `false`), SPEC §7.
    pub deletion_vectors: bool,
    /// Whether the table lists the `typedCheckpoints` feature (default true; also false when
    /// the property `strata.typedCheckpoints` is `false`), SPEC §10.2.2.
    pub typed_checkpoints: bool,
}

impl CreateTable {
    /// An unpartitioned table with this schema.
    pub fn new(schema: Schema) -> Self {
        Self {
            schema,
            partition_spec: PartitionSpec::unpartitioned(),
            properties: BTreeMap::new(),
            name: None,
            description: None,
            deletion_vectors: true,
            typed_checkpoints: true,
        }
    }

    /// With or without the `typedCheckpoints` feature (SPEC §10.2.2). Without it, checkpoints
    /// hold every action as a JSON line, readable by implementations without the feature.
    pub fn with_typed_checkpoints(mut self, yes: bool) -> Self {
        self.typed_checkpoints = yes;
        self
    }

    /// With or without the `deletionVectors` feature (SPEC §7). Without it, the table can be
    /// read and written by implementations of the format without deletion vectors; deletes
    /// rewrite files.
    pub fn with_deletion_vectors(mut self, yes: bool) -> Self {
        self.deletion_vectors = yes;
        self
    }

    /// With a partition spec.
    pub fn with_partition_spec(mut self, spec: PartitionSpec) -> Self {
        self.partition_spec = spec;
        self
    }

    /// With a property.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }
}

/// One entry of a table's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// Version.
    pub version: u64,
    /// Commit info.
    pub info: CommitInfo,
    /// Data files added.
    pub files_added: u64,
    /// Data files removed.
    pub files_removed: u64,
    /// Rows added.
    pub rows_added: u64,
    /// Rows removed.
    pub rows_removed: u64,
    /// Bytes added.
    pub bytes_added: u64,
    /// Bytes removed.
    pub bytes_removed: u64,
    /// Files relocated between tiers.
    pub files_relocated: u64,
}

impl HistoryEntry {
    fn from_commit(c: &Commit) -> Self {
        let mut e = HistoryEntry {
            version: c.version,
            info: c.info.clone(),
            files_added: 0,
            files_removed: 0,
            rows_added: 0,
            rows_removed: 0,
            bytes_added: 0,
            bytes_removed: 0,
            files_relocated: 0,
        };
        // A replacement (SPEC §7.4) is no file added or removed: only the rows its new
        // vector deletes beyond the old one (restores may undelete: rows added).
        let replaced = strata_format::conflict::replaced_paths(&c.actions);
        let marked = |d: &Option<strata_format::actions::DeletionVectorDescriptor>| {
            d.as_ref().map_or(0, |d| d.cardinality)
        };
        let mut before: BTreeMap<&str, u64> = BTreeMap::new();
        for a in &c.actions {
            match a {
                Action::Remove(r) if replaced.contains(r.path.as_str()) => {
                    before.insert(r.path.as_str(), marked(&r.deletion_vector));
                }
                Action::Add(add) if replaced.contains(add.path.as_str()) => {
                    let old = before.get(add.path.as_str()).copied().unwrap_or(0);
                    let new = marked(&add.deletion_vector);
                    e.rows_removed += new.saturating_sub(old);
                    e.rows_added += old.saturating_sub(new);
                }
                Action::Add(add) => {
                    e.files_added += 1;
                    e.rows_added += strata_format::dv::live_rows(add);
                    e.bytes_added += add.size;
                }
                Action::Remove(r) => {
                    e.files_removed += 1;
                    e.rows_removed += r
                        .record_count
                        .unwrap_or(0)
                        .saturating_sub(marked(&r.deletion_vector));
                    e.bytes_removed += r.size.unwrap_or(0);
                }
                Action::Relocate(_) => e.files_relocated += 1,
                _ => {}
            }
        }
        e
    }
}

pub(crate) struct Inner {
    pub(crate) log: LogStore,
    pub(crate) options: TableOptions,
    pub(crate) uri: Arc<str>,
    latest: Mutex<Option<Cached>>,
}

/// A handle on a table. Cheap to clone; keeps the latest state cached and refreshes it
/// incrementally (one LIST plus the new commits).
#[derive(Clone)]
pub struct Table {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("uri", &self.inner.uri)
            .finish()
    }
}

impl Table {
    fn handle(location: TableLocation, options: TableOptions) -> Self {
        let uri: Arc<str> = Arc::from(location.uri());
        Self {
            inner: Arc::new(Inner {
                log: LogStore::new(location),
                options,
                uri,
                latest: Mutex::new(None),
            }),
        }
    }

    /// Opens the table at `uri` (see [`TableLocation::parse`]).
    pub async fn open(uri: &str) -> Result<Self> {
        Self::open_with(TableLocation::parse(uri)?, TableOptions::default()).await
    }

    /// Opens a table at a location with options; fails if there is no table.
    pub async fn open_with(location: TableLocation, options: TableOptions) -> Result<Self> {
        let t = Self::handle(location, options);
        t.latest().await?;
        Ok(t)
    }

    /// Creates a table at `uri`.
    pub async fn create(uri: &str, create: CreateTable) -> Result<Self> {
        Self::create_with(TableLocation::parse(uri)?, create, TableOptions::default()).await
    }

    /// Creates a table at a location: commits version 0 with put-if-absent.
    pub async fn create_with(
        location: TableLocation,
        create: CreateTable,
        options: TableOptions,
    ) -> Result<Self> {
        let t = Self::handle(location, options);
        let now = t.inner.options.clock.now_ms();
        let spec = create.partition_spec;
        let metadata = Metadata {
            table_id: t.inner.options.ids.next_id(),
            name: create.name,
            description: create.description,
            created_time: now,
            last_column_id: create.schema.max_field_id(),
            last_partition_id: spec
                .fields
                .iter()
                .map(|f| f.field_id)
                .max()
                .unwrap_or(strata_format::partition::FIRST_PARTITION_FIELD_ID - 1),
            default_spec_id: spec.spec_id,
            partition_specs: vec![spec],
            schema: create.schema,
            properties: create.properties,
            tiers: Vec::new(),
            default_tier: None,
            policies: Vec::new(),
        };
        metadata.validate()?;
        // New tables use deletion vectors unless created with `strata.deletionVectors=false`.
        let mut protocol = Protocol::default();
        if create.deletion_vectors
            && metadata
                .properties
                .get(strata_format::dv::PROP_DELETION_VECTORS)
                .is_none_or(|v| v != "false")
        {
            protocol
                .reader_features
                .push(strata_format::dv::FEATURE.into());
            protocol
                .writer_features
                .push(strata_format::dv::FEATURE.into());
        }
        // ... and typed checkpoints unless created with `strata.typedCheckpoints=false`.
        if create.typed_checkpoints
            && metadata
                .properties
                .get(strata_format::typed_checkpoint::PROP_TYPED_CHECKPOINTS)
                .is_none_or(|v| v != "false")
        {
            let feature = strata_format::typed_checkpoint::FEATURE;
            protocol.reader_features.push(feature.into());
            protocol.writer_features.push(feature.into());
        }
        let actions = vec![
            Action::Protocol(protocol),
            Action::Metadata(Box::new(metadata)),
        ];
        let info = t.commit_info("CREATE TABLE", now, None, BTreeMap::new());
        let commit = Commit {
            version: 0,
            info,
            actions,
        };
        t.commit_log().create(&commit).await?;
        Ok(t)
    }

    pub(crate) fn commit_info(
        &self,
        operation: &str,
        timestamp: i64,
        read_version: Option<u64>,
        parameters: BTreeMap<String, Value>,
    ) -> CommitInfo {
        CommitInfo {
            timestamp,
            txn_id: self.inner.options.ids.next_id(),
            operation: operation.to_string(),
            operation_parameters: parameters,
            engine: self.inner.options.engine.clone(),
            read_version,
            isolation_level: None,
            is_blind_append: false,
            action_count: 0,
            user_metadata: None,
            operation_metrics: BTreeMap::new(),
        }
    }

    /// The table URI.
    pub fn uri(&self) -> &str {
        &self.inner.uri
    }

    /// The table's commit log: the one path by which commits reach it.
    pub fn commit_log(&self) -> CommitLog {
        CommitLog::new(self.clone())
    }

    /// The table's location.
    pub fn location(&self) -> &TableLocation {
        self.inner.log.location()
    }

    pub(crate) fn snapshot_of(&self, state: Arc<TableState>) -> Snapshot {
        Snapshot::new(state, self.inner.uri.clone())
    }

    /// Refreshes and returns the latest snapshot.
    pub async fn latest(&self) -> Result<Snapshot> {
        Ok(self.snapshot_of(self.load_latest().await?))
    }

    /// The snapshot a selector designates.
    pub async fn snapshot(&self, selector: &SnapshotSelector) -> Result<Snapshot> {
        match selector {
            SnapshotSelector::Latest => self.latest().await,
            SnapshotSelector::Version(v) => self.snapshot_at_version(*v).await,
            SnapshotSelector::Timestamp(t) => self.snapshot_at_timestamp(*t).await,
            SnapshotSelector::Tag(name) => {
                let mut latest = self.latest().await?;
                if !latest.tags().contains_key(name) && !self.inner.options.state_reuse.is_zero() {
                    // The tag may be newer than a reused state: ask the store.
                    self.distrust_cached().await;
                    latest = self.latest().await?;
                }
                let v = *latest.tags().get(name).ok_or_else(|| Error::TagNotFound {
                    table: self.uri().to_string(),
                    name: name.clone(),
                    known: if latest.tags().is_empty() {
                        "none".into()
                    } else {
                        latest.tags().keys().cloned().collect::<Vec<_>>().join(", ")
                    },
                })?;
                self.snapshot_at_version(v).await
            }
        }
    }

    pub(crate) fn checkpoint_interval(&self, state: &TableState) -> u64 {
        strata_format::log::checkpoint_interval(
            state
                .metadata()
                .properties
                .get(PROP_CHECKPOINT_INTERVAL)
                .map(String::as_str),
            state.files().len(),
        )
    }

    /// Whether the checkpoint of `version` exists (an arbiter checks it before accepting an
    /// expiry to that version, SPEC §11.5).
    pub async fn checkpoint_exists(&self, version: u64) -> Result<bool> {
        self.inner.log.checkpoint_exists(version).await
    }

    /// The newest `limit` history entries, newest first.
    pub async fn history(&self, limit: Option<usize>) -> Result<Vec<HistoryEntry>> {
        let latest = self.load_latest().await?;
        let last = latest.version();
        let count = limit.map_or(last + 1, |l| (l as u64).min(last + 1));
        if count == 0 {
            return Ok(Vec::new());
        }
        let oldest = strata_format::retention::oldest_version(latest.metadata());
        let first = (last + 1 - count).max(oldest);
        let commits = self.inner.log.read_commits(first, last).await?;
        Ok(commits
            .iter()
            .rev()
            .map(HistoryEntry::from_commit)
            .collect())
    }

    /// Starts a transaction on the latest snapshot.
    pub async fn transaction(&self) -> Result<Transaction> {
        Ok(Transaction::new(self.clone(), self.latest().await?))
    }

    /// Creates tag `name` pointing at `version`.
    pub async fn create_tag(&self, name: &str, version: u64) -> Result<CommitResult> {
        let txn = self.transaction().await?;
        if txn.base().tags().contains_key(name) {
            return Err(Error::InvalidOperation {
                table: self.uri().to_string(),
                message: format!("tag `{name}` already exists; delete it first"),
            });
        }
        if version > txn.base().version() {
            return Err(Error::VersionNotFound {
                table: self.uri().to_string(),
                version,
                latest: txn.base().version(),
            });
        }
        self.check_retained(version, txn.base().state())?;
        txn.operation("TAG")
            .parameter("name", name)
            .parameter("version", version)
            .action(Action::Tag(Tag {
                name: name.to_string(),
                version,
            }))
            .commit()
            .await
    }

    /// Deletes tag `name`.
    pub async fn delete_tag(&self, name: &str) -> Result<CommitResult> {
        let txn = self.transaction().await?;
        if !txn.base().tags().contains_key(name) {
            return Err(Error::TagNotFound {
                table: self.uri().to_string(),
                name: name.to_string(),
                known: txn
                    .base()
                    .tags()
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        txn.operation("UNTAG")
            .parameter("name", name)
            .action(Action::Untag(Untag {
                name: name.to_string(),
            }))
            .commit()
            .await
    }

    /// Undoes a creation: deletes the table when its log holds nothing but version 0 (no data,
    /// no later commit), e.g. when loading a just-created table failed. Refused otherwise,
    /// naming the latest version. Data files are never touched (version 0 has none).
    pub async fn discard_new(&self) -> Result<()> {
        let listing = self.inner.log.list(None).await?;
        if listing.commits != [0] || !listing.checkpoints.is_empty() {
            return Err(Error::InvalidOperation {
                table: self.uri().to_string(),
                message: format!(
                    "only a table at version 0 can be discarded; this one is at version {}",
                    listing.commits.last().copied().unwrap_or_default()
                ),
            });
        }
        let path = self.inner.log.commit_path(0);
        match object_store::ObjectStoreExt::delete(self.location().store().as_ref(), &path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.inner.log.storage_err(&path, e)),
        }
    }

    /// Writes a checkpoint of the latest version (if none exists yet) and returns its version.
    pub async fn checkpoint(&self) -> Result<u64> {
        let latest = self.load_latest().await?;
        self.inner.log.write_checkpoint(&latest).await?;
        Ok(latest.version())
    }
}
