//! Partition spec mapping (SPEC §5): Strata's transforms are Iceberg's, with the same names,
//! parameters and partition field ids, so a spec maps field by field.
//!
//! Differences (documented in the crate docs): Strata computes `truncate[W]` of integers in
//! 64-bit arithmetic, Iceberg in 32-bit for `int`; they differ only for `int32` values within
//! `W` of the type's minimum, whose partition value then does not fit an Iceberg `int` and the
//! export fails with [`crate::Error::Invalid`] instead of writing a wrong value.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use strata_format::partition::{PartitionSpec, Transform};
use strata_format::schema::{DataType, FieldId, PrimitiveType, Schema};

use crate::error::MapError;

/// The Iceberg name of a transform.
pub fn transform_name(t: &Transform) -> String {
    // Strata writes transforms in Iceberg's canonical text (`bucket[16]`, `truncate[4]`).
    t.to_string()
}

/// The Iceberg partition spec object.
pub fn spec_json(spec: &PartitionSpec) -> Value {
    json!({"spec-id": spec.spec_id, "fields": fields_json(spec)})
}

/// The `fields` array of a spec (also the `partition-spec` metadata of a manifest).
pub fn fields_json(spec: &PartitionSpec) -> Value {
    Value::Array(
        spec.fields
            .iter()
            .map(|f| {
                json!({
                    "source-id": f.source_id,
                    "field-id": f.field_id,
                    "name": f.name,
                    "transform": transform_name(&f.transform),
                })
            })
            .collect(),
    )
}

/// Primitive type of every field id, taken from the newest of `schemas` that has it (a spec
/// may use a column that a later schema dropped).
pub fn field_types<'a>(
    schemas: impl IntoIterator<Item = &'a Schema>,
) -> BTreeMap<FieldId, PrimitiveType> {
    let mut out = BTreeMap::new();
    for schema in schemas {
        for (id, info) in schema.field_index() {
            if let DataType::Primitive(p) = info.data_type {
                out.insert(id, *p);
            }
        }
    }
    out
}

/// One field of a spec's partition tuple: name, partition field id and result type.
#[derive(Debug, Clone, PartialEq)]
pub struct TupleField {
    /// Partition field name.
    pub name: String,
    /// Partition field id.
    pub field_id: i32,
    /// Type of the transform's result.
    pub result: PrimitiveType,
}

/// The partition tuple type of `spec`, given the type of each source column.
pub fn tuple_type(
    spec: &PartitionSpec,
    types: &BTreeMap<FieldId, PrimitiveType>,
) -> Result<Vec<TupleField>, MapError> {
    spec.fields
        .iter()
        .map(|f| {
            let source = match types.get(&f.source_id) {
                Some(t) => *t,
                // A void field's source may be gone: its values are always null.
                None if f.transform == Transform::Void => PrimitiveType::Int32,
                None => {
                    return Err(MapError::Unsupported(format!(
                        "partition field `{}` (id {}) of spec {} has a source column (id {}) \
                         that no retained schema has",
                        f.name, f.field_id, spec.spec_id, f.source_id
                    )));
                }
            };
            Ok(TupleField {
                name: f.name.clone(),
                field_id: f.field_id,
                result: f.transform.result_type(&source),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_format::partition::PartitionField;
    use strata_format::schema::StructField;

    #[test]
    fn maps_transforms() {
        let schema = Schema::new(
            0,
            vec![
                StructField::required(1, "id", PrimitiveType::Int64),
                StructField::optional(2, "ts", PrimitiveType::Timestamptz),
            ],
        )
        .unwrap();
        let spec = PartitionSpec {
            spec_id: 1,
            fields: vec![
                PartitionField {
                    field_id: 1000,
                    source_id: 2,
                    name: "ts_day".into(),
                    transform: Transform::Day,
                },
                PartitionField {
                    field_id: 1001,
                    source_id: 1,
                    name: "id_bucket".into(),
                    transform: Transform::Bucket(16),
                },
            ],
        };
        let v = spec_json(&spec);
        assert_eq!(v["spec-id"], 1);
        assert_eq!(v["fields"][0]["transform"], "day");
        assert_eq!(v["fields"][1]["transform"], "bucket[16]");
        assert_eq!(v["fields"][1]["source-id"], 1);
        let tuple = tuple_type(&spec, &field_types([&schema])).unwrap();
        assert_eq!(tuple[0].result, PrimitiveType::Date);
        assert_eq!(tuple[1].result, PrimitiveType::Int32);
    }
}
