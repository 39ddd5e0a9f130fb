//! Reading data files into the table's current schema: columns matched by field id (SPEC §4.7).
//!
//! A file written under an older schema may lack columns (added later: read as the field's
//! `initialDefault`, else null), hold narrower types (widened since: cast), or name columns
//! differently (renamed since: the output uses the current names).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ListArray, MapArray, RecordBatch, RecordBatchOptions, StructArray, make_array,
};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType as ArrowType, Field, Fields, SchemaRef};
use strata_format::schema::{DataType, StructField};

use crate::arrow_schema::{default_array, field_id};
use crate::error::{Error, Result};

/// Builds a batch of `target` (the Arrow form of `fields`, with field ids) from `batch` (a
/// file's batch, with field ids), matching columns by id.
pub fn project_batch(
    batch: &RecordBatch,
    fields: &[StructField],
    target: &SchemaRef,
) -> Result<RecordBatch> {
    let len = batch.num_rows();
    let source: Vec<(Option<i32>, &ArrayRef)> = batch
        .schema_ref()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, a)| (field_id(f), a))
        .collect();
    let mut columns = Vec::with_capacity(fields.len());
    for (st, tf) in fields.iter().zip(target.fields()) {
        let found = source
            .iter()
            .find(|(id, _)| *id == Some(st.id))
            .map(|(_, a)| *a);
        columns.push(project_array(found, st, tf, len)?);
    }
    RecordBatch::try_new_with_options(
        target.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(len)),
    )
    .map_err(|e| mismatch(&fields_path(fields), e.to_string()))
}

fn fields_path(fields: &[StructField]) -> String {
    fields.first().map(|f| f.name.clone()).unwrap_or_default()
}

fn mismatch(column: &str, message: String) -> Error {
    Error::SchemaMismatch {
        column: column.to_string(),
        message,
    }
}

fn project_array(
    found: Option<&ArrayRef>,
    st: &StructField,
    target: &Field,
    len: usize,
) -> Result<ArrayRef> {
    let Some(array) = found else {
        return missing(st, target, len);
    };
    match (&st.data_type, target.data_type()) {
        (DataType::Struct(s), ArrowType::Struct(target_children)) => {
            let Some(sa) = array.as_any().downcast_ref::<StructArray>() else {
                return Err(mismatch(
                    &st.name,
                    format!(
                        "the file holds {} where a struct is expected",
                        array.data_type()
                    ),
                ));
            };
            let ArrowType::Struct(file_children) = sa.data_type() else {
                return Err(mismatch(&st.name, "not a struct".into()));
            };
            let mut children = Vec::with_capacity(s.fields.len());
            for (child, tchild) in s.fields.iter().zip(target_children.iter()) {
                let found = file_children
                    .iter()
                    .position(|f| field_id(f) == Some(child.id))
                    .map(|i| sa.column(i));
                children.push(project_array(found, child, tchild, len)?);
            }
            StructArray::try_new(target_children.clone(), children, sa.nulls().cloned())
                .map(|a| Arc::new(a) as ArrayRef)
                .map_err(|e| mismatch(&st.name, e.to_string()))
        }
        // List elements and map keys and values are taken by position from the column matched
        // by id; struct fields inside them are matched by id again (SPEC §4.7 rule 4).
        (DataType::List(l), ArrowType::List(target_element))
            if array.as_any().is::<ListArray>() =>
        {
            let la = array
                .as_any()
                .downcast_ref::<ListArray>()
                .ok_or_else(|| mismatch(&st.name, "not a list".into()))?;
            let element = member(st, "element", l.element_id, l.element_required, &l.element);
            let values = la.values();
            let values = project_array(Some(values), &element, target_element, values.len())?;
            ListArray::try_new(
                target_element.clone(),
                la.offsets().clone(),
                values,
                la.nulls().cloned(),
            )
            .map(|a| Arc::new(a) as ArrayRef)
            .map_err(|e| mismatch(&st.name, e.to_string()))
        }
        (DataType::Map(m), ArrowType::Map(target_entries, sorted))
            if array.as_any().is::<MapArray>() =>
        {
            let ma = array
                .as_any()
                .downcast_ref::<MapArray>()
                .ok_or_else(|| mismatch(&st.name, "not a map".into()))?;
            let ArrowType::Struct(target_kv) = target_entries.data_type() else {
                return Err(mismatch(&st.name, "map entries are not a struct".into()));
            };
            let (Some(tk), Some(tv)) = (target_kv.first(), target_kv.get(1)) else {
                return Err(mismatch(
                    &st.name,
                    "map entries need a key and a value".into(),
                ));
            };
            let entries = ma.entries();
            let n = entries.len();
            let key = member(st, "key", m.key_id, true, &m.key);
            let value = member(st, "value", m.value_id, m.value_required, &m.value);
            let keys = project_array(Some(entries.column(0)), &key, tk, n)?;
            let values = project_array(Some(entries.column(1)), &value, tv, n)?;
            let entries = StructArray::try_new(target_kv.clone(), vec![keys, values], None)
                .map_err(|e| mismatch(&st.name, e.to_string()))?;
            MapArray::try_new(
                target_entries.clone(),
                ma.offsets().clone(),
                entries,
                ma.nulls().cloned(),
                *sorted,
            )
            .map(|a| Arc::new(a) as ArrayRef)
            .map_err(|e| mismatch(&st.name, e.to_string()))
        }
        _ if array.data_type() == target.data_type() => Ok(array.clone()),
        _ if same_shape(array.data_type(), target.data_type()) => {
            // Only nested field names or metadata differ (e.g. a renamed struct field inside a
            // list): relabel without copying.
            let data = array
                .to_data()
                .into_builder()
                .data_type(target.data_type().clone())
                .build()
                .map_err(|e| mismatch(&st.name, e.to_string()))?;
            Ok(make_array(data))
        }
        _ => cast_with_options(
            array,
            target.data_type(),
            &CastOptions {
                safe: false,
                ..Default::default()
            },
        )
        .map_err(|e| {
            mismatch(
                &st.name,
                format!(
                    "cannot read {} as {}: {e}",
                    array.data_type(),
                    target.data_type()
                ),
            )
        }),
    }
}

/// True when two types differ only in nested field names, nullability flags or metadata.
fn same_shape(a: &ArrowType, b: &ArrowType) -> bool {
    fn fields_same(a: &Fields, b: &Fields) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b.iter())
                .all(|(x, y)| same_shape(x.data_type(), y.data_type()))
    }
    match (a, b) {
        (ArrowType::List(x), ArrowType::List(y)) => same_shape(x.data_type(), y.data_type()),
        (ArrowType::Map(x, sx), ArrowType::Map(y, sy)) => {
            sx == sy && same_shape(x.data_type(), y.data_type())
        }
        (ArrowType::Struct(x), ArrowType::Struct(y)) => fields_same(x, y),
        _ => a == b,
    }
}

/// A list element, map key or map value as a field of its own, to resolve it like one.
fn member(
    parent: &StructField,
    role: &str,
    id: i32,
    required: bool,
    data_type: &DataType,
) -> StructField {
    StructField {
        id,
        name: format!("{}.{role}", parent.name),
        required,
        data_type: data_type.clone(),
        doc: None,
        initial_default: None,
        write_default: None,
    }
}

/// A column the file does not have: its initial default, else nulls.
fn missing(st: &StructField, target: &Field, len: usize) -> Result<ArrayRef> {
    if let (Some(v), DataType::Primitive(p)) = (&st.initial_default, &st.data_type) {
        return default_array(p, v, target.data_type(), len).map_err(|m| mismatch(&st.name, m));
    }
    Ok(arrow::array::new_null_array(target.data_type(), len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow_schema::to_arrow_schema;
    use arrow::array::{Int32Array, Int64Array, StringArray};
    use strata_format::{PrimitiveType, Schema};

    #[test]
    fn struct_fields_inside_lists_and_maps_are_matched_by_id() {
        use arrow::array::{AsArray, ListArray, MapArray};
        use arrow::buffer::OffsetBuffer;
        use arrow::datatypes::Int32Type;
        use strata_format::schema::{ListType, MapType, StructType};
        let int = |id, name: &str| StructField::optional(id, name, PrimitiveType::Int32);
        let point = |fields: Vec<StructField>| DataType::Struct(StructType { fields });
        let schema = |points: Vec<StructField>, tags: Vec<StructField>| {
            Schema::new(
                0,
                vec![
                    StructField::optional(
                        1,
                        "points",
                        DataType::List(ListType {
                            element_id: 2,
                            element_required: false,
                            element: Box::new(point(points)),
                        }),
                    ),
                    StructField::optional(
                        10,
                        "tags",
                        DataType::Map(MapType {
                            key_id: 11,
                            key: Box::new(PrimitiveType::String.into()),
                            value_id: 12,
                            value_required: false,
                            value: Box::new(point(tags)),
                        }),
                    ),
                ],
            )
            .unwrap()
        };
        // Written with points<x (3), y (4)> and tags values <x (13), y (14)>.
        let old = schema(
            vec![int(3, "x"), int(4, "y")],
            vec![int(13, "x"), int(14, "y")],
        );
        let file_schema = to_arrow_schema(&old).unwrap();
        let ArrowType::List(element) = file_schema.field(0).data_type().clone() else {
            panic!()
        };
        let ArrowType::Struct(xy) = element.data_type().clone() else {
            panic!()
        };
        let xs: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3]));
        let ys: ArrayRef = Arc::new(Int32Array::from(vec![10, 20, 30]));
        let structs = StructArray::try_new(xy, vec![xs.clone(), ys.clone()], None).unwrap();
        let points = ListArray::try_new(
            element,
            OffsetBuffer::from_lengths([2, 1]),
            Arc::new(structs),
            None,
        )
        .unwrap();
        let ArrowType::Map(entries, sorted) = file_schema.field(1).data_type().clone() else {
            panic!()
        };
        let ArrowType::Struct(kv) = entries.data_type().clone() else {
            panic!()
        };
        let ArrowType::Struct(value_xy) = kv[1].data_type().clone() else {
            panic!()
        };
        let values = StructArray::try_new(value_xy, vec![xs, ys], None).unwrap();
        let keys: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c"]));
        let kv_array = StructArray::try_new(kv, vec![keys, Arc::new(values)], None).unwrap();
        let tags = MapArray::try_new(
            entries,
            OffsetBuffer::from_lengths([1, 2]),
            kv_array,
            None,
            sorted,
        )
        .unwrap();
        let file_batch =
            RecordBatch::try_new(file_schema, vec![Arc::new(points), Arc::new(tags)]).unwrap();
        // Now: the points' fields reordered with one added (z, 5); the tags' value fields
        // reordered (same shape: a positional relabel would swap x and y).
        let new = schema(
            vec![int(4, "y"), int(3, "x"), int(5, "z")],
            vec![int(14, "y"), int(13, "x")],
        );
        let target = to_arrow_schema(&new).unwrap();
        let out = project_batch(&file_batch, new.fields(), &target).unwrap();
        let points = out.column(0).as_list::<i32>().values().as_struct().clone();
        let col = |s: &StructArray, i: usize| {
            s.column(i)
                .as_primitive::<Int32Type>()
                .iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(col(&points, 0), [Some(10), Some(20), Some(30)], "y");
        assert_eq!(col(&points, 1), [Some(1), Some(2), Some(3)], "x");
        assert_eq!(col(&points, 2), [None, None, None], "z was added");
        let tag_values = out.column(1).as_map().values().as_struct().clone();
        assert_eq!(col(&tag_values, 0), [Some(10), Some(20), Some(30)], "y");
        assert_eq!(col(&tag_values, 1), [Some(1), Some(2), Some(3)], "x");
    }

    #[test]
    fn columns_are_matched_by_id_widened_renamed_and_defaulted() {
        // The file was written with: 1 id int32, 2 name string (since renamed to `label`,
        // `id` widened to int64, column 3 added with a default, column 4 added without).
        let old = Schema::new(
            0,
            vec![
                StructField::required(1, "id", PrimitiveType::Int32),
                StructField::optional(2, "name", PrimitiveType::String),
            ],
        )
        .unwrap();
        let file_schema = to_arrow_schema(&old).unwrap();
        let file_batch = RecordBatch::try_new(
            file_schema,
            vec![
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![Some("a"), None])),
            ],
        )
        .unwrap();
        let mut with_default = StructField::optional(3, "score", PrimitiveType::Int64);
        with_default.initial_default = Some(serde_json::json!(7));
        let new = Schema::new(
            1,
            vec![
                StructField::optional(2, "label", PrimitiveType::String),
                StructField::required(1, "id", PrimitiveType::Int64),
                with_default,
                StructField::optional(4, "extra", PrimitiveType::String),
            ],
        )
        .unwrap();
        let target = to_arrow_schema(&new).unwrap();
        let out = project_batch(&file_batch, new.fields(), &target).unwrap();
        assert_eq!(out.schema().field(0).name(), "label");
        let labels = out
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(labels.value(0), "a");
        assert!(labels.is_null(1));
        let ids = out.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(ids.values(), &[1, 2]);
        let scores = out.column(2).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(scores.values(), &[7, 7]);
        assert_eq!(out.column(3).null_count(), 2);
    }
}
