//! Restoring archived files (SPEC §6.4.1): objects in an archive storage class (S3 `GLACIER`,
//! `DEEP_ARCHIVE`) cannot be read until a restore makes a temporary readable copy. A restore
//! requests it (S3 RestoreObject), records the request in the table (a `relocate` that keeps the
//! file's tier, location and class and sets `restore`), optionally waits for it to complete
//! (polling HeadObject), and records the restored copy's expiry. Readers then read the file
//! until that expiry.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::Value;
use strata_format::actions::RestoreState;
use strata_format::location::location_uri;
use strata_format::tiering::needs_restore;
use strata_format::{Action, Relocate};

use super::s3::{self, RestoreStatus};
use crate::error::{Error, Result};
use crate::table::Table;

/// How fast S3 retrieves archived objects (RestoreObject's retrieval tier; faster costs more).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestoreSpeed {
    /// Minutes (GLACIER only).
    Expedited,
    /// Hours (the default).
    #[default]
    Standard,
    /// The cheapest, up to a day or two.
    Bulk,
}

impl RestoreSpeed {
    /// The S3 name (`Expedited`, `Standard`, `Bulk`).
    pub fn as_s3(self) -> &'static str {
        match self {
            RestoreSpeed::Expedited => "Expedited",
            RestoreSpeed::Standard => "Standard",
            RestoreSpeed::Bulk => "Bulk",
        }
    }
}

/// Options of a restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Days the restored copies stay readable (default 7).
    pub days: u32,
    /// Retrieval speed.
    pub speed: RestoreSpeed,
    /// Wait until every restore has completed (default true).
    pub wait: bool,
    /// How often to check restores in progress while waiting (default 30 s).
    pub poll_interval: Duration,
    /// Give up waiting after this long (default: never); the restores stay requested.
    pub timeout: Option<Duration>,
    /// Objects handled at once (default 8).
    pub concurrency: usize,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        Self {
            days: 7,
            speed: RestoreSpeed::default(),
            wait: true,
            poll_interval: Duration::from_secs(30),
            timeout: None,
            concurrency: 8,
        }
    }
}

/// A file a restore handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoredFile {
    /// Logical path.
    pub path: String,
    /// Physical location.
    pub location: String,
    /// Storage class.
    pub storage_class: String,
    /// Expiry of the restored copy (ms since epoch); `None` while the restore is in progress.
    pub expires_ms: Option<i64>,
}

/// What a restore did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    /// The last version committed (`None`: nothing needed restoring).
    pub version: Option<u64>,
    /// Archived files handled, with their state when the restore returned.
    pub files: Vec<RestoredFile>,
    /// Files named that were readable already (not archived, or restored and unexpired).
    pub readable: usize,
}

impl RestoreReport {
    /// Files whose restore is still in progress.
    pub fn pending(&self) -> impl Iterator<Item = &RestoredFile> {
        self.files.iter().filter(|f| f.expires_ms.is_none())
    }
}

struct Target {
    file: RestoredFile,
    tier: String,
    location: Option<String>,
}

impl Table {
    /// Restores the archived files among `paths` (active or removed files of the newest
    /// version; SPEC §6.4.1). Files that are readable are left alone. On S3 it starts
    /// RestoreObject for each, commits their restore state (`TIER RESTORE`), and, with
    /// [`RestoreOptions::wait`], polls until every restore has completed and commits their
    /// expiries. On stores without archive semantics the bytes are readable already: the
    /// restore completes at once, valid for `days`.
    pub async fn restore_files(
        &self,
        paths: &[String],
        options: &RestoreOptions,
    ) -> Result<RestoreReport> {
        let snap = self.latest().await?;
        let state = snap.state();
        let root = self.uri().to_string();
        let now = self.inner.options.clock.now_ms();
        let mut targets = Vec::new();
        let mut report = RestoreReport::default();
        let mut seen = std::collections::BTreeSet::new();
        for path in paths {
            if !seen.insert(path.as_str()) {
                continue;
            }
            let loc = state
                .file_location(path)
                .ok_or_else(|| Error::InvalidOperation {
                    table: root.clone(),
                    message: format!(
                        "`{path}` is not a data file of the table (version {})",
                        snap.version()
                    ),
                })?;
            let class = loc.storage_class.clone().unwrap_or_default();
            if !needs_restore(loc.storage_class.as_deref(), loc.restore.as_ref(), now) {
                report.readable += 1;
                continue;
            }
            targets.push(Target {
                file: RestoredFile {
                    path: path.clone(),
                    location: loc
                        .location
                        .clone()
                        .unwrap_or_else(|| location_uri(&root, path)),
                    storage_class: class,
                    expires_ms: None,
                },
                tier: loc.tier,
                location: loc.location,
            });
        }
        if targets.is_empty() {
            return Ok(report);
        }
        let days = i32::try_from(options.days.max(1)).unwrap_or(i32::MAX);
        let day_ms = 86_400_000_i64;
        let fail = |t: &Target, message: String| Error::RestoreFailed {
            table: root.clone(),
            path: t.file.path.clone(),
            location: t.file.location.clone(),
            message,
        };
        // 1. Request every restore, then learn where each stands. Owned items (not references
        // into `targets`): a closure over borrowed items would make the future not provably
        // `Send` (a higher-ranked lifetime), and servers need `Send`.
        let speed = options.speed.as_s3();
        let jobs: Vec<(String, String)> = targets
            .iter()
            .map(|t| (t.file.path.clone(), t.file.location.clone()))
            .collect();
        let statuses: Vec<RestoreStatus> =
            futures::stream::iter(jobs.into_iter().map(|(path, location)| {
                let table = root.clone();
                async move {
                    if !location.starts_with("s3://") {
                        return Ok(RestoreStatus::Ready(now + i64::from(days) * day_ms));
                    }
                    let result = match s3::request_restore(&location, days, speed).await {
                        Ok(()) => s3::restore_status(&location).await,
                        Err(m) => Err(m),
                    };
                    result.map_err(|message| Error::RestoreFailed {
                        table,
                        path,
                        location,
                        message,
                    })
                }
            }))
            .buffered(options.concurrency.max(1))
            .try_collect()
            .await?;
        for (t, s) in targets.iter_mut().zip(&statuses) {
            t.file.expires_ms = match s {
                RestoreStatus::Ready(e) => Some(*e),
                RestoreStatus::None | RestoreStatus::Ongoing => None,
            };
        }
        report.version = Some(self.commit_restores(&targets, now).await?);

        // 2. Wait for the ones in progress.
        let started = Instant::now();
        while options.wait && targets.iter().any(|t| t.file.expires_ms.is_none()) {
            if options
                .timeout
                .is_some_and(|limit| started.elapsed() >= limit)
            {
                let pending = targets
                    .iter()
                    .filter(|t| t.file.expires_ms.is_none())
                    .map(|t| t.file.path.clone())
                    .collect();
                return Err(Error::RestoreTimeout {
                    table: root.clone(),
                    pending,
                });
            }
            tokio::time::sleep(options.poll_interval).await;
            let mut completed = false;
            for t in targets.iter_mut().filter(|t| t.file.expires_ms.is_none()) {
                if let RestoreStatus::Ready(e) = s3::restore_status(&t.file.location)
                    .await
                    .map_err(|m| fail(t, m))?
                {
                    t.file.expires_ms = Some(e);
                    completed = true;
                }
            }
            if completed && targets.iter().all(|t| t.file.expires_ms.is_some()) {
                report.version = Some(self.commit_restores(&targets, now).await?);
            }
        }
        report.files = targets.into_iter().map(|t| t.file).collect();
        Ok(report)
    }

    /// Commits the restore state of `targets` (one `relocate` each, keeping tier, location and
    /// storage class): returns the version.
    async fn commit_restores(&self, targets: &[Target], requested_ms: i64) -> Result<u64> {
        let mut txn = self
            .transaction()
            .await?
            .operation("TIER RESTORE")
            .parameter("files", Value::from(targets.len()));
        for t in targets {
            txn = txn.action(Action::Relocate(Relocate {
                path: t.file.path.clone(),
                tier: t.tier.clone(),
                location: t.location.clone(),
                storage_class: Some(t.file.storage_class.clone()),
                restore: Some(RestoreState {
                    requested_ms,
                    expires_ms: t.file.expires_ms,
                }),
            }));
        }
        Ok(txn.commit().await?.version)
    }
}
