//! The schema part of a diff: changes by field id (added, dropped, renamed, retyped, nullability).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::schema::{DataType, FieldId, Schema, StructField};

/// Schema changes between two states.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaDiff {
    /// Schema id of `from`.
    pub from_schema_id: i32,
    /// Schema id of `to`.
    pub to_schema_id: i32,
    /// Changes by field id (ascending), each field at most once per kind.
    pub changes: Vec<FieldChange>,
}

/// One change to one field, identified by its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "camelCase")]
pub enum FieldChange {
    /// The field exists only in `to`.
    #[serde(rename_all = "camelCase")]
    Added {
        /// Field id.
        id: FieldId,
        /// Dotted path in `to`.
        path: String,
        /// Type (`struct`, `list`, `map` for nested types).
        #[serde(rename = "type")]
        data_type: String,
        /// Whether the field is required.
        required: bool,
    },
    /// The field exists only in `from`.
    #[serde(rename_all = "camelCase")]
    Dropped {
        /// Field id.
        id: FieldId,
        /// Dotted path in `from`.
        path: String,
        /// Type.
        #[serde(rename = "type")]
        data_type: String,
    },
    /// The field's own name changed.
    #[serde(rename_all = "camelCase")]
    Renamed {
        /// Field id.
        id: FieldId,
        /// Dotted path in `from`.
        from: String,
        /// Dotted path in `to`.
        to: String,
    },
    /// The field's type changed (e.g. widened).
    #[serde(rename_all = "camelCase")]
    TypeChanged {
        /// Field id.
        id: FieldId,
        /// Dotted path in `to`.
        path: String,
        /// Type in `from`.
        from: String,
        /// Type in `to`.
        to: String,
    },
    /// The field went from required to optional, or back.
    #[serde(rename_all = "camelCase")]
    NullabilityChanged {
        /// Field id.
        id: FieldId,
        /// Dotted path in `to`.
        path: String,
        /// Whether it was required in `from`.
        from_required: bool,
        /// Whether it is required in `to`.
        to_required: bool,
    },
}

/// One field as the diff sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldView {
    path: String,
    name: String,
    data_type: String,
    required: bool,
}

/// A type without its children (which the diff compares by their own ids).
pub fn shallow_type(t: &DataType) -> String {
    match t {
        DataType::Primitive(p) => p.to_string(),
        DataType::Struct(_) => "struct".into(),
        DataType::List(_) => "list".into(),
        DataType::Map(_) => "map".into(),
    }
}

fn fields_by_id(schema: &Schema) -> BTreeMap<FieldId, FieldView> {
    fn walk_fields(fields: &[StructField], prefix: &str, out: &mut BTreeMap<FieldId, FieldView>) {
        for f in fields {
            let path = join(prefix, &f.name);
            out.insert(
                f.id,
                FieldView {
                    path: path.clone(),
                    name: f.name.clone(),
                    data_type: shallow_type(&f.data_type),
                    required: f.required,
                },
            );
            walk_type(&f.data_type, &path, out);
        }
    }
    fn walk_type(t: &DataType, path: &str, out: &mut BTreeMap<FieldId, FieldView>) {
        let mut part = |id: FieldId, name: &str, t: &DataType, required: bool| {
            let p = join(path, name);
            out.insert(
                id,
                FieldView {
                    path: p.clone(),
                    name: name.to_string(),
                    data_type: shallow_type(t),
                    required,
                },
            );
            p
        };
        match t {
            DataType::Primitive(_) => {}
            DataType::Struct(s) => walk_fields(&s.fields, path, out),
            DataType::List(l) => {
                let p = part(l.element_id, "element", &l.element, l.element_required);
                walk_type(&l.element, &p, out);
            }
            DataType::Map(m) => {
                let kp = part(m.key_id, "key", &m.key, true);
                let vp = part(m.value_id, "value", &m.value, m.value_required);
                walk_type(&m.key, &kp, out);
                walk_type(&m.value, &vp, out);
            }
        }
    }
    fn join(prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    }
    let mut out = BTreeMap::new();
    walk_fields(schema.fields(), "", &mut out);
    out
}

/// Field changes from schema `a` to schema `b`, matched by field id, ascending by id.
pub fn schema_changes(a: &Schema, b: &Schema) -> Vec<FieldChange> {
    let (fa, fb) = (fields_by_id(a), fields_by_id(b));
    let ids: BTreeSet<FieldId> = fa.keys().chain(fb.keys()).copied().collect();
    let mut out = Vec::new();
    for id in ids {
        match (fa.get(&id), fb.get(&id)) {
            (None, Some(y)) => out.push(FieldChange::Added {
                id,
                path: y.path.clone(),
                data_type: y.data_type.clone(),
                required: y.required,
            }),
            (Some(x), None) => out.push(FieldChange::Dropped {
                id,
                path: x.path.clone(),
                data_type: x.data_type.clone(),
            }),
            (Some(x), Some(y)) => {
                if x.name != y.name {
                    out.push(FieldChange::Renamed {
                        id,
                        from: x.path.clone(),
                        to: y.path.clone(),
                    });
                }
                if x.data_type != y.data_type {
                    out.push(FieldChange::TypeChanged {
                        id,
                        path: y.path.clone(),
                        from: x.data_type.clone(),
                        to: y.data_type.clone(),
                    });
                }
                if x.required != y.required {
                    out.push(FieldChange::NullabilityChanged {
                        id,
                        path: y.path.clone(),
                        from_required: x.required,
                        to_required: y.required,
                    });
                }
            }
            (None, None) => {}
        }
    }
    out
}
