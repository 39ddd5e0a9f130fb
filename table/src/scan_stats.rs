//! Statistics used by scans: bounds implied by partition values, and Parquet row-group and page
//! statistics adapted to [`FileStatsView`]s (SPEC §4.8, §5).

use std::collections::BTreeMap;

use arrow::array::{Array, ArrayRef, AsArray, UInt64Array};
use arrow::datatypes::{
    DataType as ArrowType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, Schema as ArrowSchema, Time64MicrosecondType, TimeUnit,
    TimestampMicrosecondType,
};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
use parquet::file::metadata::ParquetMetaData;
use parquet::schema::types::SchemaDescriptor;
use strata_format::datum::{Datum, MICROS_PER_DAY, days_from_civil};
use strata_format::expr::BoundExpr;
use strata_format::prune::{ColumnBounds, FileStatsView, may_match};
use strata_format::schema::{DataType, FieldId, PrimitiveType};
use strata_format::{AddFile, Metadata, Schema, Transform};

use crate::arrow_schema::field_id;

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// Bounds of source columns implied by a file's partition values (identity, temporal and
/// integer truncate transforms), or `None` when they imply nothing.
pub(crate) fn partition_bounds(
    add: &AddFile,
    metadata: &Metadata,
    schema: &Schema,
) -> Option<FileStatsView> {
    let spec = metadata.spec(add.spec_id)?;
    let index = schema.field_index();
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

/// The value at `i` of a statistics array as a datum (`None` when null or of an unsupported
/// type).
pub(crate) fn datum_at(a: &ArrayRef, i: usize) -> Option<Datum> {
    if i >= a.len() || a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        ArrowType::Boolean => Datum::Boolean(a.as_boolean().value(i)),
        ArrowType::Int8 => Datum::Int8(a.as_primitive::<Int8Type>().value(i)),
        ArrowType::Int16 => Datum::Int16(a.as_primitive::<Int16Type>().value(i)),
        ArrowType::Int32 => Datum::Int32(a.as_primitive::<Int32Type>().value(i)),
        ArrowType::Int64 => Datum::Int64(a.as_primitive::<Int64Type>().value(i)),
        ArrowType::Float32 => Datum::Float32(a.as_primitive::<Float32Type>().value(i)),
        ArrowType::Float64 => Datum::Float64(a.as_primitive::<Float64Type>().value(i)),
        ArrowType::Decimal128(p, s) => Datum::decimal(
            a.as_primitive::<Decimal128Type>().value(i),
            *p,
            u8::try_from(*s).ok()?,
        )
        .ok()?,
        ArrowType::Date32 => Datum::Date(a.as_primitive::<Date32Type>().value(i)),
        ArrowType::Time64(TimeUnit::Microsecond) => {
            Datum::Time(a.as_primitive::<Time64MicrosecondType>().value(i))
        }
        ArrowType::Timestamp(TimeUnit::Microsecond, tz) => {
            let v = a.as_primitive::<TimestampMicrosecondType>().value(i);
            if tz.is_some() {
                Datum::Timestamptz(v)
            } else {
                Datum::Timestamp(v)
            }
        }
        ArrowType::Utf8 => Datum::String(a.as_string::<i32>().value(i).to_string()),
        ArrowType::LargeUtf8 => Datum::String(a.as_string::<i64>().value(i).to_string()),
        ArrowType::Utf8View => Datum::String(a.as_string_view().value(i).to_string()),
        ArrowType::Binary => Datum::Binary(a.as_binary::<i32>().value(i).to_vec()),
        ArrowType::LargeBinary => Datum::Binary(a.as_binary::<i64>().value(i).to_vec()),
        _ => return None,
    })
}

fn bounds_at(
    mins: &ArrayRef,
    maxes: &ArrayRef,
    nulls: &UInt64Array,
    i: usize,
    ty: &PrimitiveType,
) -> ColumnBounds {
    ColumnBounds {
        min: datum_at(mins, i).and_then(|d| d.cast_to(ty).ok()),
        max: datum_at(maxes, i).and_then(|d| d.cast_to(ty).ok()),
        null_count: (i < nulls.len() && nulls.is_valid(i)).then(|| nulls.value(i)),
        nan_count: None,
    }
}

/// The top-level primitive predicate columns present in the file: (field id, file column
/// name, current type).
fn predicate_columns<'a>(
    predicate: &BoundExpr,
    schema: &'a Schema,
    file_arrow: &'a ArrowSchema,
) -> Vec<(FieldId, &'a str, &'a PrimitiveType)> {
    predicate
        .field_ids()
        .into_iter()
        .filter_map(|id| {
            let f = schema.fields().iter().find(|f| f.id == id)?;
            let DataType::Primitive(p) = &f.data_type else {
                return None;
            };
            let col = file_arrow
                .fields()
                .iter()
                .find(|af| field_id(af) == Some(id))?;
            Some((id, col.name().as_str(), p))
        })
        .collect()
}

/// Row groups that may hold matching rows, and a row selection over them from the page index
/// (with the number of rows it skips), when the page index allows skipping anything.
pub(crate) fn row_group_selection(
    predicate: &BoundExpr,
    schema: &Schema,
    file_arrow: &ArrowSchema,
    parquet_schema: &SchemaDescriptor,
    metadata: &ParquetMetaData,
) -> (Vec<usize>, Option<(RowSelection, u64)>) {
    let groups = metadata.row_groups();
    let all: Vec<usize> = (0..groups.len()).collect();
    let columns = predicate_columns(predicate, schema, file_arrow);
    if columns.is_empty() {
        return (all, None);
    }
    let mut per_group: Vec<BTreeMap<FieldId, ColumnBounds>> = vec![BTreeMap::new(); groups.len()];
    let mut converters = Vec::new();
    for (id, name, ty) in &columns {
        let Ok(conv) = StatisticsConverter::try_new(name, file_arrow, parquet_schema) else {
            continue;
        };
        if let (Ok(mins), Ok(maxes), Ok(nulls)) = (
            conv.row_group_mins(groups.iter()),
            conv.row_group_maxes(groups.iter()),
            conv.row_group_null_counts(groups.iter()),
        ) {
            for (i, g) in per_group.iter_mut().enumerate() {
                g.insert(*id, bounds_at(&mins, &maxes, &nulls, i, ty));
            }
        }
        converters.push((*id, conv, *ty));
    }
    let kept: Vec<usize> = all
        .into_iter()
        .filter(|&i| {
            let rows = u64::try_from(groups[i].num_rows()).unwrap_or(0);
            may_match(predicate, &FileStatsView::new(per_group[i].clone(), rows))
        })
        .collect();
    let (Some(column_index), Some(offset_index)) =
        (metadata.column_index(), metadata.offset_index())
    else {
        return (kept, None);
    };
    let total_rows: usize = kept
        .iter()
        .map(|&i| usize::try_from(groups[i].num_rows()).unwrap_or(0))
        .sum();
    let mut selection: Option<RowSelection> = None;
    for (id, conv, ty) in &converters {
        let (Ok(mins), Ok(maxes), Ok(nulls), Ok(Some(counts))) = (
            conv.data_page_mins(column_index, offset_index, kept.iter()),
            conv.data_page_maxes(column_index, offset_index, kept.iter()),
            conv.data_page_null_counts(column_index, offset_index, kept.iter()),
            conv.data_page_row_counts(offset_index, groups, kept.iter()),
        ) else {
            continue;
        };
        let mut selectors: Vec<RowSelector> = Vec::new();
        let mut covered = 0usize;
        for p in 0..counts.len() {
            if counts.is_null(p) {
                selectors.clear();
                break;
            }
            let rows = usize::try_from(counts.value(p)).unwrap_or(0);
            covered += rows;
            let view = FileStatsView::new(
                BTreeMap::from([(*id, bounds_at(&mins, &maxes, &nulls, p, ty))]),
                rows as u64,
            );
            if may_match(predicate, &view) {
                selectors.push(RowSelector::select(rows));
            } else {
                selectors.push(RowSelector::skip(rows));
            }
        }
        if selectors.is_empty() || covered != total_rows {
            continue;
        }
        let sel = RowSelection::from(selectors);
        selection = Some(match selection {
            Some(s) => s.intersection(&sel),
            None => sel,
        });
    }
    match selection {
        Some(sel) => {
            let selected = sel.row_count();
            let skipped = total_rows.saturating_sub(selected) as u64;
            if skipped == 0 {
                (kept, None)
            } else {
                (kept, Some((sel, skipped)))
            }
        }
        None => (kept, None),
    }
}
