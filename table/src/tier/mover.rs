//! Tier moves (SPEC §6.3) and the move journal that makes them crash-safe (SPEC §6.6).
//!
//! A move: write a journal record naming every (path, old location, new location); copy the
//! files (bounded concurrency); commit one `relocate` per file; stamp the record with the commit
//! time; after the grace period, delete the old copies. The journal is what lets any later run
//! finish a move a crash interrupted: a location is deleted only when it is not the file's
//! current location in the newest version, so neither a crash nor a concurrent writer can make
//! the cleanup delete bytes a version still resolves to.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use strata_format::actions::DEFAULT_TIER;
use strata_format::location::location_uri;
use strata_format::tiering::needs_restore;
use strata_format::{Action, Relocate, TableState, TierDef};

use super::copy::{Endpoint, copy_object, same_namespace, server_side_copy, verify_copy};
use super::s3;
use crate::error::{Error, Result};
use crate::log::transaction::Transaction;
use crate::storage::resolve::StoreResolver;
use crate::table::Table;

/// Folder of the move journal under the table root.
pub const MOVE_JOURNAL_DIR: &str = "_strata_tier/moves";

/// A step of a move, for crash-injection tests: [`MoveOptions::crash_at`] makes the move stop
/// there with an error, as if the process had died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveStep {
    /// After the journal record is written, before any copy.
    BeforeCopy,
    /// After every copy, before the commit.
    AfterCopy,
    /// After the commit, before the journal record is stamped.
    AfterCommit,
    /// After the record is stamped, before old copies are deleted.
    BeforeDelete,
}

/// A test hook run between the copies and the commit of a move.
pub type BeforeCommitHook =
    std::sync::Arc<dyn Fn() -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

/// Called with the bytes of each file once its copy is complete (for progress bars).
pub type ProgressHook = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// Options of tier moves and their cleanup.
#[derive(Clone)]
pub struct MoveOptions {
    /// Files copied at once (default 8).
    pub concurrency: usize,
    /// How long old copies stay after the commit, for readers that resolved them before
    /// (default one hour; SPEC §6.3).
    pub grace: Duration,
    /// How long an uncommitted move's journal record is left alone before its new copies are
    /// deleted as abandoned (default 24 hours: longer than any move in progress takes).
    pub abandon_after: Duration,
    /// Test hook: stop at this step with an error, as a crash would.
    pub crash_at: Option<MoveStep>,
    /// Test hook: runs after the copies, before the commit (e.g. a concurrent writer).
    pub before_commit: Option<BeforeCommitHook>,
    /// Stream every copy through this process even where the store can copy by itself (one
    /// bucket, one file system: there a store copy is the default, and on a local file system
    /// it is a hard link).
    pub stream_copies: bool,
    /// Progress: called with each file's size when its copy completes.
    pub on_copied: Option<ProgressHook>,
}

impl std::fmt::Debug for MoveOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoveOptions")
            .field("concurrency", &self.concurrency)
            .field("grace", &self.grace)
            .field("abandon_after", &self.abandon_after)
            .field("crash_at", &self.crash_at)
            .field("before_commit", &self.before_commit.is_some())
            .field("stream_copies", &self.stream_copies)
            .field("on_copied", &self.on_copied.is_some())
            .finish()
    }
}

impl MoveOptions {
    /// Old copies are deleted right after the commit and abandoned moves at once: for tests and
    /// for tables no reader uses while they move.
    pub fn immediate() -> Self {
        Self {
            grace: Duration::ZERO,
            abandon_after: Duration::ZERO,
            ..Self::default()
        }
    }
}

impl Default for MoveOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            grace: Duration::from_secs(3600),
            abandon_after: Duration::from_secs(24 * 3600),
            crash_at: None,
            before_commit: None,
            stream_copies: false,
            on_copied: None,
        }
    }
}

/// A file a move relocated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MovedFile {
    /// Logical path.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Tier before.
    pub from_tier: String,
    /// Location before.
    pub from: String,
    /// Location after.
    pub to: String,
}

/// What a move did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveReport {
    /// Target tier.
    pub tier: String,
    /// The version committed (`None`: nothing to move).
    pub version: Option<u64>,
    /// Files relocated.
    pub moved: Vec<MovedFile>,
    /// Files left out because a concurrent commit removed them (their copies were deleted).
    pub dropped: Vec<String>,
    /// Bytes relocated.
    pub bytes: u64,
    /// Old or abandoned copies deleted by the cleanup of this run.
    pub cleaned: usize,
    /// Files a policy would move that are archived and not restored (SPEC §6.4): they cannot
    /// be copied, so they were left where they are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_archived: Vec<String>,
    /// Small files a policy packed into new files of `tier` instead of moving them one by one
    /// (SPEC §6.5 `packTargetBytes`); `version` is then the packing commit.
    #[serde(skip_serializing_if = "is_zero")]
    pub packed_files: usize,
    /// The files they were packed into.
    #[serde(skip_serializing_if = "is_zero")]
    pub packed_into: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A move journal record (SPEC §6.6).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JournalRecord {
    id: String,
    created_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    committed_ms: Option<i64>,
    entries: Vec<JournalEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JournalEntry {
    path: String,
    from: String,
    to: String,
}

fn crash(options: &MoveOptions, step: MoveStep, table: &str) -> Result<()> {
    if options.crash_at == Some(step) {
        return Err(Error::InvalidOperation {
            table: table.to_string(),
            message: format!("crash injected at {step:?}"),
        });
    }
    Ok(())
}

/// The current physical location of `path` in `state` (active or tombstoned), if known.
fn current_location(state: &TableState, root: &str, path: &str) -> Option<String> {
    state
        .file_location(path)
        .map(|l| l.location.unwrap_or_else(|| location_uri(root, path)))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Table {
    fn tier_def(&self, state: &TableState, tier: &str) -> Result<TierDef> {
        let meta = state.metadata();
        if meta.tiers.is_empty() && tier == DEFAULT_TIER {
            return Ok(TierDef {
                name: DEFAULT_TIER.into(),
                location: None,
                storage_class: None,
            });
        }
        let def = meta
            .tiers
            .iter()
            .find(|t| t.name == tier)
            .cloned()
            .ok_or_else(|| Error::InvalidOperation {
                table: self.uri().to_string(),
                message: format!(
                    "the table has no tier `{tier}` (tiers: {}); define it with set_tiers",
                    strata_format::tiering::tier_names(meta).join(", ")
                ),
            })?;
        super::checked_location(self.uri(), &def)?;
        Ok(def)
    }

    fn journal_path(&self, id: &str) -> Path {
        self.location()
            .child(&format!("{MOVE_JOURNAL_DIR}/{id}.json"))
    }

    async fn write_record(&self, record: &JournalRecord) -> Result<()> {
        let path = self.journal_path(&record.id);
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| Error::InvalidOperation {
            table: self.uri().to_string(),
            message: format!("cannot encode the move journal: {e}"),
        })?;
        self.location()
            .store()
            .put(&path, bytes.into())
            .await
            .map_err(|e| self.storage_error(&path, e))?;
        Ok(())
    }

    fn storage_error(&self, path: &Path, e: object_store::Error) -> Error {
        Error::Storage {
            table: self.uri().to_string(),
            path: path.to_string(),
            source: Box::new(e),
        }
    }

    /// Deletes the object at `uri` (absent is fine).
    async fn delete_location(&self, resolver: &StoreResolver, path: &str, uri: &str) -> Result<()> {
        let (store, object) = resolver.resolve(path, Some(uri))?;
        match store.delete(&object).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.storage_error(&object, e)),
        }
    }

    /// Moves the active files `paths` to `tier` (SPEC §6.3): copies them, commits one
    /// `relocate` per file (`TIER MOVE`; it conflicts only with concurrent moves of the same
    /// files), then runs [`Table::tier_cleanup`]. Files already in `tier` at its location are
    /// skipped. A file a concurrent commit removed is left out and its copy deleted.
    pub async fn move_files(
        &self,
        paths: &[String],
        tier: &str,
        options: &MoveOptions,
    ) -> Result<MoveReport> {
        let snap = self.latest().await?;
        let target = self.tier_def(snap.state(), tier)?;
        let root = self.uri().to_string();
        let mut entries = Vec::new();
        let mut moved = Vec::new();
        let now = self.inner.options.clock.now_ms();
        let mut archived = Vec::new();
        for path in paths {
            let file = snap
                .files()
                .get(path)
                .ok_or_else(|| Error::InvalidOperation {
                    table: root.clone(),
                    message: format!("`{path}` is not a data file of version {}", snap.version()),
                })?;
            let from = snap.physical_location(file);
            let to_location = target.location.as_ref().map(|l| location_uri(l, path));
            let to = to_location
                .clone()
                .unwrap_or_else(|| location_uri(&root, path));
            if file.tier == target.name && from == to && file.storage_class == target.storage_class
            {
                continue;
            }
            // Copying reads the object: an archived one must be restored first (SPEC §6.4).
            if needs_restore(file.storage_class.as_deref(), file.restore.as_ref(), now) {
                archived.push(format!(
                    "{path} ({from}, {})",
                    file.storage_class.as_deref().unwrap_or_default()
                ));
                continue;
            }
            entries.push(JournalEntry {
                path: path.clone(),
                from: from.clone(),
                to: to.clone(),
            });
            moved.push((
                MovedFile {
                    path: path.clone(),
                    size: file.size,
                    from_tier: file.tier.clone(),
                    from,
                    to,
                },
                Relocate {
                    path: path.clone(),
                    tier: target.name.clone(),
                    location: to_location,
                    storage_class: target.storage_class.clone(),
                    restore: None,
                },
            ));
        }
        if !archived.is_empty() {
            return Err(Error::ArchivedFiles {
                table: root,
                files: archived,
            });
        }
        let mut report = MoveReport {
            tier: target.name.clone(),
            ..MoveReport::default()
        };
        if moved.is_empty() {
            report.cleaned = self.tier_cleanup(options).await?;
            return Ok(report);
        }
        let clock = self.inner.options.clock.clone();
        let record = JournalRecord {
            id: self.inner.options.ids.next_id(),
            created_ms: clock.now_ms(),
            committed_ms: None,
            entries,
        };
        self.write_record(&record).await?;
        crash(options, MoveStep::BeforeCopy, &root)?;

        let resolver = StoreResolver::new(self.location().clone());
        let s3_class = |uri: &str| uri.starts_with("s3://");
        let stream_copies = options.stream_copies;
        // Owned items (not references into `moved`): a closure over borrowed items would make
        // the future not provably `Send` (a higher-ranked lifetime), and servers need `Send`.
        let files: Vec<MovedFile> = moved.iter().map(|(m, _)| m.clone()).collect();
        let resolver = &resolver;
        let root_ref = &root;
        let target_class = target.storage_class.clone();
        let copies = futures::stream::iter(files.into_iter().map(|m| {
            let root = root_ref;
            let class = target_class.clone().filter(|_| s3_class(&m.to));
            async move {
                let class = class.as_deref();
                if m.from == m.to && class.is_none() {
                    if let Some(progress) = &options.on_copied {
                        progress(m.size);
                    }
                    return Ok(()); // Same object, nothing to change on this store.
                }
                let (store, path) = resolver.resolve(&m.path, Some(&m.from))?;
                let from = Endpoint {
                    store,
                    path,
                    uri: m.from.clone(),
                };
                let (store, path) = resolver.resolve(&m.path, Some(&m.to))?;
                let to = Endpoint {
                    store,
                    path,
                    uri: m.to.clone(),
                };
                let one_namespace = !stream_copies && same_namespace(&m.from, &m.to);
                // A file still under the key an earlier version gave it is streamed: CopyObject
                // names its source by key, and only the resolved store knows the old one.
                let both_s3 = m.from.starts_with("s3://")
                    && m.to.starts_with("s3://")
                    && !resolver.has_legacy_key(&m.path, Some(&m.from))?;
                if one_namespace && class.is_none() {
                    // One bucket / one file system: the store's copy, no bytes through us.
                    server_side_copy(root, &from, &to, m.size).await?;
                } else if both_s3 && !stream_copies && m.size <= s3::MAX_COPY_OBJECT_BYTES {
                    // S3 to S3 (another bucket, or a storage class): CopyObject.
                    s3::copy_within_s3(root, &m.from, &m.to, class).await?;
                    verify_copy(root, &from, &to, m.size).await?;
                } else {
                    copy_object(root, &from, &to, m.size, class).await?;
                }
                if let Some(progress) = &options.on_copied {
                    progress(m.size);
                }
                Ok(())
            }
        }))
        .buffer_unordered(options.concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await;
        if let Err(e) = copies {
            self.abandon(resolver, &record).await;
            return Err(e);
        }
        crash(options, MoveStep::AfterCopy, &root)?;
        if let Some(hook) = &options.before_commit {
            hook().await;
        }

        let bytes: u64 = moved.iter().map(|(m, _)| m.size).sum();
        // Based on the version planned on, so that a concurrent removal of a file being moved
        // wins at rebase (its relocation is dropped, SPEC §8.2).
        let txn = Transaction::new(self.clone(), snap.clone())
            .operation("TIER MOVE")
            .parameter("tier", target.name.clone())
            .parameter("files", moved.len())
            .parameter("bytes", bytes)
            .parameter("journal", record.id.clone())
            .actions(moved.iter().map(|(_, r)| Action::Relocate(r.clone())));
        let committed = match txn.commit().await {
            Ok(c) => c,
            Err(e) => {
                if !matches!(e, Error::CommitOutcomeUnknown { .. }) {
                    self.abandon(resolver, &record).await;
                }
                return Err(e);
            }
        };
        crash(options, MoveStep::AfterCommit, &root)?;
        let state = committed.snapshot.state();
        for (m, _) in moved {
            if current_location(state, &root, &m.path).as_deref() == Some(m.to.as_str()) {
                report.bytes += m.size;
                report.moved.push(m);
            } else {
                // A concurrent commit removed it: the rebase dropped its relocation (SPEC §8.2).
                if m.to != m.from {
                    self.delete_location(resolver, &m.path, &m.to).await?;
                }
                report.dropped.push(m.path);
            }
        }
        report.version = Some(committed.version);
        let mut stamped = record;
        stamped.committed_ms = Some(clock.now_ms());
        self.write_record(&stamped).await?;
        crash(options, MoveStep::BeforeDelete, &root)?;
        report.cleaned = self.tier_cleanup(options).await?;
        Ok(report)
    }

    /// After a failed copy or commit: deletes the new copies (never the old ones) and the
    /// record. Best effort; a later cleanup finishes what this leaves.
    async fn abandon(&self, resolver: &StoreResolver, record: &JournalRecord) {
        let mut all_deleted = true;
        for e in &record.entries {
            if e.to != e.from
                && self
                    .delete_location(resolver, &e.path, &e.to)
                    .await
                    .is_err()
            {
                all_deleted = false;
            }
        }
        // A copy left behind keeps the record: a cleanup deletes it after `abandon_after`.
        if all_deleted {
            let _ = self
                .location()
                .store()
                .delete(&self.journal_path(&record.id))
                .await;
        }
    }

    /// Finishes earlier moves from their journal records (SPEC §6.6): for a move committed at
    /// least `grace` ago, deletes every location of its files that is no longer their current
    /// one; a move whose commit landed but was not stamped is stamped now (and waits `grace`);
    /// a move that never committed and is older than `abandon_after` has its new copies deleted.
    /// Returns the number of copies deleted.
    pub async fn tier_cleanup(&self, options: &MoveOptions) -> Result<usize> {
        let records = self.journal_records().await?;
        if records.is_empty() {
            return Ok(0);
        }
        let store = self.location().store().clone();
        let latest = self.latest().await?;
        let state = latest.state();
        let root = self.uri().to_string();
        let resolver = StoreResolver::new(self.location().clone());
        let now = self.inner.options.clock.now_ms();
        let mut deleted = 0;
        for (object, record) in records {
            let current = |e: &JournalEntry| current_location(state, &root, &e.path);
            let landed = record
                .entries
                .iter()
                .any(|e| e.to != e.from && current(e).as_deref() == Some(e.to.as_str()));
            let finished = match record.committed_ms {
                Some(t) => now.saturating_sub(t) >= millis(options.grace),
                None if landed => {
                    let mut stamped = record.clone();
                    stamped.committed_ms = Some(now);
                    self.write_record(&stamped).await?;
                    options.grace.is_zero()
                }
                None => now.saturating_sub(record.created_ms) >= millis(options.abandon_after),
            };
            if !finished {
                continue;
            }
            for e in &record.entries {
                let Some(cur) = current(e) else { continue };
                let same = e.from == e.to;
                for loc in [&e.from, &e.to].into_iter().take(if same { 1 } else { 2 }) {
                    if *loc != cur {
                        self.delete_location(&resolver, &e.path, loc).await?;
                        deleted += 1;
                    }
                }
            }
            match store.delete(&object).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.storage_error(&object, e)),
            }
        }
        Ok(deleted)
    }

    /// Every `(path, location)` a move journal record names (its `from`s and `to`s): copies
    /// the moves' cleanup owns (SPEC §6.6), which a vacuum leaves alone.
    pub(crate) async fn journaled_locations(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for (_, record) in self.journal_records().await? {
            for e in record.entries {
                out.push((e.path.clone(), e.from));
                out.push((e.path, e.to));
            }
        }
        Ok(out)
    }

    /// The move journal's records with their objects (records deleted meanwhile are skipped).
    async fn journal_records(&self) -> Result<Vec<(Path, JournalRecord)>> {
        let dir = self.location().child(MOVE_JOURNAL_DIR);
        let store = self.location().store().clone();
        let listed: Vec<object_store::ObjectMeta> = store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| self.storage_error(&dir, e))?;
        let mut out = Vec::new();
        for meta in listed {
            let bytes = match store.get(&meta.location).await {
                Ok(r) => r
                    .bytes()
                    .await
                    .map_err(|e| self.storage_error(&meta.location, e))?,
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(self.storage_error(&meta.location, e)),
            };
            let record: JournalRecord =
                serde_json::from_slice(&bytes).map_err(|e| Error::InvalidOperation {
                    table: self.uri().to_string(),
                    message: format!("move journal `{}` is unreadable: {e}", meta.location),
                })?;
            out.push((meta.location, record));
        }
        Ok(out)
    }

    /// Journal records of moves not finished yet (for reports and tests).
    pub async fn pending_moves(&self) -> Result<usize> {
        let dir = self.location().child(MOVE_JOURNAL_DIR);
        let listed: Vec<object_store::ObjectMeta> = self
            .location()
            .store()
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| self.storage_error(&dir, e))?;
        Ok(listed.len())
    }
}
