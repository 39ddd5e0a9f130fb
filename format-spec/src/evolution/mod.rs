//! Schema and partition evolution (SPEC §4.4, §5): pure functions that turn the metadata in force
//! and a list of requested changes into the metadata to commit, or refuse with the reason.
//!
//! Columns are addressed by dotted paths of names through structs (`address.city`). Field ids of
//! added columns (and of the list elements, map keys and values inside them) are assigned from
//! `lastColumnId + 1`; ids are never reused.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::actions::Metadata;
use crate::error::{FormatError, Result};
use crate::partition::Transform;
use crate::schema::{DataType, FieldId, PrimitiveType, Schema, StructField};

mod change;
mod partition;
mod restore;
mod verify;

pub use change::{Position, SchemaChange};
pub use partition::with_new_default_spec;
pub use restore::restored_metadata;
pub use verify::check_schema_change;

/// The dotted path of `name` inside `parent` (the top level when absent or empty).
fn join(parent: Option<&str>, name: &str) -> String {
    match parent {
        Some(p) if !p.is_empty() => format!("{p}.{name}"),
        _ => name.to_string(),
    }
}

fn err(message: impl Into<String>) -> FormatError {
    FormatError::InvalidSchema(message.into())
}

/// Applies `changes` in order to the schema of `metadata` and returns the metadata to commit:
/// a new schema id (old + 1), new field ids from `lastColumnId + 1`, `lastColumnId` raised.
/// Refuses (with the reason) anything SPEC §4.4 forbids.
pub fn apply_changes(metadata: &Metadata, changes: &[SchemaChange]) -> Result<Metadata> {
    if changes.is_empty() {
        return Err(err("no schema change was given"));
    }
    let mut fields = metadata.schema.fields().to_vec();
    let mut next_id = metadata
        .last_column_id
        .max(metadata.schema.max_field_id())
        .checked_add(1)
        .ok_or_else(|| err("field ids are exhausted"))?;
    for change in changes {
        apply_one(metadata, &mut fields, &mut next_id, change)
            .map_err(|e| err(format!("cannot {change}: {}", message_of(&e))))?;
    }
    let schema_id = metadata
        .schema
        .schema_id()
        .checked_add(1)
        .ok_or_else(|| err("schema ids are exhausted"))?;
    let schema = Schema::new(schema_id, fields)?;
    let mut out = metadata.clone();
    out.last_column_id = metadata.last_column_id.max(next_id - 1);
    out.schema = schema;
    out.validate()?;
    Ok(out)
}

/// The message of an error without its category prefix.
fn message_of(e: &FormatError) -> String {
    match e {
        FormatError::InvalidSchema(m) | FormatError::InvalidPartitionSpec(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Splits a dotted path into the struct path and the last name.
fn split_path(path: &str) -> Result<(Vec<&str>, &str)> {
    let parts: Vec<&str> = path.split('.').collect();
    if path.trim().is_empty() || parts.iter().any(|p| p.is_empty()) {
        return Err(err(format!("`{path}` is not a column path")));
    }
    match parts.split_last() {
        Some((last, parents)) => Ok((parents.to_vec(), last)),
        None => Err(err(format!("`{path}` is not a column path"))),
    }
}

fn names(fields: &[StructField]) -> String {
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The fields of the struct at `parents` (empty = top level).
fn struct_fields_mut<'a>(
    fields: &'a mut Vec<StructField>,
    parents: &[&str],
) -> Result<&'a mut Vec<StructField>> {
    let mut cur = fields;
    let mut walked = String::new();
    for name in parents {
        let available = names(cur);
        let Some(f) = cur.iter_mut().find(|f| f.name == *name) else {
            return Err(unknown(&walked, name, &available));
        };
        walked = join(Some(&walked), name);
        match &mut f.data_type {
            DataType::Struct(s) => cur = &mut s.fields,
            other => {
                return Err(err(format!(
                    "`{walked}` is a {other}, not a struct; only struct fields can be addressed \
                     by a dotted path"
                )));
            }
        }
    }
    Ok(cur)
}

fn unknown(parent: &str, name: &str, available: &str) -> FormatError {
    if parent.is_empty() {
        err(format!(
            "there is no column `{name}` (columns: {available})"
        ))
    } else {
        err(format!(
            "struct `{parent}` has no field `{name}` (its fields: {available})"
        ))
    }
}

/// The field at `path` and the struct that holds it.
fn locate<'a>(
    fields: &'a mut Vec<StructField>,
    path: &str,
) -> Result<(&'a mut Vec<StructField>, usize)> {
    let (parents, name) = split_path(path)?;
    let siblings = struct_fields_mut(fields, &parents)?;
    match siblings.iter().position(|f| f.name == name) {
        Some(i) => Ok((siblings, i)),
        None => Err(unknown(&parents.join("."), name, &names(siblings))),
    }
}

fn check_new_name(siblings: &[StructField], name: &str, parent: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(err(
            "a column name must not be empty or hold control characters",
        ));
    }
    if name.contains('.') {
        return Err(err(format!(
            "`{name}` holds a `.`, which separates the names of a column path"
        )));
    }
    if siblings.iter().any(|f| f.name == name) {
        let place = if parent.is_empty() {
            "the table".to_string()
        } else {
            format!("struct `{parent}`")
        };
        return Err(err(format!(
            "{place} already has a column named `{name}`; names must be unique within a struct"
        )));
    }
    Ok(())
}

fn apply_one(
    metadata: &Metadata,
    fields: &mut Vec<StructField>,
    next_id: &mut FieldId,
    change: &SchemaChange,
) -> Result<()> {
    match change {
        SchemaChange::AddColumn {
            parent,
            name,
            data_type,
            required,
            default,
            doc,
        } => {
            let parents: Vec<&str> = match parent.as_deref() {
                None | Some("") => Vec::new(),
                Some(p) => {
                    let (mut ps, last) = split_path(p)?;
                    ps.push(last);
                    ps
                }
            };
            let siblings = struct_fields_mut(fields, &parents)?;
            check_new_name(siblings, name, &parents.join("."))?;
            if let Some(d) = default {
                match data_type {
                    DataType::Primitive(p) => p.check_value(d).map_err(|m| {
                        err(format!("the default does not fit the column type: {m}"))
                    })?,
                    _ => {
                        return Err(err(
                            "defaults are only allowed on primitive columns, not on structs, \
                             lists or maps",
                        ));
                    }
                }
            }
            if *required && default.is_none() {
                return Err(err(
                    "a required column needs a default: rows written before have no value for \
                     it; give a default or make it optional",
                ));
            }
            let id = take_id(next_id)?;
            let mut data_type = data_type.clone();
            renumber(&mut data_type, next_id)?;
            siblings.push(StructField {
                id,
                name: name.clone(),
                required: *required,
                data_type,
                doc: doc.clone(),
                initial_default: default.clone(),
                write_default: default.clone(),
            });
            Ok(())
        }
        SchemaChange::DropColumn { path } => {
            let (siblings, i) = locate(fields, path)?;
            let mut ids = BTreeSet::new();
            ids.insert(siblings[i].id);
            collect_ids(&siblings[i].data_type, &mut ids);
            if let Some(spec) = metadata.default_spec()
                && let Some(pf) = spec
                    .fields
                    .iter()
                    .find(|pf| pf.transform != Transform::Void && ids.contains(&pf.source_id))
            {
                return Err(err(format!(
                    "the current partition spec (id {}) partitions by it (partition field `{}`, \
                     {}); change the partitioning first",
                    spec.spec_id, pf.name, pf.transform
                )));
            }
            if siblings.len() == 1 {
                return Err(err(
                    "it is the only field of its struct; drop the struct (or add another field \
                     first)",
                ));
            }
            siblings.remove(i);
            Ok(())
        }
        SchemaChange::RenameColumn { path, new_name } => {
            let (parents, _) = split_path(path)?;
            let (siblings, i) = locate(fields, path)?;
            if siblings[i].name == *new_name {
                return Err(err(format!("the column is already named `{new_name}`")));
            }
            check_new_name(siblings, new_name, &parents.join("."))?;
            siblings[i].name = new_name.clone();
            Ok(())
        }
        SchemaChange::MoveColumn { path, position } => {
            let (siblings, i) = locate(fields, path)?;
            let field = siblings.remove(i);
            let anchor = |siblings: &[StructField], name: &str| {
                if *name == field.name {
                    return Err(err("a column cannot be moved relative to itself"));
                }
                siblings.iter().position(|f| f.name == name).ok_or_else(|| {
                    err(format!(
                        "there is no sibling `{name}` to move next to (siblings: {})",
                        names(siblings)
                    ))
                })
            };
            let at = match position {
                Position::First => 0,
                Position::After(a) => anchor(siblings, a)? + 1,
                Position::Before(b) => anchor(siblings, b)?,
            };
            siblings.insert(at, field);
            Ok(())
        }
        SchemaChange::WidenColumn { path, to } => {
            let (siblings, i) = locate(fields, path)?;
            let field = &mut siblings[i];
            let DataType::Primitive(from) = field.data_type.clone() else {
                return Err(err(format!(
                    "it is a {}; only primitive types can be widened",
                    field.data_type
                )));
            };
            if from == *to {
                return Err(err(format!("it already has type {to}")));
            }
            if !from.can_widen_to(to) {
                let why = if to.can_widen_to(&from) {
                    format!("{from} to {to} is a narrowing and would lose data")
                } else {
                    format!("{from} to {to} is not a widening")
                };
                return Err(err(format!(
                    "{why}; allowed widenings of {from} are: {}",
                    allowed_widenings(&from)
                )));
            }
            if from == PrimitiveType::Date {
                let id = field.id;
                if let Some(pf) = metadata
                    .partition_specs
                    .iter()
                    .flat_map(|s| s.fields.iter())
                    .find(|pf| {
                        pf.source_id == id
                            && matches!(pf.transform, Transform::Identity | Transform::Bucket(_))
                    })
                {
                    return Err(err(format!(
                        "partition field `{}` ({}) is computed from it and its values would \
                         change (SPEC §4.4.1)",
                        pf.name, pf.transform
                    )));
                }
            }
            let convert = |v: &Option<Value>| -> Result<Option<Value>> {
                match v {
                    Some(v) if from == PrimitiveType::Date => {
                        let days = v
                            .as_i64()
                            .ok_or_else(|| err(format!("default {v} is not a date")))?;
                        let micros = days
                            .checked_mul(86_400_000_000)
                            .ok_or_else(|| err(format!("default {v} overflows a timestamp")))?;
                        Ok(Some(Value::from(micros)))
                    }
                    other => Ok(other.clone()),
                }
            };
            field.initial_default = convert(&field.initial_default)?;
            field.write_default = convert(&field.write_default)?;
            field.data_type = DataType::Primitive(*to);
            Ok(())
        }
        SchemaChange::MakeOptional { path } => {
            let (siblings, i) = locate(fields, path)?;
            siblings[i].required = false;
            Ok(())
        }
        SchemaChange::MakeRequired { path } => {
            let (siblings, i) = locate(fields, path)?;
            if siblings[i].required {
                return Err(err("it is already required"));
            }
            Err(err(
                "making an optional column required is not supported: rows written before may \
                 hold nulls",
            ))
        }
    }
}

/// The widenings SPEC §4.4 allows from `from`, for messages.
pub fn allowed_widenings(from: &PrimitiveType) -> String {
    use PrimitiveType::*;
    let list: &[&str] = match from {
        Int8 => &["int16", "int32", "int64"],
        Int16 => &["int32", "int64"],
        Int32 => &["int64"],
        Float32 => &["float64"],
        Date => &["timestamp", "timestamptz"],
        Decimal { scale, .. } => {
            return format!("decimal(P',{scale}) with a larger precision P' (same scale)");
        }
        _ => &[],
    };
    if list.is_empty() {
        "none (no type can be widened from it)".into()
    } else {
        list.join(", ")
    }
}

fn take_id(next_id: &mut FieldId) -> Result<FieldId> {
    let id = *next_id;
    *next_id = id
        .checked_add(1)
        .ok_or_else(|| err("field ids are exhausted"))?;
    Ok(id)
}

/// Gives every id inside `t` (struct fields, list elements, map keys and values) a fresh id
/// from `next_id` on, depth first.
pub fn renumber(t: &mut DataType, next_id: &mut FieldId) -> Result<()> {
    match t {
        DataType::Primitive(_) => {}
        DataType::Struct(s) => {
            for f in &mut s.fields {
                f.id = take_id(next_id)?;
                renumber(&mut f.data_type, next_id)?;
            }
        }
        DataType::List(l) => {
            l.element_id = take_id(next_id)?;
            renumber(&mut l.element, next_id)?;
        }
        DataType::Map(m) => {
            m.key_id = take_id(next_id)?;
            renumber(&mut m.key, next_id)?;
            m.value_id = take_id(next_id)?;
            renumber(&mut m.value, next_id)?;
        }
    }
    Ok(())
}

fn collect_ids(t: &DataType, out: &mut BTreeSet<FieldId>) {
    match t {
        DataType::Primitive(_) => {}
        DataType::Struct(s) => {
            for f in &s.fields {
                out.insert(f.id);
                collect_ids(&f.data_type, out);
            }
        }
        DataType::List(l) => {
            out.insert(l.element_id);
            collect_ids(&l.element, out);
        }
        DataType::Map(m) => {
            out.insert(m.key_id);
            collect_ids(&m.key, out);
            out.insert(m.value_id);
            collect_ids(&m.value, out);
        }
    }
}

#[cfg(test)]
mod tests;
