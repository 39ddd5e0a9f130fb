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

mod casts;
mod conform;

use std::collections::HashMap;
use std::sync::Arc;
pub(crate) use strata_format::transform::{encode_hex, format_decimal};

use arrow::datatypes::{
    DataType as ArrowType, Field, Fields, Schema as ArrowSchema, SchemaRef, TimeUnit,
};
use parquet::arrow::PARQUET_FIELD_ID_META_KEY;
use strata_format::schema::{DataType, PrimitiveType, Schema, StructField};

use crate::error::{Error, Result};

pub(crate) use casts::default_array;
pub use conform::conform_batch;

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

/// `schema` with its top-level string and binary columns as Arrow's view types (`Utf8View`,
/// `BinaryView`), field metadata kept. Scans can decode into this form
/// ([`ScanBuilder::string_views`](crate::ScanBuilder::string_views)): strings then point into
/// the decoded pages and dictionaries instead of being copied one by one, which is what query
/// engines (DataFusion, DuckDB) group and hash fastest. Nested strings keep `Utf8`.
pub fn with_string_views(schema: &ArrowSchema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match view_type(f.data_type()) {
            Some(t) => f.as_ref().clone().with_data_type(t),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(ArrowSchema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

/// The view type of a string or binary type.
fn view_type(t: &ArrowType) -> Option<ArrowType> {
    match t {
        ArrowType::Utf8 | ArrowType::LargeUtf8 => Some(ArrowType::Utf8View),
        ArrowType::Binary | ArrowType::LargeBinary => Some(ArrowType::BinaryView),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    use strata_format::schema::{ListType, MapType, StructType};

    pub(super) fn nested_schema() -> Schema {
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
}
