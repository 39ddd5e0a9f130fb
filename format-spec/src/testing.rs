//! Small builders for tests of this crate and of the engines built on it.
//!
//! Not part of the format; kept public so that every crate's tests share one set of fixtures.

pub mod fuzz;

use std::collections::BTreeMap;

use crate::actions::{Action, AddFile, CommitInfo, Metadata, Protocol, RemoveFile};
use crate::log::Commit;
use crate::partition::PartitionSpec;
use crate::schema::{PrimitiveType, Schema, StructField};

/// A two-column schema: `id int64 required`, `name string`.
pub fn sample_schema() -> Schema {
    Schema::new_unchecked(
        0,
        vec![
            StructField::required(1, "id", PrimitiveType::Int64),
            StructField::optional(2, "name", PrimitiveType::String),
        ],
    )
}

/// Metadata of an unpartitioned table with [`sample_schema`].
pub fn sample_metadata() -> Metadata {
    Metadata {
        table_id: "00000000-0000-4000-8000-000000000000".into(),
        name: None,
        description: None,
        created_time: 1_700_000_000_000,
        schema: sample_schema(),
        partition_specs: vec![PartitionSpec::unpartitioned()],
        default_spec_id: 0,
        last_column_id: 2,
        last_partition_id: 999,
        properties: BTreeMap::new(),
        tiers: Vec::new(),
        default_tier: None,
        policies: Vec::new(),
    }
}

/// A commit info with the given timestamp and operation.
pub fn commit_info(timestamp: i64, operation: &str) -> CommitInfo {
    CommitInfo {
        timestamp,
        txn_id: format!("txn-{timestamp}"),
        operation: operation.into(),
        operation_parameters: BTreeMap::new(),
        engine: "strata-format-tests".into(),
        read_version: None,
        isolation_level: None,
        is_blind_append: operation == "APPEND",
        action_count: 0,
        user_metadata: None,
        operation_metrics: BTreeMap::new(),
    }
}

/// An add of `path` with `rows` rows in the default tier.
pub fn add(path: &str, rows: u64) -> Action {
    Action::Add(Box::new(add_file(path, rows)))
}

/// The file of [`add`].
pub fn add_file(path: &str, rows: u64) -> AddFile {
    AddFile {
        path: path.into(),
        size: rows * 10,
        record_count: rows,
        modification_time: 0,
        data_change: true,
        spec_id: 0,
        schema_id: Some(0),
        partition_values: BTreeMap::new(),
        stats: crate::FileStats::new(),
        tier: "hot".into(),
        location: None,
        storage_class: None,
        restore: None,
        deletion_vector: None,
    }
}

/// A remove of `path`.
pub fn remove(path: &str) -> Action {
    Action::Remove(RemoveFile {
        path: path.into(),
        deletion_timestamp: 0,
        data_change: true,
        size: None,
        record_count: None,
        tier: None,
        location: None,
        storage_class: None,
        restore: None,
        deletion_vector: None,
    })
}

/// A commit of `version` at `timestamp` ms.
pub fn commit(version: u64, timestamp: i64, operation: &str, actions: Vec<Action>) -> Commit {
    let mut info = commit_info(timestamp, operation);
    info.action_count = actions.len() as u64;
    Commit {
        version,
        info,
        actions,
    }
}

/// The first commit of a sample table.
pub fn create_commit() -> Commit {
    commit(
        0,
        1_700_000_000_000,
        "CREATE TABLE",
        vec![
            Action::Protocol(Protocol::default()),
            Action::Metadata(Box::new(sample_metadata())),
        ],
    )
}
