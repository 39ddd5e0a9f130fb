//! Transactions and the optimistic commit loop (SPEC §8).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use strata_format::conflict::{self, ReadPredicate, ReadSet, Rejection};
use strata_format::log::{Commit, encode_commit};
use strata_format::protocol::check_writable;
use strata_format::{Action, AddFile, AppTransaction, IsolationLevel, RemoveFile, TableState};

use crate::error::{Error, Result};
use crate::log_store::PutOutcome;
use crate::options::PendingCommit;
use crate::snapshot::Snapshot;
use crate::table::{PROP_ISOLATION_LEVEL, Table};

/// Predicate over data files deciding whether a concurrently added file could match what the
/// transaction read.
pub type FilePredicate = Arc<dyn Fn(&AddFile) -> bool + Send + Sync>;

/// What a successful commit produced.
#[derive(Debug, Clone)]
pub struct CommitResult {
    /// The version committed.
    pub version: u64,
    /// Put attempts it took (1 without contention).
    pub attempts: u32,
    /// The transaction id (in the commit info).
    pub txn_id: String,
    /// The table right after the commit.
    pub snapshot: Snapshot,
}

#[derive(Clone, Default)]
enum ReadScope {
    #[default]
    Nothing,
    All,
    Matching(FilePredicate),
}

/// A pending change to a table, built on a base snapshot and committed atomically.
#[must_use = "a transaction does nothing until committed"]
pub struct Transaction {
    table: Table,
    base: Snapshot,
    operation: String,
    parameters: BTreeMap<String, Value>,
    actions: Vec<Action>,
    read: ReadScope,
    read_files: BTreeSet<String>,
    isolation: Option<IsolationLevel>,
    user_metadata: Option<String>,
    metrics: BTreeMap<String, i64>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("table", &self.table.uri())
            .field("base_version", &self.base.version())
            .field("operation", &self.operation)
            .field("actions", &self.actions.len())
            .finish()
    }
}

impl Transaction {
    pub(crate) fn new(table: Table, base: Snapshot) -> Self {
        Self {
            table,
            base,
            operation: "WRITE".into(),
            parameters: BTreeMap::new(),
            actions: Vec::new(),
            read: ReadScope::Nothing,
            read_files: BTreeSet::new(),
            isolation: None,
            user_metadata: None,
            metrics: BTreeMap::new(),
        }
    }

    /// The snapshot the transaction reads.
    pub fn base(&self) -> &Snapshot {
        &self.base
    }

    /// Sets the operation name recorded in the commit info.
    pub fn operation(mut self, name: impl Into<String>) -> Self {
        self.operation = name.into();
        self
    }

    /// Records an operation parameter.
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.parameters.insert(key.into(), value.into());
        self
    }

    /// Records an operation metric.
    pub fn metric(mut self, key: impl Into<String>, value: i64) -> Self {
        self.metrics.insert(key.into(), value);
        self
    }

    /// Adds an action.
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    /// Adds actions.
    pub fn actions(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        self.actions.extend(actions);
        self
    }

    /// Adds a data file.
    pub fn add_file(self, file: AddFile) -> Self {
        self.action(Action::Add(Box::new(file)))
    }

    /// Removes an active data file of the base snapshot (its facts are copied into the remove).
    pub fn remove_file(mut self, path: &str) -> Result<Self> {
        let add = self
            .base
            .files()
            .get(path)
            .ok_or_else(|| Error::InvalidOperation {
                table: self.table.uri().to_string(),
                message: format!(
                    "cannot remove `{path}`: it is not in version {}",
                    self.base.version()
                ),
            })?;
        let remove = RemoveFile {
            path: path.to_string(),
            deletion_timestamp: self.table.inner.options.clock.now_ms(),
            data_change: true,
            size: Some(add.size),
            record_count: Some(add.record_count),
            tier: Some(add.tier.clone()),
            location: add.location.clone(),
            storage_class: add.storage_class.clone(),
            restore: add.restore,
        };
        self.actions.push(Action::Remove(remove));
        Ok(self)
    }

    /// Declares that the outcome depends on the whole table (e.g. a full overwrite).
    pub fn read_whole_table(mut self) -> Self {
        self.read = ReadScope::All;
        self
    }

    /// Declares that the outcome depends on files matching `predicate`.
    pub fn read_matching(mut self, predicate: FilePredicate) -> Self {
        self.read = ReadScope::Matching(predicate);
        self
    }

    /// Declares that the outcome depends on a data file that it does not remove.
    pub fn read_file(mut self, path: impl Into<String>) -> Self {
        self.read_files.insert(path.into());
        self
    }

    /// Sets the isolation level (default: the table property, else WriteSerializable).
    pub fn isolation(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// Records free-form user text.
    pub fn user_metadata(mut self, text: impl Into<String>) -> Self {
        self.user_metadata = Some(text.into());
        self
    }

    /// Exactly-once ingestion: commit as batch `batch` of application `app_id`. The commit is
    /// refused with [`Error::DuplicateBatch`] when that batch (or a later one) was committed.
    pub fn app_transaction(mut self, app_id: impl Into<String>, batch: u64) -> Self {
        let now = self.table.inner.options.clock.now_ms();
        self.actions.push(Action::Txn(AppTransaction {
            app_id: app_id.into(),
            version: batch,
            last_updated: Some(now),
        }));
        self
    }

    fn is_blind_append(&self) -> bool {
        matches!(self.read, ReadScope::Nothing)
            && self.read_files.is_empty()
            && self
                .actions
                .iter()
                .all(|a| matches!(a, Action::Add(_) | Action::Txn(_)))
            && self.actions.iter().any(|a| matches!(a, Action::Add(_)))
    }

    fn isolation_level(&self) -> IsolationLevel {
        self.isolation.unwrap_or_else(|| {
            match self
                .base
                .metadata()
                .properties
                .get(PROP_ISOLATION_LEVEL)
                .map(String::as_str)
            {
                Some("Serializable") => IsolationLevel::Serializable,
                _ => IsolationLevel::WriteSerializable,
            }
        })
    }

    /// Commits: put-if-absent of the next version; on a lost race, checks the winners for
    /// conflicts and retries on top of them; on an ambiguous storage failure, looks for its own
    /// transaction id before retrying, so a commit is never duplicated or lost.
    pub async fn commit(self) -> Result<CommitResult> {
        let table = self.table.clone();
        let log = &table.inner.log;
        let opts = &table.inner.options;
        let uri = || table.uri().to_string();
        let base_state = self.base.state_arc().clone();
        check_writable(base_state.protocol())?;
        conflict::check_app_transactions(&base_state, &self.actions).map_err(|duplicate| {
            Error::DuplicateBatch {
                table: uri(),
                duplicate,
            }
        })?;

        let isolation = self.isolation_level();
        let mut info = table.commit_info(
            &self.operation,
            0, // set below
            Some(base_state.version()),
            self.parameters.clone(),
        );
        info.isolation_level = Some(isolation);
        info.is_blind_append = self.is_blind_append();
        info.user_metadata = self.user_metadata.clone();
        info.operation_metrics = self.metrics.clone();
        let txn_id = info.txn_id.clone();

        let predicate_fn;
        let read_set = ReadSet {
            isolation,
            predicate: match &self.read {
                ReadScope::Nothing => ReadPredicate::Nothing,
                ReadScope::All => ReadPredicate::All,
                ReadScope::Matching(f) => {
                    predicate_fn = f.clone();
                    ReadPredicate::Matching(predicate_fn.as_ref())
                }
            },
            files: self.read_files.clone(),
        };

        // Readers validate every line; never write one they would refuse.
        for a in &self.actions {
            a.validate().map_err(|message| Error::InvalidOperation {
                table: uri(),
                message,
            })?;
        }
        if let Some(handler) = opts.commit_handler.clone() {
            let pending = PendingCommit {
                table: uri(),
                base_version: base_state.version(),
                txn_id: txn_id.clone(),
                operation: self.operation.clone(),
                parameters: self.parameters.clone(),
                actions: self.actions,
                isolation,
                read_whole_table: !matches!(self.read, ReadScope::Nothing),
                read_files: self.read_files.clone(),
            };
            let version = handler.commit(pending).await?;
            return Ok(CommitResult {
                version,
                attempts: 1,
                txn_id,
                snapshot: table.snapshot_at_version(version).await?,
            });
        }
        let mut actions = self.actions;
        let mut winners: Vec<Commit> = Vec::new();
        let mut version = base_state.version() + 1;
        info.timestamp = opts.clock.now_ms().max(base_state.timestamp() + 1);
        // Validate the commit against the base before writing anything; the candidate state is
        // exactly what the table is after our commit lands at `version`.
        let mut candidate =
            build_state(&base_state, &winners, version, &info, &actions).map_err(|e| {
                Error::InvalidOperation {
                    table: uri(),
                    message: e.to_string(),
                }
            })?;
        let mut bytes = encode_commit(info.clone(), &actions)?;
        let mut attempts = 0u32;
        let mut failures = 0u32;
        loop {
            attempts += 1;
            if attempts > opts.retry.max_attempts {
                return Err(Error::RetriesExhausted {
                    table: uri(),
                    attempts: attempts - 1,
                    version,
                });
            }
            let landed = match log.put_commit(version, bytes.clone()).await {
                PutOutcome::Created => true,
                PutOutcome::AlreadyExists => false,
                PutOutcome::Ambiguous(err) => {
                    failures += 1;
                    if failures > opts.retry.max_storage_failures {
                        return Err(Error::CommitOutcomeUnknown {
                            table: uri(),
                            version,
                            txn_id,
                            source: Box::new(err),
                        });
                    }
                    tracing::debug!(version, %err, "ambiguous commit failure; checking the log");
                    sleep_backoff(&opts.retry, failures).await;
                    // The same bytes are put again if the version is still free.
                    attempts -= 1;
                    continue;
                }
            };
            if !landed {
                // Lost the race for `version` (or an earlier ambiguous put of ours landed
                // there): read every commit from `version` on.
                let new_winners = match read_from(&table, version, &txn_id, &mut failures).await? {
                    Scan::Ours => Vec::new(),
                    Scan::Winners(w) => w,
                };
                if !new_winners.is_empty() {
                    actions = conflict::rebase(&actions, &read_set, &new_winners)
                        .map_err(|r| rejection(uri(), r))?;
                    if let Some(last) = new_winners.last() {
                        version = last.version + 1;
                        info.timestamp = opts.clock.now_ms().max(last.info.timestamp + 1);
                    }
                    winners.extend(new_winners);
                    candidate = build_state(&base_state, &winners, version, &info, &actions)
                        .map_err(|e| Error::InvalidOperation {
                            table: uri(),
                            message: format!("cannot rebase over concurrent commits: {e}"),
                        })?;
                    bytes = encode_commit(info.clone(), &actions)?;
                    // Small jitter so that many writers do not stampede the same version.
                    let jitter = rand::rng().random_range(0..=(1u64 << attempts.min(5)));
                    tokio::time::sleep(Duration::from_millis(jitter)).await;
                    continue;
                }
            }
            table.remember(candidate.clone()).await;
            maybe_checkpoint(&table, &candidate).await;
            return Ok(CommitResult {
                version,
                attempts,
                txn_id,
                snapshot: table.snapshot_of(candidate),
            });
        }
    }
}

enum Scan {
    /// Our own commit is at the version scanned first.
    Ours,
    /// Commits of other transactions, from the version scanned on.
    Winners(Vec<Commit>),
}

/// Reads commits from `version` on until one is missing, retrying transient read failures.
async fn read_from(table: &Table, version: u64, txn_id: &str, failures: &mut u32) -> Result<Scan> {
    let log = &table.inner.log;
    let policy = &table.inner.options.retry;
    let mut winners = Vec::new();
    let mut v = version;
    loop {
        match log.read_commit_opt(v).await {
            Ok(Some(c)) if c.info.txn_id == txn_id => {
                // We only ever put at the first version scanned, so ours can only be there.
                return Ok(if winners.is_empty() {
                    Scan::Ours
                } else {
                    Scan::Winners(winners)
                });
            }
            Ok(Some(c)) => {
                winners.push(c);
                v += 1;
            }
            Ok(None) => return Ok(Scan::Winners(winners)),
            Err(e) if is_transient(&e) => {
                *failures += 1;
                if *failures > policy.max_storage_failures {
                    return Err(e);
                }
                sleep_backoff(policy, *failures).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn rejection(table: String, r: Rejection) -> Error {
    match r {
        Rejection::Conflict(conflict) => Error::Conflict { table, conflict },
        Rejection::Duplicate(duplicate) => Error::DuplicateBatch { table, duplicate },
    }
}

/// The state after `winners` and then our commit at `version`.
fn build_state(
    base: &Arc<TableState>,
    winners: &[Commit],
    version: u64,
    info: &strata_format::CommitInfo,
    actions: &[Action],
) -> strata_format::Result<Arc<TableState>> {
    let mut info = info.clone();
    info.action_count = actions.len() as u64;
    let ours = Commit {
        version,
        info,
        actions: actions.to_vec(),
    };
    rebuild_after(base, winners, &ours).map(Arc::new)
}

fn rebuild_after(
    base: &Arc<TableState>,
    winners: &[Commit],
    ours: &Commit,
) -> strata_format::Result<TableState> {
    let mut s = (**base).clone();
    for w in winners {
        s.apply(w)?;
    }
    s.apply(ours)?;
    Ok(s)
}

fn is_transient(e: &Error) -> bool {
    matches!(e, Error::Storage { .. })
}

async fn sleep_backoff(policy: &crate::options::RetryPolicy, failures: u32) {
    let cap = policy
        .failure_backoff
        .saturating_mul(1u32 << failures.min(10))
        .min(policy.max_backoff);
    let ms = rand::rng().random_range(0..=cap.as_millis() as u64);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

async fn maybe_checkpoint(table: &Table, state: &Arc<TableState>) {
    let interval = table.checkpoint_interval(state);
    if state.version() > 0
        && state.version().is_multiple_of(interval)
        && let Err(e) = table
            .inner
            .log
            .write_checkpoint(state.version(), &state.checkpoint_actions())
            .await
    {
        tracing::warn!(table = table.uri(), version = state.version(), error = %e,
                "checkpoint failed; the commit is safe, readers replay more commits");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures::future::BoxFuture;
    use strata_format::testing::{add, sample_schema};

    use super::*;
    use crate::options::{CommitHandler, TableOptions};
    use crate::storage::TableLocation;
    use crate::table::CreateTable;

    /// A stand-in arbiter: records what it is handed and commits it through a plain handle of
    /// the same table (the engine's own path), as a catalog would write the log.
    #[derive(Debug)]
    struct Arbiter {
        plain: Table,
        seen: Mutex<Vec<PendingCommit>>,
        refuse: bool,
    }

    impl CommitHandler for Arbiter {
        fn commit(&self, commit: PendingCommit) -> BoxFuture<'_, Result<u64>> {
            Box::pin(async move {
                self.seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(commit.clone());
                if self.refuse {
                    return Err(Error::InvalidOperation {
                        table: commit.table,
                        message: "refused".into(),
                    });
                }
                let mut txn = self.plain.transaction().await?.operation(commit.operation);
                txn = txn.actions(commit.actions);
                Ok(txn.commit().await?.version)
            })
        }
    }

    async fn tables(name: &str, refuse: bool) -> (Table, Table, Arc<Arbiter>) {
        let uri = format!("memory://commit-handler/{name}");
        let plain = Table::create(&uri, CreateTable::new(sample_schema()))
            .await
            .unwrap();
        let arbiter = Arc::new(Arbiter {
            plain: plain.clone(),
            seen: Mutex::new(Vec::new()),
            refuse,
        });
        let options = TableOptions::default().with_commit_handler(arbiter.clone());
        let handled = Table::open_with(TableLocation::parse(&uri).unwrap(), options)
            .await
            .unwrap();
        (plain, handled, arbiter)
    }

    #[tokio::test]
    async fn a_commit_handler_writes_the_commit_instead_of_the_engine() {
        let (plain, handled, arbiter) = tables("writes", false).await;
        let txn = handled.transaction().await.unwrap();
        let result = txn
            .operation("WRITE")
            .read_file("other.parquet")
            .action(add("a.parquet", 3))
            .commit()
            .await
            .unwrap();
        assert_eq!(result.version, 1);
        assert!(result.snapshot.files().contains_key("a.parquet"));
        let seen = arbiter.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].base_version, 0);
        assert_eq!(seen[0].txn_id, result.txn_id);
        assert_eq!(seen[0].operation, "WRITE");
        assert!(!seen[0].read_whole_table);
        assert!(seen[0].read_files.contains("other.parquet"));
        assert_eq!(plain.latest().await.unwrap().version(), 1);
    }

    #[tokio::test]
    async fn a_refusing_handler_leaves_the_log_untouched() {
        let (plain, handled, arbiter) = tables("refuses", true).await;
        let txn = handled.transaction().await.unwrap();
        let err = txn
            .read_whole_table()
            .action(add("a.parquet", 3))
            .commit()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert!(arbiter.seen.lock().unwrap()[0].read_whole_table);
        assert_eq!(plain.latest().await.unwrap().version(), 0);
        // Invalid actions never reach the handler.
        let bad = handled
            .transaction()
            .await
            .unwrap()
            .action(add("", 1))
            .commit()
            .await;
        assert!(bad.is_err());
        assert_eq!(arbiter.seen.lock().unwrap().len(), 1);
    }
}
