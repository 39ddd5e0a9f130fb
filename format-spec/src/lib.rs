//! # strata-format
//!
//! The Strata table format: the on-disk types, their JSON wire shapes and validation, and the
//! pure protocol algorithms (log replay, conflict checks, time travel resolution).
//!
//! This crate performs no I/O and depends on no async runtime or object store: engines feed it
//! bytes and decoded actions. `format-spec/SPEC.md` is the normative description of everything
//! defined here.

pub mod actions;
pub mod calendar;
pub mod commit;
pub mod compact;
pub mod compaction;
pub mod conflict;
pub mod datum;
pub mod diff;
pub mod dv;
pub mod error;
pub mod evolution;
pub mod expr;
pub mod file_stats;
pub mod location;
pub mod log;
pub mod maintenance;
pub mod partition;
pub mod path_map;
pub mod protocol;
pub mod prune;
pub mod retention;
pub mod schema;
pub mod state;
pub mod testing;
pub mod tiering;
pub mod transform;
pub mod typed_checkpoint;

pub use actions::{
    Action, AddFile, AppTransaction, ColumnStats, CommitInfo, IsolationLevel, Metadata, Protocol,
    Relocate, RemoveFile, RestoreState, Tag, TierDef, Untag,
};
pub use error::{FormatError, Result};
pub use file_stats::{FileStats, StatValue};
pub use log::{Commit, LastCheckpoint};
pub use partition::{PartitionField, PartitionSpec, Transform};
pub use path_map::PathMap;
pub use schema::{DataType, FieldId, PrimitiveType, Schema, StructField};
pub use state::TableState;

/// Version of the format this crate implements (SPEC §12).
pub const FORMAT_VERSION: u32 = 1;
