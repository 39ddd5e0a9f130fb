//! Golden tables: small tables written by this version, checked in under
//! `conformance-tests/golden/` with their checksums and the description of how they read, which
//! every later version must keep reading identically (SPEC §12.4).
//!
//! * [`generate`] writes the tables deterministically (stepping clock, sequential ids), so a run
//!   of the same version writes the same bytes.
//! * [`describe`] is the canonical JSON description of how a table reads: every version, its
//!   schema, specs, properties, tags, application transactions, files with their resolved
//!   physical locations and statistics, the history, and time travel by timestamp and tag.
//! * [`write_golden`] generates the tables and writes each one's `expected.json` (its
//!   description) and `CHECKSUMS` (sha256 of every file).
//! * [`verify`] checks the checked-in files against `CHECKSUMS` and the reads against
//!   `expected.json`.
//!
//! The tables are log-only: `add` actions name data files (e.g. `data/part-00000.parquet`) that
//! are not written: the golden tables pin the log, checkpoints and their reading.

mod describe;
mod generate;
mod generate_escaped_restored;
mod generate_typed;
mod verify;

#[allow(unused_imports)]
use describe::*;
pub use describe::{describe, describe_all, describe_table};
#[allow(unused_imports)]
use generate::*;
pub use generate::{generate, write_golden};
#[allow(unused_imports)]
use generate_escaped_restored::*;
#[allow(unused_imports)]
use generate_typed::*;
pub use verify::*;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use strata_format::partition::{PartitionField, PartitionSpec, Transform};
use strata_format::schema::{
    DataType, ListType, MapType, PrimitiveType, Schema, StructField, StructType,
};
use strata_format::{
    Action, AddFile, ColumnStats, CommitInfo, Metadata, Relocate, RemoveFile, TierDef,
};
use strata_table::{
    CreateTable, HistoryEntry, PROP_CHECKPOINT_INTERVAL, SequentialIds, Snapshot, SnapshotSelector,
    SteppingClock, Table, TableLocation, TableOptions,
};

/// Error type of the generator and of [`describe`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Names of the golden tables, each a directory under the golden directory.
pub const GOLDEN_TABLES: &[&str] = &[
    "basic",
    "checkpointed",
    "evolved",
    "relocated",
    "restored",
    "escaped",
    "vectors",
    "typed",
    "checksummed",
];
/// Golden tables whose checked-in bytes an earlier version of the generator wrote, with what
/// changed since: they must still read identically, but the generator no longer reproduces
/// them byte for byte.
pub const WRITTEN_BY_EARLIER_VERSIONS: &[(&str, &str)] = &[
    (
        "evolved",
        "RESTORE writes the restored schema on the current lineage since 2026-12-03 (SPEC §8.5); \
         the checked-in version 5 re-committed the old metadata as it was",
    ),
    (
        "checkpointed",
        "its Parquet checkpoints were encoded by parquet-rs 60; the workspace moved to parquet-rs \
         59 (DataFusion's version) on 2026-12-03, whose encoder writes other bytes (its \
         `created_by` among them) for the same checkpoint content",
    ),
    (
        "vectors",
        "its checkpoint was written before checkpoints carried their checksum (SPEC §10.2.5, \
         2026-12-07): it reads the same without one",
    ),
    (
        "typed",
        "its checkpoints were written before checkpoints carried their checksum (SPEC §10.2.5, \
         2026-12-07); `checksummed` is the same table with them",
    ),
];
/// Name of the checksum file in each golden table directory.
pub const CHECKSUMS_FILE: &str = "CHECKSUMS";
/// Name of the expected description in each golden table directory.
pub const EXPECTED_FILE: &str = "expected.json";
/// What the table URI is replaced with in resolved physical locations.
pub const ROOT_PLACEHOLDER: &str = "<root>";

/// First reading of the generator's clock (2023-11-14T22:13:20Z).
const START_MS: i64 = 1_700_000_000_000;
/// Step of the generator's clock per reading.
const STEP_MS: i64 = 1000;
/// Microseconds per day (timestamps in statistics are microseconds).
const DAY_US: i64 = 86_400_000_000;
/// 2023-11-14 as days since the epoch.
const DAY0: i64 = 19_675;
/// Absolute base URI of the `cold` tier of the `relocated` table.
const COLD_TIER: &str = "memory://cold-tier/relocated";
/// Absolute base URI of the `warm` tier of the `relocated` table.
const WARM_TIER: &str = "s3://golden-warm-tier/relocated";
/// Absolute base URI of the `cold` tier of the `escaped` table.
const ESCAPED_COLD_TIER: &str = "s3://golden-cold-tier/escaped";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_names_the_json_path() {
        let e = json!({"a": [1, {"b.c": 2}], "d": 1});
        assert_eq!(first_difference(&e, &e), None);
        let a = json!({"a": [1, {"b.c": 3}], "d": 1});
        assert_eq!(
            first_difference(&e, &a).unwrap(),
            "$.a[1][\"b.c\"]: expected 2, read 3"
        );
        let a = json!({"a": [1], "d": 1});
        assert!(
            first_difference(&e, &a)
                .unwrap()
                .starts_with("$.a[1]: expected")
        );
        let a = json!({"a": [1, {"b.c": 2}], "d": 1, "x": true});
        assert_eq!(
            first_difference(&e, &a).unwrap(),
            "$.x: expected nothing, read true"
        );
    }

    #[test]
    fn locations_lose_the_machine_specific_root() {
        let root = "file:///srv/golden/basic";
        assert_eq!(
            machine_independent("file:///srv/golden/basic/data/a.parquet", root),
            "<root>/data/a.parquet"
        );
        assert_eq!(machine_independent(root, root), "<root>");
        assert_eq!(
            machine_independent("file:///srv/golden/basic2/x", root),
            "file:///srv/golden/basic2/x"
        );
        assert_eq!(machine_independent("memory://c/x", root), "memory://c/x");
    }
}
