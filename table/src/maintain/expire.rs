//! `EXPIRE`: log retention (SPEC §11.5). The version current at the retention cutoff becomes
//! the oldest retained version (lowered to keep the last versions asked for and every tagged
//! version): a checkpoint of it is ensured, a commit records it
//! (`strata.log.oldestVersion`), and only then are the commit files and checkpoints before it
//! deleted. A re-run after a crash deletes what the crashed run left. Data files are never
//! touched (that is vacuum's job).

use strata_format::Action;
use strata_format::retention::{ExpiryInput, PROP_OLDEST_VERSION, new_oldest, oldest_version};

use crate::error::Result;
use crate::log::snapshot::Snapshot;
use crate::log::transaction::CommitResult;
use crate::table::Table;

/// Options of [`Table::expire`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExpireOptions {
    /// Versions committed more than this long ago (ms) may expire, except the one current at
    /// that time.
    pub older_than_ms: i64,
    /// Keep at least this many newest versions.
    pub keep_last: Option<u64>,
    /// Report only; change nothing.
    pub dry_run: bool,
}

impl ExpireOptions {
    /// Expire versions older than `ms` milliseconds.
    pub fn older_than_ms(ms: i64) -> Self {
        Self {
            older_than_ms: ms.max(0),
            ..Self::default()
        }
    }
    /// Keep at least the `n` newest versions.
    pub fn keep_last(mut self, n: u64) -> Self {
        self.keep_last = Some(n);
        self
    }
    /// Report without changing anything.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// What [`Table::expire`] did (or, for a dry run, would do).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExpireReport {
    /// The commit recording the new oldest version; `None` when it did not change.
    pub commit: Option<CommitResult>,
    /// The oldest retained version before.
    pub oldest_before: u64,
    /// The oldest retained version after.
    pub oldest_after: u64,
    /// Commit files deleted (versions).
    pub commits_deleted: Vec<u64>,
    /// Checkpoints deleted (versions).
    pub checkpoints_deleted: Vec<u64>,
    /// Whether a checkpoint of the new oldest version was written.
    pub checkpoint_written: bool,
}

impl Table {
    /// Expires old versions of the log as described in the module documentation (operation
    /// `EXPIRE`, parameters `oldestVersion`, `olderThanMs`). Every version from the new oldest
    /// on reads exactly as before; older ones fail with [`crate::Error::VersionExpired`].
    pub async fn expire(&self, options: ExpireOptions) -> Result<ExpireReport> {
        let latest = self.latest().await?;
        let oldest = oldest_version(latest.metadata());
        let cutoff = self
            .inner
            .options
            .clock
            .now_ms()
            .saturating_sub(options.older_than_ms);
        let as_of_cutoff = self.version_as_of(&latest, oldest, cutoff).await?;
        // An expiry's own commit is not a version to keep: a repeated expiry with the same
        // settings then finds nothing to do instead of moving by one version each time.
        let newest_kept = if latest.commit_info().operation == "EXPIRE" {
            latest.version().saturating_sub(1)
        } else {
            latest.version()
        };
        let next = new_oldest(&ExpiryInput {
            latest: newest_kept,
            oldest,
            as_of_cutoff,
            keep_last: options.keep_last,
            tags: latest.tags(),
        });
        let target = next.unwrap_or(oldest);
        let log = &self.inner.log;
        let listing = log.list(None).await?;
        let mut report = ExpireReport {
            oldest_before: oldest,
            oldest_after: target,
            commits_deleted: listing
                .commits
                .iter()
                .copied()
                .filter(|&v| v < target)
                .collect(),
            checkpoints_deleted: listing
                .checkpoints
                .iter()
                .copied()
                .filter(|&v| v < target)
                .collect(),
            ..ExpireReport::default()
        };
        if options.dry_run {
            report.checkpoint_written = next.is_some() && !listing.checkpoints.contains(&target);
            return Ok(report);
        }
        if let Some(n) = next {
            if !log.checkpoint_exists(n).await? {
                let state = self.committed_state(n).await?;
                let pointer = log.put_checkpoint(&state).await?;
                report.checkpoint_written = true;
                // Readers start from the pointer: it must not name a checkpoint that goes.
                if log
                    .read_last_checkpoint()
                    .await?
                    .is_none_or(|p| p.version < n)
                {
                    log.write_pointer(&pointer).await?;
                }
            }
            report.commit = Some(self.record_oldest(n, options.older_than_ms).await?);
        }
        for &v in &report.commits_deleted {
            log.delete_expired(v, false).await?;
        }
        for &v in &report.checkpoints_deleted {
            log.delete_expired(v, true).await?;
        }
        Ok(report)
    }

    /// The newest version committed at or before `cutoff`, searching from `oldest`; `None`
    /// when `oldest` itself is newer.
    async fn version_as_of(
        &self,
        latest: &Snapshot,
        oldest: u64,
        cutoff: i64,
    ) -> Result<Option<u64>> {
        if latest.timestamp() <= cutoff {
            return Ok(Some(latest.version()));
        }
        let log = &self.inner.log;
        if log.read_commit_info(oldest).await?.timestamp > cutoff {
            return Ok(None);
        }
        // Invariant: ts(lo) <= cutoff < ts(hi).
        let (mut lo, mut hi) = (oldest, latest.version());
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if log.read_commit_info(mid).await?.timestamp <= cutoff {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(Some(lo))
    }

    /// Commits `strata.log.oldestVersion = n` (never lowering it).
    async fn record_oldest(&self, n: u64, older_than_ms: i64) -> Result<CommitResult> {
        let txn = self.transaction().await?;
        let mut metadata = txn.base().metadata().clone();
        let current = oldest_version(&metadata);
        metadata
            .properties
            .insert(PROP_OLDEST_VERSION.to_string(), n.max(current).to_string());
        txn.operation("EXPIRE")
            .parameter("oldestVersion", n.max(current))
            .parameter("olderThanMs", older_than_ms)
            .action(Action::Metadata(Box::new(metadata)))
            .commit()
            .await
    }
}
