//! Table schemas: a type system with a field id on every (nested) field.
//!
//! The JSON wire shape is described in SPEC.md §4. Domain types are validated on construction
//! and on deserialization (unique ids, unique names per struct, valid decimal precision, defaults
//! that match their type).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{FormatError, Result};

/// Identifier of a field, unique within a table over its whole life (ids are never reused).
pub type FieldId = i32;

/// A primitive (non-nested) type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrimitiveType {
    /// `boolean`
    Boolean,
    /// `int8`
    Int8,
    /// `int16`
    Int16,
    /// `int32`
    Int32,
    /// `int64`
    Int64,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
    /// `decimal(P,S)`, 1 <= P <= 38, 0 <= S <= P.
    Decimal {
        /// Precision.
        precision: u8,
        /// Scale.
        scale: u8,
    },
    /// `date`: days since 1970-01-01.
    Date,
    /// `time`: microseconds since midnight.
    Time,
    /// `timestamp`: microseconds since the epoch, no time zone.
    Timestamp,
    /// `timestamptz`: microseconds since the epoch, UTC.
    Timestamptz,
    /// `string`: UTF-8.
    String,
    /// `binary`
    Binary,
}

impl PrimitiveType {
    /// Parses the wire name of a primitive type, e.g. `int64` or `decimal(10,2)`.
    pub fn parse(s: &str) -> Result<Self> {
        let t = match s {
            "boolean" => Self::Boolean,
            "int8" => Self::Int8,
            "int16" => Self::Int16,
            "int32" => Self::Int32,
            "int64" => Self::Int64,
            "float32" => Self::Float32,
            "float64" => Self::Float64,
            "date" => Self::Date,
            "time" => Self::Time,
            "timestamp" => Self::Timestamp,
            "timestamptz" => Self::Timestamptz,
            "string" => Self::String,
            "binary" => Self::Binary,
            other => {
                let inner = other
                    .strip_prefix("decimal(")
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| FormatError::InvalidSchema(format!("unknown type `{other}`")))?;
                let (p, sc) = inner.split_once(',').ok_or_else(|| {
                    FormatError::InvalidSchema(format!(
                        "decimal needs `decimal(P,S)`, got `{other}`"
                    ))
                })?;
                let precision: u8 = p.trim().parse().map_err(|_| {
                    FormatError::InvalidSchema(format!("bad decimal precision in `{other}`"))
                })?;
                let scale: u8 = sc.trim().parse().map_err(|_| {
                    FormatError::InvalidSchema(format!("bad decimal scale in `{other}`"))
                })?;
                if !(1..=38).contains(&precision) || scale > precision {
                    return Err(FormatError::InvalidSchema(format!(
                        "decimal precision must be 1..=38 and scale <= precision, got `{other}`"
                    )));
                }
                Self::Decimal { precision, scale }
            }
        };
        Ok(t)
    }

    /// True for int8/16/32/64.
    pub fn is_integer(&self) -> bool {
        matches!(self, Self::Int8 | Self::Int16 | Self::Int32 | Self::Int64)
    }

    /// Whether a column of type `self` may be changed to `to` without rewriting data (SPEC §4.4).
    pub fn can_widen_to(&self, to: &PrimitiveType) -> bool {
        use PrimitiveType::*;
        if self == to {
            return true;
        }
        match (self, to) {
            (Int8, Int16 | Int32 | Int64) | (Int16, Int32 | Int64) | (Int32, Int64) => true,
            (Float32, Float64) => true,
            (Date, Timestamp | Timestamptz) => true,
            (
                Decimal {
                    precision: p1,
                    scale: s1,
                },
                Decimal {
                    precision: p2,
                    scale: s2,
                },
            ) => s1 == s2 && p2 >= p1,
            _ => false,
        }
    }

    /// Checks that a JSON value is a valid single-value encoding of this type (SPEC §4.5).
    pub fn check_value(&self, v: &Value) -> std::result::Result<(), String> {
        use PrimitiveType::*;
        let ok = match self {
            Boolean => v.is_boolean(),
            Int8 => v.as_i64().is_some_and(|x| i8::try_from(x).is_ok()),
            Int16 => v.as_i64().is_some_and(|x| i16::try_from(x).is_ok()),
            Int32 | Date => v.as_i64().is_some_and(|x| i32::try_from(x).is_ok()),
            Int64 | Time | Timestamp | Timestamptz => v.as_i64().is_some(),
            Float32 | Float64 => v.is_number(),
            Decimal { .. } | String => v.is_string(),
            Binary => v
                .as_str()
                .is_some_and(|s| s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit())),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{v} is not a valid {self} value"))
        }
    }
}

impl fmt::Display for PrimitiveType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PrimitiveType::*;
        match self {
            Boolean => f.write_str("boolean"),
            Int8 => f.write_str("int8"),
            Int16 => f.write_str("int16"),
            Int32 => f.write_str("int32"),
            Int64 => f.write_str("int64"),
            Float32 => f.write_str("float32"),
            Float64 => f.write_str("float64"),
            Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            Date => f.write_str("date"),
            Time => f.write_str("time"),
            Timestamp => f.write_str("timestamp"),
            Timestamptz => f.write_str("timestamptz"),
            String => f.write_str("string"),
            Binary => f.write_str("binary"),
        }
    }
}

/// A field of a struct.
#[derive(Debug, Clone, PartialEq)]
pub struct StructField {
    /// Field id, unique in the table.
    pub id: FieldId,
    /// Name, unique within its struct.
    pub name: String,
    /// Whether every row must hold a non-null value.
    pub required: bool,
    /// Type.
    pub data_type: DataType,
    /// Documentation.
    pub doc: Option<String>,
    /// Value that rows of data files written before the field existed read as.
    pub initial_default: Option<Value>,
    /// Value writers use when the input has no value for this field.
    pub write_default: Option<Value>,
}

impl StructField {
    /// A new optional field without defaults.
    pub fn optional(id: FieldId, name: impl Into<String>, data_type: impl Into<DataType>) -> Self {
        Self {
            id,
            name: name.into(),
            required: false,
            data_type: data_type.into(),
            doc: None,
            initial_default: None,
            write_default: None,
        }
    }

    /// A new required field without defaults.
    pub fn required(id: FieldId, name: impl Into<String>, data_type: impl Into<DataType>) -> Self {
        Self {
            required: true,
            ..Self::optional(id, name, data_type)
        }
    }
}

/// A struct type: an ordered list of fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StructType {
    /// The fields, in order.
    pub fields: Vec<StructField>,
}

/// A list type.
#[derive(Debug, Clone, PartialEq)]
pub struct ListType {
    /// Field id of the element.
    pub element_id: FieldId,
    /// Whether elements are non-null.
    pub element_required: bool,
    /// Element type.
    pub element: Box<DataType>,
}

/// A map type.
#[derive(Debug, Clone, PartialEq)]
pub struct MapType {
    /// Field id of the key.
    pub key_id: FieldId,
    /// Key type (keys are always required).
    pub key: Box<DataType>,
    /// Field id of the value.
    pub value_id: FieldId,
    /// Whether values are non-null.
    pub value_required: bool,
    /// Value type.
    pub value: Box<DataType>,
}

/// Any type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DataType {
    /// A primitive.
    Primitive(PrimitiveType),
    /// A struct.
    Struct(StructType),
    /// A list.
    List(ListType),
    /// A map.
    Map(MapType),
}

impl From<PrimitiveType> for DataType {
    fn from(p: PrimitiveType) -> Self {
        DataType::Primitive(p)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Primitive(p) => write!(f, "{p}"),
            DataType::Struct(s) => {
                f.write_str("struct<")?;
                for (i, fld) in s.fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {}", fld.name, fld.data_type)?;
                }
                f.write_str(">")
            }
            DataType::List(l) => write!(f, "list<{}>", l.element),
            DataType::Map(m) => write!(f, "map<{}, {}>", m.key, m.value),
        }
    }
}

/// A table schema: a top-level struct with an id that changes on every schema change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "wire::SchemaWire", into = "wire::SchemaWire")]
pub struct Schema {
    schema_id: i32,
    fields: Vec<StructField>,
}

/// Where a field sits in a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldInfo<'a> {
    /// Dotted path of names from the root, e.g. `address.city`; list elements are `element`,
    /// map parts `key` and `value`.
    pub path: String,
    /// Type of the field.
    pub data_type: &'a DataType,
    /// Whether the field (and every ancestor) is required.
    pub required: bool,
}

impl Schema {
    /// Builds and validates a schema.
    pub fn new(schema_id: i32, fields: Vec<StructField>) -> Result<Self> {
        let schema = Self { schema_id, fields };
        schema.validate()?;
        Ok(schema)
    }

    /// Builds a schema the caller knows to be valid (fixtures).
    pub(crate) fn new_unchecked(schema_id: i32, fields: Vec<StructField>) -> Self {
        Self { schema_id, fields }
    }

    /// The schema id.
    pub fn schema_id(&self) -> i32 {
        self.schema_id
    }

    /// Top-level fields.
    pub fn fields(&self) -> &[StructField] {
        &self.fields
    }

    /// The same fields under another schema id.
    pub fn with_schema_id(mut self, schema_id: i32) -> Self {
        self.schema_id = schema_id;
        self
    }

    /// Largest field id used anywhere in the schema (0 for an empty schema).
    pub fn max_field_id(&self) -> FieldId {
        let mut max = 0;
        self.visit(&mut |id, _| max = max.max(id));
        max
    }

    /// Looks up a top-level field by name.
    pub fn field_by_name(&self, name: &str) -> Option<&StructField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Every field id with its path and type (depth first, in schema order).
    pub fn field_index(&self) -> BTreeMap<FieldId, FieldInfo<'_>> {
        let mut out = BTreeMap::new();
        fn walk<'a>(
            fields: &'a [StructField],
            prefix: &str,
            parent_required: bool,
            out: &mut BTreeMap<FieldId, FieldInfo<'a>>,
        ) {
            for f in fields {
                let path = if prefix.is_empty() {
                    f.name.clone()
                } else {
                    format!("{prefix}.{}", f.name)
                };
                let required = parent_required && f.required;
                out.insert(
                    f.id,
                    FieldInfo {
                        path: path.clone(),
                        data_type: &f.data_type,
                        required,
                    },
                );
                walk_type(&f.data_type, &path, required, out);
            }
        }
        fn walk_type<'a>(
            t: &'a DataType,
            path: &str,
            required: bool,
            out: &mut BTreeMap<FieldId, FieldInfo<'a>>,
        ) {
            match t {
                DataType::Primitive(_) => {}
                DataType::Struct(s) => walk(&s.fields, path, required, out),
                DataType::List(l) => {
                    let p = format!("{path}.element");
                    let r = required && l.element_required;
                    out.insert(
                        l.element_id,
                        FieldInfo {
                            path: p.clone(),
                            data_type: &l.element,
                            required: r,
                        },
                    );
                    walk_type(&l.element, &p, r, out);
                }
                DataType::Map(m) => {
                    let kp = format!("{path}.key");
                    out.insert(
                        m.key_id,
                        FieldInfo {
                            path: kp.clone(),
                            data_type: &m.key,
                            required,
                        },
                    );
                    walk_type(&m.key, &kp, required, out);
                    let vp = format!("{path}.value");
                    let r = required && m.value_required;
                    out.insert(
                        m.value_id,
                        FieldInfo {
                            path: vp.clone(),
                            data_type: &m.value,
                            required: r,
                        },
                    );
                    walk_type(&m.value, &vp, r, out);
                }
            }
        }
        walk(&self.fields, "", true, &mut out);
        out
    }

    fn visit(&self, f: &mut dyn FnMut(FieldId, &DataType)) {
        fn visit_type(t: &DataType, f: &mut dyn FnMut(FieldId, &DataType)) {
            match t {
                DataType::Primitive(_) => {}
                DataType::Struct(s) => {
                    for fld in &s.fields {
                        f(fld.id, &fld.data_type);
                        visit_type(&fld.data_type, f);
                    }
                }
                DataType::List(l) => {
                    f(l.element_id, &l.element);
                    visit_type(&l.element, f);
                }
                DataType::Map(m) => {
                    f(m.key_id, &m.key);
                    visit_type(&m.key, f);
                    f(m.value_id, &m.value);
                    visit_type(&m.value, f);
                }
            }
        }
        for fld in &self.fields {
            f(fld.id, &fld.data_type);
            visit_type(&fld.data_type, f);
        }
    }

    fn validate(&self) -> Result<()> {
        let mut ids = BTreeSet::new();
        let mut dup = None;
        self.visit(&mut |id, _| {
            if id <= 0 || !ids.insert(id) {
                dup.get_or_insert(id);
            }
        });
        if let Some(id) = dup {
            return Err(FormatError::InvalidSchema(format!(
                "field id {id} is duplicated or not positive"
            )));
        }
        validate_struct(&self.fields, "")
    }
}

fn validate_struct(fields: &[StructField], prefix: &str) -> Result<()> {
    let mut names = BTreeSet::new();
    for f in fields {
        let path = if prefix.is_empty() {
            f.name.clone()
        } else {
            format!("{prefix}.{}", f.name)
        };
        if f.name.is_empty() || f.name.chars().any(char::is_control) {
            return Err(FormatError::InvalidSchema(format!(
                "field {} has an empty name or a control character in `{path}`",
                f.id
            )));
        }
        if !names.insert(f.name.as_str()) {
            return Err(FormatError::InvalidSchema(format!(
                "duplicate field name `{path}`"
            )));
        }
        for (what, d) in [
            ("initialDefault", &f.initial_default),
            ("writeDefault", &f.write_default),
        ] {
            if let Some(v) = d {
                match &f.data_type {
                    DataType::Primitive(p) => p.check_value(v).map_err(|m| {
                        FormatError::InvalidSchema(format!("{what} of `{path}`: {m}"))
                    })?,
                    _ => {
                        return Err(FormatError::InvalidSchema(format!(
                            "{what} of `{path}`: defaults are only allowed on primitive fields"
                        )));
                    }
                }
            }
        }
        match &f.data_type {
            DataType::Struct(s) => validate_struct(&s.fields, &path)?,
            DataType::List(l) => {
                if let DataType::Struct(s) = l.element.as_ref() {
                    validate_struct(&s.fields, &format!("{path}.element"))?;
                }
            }
            DataType::Map(m) => {
                for (part, t) in [("key", &m.key), ("value", &m.value)] {
                    if let DataType::Struct(s) = t.as_ref() {
                        validate_struct(&s.fields, &format!("{path}.{part}"))?;
                    }
                }
            }
            DataType::Primitive(_) => {}
        }
    }
    Ok(())
}

mod wire {
    //! Private serde shapes of the schema (format version 1).
    use super::*;

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct SchemaWire {
        #[serde(rename = "type")]
        kind: String,
        schema_id: i32,
        fields: Vec<FieldWire>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct FieldWire {
        id: FieldId,
        name: String,
        required: bool,
        #[serde(rename = "type")]
        data_type: TypeWire,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        doc: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        initial_default: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        write_default: Option<Value>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum TypeWire {
        Primitive(String),
        Nested(Box<NestedWire>),
    }

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "camelCase")]
    enum NestedWire {
        Struct {
            fields: Vec<FieldWire>,
        },
        #[serde(rename_all = "camelCase")]
        List {
            element_id: FieldId,
            element_required: bool,
            element: TypeWire,
        },
        #[serde(rename_all = "camelCase")]
        Map {
            key_id: FieldId,
            key: TypeWire,
            value_id: FieldId,
            value_required: bool,
            value: TypeWire,
        },
    }

    fn type_from(t: TypeWire) -> Result<DataType> {
        Ok(match t {
            TypeWire::Primitive(s) => DataType::Primitive(PrimitiveType::parse(&s)?),
            TypeWire::Nested(n) => match *n {
                NestedWire::Struct { fields } => DataType::Struct(StructType {
                    fields: fields.into_iter().map(field_from).collect::<Result<_>>()?,
                }),
                NestedWire::List {
                    element_id,
                    element_required,
                    element,
                } => DataType::List(ListType {
                    element_id,
                    element_required,
                    element: Box::new(type_from(element)?),
                }),
                NestedWire::Map {
                    key_id,
                    key,
                    value_id,
                    value_required,
                    value,
                } => DataType::Map(MapType {
                    key_id,
                    key: Box::new(type_from(key)?),
                    value_id,
                    value_required,
                    value: Box::new(type_from(value)?),
                }),
            },
        })
    }

    fn field_from(f: FieldWire) -> Result<StructField> {
        Ok(StructField {
            id: f.id,
            name: f.name,
            required: f.required,
            data_type: type_from(f.data_type)?,
            doc: f.doc,
            initial_default: f.initial_default,
            write_default: f.write_default,
        })
    }

    fn type_to(t: DataType) -> TypeWire {
        match t {
            DataType::Primitive(p) => TypeWire::Primitive(p.to_string()),
            DataType::Struct(s) => TypeWire::Nested(Box::new(NestedWire::Struct {
                fields: s.fields.into_iter().map(field_to).collect(),
            })),
            DataType::List(l) => TypeWire::Nested(Box::new(NestedWire::List {
                element_id: l.element_id,
                element_required: l.element_required,
                element: type_to(*l.element),
            })),
            DataType::Map(m) => TypeWire::Nested(Box::new(NestedWire::Map {
                key_id: m.key_id,
                key: type_to(*m.key),
                value_id: m.value_id,
                value_required: m.value_required,
                value: type_to(*m.value),
            })),
        }
    }

    fn field_to(f: StructField) -> FieldWire {
        FieldWire {
            id: f.id,
            name: f.name,
            required: f.required,
            data_type: type_to(f.data_type),
            doc: f.doc,
            initial_default: f.initial_default,
            write_default: f.write_default,
        }
    }

    impl TryFrom<SchemaWire> for Schema {
        type Error = FormatError;
        fn try_from(w: SchemaWire) -> Result<Self> {
            if w.kind != "struct" {
                return Err(FormatError::InvalidSchema(format!(
                    "schema `type` must be \"struct\", got {:?}",
                    w.kind
                )));
            }
            let fields = w
                .fields
                .into_iter()
                .map(field_from)
                .collect::<Result<_>>()?;
            Schema::new(w.schema_id, fields)
        }
    }

    impl From<Schema> for SchemaWire {
        fn from(s: Schema) -> Self {
            SchemaWire {
                kind: "struct".into(),
                schema_id: s.schema_id,
                fields: s.fields.into_iter().map(field_to).collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "type": "struct", "schemaId": 0,
            "fields": [
                {"id": 1, "name": "id", "required": true, "type": "int64"},
                {"id": 2, "name": "price", "required": false, "type": "decimal(10,2)"},
                {"id": 3, "name": "tags", "required": false,
                 "type": {"type": "list", "elementId": 4, "elementRequired": true, "element": "string"}},
                {"id": 5, "name": "attrs", "required": false,
                 "type": {"type": "map", "keyId": 6, "key": "string", "valueId": 7,
                          "valueRequired": false, "value": "float64"}},
                {"id": 8, "name": "loc", "required": false,
                 "type": {"type": "struct", "fields": [
                    {"id": 9, "name": "lat", "required": true, "type": "float64", "initialDefault": 0.0}
                 ]}}
            ]
        })
    }

    #[test]
    fn schema_json_round_trips_with_nested_field_ids() {
        let s: Schema = serde_json::from_value(sample()).unwrap();
        assert_eq!(s.max_field_id(), 9);
        let idx = s.field_index();
        assert_eq!(idx[&4].path, "tags.element");
        assert_eq!(idx[&7].path, "attrs.value");
        assert_eq!(idx[&9].path, "loc.lat");
        assert!(
            !idx[&9].required,
            "a required field under an optional struct may be null"
        );
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn duplicate_field_ids_are_refused() {
        let mut v = sample();
        v["fields"][1]["id"] = json!(1);
        let err = serde_json::from_value::<Schema>(v).unwrap_err().to_string();
        assert!(err.contains("field id 1"), "{err}");
    }

    #[test]
    fn duplicate_names_and_bad_types_are_refused() {
        let mut v = sample();
        v["fields"][1]["name"] = json!("id");
        assert!(
            serde_json::from_value::<Schema>(v)
                .unwrap_err()
                .to_string()
                .contains("duplicate field name `id`")
        );
        let mut v = sample();
        v["fields"][0]["type"] = json!("int128");
        assert!(
            serde_json::from_value::<Schema>(v)
                .unwrap_err()
                .to_string()
                .contains("unknown type `int128`")
        );
        let mut v = sample();
        v["fields"][1]["type"] = json!("decimal(40,2)");
        assert!(serde_json::from_value::<Schema>(v).is_err());
    }

    #[test]
    fn defaults_must_match_their_type() {
        let mut v = sample();
        v["fields"][0]["writeDefault"] = json!("seven");
        let err = serde_json::from_value::<Schema>(v).unwrap_err().to_string();
        assert!(err.contains("writeDefault of `id`"), "{err}");
    }

    #[test]
    fn widening_rules_follow_the_spec() {
        use PrimitiveType::*;
        assert!(Int8.can_widen_to(&Int64));
        assert!(Int32.can_widen_to(&Int64));
        assert!(!Int64.can_widen_to(&Int32));
        assert!(Float32.can_widen_to(&Float64));
        assert!(Date.can_widen_to(&Timestamp));
        assert!(!Int32.can_widen_to(&String));
        let d = |p, s| Decimal {
            precision: p,
            scale: s,
        };
        assert!(d(10, 2).can_widen_to(&d(12, 2)));
        assert!(!d(10, 2).can_widen_to(&d(12, 3)));
    }
}
