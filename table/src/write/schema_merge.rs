//! Merge-schema: the schema changes that let a table take a batch with columns it lacks.
//!
//! Columns of the batch that the table does not have (at the top level, or inside a struct
//! column the table has) become optional columns added at the end of their struct, with Strata
//! types derived from their Arrow types (SPEC §4.2 mapping, read backwards). Nothing else is
//! changed: columns the batch lacks stay (they are written as nulls or their default), and
//! types of existing columns are cast by the conform step, never widened implicitly.

use arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema as ArrowSchema};
use strata_format::evolution::SchemaChange;
use strata_format::schema::{ListType, MapType, StructType};
use strata_format::{DataType, PrimitiveType, Schema, StructField};

use crate::error::{Error, Result};

/// A new table's schema for batches of `arrow`: the same mapping as merge-schema, field ids
/// 1, 2, … in column order (nested ids after their column's). Every column is optional unless
/// `keep_nullability` and the Arrow field is not nullable.
pub fn schema_from_arrow(arrow: &ArrowSchema, keep_nullability: bool) -> Result<Schema> {
    let mut next: strata_format::schema::FieldId = 1;
    let mut fields = Vec::with_capacity(arrow.fields().len());
    for f in arrow.fields() {
        let mut field = struct_field(f, f.name())?;
        field.required = keep_nullability && !f.is_nullable();
        field.id = next;
        next += 1;
        strata_format::evolution::renumber(&mut field.data_type, &mut next)?;
        fields.push(field);
    }
    Ok(Schema::new(0, fields)?)
}

/// The `AddColumn` changes that make `schema` hold every column of `batch` (empty if it
/// already does).
pub(crate) fn merge_changes(schema: &Schema, batch: &ArrowSchema) -> Result<Vec<SchemaChange>> {
    let mut out = Vec::new();
    collect(schema.fields(), batch.fields(), None, &mut out)?;
    Ok(out)
}

fn collect(
    fields: &[StructField],
    incoming: &Fields,
    parent: Option<&str>,
    out: &mut Vec<SchemaChange>,
) -> Result<()> {
    for f in incoming {
        let path = match parent {
            Some(p) => format!("{p}.{}", f.name()),
            None => f.name().clone(),
        };
        match fields.iter().find(|t| t.name == *f.name()) {
            None => out.push(SchemaChange::AddColumn {
                parent: parent.map(str::to_string),
                name: f.name().clone(),
                data_type: from_arrow(f.data_type(), &path)?,
                required: false,
                default: None,
                doc: None,
            }),
            Some(existing) => {
                if let (DataType::Struct(s), ArrowType::Struct(children)) =
                    (&existing.data_type, f.data_type())
                {
                    collect(&s.fields, children, Some(&path), out)?;
                }
            }
        }
    }
    Ok(())
}

fn unsupported(path: &str, t: &ArrowType, why: &str) -> Error {
    Error::SchemaMismatch {
        column: path.to_string(),
        message: format!("merge-schema cannot add a column of Arrow type {t}: {why}"),
    }
}

/// The Strata type of a new column. Field ids inside nested types are placeholders (0):
/// `apply_changes` assigns fresh ones.
fn from_arrow(t: &ArrowType, path: &str) -> Result<DataType> {
    use ArrowType as A;
    let p = |p: PrimitiveType| Ok(DataType::Primitive(p));
    match t {
        A::Boolean => p(PrimitiveType::Boolean),
        A::Int8 => p(PrimitiveType::Int8),
        A::Int16 | A::UInt8 => p(PrimitiveType::Int16),
        A::Int32 | A::UInt16 => p(PrimitiveType::Int32),
        A::Int64 | A::UInt32 => p(PrimitiveType::Int64),
        A::Float16 | A::Float32 => p(PrimitiveType::Float32),
        A::Float64 => p(PrimitiveType::Float64),
        A::Decimal32(precision, scale)
        | A::Decimal64(precision, scale)
        | A::Decimal128(precision, scale) => {
            let scale = u8::try_from(*scale)
                .map_err(|_| unsupported(path, t, "a negative scale has no Strata type"))?;
            p(PrimitiveType::Decimal {
                precision: *precision,
                scale,
            })
        }
        A::Date32 | A::Date64 => p(PrimitiveType::Date),
        A::Time32(_) | A::Time64(_) => p(PrimitiveType::Time),
        A::Timestamp(_, None) => p(PrimitiveType::Timestamp),
        A::Timestamp(_, Some(_)) => p(PrimitiveType::Timestamptz),
        A::Utf8 | A::LargeUtf8 | A::Utf8View => p(PrimitiveType::String),
        A::Binary | A::LargeBinary | A::BinaryView | A::FixedSizeBinary(_) => {
            p(PrimitiveType::Binary)
        }
        A::Dictionary(_, values) => from_arrow(values, path),
        A::List(e) | A::LargeList(e) | A::ListView(e) | A::LargeListView(e) => {
            Ok(DataType::List(ListType {
                element_id: 0,
                element_required: !e.is_nullable(),
                element: Box::new(from_arrow(e.data_type(), &format!("{path}.element"))?),
            }))
        }
        A::FixedSizeList(e, _) => Ok(DataType::List(ListType {
            element_id: 0,
            element_required: !e.is_nullable(),
            element: Box::new(from_arrow(e.data_type(), &format!("{path}.element"))?),
        })),
        A::Map(entries, _) => {
            let A::Struct(kv) = entries.data_type() else {
                return Err(unsupported(path, t, "map entries are not a struct"));
            };
            let (Some(k), Some(v)) = (kv.first(), kv.get(1)) else {
                return Err(unsupported(path, t, "map entries need a key and a value"));
            };
            Ok(DataType::Map(MapType {
                key_id: 0,
                key: Box::new(from_arrow(k.data_type(), &format!("{path}.key"))?),
                value_id: 0,
                value_required: !v.is_nullable(),
                value: Box::new(from_arrow(v.data_type(), &format!("{path}.value"))?),
            }))
        }
        A::Struct(children) => {
            if children.is_empty() {
                return Err(unsupported(path, t, "a struct without fields"));
            }
            let fields = children
                .iter()
                .map(|c| struct_field(c, &format!("{path}.{}", c.name())))
                .collect::<Result<Vec<_>>>()?;
            Ok(DataType::Struct(StructType { fields }))
        }
        A::Null => Err(unsupported(
            path,
            t,
            "the column holds only nulls, so its type is unknown; cast it to a type first",
        )),
        A::UInt64 => Err(unsupported(
            path,
            t,
            "unsigned 64-bit values do not all fit int64; cast to int64 or a decimal first",
        )),
        _ => Err(unsupported(path, t, "no Strata type corresponds")),
    }
}

fn struct_field(f: &Field, path: &str) -> Result<StructField> {
    Ok(StructField {
        id: 0,
        name: f.name().clone(),
        required: false,
        data_type: from_arrow(f.data_type(), path)?,
        doc: None,
        initial_default: None,
        write_default: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::TimeUnit;
    use std::sync::Arc;
    use strata_format::compact::parse_schema;

    #[test]
    fn extra_columns_become_optional_adds_at_their_level() {
        let schema = parse_schema("id:int64,name:string?").unwrap();
        let batch = ArrowSchema::new(vec![
            Field::new("id", ArrowType::Int64, false),
            Field::new("score", ArrowType::Float64, true),
            Field::new(
                "ts",
                ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]);
        let changes = merge_changes(&schema, &batch).unwrap();
        let names: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(changes.len(), 2, "{names:?}");
        match &changes[1] {
            SchemaChange::AddColumn {
                parent,
                name,
                data_type,
                required,
                ..
            } => {
                assert_eq!((parent.as_deref(), name.as_str()), (None, "ts"));
                assert_eq!(*data_type, DataType::Primitive(PrimitiveType::Timestamptz));
                assert!(!required, "merged columns are optional");
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn the_same_columns_need_no_change() {
        let schema = parse_schema("id:int64,name:string?").unwrap();
        let batch = ArrowSchema::new(vec![Field::new("name", ArrowType::Utf8, true)]);
        assert!(merge_changes(&schema, &batch).unwrap().is_empty());
    }

    #[test]
    fn untyped_and_unsigned_64_columns_are_refused_with_the_column_named() {
        let schema = parse_schema("id:int64").unwrap();
        for t in [ArrowType::Null, ArrowType::UInt64] {
            let batch = ArrowSchema::new(vec![Field::new("x", t, true)]);
            let err = merge_changes(&schema, &batch).unwrap_err().to_string();
            assert!(err.contains("`x`") || err.contains("x"), "{err}");
            assert!(err.contains("merge-schema cannot add"), "{err}");
        }
    }

    #[test]
    fn nested_lists_and_maps_map_to_strata_types() {
        let schema = parse_schema("id:int64").unwrap();
        let entries = Field::new(
            "entries",
            ArrowType::Struct(Fields::from(vec![
                Field::new("key", ArrowType::Utf8, false),
                Field::new("value", ArrowType::Int32, true),
            ])),
            false,
        );
        let batch = ArrowSchema::new(vec![
            Field::new(
                "tags",
                ArrowType::List(Arc::new(Field::new("item", ArrowType::Utf8, true))),
                true,
            ),
            Field::new("attrs", ArrowType::Map(Arc::new(entries), false), true),
        ]);
        let changes = merge_changes(&schema, &batch).unwrap();
        let types: Vec<String> = changes
            .iter()
            .map(|c| match c {
                SchemaChange::AddColumn { data_type, .. } => data_type.to_string(),
                other => other.to_string(),
            })
            .collect();
        assert_eq!(types, ["list<string>", "map<string, int32>"]);
    }
}
