//! # strata-table
//!
//! The Strata engine: the storage seam (any `object_store` backend), the transaction log,
//! optimistic commits with conflict checks, snapshots, checkpoints and time travel.
//!
//! Protocol logic (replay, conflict rules) lives in `strata-format` as pure functions; this
//! crate adds the I/O around it.
//!
//! ```no_run
//! # async fn demo() -> strata_table::Result<()> {
//! use strata_table::{CreateTable, SnapshotSelector, Table};
//! use strata_format::testing::sample_schema;
//! let table = Table::create("memory://demo/events", CreateTable::new(sample_schema())).await?;
//! let v0 = table.snapshot(&SnapshotSelector::Version(0)).await?;
//! assert_eq!(v0.version(), 0);
//! # Ok(()) }
//! ```

pub mod arrow_schema;
mod error;
pub mod expr_eval;
pub mod ingest;
mod log;
mod maintain;
mod options;
pub mod partitioning;
mod rows;
mod scan;
mod storage;
mod table;
mod tier;
mod write;

pub use scan::read;
pub use write::schema_merge::schema_from_arrow;
pub use write::writer;

pub use error::{Error, Result};
pub use log::commit_log::{Attempt, CommitLog, Landed, Scan as LogScan};
pub use log::snapshot::{Snapshot, SnapshotSelector};
pub use log::transaction::{CommitResult, FilePredicate, Transaction};
pub use maintain::expire::{ExpireOptions, ExpireReport};
pub use maintain::optimize::{OptimizeBin, OptimizeOptions, OptimizeReport};
pub use maintain::scheduled::{MaintainOptions, MaintenanceReport, Step, TierSummary};
pub use maintain::vacuum::{
    VacuumOptions, VacuumProgress, VacuumProgressHook, VacuumReason, VacuumReport, VacuumedObject,
};
pub use options::{
    Clock, CommitHandler, IdSource, PendingCommit, RandomIds, RetryPolicy, SequentialIds,
    SteppingClock, SystemClock, TableOptions,
};
pub use rows::delete::{DeleteMode, DeleteOptions, read_predicate};
pub use rows::merge::{Merge, MergeResult, WhenMatched, WhenNotMatched, WhenNotMatchedBySource};
pub use rows::rewrite::{RewriteResult, RowMapper, RowMatcher, RowRewrite};
pub use scan::{
    DEFAULT_FOOTER_CACHE_BYTES, FooterCache, FooterCacheStats, OnArchived, Scan, ScanBuilder,
    ScanMetrics, ScanReport, UNIT_MIN_ROWS,
};
pub use storage::aws::{CredentialsUnavailable, set_profile as set_aws_profile};
pub use storage::resolve::StoreResolver;
pub use storage::{
    FsEvent, FsEventHook, LocalStore, StorageProblem, TableLocation, UNSAFE_NO_FSYNC_VAR,
    diagnose as diagnose_storage, memory_store,
};
pub use strata_format::evolution::{Position, SchemaChange};
pub use table::{
    CreateTable, DEFAULT_CHECKPOINT_INTERVAL, HistoryEntry, PROP_CHECKPOINT_INTERVAL,
    PROP_ISOLATION_LEVEL, SMALL_TABLE_CHECKPOINT_INTERVAL, Table,
};
pub use tier::{
    MoveOptions, MoveReport, MoveStep, MovedFile, RestoreOptions, RestoreReport, RestoreSpeed,
    RestoredFile, TierPlan,
};
pub use write::{WriteMode, WriteOptions};

pub use strata_format as format;
