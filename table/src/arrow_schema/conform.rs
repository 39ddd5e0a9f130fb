//! Making a user batch fit the table's Arrow schema ([`conform_batch`]): columns matched by
//! name and reordered, lossless casts, missing columns filled, the rest refused naming the column.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, ListArray, MapArray, RecordBatch, RecordBatchOptions, StructArray,
    new_null_array,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType as ArrowType, Field, Fields, SchemaRef};
use strata_format::schema::{DataType, PrimitiveType, Schema, StructField};

use super::casts::{
    cast_to, check_primitive_cast, compact_offsets, default_array, mismatch, row_of_value,
    to_list_array, to_utc_micros, type_error,
};
use super::{LIST_ELEMENT_NAME, MAP_KEY_NAME, MAP_VALUE_NAME};
use crate::error::{Error, Result};

/// Makes a user batch conform to the table's Arrow schema `target` (from [`super::to_arrow_schema`] of
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

#[cfg(test)]
mod tests;
