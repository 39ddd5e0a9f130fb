//! Transactions and the optimistic commit loop (SPEC §8).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;
use strata_format::commit::Proposal;
use strata_format::conflict::{ReadPredicate, ReadSet};
use strata_format::{Action, AddFile, AppTransaction, IsolationLevel, RemoveFile};

use crate::error::{Error, Result};
use crate::log::commit_log::Attempt;
use crate::log::snapshot::Snapshot;
use crate::options::PendingCommit;
use crate::table::Table;

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
    read_text: Option<String>,
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
            read_text: None,
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
            deletion_vector: add.deletion_vector.clone(),
        };
        self.actions.push(Action::Remove(remove));
        Ok(self)
    }

    /// Removes an active file whose rows the transaction writes again unchanged (compaction):
    /// the remove has `dataChange` false.
    pub fn remove_rewritten_file(self, path: &str) -> Result<Self> {
        let mut txn = self.remove_file(path)?;
        if let Some(Action::Remove(r)) = txn.actions.last_mut() {
            r.data_change = false;
        }
        Ok(txn)
    }

    /// Replaces the deletion vector of an active file of the base snapshot (SPEC §7.4): a
    /// `remove` of the file and an `add` of the same entry with `vector`.
    pub fn replace_deletion_vector(
        self,
        path: &str,
        vector: strata_format::actions::DeletionVectorDescriptor,
    ) -> Result<Self> {
        let mut txn = self.remove_file(path)?;
        let mut add =
            txn.base
                .files()
                .get(path)
                .cloned()
                .ok_or_else(|| Error::InvalidOperation {
                    table: txn.table.uri().to_string(),
                    message: format!(
                        "cannot replace the vector of `{path}`: it is not in the table"
                    ),
                })?;
        add.data_change = true;
        add.deletion_vector = Some(vector);
        txn.actions.push(Action::Add(Box::new(add)));
        Ok(txn)
    }

    /// Declares that the outcome depends on the whole table (e.g. a full overwrite).
    pub fn read_whole_table(mut self) -> Self {
        self.read = ReadScope::All;
        self
    }

    /// Declares that the outcome depends on files matching `predicate`.
    pub fn read_matching(mut self, predicate: FilePredicate) -> Self {
        self.read = ReadScope::Matching(predicate);
        self.read_text = None;
        self
    }

    /// Declares that the outcome depends on files matching the predicate `text` (expression
    /// text, SPEC Appendix B), decided by `predicate`; a catalog re-evaluates the text.
    pub fn read_where(mut self, text: impl Into<String>, predicate: FilePredicate) -> Self {
        self.read = ReadScope::Matching(predicate);
        self.read_text = Some(text.into());
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

    /// Commits: the proposal goes through the table's [`CommitLog`](crate::CommitLog) (or the
    /// commit handler, e.g. a catalog): put-if-absent of the next version; on a lost race,
    /// checks the winners for conflicts and retries on top of them; on an ambiguous storage
    /// failure, looks for its own transaction id before retrying, so a commit is never
    /// duplicated or lost.
    pub async fn commit(self) -> Result<CommitResult> {
        let table = self.table.clone();
        let opts = &table.inner.options;
        let base_state = self.base.state_arc().clone();
        let reads = !matches!(self.read, ReadScope::Nothing) || !self.read_files.is_empty();
        let proposal = Proposal {
            txn_id: opts.ids.next_id(),
            operation: self.operation,
            parameters: self.parameters,
            actions: self.actions,
            isolation: self.isolation,
            reads,
            user_metadata: self.user_metadata,
            metrics: self.metrics,
            engine: opts.engine.clone(),
        };
        let isolation = proposal.isolation_level(base_state.metadata());
        let txn_id = proposal.txn_id.clone();
        if let Some(handler) = opts.commit_handler.clone() {
            // Refuse here what the arbiter would refuse anyway.
            proposal
                .check(&base_state)
                .map_err(|e| Error::InvalidOperation {
                    table: table.uri().to_string(),
                    message: e.to_string(),
                })?;
            let pending = PendingCommit {
                table: table.uri().to_string(),
                base_version: base_state.version(),
                txn_id: txn_id.clone(),
                operation: proposal.operation,
                parameters: proposal.parameters,
                actions: proposal.actions,
                isolation,
                // A predicate without its text cannot be re-evaluated: the whole table.
                read_whole_table: match &self.read {
                    ReadScope::Nothing => false,
                    ReadScope::All => true,
                    ReadScope::Matching(_) => self.read_text.is_none(),
                },
                read_files: self.read_files.clone(),
                read_predicate: match self.read {
                    ReadScope::Matching(_) => self.read_text,
                    _ => None,
                },
                timestamp: opts.clock.now_ms(),
                user_metadata: proposal.user_metadata,
                metrics: proposal.metrics,
            };
            let version = handler.commit(pending).await;
            // The handler wrote the version (or refused it) without this handle: whatever
            // this handle remembers as the latest is behind now.
            table.distrust_cached().await;
            let version = version?;
            let state = table.state_after_handler(&base_state, version).await?;
            return Ok(CommitResult {
                version,
                attempts: 1,
                txn_id,
                snapshot: table.snapshot_of(state),
            });
        }
        let read = ReadSet {
            isolation,
            predicate: match &self.read {
                ReadScope::Nothing => ReadPredicate::Nothing,
                ReadScope::All => ReadPredicate::All,
                ReadScope::Matching(f) => ReadPredicate::Matching(f.as_ref()),
            },
            files: self.read_files.clone(),
        };
        let landed = table
            .commit_log()
            .commit(Attempt {
                timestamp: None,
                confine_relocations: false,
                read_version: base_state.version(),
                base: base_state,
                proposal,
                read,
            })
            .await?;
        Ok(CommitResult {
            version: landed.version,
            attempts: landed.attempts,
            txn_id,
            snapshot: table.snapshot_of(landed.state),
        })
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
        /// Other writers land a commit just before the handed one and just after it.
        around: bool,
    }

    impl Arbiter {
        async fn other_writer(&self, path: &str) -> Result<u64> {
            let txn = self.plain.transaction().await?.action(add(path, 1));
            Ok(txn.commit().await?.version)
        }
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
                if self.around {
                    self.other_writer("before.parquet").await?;
                }
                let mut txn = self.plain.transaction().await?.operation(commit.operation);
                txn = txn.actions(commit.actions);
                let version = txn.commit().await?.version;
                if self.around {
                    self.other_writer("after.parquet").await?;
                }
                Ok(version)
            })
        }
    }

    async fn tables(name: &str, refuse: bool) -> (Table, Table, Arc<Arbiter>) {
        tables_with(name, refuse, false, std::time::Duration::ZERO).await
    }

    async fn tables_with(
        name: &str,
        refuse: bool,
        around: bool,
        state_reuse: std::time::Duration,
    ) -> (Table, Table, Arc<Arbiter>) {
        let uri = format!("memory://commit-handler/{name}");
        let plain = Table::create(&uri, CreateTable::new(sample_schema()))
            .await
            .unwrap();
        let arbiter = Arc::new(Arbiter {
            plain: plain.clone(),
            seen: Mutex::new(Vec::new()),
            refuse,
            around,
        });
        let options = TableOptions::default()
            .with_commit_handler(arbiter.clone())
            .with_state_reuse(state_reuse);
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
    async fn a_handle_reusing_its_state_sees_what_its_handler_committed() {
        let (_, handled, _) =
            tables_with("reuse", false, false, std::time::Duration::from_secs(600)).await;
        let landed = handled
            .transaction()
            .await
            .unwrap()
            .action(add("a.parquet", 3))
            .commit()
            .await
            .unwrap();
        assert_eq!(landed.version, 1);
        assert_eq!(landed.snapshot.version(), 1);
        assert_eq!(handled.latest().await.unwrap().version(), 1);
    }

    #[tokio::test]
    async fn a_handler_commit_answers_the_state_at_its_version_between_other_writers() {
        for reuse in [0, 600] {
            let name = format!("around-{reuse}");
            let reuse = std::time::Duration::from_secs(reuse);
            let (plain, handled, _) = tables_with(&name, false, true, reuse).await;
            let landed = handled
                .transaction()
                .await
                .unwrap()
                .action(add("ours.parquet", 3))
                .commit()
                .await
                .unwrap();
            // Version 1 is the other writer's, 2 ours, 3 the other writer's again.
            assert_eq!(landed.version, 2);
            let snapshot = &landed.snapshot;
            assert_eq!(snapshot.version(), 2);
            let mut files: Vec<&String> = snapshot.files().keys().collect();
            files.sort();
            assert_eq!(files, ["before.parquet", "ours.parquet"]);
            let want = plain.snapshot_at_version(2).await.unwrap();
            assert_eq!(snapshot.state_arc().as_ref(), want.state_arc().as_ref());
            // The handle does not take its version for the latest: it reads on.
            let latest = handled.latest().await.unwrap();
            assert_eq!(latest.version(), 3);
            assert!(latest.files().contains_key("after.parquet"));
        }
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
