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
use strata_format::Schema;
use strata_format::datum::Datum;
use strata_format::expr::BoundExpr;
use strata_format::prune::{ColumnBounds, FileStatsView, may_match};
use strata_format::schema::{DataType, FieldId, PrimitiveType};

use crate::arrow_schema::field_id;

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
