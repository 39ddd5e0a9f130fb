//! Log retention (SPEC §11.5): the oldest retained version a table records, and which version
//! an expiry may make the oldest.

use std::collections::{BTreeMap, BTreeSet};

use crate::actions::{Action, Metadata, RemoveFile};
use crate::log::Commit;
use crate::state::TableState;

/// Table property holding the oldest retained version (§3.3.2, §11.5); absent means 0.
pub const PROP_OLDEST_VERSION: &str = "strata.log.oldestVersion";

/// The oldest version of the table whose state can be reconstructed (§11.5).
pub fn oldest_version(metadata: &Metadata) -> u64 {
    metadata
        .properties
        .get(PROP_OLDEST_VERSION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The expiry rules a commit changing `strata.log.oldestVersion` from `before` to `after` must
/// follow (§11.5 steps 1 and 3): a decimal integer, never lowered, at most the version the
/// commit is based on, and at most every tagged version. That a checkpoint of the new oldest
/// version exists (step 2) needs storage and is the arbiter's check.
pub fn check_oldest_change(
    base: &TableState,
    before: &Metadata,
    after: &Metadata,
) -> Result<(), String> {
    let old = oldest_version(before);
    let Some(text) = after.properties.get(PROP_OLDEST_VERSION) else {
        return if old > 0 {
            Err(format!("`{PROP_OLDEST_VERSION}` cannot be removed (§11.5)"))
        } else {
            Ok(())
        };
    };
    let new: u64 = text
        .parse()
        .map_err(|_| format!("`{PROP_OLDEST_VERSION}` = `{text}` is not a version"))?;
    if new < old {
        return Err(format!(
            "`{PROP_OLDEST_VERSION}` cannot go down from {old} to {new} (§11.5)"
        ));
    }
    if new > base.version() {
        return Err(format!(
            "`{PROP_OLDEST_VERSION}` = {new} is after the version the commit is based on, {}",
            base.version()
        ));
    }
    if new > old
        && let Some((tag, v)) = base.tags().iter().find(|(_, v)| **v < new)
    {
        return Err(format!(
            "`{PROP_OLDEST_VERSION}` = {new} would expire version {v}, which tag `{tag}` names"
        ));
    }
    Ok(())
}

/// What an expiry may keep, and the facts it decides from.
#[derive(Debug, Clone)]
pub struct ExpiryInput<'a> {
    /// The latest version.
    pub latest: u64,
    /// The oldest retained version now.
    pub oldest: u64,
    /// The newest version committed at or before the retention cutoff (`None` when every
    /// retained version is newer than the cutoff).
    pub as_of_cutoff: Option<u64>,
    /// Keep at least this many newest versions.
    pub keep_last: Option<u64>,
    /// Tags of the latest state: versions they name are kept.
    pub tags: &'a BTreeMap<String, u64>,
}

/// The new oldest version: the version current at the cutoff (so every time at or after the
/// cutoff stays readable), lowered to keep the last `keep_last` versions and every tagged
/// version; `None` when nothing would expire.
pub fn new_oldest(input: &ExpiryInput<'_>) -> Option<u64> {
    let mut n = input.as_of_cutoff?.min(input.latest);
    if let Some(k) = input.keep_last {
        n = n.min((input.latest + 1).saturating_sub(k.max(1)));
    }
    if let Some(&t) = input.tags.values().min() {
        n = n.min(t);
    }
    (n > input.oldest).then_some(n)
}

/// The objects the retained versions need (§11.6): the data files and deletion-vector objects
/// named by the `add`s of every version from the oldest retained version `o` to the latest, that
/// is the files active at `o` and every file added by a later commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetainedFiles {
    /// Logical paths of data files.
    pub data: BTreeSet<String>,
    /// Logical paths of deletion-vector objects.
    pub vectors: BTreeSet<String>,
}

impl RetainedFiles {
    /// The files of `at_oldest` (the state of the oldest retained version) and of every `add`
    /// in `later` (the commits after it, up to the latest).
    pub fn of(at_oldest: &TableState, later: &[Commit]) -> Self {
        let mut out = Self::default();
        let adds = later
            .iter()
            .flat_map(|c| &c.actions)
            .filter_map(|a| match a {
                Action::Add(add) => Some(add.as_ref()),
                _ => None,
            });
        for add in at_oldest.files().values().chain(adds) {
            out.data.insert(add.path.clone());
            if let Some(dv) = &add.deletion_vector {
                out.vectors.insert(dv.path.clone());
            }
        }
        out
    }
}

/// Why a tombstone of the latest state is kept by a vacuum, or that it may go (§11.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TombstoneFate {
    /// A retained version references the file.
    Retained,
    /// Removed less than the retention ago.
    Recent,
    /// Neither: its bytes may be deleted.
    Removable,
}

/// The fate of tombstone `t` given what the retained versions need and the retention cutoff
/// (ms since the epoch): removable only when no retained version references it and it was
/// removed at or before the cutoff.
pub fn tombstone_fate(t: &RemoveFile, retained: &RetainedFiles, cutoff_ms: i64) -> TombstoneFate {
    if retained.data.contains(&t.path) {
        TombstoneFate::Retained
    } else if t.deletion_timestamp > cutoff_ms {
        TombstoneFate::Recent
    } else {
        TombstoneFate::Removable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_metadata;

    fn input(tags: &BTreeMap<String, u64>) -> ExpiryInput<'_> {
        ExpiryInput {
            latest: 50,
            oldest: 0,
            as_of_cutoff: Some(40),
            keep_last: None,
            tags,
        }
    }

    #[test]
    fn the_cutoff_version_stays_and_tags_and_keep_last_lower_it() {
        let none = BTreeMap::new();
        assert_eq!(new_oldest(&input(&none)), Some(40));
        let keep = ExpiryInput {
            keep_last: Some(20),
            ..input(&none)
        };
        assert_eq!(new_oldest(&keep), Some(31));
        let tags = BTreeMap::from([("release".to_string(), 12u64)]);
        assert_eq!(new_oldest(&input(&tags)), Some(12));
        let at_start = BTreeMap::from([("first".to_string(), 0u64)]);
        assert_eq!(new_oldest(&input(&at_start)), None);
        let recent = ExpiryInput {
            as_of_cutoff: None,
            ..input(&none)
        };
        assert_eq!(new_oldest(&recent), None);
        let already = ExpiryInput {
            oldest: 40,
            ..input(&none)
        };
        assert_eq!(new_oldest(&already), None);
    }

    #[test]
    fn the_oldest_version_is_read_from_the_properties() {
        let mut m = sample_metadata();
        assert_eq!(oldest_version(&m), 0);
        m.properties.insert(PROP_OLDEST_VERSION.into(), "17".into());
        assert_eq!(oldest_version(&m), 17);
    }

    #[test]
    fn retained_files_are_those_active_at_the_oldest_and_added_later() {
        use crate::testing::{add, add_file, commit, create_commit, remove};
        let removed_at = |path: &str, ms: i64| match remove(path) {
            Action::Remove(mut r) => {
                r.deletion_timestamp = ms;
                Action::Remove(r)
            }
            other => other,
        };
        const T: i64 = 1_700_000_000_000;
        let mut state = TableState::from_first_commit(&create_commit()).unwrap();
        state
            .apply(&commit(
                1,
                T + 10,
                "APPEND",
                vec![add("data/a", 1), add("data/b", 1)],
            ))
            .unwrap();
        state
            .apply(&commit(
                2,
                T + 20,
                "DELETE",
                vec![removed_at("data/a", T + 20)],
            ))
            .unwrap();
        let at_two = state.clone();
        let mut with_dv = add_file("data/c", 5);
        with_dv.deletion_vector = Some(crate::actions::DeletionVectorDescriptor {
            path: "_strata_dv/x.bin".into(),
            offset: 4,
            size_in_bytes: 10,
            cardinality: 1,
        });
        let later = vec![
            commit(3, T + 30, "APPEND", vec![Action::Add(Box::new(with_dv))]),
            commit(4, T + 40, "DELETE", vec![removed_at("data/b", T + 40)]),
        ];
        // Replay needs the feature for vectors; the state only has to know the tombstones.
        state
            .apply(&commit(3, T + 30, "APPEND", vec![add("data/c", 5)]))
            .unwrap();
        state.apply(&later[1]).unwrap();
        let retained = RetainedFiles::of(&at_two, &later);
        assert_eq!(
            retained.data.iter().map(String::as_str).collect::<Vec<_>>(),
            ["data/b", "data/c"]
        );
        assert_eq!(
            retained
                .vectors
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["_strata_dv/x.bin"]
        );
        let a = state.tombstones().get("data/a").unwrap();
        let b = state.tombstones().get("data/b").unwrap();
        assert_eq!(tombstone_fate(a, &retained, T + 19), TombstoneFate::Recent);
        assert_eq!(
            tombstone_fate(a, &retained, T + 20),
            TombstoneFate::Removable
        );
        assert_eq!(
            tombstone_fate(b, &retained, T + 100),
            TombstoneFate::Retained
        );
    }
}
