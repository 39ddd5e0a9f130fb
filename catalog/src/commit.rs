//! Commits through the catalog (SPEC §8 applied by an arbiter).
//!
//! Under the table's lock in the store, the catalog reads the commits that landed after the
//! client's base version and rebases the change over them with the format's pure conflict
//! rules; checks it by the spec's writer rules (`strata_format::commit`), confines its tier
//! locations and HEADs every object it adds; then hands it to the engine's [`CommitLog`]
//! (the one put loop, shared with path-addressed writers), records the transaction id and
//! advances the table's pointer. Nothing a client built is written unchecked. The log stays the
//! source of truth: a writer that bypasses the catalog only makes the catalog retry on top of
//! its commit.
//!
//! [`CommitLog`]: strata_table::CommitLog

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use serde_json::Value;
use strata_format::commit::{ChangeContext, Proposal, check_change, table_isolation_level};
use strata_format::conflict::{self, ReadPredicate, ReadSet, Rejection};
use strata_format::dv::DeletionVector;
use strata_format::log::Commit;
use strata_format::{Action, AddFile, IsolationLevel, TableState};
use strata_table::{Attempt, StoreResolver, Table, read_predicate};

use crate::error::{Error, Result};
use crate::locations::Place;
use crate::model::{CommitRequest, CommitResponse, CommittedTable, TableChange};
use crate::names::{validate_namespace, validate_table};
use crate::service::Catalog;
use crate::store::{TableIdent, TableLock};

/// Engine name recorded in commits written by the catalog.
pub const ENGINE: &str = concat!("strata-catalog/", env!("CARGO_PKG_VERSION"));

/// A validated table change.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub ident: TableIdent,
    pub base_version: u64,
    pub actions: Vec<Action>,
    pub operation: String,
    pub parameters: BTreeMap<String, Value>,
    pub isolation: Option<IsolationLevel>,
    pub read_all: bool,
    pub read_predicate: Option<String>,
    pub read_files: BTreeSet<String>,
    pub user_metadata: Option<String>,
    pub metrics: BTreeMap<String, i64>,
    pub timestamp: Option<i64>,
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
            read_predicate: c.read.predicate,
            read_files: c.read.files.into_iter().collect(),
            user_metadata: c.user_metadata,
            metrics: c.operation_metrics,
            timestamp: match c.timestamp {
                Some(t) if t > chrono::Utc::now().timestamp_millis() + MAX_CLOCK_SKEW_MS => {
                    return Err(Error::Unprocessable(format!(
                        "timestamp {t} is more than five minutes ahead of the catalog's clock"
                    )));
                }
                t => t,
            },
        })
    }

    /// Whether the outcome depends on anything read.
    fn reads(&self) -> bool {
        self.read_all || self.read_predicate.is_some() || !self.read_files.is_empty()
    }

    /// Whether `written` (a commit of this transaction id in the log) records this change:
    /// the same operation, parameters, user metadata and metrics, and the same actions except
    /// relocations that rebasing dropped (SPEC §8.2).
    fn same_as(&self, written: &Commit) -> bool {
        let info = &written.info;
        if info.operation != self.operation
            || info.operation_parameters != self.parameters
            || info.user_metadata != self.user_metadata
            || info.operation_metrics != self.metrics
        {
            return false;
        }
        let line = |a: &Action| a.to_json_line().unwrap_or_default();
        let sent: BTreeSet<String> = self.actions.iter().map(line).collect();
        let kept: BTreeSet<String> = written.actions.iter().map(line).collect();
        kept.is_subset(&sent)
            && self
                .actions
                .iter()
                .all(|a| matches!(a, Action::Relocate(_)) || kept.contains(&line(a)))
    }
}

/// An added object exists at its resolved location with the stated size.
async fn check_object(
    resolver: &StoreResolver,
    table: &TableIdent,
    i: usize,
    path: String,
    location: Option<String>,
    size: u64,
) -> Result<()> {
    let (store, key) = resolver.resolve(&path, location.as_deref())?;
    match store.head(&key).await {
        Ok(meta) if meta.size == size => Ok(()),
        Ok(meta) => Err(Error::Unprocessable(format!(
            "{table}: actions[{i}].size: add `{path}` states {size} bytes but the object has {}",
            meta.size
        ))),
        Err(object_store::Error::NotFound { .. }) => Err(Error::Unprocessable(format!(
            "{table}: actions[{i}]: add `{path}` names an object that does not exist ({})",
            location.as_deref().unwrap_or(key.as_ref())
        ))),
        Err(e) => Err(Error::Storage(e)),
    }
}

/// The deletion vector of an added file decodes from its object under the table root: the
/// range exists and holds exactly `cardinality` positions below the file's `recordCount`
/// (SPEC §7.2, §7.3).
async fn check_vector(
    resolver: &StoreResolver,
    table: &TableIdent,
    i: usize,
    file: AddFile,
) -> Result<()> {
    let Some(vector) = &file.deletion_vector else {
        return Ok(());
    };
    let (store, key) = resolver.resolve(&vector.path, None)?;
    let end = vector.offset.saturating_add(vector.size_in_bytes);
    let refused = |message: String| {
        Error::Unprocessable(format!("{table}: actions[{i}].deletionVector: {message}"))
    };
    match store.head(&key).await {
        Ok(meta) if meta.size >= end => {}
        Ok(meta) => {
            return Err(refused(format!(
                "`{}` has {} bytes, the descriptor addresses bytes {}..{end}",
                vector.path, meta.size, vector.offset
            )));
        }
        Err(object_store::Error::NotFound { .. }) => {
            return Err(refused(format!("`{}` does not exist", vector.path)));
        }
        Err(e) => return Err(Error::Storage(e)),
    }
    let bytes = store
        .get_range(&key, vector.offset..end)
        .await
        .map_err(Error::Storage)?;
    DeletionVector::decode(&bytes, vector, &file)
        .map(|_| ())
        .map_err(|e| refused(e.to_string()))
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

/// How far ahead of the catalog's clock a proposed in-commit timestamp may be.
const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// An engine refusal of a catalog commit as the catalog's error.
fn refusal(table: &TableIdent, e: strata_table::Error) -> Error {
    match e {
        strata_table::Error::Conflict { conflict, .. } => Error::Conflict {
            table: table.to_string(),
            conflict,
        },
        strata_table::Error::DuplicateBatch { duplicate, .. } => Error::DuplicateBatch {
            table: table.to_string(),
            duplicate,
        },
        strata_table::Error::InvalidOperation { message, .. } => {
            Error::Unprocessable(format!("{table}: {message}"))
        }
        strata_table::Error::RetriesExhausted { .. } => {
            Error::Busy(format!("{table}: the log kept moving ({e}); retry later"))
        }
        strata_table::Error::CommitOutcomeUnknown {
            version,
            ref source,
            ..
        } => Error::CommitOutcomeUnknown {
            table: table.to_string(),
            version,
            message: source.to_string(),
        },
        other => Error::Table(other),
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
        Ok(version)
    }

    async fn commit_locked(
        &self,
        lock: &mut dyn TableLock,
        txn_id: &str,
        change: &Change,
    ) -> Result<Outcome> {
        // The latest state is read once, under the lock (also the check of the table id).
        let (table, latest) = self.handle_latest(lock.table()).await?;
        let log = table.commit_log();
        if let Some(v) = lock.find_commit(txn_id).await? {
            let written = log.read_range(v, v).await?;
            return match written.first() {
                Some(c) if change.same_as(c) => Ok(Outcome::Recorded(v)),
                _ => Err(Error::TxnReused {
                    txn_id: txn_id.to_string(),
                    table: change.ident.to_string(),
                    version: v,
                }),
            };
        }
        let latest_v = latest.version();
        if change.base_version > latest_v {
            return Err(Error::BadRequest(format!(
                "{}: baseVersion {} is ahead of the latest version {latest_v}",
                change.ident, change.base_version
            )));
        }
        let winners = log.read_range(change.base_version + 1, latest_v).await?;
        if let Some(ours) = winners.iter().find(|c| c.info.txn_id == txn_id) {
            // An earlier attempt of this transaction landed (e.g. the catalog failed before
            // recording it).
            return if change.same_as(ours) {
                Ok(Outcome::Written(ours.version))
            } else {
                Err(Error::TxnReused {
                    txn_id: txn_id.to_string(),
                    table: change.ident.to_string(),
                    version: ours.version,
                })
            };
        }
        let state = latest.state_arc().clone();
        let isolation = change
            .isolation
            .unwrap_or_else(|| table_isolation_level(state.metadata()));
        let matcher = match &change.read_predicate {
            Some(text) => Some(read_predicate(text, state.metadata()).map_err(|e| {
                Error::BadRequest(format!("{}: read.predicate: {e}", change.ident))
            })?),
            None => None,
        };
        let read = ReadSet {
            isolation,
            predicate: match (&matcher, change.read_all) {
                (_, true) => ReadPredicate::All,
                (Some(f), false) => ReadPredicate::Matching(f.as_ref()),
                (None, false) => ReadPredicate::Nothing,
            },
            files: change.read_files.clone(),
        };
        // The client read `baseVersion`: first rebase over what landed since.
        let actions = conflict::rebase(&change.actions, &read, &winners)
            .map_err(|r| rejection(&change.ident, r))?;
        let proposal = Proposal {
            txn_id: txn_id.to_string(),
            operation: change.operation.clone(),
            parameters: change.parameters.clone(),
            actions,
            isolation: Some(isolation),
            reads: change.reads(),
            user_metadata: change.user_metadata.clone(),
            metrics: change.metrics.clone(),
            engine: ENGINE.to_string(),
        };
        self.check_objects(&table, &state, &proposal, change)
            .await?;
        let landed = log
            .commit(Attempt {
                base: state,
                read_version: change.base_version,
                proposal,
                read,
                timestamp: change.timestamp,
                confine_relocations: true,
            })
            .await
            .map_err(|e| refusal(&change.ident, e))?;
        Ok(Outcome::Written(landed.version))
    }

    /// Before anything is written: the commit is valid on the latest state (so that locations
    /// are confined before any is touched), and every added object exists with its stated
    /// size.
    async fn check_objects(
        &self,
        table: &Table,
        state: &TableState,
        proposal: &Proposal,
        change: &Change,
    ) -> Result<()> {
        proposal
            .check(state)
            .map_err(|e| Error::Unprocessable(format!("{}: {e}", change.ident)))?;
        let candidate = Commit {
            version: state.version() + 1,
            info: proposal.commit_info(state, state.timestamp().saturating_add(1)),
            actions: proposal.actions.clone(),
        };
        let restore_schema = table
            .commit_log()
            .restore_schema(proposal)
            .await
            .map_err(|e| Error::Unprocessable(format!("{}: {e}", change.ident)))?;
        let ctx = ChangeContext {
            table_root: Some(table.uri()),
            restore_schema: restore_schema.as_ref(),
            confine_relocations: true,
        };
        // Checked before any object is looked at: a refused location is never HEADed.
        check_change(state, &candidate, &ctx)
            .map_err(|e| Error::Unprocessable(format!("{}: {e}", change.ident)))?;
        // An expiry names a version whose checkpoint must exist before older log objects may
        // go (SPEC §11.5 step 2).
        let old = strata_format::retention::oldest_version(state.metadata());
        for a in &proposal.actions {
            if let Action::Metadata(m) = a {
                let new = strata_format::retention::oldest_version(m);
                if new > old && !table.checkpoint_exists(new).await? {
                    return Err(Error::Unprocessable(format!(
                        "{}: `{}` = {new} but version {new} has no checkpoint (SPEC §11.5)",
                        change.ident,
                        strata_format::retention::PROP_OLDEST_VERSION
                    )));
                }
            }
        }
        // Tier locations a metadata action introduces are confined like those set through
        // the tier endpoints.
        let root = Place::parse(table.uri())?;
        for a in &proposal.actions {
            if let Action::Metadata(m) = a {
                for t in &m.tiers {
                    let known = state.metadata().tiers.iter().any(|k| k == t);
                    if let (Some(loc), false) = (&t.location, known) {
                        self.confinement
                            .tier_location(&change.ident.namespace, &root, loc)
                            .map_err(|e| {
                                Error::Unprocessable(format!(
                                    "{}: metadata.tiers `{}`: {e}",
                                    change.ident, t.name
                                ))
                            })?;
                    }
                }
            }
        }
        let resolver = StoreResolver::new(table.location().clone());
        let adds: Vec<(usize, String, Option<String>, u64)> = proposal
            .actions
            .iter()
            .enumerate()
            .filter_map(|(i, a)| match a {
                Action::Add(f) => Some((i, f.path.clone(), f.location.clone(), f.size)),
                _ => None,
            })
            .collect();
        futures::stream::iter(adds)
            .map(|(i, path, location, size)| {
                check_object(&resolver, &change.ident, i, path, location, size)
            })
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;
        let vectors: Vec<(usize, AddFile)> = proposal
            .actions
            .iter()
            .enumerate()
            .filter_map(|(i, a)| match a {
                Action::Add(f) if f.deletion_vector.is_some() => Some((i, (**f).clone())),
                _ => None,
            })
            .collect();
        futures::stream::iter(vectors)
            .map(|(i, f)| check_vector(&resolver, &change.ident, i, f))
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// Creates tag `name` at `version` through the catalog's commit path.
    pub async fn create_tag(&self, ident: &TableIdent, name: &str, version: u64) -> Result<u64> {
        let record = self.table_record(ident).await?;
        let (_, latest) = self.handle_latest(&record).await?;
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
            read_predicate: None,
            read_files: BTreeSet::new(),
            user_metadata: None,
            metrics: BTreeMap::new(),
            timestamp: None,
        };
        self.commit_change(&uuid::Uuid::new_v4().to_string(), change)
            .await
    }

    /// Deletes tag `name` through the catalog's commit path.
    pub async fn delete_tag(&self, ident: &TableIdent, name: &str) -> Result<u64> {
        let record = self.table_record(ident).await?;
        let (_, latest) = self.handle_latest(&record).await?;
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
            read_predicate: None,
            read_files: BTreeSet::new(),
            user_metadata: None,
            metrics: BTreeMap::new(),
            timestamp: None,
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
            ..Default::default()
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
        assert!(!c.reads());
        assert_eq!(c.operation, "WRITE");
        let read = ReadScope {
            predicate: Some("id > 3".into()),
            ..Default::default()
        };
        assert!(Change::parse(change(vec![add], read)).unwrap().reads());
    }

    #[test]
    fn a_replayed_txn_matches_only_the_same_change() {
        let a = strata_format::testing::add("a.parquet", 1);
        let c = Change::parse(change(vec![json(&a)], ReadScope::default())).unwrap();
        let mut written = strata_format::testing::commit(4, 1, "WRITE", vec![a.clone()]);
        assert!(c.same_as(&written));
        written.info.operation = "DELETE".into();
        assert!(!c.same_as(&written));
        let other = strata_format::testing::commit(
            4,
            1,
            "WRITE",
            vec![strata_format::testing::add("b.parquet", 1)],
        );
        assert!(!c.same_as(&other));
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
