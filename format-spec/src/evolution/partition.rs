//! Partition evolution (SPEC §5.6): a new default partition spec, reusing the field ids of
//! earlier specs' identical fields.

use std::collections::BTreeSet;

use crate::actions::Metadata;
use crate::error::{FormatError, Result};
use crate::partition::{FIRST_PARTITION_FIELD_ID, PartitionField, PartitionSpec, Transform};
use crate::schema::DataType;

/// Name of a partition field made from `column` by `transform` (as `compact` names them).
fn partition_field_name(column: &str, transform: Transform) -> String {
    let column = column.replace('.', "_");
    match transform {
        Transform::Identity => column,
        Transform::Bucket(_) => format!("{column}_bucket"),
        Transform::Truncate(_) => format!("{column}_trunc"),
        other => format!("{column}_{other}"),
    }
}

/// Makes a new partition spec of `(source column path, transform)` fields the default one.
/// Data files keep the spec they were written with; nothing is rewritten. A field with the same
/// source and transform as a field of any earlier spec keeps that field's id (and name); other
/// fields get ids from `lastPartitionId + 1`. When an existing spec already has exactly these
/// fields, it becomes the default again instead of a new one being added.
pub fn with_new_default_spec(
    metadata: &Metadata,
    fields: Vec<(String, Transform)>,
) -> Result<Metadata> {
    let perr = |m: String| FormatError::InvalidPartitionSpec(m);
    let index = metadata.schema.field_index();
    let mut next_id = metadata
        .last_partition_id
        .max(FIRST_PARTITION_FIELD_ID - 1)
        .checked_add(1)
        .ok_or_else(|| perr("partition field ids are exhausted".into()))?;
    let mut seen = BTreeSet::new();
    let mut out_fields = Vec::with_capacity(fields.len());
    for (column, transform) in fields {
        let Some((&source_id, info)) = index.iter().find(|(_, i)| i.path == column) else {
            let known: Vec<&str> = metadata
                .schema
                .fields()
                .iter()
                .map(|f| f.name.as_str())
                .collect();
            return Err(perr(format!(
                "there is no column `{column}` (columns: {})",
                known.join(", ")
            )));
        };
        match info.data_type {
            DataType::Primitive(p) if transform.accepts(p) => {}
            other => {
                return Err(perr(format!(
                    "transform {transform} cannot be applied to `{column}` of type {other}"
                )));
            }
        }
        if !seen.insert((source_id, transform.to_string())) {
            return Err(perr(format!(
                "{transform}({column}) appears twice in the new spec"
            )));
        }
        let existing = metadata
            .partition_specs
            .iter()
            .flat_map(|s| s.fields.iter())
            .find(|f| f.source_id == source_id && f.transform == transform);
        let field = match existing {
            Some(f) => f.clone(),
            None => {
                let id = next_id;
                next_id = id
                    .checked_add(1)
                    .ok_or_else(|| perr("partition field ids are exhausted".into()))?;
                PartitionField {
                    field_id: id,
                    source_id,
                    name: partition_field_name(&column, transform),
                    transform,
                }
            }
        };
        out_fields.push(field);
    }
    let mut out = metadata.clone();
    if let Some(same) = metadata
        .partition_specs
        .iter()
        .find(|s| s.fields == out_fields)
    {
        if same.spec_id == metadata.default_spec_id {
            return Err(perr(format!(
                "the table is already partitioned this way (spec {})",
                same.spec_id
            )));
        }
        out.default_spec_id = same.spec_id;
        out.validate()?;
        return Ok(out);
    }
    let spec_id = metadata
        .partition_specs
        .iter()
        .map(|s| s.spec_id)
        .max()
        .unwrap_or(-1)
        .checked_add(1)
        .ok_or_else(|| perr("partition spec ids are exhausted".into()))?;
    let spec = PartitionSpec {
        spec_id,
        fields: out_fields,
    };
    spec.validate(&metadata.schema)?;
    out.partition_specs.push(spec);
    out.default_spec_id = spec_id;
    out.last_partition_id = metadata.last_partition_id.max(next_id - 1);
    out.validate()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evolution::tests::meta;

    #[test]
    fn new_partition_specs_reuse_field_ids_and_become_the_default() {
        let m = meta();
        let s1 = with_new_default_spec(
            &m,
            vec![
                ("day".into(), Transform::Day),
                ("id".into(), Transform::Bucket(8)),
            ],
        )
        .unwrap();
        assert_eq!(s1.default_spec_id, 1);
        assert_eq!(s1.partition_specs.len(), 2);
        let spec = s1.default_spec().unwrap();
        assert_eq!(spec.fields[0].field_id, 1000);
        assert_eq!(spec.fields[0].name, "day_day");
        assert_eq!(spec.fields[1].field_id, 1001);
        assert_eq!(spec.fields[1].name, "id_bucket");
        assert_eq!(s1.last_partition_id, 1001);
        // Keeps the bucket field's id, adds a new one.
        let s2 = with_new_default_spec(
            &s1,
            vec![
                ("id".into(), Transform::Bucket(8)),
                ("point.label".into(), Transform::Truncate(2)),
            ],
        )
        .unwrap();
        let spec = s2.default_spec().unwrap();
        assert_eq!(spec.spec_id, 2);
        assert_eq!(spec.fields[0].field_id, 1001);
        assert_eq!(spec.fields[1].field_id, 1002);
        assert_eq!(spec.fields[1].name, "point_label_trunc");
        // Back to unpartitioned: spec 0 is the default again.
        let s3 = with_new_default_spec(&s2, vec![]).unwrap();
        assert_eq!(s3.default_spec_id, 0);
        assert_eq!(s3.partition_specs.len(), 3);
        let e = with_new_default_spec(&s3, vec![]).unwrap_err().to_string();
        assert!(e.contains("already partitioned this way"), "{e}");
    }

    #[test]
    fn bad_partition_specs_are_refused() {
        let m = meta();
        let e = with_new_default_spec(&m, vec![("nope".into(), Transform::Day)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no column `nope`") && e.contains("id, name"),
            "{e}"
        );
        let e = with_new_default_spec(&m, vec![("name".into(), Transform::Day)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be applied to `name`"), "{e}");
        let e = with_new_default_spec(
            &m,
            vec![
                ("day".into(), Transform::Day),
                ("day".into(), Transform::Day),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("appears twice"), "{e}");
    }
}
