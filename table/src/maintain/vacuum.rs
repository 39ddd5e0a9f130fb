//! `VACUUM` (SPEC §11.6): deletes the bytes no retained version needs, never a commit.
//!
//! Three kinds of objects go, each only once it is older than the retention:
//! * **removed files**: tombstones of the latest state that no retained version references
//!   (none while the whole log is retained: expire first), deleted at their current location;
//! * **orphans**: objects under `data/` of the table root and of every tier location that no
//!   file of the latest state has as its current location and no move journal names (files of
//!   failed or in-flight transactions, copies of abandoned moves);
//! * **deletion-vector objects** under `_strata_dv/` that no retained version names.
//!
//! Just before deleting, the log is listed again and whatever a commit landed meanwhile is
//! spared. A crash at any point leaves only objects a later vacuum deletes.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use strata_format::TableState;
use strata_format::actions::DEFAULT_TIER;
use strata_format::retention::{RetainedFiles, TombstoneFate, oldest_version, tombstone_fate};

use crate::error::{Error, Result};
use crate::log::snapshot::Snapshot;
use crate::storage::resolve::StoreResolver;
use crate::table::Table;

/// Folder of deletion-vector objects under the table root (SPEC §7.2).
const DV_DIR: &str = "_strata_dv";

/// Progress of a vacuum, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VacuumProgress {
    /// The plan is made: this many objects of this many bytes will be deleted.
    Planned {
        /// Objects to delete.
        objects: usize,
        /// Their bytes.
        bytes: u64,
    },
    /// One object of this many bytes was deleted.
    Deleted {
        /// Its bytes.
        bytes: u64,
    },
}

/// Called as a vacuum plans and deletes.
pub type VacuumProgressHook = Arc<dyn Fn(VacuumProgress) + Send + Sync>;

/// Options of [`Table::vacuum`].
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct VacuumOptions {
    /// Objects (and removals) younger than this many milliseconds are kept.
    pub retain_ms: i64,
    /// Report only; delete nothing.
    pub dry_run: bool,
    /// Evaluate the retention at this time (ms since the epoch; default: the table's clock).
    pub now_ms: Option<i64>,
    /// Objects deleted at once (default 16).
    pub concurrency: usize,
    /// Progress.
    pub progress: Option<VacuumProgressHook>,
    /// Delete only objects inside the table root (files in tier locations elsewhere are left
    /// alone): what a shared service runs, where another table's objects may lie in a tier
    /// location this table also names.
    pub within_root: bool,
    /// Test hook: stop with an error after this many deletions, as a crash would.
    #[doc(hidden)]
    pub crash_after: Option<usize>,
}

impl std::fmt::Debug for VacuumOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VacuumOptions")
            .field("retain_ms", &self.retain_ms)
            .field("dry_run", &self.dry_run)
            .field("now_ms", &self.now_ms)
            .field("concurrency", &self.concurrency)
            .field("within_root", &self.within_root)
            .field("crash_after", &self.crash_after)
            .finish_non_exhaustive()
    }
}

impl VacuumOptions {
    /// Keep what is younger than `ms` milliseconds.
    pub fn retain_ms(ms: i64) -> Self {
        Self {
            retain_ms: ms.max(0),
            ..Self::default()
        }
    }
    /// Report without deleting.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
    /// Evaluate the retention at `now_ms` instead of the table clock's time.
    pub fn now_ms(mut self, now_ms: i64) -> Self {
        self.now_ms = Some(now_ms);
        self
    }
    /// Delete this many objects at once.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }
    /// Delete only objects inside the table root.
    pub fn within_root(mut self, within_root: bool) -> Self {
        self.within_root = within_root;
        self
    }
    /// Report progress to `hook`.
    pub fn progress(mut self, hook: VacuumProgressHook) -> Self {
        self.progress = Some(hook);
        self
    }
}

/// Why a vacuum deletes an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum VacuumReason {
    /// A removed data file that no retained version references.
    Removed,
    /// An object under a data folder that no file of the table has as its location.
    Orphan,
    /// A deletion-vector object that no retained version names.
    DeletionVector,
}

impl VacuumReason {
    /// `removed`, `orphan` or `deletionVector`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Removed => "removed",
            Self::Orphan => "orphan",
            Self::DeletionVector => "deletionVector",
        }
    }
}

/// One object a vacuum deletes (or, in a dry run, would delete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VacuumedObject {
    /// Why.
    pub reason: VacuumReason,
    /// The tier it is in (for orphans: the tiers of the folder it was found in).
    pub tier: String,
    /// Its location (URI).
    pub location: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What [`Table::vacuum`] did (or, in a dry run, would do).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VacuumReport {
    /// The version the vacuum planned on.
    pub version: u64,
    /// The oldest retained version.
    pub oldest_version: u64,
    /// Objects and removals at or before this time (ms) were old enough.
    pub cutoff_ms: i64,
    /// Whether nothing was deleted on purpose.
    pub dry_run: bool,
    /// Objects deleted (or to delete).
    pub deleted: Vec<VacuumedObject>,
    /// Removed files kept because a retained version references them.
    pub kept_retained: usize,
    /// Unreferenced objects and removed files kept because they are younger than the retention.
    pub kept_recent: usize,
    /// Objects a commit that landed during the vacuum made needed again.
    pub spared: usize,
    /// Removed files left alone because they lie outside the table root (`within_root`).
    pub kept_outside_root: usize,
}

impl VacuumReport {
    /// Bytes deleted.
    pub fn bytes(&self) -> u64 {
        self.deleted.iter().map(|o| o.bytes).sum()
    }
    /// Objects and bytes deleted per tier.
    pub fn by_tier(&self) -> BTreeMap<String, (usize, u64)> {
        let mut out = BTreeMap::<String, (usize, u64)>::new();
        for o in &self.deleted {
            let e = out.entry(o.tier.clone()).or_default();
            e.0 += 1;
            e.1 += o.bytes;
        }
        out
    }
}

/// An object in a store: the store's identity (see `StoreResolver::object_keys`) and key.
type ObjectId = (String, Path);

/// A folder a vacuum lists.
struct Folder {
    tier: String,
    id: String,
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    uri: String,
}

/// A planned deletion.
struct Doomed {
    object: VacuumedObject,
    id: ObjectId,
    store: Arc<dyn ObjectStore>,
    /// The logical path (data file) or the vector path, to spare it if a new commit adds it.
    path: String,
}

fn millis(meta: &ObjectMeta) -> i64 {
    meta.last_modified.timestamp_millis()
}

/// The tiers whose files live at the table root.
fn root_tiers(state: &TableState) -> String {
    let meta = state.metadata();
    if meta.tiers.is_empty() {
        return DEFAULT_TIER.to_string();
    }
    let names: Vec<&str> = meta
        .tiers
        .iter()
        .filter(|t| t.location.is_none())
        .map(|t| t.name.as_str())
        .collect();
    if names.is_empty() {
        "(table root)".to_string()
    } else {
        names.join(",")
    }
}

impl Table {
    /// Deletes what no retained version needs and is older than the retention, as described
    /// in the module documentation. Never commits; never deletes a log object.
    pub async fn vacuum(&self, options: VacuumOptions) -> Result<VacuumReport> {
        let latest = self.latest().await?;
        let state = latest.state();
        let now = options
            .now_ms
            .unwrap_or_else(|| self.inner.options.clock.now_ms());
        let cutoff = now.saturating_sub(options.retain_ms);
        let oldest = oldest_version(state.metadata());
        let resolver = StoreResolver::new(self.location().clone());
        let mut report = VacuumReport {
            version: latest.version(),
            oldest_version: oldest,
            cutoff_ms: cutoff,
            dry_run: options.dry_run,
            ..VacuumReport::default()
        };

        // Every current location of a file the latest state knows, and every copy a move
        // journal names (the moves' cleanup owns those).
        let mut known = HashSet::<ObjectId>::new();
        let mut remember = |path: &str, location: Option<&str>| -> Result<()> {
            let (id, _, key, legacy) = resolver.object_keys(path, location)?;
            if let Some(old) = legacy {
                known.insert((id.clone(), old));
            }
            known.insert((id, key));
            Ok(())
        };
        for (path, add) in state.files() {
            remember(path, add.location.as_deref())?;
        }
        for (path, t) in state.tombstones() {
            remember(path, t.location.as_deref())?;
        }
        for (path, uri) in self.journaled_locations().await? {
            remember(&path, Some(&uri))?;
        }

        let mut folders = self.data_folders(state, &resolver)?;
        if options.within_root {
            folders.retain(|f| f.id.is_empty());
        }
        let mut listed = BTreeMap::<ObjectId, (usize, ObjectMeta)>::new();
        for (i, f) in folders.iter().enumerate() {
            let metas: Vec<ObjectMeta> = f
                .store
                .list(Some(&f.prefix))
                .try_collect()
                .await
                .map_err(|e| self.vacuum_error(&f.uri, e))?;
            for m in metas {
                listed.insert((f.id.clone(), m.location.clone()), (i, m));
            }
        }

        // Removed files old enough, unless a retained version needs them.
        let mut retained: Option<RetainedFiles> = None;
        let mut doomed = Vec::<Doomed>::new();
        let old_tombstones: Vec<_> = state
            .tombstones()
            .values()
            .filter(|t| t.deletion_timestamp <= cutoff)
            .collect();
        report.kept_recent += state.tombstones().len() - old_tombstones.len();
        if oldest > 0 && !old_tombstones.is_empty() {
            let r = self.retained_files(&latest, oldest).await?;
            for t in old_tombstones {
                match tombstone_fate(t, &r, cutoff) {
                    TombstoneFate::Retained => report.kept_retained += 1,
                    TombstoneFate::Recent => report.kept_recent += 1,
                    TombstoneFate::Removable => {
                        let (id, store, key, legacy) =
                            resolver.object_keys(&t.path, t.location.as_deref())?;
                        if options.within_root && !id.is_empty() {
                            report.kept_outside_root += 1;
                            continue;
                        }
                        let tier = state
                            .file_location(&t.path)
                            .map(|l| l.tier)
                            .unwrap_or_default();
                        for key in std::iter::once(key).chain(legacy) {
                            let oid = (id.clone(), key);
                            let bytes = match listed.remove(&oid) {
                                Some((_, m)) => m.size,
                                None if folders
                                    .iter()
                                    .any(|f| f.id == oid.0 && oid.1.prefix_matches(&f.prefix)) =>
                                {
                                    continue; // listed folder, not there: already deleted
                                }
                                None => match store.head(&oid.1).await {
                                    Ok(m) => m.size,
                                    Err(object_store::Error::NotFound { .. }) => continue,
                                    Err(e) => {
                                        return Err(self.vacuum_error(oid.1.as_ref(), e));
                                    }
                                },
                            };
                            doomed.push(Doomed {
                                object: VacuumedObject {
                                    reason: VacuumReason::Removed,
                                    tier: tier.clone(),
                                    location: self.display_location(&oid),
                                    bytes,
                                },
                                id: oid,
                                store: store.clone(),
                                path: t.path.clone(),
                            });
                        }
                    }
                }
            }
            retained = Some(r);
        } else {
            report.kept_retained += old_tombstones.len();
        }

        // Orphans under the data folders.
        let root_tier = root_tiers(state);
        for (oid, (i, meta)) in listed {
            if known.contains(&oid) {
                continue;
            }
            if millis(&meta) > cutoff {
                report.kept_recent += 1;
                continue;
            }
            let f = &folders[i];
            doomed.push(Doomed {
                object: VacuumedObject {
                    reason: VacuumReason::Orphan,
                    tier: f.tier.clone(),
                    location: self.display_location(&oid),
                    bytes: meta.size,
                },
                store: f.store.clone(),
                path: String::new(),
                id: oid,
            });
        }

        // Deletion-vector objects no retained version names.
        let dv_prefix = self.location().child(DV_DIR);
        let vectors: Vec<ObjectMeta> = self
            .location()
            .store()
            .list(Some(&dv_prefix))
            .try_collect()
            .await
            .map_err(|e| self.vacuum_error(dv_prefix.as_ref(), e))?;
        let in_latest: HashSet<&str> = state
            .files()
            .values()
            .filter_map(|a| a.deletion_vector.as_ref().map(|d| d.path.as_str()))
            .collect();
        for meta in vectors {
            let Some(path) = self.relative_path(&meta.location) else {
                continue;
            };
            if in_latest.contains(path.as_str()) {
                continue;
            }
            if millis(&meta) > cutoff {
                report.kept_recent += 1;
                continue;
            }
            if retained.is_none() {
                retained = Some(self.retained_files(&latest, oldest).await?);
            }
            if retained.as_ref().is_some_and(|r| r.vectors.contains(&path)) {
                continue;
            }
            let oid = (String::new(), meta.location.clone());
            doomed.push(Doomed {
                object: VacuumedObject {
                    reason: VacuumReason::DeletionVector,
                    tier: root_tier.clone(),
                    location: self.display_location(&oid),
                    bytes: meta.size,
                },
                store: self.location().store().clone(),
                id: oid,
                path,
            });
        }

        // Spare whatever a commit that landed meanwhile needs.
        report.spared = self
            .spare_new_commits(&resolver, latest.version(), &mut doomed)
            .await?;
        doomed.sort_by(|a, b| {
            (a.object.reason, &a.object.location).cmp(&(b.object.reason, &b.object.location))
        });
        report.deleted = doomed.iter().map(|d| d.object.clone()).collect();
        if let Some(p) = &options.progress {
            p(VacuumProgress::Planned {
                objects: doomed.len(),
                bytes: report.bytes(),
            });
        }
        if options.dry_run {
            return Ok(report);
        }
        self.delete_doomed(doomed, &options).await?;
        Ok(report)
    }

    /// The data folders of the table root and of every tier location, without duplicates and
    /// without a folder that holds the table's own log.
    fn data_folders(&self, state: &TableState, resolver: &StoreResolver) -> Result<Vec<Folder>> {
        let mut out = vec![Folder {
            tier: root_tiers(state),
            id: String::new(),
            store: self.location().store().clone(),
            prefix: self.location().child("data"),
            uri: format!("{}/data", self.uri()),
        }];
        let log_uri = format!("{}/_strata_log", self.uri());
        for tier in &state.metadata().tiers {
            let Some(loc) = tier.location.as_deref() else {
                continue;
            };
            let uri = format!("{}/data", loc.trim_end_matches('/'));
            if log_uri.starts_with(&format!("{uri}/")) {
                continue;
            }
            let (id, store, prefix, _) = resolver.object_keys("data", Some(&uri))?;
            match out.iter_mut().find(|f| f.id == id && f.prefix == prefix) {
                Some(f) => {
                    if !f.tier.split(',').any(|t| t == tier.name) {
                        f.tier = format!("{},{}", f.tier, tier.name);
                    }
                }
                None => out.push(Folder {
                    tier: tier.name.clone(),
                    id,
                    store,
                    prefix,
                    uri,
                }),
            }
        }
        Ok(out)
    }

    /// What the versions from `oldest` to the latest reference.
    async fn retained_files(&self, latest: &Snapshot, oldest: u64) -> Result<RetainedFiles> {
        let at_oldest = self.committed_state(oldest).await?;
        let later = self
            .inner
            .log
            .read_commits(oldest + 1, latest.version())
            .await?;
        Ok(RetainedFiles::of(&at_oldest, &later))
    }

    /// Lists the log after `version`; drops from `doomed` every object a newer commit adds
    /// (data files at their locations, deletion vectors). Returns how many were spared.
    async fn spare_new_commits(
        &self,
        resolver: &StoreResolver,
        version: u64,
        doomed: &mut Vec<Doomed>,
    ) -> Result<usize> {
        let log = &self.inner.log;
        let Some(&newest) = log.list(Some(version)).await?.commits.iter().max() else {
            return Ok(0);
        };
        let mut needed = BTreeSet::<ObjectId>::new();
        let mut paths = BTreeSet::<String>::new();
        for commit in log.read_commits(version + 1, newest).await? {
            for action in &commit.actions {
                if let strata_format::Action::Add(a) = action {
                    let (id, _, key, legacy) =
                        resolver.object_keys(&a.path, a.location.as_deref())?;
                    if let Some(old) = legacy {
                        needed.insert((id.clone(), old));
                    }
                    needed.insert((id, key));
                    paths.insert(a.path.clone());
                    if let Some(dv) = &a.deletion_vector {
                        paths.insert(dv.path.clone());
                    }
                }
            }
        }
        let before = doomed.len();
        doomed.retain(|d| !needed.contains(&d.id) && !paths.contains(&d.path));
        Ok(before - doomed.len())
    }

    async fn delete_doomed(&self, doomed: Vec<Doomed>, options: &VacuumOptions) -> Result<()> {
        let limit = options.crash_after.unwrap_or(usize::MAX);
        let concurrency = if options.concurrency == 0 {
            16
        } else {
            options.concurrency
        };
        let total = doomed.len();
        futures::stream::iter(doomed.into_iter().take(limit))
            .map(|d| async move {
                match d.store.delete(&d.id.1).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(self.vacuum_error(&d.object.location, e)),
                }
                if let Some(p) = &options.progress {
                    p(VacuumProgress::Deleted {
                        bytes: d.object.bytes,
                    });
                }
                Ok(())
            })
            .buffer_unordered(concurrency)
            .try_collect::<()>()
            .await?;
        if limit < total {
            return Err(Error::InvalidOperation {
                table: self.uri().to_string(),
                message: format!("crash injected after {limit} deletions"),
            });
        }
        Ok(())
    }

    /// The key of `object` relative to the table root, if it is under it.
    fn relative_path(&self, object: &Path) -> Option<String> {
        let parts = object.prefix_match(self.location().root())?;
        let rel: Vec<String> = parts.map(|p| p.as_ref().to_string()).collect();
        (!rel.is_empty()).then(|| rel.join("/"))
    }

    fn display_location(&self, (id, key): &ObjectId) -> String {
        if id.is_empty() {
            match self.relative_path(key) {
                Some(rel) => format!("{}/{rel}", self.uri()),
                None => key.to_string(),
            }
        } else if id.starts_with("file:") {
            format!("file:///{key}")
        } else {
            format!("{id}/{key}")
        }
    }

    fn vacuum_error(&self, path: &str, e: object_store::Error) -> Error {
        Error::Storage {
            table: self.uri().to_string(),
            path: path.to_string(),
            source: Box::new(e),
        }
    }
}
