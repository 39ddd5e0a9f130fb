//! Time travel: the state at a version (SPEC §11.1) and at a timestamp (SPEC §11.2).

use std::sync::Arc;

use strata_format::TableState;

use super::Table;
use crate::error::{Error, Result};
use crate::log::snapshot::Snapshot;

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| format!("{ms} ms"))
}

impl Table {
    /// The snapshot at `version`, with file locations resolved as of the newest version.
    pub async fn snapshot_at_version(&self, version: u64) -> Result<Snapshot> {
        let latest = self.latest_covering(version).await?;
        if version == latest.version() {
            return Ok(self.snapshot_of(latest));
        }
        let state = self.committed_state_with(version, &latest).await?;
        let mut state = Arc::unwrap_or_clone(state);
        state.overlay_locations(&latest);
        Ok(self.snapshot_of(Arc::new(state)))
    }

    /// The state at `version` exactly as committed: file locations are those of that version,
    /// not resolved with later relocations (for comparing versions, e.g. tier moves).
    pub async fn committed_state(&self, version: u64) -> Result<Arc<TableState>> {
        let latest = self.latest_covering(version).await?;
        self.committed_state_with(version, &latest).await
    }

    /// The latest state, read again from the store when a reused one is older than `version`
    /// (the version may have been committed since the state reuse window began).
    async fn latest_covering(&self, version: u64) -> Result<Arc<TableState>> {
        let latest = self.load_latest().await?;
        if version <= latest.version() || self.inner.options.state_reuse.is_zero() {
            return Ok(latest);
        }
        self.distrust_cached().await;
        self.load_latest().await
    }

    async fn committed_state_with(
        &self,
        version: u64,
        latest: &Arc<TableState>,
    ) -> Result<Arc<TableState>> {
        if version > latest.version() {
            return Err(Error::VersionNotFound {
                table: self.uri().to_string(),
                version,
                latest: latest.version(),
            });
        }
        if version == latest.version() {
            return Ok(latest.clone());
        }
        self.check_retained(version, latest)?;
        let log = &self.inner.log;
        let interval = self.checkpoint_interval(latest);
        // The checkpoint the interval puts at or below `version`, or the one an expiry left at
        // the oldest retained version (SPEC §11.5), whose commits before it may be gone.
        let oldest = strata_format::retention::oldest_version(latest.metadata());
        let guess = (version / interval * interval).max(oldest);
        if guess == 0 {
            // Before the first checkpoint of the interval, nothing expired: at most an interval
            // of commits from version 0, read at once (no listing for a checkpoint an older
            // interval left).
            let commits: Vec<u64> = (1..=version).collect();
            return self.replay(None, &commits, log).await;
        }
        // That checkpoint is read with the commits after it (all retained) in one round trip;
        // only when it is missing is the log listed.
        let (checkpoint, later) = futures::future::try_join(
            log.read_checkpoint_state_opt(guess),
            log.read_commits(guess + 1, version),
        )
        .await?;
        if let Some(mut state) = checkpoint {
            for c in later {
                state
                    .apply(&c)
                    .map_err(|e| self.corrupt_commit(c.version, e))?;
            }
            return Ok(Arc::new(state));
        }
        // The interval may have changed: find the newest checkpoint at or below `version`.
        let listing = log.list(None).await?;
        let base = listing
            .checkpoints
            .iter()
            .copied()
            .filter(|&c| c <= version)
            .max();
        let start = base.unwrap_or(0);
        let commits: Vec<u64> = (start + 1..=version).collect();
        self.replay(base, &commits, log).await
    }

    /// The snapshot of the latest version committed at or before `timestamp_ms` (SPEC §11):
    /// a binary search over in-commit timestamps reading O(log n) commit infos.
    pub async fn snapshot_at_timestamp(&self, timestamp_ms: i64) -> Result<Snapshot> {
        let latest = self.load_latest().await?;
        if timestamp_ms >= latest.timestamp() {
            return Ok(self.snapshot_of(latest));
        }
        let log = &self.inner.log;
        let oldest = strata_format::retention::oldest_version(latest.metadata());
        let first = log.read_commit_info(oldest).await?;
        if timestamp_ms < first.timestamp && oldest > 0 {
            return Err(Error::TimestampExpired {
                table: self.uri().to_string(),
                timestamp: rfc3339(timestamp_ms),
                oldest,
                oldest_time: rfc3339(first.timestamp),
            });
        }
        if timestamp_ms < first.timestamp {
            return Err(Error::TimestampBeforeTable {
                table: self.uri().to_string(),
                timestamp: rfc3339(timestamp_ms),
                first: rfc3339(first.timestamp),
            });
        }
        // Invariant: ts(lo) <= t < ts(hi). A 4-ary search: each round reads 3 commit infos at
        // once, so latency is ~log4(n) reads instead of log2(n).
        let (mut lo, mut hi) = (oldest, latest.version());
        while hi - lo > 1 {
            let probes = search_probes(lo, hi);
            let infos =
                futures::future::try_join_all(probes.iter().map(|&v| log.read_commit_info(v)))
                    .await?;
            for (&v, info) in probes.iter().zip(&infos) {
                if info.timestamp <= timestamp_ms {
                    lo = v;
                } else {
                    hi = v;
                    break;
                }
            }
        }
        self.snapshot_at_version(lo).await
    }
}

/// Up to 3 versions strictly between `lo` and `hi` splitting the range in 4 (ascending).
fn search_probes(lo: u64, hi: u64) -> Vec<u64> {
    let mut probes: Vec<u64> = (1..4u64).map(|i| lo + (hi - lo) * i / 4).collect();
    probes.retain(|&v| v > lo && v < hi);
    probes.dedup();
    probes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_probes_split_the_open_range_in_order() {
        assert_eq!(search_probes(0, 2000), vec![500, 1000, 1500]);
        assert_eq!(search_probes(10, 12), vec![11]);
        assert_eq!(search_probes(10, 13), vec![11, 12]);
        assert!(search_probes(5, 6).is_empty());
    }
}
