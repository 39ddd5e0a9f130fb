//! Log replay: the table state at a version, rebuilt from a checkpoint and commits (SPEC §3, §10).
//!
//! Everything here is a pure function over decoded actions: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::actions::{
    Action, AddFile, AppTransaction, CommitInfo, Metadata, Protocol, RemoveFile, RestoreState,
};
use crate::error::{FormatError, Result};
use crate::log::Commit;
use crate::path_map::PathMap;
use crate::protocol::check_readable;

mod checkpoint;
pub use checkpoint::CheckpointBuilder;

/// Where a data file physically is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLocation {
    /// Tier name.
    pub tier: String,
    /// Absolute URI, or `None` for `<table root>/<path>`.
    pub location: Option<String>,
    /// Storage class.
    pub storage_class: Option<String>,
    /// Restore of an archived object (SPEC §6.4.1).
    pub restore: Option<RestoreState>,
}

/// The full state of a table at one version.
#[derive(Debug, Clone, PartialEq)]
pub struct TableState {
    version: u64,
    commit_info: CommitInfo,
    protocol: Protocol,
    metadata: Metadata,
    files: PathMap<AddFile>,
    tombstones: PathMap<RemoveFile>,
    tags: BTreeMap<String, u64>,
    app_txns: BTreeMap<String, AppTransaction>,
    /// Sums over `files`, kept as files come and go so that no commit walks the whole set.
    totals: Totals,
}

/// Sums over the active files (wide enough that adding never overflows).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    rows: u128,
    live_rows: u128,
    bytes: u128,
}

impl Totals {
    fn add(&mut self, f: &AddFile) {
        self.rows += u128::from(f.record_count);
        self.live_rows += u128::from(crate::dv::live_rows(f));
        self.bytes += u128::from(f.size);
    }

    fn sub(&mut self, f: &AddFile) {
        self.rows -= u128::from(f.record_count);
        self.live_rows -= u128::from(crate::dv::live_rows(f));
        self.bytes -= u128::from(f.size);
    }
}

fn inconsistent(version: u64, message: impl Into<String>) -> FormatError {
    FormatError::InconsistentState {
        version,
        message: message.into(),
    }
}

/// A replacement (`remove` then `add` of one path in one commit) changes only the file's
/// deletion vector: same file, same partition, same place (SPEC §3.10, §7.4).
fn check_replacement(
    v: u64,
    old: Option<&AddFile>,
    new: &AddFile,
    protocol: &Protocol,
) -> Result<()> {
    let p = &new.path;
    if !crate::dv::enabled_in(protocol) {
        return Err(inconsistent(
            v,
            format!(
                "removes and re-adds `{p}`, a deletion-vector replacement, but the table does \
                 not list the feature `{}`",
                crate::dv::FEATURE
            ),
        ));
    }
    let Some(old) = old else {
        return Err(inconsistent(v, format!("re-adds `{p}` before removing it")));
    };
    let differs = if old.size != new.size {
        Some("size")
    } else if old.record_count != new.record_count {
        Some("recordCount")
    } else if old.spec_id != new.spec_id {
        Some("specId")
    } else if old.partition_values != new.partition_values {
        Some("partitionValues")
    } else if old.tier != new.tier || old.location != new.location {
        Some("tier or location")
    } else {
        None
    };
    match differs {
        Some(field) => Err(inconsistent(
            v,
            format!(
                "replaces the deletion vector of `{p}` with an add whose `{field}` differs from \
                 the file's: a replacement may only change `deletionVector`"
            ),
        )),
        None => Ok(()),
    }
}

impl TableState {
    /// The state after the first commit (version 0), which must hold protocol and metadata.
    pub fn from_first_commit(commit: &Commit) -> Result<Self> {
        if commit.version != 0 {
            return Err(inconsistent(
                commit.version,
                "replay without a checkpoint must start at version 0",
            ));
        }
        let protocol = commit
            .actions
            .iter()
            .find_map(|a| match a {
                Action::Protocol(p) => Some(p.clone()),
                _ => None,
            })
            .ok_or_else(|| inconsistent(0, "version 0 has no protocol action"))?;
        let metadata = commit
            .actions
            .iter()
            .find_map(|a| match a {
                Action::Metadata(m) => Some((**m).clone()),
                _ => None,
            })
            .ok_or_else(|| inconsistent(0, "version 0 has no metadata action"))?;
        check_readable(&protocol)?;
        let mut state = TableState {
            version: 0,
            commit_info: commit.info.clone(),
            protocol,
            metadata,
            files: PathMap::new(),
            tombstones: PathMap::new(),
            tags: BTreeMap::new(),
            app_txns: BTreeMap::new(),
            totals: Totals::default(),
        };
        state.apply_actions(0, &commit.actions)?;
        Ok(state)
    }

    /// Rebuilds the state stored in a checkpoint of `version` (SPEC §10.2).
    pub fn from_checkpoint(version: u64, actions: Vec<Action>) -> Result<Self> {
        let mut b = CheckpointBuilder::new(version);
        for a in actions {
            b.push(a)?;
        }
        b.finish()
    }

    /// The actions of a checkpoint of this state, in the order SPEC §10.2 prescribes.
    pub fn checkpoint_actions(&self) -> Vec<Action> {
        self.checkpoint_rows().collect()
    }

    /// The rows of a checkpoint before its `add` rows (SPEC §10.2): `commitInfo`, `protocol`,
    /// `metadata`, then `txn` rows by application and `tag` rows by name. The `add` rows are
    /// [`TableState::files`] and the `remove` rows [`TableState::tombstones`], in path order.
    pub fn checkpoint_head(&self) -> Vec<Action> {
        [
            Action::CommitInfo(self.commit_info.clone()),
            Action::Protocol(self.protocol.clone()),
            Action::Metadata(Box::new(self.metadata.clone())),
        ]
        .into_iter()
        .chain(self.app_txns.values().cloned().map(Action::Txn))
        .chain(self.tags.iter().map(|(name, v)| {
            Action::Tag(crate::actions::Tag {
                name: name.clone(),
                version: *v,
            })
        }))
        .collect()
    }

    /// The same rows as [`TableState::checkpoint_actions`], made one at a time (a writer of a
    /// large checkpoint never holds them all).
    pub fn checkpoint_rows(&self) -> impl Iterator<Item = Action> + '_ {
        self.checkpoint_head()
            .into_iter()
            .chain(
                self.files
                    .values()
                    .cloned()
                    .map(|a| Action::Add(Box::new(a))),
            )
            .chain(self.tombstones.values().cloned().map(Action::Remove))
    }

    /// Applies the next commit.
    pub fn apply(&mut self, commit: &Commit) -> Result<()> {
        let v = commit.version;
        if v != self.version + 1 {
            return Err(inconsistent(
                v,
                format!(
                    "expected version {} after {}, the log is missing a version",
                    self.version + 1,
                    self.version
                ),
            ));
        }
        if commit.info.timestamp <= self.commit_info.timestamp {
            return Err(FormatError::InvalidCommit {
                version: v,
                message: format!(
                    "in-commit timestamp {} is not after {} of version {}",
                    commit.info.timestamp, self.commit_info.timestamp, self.version
                ),
            });
        }
        self.apply_actions(v, &commit.actions)?;
        self.version = v;
        self.commit_info = commit.info.clone();
        Ok(())
    }

    fn apply_actions(&mut self, v: u64, actions: &[Action]) -> Result<()> {
        // A path appears in one file action, except a `remove` followed by an `add` of the same
        // path: a replacement of the file's deletion vector (SPEC §3.10 rule 3, §7.4).
        let mut seen: BTreeMap<&str, bool> = BTreeMap::new();
        let mut replaced: BTreeSet<&str> = BTreeSet::new();
        for a in actions {
            let Some(p) = a.path() else { continue };
            match seen.get(p) {
                None => {
                    seen.insert(p, matches!(a, Action::Remove(_)));
                }
                Some(true) if matches!(a, Action::Add(_)) && replaced.insert(p) => {}
                Some(_) => {
                    return Err(inconsistent(
                        v,
                        format!("`{p}` appears in more than one file action of the commit"),
                    ));
                }
            }
        }
        let mut removed_now: BTreeMap<&str, AddFile> = BTreeMap::new();
        for a in actions {
            match a {
                Action::CommitInfo(_) => {
                    return Err(inconsistent(v, "commitInfo inside the action list"));
                }
                Action::Protocol(p) => {
                    check_readable(p)?;
                    self.protocol = p.clone();
                }
                Action::Metadata(m) => {
                    if m.table_id != self.metadata.table_id {
                        return Err(inconsistent(
                            v,
                            format!(
                                "metadata changes the table id from {} to {}",
                                self.metadata.table_id, m.table_id
                            ),
                        ));
                    }
                    self.metadata = (**m).clone();
                }
                Action::Add(add) => {
                    if add.deletion_vector.is_some() && !crate::dv::enabled_in(&self.protocol) {
                        return Err(inconsistent(
                            v,
                            format!(
                                "`{}` has a deletion vector but the table does not list the \
                                 feature `{}`",
                                add.path,
                                crate::dv::FEATURE
                            ),
                        ));
                    }
                    if self.files.contains_key(&add.path) {
                        return Err(inconsistent(
                            v,
                            format!("adds `{}` which is already in the table", add.path),
                        ));
                    }
                    if replaced.contains(add.path.as_str()) {
                        let old = removed_now.get(add.path.as_str());
                        check_replacement(v, old, add, &self.protocol)?;
                    }
                    self.tombstones.remove(&add.path);
                    self.totals.add(add);
                    self.files.insert(add.path.clone(), (**add).clone());
                }
                Action::Remove(r) => {
                    let add = self.files.remove(&r.path).ok_or_else(|| {
                        inconsistent(v, format!("removes `{}` which is not in the table", r.path))
                    })?;
                    self.totals.sub(&add);
                    let mut t = r.clone();
                    t.size = Some(add.size);
                    t.record_count = Some(add.record_count);
                    t.tier = Some(add.tier.clone());
                    t.location = add.location.clone();
                    t.storage_class = add.storage_class.clone();
                    t.restore = add.restore;
                    t.deletion_vector = add.deletion_vector.clone();
                    self.tombstones.insert(r.path.clone(), t);
                    if replaced.contains(r.path.as_str()) {
                        removed_now.insert(r.path.as_str(), add);
                    }
                }
                Action::Relocate(rel) => {
                    if let Some(add) = self.files.get_mut(&rel.path) {
                        add.tier = rel.tier.clone();
                        add.location = rel.location.clone();
                        add.storage_class = rel.storage_class.clone();
                        add.restore = rel.restore;
                    } else if let Some(t) = self.tombstones.get_mut(&rel.path) {
                        t.tier = Some(rel.tier.clone());
                        t.location = rel.location.clone();
                        t.storage_class = rel.storage_class.clone();
                        t.restore = rel.restore;
                    } else {
                        return Err(inconsistent(
                            v,
                            format!("relocates `{}` which the table never had", rel.path),
                        ));
                    }
                }
                Action::Tag(t) => {
                    if t.version >= v {
                        return Err(inconsistent(
                            v,
                            format!(
                                "tag `{}` points at version {} which is not older",
                                t.name, t.version
                            ),
                        ));
                    }
                    if self.tags.insert(t.name.clone(), t.version).is_some() {
                        return Err(inconsistent(v, format!("tag `{}` already exists", t.name)));
                    }
                }
                Action::Untag(u) => {
                    if self.tags.remove(&u.name).is_none() {
                        return Err(inconsistent(
                            v,
                            format!("untag of unknown tag `{}`", u.name),
                        ));
                    }
                }
                Action::Txn(t) => {
                    if let Some(prev) = self.app_txns.get(&t.app_id)
                        && t.version <= prev.version
                    {
                        return Err(inconsistent(
                            v,
                            format!(
                                "application `{}` batch {} is not after batch {}",
                                t.app_id, t.version, prev.version
                            ),
                        ));
                    }
                    self.app_txns.insert(t.app_id.clone(), t.clone());
                }
            }
        }
        Ok(())
    }

    /// Resolves physical locations with those of a later state (SPEC §6.2): a reader of any
    /// version finds each file where the newest version says it is.
    pub fn overlay_locations(&mut self, latest: &TableState) {
        if latest.version == self.version {
            return;
        }
        // Only entries whose location differs are changed (and so copied): the rest stay
        // shared with the state this one was read from.
        let moved: Vec<(String, FileLocation)> = self
            .files
            .iter()
            .filter_map(|(path, add)| {
                let loc = latest.file_location(path)?;
                let same = loc.tier == add.tier
                    && loc.location == add.location
                    && loc.storage_class == add.storage_class
                    && loc.restore == add.restore;
                (!same).then(|| (path.clone(), loc))
            })
            .collect();
        for (path, loc) in moved {
            if let Some(add) = self.files.get_mut(&path) {
                add.tier = loc.tier;
                add.location = loc.location;
                add.storage_class = loc.storage_class;
                add.restore = loc.restore;
            }
        }
    }

    /// Current location of a file this table has (active or removed).
    pub fn file_location(&self, path: &str) -> Option<FileLocation> {
        if let Some(a) = self.files.get(path) {
            return Some(FileLocation {
                tier: a.tier.clone(),
                location: a.location.clone(),
                storage_class: a.storage_class.clone(),
                restore: a.restore,
            });
        }
        self.tombstones.get(path).map(|t| FileLocation {
            tier: t
                .tier
                .clone()
                .unwrap_or_else(|| self.metadata.default_tier_name().to_string()),
            location: t.location.clone(),
            storage_class: t.storage_class.clone(),
            restore: t.restore,
        })
    }

    /// Version of this state.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// Commit info of the version.
    pub fn commit_info(&self) -> &CommitInfo {
        &self.commit_info
    }
    /// In-commit timestamp of the version (ms).
    pub fn timestamp(&self) -> i64 {
        self.commit_info.timestamp
    }
    /// Protocol in force.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }
    /// Metadata in force.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
    /// Active data files by path.
    pub fn files(&self) -> &PathMap<AddFile> {
        &self.files
    }
    /// Removed files still tracked (for time travel locations and cleanup).
    pub fn tombstones(&self) -> &PathMap<RemoveFile> {
        &self.tombstones
    }
    /// Tags by name.
    pub fn tags(&self) -> &BTreeMap<String, u64> {
        &self.tags
    }
    /// Last batch per application.
    pub fn app_transactions(&self) -> &BTreeMap<String, AppTransaction> {
        &self.app_txns
    }
    /// Total live rows of active files (deleted rows excluded), saturating at `u64::MAX`.
    pub fn record_count(&self) -> u64 {
        u64::try_from(self.totals.live_rows).unwrap_or(u64::MAX)
    }
    /// Total bytes of active files, saturating at `u64::MAX`.
    pub fn size_in_bytes(&self) -> u64 {
        u64::try_from(self.totals.bytes).unwrap_or(u64::MAX)
    }
    /// Whether the totals of the active files' rows (before deletes) and bytes each fit in
    /// 64 bits: `(rows_fit, bytes_fit)`.
    pub fn totals_fit(&self) -> (bool, bool) {
        (
            u64::try_from(self.totals.rows).is_ok(),
            u64::try_from(self.totals.bytes).is_ok(),
        )
    }
}

/// The latest version whose in-commit timestamp is `<= t`, given `(version, timestamp)` pairs
/// sorted by version (SPEC §11).
pub fn version_at_timestamp(entries: &[(u64, i64)], t: i64) -> Result<u64> {
    let idx = entries.partition_point(|(_, ts)| *ts <= t);
    if idx == 0 {
        return Err(FormatError::TimeTravel(match entries.first() {
            Some((v, ts)) => format!(
                "timestamp {t} is before the table's first retained version {v} (committed at {ts})"
            ),
            None => "the table has no versions".into(),
        }));
    }
    Ok(entries[idx - 1].0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Relocate, Tag, Untag};
    use crate::testing::{add, commit, create_commit, remove};

    fn table_with(commits: Vec<Commit>) -> Result<TableState> {
        let mut s = TableState::from_first_commit(&create_commit())?;
        for c in &commits {
            s.apply(c)?;
        }
        Ok(s)
    }

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn replay_tracks_files_tombstones_and_counts() {
        let s = table_with(vec![
            commit(1, T0 + 1, "APPEND", vec![add("a", 3), add("b", 4)]),
            commit(2, T0 + 2, "DELETE", vec![remove("a")]),
        ])
        .unwrap();
        assert_eq!(s.version(), 2);
        assert_eq!(s.files().keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(s.record_count(), 4);
        let t = s.tombstones().get("a").unwrap();
        assert_eq!(t.record_count, Some(3), "tombstones keep the add's facts");
        assert_eq!(t.tier.as_deref(), Some("hot"));
    }

    #[test]
    fn replay_refuses_gaps_duplicates_and_unknown_removes() {
        let gap = table_with(vec![commit(2, T0 + 1, "APPEND", vec![add("a", 1)])]).unwrap_err();
        assert!(gap.to_string().contains("missing a version"), "{gap}");
        let dup = table_with(vec![
            commit(1, T0 + 1, "APPEND", vec![add("a", 1)]),
            commit(2, T0 + 2, "APPEND", vec![add("a", 1)]),
        ])
        .unwrap_err();
        assert!(dup.to_string().contains("log version 2"), "{dup}");
        assert!(dup.to_string().contains("already in the table"), "{dup}");
        let unknown =
            table_with(vec![commit(1, T0 + 1, "DELETE", vec![remove("zz")])]).unwrap_err();
        assert!(unknown.to_string().contains("`zz`"), "{unknown}");
        let twice =
            table_with(vec![commit(1, T0 + 1, "X", vec![add("a", 1), remove("a")])]).unwrap_err();
        assert!(
            twice.to_string().contains("more than one file action"),
            "{twice}"
        );
    }

    #[test]
    fn in_commit_timestamps_must_increase() {
        let err = table_with(vec![commit(1, T0, "APPEND", vec![add("a", 1)])]).unwrap_err();
        assert!(err.to_string().contains("is not after"), "{err}");
    }

    #[test]
    fn relocations_reach_old_versions_through_overlay() {
        let reloc = Action::Relocate(Relocate {
            path: "a".into(),
            tier: "cold".into(),
            location: Some("s3://cold/t/a".into()),
            storage_class: Some("GLACIER".into()),
            restore: None,
        });
        let v1 = table_with(vec![commit(1, T0 + 1, "APPEND", vec![add("a", 1)])]).unwrap();
        let latest = table_with(vec![
            commit(1, T0 + 1, "APPEND", vec![add("a", 1)]),
            commit(2, T0 + 2, "DELETE", vec![remove("a")]),
            commit(3, T0 + 3, "TIER MOVE", vec![reloc]),
        ])
        .unwrap();
        assert!(latest.files().is_empty());
        let mut old = v1.clone();
        old.overlay_locations(&latest);
        let a = old.files().get("a").unwrap();
        assert_eq!(a.tier, "cold");
        assert_eq!(a.location.as_deref(), Some("s3://cold/t/a"));
        assert_eq!(a.storage_class.as_deref(), Some("GLACIER"));
    }

    #[test]
    fn tags_and_app_transactions_follow_their_rules() {
        let tag = |n: &str, v| {
            Action::Tag(Tag {
                name: n.into(),
                version: v,
            })
        };
        let s = table_with(vec![
            commit(1, T0 + 1, "APPEND", vec![add("a", 1)]),
            commit(2, T0 + 2, "TAG", vec![tag("r1", 1)]),
        ])
        .unwrap();
        assert_eq!(s.tags()["r1"], 1);
        let again = table_with(vec![
            commit(1, T0 + 1, "TAG", vec![tag("r1", 0)]),
            commit(2, T0 + 2, "TAG", vec![tag("r1", 1)]),
        ]);
        assert!(again.unwrap_err().to_string().contains("already exists"));
        let future = table_with(vec![commit(1, T0 + 1, "TAG", vec![tag("r1", 1)])]);
        assert!(future.is_err(), "a tag must point at an older version");
        let untag = table_with(vec![commit(
            1,
            T0 + 1,
            "UNTAG",
            vec![Action::Untag(Untag {
                name: "nope".into(),
            })],
        )]);
        assert!(
            untag
                .unwrap_err()
                .to_string()
                .contains("unknown tag `nope`")
        );
    }

    #[test]
    fn checkpoint_actions_rebuild_the_same_state() {
        let reloc = Action::Relocate(Relocate {
            path: "a".into(),
            tier: "warm".into(),
            location: Some("file:///warm/a".into()),
            storage_class: None,
            restore: None,
        });
        let s = table_with(vec![
            commit(1, T0 + 1, "APPEND", vec![add("a", 1), add("b", 2)]),
            commit(2, T0 + 2, "DELETE", vec![remove("a")]),
            commit(3, T0 + 3, "MOVE", vec![reloc]),
            commit(
                4,
                T0 + 4,
                "TAG",
                vec![Action::Tag(Tag {
                    name: "t".into(),
                    version: 2,
                })],
            ),
        ])
        .unwrap();
        let back = TableState::from_checkpoint(4, s.checkpoint_actions()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.file_location("a").unwrap().tier, "warm");
    }

    #[test]
    fn a_checkpoint_with_a_duplicated_row_is_corrupt_even_when_the_rows_are_equal() {
        let s = table_with(vec![
            commit(1, T0 + 1, "APPEND", vec![add("a", 1), add("b", 2)]),
            commit(2, T0 + 2, "DELETE", vec![remove("a")]),
            commit(
                3,
                T0 + 3,
                "TAG",
                vec![Action::Tag(Tag {
                    name: "t".into(),
                    version: 2,
                })],
            ),
        ])
        .unwrap();
        let rows = s.checkpoint_actions();
        for (key, want) in [
            ("protocol", "two protocol rows"),
            ("metadata", "two metadata rows"),
            ("remove", "removes `a` twice"),
            ("tag", "tag `t` twice"),
        ] {
            let mut doubled = rows.clone();
            let row = rows.iter().find(|a| a.key() == key).unwrap().clone();
            doubled.push(row);
            let err = TableState::from_checkpoint(3, doubled)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{key}: {err}");
        }
        assert!(TableState::from_checkpoint(3, rows).is_ok());
    }

    #[test]
    fn unknown_reader_feature_stops_replay() {
        let mut c = create_commit();
        c.actions[0] = Action::Protocol(Protocol {
            reader_features: vec!["timeMachine".into()],
            ..Protocol::default()
        });
        let err = TableState::from_first_commit(&c).unwrap_err().to_string();
        assert!(err.contains("timeMachine"), "{err}");
    }

    #[test]
    fn timestamp_resolution_picks_latest_at_or_before() {
        let e = [(0, 100), (1, 200), (2, 300)];
        assert_eq!(version_at_timestamp(&e, 100).unwrap(), 0);
        assert_eq!(version_at_timestamp(&e, 250).unwrap(), 1);
        assert_eq!(version_at_timestamp(&e, 10_000).unwrap(), 2);
        let err = version_at_timestamp(&e, 99).unwrap_err().to_string();
        assert!(err.contains("before the table's first"), "{err}");
    }
}
