//! Engine options: clock, id source, retry policy, commit handler.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;
use strata_format::{Action, IsolationLevel};

/// Source of wall-clock time (injectable for deterministic tests and golden tables).
pub trait Clock: Send + Sync + Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A clock that starts at a fixed time and advances by a fixed step on every reading.
#[derive(Debug)]
pub struct SteppingClock {
    next: AtomicI64,
    step: i64,
}

impl SteppingClock {
    /// Starts at `start_ms`, advancing `step_ms` per reading.
    pub fn new(start_ms: i64, step_ms: i64) -> Self {
        Self {
            next: AtomicI64::new(start_ms),
            step: step_ms,
        }
    }
}

impl Clock for SteppingClock {
    fn now_ms(&self) -> i64 {
        self.next.fetch_add(self.step, Ordering::SeqCst)
    }
}

/// Source of unique ids for transactions and data files.
pub trait IdSource: Send + Sync + Debug {
    /// A new unique id (UUID text form).
    fn next_id(&self) -> String;
}

/// Random UUID v4 ids.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn next_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// Deterministic UUID-shaped ids from a counter (golden tables, reproducible tests).
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl IdSource for SequentialIds {
    fn next_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        uuid::Uuid::from_u64_pair(0x0000_0000_0000_4000, 0x8000_0000_0000_0000 | n).to_string()
    }
}

/// Retry policy of commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Maximum put attempts of one commit (lost races included).
    pub max_attempts: u32,
    /// Maximum consecutive storage failures before giving up (the outcome is then unknown).
    pub max_storage_failures: u32,
    /// Base backoff after a storage failure; doubles each time, with full jitter.
    pub failure_backoff: Duration,
    /// Upper bound of any single backoff.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 1000,
            max_storage_failures: 12,
            failure_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// A validated commit that a [`CommitHandler`] writes instead of the engine.
#[derive(Debug, Clone)]
pub struct PendingCommit {
    /// Table URI.
    pub table: String,
    /// The version the transaction was planned on.
    pub base_version: u64,
    /// Transaction id (a UUID): retrying with it must be idempotent.
    pub txn_id: String,
    /// Operation name.
    pub operation: String,
    /// Operation parameters.
    pub parameters: BTreeMap<String, Value>,
    /// Actions (no `commitInfo`).
    pub actions: Vec<Action>,
    /// Isolation level.
    pub isolation: IsolationLevel,
    /// The outcome depends on the whole table (also set for predicate reads, conservatively).
    pub read_whole_table: bool,
    /// Data files read beyond those removed.
    pub read_files: BTreeSet<String>,
    /// The predicate read, as expression text (SPEC Appendix B grammar), when the outcome
    /// depends on the files matching it rather than on the whole table.
    pub read_predicate: Option<String>,
    /// In-commit timestamp proposed by the writer's clock (ms); the arbiter keeps timestamps
    /// increasing.
    pub timestamp: i64,
    /// Free-form user text.
    pub user_metadata: Option<String>,
    /// Operation metrics.
    pub metrics: BTreeMap<String, i64>,
}

/// Writes commits on the engine's behalf, e.g. a catalog that arbitrates the table's commits.
/// With a handler, [`crate::Transaction::commit`] validates the transaction and hands it over
/// instead of writing the log itself; the handler checks conflicts against commits after the
/// base version (SPEC §8), writes the next version, and returns it. Conflicts come back as
/// [`crate::Error::Conflict`] / [`crate::Error::DuplicateBatch`].
pub trait CommitHandler: Send + Sync + Debug {
    /// Commits `commit`; returns the version it landed at.
    fn commit(&self, commit: PendingCommit) -> BoxFuture<'_, crate::Result<u64>>;
}

/// Options of a [`crate::Table`] handle.
#[derive(Debug, Clone)]
pub struct TableOptions {
    /// Clock for in-commit timestamps.
    pub clock: Arc<dyn Clock>,
    /// Ids for transactions and files.
    pub ids: Arc<dyn IdSource>,
    /// Commit retry policy.
    pub retry: RetryPolicy,
    /// Engine string written to commit infos.
    pub engine: String,
    /// Who writes commits: `None` (the default), the engine itself with put-if-absent.
    pub commit_handler: Option<Arc<dyn CommitHandler>>,
    /// How long the state this handle last read or committed stands for the latest one
    /// (default zero: [`crate::Table::latest`] always asks the store). See
    /// [`TableOptions::with_state_reuse`].
    pub state_reuse: std::time::Duration,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            retry: RetryPolicy::default(),
            engine: concat!("strata-table/", env!("CARGO_PKG_VERSION")).to_string(),
            commit_handler: None,
            state_reuse: std::time::Duration::ZERO,
        }
    }
}

impl TableOptions {
    /// With another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// With another id source.
    pub fn with_ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = ids;
        self
    }

    /// With another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// With commits written by `handler` instead of the engine.
    pub fn with_commit_handler(mut self, handler: Arc<dyn CommitHandler>) -> Self {
        self.commit_handler = Some(handler);
        self
    }

    /// Lets the state this handle read (on open or a refresh) or committed stand for the
    /// latest version for `within`, so that `latest()`, snapshots and transactions reuse it
    /// without a request. Suits a short-lived command, which then works as of its start: on
    /// object stores each refresh is a round trip. Writes stay safe with a state a little
    /// behind: the put of the next version fails when another writer took it, and the commit
    /// reads what it missed and rebases or reports the conflict (SPEC §8).
    ///
    /// The window ends early whenever the handle learns its state may be behind: a commit
    /// that loses the race for its version or is refused (a conflict, a storage failure), and
    /// any commit made through a commit handler. A retry, a re-plan or a read after it asks
    /// the store again, and a version or tag newer than the reused state is looked up in
    /// the store rather than reported missing.
    pub fn with_state_reuse(mut self, within: std::time::Duration) -> Self {
        self.state_reuse = within;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_are_distinct_and_deterministic() {
        let a = SequentialIds::default();
        let b = SequentialIds::default();
        let x: Vec<_> = (0..3).map(|_| a.next_id()).collect();
        let y: Vec<_> = (0..3).map(|_| b.next_id()).collect();
        assert_eq!(x, y);
        assert_ne!(x[0], x[1]);
        assert!(uuid::Uuid::parse_str(&x[2]).is_ok());
    }

    #[test]
    fn stepping_clock_advances() {
        let c = SteppingClock::new(100, 5);
        assert_eq!(c.now_ms(), 100);
        assert_eq!(c.now_ms(), 105);
    }
}
