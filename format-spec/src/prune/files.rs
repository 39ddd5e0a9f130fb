//! Which data files a reader or a row-level change must read for a predicate: the bounds a
//! file's partition values imply (SPEC §5), then its column statistics (§4.8). Scans, deletes,
//! updates and merges all plan with [`plan_files`]; catalogs decide with [`file_may_match`]
//! whether a concurrently added file meets a transaction's read predicate (§8.2).

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use super::{ColumnBounds, FileStatsView, may_match};

use crate::actions::{AddFile, Metadata};
use crate::datum::{Datum, MICROS_PER_DAY, days_from_civil};
use crate::expr::BoundExpr;
use crate::partition::Transform;

use crate::schema::{DataType, FieldId, FieldInfo, PrimitiveType, Schema};

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// Why a data file is read or skipped for a predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileVerdict {
    /// The file may hold matching rows.
    Read,
    /// Its partition values rule every row out.
    PrunedByPartition,
    /// Its column statistics rule every row out.
    PrunedByStats,
}

/// Decides whether `file` may hold rows matching `predicate` (bound to `schema`): partition
/// values first, then statistics.
pub fn judge_file(
    predicate: &BoundExpr,
    file: &AddFile,
    metadata: &Metadata,
    schema: &Schema,
) -> FileVerdict {
    Judge::new(predicate, metadata, schema).verdict(file)
}

/// [`judge_file`] for many files of one snapshot: the schema's field index and the fields
/// the predicate reads are worked out once, and only those fields' statistics are decoded.
struct Judge<'a> {
    predicate: &'a BoundExpr,
    metadata: &'a Metadata,
    index: BTreeMap<FieldId, FieldInfo<'a>>,
    fields: BTreeSet<FieldId>,
}

impl<'a> Judge<'a> {
    fn new(predicate: &'a BoundExpr, metadata: &'a Metadata, schema: &'a Schema) -> Self {
        Self {
            predicate,
            metadata,
            index: schema.field_index(),
            fields: predicate.field_ids(),
        }
    }

    fn verdict(&self, file: &AddFile) -> FileVerdict {
        if let Some(bounds) = partition_bounds_with(file, self.metadata, &self.index)
            && !may_match(self.predicate, &bounds)
        {
            return FileVerdict::PrunedByPartition;
        }
        let stats = FileStatsView::from_add_file_fields(file, &self.index, &self.fields);
        if !may_match(self.predicate, &stats) {
            return FileVerdict::PrunedByStats;
        }
        FileVerdict::Read
    }
}

/// Whether `file` may hold rows matching `predicate`.
pub fn file_may_match(
    predicate: &BoundExpr,
    file: &AddFile,
    metadata: &Metadata,
    schema: &Schema,
) -> bool {
    judge_file(predicate, file, metadata, schema) == FileVerdict::Read
}

/// The files to read, and how many were skipped and why.
#[derive(Debug, Clone)]
pub struct FilePlan<'a, F = AddFile> {
    /// Files that may hold matching rows, in the order given.
    pub files: Vec<&'a F>,
    /// Files skipped on partition values.
    pub pruned_by_partition: u64,
    /// Files skipped on statistics.
    pub pruned_by_stats: u64,
}

/// Plans which of `files` (active files of a snapshot with `metadata` and `schema`) to read for
/// `predicate`; every file without one.
pub fn plan_files<'a, F: Borrow<AddFile> + 'a>(
    files: impl IntoIterator<Item = &'a F>,
    metadata: &Metadata,
    schema: &Schema,
    predicate: Option<&BoundExpr>,
) -> FilePlan<'a, F> {
    let mut plan = FilePlan {
        files: Vec::new(),
        pruned_by_partition: 0,
        pruned_by_stats: 0,
    };
    let judge = predicate.map(|p| Judge::new(p, metadata, schema));
    for f in files {
        let verdict = match &judge {
            Some(j) => j.verdict(f.borrow()),
            None => FileVerdict::Read,
        };
        match verdict {
            FileVerdict::Read => plan.files.push(f),
            FileVerdict::PrunedByPartition => plan.pruned_by_partition += 1,
            FileVerdict::PrunedByStats => plan.pruned_by_stats += 1,
        }
    }
    plan
}

/// Bounds of source columns implied by a file's partition values (identity, temporal and
/// integer truncate transforms), or `None` when they imply nothing.
pub fn partition_bounds(
    add: &AddFile,
    metadata: &Metadata,
    schema: &Schema,
) -> Option<FileStatsView> {
    partition_bounds_with(add, metadata, &schema.field_index())
}

fn partition_bounds_with(
    add: &AddFile,
    metadata: &Metadata,
    index: &BTreeMap<FieldId, FieldInfo<'_>>,
) -> Option<FileStatsView> {
    let spec = metadata.spec(add.spec_id)?;
    if spec.fields.is_empty() {
        return None;
    }
    let mut columns = BTreeMap::new();
    for pf in &spec.fields {
        let Some(value) = add.partition_values.get(&pf.field_id) else {
            continue;
        };
        let Some(info) = index.get(&pf.source_id) else {
            continue;
        };
        let DataType::Primitive(src) = info.data_type else {
            continue;
        };
        if value.is_null() {
            if matches!(
                pf.transform,
                Transform::Identity
                    | Transform::Year
                    | Transform::Month
                    | Transform::Day
                    | Transform::Hour
                    | Transform::Truncate(_)
                    | Transform::Bucket(_)
            ) {
                columns.insert(
                    pf.source_id,
                    ColumnBounds {
                        null_count: Some(add.record_count),
                        ..ColumnBounds::default()
                    },
                );
            }
            continue;
        }
        if let Some((min, max)) = source_range(pf.transform, src, value) {
            columns.insert(
                pf.source_id,
                ColumnBounds {
                    min: Some(min),
                    max: Some(max),
                    null_count: Some(0),
                    nan_count: None,
                },
            );
        }
    }
    (!columns.is_empty()).then(|| FileStatsView::new(columns, add.record_count))
}

/// The range of source values a partition value stands for.
fn source_range(
    t: Transform,
    src: &PrimitiveType,
    v: &serde_json::Value,
) -> Option<(Datum, Datum)> {
    let n = v.as_i64();
    let days_range = |first: i64, next: i64| -> Option<(Datum, Datum)> {
        match src {
            PrimitiveType::Date => Some((
                Datum::Date(i32::try_from(first).ok()?),
                Datum::Date(i32::try_from(next - 1).ok()?),
            )),
            PrimitiveType::Timestamp => Some((
                Datum::Timestamp(first.checked_mul(MICROS_PER_DAY)?),
                Datum::Timestamp(next.checked_mul(MICROS_PER_DAY)? - 1),
            )),
            PrimitiveType::Timestamptz => Some((
                Datum::Timestamptz(first.checked_mul(MICROS_PER_DAY)?),
                Datum::Timestamptz(next.checked_mul(MICROS_PER_DAY)? - 1),
            )),
            _ => None,
        }
    };
    let month_start =
        |m: i64| days_from_civil(1970 + m.div_euclid(12), (m.rem_euclid(12) + 1) as u32, 1);
    match t {
        Transform::Identity => {
            let d = Datum::from_json(src, v).ok()?;
            Some((d.clone(), d))
        }
        Transform::Day => {
            let d = n?;
            days_range(d, d + 1)
        }
        Transform::Month => {
            let m = n?;
            days_range(month_start(m), month_start(m + 1))
        }
        Transform::Year => {
            let y = n?;
            days_range(month_start(y * 12), month_start((y + 1) * 12))
        }
        Transform::Hour => {
            let h = n?;
            let lo = h.checked_mul(MICROS_PER_HOUR)?;
            let hi = lo.checked_add(MICROS_PER_HOUR - 1)?;
            match src {
                PrimitiveType::Timestamp => Some((Datum::Timestamp(lo), Datum::Timestamp(hi))),
                PrimitiveType::Timestamptz => {
                    Some((Datum::Timestamptz(lo), Datum::Timestamptz(hi)))
                }
                _ => None,
            }
        }
        Transform::Truncate(w) if src.is_integer() => {
            let lo = n?;
            let hi = lo.checked_add(i64::from(w) - 1)?;
            let lo = Datum::Int64(lo).cast_to(src).ok()?;
            // The upper end may exceed the type: then the type's maximum is the bound.
            let hi = Datum::Int64(hi).cast_to(src).ok().unwrap_or(match src {
                PrimitiveType::Int8 => Datum::Int8(i8::MAX),
                PrimitiveType::Int16 => Datum::Int16(i16::MAX),
                PrimitiveType::Int32 => Datum::Int32(i32::MAX),
                _ => Datum::Int64(i64::MAX),
            });
            Some((lo, hi))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::ColumnStats;
    use crate::compact::parse_partition_spec;
    use crate::expr::Expr;
    use crate::testing::{add_file, sample_metadata};

    /// A file of `name = region` (identity partition) with ids `lo..=hi`.
    fn file(path: &str, region: &str, lo: i64, hi: i64) -> AddFile {
        let mut f = add_file(path, 10);
        f.partition_values
            .insert(1000, serde_json::Value::from(region));
        f.stats.insert(
            1,
            ColumnStats {
                min: Some(lo.into()),
                max: Some(hi.into()),
                null_count: Some(0),
                nan_count: None,
            },
        );
        f
    }

    #[test]
    fn files_are_planned_by_partition_then_statistics() {
        let mut metadata = sample_metadata();
        let spec = parse_partition_spec("name", &metadata.schema, 0, 1000).unwrap();
        metadata.partition_specs = vec![spec];
        let schema = metadata.schema.clone();
        let files = [
            file("a", "eu", 0, 9),
            file("b", "us", 0, 9),
            file("c", "eu", 10, 19),
        ];
        let bound = Expr::parse("name = 'eu' AND id >= 5 AND id < 10")
            .unwrap()
            .bind(&schema)
            .unwrap();
        let plan = plan_files(&files, &metadata, &schema, Some(&bound));
        let paths: Vec<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec!["a"]);
        assert_eq!((plan.pruned_by_partition, plan.pruned_by_stats), (1, 1));
        assert_eq!(
            judge_file(&bound, &files[1], &metadata, &schema),
            FileVerdict::PrunedByPartition
        );
        assert!(!file_may_match(&bound, &files[2], &metadata, &schema));
        let all = plan_files(&files, &metadata, &schema, None);
        assert_eq!(all.files.len(), 3);
    }
}
