//! Conflict detection between a transaction and the commits that won the race (SPEC §8).
//!
//! Pure functions: the engine passes its pending actions, what it read, and the decoded commits
//! that landed after its read version; the outcome is either the (possibly rebased) actions to
//! retry with, or a typed rejection naming the winning version.

use std::collections::BTreeSet;
use std::fmt;

use crate::actions::{Action, AddFile, IsolationLevel};
use crate::log::Commit;
use crate::state::TableState;

/// What part of the table a transaction's outcome depended on.
#[derive(Clone, Copy, Default)]
pub enum ReadPredicate<'a> {
    /// Nothing (blind append, tag, relocation...).
    #[default]
    Nothing,
    /// The whole table (e.g. a full overwrite).
    All,
    /// Files matching a predicate (e.g. `DELETE WHERE ...`); the function decides, from a
    /// concurrently added file's partition values and statistics, whether it could hold
    /// matching rows.
    Matching(&'a (dyn Fn(&AddFile) -> bool + Send + Sync)),
}

impl fmt::Debug for ReadPredicate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadPredicate::Nothing => f.write_str("Nothing"),
            ReadPredicate::All => f.write_str("All"),
            ReadPredicate::Matching(_) => f.write_str("Matching(..)"),
        }
    }
}

/// What a pending transaction read.
#[derive(Debug, Clone, Default)]
pub struct ReadSet<'a> {
    /// Isolation level.
    pub isolation: IsolationLevel,
    /// Which concurrently added files would have changed the outcome.
    pub predicate: ReadPredicate<'a>,
    /// Paths of data files read (beyond those the transaction removes).
    pub files: BTreeSet<String>,
}

/// Why a transaction cannot be rebased over a winning commit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictKind {
    /// The winner changed the protocol.
    ProtocolChanged,
    /// The winner changed the metadata (schema, partitioning, properties).
    MetadataChanged,
    /// The winner added a file the transaction's read predicate could match.
    ConcurrentAppend {
        /// Path of the added file.
        path: String,
    },
    /// The winner removed a file the transaction read or removes.
    ConcurrentDelete {
        /// Path of the removed file.
        path: String,
    },
    /// The winner changed the deletion vector of a file the transaction reads, removes or
    /// changes the vector of. Deletes commute: a writer re-plans such a transaction on the new
    /// snapshot, which unions both deletions (SPEC §8.2).
    DeletionVectorChanged {
        /// Path of the data file.
        path: String,
    },
    /// The winner relocated a file the transaction relocates too.
    ConcurrentRelocate {
        /// Path of the file.
        path: String,
    },
    /// The winner created or deleted a tag the transaction creates or deletes.
    ConcurrentTag {
        /// Tag name.
        name: String,
    },
}

impl fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConflictKind::ProtocolChanged => f.write_str("the protocol was changed concurrently"),
            ConflictKind::MetadataChanged => f.write_str(
                "the metadata (schema, partitioning or properties) was changed concurrently",
            ),
            ConflictKind::ConcurrentAppend { path } => {
                write!(
                    f,
                    "file `{path}` was added concurrently and may match what this transaction read"
                )
            }
            ConflictKind::ConcurrentDelete { path } => {
                write!(f, "file `{path}` was removed concurrently")
            }
            ConflictKind::ConcurrentRelocate { path } => {
                write!(f, "file `{path}` was moved concurrently")
            }
            ConflictKind::DeletionVectorChanged { path } => {
                write!(f, "rows of file `{path}` were deleted concurrently")
            }
            ConflictKind::ConcurrentTag { name } => {
                write!(f, "tag `{name}` was changed concurrently")
            }
        }
    }
}

/// A commit conflict: the transaction must be re-planned on a newer snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The version whose commit conflicts.
    pub winning_version: u64,
    /// Why.
    pub kind: ConflictKind,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conflict with version {}: {}",
            self.winning_version, self.kind
        )
    }
}

/// An application batch that was already committed (exactly-once ingestion, SPEC §3.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateBatch {
    /// Application id.
    pub app_id: String,
    /// Batch the transaction tried to commit.
    pub batch: u64,
    /// Last batch already committed for the application.
    pub committed: u64,
}

impl fmt::Display for DuplicateBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "application `{}` already committed batch {} (asked to commit batch {})",
            self.app_id, self.committed, self.batch
        )
    }
}

/// Why a transaction cannot commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// A conflicting concurrent commit.
    Conflict(Conflict),
    /// The application batch was already committed.
    Duplicate(DuplicateBatch),
}

/// Checks the transaction's application batches against a state (before the first attempt).
pub fn check_app_transactions(state: &TableState, ours: &[Action]) -> Result<(), DuplicateBatch> {
    for a in ours {
        if let Action::Txn(t) = a
            && let Some(prev) = state.app_transactions().get(&t.app_id)
            && t.version <= prev.version
        {
            return Err(DuplicateBatch {
                app_id: t.app_id.clone(),
                batch: t.version,
                committed: prev.version,
            });
        }
    }
    Ok(())
}

/// Paths that a commit both removes and adds: replacements of their deletion vectors (§7.4).
pub fn replaced_paths(actions: &[Action]) -> BTreeSet<&str> {
    let removed: BTreeSet<&str> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Remove(r) => Some(r.path.as_str()),
            _ => None,
        })
        .collect();
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Add(add) if removed.contains(add.path.as_str()) => Some(add.path.as_str()),
            _ => None,
        })
        .collect()
}

/// Checks `ours` against every winning commit, in version order, and returns the actions to
/// retry with (relocations of files a winner removed are dropped; our replacements of files a
/// winner relocated take the new place, SPEC §8.2).
pub fn rebase(
    ours: &[Action],
    read: &ReadSet<'_>,
    winners: &[Commit],
) -> Result<Vec<Action>, Rejection> {
    let mut adds = BTreeSet::new();
    let mut removes = BTreeSet::new();
    let mut relocates = BTreeSet::new();
    let mut tags = BTreeSet::new();
    let mut only_bookkeeping = true;
    for a in ours {
        match a {
            Action::Add(add) => {
                adds.insert(add.path.as_str());
            }
            Action::Remove(r) => {
                removes.insert(r.path.as_str());
            }
            Action::Relocate(r) => {
                relocates.insert(r.path.as_str());
            }
            Action::Tag(t) => {
                tags.insert(t.name.as_str());
            }
            Action::Untag(t) => {
                tags.insert(t.name.as_str());
            }
            _ => {}
        }
        if !matches!(
            a,
            Action::Relocate(_) | Action::Tag(_) | Action::Untag(_) | Action::Txn(_)
        ) {
            only_bookkeeping = false;
        }
    }
    let replaces = replaced_paths(ours);
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    let mut moved: std::collections::BTreeMap<String, crate::actions::Relocate> =
        std::collections::BTreeMap::new();
    for w in winners {
        let winner_replaces = replaced_paths(&w.actions);
        let conflict = |kind| {
            Rejection::Conflict(Conflict {
                winning_version: w.version,
                kind,
            })
        };
        let winner_blind = w.info.is_blind_append;
        for a in &w.actions {
            match a {
                // Even a bookkeeping commit must be re-planned: the new protocol may require
                // features this writer does not implement.
                Action::Protocol(_) => {
                    return Err(conflict(ConflictKind::ProtocolChanged));
                }
                Action::Metadata(_) if !only_bookkeeping => {
                    return Err(conflict(ConflictKind::MetadataChanged));
                }
                // A winner's replacement is judged by its `remove` below: no new rows.
                Action::Add(add) if winner_replaces.contains(add.path.as_str()) => {}
                Action::Add(add) if adds.contains(add.path.as_str()) => {
                    return Err(conflict(ConflictKind::ConcurrentAppend {
                        path: add.path.clone(),
                    }));
                }
                Action::Add(add) => {
                    let ignore_blind =
                        read.isolation == IsolationLevel::WriteSerializable && winner_blind;
                    let matches = match read.predicate {
                        ReadPredicate::Nothing => false,
                        ReadPredicate::All => true,
                        ReadPredicate::Matching(f) => f(add),
                    };
                    if matches && !ignore_blind {
                        return Err(conflict(ConflictKind::ConcurrentAppend {
                            path: add.path.clone(),
                        }));
                    }
                }
                Action::Remove(r) if winner_replaces.contains(r.path.as_str()) => {
                    let p = r.path.as_str();
                    if removes.contains(p) || read.files.contains(p) {
                        return Err(conflict(ConflictKind::DeletionVectorChanged {
                            path: r.path.clone(),
                        }));
                    }
                }
                Action::Remove(r) => {
                    let p = r.path.as_str();
                    if removes.contains(p) || read.files.contains(p) {
                        return Err(conflict(ConflictKind::ConcurrentDelete {
                            path: r.path.clone(),
                        }));
                    }
                    if relocates.contains(p) {
                        dropped.insert(r.path.clone());
                    }
                }
                Action::Relocate(r) if relocates.contains(r.path.as_str()) => {
                    return Err(conflict(ConflictKind::ConcurrentRelocate {
                        path: r.path.clone(),
                    }));
                }
                Action::Relocate(r) if replaces.contains(r.path.as_str()) => {
                    moved.insert(r.path.clone(), r.clone());
                }
                Action::Tag(t) if tags.contains(t.name.as_str()) => {
                    return Err(conflict(ConflictKind::ConcurrentTag {
                        name: t.name.clone(),
                    }));
                }
                Action::Untag(t) if tags.contains(t.name.as_str()) => {
                    return Err(conflict(ConflictKind::ConcurrentTag {
                        name: t.name.clone(),
                    }));
                }
                Action::Txn(t) => {
                    for o in ours {
                        if let Action::Txn(mine) = o
                            && mine.app_id == t.app_id
                            && mine.version <= t.version
                        {
                            return Err(Rejection::Duplicate(DuplicateBatch {
                                app_id: t.app_id.clone(),
                                batch: mine.version,
                                committed: t.version,
                            }));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(ours
        .iter()
        .filter(|a| !matches!(a, Action::Relocate(r) if dropped.contains(&r.path)))
        .map(|a| match a {
            Action::Add(add) if moved.contains_key(&add.path) => {
                let mut add = add.clone();
                if let Some(r) = moved.get(&add.path) {
                    add.tier = r.tier.clone();
                    add.location = r.location.clone();
                    add.storage_class = r.storage_class.clone();
                    add.restore = r.restore;
                }
                Action::Add(add)
            }
            other => other.clone(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{AppTransaction, Relocate, Tag};
    use crate::testing::{add, commit, remove, sample_metadata};

    fn relocate(p: &str) -> Action {
        Action::Relocate(Relocate {
            path: p.into(),
            tier: "cold".into(),
            location: None,
            storage_class: None,
            restore: None,
        })
    }

    fn txn(app: &str, v: u64) -> Action {
        Action::Txn(AppTransaction {
            app_id: app.into(),
            version: v,
            last_updated: None,
        })
    }

    #[test]
    fn blind_appends_commute() {
        let winners = [commit(5, 1, "APPEND", vec![add("w", 1)])];
        let ours = vec![add("o", 1)];
        assert_eq!(rebase(&ours, &ReadSet::default(), &winners).unwrap(), ours);
    }

    #[test]
    fn removing_the_same_file_conflicts_with_the_winning_version() {
        let winners = [
            commit(5, 1, "APPEND", vec![add("w", 1)]),
            commit(6, 2, "DELETE", vec![remove("a")]),
        ];
        let err = rebase(&[remove("a")], &ReadSet::default(), &winners).unwrap_err();
        assert_eq!(
            err,
            Rejection::Conflict(Conflict {
                winning_version: 6,
                kind: ConflictKind::ConcurrentDelete { path: "a".into() }
            })
        );
    }

    #[test]
    fn metadata_changes_conflict_with_data_changes_but_not_with_moves() {
        let winners = [commit(
            3,
            1,
            "SET PROPERTIES",
            vec![Action::Metadata(Box::new(sample_metadata()))],
        )];
        let err = rebase(&[add("o", 1)], &ReadSet::default(), &winners).unwrap_err();
        assert!(matches!(
            err,
            Rejection::Conflict(Conflict {
                kind: ConflictKind::MetadataChanged,
                ..
            })
        ));
        rebase(&[relocate("a")], &ReadSet::default(), &winners).unwrap();
    }

    #[test]
    fn overwrite_predicates_see_concurrent_adds_per_isolation_level() {
        let only_x: &(dyn Fn(&AddFile) -> bool + Send + Sync) =
            &|f: &AddFile| f.path.starts_with('x');
        let serializable = ReadSet {
            isolation: IsolationLevel::Serializable,
            predicate: ReadPredicate::Matching(only_x),
            files: BTreeSet::new(),
        };
        let blind = [commit(2, 1, "APPEND", vec![add("x1", 1)])];
        assert!(rebase(&[remove("a")], &serializable, &blind).is_err());
        let other = [commit(2, 1, "APPEND", vec![add("y1", 1)])];
        assert!(rebase(&[remove("a")], &serializable, &other).is_ok());
        let write_ser = ReadSet {
            isolation: IsolationLevel::WriteSerializable,
            ..serializable.clone()
        };
        assert!(
            rebase(&[remove("a")], &write_ser, &blind).is_ok(),
            "blind appends serialize after"
        );
        let overwrite = [commit(2, 1, "OVERWRITE", vec![add("x2", 1)])];
        let err = rebase(&[remove("a")], &write_ser, &overwrite).unwrap_err();
        assert!(matches!(
            err,
            Rejection::Conflict(Conflict {
                kind: ConflictKind::ConcurrentAppend { .. },
                winning_version: 2
            })
        ));
        let all = ReadSet {
            predicate: ReadPredicate::All,
            ..write_ser
        };
        assert!(rebase(&[remove("a")], &all, &overwrite).is_err());
    }

    #[test]
    fn a_move_of_a_concurrently_deleted_file_is_dropped() {
        let winners = [commit(2, 1, "DELETE", vec![remove("a")])];
        let out = rebase(
            &[relocate("a"), relocate("b")],
            &ReadSet::default(),
            &winners,
        )
        .unwrap();
        assert_eq!(out, vec![relocate("b")]);
        let moved = [commit(2, 1, "MOVE", vec![relocate("b")])];
        assert!(rebase(&[relocate("b")], &ReadSet::default(), &moved).is_err());
    }

    #[test]
    fn protocol_changes_conflict_even_with_bookkeeping_and_same_path_adds_conflict() {
        let winners = [commit(
            3,
            1,
            "UPGRADE",
            vec![Action::Protocol(crate::Protocol::default())],
        )];
        assert!(rebase(&[relocate("a")], &ReadSet::default(), &winners).is_err());
        let readd = [commit(3, 1, "RESTORE", vec![add("a", 1)])];
        let err = rebase(&[add("a", 1)], &ReadSet::default(), &readd).unwrap_err();
        assert!(matches!(
            err,
            Rejection::Conflict(Conflict {
                kind: ConflictKind::ConcurrentAppend { .. },
                ..
            })
        ));
    }

    #[test]
    fn same_tag_conflicts() {
        let t = Action::Tag(Tag {
            name: "r".into(),
            version: 1,
        });
        let winners = [commit(2, 1, "TAG", vec![t.clone()])];
        assert!(rebase(&[t], &ReadSet::default(), &winners).is_err());
    }

    #[test]
    fn repeated_application_batches_are_duplicates() {
        let winners = [commit(2, 1, "APPEND", vec![add("w", 1), txn("job", 7)])];
        let err = rebase(&[add("o", 1), txn("job", 7)], &ReadSet::default(), &winners).unwrap_err();
        assert_eq!(
            err,
            Rejection::Duplicate(DuplicateBatch {
                app_id: "job".into(),
                batch: 7,
                committed: 7
            })
        );
        assert!(rebase(&[add("o", 1), txn("job", 8)], &ReadSet::default(), &winners).is_ok());
        assert!(
            rebase(
                &[add("o", 1), txn("other", 1)],
                &ReadSet::default(),
                &winners
            )
            .is_ok()
        );
    }

    /// `remove` + `add` of `p` with a vector: a replacement of `p`'s deletion vector.
    fn replace(p: &str) -> Vec<Action> {
        let mut file = crate::testing::add_file(p, 10);
        file.deletion_vector = Some(crate::actions::DeletionVectorDescriptor {
            path: "_strata_dv/x.bin".into(),
            offset: 4,
            size_in_bytes: 16,
            cardinality: 1,
        });
        vec![remove(p), Action::Add(Box::new(file))]
    }

    fn kind(r: Result<Vec<Action>, Rejection>) -> Option<ConflictKind> {
        match r {
            Err(Rejection::Conflict(c)) => Some(c.kind),
            _ => None,
        }
    }

    #[test]
    fn vector_matrix_winner_replaced_the_file() {
        let winners = [commit(4, 1, "DELETE", replace("a"))];
        let changed = Some(ConflictKind::DeletionVectorChanged { path: "a".into() });
        // Two deletes by vector on one file: re-planned, never lost.
        assert_eq!(
            kind(rebase(&replace("a"), &ReadSet::default(), &winners)),
            changed
        );
        // A rewrite of the file (copy-on-write delete, compaction, overwrite) would bring the
        // winner's deleted rows back.
        assert_eq!(
            kind(rebase(
                &[remove("a"), add("b", 9)],
                &ReadSet::default(),
                &winners
            )),
            changed
        );
        let read_a = ReadSet {
            files: ["a".to_string()].into(),
            ..ReadSet::default()
        };
        assert_eq!(kind(rebase(&[add("c", 1)], &read_a, &winners)), changed);
        // Other files, appends and reads of everything else commute; the replacement's `add`
        // is not new data for a read predicate.
        assert_eq!(
            rebase(&replace("b"), &ReadSet::default(), &winners).unwrap(),
            replace("b")
        );
        let all = ReadSet {
            predicate: ReadPredicate::All,
            ..ReadSet::default()
        };
        assert!(rebase(&[add("c", 1)], &all, &winners).is_ok());
        // A move of the file commutes: vectors stay where they are, the move applies to the
        // winner's entry.
        assert_eq!(
            rebase(&[relocate("a")], &ReadSet::default(), &winners).unwrap(),
            vec![relocate("a")]
        );
    }

    #[test]
    fn vector_matrix_ours_replaces_the_file() {
        // The winner removed it outright: our vector would apply to a file no longer there.
        let removed = [commit(4, 1, "DELETE", vec![remove("a")])];
        assert_eq!(
            kind(rebase(&replace("a"), &ReadSet::default(), &removed)),
            Some(ConflictKind::ConcurrentDelete { path: "a".into() })
        );
        // The winner moved it: our `add` takes the new place.
        let moved = [commit(4, 1, "MOVE", vec![relocate("a")])];
        let out = rebase(&replace("a"), &ReadSet::default(), &moved).unwrap();
        let Action::Add(file) = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!(file.tier, "cold");
        assert!(file.deletion_vector.is_some());
        // Blind appends and replacements of other files commute.
        let other = [
            commit(4, 1, "APPEND", vec![add("n", 1)]),
            commit(5, 2, "DELETE", replace("b")),
        ];
        assert_eq!(
            rebase(&replace("a"), &ReadSet::default(), &other).unwrap(),
            replace("a")
        );
    }
}
