//! The commit log: the one path by which commits reach a table's log (SPEC §8.1, §8.4).
//!
//! [`Transaction`](crate::Transaction), table creation and the catalog all commit through
//! [`CommitLog`]: the pure rules of [`strata_format::commit`] build and check the commit,
//! this module puts it at the next version with put-if-absent, reads the winners of a lost race
//! and rebases over them ([`strata_format::conflict::rebase`]), and resolves an ambiguous put
//! by looking for its transaction id, so that a commit is never duplicated or lost.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use strata_format::commit::{ChangeContext, Proposal, next_state, next_timestamp};
use strata_format::conflict::{self, ReadSet, Rejection};
use strata_format::log::{Commit, encode_commit};
use strata_format::{Schema, TableState};

use crate::error::{Error, Result};
use crate::log::log_store::PutOutcome;
use crate::table::Table;

/// One commit to place: a proposal read at `read_version`, to be written on top of `base`.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// The state the actions apply to (the newest the writer knows). Commits after it are
    /// winners of the race: the actions are rebased over them.
    pub base: Arc<TableState>,
    /// The version the writer read (`readVersion`); ≤ `base`'s version. A writer that read
    /// an older version rebases its actions over the commits in between before the attempt.
    pub read_version: u64,
    /// The change.
    pub proposal: Proposal,
    /// What the change read, for conflict detection.
    pub read: ReadSet<'a>,
    /// Proposed in-commit timestamp (ms); `None` takes the table's clock. Timestamps stay
    /// increasing either way (SPEC §3.2).
    pub timestamp: Option<i64>,
    /// Refuse relocations outside the table root and tier locations (an arbiter of untrusted
    /// writers sets it).
    pub confine_relocations: bool,
}

/// Where a commit landed.
#[derive(Debug, Clone)]
pub struct Landed {
    /// The version of the commit.
    pub version: u64,
    /// Put attempts it took (1 without contention).
    pub attempts: u32,
    /// The commit as written (its actions may have been rebased).
    pub commit: Commit,
    /// The table state right after it.
    pub state: Arc<TableState>,
}

/// What reading the log from a version found.
#[derive(Debug)]
pub enum Scan {
    /// The commit of the transaction looked for, after `winners`.
    Found {
        /// Our commit as written.
        ours: Box<Commit>,
        /// Commits of other transactions before it.
        winners: Vec<Commit>,
    },
    /// Commits of other transactions, up to the newest.
    Winners(Vec<Commit>),
}

/// Commit access to one table (see the module documentation).
#[derive(Debug, Clone)]
pub struct CommitLog {
    table: Table,
}

impl CommitLog {
    pub(crate) fn new(table: Table) -> Self {
        Self { table }
    }

    /// The commits `from..=to` (an empty list when `from > to`).
    pub async fn read_range(&self, from: u64, to: u64) -> Result<Vec<Commit>> {
        self.table.inner.log.read_commits(from, to).await
    }

    /// Reads the commits from `version` on until one is missing, stopping at the commit of
    /// `txn_id` if there is one; transient read failures are retried.
    pub async fn scan_from(&self, version: u64, txn_id: &str) -> Result<Scan> {
        let mut failures = 0;
        read_from(&self.table, version, txn_id, &mut failures).await
    }

    /// Writes version 0 of a new table with put-if-absent; [`Error::TableExists`] when the
    /// version is taken by another transaction.
    pub async fn create(&self, commit: &Commit) -> Result<Arc<TableState>> {
        let t = &self.table;
        let state = Arc::new(TableState::from_first_commit(commit)?);
        let bytes = encode_commit(commit.info.clone(), &commit.actions)?;
        let exists = || Error::TableExists {
            uri: t.uri().to_string(),
        };
        match t.inner.log.put_commit(0, bytes).await {
            PutOutcome::Created => {}
            PutOutcome::AlreadyExists => return Err(exists()),
            PutOutcome::Ambiguous(e) => {
                // Did our version 0 land? Only if it carries our transaction id.
                match t.inner.log.read_commit_opt(0).await? {
                    Some(c) if c.info.txn_id == commit.info.txn_id => {}
                    Some(_) => return Err(exists()),
                    None => return Err(t.inner.log.storage_err(&t.inner.log.commit_path(0), e)),
                }
            }
        }
        t.remember(state.clone()).await;
        Ok(state)
    }

    /// Places a proposal: checks it, then puts it at the next version; on a lost race reads the
    /// winners, rebases over them (or refuses with a typed conflict) and retries; on an
    /// ambiguous storage failure looks for its transaction id before retrying.
    pub async fn commit(&self, attempt: Attempt<'_>) -> Result<Landed> {
        let landed = self.place(attempt).await;
        if landed.is_err() {
            // Whatever went wrong, the handle's state may be behind: a retry must read.
            self.table.distrust_cached().await;
        }
        landed
    }

    async fn place(&self, attempt: Attempt<'_>) -> Result<Landed> {
        let table = &self.table;
        let log = &table.inner.log;
        let opts = &table.inner.options;
        let uri = || table.uri().to_string();
        let Attempt {
            base,
            read_version,
            proposal,
            read,
            timestamp,
            confine_relocations: confine,
        } = attempt;
        let now = || timestamp.unwrap_or_else(|| opts.clock.now_ms());
        let invalid = |message: String| Error::InvalidOperation {
            table: uri(),
            message,
        };
        proposal.check(&base).map_err(|e| invalid(e.to_string()))?;
        conflict::check_app_transactions(&base, &proposal.actions).map_err(|duplicate| {
            Error::DuplicateBatch {
                table: uri(),
                duplicate,
            }
        })?;
        let restore_schema = self.restore_schema(&proposal).await?;
        let ctx = ChangeContext {
            table_root: Some(table.uri()),
            restore_schema: restore_schema.as_ref(),
            confine_relocations: confine,
        };
        let txn_id = proposal.txn_id.clone();
        let mut info = proposal.commit_info(&base, next_timestamp(now(), base.timestamp()));
        info.read_version = Some(read_version);
        let mut commit = Commit {
            version: base.version() + 1,
            info,
            actions: proposal.actions,
        };
        let mut winners: Vec<Commit> = Vec::new();
        // Validate before writing anything: the candidate is exactly the table after our
        // commit lands at `commit.version`.
        let mut candidate =
            next_state(&base, &winners, &commit, &ctx).map_err(|e| invalid(e.to_string()))?;
        let mut bytes = encode_commit(commit.info.clone(), &commit.actions)?;
        let mut attempts = 0u32;
        let mut failures = 0u32;
        loop {
            attempts += 1;
            if attempts > opts.retry.max_attempts {
                return Err(Error::RetriesExhausted {
                    table: uri(),
                    attempts: attempts - 1,
                    version: commit.version,
                });
            }
            match log.put_commit(commit.version, bytes.clone()).await {
                PutOutcome::Created => break,
                PutOutcome::AlreadyExists => {}
                PutOutcome::Ambiguous(err) => {
                    failures += 1;
                    if failures > opts.retry.max_storage_failures {
                        return Err(Error::CommitOutcomeUnknown {
                            table: uri(),
                            version: commit.version,
                            txn_id,
                            source: Box::new(err),
                        });
                    }
                    tracing::debug!(version = commit.version, %err,
                        "ambiguous commit failure; checking the log");
                    sleep_backoff(&opts.retry, failures).await;
                    // The same bytes are put again if the version is still free.
                    attempts -= 1;
                    continue;
                }
            }
            // Lost the race for the version (or an earlier ambiguous put of ours landed
            // there): read every commit from it on. The handle's state is behind.
            table.distrust_cached().await;
            let new_winners = match read_from(table, commit.version, &txn_id, &mut failures).await?
            {
                Scan::Found { ours, winners: w } => {
                    // An earlier put of ours landed (after `w`, when the caller scanned from
                    // an older version): that is the commit, as written.
                    winners.extend(w);
                    let mut s = (*base).clone();
                    for c in winners.iter().chain(std::iter::once(ours.as_ref())) {
                        s.apply(c)?;
                    }
                    candidate = s;
                    commit = *ours;
                    break;
                }
                Scan::Winners(w) => w,
            };
            let Some(last) = new_winners.last() else {
                // The version is taken but unreadable as a winner: read again.
                continue;
            };
            commit.actions = conflict::rebase(&commit.actions, &read, &new_winners)
                .map_err(|r| rejection(uri(), r))?;
            commit.version = last.version + 1;
            commit.info.timestamp = next_timestamp(now(), last.info.timestamp);
            commit.info.action_count = commit.actions.len() as u64;
            winners.extend(new_winners);
            candidate = next_state(&base, &winners, &commit, &ctx)
                .map_err(|e| invalid(format!("cannot rebase over concurrent commits: {e}")))?;
            bytes = encode_commit(commit.info.clone(), &commit.actions)?;
            // Small jitter so that many writers do not stampede the same version.
            let jitter = rand::rng().random_range(0..=(1u64 << attempts.min(5)));
            tokio::time::sleep(Duration::from_millis(jitter)).await;
        }
        let candidate = Arc::new(candidate);
        table.remember(candidate.clone()).await;
        maybe_checkpoint(table, &candidate).await;
        Ok(Landed {
            version: commit.version,
            attempts,
            commit,
            state: candidate,
        })
    }

    /// For a `RESTORE` commit (operation parameter `version` = w), the schema of version w:
    /// the fields it may reinstate (SPEC §4.4 rule 8).
    pub async fn restore_schema(&self, p: &Proposal) -> Result<Option<Schema>> {
        if p.operation != "RESTORE" {
            return Ok(None);
        }
        let Some(v) = p
            .parameters
            .get("version")
            .and_then(serde_json::Value::as_u64)
        else {
            return Ok(None);
        };
        let state = self.table.committed_state(v).await?;
        Ok(Some(state.metadata().schema.clone()))
    }
}

/// Reads commits from `version` on until one is missing or the commit of `txn_id` is found,
/// retrying transient read failures.
async fn read_from(table: &Table, version: u64, txn_id: &str, failures: &mut u32) -> Result<Scan> {
    let log = &table.inner.log;
    let policy = &table.inner.options.retry;
    let mut winners = Vec::new();
    let mut v = version;
    loop {
        match log.read_commit_opt(v).await {
            Ok(Some(c)) if c.info.txn_id == txn_id => {
                return Ok(Scan::Found {
                    ours: Box::new(c),
                    winners,
                });
            }
            Ok(Some(c)) => {
                winners.push(c);
                v += 1;
            }
            Ok(None) => return Ok(Scan::Winners(winners)),
            Err(e) if matches!(e, Error::Storage { .. }) => {
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
        && let Err(e) = table.inner.log.write_checkpoint(state).await
    {
        tracing::warn!(table = table.uri(), version = state.version(), error = %e,
                "checkpoint failed; the commit is safe, readers replay more commits");
    }
}
