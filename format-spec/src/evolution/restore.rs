//! The metadata a `RESTORE` commits (SPEC §8.5): the logical metadata of the restored version,
//! carried onto the lineage of the current one so that every schema change stays a permitted
//! one (§4.4), and the physical metadata (tiers, policies, protocol) of the current one.

use crate::actions::Metadata;
use crate::error::Result;
use crate::schema::{DataType, ListType, MapType, Schema, StructField, StructType};

/// The metadata of a restore to a version whose metadata is `target`, committed on top of
/// `latest`:
///
/// - **schema**: a new schema (a new `schemaId` when it differs from `latest`'s) with the
///   fields of `target`, in its order, with its names, docs and `writeDefault`s. A field that
///   still exists keeps its current type (a type widened since stays widened, so nothing
///   narrows), its `initialDefault`, and is required only if it is required in both. A field
///   added since is dropped. A field dropped since is reinstated with its definition at
///   `target` (§4.4 rule 8);
/// - **partitioning**: `target`'s default spec again; every spec of `latest` is kept;
/// - **properties, name, description**: `target`'s;
/// - **tiers, default tier, policies**: `latest`'s (they describe where files are now);
/// - **id counters** (`lastColumnId`, `lastPartitionId`): never lowered.
pub fn restored_metadata(target: &Metadata, latest: &Metadata) -> Result<Metadata> {
    let mut m = target.clone();
    let fields = restore_fields(target.schema.fields(), latest.schema.fields());
    let same = fields == latest.schema.fields();
    let schema_id = if same {
        latest.schema.schema_id()
    } else {
        latest
            .schema
            .schema_id()
            .max(target.schema.schema_id())
            .saturating_add(1)
    };
    m.schema = Schema::new(schema_id, fields)?;
    m.last_column_id = target.last_column_id.max(latest.last_column_id);
    m.last_partition_id = target.last_partition_id.max(latest.last_partition_id);
    m.partition_specs = latest.partition_specs.clone();
    for spec in &target.partition_specs {
        if m.spec(spec.spec_id).is_none() {
            m.partition_specs.push(spec.clone());
        }
    }
    m.table_id = latest.table_id.clone();
    m.created_time = latest.created_time;
    m.tiers = latest.tiers.clone();
    m.default_tier = latest.default_tier.clone();
    m.policies = latest.policies.clone();
    Ok(m)
}

/// `target`'s fields on the lineage of `latest`'s (matched by id).
fn restore_fields(target: &[StructField], latest: &[StructField]) -> Vec<StructField> {
    target
        .iter()
        .map(|t| match latest.iter().find(|l| l.id == t.id) {
            Some(l) => restore_field(t, l),
            // Dropped since: reinstated as it was (§4.4 rule 8).
            None => t.clone(),
        })
        .collect()
}

fn restore_field(target: &StructField, latest: &StructField) -> StructField {
    let data_type = restore_type(&target.data_type, &latest.data_type);
    let write_default = if data_type == target.data_type {
        target.write_default.clone()
    } else {
        // Widened since: the current default is already encoded in the current type.
        latest.write_default.clone()
    };
    StructField {
        id: target.id,
        name: target.name.clone(),
        required: target.required && latest.required,
        data_type,
        doc: target.doc.clone(),
        initial_default: latest.initial_default.clone(),
        write_default,
    }
}

/// The type of a field that exists in both: primitives keep the current (possibly wider)
/// type; structs, lists and maps are restored member by member. A change of kind cannot
/// happen under §4.4; the current type is kept if it did.
fn restore_type(target: &DataType, latest: &DataType) -> DataType {
    match (target, latest) {
        (DataType::Struct(t), DataType::Struct(l)) => DataType::Struct(StructType {
            fields: restore_fields(&t.fields, &l.fields),
        }),
        (DataType::List(t), DataType::List(l)) => DataType::List(ListType {
            element_id: l.element_id,
            element_required: t.element_required && l.element_required,
            element: Box::new(restore_type(&t.element, &l.element)),
        }),
        (DataType::Map(t), DataType::Map(l)) => DataType::Map(MapType {
            key_id: l.key_id,
            key: Box::new(restore_type(&t.key, &l.key)),
            value_id: l.value_id,
            value_required: t.value_required && l.value_required,
            value: Box::new(restore_type(&t.value, &l.value)),
        }),
        _ => latest.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::parse_schema;
    use crate::evolution::{SchemaChange, apply_changes};
    use crate::schema::PrimitiveType;
    use crate::testing::sample_metadata;

    fn meta(schema: &str) -> Metadata {
        let mut m = sample_metadata();
        m.schema = parse_schema(schema).unwrap();
        m.last_column_id = 3;
        m
    }

    fn change(m: &Metadata, c: SchemaChange) -> Metadata {
        apply_changes(m, &[c]).unwrap()
    }

    #[test]
    fn a_restore_widens_never_narrows_and_reinstates_dropped_fields() {
        // v0: id int32 required, name string, score float32.
        let v0 = meta("id:int32,name:string?,score:float32?");
        let widened = change(
            &v0,
            SchemaChange::WidenColumn {
                path: "id".into(),
                to: PrimitiveType::Int64,
            },
        );
        let optional = change(&widened, SchemaChange::MakeOptional { path: "id".into() });
        let dropped = change(
            &optional,
            SchemaChange::DropColumn {
                path: "score".into(),
            },
        );
        let added = change(
            &dropped,
            SchemaChange::AddColumn {
                parent: None,
                name: "extra".into(),
                data_type: PrimitiveType::Boolean.into(),
                required: false,
                default: None,
                doc: None,
            },
        );
        let renamed = change(
            &added,
            SchemaChange::RenameColumn {
                path: "name".into(),
                new_name: "label".into(),
            },
        );
        let r = restored_metadata(&v0, &renamed).unwrap();
        let f = r.schema.fields();
        let names: Vec<&str> = f.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["id", "name", "score"]);
        assert_eq!(f[0].data_type, DataType::Primitive(PrimitiveType::Int64));
        assert!(!f[0].required, "never required again");
        assert_eq!(f[2].id, v0.schema.fields()[2].id, "score keeps its id");
        assert_eq!(f[2].data_type, DataType::Primitive(PrimitiveType::Float32));
        assert!(r.schema.schema_id() > renamed.schema.schema_id());
        assert_eq!(r.last_column_id, renamed.last_column_id);
        // Restoring the latest version itself changes nothing.
        let same = restored_metadata(&renamed, &renamed).unwrap();
        assert_eq!(same, renamed);
    }
}
