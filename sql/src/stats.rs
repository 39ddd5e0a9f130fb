//! Statistics for DataFusion's planner, from the per-file statistics in the log.
//!
//! Row counts are exact when every file planned is read whole (no filter, no limit): each
//! `add` records its row count and its deletion vector's cardinality (SPEC §7.3). Null counts
//! likewise, when every file has one and no file has deleted rows (statistics count them). Bounds are
//! always `Inexact`: string bounds may be truncated prefixes, and a filter may drop the rows
//! holding them.

use std::sync::Arc;

use arrow::datatypes::{DataType as ArrowType, SchemaRef};
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, ScalarValue, Statistics};
use strata_format::datum::Datum;
use strata_format::schema::{DataType, Schema};
use strata_format::{AddFile, ColumnStats};

/// Statistics of reading `files` into `output` (columns of the table's `schema`, by name);
/// `whole` says whether every row of them is returned.
pub fn statistics(
    files: &[Arc<AddFile>],
    schema: &Schema,
    output: &SchemaRef,
    whole: bool,
) -> Statistics {
    let rows: u64 = files.iter().map(|f| strata_format::dv::live_rows(f)).sum();
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    let exact_or_not = |n: usize| {
        if whole {
            Precision::Exact(n)
        } else {
            Precision::Inexact(n)
        }
    };
    let columns = output
        .fields()
        .iter()
        .map(|f| match schema.field_by_name(f.name()) {
            Some(field) => column(files, field.id, &field.data_type, f.data_type(), whole),
            None => ColumnStatistics::new_unknown(),
        })
        .collect();
    Statistics {
        num_rows: exact_or_not(usize::try_from(rows).unwrap_or(usize::MAX)),
        total_byte_size: Precision::Inexact(usize::try_from(bytes).unwrap_or(usize::MAX)),
        column_statistics: columns,
    }
}

fn column(
    files: &[Arc<AddFile>],
    id: i32,
    ty: &DataType,
    arrow: &ArrowType,
    whole: bool,
) -> ColumnStatistics {
    let mut stats = ColumnStatistics::new_unknown();
    let DataType::Primitive(p) = ty else {
        return stats;
    };
    let per_file: Vec<Option<&ColumnStats>> = files.iter().map(|f| f.stats.get(&id)).collect();
    let nulls: Option<u64> = per_file.iter().map(|s| s.and_then(|s| s.null_count)).sum();
    if let Some(n) = nulls {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let deletes = files.iter().any(|f| f.deletion_vector.is_some());
        stats.null_count = if whole && !deletes {
            Precision::Exact(n)
        } else {
            Precision::Inexact(n)
        };
    }
    let bound =
        |pick: fn(&ColumnStats) -> Option<&strata_format::StatValue>| -> Option<Vec<ScalarValue>> {
            per_file
                .iter()
                .map(|s| {
                    let v = pick((*s)?)?;
                    to_scalar(&Datum::from_stat(p, v).ok()?, arrow)
                })
                .collect()
        };
    if files.is_empty() {
        return stats;
    }
    if let Some(mins) = bound(|s| s.min.as_ref()) {
        stats.min_value = fold(mins, |a, b| a <= b).map_or(Precision::Absent, Precision::Inexact);
    }
    if let Some(maxes) = bound(|s| s.max.as_ref()) {
        stats.max_value = fold(maxes, |a, b| a >= b).map_or(Precision::Absent, Precision::Inexact);
    }
    stats
}

/// The value `keep_first` prefers over all others.
fn fold(
    values: Vec<ScalarValue>,
    keep_first: fn(&ScalarValue, &ScalarValue) -> bool,
) -> Option<ScalarValue> {
    values
        .into_iter()
        .reduce(|a, b| if keep_first(&a, &b) { a } else { b })
}

/// A datum as a scalar of the column's Arrow type (`None` when they do not match).
pub fn to_scalar(d: &Datum, arrow: &ArrowType) -> Option<ScalarValue> {
    Some(match (d, arrow) {
        (Datum::Boolean(b), ArrowType::Boolean) => ScalarValue::Boolean(Some(*b)),
        (Datum::Int8(v), ArrowType::Int8) => ScalarValue::Int8(Some(*v)),
        (Datum::Int16(v), ArrowType::Int16) => ScalarValue::Int16(Some(*v)),
        (Datum::Int32(v), ArrowType::Int32) => ScalarValue::Int32(Some(*v)),
        (Datum::Int64(v), ArrowType::Int64) => ScalarValue::Int64(Some(*v)),
        (Datum::Float32(v), ArrowType::Float32) => ScalarValue::Float32(Some(*v)),
        (Datum::Float64(v), ArrowType::Float64) => ScalarValue::Float64(Some(*v)),
        (Datum::Decimal { unscaled, .. }, ArrowType::Decimal128(p, s)) => {
            ScalarValue::Decimal128(Some(*unscaled), *p, *s)
        }
        (Datum::Date(v), ArrowType::Date32) => ScalarValue::Date32(Some(*v)),
        (Datum::Time(v), ArrowType::Time64(_)) => ScalarValue::Time64Microsecond(Some(*v)),
        (Datum::Timestamp(v), ArrowType::Timestamp(_, None)) => {
            ScalarValue::TimestampMicrosecond(Some(*v), None)
        }
        (Datum::Timestamptz(v), ArrowType::Timestamp(_, tz @ Some(_))) => {
            ScalarValue::TimestampMicrosecond(Some(*v), tz.clone())
        }
        (Datum::String(s), ArrowType::Utf8) => ScalarValue::Utf8(Some(s.clone())),
        (Datum::String(s), ArrowType::Utf8View) => ScalarValue::Utf8View(Some(s.clone())),
        (Datum::Binary(b), ArrowType::Binary) => ScalarValue::Binary(Some(b.clone())),
        (Datum::Binary(b), ArrowType::BinaryView) => ScalarValue::BinaryView(Some(b.clone())),
        _ => return None,
    })
}
