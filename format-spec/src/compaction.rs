//! Compaction planning (informative, SPEC §8.5 `OPTIMIZE`): which active files an optimize
//! rewrites together. Pure: the engine supplies the files, how long each has been in its
//! storage class, and the clock.
//!
//! Files are grouped by partition spec, partition values and tier (the output stays in the
//! tier of its inputs). A file is *small* below three quarters of the target size; small files
//! of a group are packed, smallest first, into bins of at most the target size, and a bin is
//! rewritten when it holds at least two files. A file with a deletion vector is always
//! rewritten (its deleted rows are purged), alone or in a bin. Files in archive storage classes
//! are never rewritten; files still inside their class's minimum storage duration are left
//! alone unless forced, since deleting them early is billed as if they had stayed.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::actions::AddFile;
use crate::tiering::is_archive_class;

const DAY_MS: i64 = 86_400_000;

/// The minimum storage duration of an S3 storage class, in days: objects deleted or
/// overwritten earlier are billed for the rest of it.
pub fn minimum_storage_days(class: &str) -> Option<i64> {
    match class {
        "STANDARD_IA" | "ONEZONE_IA" => Some(30),
        "GLACIER_IR" | "GLACIER" => Some(90),
        "DEEP_ARCHIVE" => Some(180),
        _ => None,
    }
}

/// Sizes of a set of data files, for reports: how many are small (below three quarters of the
/// target size, what [`plan_compaction`] packs) and their average size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileSizes {
    /// Files.
    pub files: u64,
    /// Files below `small_below` bytes.
    pub small: u64,
    /// The small-file threshold in bytes.
    pub small_below: u64,
    /// Average size in bytes (0 without files).
    pub average: u64,
}

/// The [`FileSizes`] of `files` for a target file size.
pub fn file_sizes<'a>(files: impl IntoIterator<Item = &'a AddFile>, target_size: u64) -> FileSizes {
    let small_below = target_size.saturating_mul(3) / 4;
    let (mut n, mut small, mut bytes) = (0u64, 0u64, 0u64);
    for f in files {
        n += 1;
        bytes = bytes.saturating_add(f.size);
        if f.size < small_below {
            small += 1;
        }
    }
    FileSizes {
        files: n,
        small,
        small_below,
        average: bytes.checked_div(n).unwrap_or(0),
    }
}

/// A group of files rewritten into new files of one tier.
#[derive(Debug, Clone, PartialEq)]
pub struct Bin<'a> {
    /// The tier of the inputs, where the output goes.
    pub tier: String,
    /// Partition values of the inputs (their spec's).
    pub partition_values: BTreeMap<i32, Value>,
    /// The inputs.
    pub files: Vec<&'a AddFile>,
}

impl Bin<'_> {
    /// Bytes of the inputs.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
    /// Rows of the inputs that are not deleted.
    pub fn live_rows(&self) -> u64 {
        self.files.iter().map(|f| crate::dv::live_rows(f)).sum()
    }
}

/// What to rewrite and what was left alone, and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompactionPlan<'a> {
    /// Bins to rewrite, by tier and partition.
    pub bins: Vec<Bin<'a>>,
    /// Files in archive storage classes (never rewritten).
    pub skipped_archived: Vec<&'a AddFile>,
    /// Small files or files with vectors still inside their class's minimum storage duration.
    pub skipped_minimum_duration: Vec<&'a AddFile>,
}

/// Options of [`plan_compaction`].
#[derive(Debug, Clone, Copy)]
pub struct CompactionOptions {
    /// Target output file size in bytes.
    pub target_size: u64,
    /// The time of the plan, ms since the epoch.
    pub now_ms: i64,
    /// Rewrite files still inside their minimum storage duration too.
    pub force: bool,
}

/// Plans the compaction of `files`. `in_class_since` gives, for a file with a storage class,
/// when its object entered that class (ms); a file without an entry counts from its
/// modification time.
pub fn plan_compaction<'a>(
    files: impl IntoIterator<Item = &'a AddFile>,
    in_class_since: &BTreeMap<String, i64>,
    options: CompactionOptions,
) -> CompactionPlan<'a> {
    let mut plan = CompactionPlan::default();
    let small = options.target_size.saturating_mul(3) / 4;
    let mut groups: BTreeMap<(i32, String, String), Vec<&'a AddFile>> = BTreeMap::new();
    for f in files {
        let wanted = f.size < small || f.deletion_vector.is_some();
        if !wanted {
            continue;
        }
        let class = f.storage_class.as_deref();
        if class.is_some_and(is_archive_class) {
            plan.skipped_archived.push(f);
            continue;
        }
        if !options.force
            && let Some(days) = class.and_then(minimum_storage_days)
        {
            let since = in_class_since
                .get(&f.path)
                .copied()
                .unwrap_or(f.modification_time);
            if options.now_ms.saturating_sub(since) < days.saturating_mul(DAY_MS) {
                plan.skipped_minimum_duration.push(f);
                continue;
            }
        }
        let key = serde_json::to_string(&f.partition_values).unwrap_or_default();
        groups
            .entry((f.spec_id, key, f.tier.clone()))
            .or_default()
            .push(f);
    }
    for ((_, _, tier), mut members) in groups {
        members.sort_by(|a, b| a.size.cmp(&b.size).then_with(|| a.path.cmp(&b.path)));
        let mut bins: Vec<Vec<&'a AddFile>> = Vec::new();
        let mut current: Vec<&'a AddFile> = Vec::new();
        let mut bytes = 0u64;
        for f in members {
            if !current.is_empty() && bytes.saturating_add(f.size) > options.target_size {
                bins.push(std::mem::take(&mut current));
                bytes = 0;
            }
            bytes = bytes.saturating_add(f.size);
            current.push(f);
        }
        if !current.is_empty() {
            bins.push(current);
        }
        for files in bins {
            let purge = files.iter().any(|f| f.deletion_vector.is_some());
            if files.len() >= 2 || purge {
                plan.bins.push(Bin {
                    tier: tier.clone(),
                    partition_values: files[0].partition_values.clone(),
                    files,
                });
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::DeletionVectorDescriptor;
    use crate::testing::add_file;

    fn file(path: &str, size: u64, part: &str) -> AddFile {
        let mut f = add_file(path, 10);
        f.size = size;
        f.partition_values.insert(1000, Value::from(part));
        f
    }

    const OPTIONS: CompactionOptions = CompactionOptions {
        target_size: 100,
        now_ms: 100 * DAY_MS,
        force: false,
    };

    fn paths<'a>(bin: &Bin<'a>) -> Vec<&'a str> {
        bin.files.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn small_files_are_packed_per_partition_and_tier() {
        let mut cold = file("c1", 10, "a");
        cold.tier = "cold".into();
        let mut cold2 = file("c2", 10, "a");
        cold2.tier = "cold".into();
        let files = vec![
            file("a1", 40, "a"),
            file("a2", 30, "a"),
            file("a3", 50, "a"),
            file("big", 90, "a"),
            file("b1", 10, "b"),
            cold,
            cold2,
        ];
        let plan = plan_compaction(&files, &BTreeMap::new(), OPTIONS);
        let bins: Vec<(String, Vec<&str>)> = plan
            .bins
            .iter()
            .map(|b| (b.tier.clone(), paths(b)))
            .collect();
        // Partition a, hot: 30 + 40 fit in 100, then 50 alone (not rewritten); b alone stays.
        assert_eq!(
            bins,
            vec![
                ("cold".to_string(), vec!["c1", "c2"]),
                ("hot".to_string(), vec!["a2", "a1"]),
            ]
        );
        assert_eq!(plan.bins[1].bytes(), 70);
    }

    #[test]
    fn file_sizes_count_small_files() {
        let files = [file("a", 10, "a"), file("b", 80, "a"), file("c", 30, "b")];
        let s = file_sizes(&files, 100);
        assert_eq!(
            s,
            FileSizes {
                files: 3,
                small: 2,
                small_below: 75,
                average: 40
            }
        );
        assert_eq!(file_sizes(&[], 100).average, 0);
    }

    #[test]
    fn vectors_are_purged_and_costly_classes_are_left_alone() {
        let mut marked = file("m", 95, "a");
        marked.deletion_vector = Some(DeletionVectorDescriptor {
            path: "_strata_dv/x.bin".into(),
            offset: 4,
            size_in_bytes: 20,
            cardinality: 3,
        });
        let mut archived = file("g1", 10, "a");
        archived.storage_class = Some("GLACIER".into());
        let mut ia = file("ia1", 10, "a");
        ia.storage_class = Some("STANDARD_IA".into());
        let mut ia2 = file("ia2", 10, "a");
        ia2.storage_class = Some("STANDARD_IA".into());
        let files = vec![marked, archived, ia, ia2];
        // ia1 entered its class 10 days ago, ia2 40 days ago.
        let since = BTreeMap::from([
            ("ia1".to_string(), 90 * DAY_MS),
            ("ia2".to_string(), 60 * DAY_MS),
        ]);
        let plan = plan_compaction(&files, &since, OPTIONS);
        let bins: Vec<Vec<&str>> = plan.bins.iter().map(paths).collect();
        assert_eq!(bins, vec![vec!["m"]]);
        assert_eq!(plan.bins[0].live_rows(), 7);
        assert_eq!(plan.skipped_archived.len(), 1);
        let skipped: Vec<&str> = plan
            .skipped_minimum_duration
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(skipped, vec!["ia1"]);
        let forced = plan_compaction(
            &files,
            &since,
            CompactionOptions {
                force: true,
                ..OPTIONS
            },
        );
        let bins: Vec<Vec<&str>> = forced.bins.iter().map(paths).collect();
        assert_eq!(bins, vec![vec!["ia1", "ia2"], vec!["m"]]);
        assert!(forced.skipped_minimum_duration.is_empty());
    }
}
