//! Verification of a committed schema change (SPEC §4.4): given the metadata in force and the
//! metadata a commit carries, matched by field id, refuse anything the rules forbid. Writers
//! that did not build the change themselves (a catalog arbitrating client commits) run this
//! before writing; it is the reader-side check of §4.4 ("Readers MAY verify them").

use std::collections::BTreeMap;

use serde_json::Value;

use crate::actions::Metadata;
use crate::error::{FormatError, Result};
use crate::schema::{DataType, FieldId, Schema, StructField};

/// What kind of node a field id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Field,
    Element,
    Key,
    Value,
}

/// One id of a schema: where it sits and what it holds.
#[derive(Debug, Clone)]
struct Slot<'a> {
    path: String,
    parent: Option<FieldId>,
    role: Role,
    required: bool,
    data_type: &'a DataType,
    initial_default: Option<&'a Value>,
}

fn index(schema: &Schema) -> BTreeMap<FieldId, Slot<'_>> {
    let mut out = BTreeMap::new();
    walk_struct(schema.fields(), None, "", &mut out);
    out
}

fn walk_struct<'a>(
    fields: &'a [StructField],
    parent: Option<FieldId>,
    prefix: &str,
    out: &mut BTreeMap<FieldId, Slot<'a>>,
) {
    for f in fields {
        let path = if prefix.is_empty() {
            f.name.clone()
        } else {
            format!("{prefix}.{}", f.name)
        };
        out.insert(
            f.id,
            Slot {
                path: path.clone(),
                parent,
                role: Role::Field,
                required: f.required,
                data_type: &f.data_type,
                initial_default: f.initial_default.as_ref(),
            },
        );
        walk_type(&f.data_type, f.id, &path, out);
    }
}

fn walk_type<'a>(t: &'a DataType, id: FieldId, path: &str, out: &mut BTreeMap<FieldId, Slot<'a>>) {
    match t {
        DataType::Primitive(_) => {}
        DataType::Struct(s) => walk_struct(&s.fields, Some(id), path, out),
        DataType::List(l) => {
            let p = format!("{path}.element");
            out.insert(
                l.element_id,
                Slot {
                    path: p.clone(),
                    parent: Some(id),
                    role: Role::Element,
                    required: l.element_required,
                    data_type: &l.element,
                    initial_default: None,
                },
            );
            walk_type(&l.element, l.element_id, &p, out);
        }
        DataType::Map(m) => {
            let k = format!("{path}.key");
            out.insert(
                m.key_id,
                Slot {
                    path: k.clone(),
                    parent: Some(id),
                    role: Role::Key,
                    required: true,
                    data_type: &m.key,
                    initial_default: None,
                },
            );
            walk_type(&m.key, m.key_id, &k, out);
            let v = format!("{path}.value");
            out.insert(
                m.value_id,
                Slot {
                    path: v.clone(),
                    parent: Some(id),
                    role: Role::Value,
                    required: m.value_required,
                    data_type: &m.value,
                    initial_default: None,
                },
            );
            walk_type(&m.value, m.value_id, &v, out);
        }
    }
}

fn refuse(message: String) -> FormatError {
    FormatError::InvalidField {
        field: "metadata.schema".into(),
        message,
    }
}

/// Whether a nested type keeps its kind and the ids of its list element or map key and value
/// (the children are checked under their own ids).
fn same_shape(old: &DataType, new: &DataType) -> std::result::Result<(), String> {
    match (old, new) {
        (DataType::Primitive(a), DataType::Primitive(b)) => {
            if a.can_widen_to(b) {
                Ok(())
            } else {
                Err(format!(
                    "changes the type from {a} to {b}, which is not a widening"
                ))
            }
        }
        (DataType::Struct(_), DataType::Struct(_)) => Ok(()),
        (DataType::List(a), DataType::List(b)) => {
            if a.element_id == b.element_id {
                Ok(())
            } else {
                Err(format!(
                    "changes the list element id from {} to {}",
                    a.element_id, b.element_id
                ))
            }
        }
        (DataType::Map(a), DataType::Map(b)) => {
            if a.key_id == b.key_id && a.value_id == b.value_id {
                Ok(())
            } else {
                Err(format!(
                    "changes the map key/value ids from {}/{} to {}/{}",
                    a.key_id, a.value_id, b.key_id, b.value_id
                ))
            }
        }
        (a, b) => Err(format!("changes the type from {a} to {b}")),
    }
}

/// Whether two slots define the same field (type, nullability, defaults, children are checked
/// by their ids).
fn same_definition(a: &Slot<'_>, b: &Slot<'_>) -> bool {
    a.role == b.role
        && a.parent == b.parent
        && a.required == b.required
        && a.data_type == b.data_type
        && a.initial_default == b.initial_default
}

/// Checks that `new` is a permitted change of `old` (SPEC §4.4, matched by field id).
///
/// `reinstatable` is the schema of the version a `RESTORE` commit restores (rule 8): a field
/// that is not in `old` may then come back with an id ≤ `lastColumnId` if that schema defines
/// it identically. Pass `None` for every other commit.
pub fn check_schema_change(
    old: &Metadata,
    new: &Metadata,
    reinstatable: Option<&Schema>,
) -> Result<()> {
    if new.last_column_id < old.last_column_id {
        return Err(FormatError::InvalidField {
            field: "metadata.lastColumnId".into(),
            message: format!(
                "lowered from {} to {}; ids are never reused",
                old.last_column_id, new.last_column_id
            ),
        });
    }
    if new.schema == old.schema {
        return Ok(());
    }
    if new.schema.schema_id() == old.schema.schema_id() {
        return Err(FormatError::InvalidField {
            field: "metadata.schema.schemaId".into(),
            message: format!(
                "the schema changed but keeps schemaId {}; a schema change needs a new id",
                old.schema.schema_id()
            ),
        });
    }
    let before = index(&old.schema);
    let after = index(&new.schema);
    let restored = reinstatable.map(index);
    for (id, slot) in &after {
        match before.get(id) {
            Some(was) => check_kept(*id, was, slot)?,
            None => check_added(*id, slot, old.last_column_id, restored.as_ref(), &before)?,
        }
    }
    Ok(())
}

fn check_kept(id: FieldId, was: &Slot<'_>, now: &Slot<'_>) -> Result<()> {
    let name = &now.path;
    if was.role != now.role || was.parent != now.parent {
        return Err(refuse(format!(
            "field `{name}` (id {id}) moved from `{}`; a field id keeps its place",
            was.path
        )));
    }
    same_shape(was.data_type, now.data_type)
        .map_err(|m| refuse(format!("field `{name}` (id {id}) {m}")))?;
    if !was.required && now.required {
        return Err(refuse(format!(
            "field `{name}` (id {id}) is made required; only required → optional is allowed"
        )));
    }
    // A widened field re-encodes its default (§4.5), so compare presence then; otherwise the
    // value itself.
    let same_default = if was.data_type == now.data_type {
        was.initial_default == now.initial_default
    } else {
        was.initial_default.is_some() == now.initial_default.is_some()
    };
    if !same_default {
        return Err(refuse(format!(
            "field `{name}` (id {id}) changes its initialDefault, which is fixed once set"
        )));
    }
    Ok(())
}

fn check_added(
    id: FieldId,
    slot: &Slot<'_>,
    last_column_id: FieldId,
    restored: Option<&BTreeMap<FieldId, Slot<'_>>>,
    before: &BTreeMap<FieldId, Slot<'_>>,
) -> Result<()> {
    let name = &slot.path;
    if id <= last_column_id {
        let reinstated = restored
            .and_then(|r| r.get(&id))
            .is_some_and(|r| same_definition(r, slot));
        if !reinstated {
            return Err(refuse(format!(
                "field `{name}` has id {id}, which is not above lastColumnId {last_column_id}; \
                 ids of dropped fields are never reused"
            )));
        }
        return Ok(());
    }
    // A new struct field must be readable from files that lack it; elements, keys and values
    // of a new field come with it.
    let parent_is_new = slot.parent.is_some_and(|p| !before.contains_key(&p));
    if slot.role == Role::Field && slot.required && slot.initial_default.is_none() && !parent_is_new
    {
        return Err(refuse(format!(
            "new field `{name}` (id {id}) is required without an initialDefault"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ListType, PrimitiveType, StructType};
    use crate::testing::sample_metadata;

    fn with_fields(base: &Metadata, id: i32, fields: Vec<StructField>) -> Metadata {
        let mut m = base.clone();
        m.schema = Schema::new(id, fields).unwrap();
        m.last_column_id = m.last_column_id.max(m.schema.max_field_id());
        m
    }

    #[test]
    fn permitted_changes_pass() {
        let old = sample_metadata();
        let mut fields = old.schema.fields().to_vec();
        // rename, reorder, add optional
        fields[0].name = "renamed".into();
        fields.reverse();
        let next = old.last_column_id + 1;
        fields.push(StructField::optional(next, "extra", PrimitiveType::String));
        let new = with_fields(&old, old.schema.schema_id() + 1, fields);
        check_schema_change(&old, &new, None).unwrap();
        // unchanged
        check_schema_change(&old, &old, None).unwrap();
    }

    #[test]
    fn forbidden_changes_are_refused_naming_the_field() {
        let old = sample_metadata();
        let sid = old.schema.schema_id() + 1;
        let f = old.schema.fields().to_vec();
        // swap two ids
        let mut swapped = f.clone();
        let (a, b) = (swapped[0].id, swapped[1].id);
        swapped[0].id = b;
        swapped[1].id = a;
        let e = check_schema_change(&old, &with_fields(&old, sid, swapped), None).unwrap_err();
        assert!(e.to_string().contains("metadata.schema"), "{e}");
        // int64 → string
        let mut narrowed = f.clone();
        let i = narrowed
            .iter()
            .position(|x| x.data_type == DataType::Primitive(PrimitiveType::Int64))
            .unwrap();
        narrowed[i].data_type = PrimitiveType::String.into();
        let e = check_schema_change(&old, &with_fields(&old, sid, narrowed), None).unwrap_err();
        assert!(e.to_string().contains("not a widening"), "{e}");
        // same schema id
        let mut renamed = f.clone();
        renamed[0].name = "x".into();
        let e = check_schema_change(&old, &with_fields(&old, sid - 1, renamed), None).unwrap_err();
        assert!(e.to_string().contains("schemaId"), "{e}");
        // reused id after a drop
        let mut dropped = f.clone();
        let gone = dropped.pop().unwrap();
        let mut back = dropped.clone();
        back.push(StructField::optional(
            gone.id,
            "again",
            PrimitiveType::Int32,
        ));
        let after_drop = with_fields(&old, sid, dropped.clone());
        let e =
            check_schema_change(&after_drop, &with_fields(&old, sid + 1, back), None).unwrap_err();
        assert!(e.to_string().contains("never reused"), "{e}");
        // ...which a RESTORE to a schema that defines it identically may do
        let mut identical = dropped;
        identical.push(gone);
        let reinstated = with_fields(&old, sid + 1, identical);
        check_schema_change(&after_drop, &reinstated, Some(&old.schema)).unwrap();
        assert!(check_schema_change(&after_drop, &reinstated, None).is_err());
        // required new field without default
        let mut req = f.clone();
        req.push(StructField::required(
            old.last_column_id + 1,
            "must",
            PrimitiveType::Int32,
        ));
        let e = check_schema_change(&old, &with_fields(&old, sid, req), None).unwrap_err();
        assert!(e.to_string().contains("required"), "{e}");
        // lowering lastColumnId
        let mut low = old.clone();
        low.last_column_id -= 1;
        assert!(check_schema_change(&old, &low, None).is_err());
    }

    #[test]
    fn nested_ids_keep_their_place() {
        let old = with_fields(
            &sample_metadata(),
            7,
            vec![StructField::optional(
                1,
                "xs",
                DataType::List(ListType {
                    element_id: 2,
                    element_required: false,
                    element: Box::new(DataType::Struct(StructType {
                        fields: vec![StructField::optional(3, "a", PrimitiveType::Int32)],
                    })),
                }),
            )],
        );
        let mut moved = old.schema.fields().to_vec();
        if let DataType::List(l) = &mut moved[0].data_type {
            l.element_id = 9;
        }
        let new = with_fields(&old, 8, moved);
        let e = check_schema_change(&old, &new, None).unwrap_err();
        assert!(e.to_string().contains("element id"), "{e}");
    }
}
