//! Vectorized partitioning of Arrow record batches (SPEC §5).
//!
//! [`partition_values`] computes one Arrow array per partition field with the transformed
//! values of every row; [`split_by_partition`] groups the rows of a batch by their partition
//! tuple so that each group can be written to its own data file. Both compute exactly what
//! [`strata_format::transform::apply`] computes for a single value: the per-value arithmetic
//! is shared, this module adds the column handling (types, nulls, nesting) and the grouping.
//!
//! Source columns are found **by field id** (`PARQUET:field_id` field metadata, SPEC §4.6), at
//! the top level or inside structs; a null struct makes its children null.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, UInt32Array, make_array, new_null_array};
use arrow::buffer::NullBuffer;
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{
    DataType as ArrowType, Date32Type, Decimal128Type, Field, Fields, Float32Type, Float64Type,
    Int8Type, Int16Type, Int32Type, Int64Type, Time64MicrosecondType, TimeUnit,
    TimestampMicrosecondType,
};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use arrow::row::{Row, RowConverter, SortField};
use parquet::arrow::PARQUET_FIELD_ID_META_KEY;
use serde_json::Value;
use strata_format::schema::{DataType, FieldId, FieldInfo, PrimitiveType, Schema};
use strata_format::transform as tf;
use strata_format::{FormatError, PartitionField, PartitionSpec, Transform};

use crate::error::{Error, Result};

mod transforms;

use transforms::transform_column;

fn transform_err(msg: impl Into<String>) -> Error {
    Error::Format(FormatError::Transform(msg.into()))
}

fn spec_err(msg: impl Into<String>) -> Error {
    Error::Format(FormatError::InvalidPartitionSpec(msg.into()))
}

fn arrow_err(context: &str, e: ArrowError) -> Error {
    transform_err(format!("{context}: {e}"))
}

/// The Arrow type a Strata primitive maps to (SPEC §4.6).
fn arrow_type(p: &PrimitiveType) -> Result<ArrowType> {
    crate::arrow_schema::primitive_to_arrow(p)
}

/// The Strata primitive an Arrow type reads as, if any.
fn primitive_of(t: &ArrowType) -> Option<PrimitiveType> {
    use PrimitiveType as P;
    let decimal = |p: &u8, s: &i8| {
        u8::try_from(*s).ok().map(|scale| P::Decimal {
            precision: *p,
            scale,
        })
    };
    Some(match t {
        ArrowType::Boolean => P::Boolean,
        ArrowType::Int8 => P::Int8,
        ArrowType::Int16 => P::Int16,
        ArrowType::Int32 => P::Int32,
        ArrowType::Int64 => P::Int64,
        ArrowType::Float32 => P::Float32,
        ArrowType::Float64 => P::Float64,
        ArrowType::Decimal32(p, s)
        | ArrowType::Decimal64(p, s)
        | ArrowType::Decimal128(p, s)
        | ArrowType::Decimal256(p, s) => return decimal(p, s),
        ArrowType::Date32 => P::Date,
        ArrowType::Time64(TimeUnit::Microsecond) => P::Time,
        ArrowType::Timestamp(TimeUnit::Microsecond, None) => P::Timestamp,
        ArrowType::Timestamp(TimeUnit::Microsecond, Some(_)) => P::Timestamptz,
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => P::String,
        ArrowType::Binary | ArrowType::LargeBinary | ArrowType::BinaryView => P::Binary,
        _ => return None,
    })
}

/// Whether a column of Arrow type `t` can be used as is for a source of type `p`: the SPEC §4.6
/// mapping, any string/binary layout, any time zone, any decimal precision with the same scale
/// (the unscaled values are the same).
fn is_direct(t: &ArrowType, p: &PrimitiveType) -> bool {
    use PrimitiveType as P;
    match (p, t) {
        (P::Decimal { scale, .. }, ArrowType::Decimal128(_, s)) => i8::try_from(*scale) == Ok(*s),
        (P::Timestamp | P::Timestamptz, ArrowType::Timestamp(TimeUnit::Microsecond, _)) => true,
        (P::String, ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View) => true,
        (P::Binary, ArrowType::Binary | ArrowType::LargeBinary | ArrowType::BinaryView) => true,
        _ => arrow_type(p).is_ok_and(|a| a == *t),
    }
}

fn field_id(f: &Field) -> Option<FieldId> {
    f.metadata().get(PARQUET_FIELD_ID_META_KEY)?.parse().ok()
}

/// The column with field id `id`, at this level or inside structs (with ancestor nulls applied).
fn find_column(fields: &Fields, columns: &[ArrayRef], id: FieldId) -> Result<Option<ArrayRef>> {
    for (f, c) in fields.iter().zip(columns) {
        if field_id(f) == Some(id) {
            return Ok(Some(Arc::clone(c)));
        }
    }
    for (f, c) in fields.iter().zip(columns) {
        if let (ArrowType::Struct(children), Some(s)) = (f.data_type(), c.as_struct_opt())
            && let Some(child) = find_column(children, s.columns(), id)?
        {
            return with_parent_nulls(child, s.nulls()).map(Some);
        }
    }
    Ok(None)
}

fn with_parent_nulls(child: ArrayRef, parent: Option<&NullBuffer>) -> Result<ArrayRef> {
    let Some(parent) = parent.filter(|p| p.null_count() > 0) else {
        return Ok(child);
    };
    let nulls = NullBuffer::union(Some(parent), child.nulls());
    let data = child
        .to_data()
        .into_builder()
        .nulls(nulls)
        .build()
        .map_err(|e| arrow_err("applying struct nulls", e))?;
    Ok(make_array(data))
}

/// Brings a source column to a layout the transforms handle: used as is when it matches the
/// type (SPEC §4.6), cast when its type widens to the schema type (SPEC §4.4), else an error.
fn source_column(col: ArrayRef, ty: &PrimitiveType, what: &str) -> Result<ArrayRef> {
    if is_direct(col.data_type(), ty) {
        return Ok(col);
    }
    match primitive_of(col.data_type()) {
        Some(from) if from.can_widen_to(ty) => {
            cast(&col, &arrow_type(ty)?).map_err(|e| arrow_err(what, e))
        }
        _ => Err(transform_err(format!(
            "{what}: the source column has Arrow type {} which cannot hold a {ty} value",
            col.data_type()
        ))),
    }
}

/// Computes the partition values of every row of `batch`: one array per field of `spec`, in
/// spec order, each with `batch.num_rows()` values (null where the transform gives null).
///
/// Source columns are looked up by field id (`PARQUET:field_id`), including inside structs.
/// A column may use any Arrow layout SPEC §4.6 lets readers accept (any string/binary layout,
/// any time zone) or a type that widens to the schema type (cast first). Result types:
///
/// | transform | Arrow type |
/// |---|---|
/// | `identity` | the source column itself |
/// | `year`, `month`, `hour`, `bucket[N]` | Int32 |
/// | `day` | Date32 |
/// | `truncate[W]` of `int8`…`int64` | Int64 (SPEC §5.4: results may leave the source range) |
/// | `truncate[W]` of `decimal(P,S)` | Decimal128(38, S) (results may exceed P digits) |
/// | `truncate[W]` of `string` / `binary` | same layout family as the source (Utf8, LargeUtf8, Utf8View, …) |
/// | `void` | all-null array of the source's Arrow type (Null if the source is gone) |
///
/// Errors (as [`Error::Format`]): a source that is missing from the schema or the batch, not
/// primitive, or of a type the transform does not accept (`InvalidPartitionSpec`); a column
/// whose type does not match its field, or an `hour` beyond the int32 range (`Transform`).
pub fn partition_values(
    batch: &RecordBatch,
    spec: &PartitionSpec,
    schema: &Schema,
) -> Result<Vec<ArrayRef>> {
    let index = schema.field_index();
    spec.fields
        .iter()
        .map(|f| partition_column(batch, f, &index))
        .collect()
}

fn partition_column(
    batch: &RecordBatch,
    field: &PartitionField,
    index: &BTreeMap<FieldId, FieldInfo<'_>>,
) -> Result<ArrayRef> {
    let what = format!(
        "partition field `{}` ({}, {})",
        field.name, field.field_id, field.transform
    );
    let source_type = match index.get(&field.source_id).map(|i| i.data_type) {
        Some(DataType::Primitive(p)) => Some(*p),
        _ => None,
    };
    if field.transform == Transform::Void {
        let t = match source_type {
            Some(p) => arrow_type(&p)?,
            None => ArrowType::Null,
        };
        return Ok(new_null_array(&t, batch.num_rows()));
    }
    let ty = source_type.ok_or_else(|| {
        spec_err(format!(
            "{what}: source field id {} is not a primitive field of the schema",
            field.source_id
        ))
    })?;
    if !field.transform.accepts(&ty) {
        return Err(spec_err(format!(
            "{what}: cannot be applied to a source of type {ty}"
        )));
    }
    let batch_schema = batch.schema();
    let col =
        find_column(batch_schema.fields(), batch.columns(), field.source_id)?.ok_or_else(|| {
            spec_err(format!(
                "{what}: the batch has no column with field id {} ({PARQUET_FIELD_ID_META_KEY})",
                field.source_id
            ))
        })?;
    let col = source_column(col, &ty, &what)?;
    transform_column(field.transform, &col, &what)
}

fn float_json(v: f64) -> Result<Value> {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .ok_or_else(|| transform_err(format!("{v} has no JSON encoding (SPEC §4.5.1)")))
}

/// Value `i` of a partition (or source) array in the single-value JSON encoding (SPEC §4.5).
fn json_value(a: &dyn Array, i: usize) -> Result<Value> {
    if a.is_null(i) || matches!(a.data_type(), ArrowType::Null) {
        return Ok(Value::Null);
    }
    Ok(match a.data_type() {
        ArrowType::Boolean => a.as_boolean().value(i).into(),
        ArrowType::Int8 => a.as_primitive::<Int8Type>().value(i).into(),
        ArrowType::Int16 => a.as_primitive::<Int16Type>().value(i).into(),
        ArrowType::Int32 => a.as_primitive::<Int32Type>().value(i).into(),
        ArrowType::Int64 => a.as_primitive::<Int64Type>().value(i).into(),
        ArrowType::Date32 => a.as_primitive::<Date32Type>().value(i).into(),
        ArrowType::Time64(TimeUnit::Microsecond) => {
            a.as_primitive::<Time64MicrosecondType>().value(i).into()
        }
        ArrowType::Timestamp(TimeUnit::Microsecond, _) => {
            a.as_primitive::<TimestampMicrosecondType>().value(i).into()
        }
        ArrowType::Float32 => float_json(f64::from(a.as_primitive::<Float32Type>().value(i)))?,
        ArrowType::Float64 => float_json(a.as_primitive::<Float64Type>().value(i))?,
        ArrowType::Decimal128(_, s) => {
            let scale = u8::try_from(*s)
                .map_err(|_| transform_err(format!("negative decimal scale {s}")))?;
            Value::String(tf::format_decimal(
                a.as_primitive::<Decimal128Type>().value(i),
                scale,
            ))
        }
        ArrowType::Utf8 => a.as_string::<i32>().value(i).into(),
        ArrowType::LargeUtf8 => a.as_string::<i64>().value(i).into(),
        ArrowType::Utf8View => a.as_string_view().value(i).into(),
        ArrowType::Binary => Value::String(tf::encode_hex(a.as_binary::<i32>().value(i))),
        ArrowType::LargeBinary => Value::String(tf::encode_hex(a.as_binary::<i64>().value(i))),
        ArrowType::BinaryView => Value::String(tf::encode_hex(a.as_binary_view().value(i))),
        other => {
            return Err(transform_err(format!(
                "Arrow type {other} has no single-value encoding"
            )));
        }
    })
}

/// Groups rows by their partition tuple: the first row of every group (in order of first
/// appearance) and the group of every row.
fn group_rows(arrays: &[ArrayRef], num_rows: usize) -> Result<(Vec<usize>, Vec<u32>)> {
    let fields = arrays
        .iter()
        .map(|a| SortField::new(a.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields).map_err(|e| arrow_err("grouping rows", e))?;
    let rows = converter
        .convert_columns(arrays)
        .map_err(|e| arrow_err("grouping rows", e))?;
    let mut ids: HashMap<Row<'_>, u32> = HashMap::new();
    let mut first_rows: Vec<usize> = Vec::new();
    let mut group_of: Vec<u32> = Vec::with_capacity(num_rows);
    // Input is often clustered: reuse the previous row's group without hashing.
    let mut last: Option<(Row<'_>, u32)> = None;
    for (i, row) in rows.iter().enumerate() {
        let gid = match last {
            Some((prev, g)) if prev == row => g,
            _ => {
                // Fits: there are at most num_rows <= u32::MAX groups.
                let next = first_rows.len() as u32;
                let g = match ids.entry(row) {
                    Entry::Occupied(e) => *e.get(),
                    Entry::Vacant(e) => {
                        first_rows.push(i);
                        *e.insert(next)
                    }
                };
                last = Some((row, g));
                g
            }
        };
        group_of.push(gid);
    }
    Ok((first_rows, group_of))
}

/// Splits `batch` into one batch per distinct partition tuple of `spec`.
///
/// Each group comes with its partition values keyed by partition field id, in the
/// single-value JSON encoding of the result type (`null` for null, always for `void`) — exactly
/// the `partitionValues` of the `add` for a file holding those rows (SPEC §5.5). Groups are in
/// order of first appearance in the batch; rows keep their order within a group; every row is
/// in exactly one group. An unpartitioned spec gives one group with an empty map; a batch
/// without rows gives no group. Cost: one row-format key per row and a single `take` of the
/// whole batch into group order (none when all rows share a tuple); the group batches are
/// zero-copy slices of that one reordered batch.
///
/// Errors: those of [`partition_values`], and a partition value with no JSON encoding (a NaN or
/// infinite `identity` float).
pub fn split_by_partition(
    batch: &RecordBatch,
    spec: &PartitionSpec,
    schema: &Schema,
) -> Result<Vec<(BTreeMap<i32, Value>, RecordBatch)>> {
    let num_rows = batch.num_rows();
    if num_rows == 0 {
        return Ok(Vec::new());
    }
    if spec.is_unpartitioned() {
        return Ok(vec![(BTreeMap::new(), batch.clone())]);
    }
    if u32::try_from(num_rows).is_err() {
        return Err(transform_err(format!(
            "a batch of {num_rows} rows is too large to partition (at most {} rows)",
            u32::MAX
        )));
    }
    let arrays = partition_values(batch, spec, schema)?;
    let key = |row: usize| -> Result<BTreeMap<i32, Value>> {
        spec.fields
            .iter()
            .zip(&arrays)
            .map(|(f, a)| Ok((f.field_id, json_value(a.as_ref(), row)?)))
            .collect()
    };
    let (first_rows, group_of) = group_rows(&arrays, num_rows)?;
    if first_rows.len() == 1 {
        return Ok(vec![(key(0)?, batch.clone())]);
    }
    // Counting sort of the row numbers by group (stable: rows keep their order in a group).
    let mut offsets = vec![0usize; first_rows.len() + 1];
    for &g in &group_of {
        offsets[g as usize + 1] += 1;
    }
    for g in 1..offsets.len() {
        offsets[g] += offsets[g - 1];
    }
    let mut next = offsets.clone();
    let mut indices = vec![0u32; num_rows];
    for (row, &g) in group_of.iter().enumerate() {
        let slot = &mut next[g as usize];
        indices[*slot] = row as u32;
        *slot += 1;
    }
    // One `take` for all rows, then zero-copy slices: O(rows) whatever the number of groups.
    let sorted = take_record_batch(batch, &UInt32Array::from(indices))
        .map_err(|e| arrow_err("splitting rows", e))?;
    let mut out = Vec::with_capacity(first_rows.len());
    for (g, &first) in first_rows.iter().enumerate() {
        let (start, end) = (offsets[g], offsets[g + 1]);
        out.push((key(first)?, sorted.slice(start, end - start)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BinaryArray, Decimal128Array, Float32Array, Float64Array, Int8Array, Int32Array,
        Int64Array, StringArray, StructArray, TimestampMicrosecondArray,
    };
    use arrow::datatypes::Schema as ArrowSchema;
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::BTreeSet;
    use strata_format::schema::{StructField, StructType};

    use PrimitiveType as P;
    pub(super) fn field(name: &str, t: ArrowType, id: i32) -> Field {
        Field::new(name, t, true).with_metadata(
            [(PARQUET_FIELD_ID_META_KEY.to_string(), id.to_string())]
                .into_iter()
                .collect::<HashMap<String, String>>(),
        )
    }

    pub(super) fn batch_of(cols: Vec<(Field, ArrayRef)>) -> RecordBatch {
        let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = cols.into_iter().unzip();
        RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), arrays).unwrap()
    }

    pub(super) fn pfield(id: i32, source: i32, name: &str, t: Transform) -> PartitionField {
        PartitionField {
            field_id: id,
            source_id: source,
            name: name.into(),
            transform: t,
        }
    }

    pub(super) fn spec(fields: Vec<PartitionField>) -> PartitionSpec {
        PartitionSpec { spec_id: 1, fields }
    }

    pub(super) fn all_transforms(n: u32, w: u32) -> Vec<Transform> {
        vec![
            Transform::Identity,
            Transform::Year,
            Transform::Month,
            Transform::Day,
            Transform::Hour,
            Transform::Bucket(n),
            Transform::Truncate(w),
            Transform::Void,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn split_keeps_every_row_once_in_order_and_groups_by_tuple(
            rows in proptest::collection::vec(
                (proptest::option::weighted(0.9, -3i64..3), proptest::option::weighted(0.9, 0i64..20), "[ab]{0,3}"),
                0..80,
            ),
        ) {
            let schema = Schema::new(0, vec![
                StructField::required(1, "row", P::Int64),
                StructField::optional(2, "ts", P::Timestamptz),
                StructField::optional(3, "id", P::Int64),
                StructField::optional(4, "name", P::String),
            ]).unwrap();
            let spec = spec(vec![
                pfield(1000, 2, "ts_day", Transform::Day),
                pfield(1001, 3, "id_bucket", Transform::Bucket(3)),
                pfield(1002, 4, "name_trunc", Transform::Truncate(1)),
                pfield(1003, 9, "gone", Transform::Void),
            ]);
            let day = 86_400_000_000i64;
            let batch = batch_of(vec![
                (field("row", ArrowType::Int64, 1), Arc::new(Int64Array::from_iter_values(0..rows.len() as i64)) as ArrayRef),
                (
                    field("ts", ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), 2),
                    Arc::new(TimestampMicrosecondArray::from(rows.iter().map(|r| r.0.map(|d| d * day + 7)).collect::<Vec<_>>()).with_timezone("UTC")),
                ),
                (field("id", ArrowType::Int64, 3), Arc::new(Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>()))),
                (field("name", ArrowType::Utf8, 4), Arc::new(StringArray::from(rows.iter().map(|r| Some(r.2.as_str())).collect::<Vec<_>>()))),
            ]);
            let groups = split_by_partition(&batch, &spec, &schema).unwrap();
            let mut seen = Vec::new();
            let mut keys = BTreeSet::new();
            for (key, part) in &groups {
                prop_assert!(part.num_rows() > 0);
                prop_assert_eq!(key.keys().copied().collect::<Vec<_>>(), vec![1000, 1001, 1002, 1003]);
                prop_assert_eq!(&key[&1003], &Value::Null);
                prop_assert!(keys.insert(serde_json::to_string(key).unwrap()), "duplicate group {:?}", key);
                // Every row of the group has the group's tuple.
                let values = partition_values(part, &spec, &schema).unwrap();
                for i in 0..part.num_rows() {
                    for ((id, want), a) in key.iter().zip(&values) {
                        prop_assert_eq!(&json_value(a.as_ref(), i).unwrap(), want, "field {}", id);
                    }
                }
                let row_numbers = part.column(0).as_primitive::<Int64Type>().values().to_vec();
                prop_assert!(row_numbers.windows(2).all(|p| p[0] < p[1]), "order kept within a group");
                seen.extend(row_numbers);
            }
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..rows.len() as i64).collect::<Vec<_>>());
        }
    }

    fn ts_schema() -> Schema {
        Schema::new(0, vec![StructField::optional(2, "ts", P::Timestamptz)]).unwrap()
    }

    #[test]
    fn negative_timestamps_floor_to_earlier_units() {
        let col: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![Some(-1), None, Some(0), Some(-3_600_000_001)])
                .with_timezone("UTC"),
        );
        let batch = batch_of(vec![(field("ts", col.data_type().clone(), 2), col)]);
        let spec = spec(vec![
            pfield(1000, 2, "y", Transform::Year),
            pfield(1001, 2, "m", Transform::Month),
            pfield(1002, 2, "d", Transform::Day),
            pfield(1003, 2, "h", Transform::Hour),
        ]);
        let out = partition_values(&batch, &spec, &ts_schema()).unwrap();
        let ints = |a: &ArrayRef| {
            (0..a.len())
                .map(|i| json_value(a.as_ref(), i).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ints(&out[0]),
            vec![json!(-1), Value::Null, json!(0), json!(-1)]
        );
        assert_eq!(
            ints(&out[1]),
            vec![json!(-1), Value::Null, json!(0), json!(-1)]
        );
        assert_eq!(out[2].data_type(), &ArrowType::Date32);
        assert_eq!(
            ints(&out[2]),
            vec![json!(-1), Value::Null, json!(0), json!(-1)]
        );
        assert_eq!(
            ints(&out[3]),
            vec![json!(-1), Value::Null, json!(0), json!(-2)]
        );
    }

    #[test]
    fn hour_overflow_is_an_error_naming_the_field() {
        let col: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(vec![i64::MAX]).with_timezone("UTC"));
        let batch = batch_of(vec![(field("ts", col.data_type().clone(), 2), col)]);
        let err = partition_values(
            &batch,
            &spec(vec![pfield(1000, 2, "ts_hour", Transform::Hour)]),
            &ts_schema(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("ts_hour") && err.contains("int32"), "{err}");
    }

    #[test]
    fn truncated_small_ints_may_leave_the_source_range() {
        let col: ArrayRef = Arc::new(Int8Array::from(vec![-128i8, 127]));
        let schema = Schema::new(0, vec![StructField::optional(1, "x", P::Int8)]).unwrap();
        let batch = batch_of(vec![(field("x", ArrowType::Int8, 1), col)]);
        let out = partition_values(
            &batch,
            &spec(vec![pfield(1000, 1, "t", Transform::Truncate(10))]),
            &schema,
        )
        .unwrap();
        assert_eq!(
            out[0].as_primitive::<Int64Type>().values().to_vec(),
            vec![-130, 120]
        );
    }

    #[test]
    fn sources_are_found_by_field_id_inside_structs_with_parent_nulls() {
        let inner_field = field("city", ArrowType::Utf8, 11);
        let inner: ArrayRef = Arc::new(StringArray::from(vec![Some("paris"), Some("rome"), None]));
        let addr = StructArray::new(
            Fields::from(vec![inner_field.clone()]),
            vec![inner],
            Some(NullBuffer::from(vec![true, false, true])),
        );
        let batch = batch_of(vec![(
            field(
                "addr",
                ArrowType::Struct(Fields::from(vec![inner_field])),
                10,
            ),
            Arc::new(addr) as ArrayRef,
        )]);
        let schema = Schema::new(
            0,
            vec![StructField::optional(
                10,
                "addr",
                DataType::Struct(StructType {
                    fields: vec![StructField::optional(11, "city", P::String)],
                }),
            )],
        )
        .unwrap();
        let spec = spec(vec![pfield(1000, 11, "city", Transform::Identity)]);
        let groups = split_by_partition(&batch, &spec, &schema).unwrap();
        let keys: Vec<Value> = groups.iter().map(|(k, _)| k[&1000].clone()).collect();
        assert_eq!(keys, vec![json!("paris"), Value::Null]);
        assert_eq!(groups[1].1.num_rows(), 2);
    }

    #[test]
    fn narrower_columns_are_widened_to_the_schema_type() {
        let schema = Schema::new(0, vec![StructField::optional(1, "id", P::Int64)]).unwrap();
        let batch = batch_of(vec![(
            field("id", ArrowType::Int32, 1),
            Arc::new(Int32Array::from(vec![34])) as ArrayRef,
        )]);
        let groups = split_by_partition(
            &batch,
            &spec(vec![pfield(1000, 1, "b", Transform::Bucket(16))]),
            &schema,
        )
        .unwrap();
        assert_eq!(groups[0].0[&1000], json!(3));
        // A type that does not widen is refused.
        let batch = batch_of(vec![(
            field("id", ArrowType::Utf8, 1),
            Arc::new(StringArray::from(vec!["34"])) as ArrayRef,
        )]);
        let err = partition_values(
            &batch,
            &spec(vec![pfield(1000, 1, "b", Transform::Bucket(16))]),
            &schema,
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot hold a int64"), "{err}");
    }

    #[test]
    fn missing_source_columns_and_rejected_transforms_are_errors() {
        let schema = Schema::new(
            0,
            vec![
                StructField::optional(1, "x", P::Float64),
                StructField::optional(2, "y", P::Int32),
            ],
        )
        .unwrap();
        let batch = batch_of(vec![(
            field("x", ArrowType::Float64, 1),
            Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
        )]);
        let e = partition_values(
            &batch,
            &spec(vec![pfield(1000, 2, "y", Transform::Identity)]),
            &schema,
        )
        .unwrap_err();
        assert!(e.to_string().contains("no column with field id 2"), "{e}");
        let e = partition_values(
            &batch,
            &spec(vec![pfield(1000, 1, "x", Transform::Bucket(2))]),
            &schema,
        )
        .unwrap_err();
        assert!(
            matches!(e, Error::Format(FormatError::InvalidPartitionSpec(_))),
            "{e}"
        );
        let e = partition_values(
            &batch,
            &spec(vec![pfield(1000, 7, "z", Transform::Identity)]),
            &schema,
        )
        .unwrap_err();
        assert!(e.to_string().contains("source field id 7"), "{e}");
    }

    #[test]
    fn unpartitioned_gives_one_group_and_empty_batches_none() {
        let schema = Schema::new(0, vec![StructField::optional(1, "x", P::Int32)]).unwrap();
        let batch = batch_of(vec![(
            field("x", ArrowType::Int32, 1),
            Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef,
        )]);
        let groups = split_by_partition(&batch, &PartitionSpec::unpartitioned(), &schema).unwrap();
        assert_eq!(groups.len(), 1);
        assert!(groups[0].0.is_empty());
        assert_eq!(groups[0].1.num_rows(), 2);
        let empty = batch.slice(0, 0);
        let spec = spec(vec![pfield(1000, 1, "x", Transform::Identity)]);
        assert!(
            split_by_partition(&empty, &spec, &schema)
                .unwrap()
                .is_empty()
        );
        assert!(
            split_by_partition(&empty, &PartitionSpec::unpartitioned(), &schema)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn partition_values_use_the_single_value_encoding() {
        let schema = Schema::new(
            0,
            vec![
                StructField::optional(
                    1,
                    "amount",
                    P::Decimal {
                        precision: 6,
                        scale: 2,
                    },
                ),
                StructField::optional(2, "blob", P::Binary),
                StructField::optional(3, "f", P::Float32),
            ],
        )
        .unwrap();
        let batch = batch_of(vec![
            (
                field("amount", ArrowType::Decimal128(6, 2), 1),
                Arc::new(
                    Decimal128Array::from(vec![1065])
                        .with_precision_and_scale(6, 2)
                        .unwrap(),
                ) as ArrayRef,
            ),
            (
                field("blob", ArrowType::Binary, 2),
                Arc::new(BinaryArray::from(vec![&[0u8, 255, 16][..]])),
            ),
            (
                field("f", ArrowType::Float32, 3),
                Arc::new(Float32Array::from(vec![0.1f32])),
            ),
        ]);
        let spec = spec(vec![
            pfield(1000, 1, "a", Transform::Truncate(50)),
            pfield(1001, 2, "b", Transform::Identity),
            pfield(1002, 3, "f", Transform::Identity),
            pfield(1003, 1, "v", Transform::Void),
        ]);
        let groups = split_by_partition(&batch, &spec, &schema).unwrap();
        assert_eq!(
            serde_json::to_string(&groups[0].0).unwrap(),
            r#"{"1000":"10.50","1001":"00ff10","1002":0.10000000149011612,"1003":null}"#
        );
    }

    #[test]
    fn nan_identity_partition_values_are_refused() {
        let schema = Schema::new(0, vec![StructField::optional(1, "f", P::Float64)]).unwrap();
        let batch = batch_of(vec![(
            field("f", ArrowType::Float64, 1),
            Arc::new(Float64Array::from(vec![f64::NAN])) as ArrayRef,
        )]);
        let spec = spec(vec![pfield(1000, 1, "f", Transform::Identity)]);
        assert!(split_by_partition(&batch, &spec, &schema).is_err());
    }
}
