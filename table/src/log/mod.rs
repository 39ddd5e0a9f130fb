//! The transaction log: the log store, commits and their conflicts, checkpoints, snapshots,
//! and the commits that change only metadata or history (evolution, restore).

pub(crate) mod checkpoint;
pub(crate) mod commit_log;
pub(crate) mod evolution;
pub(crate) mod log_store;
pub(crate) mod restore;
pub(crate) mod snapshot;
pub(crate) mod transaction;
