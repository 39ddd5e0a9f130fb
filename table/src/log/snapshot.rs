//! Snapshots: the read-only state of a table at one version.

use std::collections::BTreeMap;
use std::sync::Arc;

use strata_format::{AddFile, AppTransaction, CommitInfo, Metadata, Protocol, Schema, TableState};

/// Which version of a table to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SnapshotSelector {
    /// The newest version.
    #[default]
    Latest,
    /// A version number.
    Version(u64),
    /// The latest version whose in-commit timestamp is at or before this time (ms since epoch).
    Timestamp(i64),
    /// The version a tag points at.
    Tag(String),
}

/// The state of a table at one version. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Snapshot {
    state: Arc<TableState>,
    table_uri: Arc<str>,
}

impl Snapshot {
    pub(crate) fn new(state: Arc<TableState>, table_uri: Arc<str>) -> Self {
        Self { state, table_uri }
    }

    /// The version.
    pub fn version(&self) -> u64 {
        self.state.version()
    }
    /// In-commit timestamp of the version, ms since epoch.
    pub fn timestamp(&self) -> i64 {
        self.state.timestamp()
    }
    /// Commit info of the version.
    pub fn commit_info(&self) -> &CommitInfo {
        self.state.commit_info()
    }
    /// Metadata.
    pub fn metadata(&self) -> &Metadata {
        self.state.metadata()
    }
    /// Schema.
    pub fn schema(&self) -> &Schema {
        &self.state.metadata().schema
    }
    /// Protocol.
    pub fn protocol(&self) -> &Protocol {
        self.state.protocol()
    }
    /// Active data files by logical path (locations resolved as of the newest version).
    pub fn files(&self) -> &strata_format::PathMap<AddFile> {
        self.state.files()
    }
    /// Tags by name (as of this version).
    pub fn tags(&self) -> &BTreeMap<String, u64> {
        self.state.tags()
    }
    /// Last committed batch per application.
    pub fn app_transactions(&self) -> &BTreeMap<String, AppTransaction> {
        self.state.app_transactions()
    }
    /// Total rows.
    pub fn record_count(&self) -> u64 {
        self.state.record_count()
    }
    /// Total bytes of data files.
    pub fn size_in_bytes(&self) -> u64 {
        self.state.size_in_bytes()
    }
    /// The underlying replayed state.
    pub fn state(&self) -> &TableState {
        &self.state
    }
    /// The shared state of this snapshot.
    pub fn state_arc(&self) -> &Arc<TableState> {
        &self.state
    }
    /// The table URI.
    pub fn table_uri(&self) -> &str {
        &self.table_uri
    }

    /// Physical URI of a data file (SPEC §6.2): its `location`, or the table root joined with
    /// its logical path.
    pub fn physical_location(&self, file: &AddFile) -> String {
        match &file.location {
            Some(l) => l.clone(),
            None => strata_format::location::location_uri(&self.table_uri, &file.path),
        }
    }
}
