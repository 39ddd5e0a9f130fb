//! How a handle learns the latest state: its cache, the state reuse window, the first load
//! (checkpoint plus the commits after it) and incremental refreshes.

use std::sync::Arc;

use strata_format::TableState;

use super::Table;
use crate::error::{Error, Result};
use crate::log::log_store::LogStore;

/// The newest state a handle knows and when it last learned it was the newest (`None` once
/// the handle has learned it may not be: a lost race, a conflict, a commit made elsewhere).
pub(super) struct Cached {
    pub(super) state: Arc<TableState>,
    pub(super) at: Option<std::time::Instant>,
}

impl Table {
    pub(crate) async fn cached_latest(&self) -> Option<Arc<TableState>> {
        self.inner
            .latest
            .lock()
            .await
            .as_ref()
            .map(|c| c.state.clone())
    }

    /// The cached state, if it was learned within the handle's state reuse window.
    async fn recent_latest(&self) -> Option<Arc<TableState>> {
        let within = self.inner.options.state_reuse;
        if within.is_zero() {
            return None;
        }
        let guard = self.inner.latest.lock().await;
        guard
            .as_ref()
            .filter(|c| c.at.is_some_and(|at| at.elapsed() < within))
            .map(|c| c.state.clone())
    }

    /// Ends the state reuse window: the next `latest()` asks the store. Called when the handle
    /// learns that its state may be behind (a commit lost a race or was refused, or a commit
    /// handler wrote a version this handle has not read).
    pub(crate) async fn distrust_cached(&self) {
        if let Some(c) = self.inner.latest.lock().await.as_mut() {
            c.at = None;
        }
    }

    /// Records `state` as the newest known (read from the store or just committed).
    pub(crate) async fn remember(&self, state: Arc<TableState>) {
        let mut guard = self.inner.latest.lock().await;
        match guard.as_mut() {
            Some(c) if c.state.version() > state.version() => {}
            Some(c) if c.state.version() == state.version() => {
                c.at = Some(std::time::Instant::now())
            }
            _ => {
                *guard = Some(Cached {
                    state,
                    at: Some(std::time::Instant::now()),
                })
            }
        }
    }

    /// The state at `version`, which a commit handler (e.g. a catalog) wrote on top of `base`:
    /// `base` with the commits after it read at once and applied, not the probing refresh and
    /// time travel of [`Table::snapshot_at_version`]. It is remembered as the newest known but
    /// not trusted: the next `latest()` looks for commits after it.
    pub(crate) async fn state_after_handler(
        &self,
        base: &Arc<TableState>,
        version: u64,
    ) -> Result<Arc<TableState>> {
        if version <= base.version() {
            return Ok(self.snapshot_at_version(version).await?.state_arc().clone());
        }
        let commits = self
            .inner
            .log
            .read_commits(base.version() + 1, version)
            .await?;
        let mut state = Arc::unwrap_or_clone(base.clone());
        for c in &commits {
            state
                .apply(c)
                .map_err(|e| self.corrupt_commit(c.version, e))?;
        }
        let state = Arc::new(state);
        self.remember(state.clone()).await;
        self.distrust_cached().await;
        Ok(state)
    }

    /// Loads the newest state: incrementally from the cached state, else from the newest
    /// checkpoint plus the commits after it (SPEC §10.3).
    pub(crate) async fn load_latest(&self) -> Result<Arc<TableState>> {
        if let Some(recent) = self.recent_latest().await {
            return Ok(recent);
        }
        let log = &self.inner.log;
        let state = match self.cached_latest().await {
            Some(cached) => self.refresh(cached).await?,
            None => {
                let pointer = log.read_last_checkpoint().await?;
                // On a local file system, reading the commits after the pointed checkpoint
                // until one is missing finds the newest version without a LIST (commits are
                // contiguous, SPEC §10.5). Elsewhere a LIST after the pointer is one request.
                if let Some(p) = &pointer
                    && self.location().is_local()
                    && let Some(state) = self.replay_probing(p.version).await?
                {
                    self.remember(state.clone()).await;
                    return Ok(state);
                }
                let listing = log.list(pointer.as_ref().map(|p| p.version)).await?;
                let base = listing
                    .checkpoints
                    .last()
                    .copied()
                    .or(pointer.map(|p| p.version));
                if base.is_none() && listing.commits.is_empty() {
                    return Err(Error::TableNotFound {
                        uri: self.uri().to_string(),
                    });
                }
                let commits: Vec<u64> = listing
                    .commits
                    .iter()
                    .copied()
                    .filter(|&v| base.is_none_or(|b| v > b))
                    .collect();
                self.replay(base, &commits, log).await?
            }
        };
        self.remember(state.clone()).await;
        Ok(state)
    }

    /// The newest state from checkpoint `base` and the commits after it, read one by one until
    /// one is missing; `None` when the checkpoint does not exist (the caller lists the log).
    async fn replay_probing(&self, base: u64) -> Result<Option<Arc<TableState>>> {
        let log = &self.inner.log;
        if !log.checkpoint_exists(base).await? {
            return Ok(None);
        }
        let mut state = Arc::unwrap_or_clone(self.replay(Some(base), &[], log).await?);
        let mut next = base + 1;
        while let Some(c) = log.read_commit_opt(next).await? {
            state
                .apply(&c)
                .map_err(|e| self.corrupt_commit(c.version, e))?;
            next += 1;
        }
        Ok(Some(Arc::new(state)))
    }

    /// Brings a cached state up to date. Commits are contiguous, so probing the next commit
    /// files with GETs finds new ones without a LIST (whose cost grows with the log on some
    /// stores); a handle far behind falls back to LIST and may jump to a newer checkpoint.
    async fn refresh(&self, cached: Arc<TableState>) -> Result<Arc<TableState>> {
        const PROBES: usize = 16;
        let log = &self.inner.log;
        let mut found = Vec::new();
        let mut next = cached.version() + 1;
        while found.len() < PROBES {
            match log.read_commit_opt(next).await? {
                Some(c) => {
                    found.push(c);
                    next += 1;
                }
                None => break,
            }
        }
        if found.is_empty() {
            return Ok(cached);
        }
        let mut state = Arc::unwrap_or_clone(cached);
        for c in &found {
            state
                .apply(c)
                .map_err(|e| self.corrupt_commit(c.version, e))?;
        }
        if found.len() < PROBES {
            return Ok(Arc::new(state));
        }
        let listing = log.list(Some(state.version())).await?;
        let Some(&last) = listing.commits.last() else {
            return Ok(Arc::new(state));
        };
        let jump = listing.checkpoints.last().copied().filter(|&c| {
            c > state.version() && last - state.version() > self.checkpoint_interval(&state)
        });
        if let Some(c) = jump {
            return self.replay(Some(c), &listing.commits, log).await;
        }
        self.check_contiguous(state.version(), &listing.commits)?;
        for c in log.read_commits(state.version() + 1, last).await? {
            state
                .apply(&c)
                .map_err(|e| self.corrupt_commit(c.version, e))?;
        }
        Ok(Arc::new(state))
    }

    pub(super) fn corrupt_commit(&self, version: u64, source: strata_format::FormatError) -> Error {
        Error::Corrupt {
            table: self.uri().to_string(),
            path: self.inner.log.commit_path(version).to_string(),
            version,
            source,
        }
    }

    /// Fails with [`Error::VersionExpired`] when `version` is before the oldest version the
    /// log keeps (SPEC §11.5).
    pub(crate) fn check_retained(&self, version: u64, latest: &TableState) -> Result<()> {
        let oldest = strata_format::retention::oldest_version(latest.metadata());
        if version < oldest {
            return Err(Error::VersionExpired {
                table: self.uri().to_string(),
                version,
                oldest,
            });
        }
        Ok(())
    }

    fn check_contiguous(&self, base: u64, commits: &[u64]) -> Result<()> {
        for (expected, &v) in (base + 1..).zip(commits.iter().filter(|&&v| v > base)) {
            if v != expected {
                return Err(Error::MissingVersion {
                    table: self.uri().to_string(),
                    path: self.inner.log.commit_path(expected).to_string(),
                    version: expected,
                });
            }
        }
        Ok(())
    }

    /// State from checkpoint `base` (or from version 0) plus the listed commits after it.
    pub(super) async fn replay(
        &self,
        base: Option<u64>,
        commits: &[u64],
        log: &LogStore,
    ) -> Result<Arc<TableState>> {
        // The base (a checkpoint, or commit 0) and the commits after it are read at once: one
        // round trip to the store instead of two.
        let start = base.unwrap_or(0);
        self.check_contiguous(start, commits)?;
        let later = async {
            match commits.last().filter(|&&l| l > start) {
                Some(&last) => log.read_commits(start + 1, last).await,
                None => Ok(Vec::new()),
            }
        };
        let first = async {
            match base {
                Some(b) => log.read_checkpoint_state(b).await,
                None => {
                    let first = log.read_commit(0).await?;
                    TableState::from_first_commit(&first).map_err(|e| self.corrupt_commit(0, e))
                }
            }
        };
        let (mut state, later) = futures::future::try_join(first, later).await?;
        for c in later {
            state
                .apply(&c)
                .map_err(|e| self.corrupt_commit(c.version, e))?;
        }
        Ok(Arc::new(state))
    }
}
