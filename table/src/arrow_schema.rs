//! Table schemas as Arrow schemas, and making user data fit them.
//!
//! [`to_arrow_schema`] maps the Strata type system onto Arrow. Every Arrow field it creates,
//! nested ones included (struct children, the list `element`, the map `key` and `value`),
//! carries its Strata field id as metadata under [`PARQUET_FIELD_ID_META_KEY`]
//! (`PARQUET:field_id`); the Parquet writer turns that into the `field_id` of the Parquet
//! schema, which is how readers (this crate, pyarrow, Spark) find columns by id.
//!
//! [`conform_batch`] takes a batch as a user hands it over (columns matched by name, since user
//! data carries no field ids) and turns it into a batch of the table's Arrow schema: columns are
//! reordered, lossless casts applied, missing optional columns filled, and anything that would
//! lose data or break a `required` constraint is refused with an error naming the column.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
pub(crate) use strata_format::transform::{decode_hex, encode_hex, format_decimal, parse_decimal};

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, ListArray, MapArray,
    RecordBatch, RecordBatchOptions, StringArray, StructArray, Time64MicrosecondArray,
    TimestampMicrosecondArray, UInt32Array, new_null_array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::compute::{CastOptions, cast_with_options, take};
use arrow::datatypes::{
    DataType as ArrowType, Field, Fields, Schema as ArrowSchema, SchemaRef, TimeUnit,
    TimestampMicrosecondType,
};
use parquet::arrow::PARQUET_FIELD_ID_META_KEY;
use serde_json::Value;
use strata_format::schema::{DataType, PrimitiveType, Schema, StructField};

use crate::error::{Error, Result};

/// Name of the Arrow field of list elements (the Parquet LIST convention).
pub const LIST_ELEMENT_NAME: &str = "element";
/// Name of the Arrow entries struct of maps (the Parquet MAP convention).
pub const MAP_ENTRIES_NAME: &str = "key_value";
/// Name of the Arrow field of map keys.
pub const MAP_KEY_NAME: &str = "key";
/// Name of the Arrow field of map values.
pub const MAP_VALUE_NAME: &str = "value";
/// Time zone of `timestamptz` columns.
pub const UTC: &str = "UTC";

/// The Arrow schema of a table schema, with a field id on every field.
pub fn to_arrow_schema(schema: &Schema) -> Result<SchemaRef> {
    let fields = schema
        .fields()
        .iter()
        .map(|f| to_arrow_field(f, &f.name))
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(ArrowSchema::new(fields)))
}

/// The Strata field id an Arrow field carries (`PARQUET:field_id` metadata), if any.
pub fn field_id(field: &Field) -> Option<i32> {
    field
        .metadata()
        .get(PARQUET_FIELD_ID_META_KEY)
        .and_then(|v| v.parse().ok())
}

/// The Arrow type of a Strata primitive type.
pub fn primitive_to_arrow(p: &PrimitiveType) -> Result<ArrowType> {
    use PrimitiveType as P;
    Ok(match p {
        P::Boolean => ArrowType::Boolean,
        P::Int8 => ArrowType::Int8,
        P::Int16 => ArrowType::Int16,
        P::Int32 => ArrowType::Int32,
        P::Int64 => ArrowType::Int64,
        P::Float32 => ArrowType::Float32,
        P::Float64 => ArrowType::Float64,
        P::Decimal { precision, scale } => {
            let s = i8::try_from(*scale).map_err(|_| unsupported(p))?;
            ArrowType::Decimal128(*precision, s)
        }
        P::Date => ArrowType::Date32,
        P::Time => ArrowType::Time64(TimeUnit::Microsecond),
        P::Timestamp => ArrowType::Timestamp(TimeUnit::Microsecond, None),
        P::Timestamptz => ArrowType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
        P::String => ArrowType::Utf8,
        P::Binary => ArrowType::Binary,
        other => return Err(unsupported(other)),
    })
}

fn unsupported(t: &dyn std::fmt::Display) -> Error {
    Error::SchemaMismatch {
        column: String::new(),
        message: format!("type `{t}` has no Arrow mapping in this version"),
    }
}

fn with_id(field: Field, id: i32) -> Field {
    field.with_metadata(HashMap::from([(
        PARQUET_FIELD_ID_META_KEY.to_string(),
        id.to_string(),
    )]))
}

fn to_arrow_field(f: &StructField, path: &str) -> Result<Field> {
    let dt = to_arrow_type(&f.data_type, path)?;
    Ok(with_id(Field::new(&f.name, dt, !f.required), f.id))
}

fn to_arrow_type(t: &DataType, path: &str) -> Result<ArrowType> {
    let at = |e: Error| match e {
        Error::SchemaMismatch { message, .. } => Error::SchemaMismatch {
            column: path.to_string(),
            message,
        },
        e => e,
    };
    Ok(match t {
        DataType::Primitive(p) => primitive_to_arrow(p).map_err(at)?,
        DataType::Struct(s) => {
            if s.fields.is_empty() {
                return Err(Error::SchemaMismatch {
                    column: path.to_string(),
                    message: "a struct without fields cannot be stored in Parquet".into(),
                });
            }
            let fields = s
                .fields
                .iter()
                .map(|c| to_arrow_field(c, &format!("{path}.{}", c.name)))
                .collect::<Result<Vec<_>>>()?;
            ArrowType::Struct(Fields::from(fields))
        }
        DataType::List(l) => {
            let p = format!("{path}.{LIST_ELEMENT_NAME}");
            let element = Field::new(
                LIST_ELEMENT_NAME,
                to_arrow_type(&l.element, &p)?,
                !l.element_required,
            );
            ArrowType::List(Arc::new(with_id(element, l.element_id)))
        }
        DataType::Map(m) => {
            let key = Field::new(
                MAP_KEY_NAME,
                to_arrow_type(&m.key, &format!("{path}.{MAP_KEY_NAME}"))?,
                false,
            );
            let value = Field::new(
                MAP_VALUE_NAME,
                to_arrow_type(&m.value, &format!("{path}.{MAP_VALUE_NAME}"))?,
                !m.value_required,
            );
            let entries = Field::new(
                MAP_ENTRIES_NAME,
                ArrowType::Struct(Fields::from(vec![
                    with_id(key, m.key_id),
                    with_id(value, m.value_id),
                ])),
                false,
            );
            ArrowType::Map(Arc::new(entries), false)
        }
        other => return Err(at(unsupported(other))),
    })
}

/// Makes a user batch conform to the table's Arrow schema `target` (from [`to_arrow_schema`] of
/// `schema`).
///
/// Columns are matched by name, at the top level and inside structs; list elements and map
/// keys/values by position. The result has `target`'s schema (field ids included):
///
/// - columns are put in table order;
/// - types are cast when no value can change: wider integers (`Int32`→`Int64`, `UInt16`→`Int32`,
///   ...), `Float16/32`→`Float64`, decimals to a precision/scale holding every source value
///   (integers to a decimal with enough integer digits), `LargeUtf8`/`Utf8View`→`Utf8`, the
///   binary variants→`Binary`, dictionary-encoded columns to their values, `Date32` to
///   `timestamp`/`timestamptz`, and time/timestamp units to microseconds (coarser units are
///   multiplied with an overflow check; nanoseconds are truncated to microseconds, the table's
///   precision). A `timestamptz` column takes timestamps with any time zone (Arrow values are
///   UTC instants); a `timestamp` column only time-zone-less ones;
/// - a missing column is filled with its `writeDefault`, or nulls when optional;
/// - refused, with the column named: a missing required column without default, a column not in
///   the table (add it with merge-schema), a narrowing or impossible cast, a value that does not
///   fit, and a null in a required column (with the first offending row).
pub fn conform_batch(
    batch: &RecordBatch,
    schema: &Schema,
    target: &SchemaRef,
) -> Result<RecordBatch> {
    if schema.fields().len() != target.fields().len() {
        return Err(Error::SchemaMismatch {
            column: String::new(),
            message: format!(
                "the target Arrow schema has {} columns but the table schema {}; build it with \
                 to_arrow_schema",
                target.fields().len(),
                schema.fields().len()
            ),
        });
    }
    let len = batch.num_rows();
    let names: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let columns = conform_fields(
        Columns {
            names: &names,
            arrays: batch.columns(),
            len,
        },
        schema.fields(),
        target.fields(),
        "",
        None,
        &|i| i,
    )?;
    RecordBatch::try_new_with_options(
        target.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(len)),
    )
    .map_err(|e| Error::SchemaMismatch {
        column: String::new(),
        message: e.to_string(),
    })
}

/// Maps an index of the array being conformed to the row of the batch it belongs to.
type RowOf<'a> = &'a dyn Fn(usize) -> usize;

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn mismatch(column: &str, message: impl Into<String>) -> Error {
    Error::SchemaMismatch {
        column: column.to_string(),
        message: message.into(),
    }
}

/// Named input columns: the columns of a batch or the children of a struct.
struct Columns<'a> {
    names: &'a [&'a str],
    arrays: &'a [ArrayRef],
    len: usize,
}

/// Conforms the children of a struct (or the columns of a batch), matched by name.
fn conform_fields(
    input: Columns<'_>,
    fields: &[StructField],
    targets: &Fields,
    prefix: &str,
    valid: Option<&NullBuffer>,
    row_of: RowOf<'_>,
) -> Result<Vec<ArrayRef>> {
    let Columns { names, arrays, len } = input;
    let known: HashSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(*name) {
            return Err(mismatch(
                &join(prefix, name),
                "the input has two columns of this name",
            ));
        }
        if !known.contains(name) {
            let hint = fields
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(name) && !names.contains(&f.name.as_str()))
                .map(|f| format!(" (names are case-sensitive: did you mean `{}`?)", f.name))
                .unwrap_or_default();
            return Err(mismatch(
                &join(prefix, name),
                format!("the column is not in the table schema; use merge-schema to add it{hint}"),
            ));
        }
    }
    let mut out = Vec::with_capacity(fields.len());
    for (f, target) in fields.iter().zip(targets.iter()) {
        let path = join(prefix, &f.name);
        if target.name() != &f.name {
            return Err(mismatch(
                &path,
                format!(
                    "the target Arrow field is named `{}`; build it with to_arrow_schema",
                    target.name()
                ),
            ));
        }
        let array = match names.iter().position(|n| *n == f.name) {
            Some(i) => {
                let a = arrays
                    .get(i)
                    .ok_or_else(|| mismatch(&path, "the input has fewer arrays than fields"))?;
                conform_array(a, &f.data_type, target.data_type(), &path, valid, row_of)?
            }
            None => missing_column(f, target, len, &path, valid)?,
        };
        if f.required {
            check_no_nulls(array.as_ref(), valid, &path, row_of, &f.data_type)?;
        }
        out.push(array);
    }
    Ok(out)
}

/// The array of a column the input does not have.
fn missing_column(
    f: &StructField,
    target: &Field,
    len: usize,
    path: &str,
    valid: Option<&NullBuffer>,
) -> Result<ArrayRef> {
    if let (Some(v), DataType::Primitive(p)) = (&f.write_default, &f.data_type) {
        return default_array(p, v, target.data_type(), len)
            .map_err(|m| mismatch(path, format!("writeDefault {v}: {m}")));
    }
    let all_null_parent = valid.is_some_and(|n| n.null_count() == len);
    if f.required && !all_null_parent && len > 0 {
        return Err(mismatch(
            path,
            format!(
                "required column of type {} is missing from the input and has no writeDefault",
                f.data_type
            ),
        ));
    }
    Ok(new_null_array(target.data_type(), len))
}

/// Errors when `array` holds a null at a position whose parents are all valid.
fn check_no_nulls(
    array: &dyn Array,
    valid: Option<&NullBuffer>,
    path: &str,
    row_of: RowOf<'_>,
    t: &DataType,
) -> Result<()> {
    let Some(nulls) = array.logical_nulls() else {
        return Ok(());
    };
    if nulls.null_count() == 0 {
        return Ok(());
    }
    let first = (0..array.len()).find(|&i| nulls.is_null(i) && valid.is_none_or(|v| v.is_valid(i)));
    match first {
        Some(i) => Err(mismatch(
            path,
            format!(
                "required column of type {t} holds a null in row {}",
                row_of(i)
            ),
        )),
        None => Ok(()),
    }
}

fn cast_options() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..Default::default()
    }
}

fn cast_to(array: &ArrayRef, to: &ArrowType, path: &str, what: &str) -> Result<ArrayRef> {
    cast_with_options(array, to, &cast_options()).map_err(|e| {
        mismatch(
            path,
            format!(
                "cannot convert Arrow {} to {what} ({to}): {e}",
                array.data_type()
            ),
        )
    })
}

/// Conforms one array to the table type `t` (Arrow type `target`). `valid` is the validity of
/// the enclosing structs (positions where every ancestor is non-null), when row-aligned.
fn conform_array(
    array: &ArrayRef,
    t: &DataType,
    target: &ArrowType,
    path: &str,
    valid: Option<&NullBuffer>,
    row_of: RowOf<'_>,
) -> Result<ArrayRef> {
    if let ArrowType::Dictionary(_, values) = array.data_type() {
        let unpacked = cast_to(array, values, path, "its dictionary values")?;
        return conform_array(&unpacked, t, target, path, valid, row_of);
    }
    if array.data_type() == &ArrowType::Null {
        return Ok(new_null_array(target, array.len()));
    }
    match t {
        DataType::Primitive(p) => {
            if array.data_type() == target {
                return Ok(array.clone());
            }
            check_primitive_cast(array.data_type(), p, path)?;
            if let PrimitiveType::Timestamptz = p {
                return to_utc_micros(array, path);
            }
            cast_to(array, target, path, &p.to_string())
        }
        DataType::Struct(s) => {
            let (ArrowType::Struct(targets), Some(st)) = (target, array.as_struct_opt()) else {
                return Err(type_error(array.data_type(), t, path));
            };
            // Folding the ancestors' nulls into the struct's own keeps Arrow's rule that a
            // non-nullable child only has nulls where its parent is null.
            let nulls = NullBuffer::union(st.nulls(), valid);
            let names: Vec<&str> = st.column_names();
            let children = conform_fields(
                Columns {
                    names: &names,
                    arrays: st.columns(),
                    len: st.len(),
                },
                &s.fields,
                targets,
                path,
                nulls.as_ref(),
                row_of,
            )?;
            let out = StructArray::try_new(targets.clone(), children, nulls)
                .map_err(|e| mismatch(path, e.to_string()))?;
            Ok(Arc::new(out))
        }
        DataType::List(l) => {
            let ArrowType::List(element) = target else {
                return Err(type_error(array.data_type(), t, path));
            };
            let list = to_list_array(array, t, path)?;
            let (offsets, values) = compact_offsets(list.offsets(), list.values());
            let elem_path = format!("{path}.{LIST_ELEMENT_NAME}");
            let offs = offsets.clone();
            let elem_row = move |i: usize| row_of(row_of_value(&offs, i));
            let values = conform_array(
                &values,
                &l.element,
                element.data_type(),
                &elem_path,
                None,
                &elem_row,
            )?;
            if l.element_required {
                check_no_nulls(values.as_ref(), None, &elem_path, &elem_row, &l.element)?;
            }
            let out = ListArray::try_new(element.clone(), offsets, values, list.nulls().cloned())
                .map_err(|e| mismatch(path, e.to_string()))?;
            Ok(Arc::new(out))
        }
        DataType::Map(m) => {
            let (ArrowType::Map(entries_field, _), Some(map)) = (target, array.as_map_opt()) else {
                return Err(type_error(array.data_type(), t, path));
            };
            let ArrowType::Struct(kv) = entries_field.data_type() else {
                return Err(mismatch(path, "the target map has no entries struct"));
            };
            let (Some(key_field), Some(value_field)) = (kv.first(), kv.get(1)) else {
                return Err(mismatch(
                    path,
                    "the target map entries need a key and a value",
                ));
            };
            let entries = map.entries();
            if entries.num_columns() != 2 {
                return Err(mismatch(
                    path,
                    "map entries must have a key and a value column",
                ));
            }
            let keys = entries.column(0).clone();
            let (offsets, keys) = compact_offsets(map.offsets(), &keys);
            let (_, values) = compact_offsets(map.offsets(), entries.column(1));
            let offs = offsets.clone();
            let entry_row = move |i: usize| row_of(row_of_value(&offs, i));
            let key_path = format!("{path}.{MAP_KEY_NAME}");
            let value_path = format!("{path}.{MAP_VALUE_NAME}");
            let keys = conform_array(
                &keys,
                &m.key,
                key_field.data_type(),
                &key_path,
                None,
                &entry_row,
            )?;
            check_no_nulls(keys.as_ref(), None, &key_path, &entry_row, &m.key)?;
            let values = conform_array(
                &values,
                &m.value,
                value_field.data_type(),
                &value_path,
                None,
                &entry_row,
            )?;
            if m.value_required {
                check_no_nulls(values.as_ref(), None, &value_path, &entry_row, &m.value)?;
            }
            let entries = StructArray::try_new(kv.clone(), vec![keys, values], None)
                .map_err(|e| mismatch(path, e.to_string()))?;
            let out = MapArray::try_new(
                entries_field.clone(),
                offsets,
                entries,
                map.nulls().cloned(),
                false,
            )
            .map_err(|e| mismatch(path, e.to_string()))?;
            Ok(Arc::new(out))
        }
        other => Err(mismatch(path, format!("type {other} is not supported"))),
    }
}

/// A timestamp (any unit and zone) or date array as microseconds tagged `UTC`. Arrow
/// timestamps with a zone already hold UTC instants, so only the unit changes; the zone is then
/// relabelled (which, unlike a cast, needs no time zone database).
fn to_utc_micros(array: &ArrayRef, path: &str) -> Result<ArrayRef> {
    let micros = match array.data_type() {
        ArrowType::Timestamp(_, tz) => ArrowType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        _ => ArrowType::Timestamp(TimeUnit::Microsecond, None),
    };
    let cast = cast_to(array, &micros, path, "timestamptz")?;
    let values = cast
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| {
            mismatch(
                path,
                format!("cannot convert Arrow {micros} to timestamptz"),
            )
        })?;
    Ok(Arc::new(values.clone().with_timezone(UTC)))
}

fn type_error(from: &ArrowType, t: &DataType, path: &str) -> Error {
    mismatch(
        path,
        format!("cannot write Arrow {from} to a column of type {t}"),
    )
}

/// Any list-like array as a `ListArray` (LargeList, FixedSizeList and list views are cast).
fn to_list_array(array: &ArrayRef, t: &DataType, path: &str) -> Result<ListArray> {
    let child = match array.data_type() {
        ArrowType::List(_) => {
            return array
                .as_list_opt::<i32>()
                .cloned()
                .ok_or_else(|| type_error(array.data_type(), t, path));
        }
        ArrowType::LargeList(f)
        | ArrowType::FixedSizeList(f, _)
        | ArrowType::ListView(f)
        | ArrowType::LargeListView(f) => f.clone(),
        other => return Err(type_error(other, t, path)),
    };
    let cast = cast_to(array, &ArrowType::List(child), path, "a list")?;
    cast.as_list_opt::<i32>()
        .cloned()
        .ok_or_else(|| type_error(array.data_type(), t, path))
}

/// Offsets starting at 0 and the slice of `values` they cover.
fn compact_offsets(
    offsets: &OffsetBuffer<i32>,
    values: &ArrayRef,
) -> (OffsetBuffer<i32>, ArrayRef) {
    let first = offsets.first();
    let last = offsets.last();
    let (Ok(start), Ok(end)) = (usize::try_from(first), usize::try_from(last)) else {
        return (offsets.clone(), values.clone());
    };
    if start == 0 && end == values.len() {
        return (offsets.clone(), values.clone());
    }
    let rebased: Vec<i32> = offsets.iter().map(|o| o - first).collect();
    (
        OffsetBuffer::new(ScalarBuffer::from(rebased)),
        values.slice(start, end.saturating_sub(start)),
    )
}

/// Index of the list holding value `i`.
fn row_of_value(offsets: &OffsetBuffer<i32>, i: usize) -> usize {
    let i = i32::try_from(i).unwrap_or(i32::MAX);
    offsets.partition_point(|&o| o <= i).saturating_sub(1)
}

fn int_bits(t: &ArrowType) -> Option<(u32, bool)> {
    Some(match t {
        ArrowType::Int8 => (8, true),
        ArrowType::Int16 => (16, true),
        ArrowType::Int32 => (32, true),
        ArrowType::Int64 => (64, true),
        ArrowType::UInt8 => (8, false),
        ArrowType::UInt16 => (16, false),
        ArrowType::UInt32 => (32, false),
        ArrowType::UInt64 => (64, false),
        _ => return None,
    })
}

/// Decimal digits needed by every value of an integer type.
fn int_digits(bits: u32, signed: bool) -> i16 {
    match (bits, signed) {
        (8, _) => 3,
        (16, _) => 5,
        (32, _) => 10,
        (64, true) => 19,
        _ => 20,
    }
}

/// Whether Arrow `from` may be cast to table type `p` without changing any value.
fn check_primitive_cast(from: &ArrowType, p: &PrimitiveType, path: &str) -> Result<()> {
    use ArrowType as A;
    use PrimitiveType as P;
    let refuse = |why: &str| {
        Err(mismatch(
            path,
            format!("cannot write Arrow {from} to a column of type {p}: {why}"),
        ))
    };
    let ok = match p {
        P::Int8 | P::Int16 | P::Int32 | P::Int64 => {
            let to_bits = match p {
                P::Int8 => 8,
                P::Int16 => 16,
                P::Int32 => 32,
                _ => 64,
            };
            match int_bits(from) {
                Some((bits, true)) if bits <= to_bits => true,
                Some((bits, false)) if bits < to_bits => true,
                Some(_) => {
                    return refuse(
                        "narrowing integer casts could lose values; cast the data first or \
                         widen the column",
                    );
                }
                None => false,
            }
        }
        P::Float32 => matches!(from, A::Float16),
        P::Float64 => matches!(from, A::Float16 | A::Float32),
        P::Decimal { precision, scale } => {
            let int_digits_to = i16::from(*precision) - i16::from(*scale);
            let (digits, frac) = match from {
                A::Decimal32(p1, s1)
                | A::Decimal64(p1, s1)
                | A::Decimal128(p1, s1)
                | A::Decimal256(p1, s1) => (i16::from(*p1) - i16::from(*s1), i16::from(*s1)),
                other => match int_bits(other) {
                    Some((bits, signed)) => (int_digits(bits, signed), 0),
                    None => return refuse("incompatible types"),
                },
            };
            if frac > i16::from(*scale) || digits > int_digits_to {
                return refuse(
                    "the target precision/scale cannot hold every source value (narrowing)",
                );
            }
            true
        }
        P::Date => false,
        P::Time => matches!(
            from,
            A::Time32(TimeUnit::Second | TimeUnit::Millisecond) | A::Time64(TimeUnit::Nanosecond)
        ),
        P::Timestamp => match from {
            A::Timestamp(_, None) | A::Date32 => true,
            A::Timestamp(_, Some(_)) => {
                return refuse(
                    "the data has a time zone but the column is a timestamp without time zone; \
                     write it to a timestamptz column or remove the time zone first",
                );
            }
            _ => false,
        },
        P::Timestamptz => match from {
            A::Timestamp(_, Some(_)) | A::Date32 => true,
            A::Timestamp(_, None) => {
                return refuse(
                    "the data has no time zone but the column is timestamptz; attach a time zone \
                     (e.g. UTC) to the data first",
                );
            }
            _ => false,
        },
        P::String => matches!(from, A::Utf8 | A::LargeUtf8 | A::Utf8View),
        P::Binary => matches!(
            from,
            A::Binary | A::LargeBinary | A::BinaryView | A::FixedSizeBinary(_)
        ),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        refuse("incompatible types")
    }
}

/// An array of `len` copies of a primitive default value (single-value JSON encoding).
pub(crate) fn default_array(
    p: &PrimitiveType,
    v: &Value,
    dt: &ArrowType,
    len: usize,
) -> std::result::Result<ArrayRef, String> {
    use PrimitiveType as P;
    let bad = || format!("{v} is not a valid {p} value");
    let int = || v.as_i64().ok_or_else(bad);
    let one: ArrayRef = match p {
        P::Boolean => Arc::new(BooleanArray::from(vec![v.as_bool().ok_or_else(bad)?])),
        P::Int8 => Arc::new(Int8Array::from(vec![
            i8::try_from(int()?).map_err(|_| bad())?,
        ])),
        P::Int16 => Arc::new(Int16Array::from(vec![
            i16::try_from(int()?).map_err(|_| bad())?,
        ])),
        P::Int32 => Arc::new(Int32Array::from(vec![
            i32::try_from(int()?).map_err(|_| bad())?,
        ])),
        P::Int64 => Arc::new(Int64Array::from(vec![int()?])),
        P::Float32 => Arc::new(Float32Array::from(vec![v.as_f64().ok_or_else(bad)? as f32])),
        P::Float64 => Arc::new(Float64Array::from(vec![v.as_f64().ok_or_else(bad)?])),
        P::Decimal { precision, scale } => {
            let s = v.as_str().ok_or_else(bad)?;
            let unscaled = parse_decimal(s, *scale).ok_or_else(bad)?;
            let s8 = i8::try_from(*scale).map_err(|_| bad())?;
            Arc::new(
                Decimal128Array::from(vec![unscaled])
                    .with_precision_and_scale(*precision, s8)
                    .map_err(|e| e.to_string())?,
            )
        }
        P::Date => Arc::new(Date32Array::from(vec![
            i32::try_from(int()?).map_err(|_| bad())?,
        ])),
        P::Time => Arc::new(Time64MicrosecondArray::from(vec![int()?])),
        P::Timestamp | P::Timestamptz => {
            let tz = match dt {
                ArrowType::Timestamp(_, tz) => tz.clone(),
                _ => None,
            };
            Arc::new(TimestampMicrosecondArray::from(vec![int()?]).with_timezone_opt(tz))
        }
        P::String => Arc::new(StringArray::from(vec![v.as_str().ok_or_else(bad)?])),
        P::Binary => {
            let bytes = decode_hex(v.as_str().ok_or_else(bad)?).ok_or_else(bad)?;
            Arc::new(BinaryArray::from_vec(vec![bytes.as_slice()]))
        }
        other => return Err(format!("defaults of type {other} are not supported")),
    };
    if one.data_type() != dt {
        return Err(format!(
            "builds Arrow {} but the column is {dt}",
            one.data_type()
        ));
    }
    let zeros = UInt32Array::from(vec![0u32; len]);
    take(one.as_ref(), &zeros, None).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Int32Builder, LargeStringArray, ListBuilder, MapBuilder, StringBuilder,
        TimestampNanosecondArray, TimestampSecondArray, UInt16Array,
    };
    use serde_json::json;
    use strata_format::schema::{ListType, MapType, StructType};

    fn nested_schema() -> Schema {
        Schema::new(
            3,
            vec![
                StructField::required(1, "id", PrimitiveType::Int64),
                StructField::optional(2, "name", PrimitiveType::String),
                StructField::optional(
                    3,
                    "tags",
                    DataType::List(ListType {
                        element_id: 4,
                        element_required: true,
                        element: Box::new(PrimitiveType::String.into()),
                    }),
                ),
                StructField::optional(
                    5,
                    "attrs",
                    DataType::Map(MapType {
                        key_id: 6,
                        key: Box::new(PrimitiveType::String.into()),
                        value_id: 7,
                        value_required: false,
                        value: Box::new(PrimitiveType::Int32.into()),
                    }),
                ),
                StructField::optional(
                    8,
                    "loc",
                    DataType::Struct(StructType {
                        fields: vec![
                            StructField::required(9, "lat", PrimitiveType::Float64),
                            StructField::optional(10, "lon", PrimitiveType::Float64),
                        ],
                    }),
                ),
            ],
        )
        .unwrap()
    }

    fn ids(fields: &Fields, out: &mut Vec<(String, Option<i32>)>) {
        for f in fields {
            out.push((f.name().clone(), field_id(f)));
            match f.data_type() {
                ArrowType::Struct(c) => ids(c, out),
                ArrowType::List(e) => ids(&Fields::from(vec![e.clone()]), out),
                ArrowType::Map(e, _) => match e.data_type() {
                    ArrowType::Struct(kv) => ids(kv, out),
                    _ => unreachable!(),
                },
                _ => {}
            }
        }
    }

    #[test]
    fn every_arrow_field_carries_its_field_id() {
        let arrow = to_arrow_schema(&nested_schema()).unwrap();
        let mut got = Vec::new();
        ids(arrow.fields(), &mut got);
        let got: Vec<_> = got.iter().map(|(n, i)| (n.as_str(), *i)).collect();
        assert_eq!(
            got,
            vec![
                ("id", Some(1)),
                ("name", Some(2)),
                ("tags", Some(3)),
                ("element", Some(4)),
                ("attrs", Some(5)),
                ("key", Some(6)),
                ("value", Some(7)),
                ("loc", Some(8)),
                ("lat", Some(9)),
                ("lon", Some(10)),
            ]
        );
        assert_eq!(PARQUET_FIELD_ID_META_KEY, "PARQUET:field_id");
    }

    #[test]
    fn types_and_nullability_follow_the_mapping() {
        let arrow = to_arrow_schema(&nested_schema()).unwrap();
        assert!(!arrow.field(0).is_nullable());
        assert!(arrow.field(1).is_nullable());
        let ArrowType::List(e) = arrow.field(2).data_type() else {
            panic!()
        };
        assert_eq!(e.name(), "element");
        assert!(!e.is_nullable());
        let ArrowType::Map(entries, sorted) = arrow.field(3).data_type() else {
            panic!()
        };
        assert!(!sorted);
        assert_eq!(entries.name(), "key_value");
        assert!(!entries.is_nullable());
        let tz = primitive_to_arrow(&PrimitiveType::Timestamptz).unwrap();
        assert_eq!(
            tz,
            ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(
            primitive_to_arrow(&PrimitiveType::Decimal {
                precision: 10,
                scale: 2
            })
            .unwrap(),
            ArrowType::Decimal128(10, 2)
        );
    }

    fn flat_schema(fields: Vec<StructField>) -> (Schema, SchemaRef) {
        let s = Schema::new(0, fields).unwrap();
        let a = to_arrow_schema(&s).unwrap();
        (s, a)
    }

    fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(cols).unwrap()
    }

    #[test]
    fn columns_are_reordered_widened_and_missing_optionals_filled() {
        let (s, a) = flat_schema(vec![
            StructField::required(1, "id", PrimitiveType::Int64),
            StructField::optional(2, "name", PrimitiveType::String),
            StructField::optional(3, "score", PrimitiveType::Float64),
            StructField::optional(4, "note", PrimitiveType::String),
        ]);
        let input = batch(vec![
            ("score", float16(&[1.5, 2.0])),
            ("name", Arc::new(LargeStringArray::from(vec!["a", "b"]))),
            ("id", Arc::new(Int32Array::from(vec![7, 8]))),
        ]);
        let out = conform_batch(&input, &s, &a).unwrap();
        assert_eq!(out.schema(), a);
        assert_eq!(
            out.column(0).as_ref(),
            &Int64Array::from(vec![7, 8]) as &dyn Array
        );
        assert_eq!(
            out.column(1).as_ref(),
            &StringArray::from(vec!["a", "b"]) as &dyn Array
        );
        assert_eq!(
            out.column(2).as_ref(),
            &Float64Array::from(vec![1.5, 2.0]) as &dyn Array
        );
        assert_eq!(out.column(3).null_count(), 2);
    }

    fn float16(v: &[f32]) -> ArrayRef {
        let a: ArrayRef = Arc::new(Float32Array::from(v.to_vec()));
        arrow::compute::cast(&a, &ArrowType::Float16).unwrap()
    }

    #[test]
    fn write_defaults_fill_missing_columns() {
        let mut f = StructField::required(
            2,
            "price",
            PrimitiveType::Decimal {
                precision: 6,
                scale: 2,
            },
        );
        f.write_default = Some(json!("12.5"));
        let mut g = StructField::optional(3, "blob", PrimitiveType::Binary);
        g.write_default = Some(json!("00ff"));
        let (s, a) = flat_schema(vec![
            StructField::required(1, "id", PrimitiveType::Int64),
            f,
            g,
        ]);
        let input = batch(vec![(
            "id",
            Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
        )]);
        let out = conform_batch(&input, &s, &a).unwrap();
        let d = out
            .column(1)
            .as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!(d.values().to_vec(), vec![1250, 1250, 1250]);
        assert_eq!(out.column(2).as_binary::<i32>().value(2), &[0u8, 255]);
    }

    #[test]
    fn missing_required_column_without_default_is_named() {
        let (s, a) = flat_schema(vec![
            StructField::required(1, "id", PrimitiveType::Int64),
            StructField::optional(2, "name", PrimitiveType::String),
        ]);
        let input = batch(vec![(
            "name",
            Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
        )]);
        let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
        assert!(err.contains("column `id`"), "{err}");
        assert!(
            err.contains("required column of type int64 is missing"),
            "{err}"
        );
    }

    #[test]
    fn extra_column_points_at_merge_schema() {
        let (s, a) = flat_schema(vec![StructField::optional(1, "id", PrimitiveType::Int64)]);
        let input = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            ("Extra", Arc::new(Int64Array::from(vec![1]))),
        ]);
        let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
        assert!(err.contains("column `Extra`"), "{err}");
        assert!(err.contains("use merge-schema to add it"), "{err}");
    }

    #[test]
    fn narrowing_casts_are_refused_naming_column_and_types() {
        let (s, a) = flat_schema(vec![StructField::optional(1, "n", PrimitiveType::Int32)]);
        let input = batch(vec![("n", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]);
        let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
        assert!(err.contains("column `n`"), "{err}");
        assert!(
            err.contains("Arrow Int64 to a column of type int32"),
            "{err}"
        );
        assert!(err.contains("narrowing"), "{err}");

        let input = batch(vec![(
            "n",
            Arc::new(StringArray::from(vec!["1"])) as ArrayRef,
        )]);
        let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
        assert!(err.contains("incompatible types"), "{err}");

        let (s, a) = flat_schema(vec![StructField::optional(
            1,
            "d",
            PrimitiveType::Decimal {
                precision: 5,
                scale: 2,
            },
        )]);
        let input = batch(vec![(
            "d",
            Arc::new(
                Decimal128Array::from(vec![1])
                    .with_precision_and_scale(6, 2)
                    .unwrap(),
            ) as ArrayRef,
        )]);
        assert!(conform_batch(&input, &s, &a).is_err());
        let input = batch(vec![(
            "d",
            Arc::new(
                Decimal128Array::from(vec![123])
                    .with_precision_and_scale(4, 1)
                    .unwrap(),
            ) as ArrayRef,
        )]);
        let out = conform_batch(&input, &s, &a).unwrap();
        let d = out
            .column(0)
            .as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!(d.value(0), 1230);
    }

    #[test]
    fn timestamps_convert_units_with_overflow_check_and_time_zone_rules() {
        let (s, a) = flat_schema(vec![
            StructField::optional(1, "tz", PrimitiveType::Timestamptz),
            StructField::optional(2, "ts", PrimitiveType::Timestamp),
        ]);
        let input = batch(vec![
            (
                "tz",
                Arc::new(
                    TimestampNanosecondArray::from(vec![1_500_000]).with_timezone("Europe/Berlin"),
                ) as ArrayRef,
            ),
            ("ts", Arc::new(TimestampSecondArray::from(vec![3]))),
        ]);
        let out = conform_batch(&input, &s, &a).unwrap();
        assert_eq!(
            out.column(0)
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(0),
            1_500
        );
        assert_eq!(
            out.column(1)
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(0),
            3_000_000
        );

        let input = batch(vec![(
            "ts",
            Arc::new(TimestampSecondArray::from(vec![i64::MAX / 10])) as ArrayRef,
        )]);
        let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
        assert!(err.contains("column `ts`"), "{err}");
        assert!(err.contains("overflow"), "{err}");

        let input = batch(vec![(
            "tz",
            Arc::new(TimestampSecondArray::from(vec![1])) as ArrayRef,
        )]);
        let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
        assert!(
            err.contains("column `tz`") && err.contains("no time zone"),
            "{err}"
        );
        let input = batch(vec![(
            "ts",
            Arc::new(TimestampSecondArray::from(vec![1]).with_timezone("UTC")) as ArrayRef,
        )]);
        let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
        assert!(
            err.contains("column `ts`") && err.contains("has a time zone"),
            "{err}"
        );
    }

    #[test]
    fn nulls_in_required_columns_name_the_first_row() {
        let (s, a) = flat_schema(vec![StructField::required(1, "id", PrimitiveType::Int64)]);
        let input = batch(vec![(
            "id",
            Arc::new(Int64Array::from(vec![Some(1), None, None])) as ArrayRef,
        )]);
        let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
        assert!(
            err.contains("column `id`") && err.contains("row 1"),
            "{err}"
        );
    }

    #[test]
    fn nested_structs_lists_and_maps_are_conformed_by_name() {
        let s = nested_schema();
        let a = to_arrow_schema(&s).unwrap();
        // loc with children in another order, lat as float32; tags as a list of LargeUtf8.
        let loc = StructArray::try_new(
            Fields::from(vec![
                Field::new("lon", ArrowType::Float64, true),
                Field::new("lat", ArrowType::Float32, true),
            ]),
            vec![
                Arc::new(Float64Array::from(vec![Some(2.0), None])),
                Arc::new(Float32Array::from(vec![Some(1.0), None])),
            ],
            Some(NullBuffer::from(vec![true, false])),
        )
        .unwrap();
        let mut tags = ListBuilder::new(StringBuilder::new());
        tags.values().append_value("a");
        tags.append(true);
        tags.append(false);
        let mut attrs = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
        attrs.keys().append_value("k");
        attrs.values().append_value(1);
        attrs.append(true).unwrap();
        attrs.append(true).unwrap();
        let input = batch(vec![
            ("loc", Arc::new(loc) as ArrayRef),
            ("attrs", Arc::new(attrs.finish())),
            ("tags", Arc::new(tags.finish())),
            ("id", Arc::new(UInt16Array::from(vec![1, 2]))),
        ]);
        let out = conform_batch(&input, &s, &a).unwrap();
        assert_eq!(out.schema(), a);
        let loc = out.column(4).as_struct();
        assert_eq!(
            loc.column(0)
                .as_primitive::<arrow::datatypes::Float64Type>()
                .value(0),
            1.0
        );
        assert!(loc.is_null(1));
        let attrs = out.column(3).as_map();
        assert_eq!(attrs.value_length(0), 1);

        // A null list element in a required element list names the row.
        let mut tags = ListBuilder::new(StringBuilder::new());
        tags.append(true);
        tags.values().append_value("a");
        tags.values().append_null();
        tags.append(true);
        let input = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("tags", Arc::new(tags.finish())),
        ]);
        let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
        assert!(
            err.contains("column `tags.element`") && err.contains("row 1"),
            "{err}"
        );

        // A null `lat` in a valid `loc` is refused; an extra nested field is named.
        let loc = StructArray::try_new(
            Fields::from(vec![
                Field::new("lat", ArrowType::Float64, true),
                Field::new("alt", ArrowType::Float64, true),
            ]),
            vec![
                Arc::new(Float64Array::from(vec![Some(1.0), None])),
                Arc::new(Float64Array::from(vec![Some(1.0), None])),
            ],
            None,
        )
        .unwrap();
        let input = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("loc", Arc::new(loc)),
        ]);
        let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
        assert!(
            err.contains("column `loc.alt`") && err.contains("merge-schema"),
            "{err}"
        );
        let loc = StructArray::try_new(
            Fields::from(vec![Field::new("lat", ArrowType::Float64, true)]),
            vec![Arc::new(Float64Array::from(vec![Some(1.0), None]))],
            None,
        )
        .unwrap();
        let input = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("loc", Arc::new(loc)),
        ]);
        let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
        assert!(
            err.contains("column `loc.lat`") && err.contains("row 1"),
            "{err}"
        );
    }

    #[test]
    fn required_child_of_a_null_grandparent_may_be_null() {
        let inner = StructType {
            fields: vec![StructField::required(3, "x", PrimitiveType::Int32)],
        };
        let (s, a) = flat_schema(vec![StructField::optional(
            1,
            "outer",
            DataType::Struct(StructType {
                fields: vec![StructField::required(2, "inner", DataType::Struct(inner))],
            }),
        )]);
        let x = Field::new("x", ArrowType::Int32, true);
        let inner = StructArray::try_new(
            Fields::from(vec![x]),
            vec![Arc::new(Int32Array::from(vec![Some(1), None]))],
            None,
        )
        .unwrap();
        let outer = StructArray::try_new(
            Fields::from(vec![Field::new("inner", inner.data_type().clone(), true)]),
            vec![Arc::new(inner)],
            Some(NullBuffer::from(vec![true, false])),
        )
        .unwrap();
        let out =
            conform_batch(&batch(vec![("outer", Arc::new(outer) as ArrayRef)]), &s, &a).unwrap();
        assert!(out.column(0).is_null(1));
    }

    #[test]
    fn lossless_casts_accept_the_usual_arrow_variants() {
        use arrow::array::{
            DictionaryArray, FixedSizeBinaryArray, LargeListArray, StringViewArray,
            Time32MillisecondArray,
        };
        use arrow::datatypes::Int8Type;
        let (s, a) = flat_schema(vec![
            StructField::optional(1, "day_ts", PrimitiveType::Timestamptz),
            StructField::optional(2, "day", PrimitiveType::Timestamp),
            StructField::optional(3, "t", PrimitiveType::Time),
            StructField::optional(4, "view", PrimitiveType::String),
            StructField::optional(5, "dict", PrimitiveType::String),
            StructField::optional(6, "fixed", PrimitiveType::Binary),
            StructField::optional(
                7,
                "big",
                DataType::List(ListType {
                    element_id: 8,
                    element_required: false,
                    element: Box::new(PrimitiveType::Int64.into()),
                }),
            ),
            StructField::optional(
                9,
                "dec",
                PrimitiveType::Decimal {
                    precision: 12,
                    scale: 2,
                },
            ),
        ]);
        let dict: DictionaryArray<Int8Type> = vec!["x", "y", "x"].into_iter().collect();
        let big = LargeListArray::from_iter_primitive::<arrow::datatypes::Int32Type, _, _>(vec![
            Some(vec![Some(1)]),
            None,
            Some(vec![]),
        ]);
        let input = batch(vec![
            (
                "day_ts",
                Arc::new(Date32Array::from(vec![1, 0, -1])) as ArrayRef,
            ),
            ("day", Arc::new(Date32Array::from(vec![1, 0, -1]))),
            ("t", Arc::new(Time32MillisecondArray::from(vec![1, 2, 3]))),
            ("view", Arc::new(StringViewArray::from(vec!["a", "b", "c"]))),
            ("dict", Arc::new(dict)),
            (
                "fixed",
                Arc::new(
                    FixedSizeBinaryArray::try_from_iter(vec![[1u8, 2], [3, 4], [5, 6]].into_iter())
                        .unwrap(),
                ),
            ),
            ("big", Arc::new(big)),
            ("dec", Arc::new(Int32Array::from(vec![1, -2, 3]))),
        ]);
        let out = conform_batch(&input, &s, &a).unwrap();
        assert_eq!(out.schema(), a);
        assert_eq!(
            out.column(0)
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(0),
            86_400_000_000
        );
        assert_eq!(
            out.column(1)
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(2),
            -86_400_000_000
        );
        assert_eq!(
            out.column(2)
                .as_primitive::<arrow::datatypes::Time64MicrosecondType>()
                .value(0),
            1_000
        );
        assert_eq!(out.column(4).as_string::<i32>().value(2), "x");
        assert_eq!(out.column(5).as_binary::<i32>().value(1), &[3u8, 4]);
        assert_eq!(out.column(6).as_list::<i32>().value(0).len(), 1);
        assert_eq!(
            out.column(7)
                .as_primitive::<arrow::datatypes::Decimal128Type>()
                .value(1),
            -200
        );
    }

    #[test]
    fn decimal_and_hex_helpers_round_trip() {
        assert_eq!(parse_decimal("123.45", 2), Some(12345));
        assert_eq!(parse_decimal("-0.5", 2), Some(-50));
        assert_eq!(parse_decimal("7", 3), Some(7000));
        assert_eq!(parse_decimal("1.234", 2), None);
        assert_eq!(parse_decimal("1.230", 2), Some(123));
        assert_eq!(format_decimal(12345, 2), "123.45");
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(42, 0), "42");
        assert_eq!(encode_hex(&[0, 171, 255]), "00abff");
        assert_eq!(decode_hex("00abff"), Some(vec![0, 171, 255]));
        assert_eq!(decode_hex("0g"), None);
    }
}
