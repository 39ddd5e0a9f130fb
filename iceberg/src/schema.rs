//! Schema mapping: Strata schemas (SPEC §4.1–§4.3) to Iceberg schemas, with the same field ids.
//!
//! | Strata | Iceberg |
//! |---|---|
//! | `boolean` | `boolean` |
//! | `int8`, `int16` | `int` (Iceberg has no narrower integer; the values fit) |
//! | `int32` | `int` |
//! | `int64` | `long` |
//! | `float32` / `float64` | `float` / `double` |
//! | `decimal(P,S)` | `decimal(P, S)` |
//! | `date`, `time`, `timestamp`, `timestamptz` | the same names (µs precision) |
//! | `string` / `binary` | `string` / `binary` |
//! | struct / list / map | struct / list / map with the same element, key and value ids |
//!
//! Field defaults: Iceberg format version 2 has none. A field with an `initialDefault` makes
//! rows of files written before the field existed read as that value in Strata but as null in
//! an Iceberg v2 reader, so such a schema is refused ([`crate::Error::Unsupported`]);
//! `writeDefault` only steers writers and is not exported.

use serde_json::{Map, Value, json};
use strata_format::schema::{DataType, PrimitiveType, Schema, StructField};

use crate::error::MapError;

/// The Iceberg name of a primitive type.
pub fn primitive_name(t: &PrimitiveType) -> String {
    match t {
        PrimitiveType::Boolean => "boolean".into(),
        PrimitiveType::Int8 | PrimitiveType::Int16 | PrimitiveType::Int32 => "int".into(),
        PrimitiveType::Int64 => "long".into(),
        PrimitiveType::Float32 => "float".into(),
        PrimitiveType::Float64 => "double".into(),
        PrimitiveType::Decimal { precision, scale } => format!("decimal({precision}, {scale})"),
        PrimitiveType::Date => "date".into(),
        PrimitiveType::Time => "time".into(),
        PrimitiveType::Timestamp => "timestamp".into(),
        PrimitiveType::Timestamptz => "timestamptz".into(),
        PrimitiveType::String => "string".into(),
        PrimitiveType::Binary => "binary".into(),
        // `PrimitiveType` is non-exhaustive: a type added later is refused by `check_type`.
        #[allow(unreachable_patterns)]
        _ => "unknown".into(),
    }
}

fn check_primitive(t: &PrimitiveType) -> Result<(), MapError> {
    if primitive_name(t) == "unknown" {
        return Err(MapError::Unsupported(format!(
            "type `{t}` has no Iceberg equivalent"
        )));
    }
    Ok(())
}

fn type_json(t: &DataType) -> Result<Value, MapError> {
    Ok(match t {
        DataType::Primitive(p) => {
            check_primitive(p)?;
            Value::String(primitive_name(p))
        }
        DataType::Struct(s) => struct_json(&s.fields)?,
        DataType::List(l) => json!({
            "type": "list",
            "element-id": l.element_id,
            "element-required": l.element_required,
            "element": type_json(&l.element)?,
        }),
        DataType::Map(m) => json!({
            "type": "map",
            "key-id": m.key_id,
            "key": type_json(&m.key)?,
            "value-id": m.value_id,
            "value-required": m.value_required,
            "value": type_json(&m.value)?,
        }),
        other => {
            return Err(MapError::Unsupported(format!(
                "type `{other}` has no Iceberg equivalent"
            )));
        }
    })
}

fn field_json(f: &StructField) -> Result<Value, MapError> {
    if f.initial_default.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(MapError::Unsupported(format!(
            "field `{}` (id {}) has an initialDefault, which Iceberg format version 2 cannot \
             express (its readers would return null for rows written before the field existed)",
            f.name, f.id
        )));
    }
    let mut m = Map::new();
    m.insert("id".into(), json!(f.id));
    m.insert("name".into(), json!(f.name));
    m.insert("required".into(), json!(f.required));
    m.insert("type".into(), type_json(&f.data_type)?);
    if let Some(doc) = &f.doc {
        m.insert("doc".into(), json!(doc));
    }
    Ok(Value::Object(m))
}

fn struct_json(fields: &[StructField]) -> Result<Value, MapError> {
    let fields = fields
        .iter()
        .map(field_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"type": "struct", "fields": fields}))
}

/// The Iceberg schema object of `schema` (with its `schema-id`).
pub fn schema_json(schema: &Schema) -> Result<Value, MapError> {
    let mut v = struct_json(schema.fields())?;
    if let Value::Object(m) = &mut v {
        m.insert("schema-id".into(), json!(schema.schema_id()));
    }
    Ok(v)
}

/// Field ids whose values are counted once per row: primitive fields reached through structs
/// only (not inside a list or map), for which Iceberg's `value_counts` equals the file's record
/// count.
pub fn once_per_row_ids(schema: &Schema) -> Vec<i32> {
    fn walk(fields: &[StructField], out: &mut Vec<i32>) {
        for f in fields {
            match &f.data_type {
                DataType::Primitive(_) => out.push(f.id),
                DataType::Struct(s) => walk(&s.fields, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(schema.fields(), &mut out);
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_format::schema::{ListType, StructType};

    #[test]
    fn maps_types_and_ids() {
        let schema = Schema::new(
            3,
            vec![
                StructField::required(1, "id", PrimitiveType::Int64),
                StructField::optional(2, "small", PrimitiveType::Int16),
                StructField::optional(
                    3,
                    "price",
                    PrimitiveType::Decimal {
                        precision: 10,
                        scale: 2,
                    },
                ),
                StructField::optional(
                    4,
                    "tags",
                    DataType::List(ListType {
                        element_id: 5,
                        element_required: false,
                        element: Box::new(DataType::Primitive(PrimitiveType::String)),
                    }),
                ),
                StructField::optional(
                    6,
                    "at",
                    DataType::Struct(StructType {
                        fields: vec![StructField::optional(7, "ts", PrimitiveType::Timestamptz)],
                    }),
                ),
            ],
        )
        .unwrap();
        let v = schema_json(&schema).unwrap();
        assert_eq!(v["schema-id"], 3);
        assert_eq!(v["fields"][0]["type"], "long");
        assert_eq!(v["fields"][0]["required"], true);
        assert_eq!(v["fields"][1]["type"], "int");
        assert_eq!(v["fields"][2]["type"], "decimal(10, 2)");
        assert_eq!(v["fields"][3]["type"]["element-id"], 5);
        assert_eq!(v["fields"][4]["type"]["fields"][0]["type"], "timestamptz");
        assert_eq!(once_per_row_ids(&schema), vec![1, 2, 3, 7]);
    }

    #[test]
    fn refuses_initial_default() {
        let mut f = StructField::optional(2, "x", PrimitiveType::Int32);
        f.initial_default = Some(json!(5));
        let schema = Schema::new(1, vec![f]).unwrap();
        assert!(matches!(
            schema_json(&schema),
            Err(MapError::Unsupported(_))
        ));
    }
}
