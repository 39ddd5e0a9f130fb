//! Commits through the catalog (SPEC §8 applied by an arbiter).
//!
//! Under the table's lock in the store, the catalog reads the commits that landed after the
//! client's base version, checks the change against them with the format's pure conflict rules
//! (rebasing it when it commutes), writes the next log entry with put-if-absent, records the
//! transaction id and advances the table's pointer. The log stays the source of truth: a
//! writer that bypasses the catalog only makes the catalog retry on top of its commit.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde_json::Value;
use strata_format::conflict::{self, ReadPredicate, ReadSet, Rejection};
use strata_format::log::{Commit, LOG_DIR, commit_file_name, decode_commit, encode_commit};
use strata_format::protocol::check_writable;
use strata_format::{Action, CommitInfo, IsolationLevel};
use strata_table::{
    DEFAULT_CHECKPOINT_INTERVAL, PROP_CHECKPOINT_INTERVAL, PROP_ISOLATION_LEVEL, Snapshot,
    TableLocation,
};

use crate::error::{Error, Result};
use crate::model::{CommitRequest, CommitResponse, CommittedTable, TableChange};
use crate::names::{validate_namespace, validate_table};
use crate::service::Catalog;
use crate::store::{TableIdent, TableLock};

/// Engine name recorded in commits written by the catalog.
pub const ENGINE: &str = concat!("strata-catalog/", env!("CARGO_PKG_VERSION"));

/// Put attempts when writers outside the catalog keep taking the next version.
const MAX_ATTEMPTS: u32 = 8;

/// A validated table change.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub ident: TableIdent,
    pub base_version: u64,
    pub actions: Vec<Action>,
    pub operation: String,
    pub parameters: std::collections::BTreeMap<String, Value>,
    pub isolation: Option<IsolationLevel>,
    pub read_all: bool,
    pub read_files: BTreeSet<String>,
}

enum Outcome {
    /// The catalog already recorded this transaction.
    Recorded(u64),
    /// The commit is in the log (written now or by an earlier attempt); record it.
    Written(u64),
}

/// Checks a transaction id: a UUID.
pub(crate) fn validate_txn_id(txn_id: &str) -> Result<()> {
    uuid::Uuid::parse_str(txn_id).map(|_| ()).map_err(|_| {
        Error::BadRequest(format!("txnId `{}` is not a UUID", txn_id.escape_default()))
    })
}

fn parse_isolation(s: &str) -> Result<IsolationLevel> {
    match s {
        "Serializable" => Ok(IsolationLevel::Serializable),
        "WriteSerializable" => Ok(IsolationLevel::WriteSerializable),
        other => Err(Error::BadRequest(format!(
            "unknown isolationLevel `{}` (Serializable or WriteSerializable)",
            other.escape_default()
        ))),
    }
}

impl Change {
    /// Parses and validates a change of a request.
    pub(crate) fn parse(c: TableChange) -> Result<Self> {
        validate_namespace(&c.namespace)?;
        validate_table(&c.table)?;
        if c.actions.is_empty() {
            return Err(Error::BadRequest(
                "a change needs at least one action".into(),
            ));
        }
        let mut actions = Vec::with_capacity(c.actions.len());
        for (i, v) in c.actions.iter().enumerate() {
            let line = serde_json::to_string(v)?;
            let action = Action::from_json_line(&line)
                .map_err(|m| Error::BadRequest(format!("actions[{i}]: {m}")))?
                .ok_or_else(|| Error::BadRequest(format!("actions[{i}]: unknown action type")))?;
            if matches!(action, Action::CommitInfo(_)) {
                return Err(Error::BadRequest(format!(
                    "actions[{i}]: commitInfo is written by the catalog, not sent"
                )));
            }
            action
                .validate()
                .map_err(|m| Error::BadRequest(format!("actions[{i}]: {m}")))?;
            actions.push(action);
        }
        Ok(Change {
            ident: TableIdent::new(c.namespace, c.table),
            base_version: c.base_version,
            actions,
            operation: c.operation.unwrap_or_else(|| "WRITE".into()),
            parameters: c.operation_parameters,
            isolation: c
                .isolation_level
                .as_deref()
                .map(parse_isolation)
                .transpose()?,
            read_all: c.read.whole_table,
            read_files: c.read.files.into_iter().collect(),
        })
    }

    fn is_blind_append(&self) -> bool {
        !self.read_all
            && self.read_files.is_empty()
            && self
                .actions
                .iter()
                .all(|a| matches!(a, Action::Add(_) | Action::Txn(_)))
            && self.actions.iter().any(|a| matches!(a, Action::Add(_)))
    }
}

fn commit_path(loc: &TableLocation, version: u64) -> object_store::path::Path {
    loc.child(&format!("{LOG_DIR}/{}", commit_file_name(version)))
}

/// Reads commits `from..=to` of the table at `loc`.
async fn read_commits(loc: &TableLocation, from: u64, to: u64) -> Result<Vec<Commit>> {
    if from > to {
        return Ok(Vec::new());
    }
    futures::stream::iter(from..=to)
        .map(|v| async move { read_commit(loc, v).await?.ok_or_else(|| missing(loc, v)) })
        .buffered(8)
        .try_collect()
        .await
}

fn missing(loc: &TableLocation, v: u64) -> Error {
    Error::Table(strata_table::Error::MissingVersion {
        table: loc.uri().to_string(),
        path: commit_path(loc, v).to_string(),
        version: v,
    })
}

async fn read_commit(loc: &TableLocation, version: u64) -> Result<Option<Commit>> {
    let path = commit_path(loc, version);
    let bytes = match loc.store().get(&path).await {
        Ok(r) => r.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    decode_commit(version, &bytes).map(Some).map_err(|source| {
        Error::Table(strata_table::Error::Corrupt {
            table: loc.uri().to_string(),
            path: path.to_string(),
            version,
            source,
        })
    })
}

fn rejection(table: &TableIdent, r: Rejection) -> Error {
    match r {
        Rejection::Conflict(conflict) => Error::Conflict {
            table: table.to_string(),
            conflict,
        },
        Rejection::Duplicate(duplicate) => Error::DuplicateBatch {
            table: table.to_string(),
            duplicate,
        },
    }
}

impl Catalog {
    /// Commits a request (one table change today; the list shape leaves room for
    /// multi-table atomic commits).
    pub async fn commit(&self, req: CommitRequest) -> Result<CommitResponse> {
        validate_txn_id(&req.txn_id)?;
        let mut changes = req.changes;
        let change = match changes.len() {
            1 => Change::parse(changes.remove(0))?,
            0 => return Err(Error::BadRequest("`changes` is empty".into())),
            n => {
                return Err(Error::BadRequest(format!(
                    "multi-table commits are not supported yet ({n} changes); send one change per request"
                )));
            }
        };
        let version = self.commit_change(&req.txn_id, change.clone()).await?;
        Ok(CommitResponse {
            txn_id: req.txn_id,
            results: vec![CommittedTable {
                namespace: change.ident.namespace,
                table: change.ident.name,
                version,
            }],
        })
    }

    /// Commits one change under the table's lock; returns the version it landed at.
    pub(crate) async fn commit_change(&self, txn_id: &str, change: Change) -> Result<u64> {
        let mut lock = self.store.lock_table(&change.ident).await?;
        let outcome = self.commit_locked(lock.as_mut(), txn_id, &change).await;
        let version = match outcome {
            Ok(Outcome::Recorded(v)) => {
                lock.release().await?;
                return Ok(v);
            }
            Ok(Outcome::Written(v)) => {
                lock.finish(txn_id, v).await?;
                v
            }
            Err(e) => {
                if let Err(release) = lock.release().await {
                    tracing::warn!(error = %release, "releasing a table lock failed");
                }
                return Err(e);
            }
        };
        self.maybe_checkpoint(&change.ident, version).await;
        Ok(version)
    }

    async fn commit_locked(
        &self,
        lock: &mut dyn TableLock,
        txn_id: &str,
        change: &Change,
    ) -> Result<Outcome> {
        if let Some(v) = lock.find_commit(txn_id).await? {
            return Ok(Outcome::Recorded(v));
        }
        let table = self.handle(lock.table()).await?;
        let loc = table.location().clone();
        for _ in 0..MAX_ATTEMPTS {
            let latest = table.latest().await?;
            let latest_v = latest.version();
            if change.base_version > latest_v {
                return Err(Error::BadRequest(format!(
                    "{}: base version {} is ahead of the latest version {latest_v}",
                    change.ident, change.base_version
                )));
            }
            let winners = read_commits(&loc, change.base_version + 1, latest_v).await?;
            if let Some(ours) = winners.iter().find(|c| c.info.txn_id == txn_id) {
                // An earlier attempt of this transaction landed (e.g. the catalog failed
                // before recording it).
                return Ok(Outcome::Written(ours.version));
            }
            let commit = self.plan(&latest, &winners, txn_id, change)?;
            let bytes = encode_commit(commit.info.clone(), &commit.actions)
                .map_err(|e| Error::BadRequest(e.to_string()))?;
            let opts = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            let path = commit_path(&loc, commit.version);
            match loc
                .store()
                .put_opts(&path, PutPayload::from(bytes), opts)
                .await
            {
                Ok(_) => return Ok(Outcome::Written(commit.version)),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    tracing::info!(table = %change.ident, version = commit.version,
                        "a writer outside the catalog took the version; retrying on top of it");
                }
                Err(e) => match read_commit(&loc, commit.version).await {
                    Ok(Some(c)) if c.info.txn_id == txn_id => {
                        return Ok(Outcome::Written(commit.version));
                    }
                    Ok(Some(_)) => {}
                    _ => {
                        return Err(Error::CommitOutcomeUnknown {
                            table: change.ident.to_string(),
                            version: commit.version,
                            message: e.to_string(),
                        });
                    }
                },
            }
        }
        Err(Error::Busy(format!(
            "{}: the log kept moving ({MAX_ATTEMPTS} attempts); retry later",
            change.ident
        )))
    }

    /// Checks the change against the winners and the latest state; the commit to write.
    fn plan(
        &self,
        latest: &Snapshot,
        winners: &[Commit],
        txn_id: &str,
        change: &Change,
    ) -> Result<Commit> {
        let state = latest.state();
        check_writable(state.protocol()).map_err(|e| Error::BadRequest(e.to_string()))?;
        conflict::check_app_transactions(state, &change.actions).map_err(|duplicate| {
            Error::DuplicateBatch {
                table: change.ident.to_string(),
                duplicate,
            }
        })?;
        let isolation = change.isolation.unwrap_or_else(|| {
            match state
                .metadata()
                .properties
                .get(PROP_ISOLATION_LEVEL)
                .map(String::as_str)
            {
                Some("Serializable") => IsolationLevel::Serializable,
                _ => IsolationLevel::WriteSerializable,
            }
        });
        let read = ReadSet {
            isolation,
            predicate: if change.read_all {
                ReadPredicate::All
            } else {
                ReadPredicate::Nothing
            },
            files: change.read_files.clone(),
        };
        let actions = conflict::rebase(&change.actions, &read, winners)
            .map_err(|r| rejection(&change.ident, r))?;
        let now = chrono::Utc::now().timestamp_millis();
        let info = CommitInfo {
            timestamp: now.max(state.timestamp() + 1),
            txn_id: txn_id.to_string(),
            operation: change.operation.clone(),
            operation_parameters: change.parameters.clone(),
            engine: ENGINE.to_string(),
            read_version: Some(change.base_version),
            isolation_level: Some(isolation),
            is_blind_append: change.is_blind_append(),
            action_count: actions.len() as u64,
            user_metadata: None,
            operation_metrics: Default::default(),
        };
        let commit = Commit {
            version: state.version() + 1,
            info,
            actions,
        };
        // Never write a commit that readers would refuse to apply.
        let mut next = state.clone();
        next.apply(&commit).map_err(|e| {
            Error::BadRequest(format!(
                "{}: the change does not apply to version {}: {e}",
                change.ident,
                state.version()
            ))
        })?;
        Ok(commit)
    }

    async fn maybe_checkpoint(&self, ident: &TableIdent, version: u64) {
        let Ok(record) = self.table_record(ident).await else {
            return;
        };
        let Ok(table) = self.handle(&record).await else {
            return;
        };
        let interval = match table.latest().await {
            Ok(s) => s
                .metadata()
                .properties
                .get(PROP_CHECKPOINT_INTERVAL)
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|&n| n > 0)
                .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL),
            Err(_) => return,
        };
        if version > 0
            && version.is_multiple_of(interval)
            && let Err(e) = table.checkpoint().await
        {
            tracing::warn!(table = %ident, version, error = %e,
                "checkpoint failed; the commit is safe, readers replay more commits");
        }
    }

    /// Creates tag `name` at `version` through the catalog's commit path.
    pub async fn create_tag(&self, ident: &TableIdent, name: &str, version: u64) -> Result<u64> {
        let record = self.table_record(ident).await?;
        let latest = self.handle(&record).await?.latest().await?;
        if latest.tags().contains_key(name) {
            return Err(Error::BadRequest(format!(
                "tag `{name}` already exists; delete it first"
            )));
        }
        if version > latest.version() {
            return Err(Error::BadRequest(format!(
                "version {version} does not exist (latest is {})",
                latest.version()
            )));
        }
        let change = Change {
            ident: ident.clone(),
            base_version: latest.version(),
            actions: vec![Action::Tag(strata_format::Tag {
                name: name.to_string(),
                version,
            })],
            operation: "TAG".into(),
            parameters: [
                ("name".to_string(), Value::from(name)),
                ("version".to_string(), Value::from(version)),
            ]
            .into(),
            isolation: None,
            read_all: false,
            read_files: BTreeSet::new(),
        };
        self.commit_change(&uuid::Uuid::new_v4().to_string(), change)
            .await
    }

    /// Deletes tag `name` through the catalog's commit path.
    pub async fn delete_tag(&self, ident: &TableIdent, name: &str) -> Result<u64> {
        let record = self.table_record(ident).await?;
        let latest = self.handle(&record).await?.latest().await?;
        if !latest.tags().contains_key(name) {
            return Err(Error::TagNotFound(format!("{ident}: no tag `{name}`")));
        }
        let change = Change {
            ident: ident.clone(),
            base_version: latest.version(),
            actions: vec![Action::Untag(strata_format::Untag {
                name: name.to_string(),
            })],
            operation: "UNTAG".into(),
            parameters: [("name".to_string(), Value::from(name))].into(),
            isolation: None,
            read_all: false,
            read_files: BTreeSet::new(),
        };
        self.commit_change(&uuid::Uuid::new_v4().to_string(), change)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReadScope;

    fn change(actions: Vec<Value>, read: ReadScope) -> TableChange {
        TableChange {
            namespace: "ns".into(),
            table: "t".into(),
            base_version: 3,
            actions,
            operation: None,
            operation_parameters: Default::default(),
            isolation_level: None,
            read,
        }
    }

    fn json(a: &Action) -> Value {
        serde_json::from_str(&a.to_json_line().unwrap()).unwrap()
    }

    #[test]
    fn txn_ids_are_uuids() {
        assert!(validate_txn_id(&uuid::Uuid::new_v4().to_string()).is_ok());
        assert!(validate_txn_id("retry-1").is_err());
    }

    #[test]
    fn changes_parse_and_classify() {
        let add = json(&strata_format::testing::add("a.parquet", 1));
        let c = Change::parse(change(vec![add.clone()], ReadScope::default())).unwrap();
        assert!(c.is_blind_append());
        assert_eq!(c.operation, "WRITE");
        let read = ReadScope {
            whole_table: true,
            files: vec![],
        };
        assert!(
            !Change::parse(change(vec![add], read))
                .unwrap()
                .is_blind_append()
        );
        let rm = json(&strata_format::testing::remove("a.parquet"));
        assert!(
            !Change::parse(change(vec![rm], ReadScope::default()))
                .unwrap()
                .is_blind_append()
        );
    }

    #[test]
    fn changes_refuse_bad_actions() {
        assert!(Change::parse(change(vec![], ReadScope::default())).is_err());
        let unknown = serde_json::json!({"teleport": {}});
        assert!(Change::parse(change(vec![unknown], ReadScope::default())).is_err());
        let info = json(&Action::CommitInfo(strata_format::testing::commit_info(
            1, "WRITE",
        )));
        assert!(Change::parse(change(vec![info], ReadScope::default())).is_err());
        let mut bad = change(
            vec![json(&strata_format::testing::add("a.parquet", 1))],
            ReadScope::default(),
        );
        bad.isolation_level = Some("Snapshot".into());
        assert!(Change::parse(bad).is_err());
    }
}
