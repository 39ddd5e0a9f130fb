//! What changed between two states of a table: files, rows, schema (by field id), partitioning,
//! properties, tags and tier moves. A pure comparison of two [`TableState`]s; no I/O.
//!
//! For tier moves to show, both states should carry the locations *as committed* at their
//! version (not overlaid with a newer state, see [`TableState::overlay_locations`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::actions::AddFile;
use crate::partition::PartitionSpec;
use crate::schema::Schema;
use crate::state::TableState;

mod schema;

pub use schema::{FieldChange, SchemaDiff, schema_changes, shallow_type};

/// The differences from one state (`from`) to another (`to`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableDiff {
    /// Version of the first state.
    pub from_version: u64,
    /// Version of the second state.
    pub to_version: u64,
    /// Totals.
    pub summary: DiffSummary,
    /// Files in `to` but not in `from`, by path.
    pub files_added: Vec<FileEntry>,
    /// Files in `from` but not in `to`, by path.
    pub files_removed: Vec<FileEntry>,
    /// Schema changes, by field id.
    pub schema: SchemaDiff,
    /// The default partition spec, when it changed.
    pub partition_spec: Option<SpecChange>,
    /// Properties set, changed or removed, by key.
    pub properties: Vec<ValueChange>,
    /// Tags created, moved or deleted, by name.
    pub tags: Vec<TagChange>,
    /// Files in both states whose tier, location or storage class differs.
    pub tier_moves: Vec<TierMove>,
    /// Files in both states whose deleted rows (deletion vector, SPEC §7) differ.
    pub rows_deleted: Vec<RowsDeleted>,
}

/// A file in both states whose deletion vector differs: rows deleted (or undeleted) in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowsDeleted {
    /// Logical path.
    pub path: String,
    /// Deleted rows of the file in `from`.
    pub from_deleted: u64,
    /// Deleted rows of the file in `to`.
    pub to_deleted: u64,
    /// Deletion-vector object in `to` (`None`: no vector).
    pub to_vector: Option<String>,
}

/// Totals of a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffSummary {
    /// Number of files added.
    pub files_added: u64,
    /// Number of files removed.
    pub files_removed: u64,
    /// Live rows of the added files, plus rows undeleted in place.
    pub rows_added: u64,
    /// Live rows of the removed files, plus rows deleted in place (deletion vectors).
    pub rows_removed: u64,
    /// Bytes of the added files.
    pub bytes_added: u64,
    /// Bytes of the removed files.
    pub bytes_removed: u64,
    /// Rows of `from`.
    pub rows_before: u64,
    /// Rows of `to`.
    pub rows_after: u64,
    /// Number of schema changes.
    pub schema_changes: u64,
    /// Number of tier moves.
    pub tier_moves: u64,
    /// Files whose deleted rows changed (their rows count in `rows_removed`/`rows_added`).
    pub files_with_deleted_rows: u64,
}

/// A data file in a diff.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    /// Logical path.
    pub path: String,
    /// Live rows (`recordCount` minus deleted rows).
    pub rows: u64,
    /// Bytes.
    pub bytes: u64,
    /// Partition values by partition field id (stored encoding).
    pub partition: BTreeMap<i32, Value>,
    /// Tier.
    pub tier: String,
}

impl FileEntry {
    fn of(f: &AddFile) -> Self {
        Self {
            path: f.path.clone(),
            rows: crate::dv::live_rows(f),
            bytes: f.size,
            partition: f.partition_values.clone(),
            tier: f.tier.clone(),
        }
    }
}

/// A change of the default partition spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecChange {
    /// Spec in force in `from` (`None` if the metadata names no such spec).
    pub from: Option<PartitionSpec>,
    /// Spec in force in `to`.
    pub to: Option<PartitionSpec>,
    /// `from` as text, e.g. `day(ts)`, `unpartitioned`.
    pub from_text: String,
    /// `to` as text.
    pub to_text: String,
}

/// A keyed value that was set, changed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueChange {
    /// Key.
    pub key: String,
    /// Value in `from` (`None`: not set).
    pub from: Option<String>,
    /// Value in `to` (`None`: removed).
    pub to: Option<String>,
}

/// A tag that was created, moved or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagChange {
    /// Tag name.
    pub name: String,
    /// Version it pointed at in `from` (`None`: did not exist).
    pub from: Option<u64>,
    /// Version it points at in `to` (`None`: deleted).
    pub to: Option<u64>,
}

/// A file whose physical place changed while its logical identity stayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TierMove {
    /// Logical path.
    pub path: String,
    /// Bytes.
    pub bytes: u64,
    /// Tier in `from`.
    pub from_tier: String,
    /// Tier in `to`.
    pub to_tier: String,
    /// Absolute location in `from` (`None`: under the table root).
    pub from_location: Option<String>,
    /// Absolute location in `to`.
    pub to_location: Option<String>,
    /// Storage class in `from`.
    pub from_storage_class: Option<String>,
    /// Storage class in `to`.
    pub to_storage_class: Option<String>,
}

impl TableDiff {
    /// Whether nothing changed (commit-only differences such as the operation are ignored).
    pub fn is_empty(&self) -> bool {
        self.files_added.is_empty()
            && self.files_removed.is_empty()
            && self.schema.changes.is_empty()
            && self.partition_spec.is_none()
            && self.properties.is_empty()
            && self.tags.is_empty()
            && self.tier_moves.is_empty()
            && self.rows_deleted.is_empty()
    }
}

/// Compares two states. `from` may be newer than `to`: the diff then reads backwards.
pub fn diff(from: &TableState, to: &TableState) -> TableDiff {
    let (a, b) = (from.files(), to.files());
    let files_added: Vec<FileEntry> = b
        .values()
        .filter(|f| !a.contains_key(&f.path))
        .map(FileEntry::of)
        .collect();
    let files_removed: Vec<FileEntry> = a
        .values()
        .filter(|f| !b.contains_key(&f.path))
        .map(FileEntry::of)
        .collect();
    let tier_moves: Vec<TierMove> = a
        .values()
        .filter_map(|x| {
            let y = b.get(&x.path)?;
            let moved =
                x.tier != y.tier || x.location != y.location || x.storage_class != y.storage_class;
            moved.then(|| TierMove {
                path: x.path.clone(),
                bytes: y.size,
                from_tier: x.tier.clone(),
                to_tier: y.tier.clone(),
                from_location: x.location.clone(),
                to_location: y.location.clone(),
                from_storage_class: x.storage_class.clone(),
                to_storage_class: y.storage_class.clone(),
            })
        })
        .collect();
    let deleted = |f: &AddFile| f.deletion_vector.as_ref().map_or(0, |d| d.cardinality);
    let rows_deleted: Vec<RowsDeleted> = a
        .values()
        .filter_map(|x| {
            let y = b.get(&x.path)?;
            (x.deletion_vector != y.deletion_vector).then(|| RowsDeleted {
                path: x.path.clone(),
                from_deleted: deleted(x),
                to_deleted: deleted(y),
                to_vector: y.deletion_vector.as_ref().map(|d| d.path.clone()),
            })
        })
        .collect();
    let (ma, mb) = (from.metadata(), to.metadata());
    let schema = SchemaDiff {
        from_schema_id: ma.schema.schema_id(),
        to_schema_id: mb.schema.schema_id(),
        changes: schema_changes(&ma.schema, &mb.schema),
    };
    let (sa, sb) = (ma.default_spec(), mb.default_spec());
    let partition_spec = (sa != sb).then(|| SpecChange {
        from: sa.cloned(),
        to: sb.cloned(),
        from_text: spec_text(sa, &ma.schema),
        to_text: spec_text(sb, &mb.schema),
    });
    let properties = map_changes(&ma.properties, &mb.properties)
        .into_iter()
        .map(|(key, from, to)| ValueChange {
            key,
            from: from.cloned(),
            to: to.cloned(),
        })
        .collect();
    let tags = map_changes(from.tags(), to.tags())
        .into_iter()
        .map(|(name, from, to)| TagChange {
            name,
            from: from.copied(),
            to: to.copied(),
        })
        .collect();
    let summary = DiffSummary {
        files_added: files_added.len() as u64,
        files_removed: files_removed.len() as u64,
        rows_added: files_added.iter().map(|f| f.rows).sum::<u64>()
            + rows_deleted
                .iter()
                .map(|r| r.from_deleted.saturating_sub(r.to_deleted))
                .sum::<u64>(),
        rows_removed: files_removed.iter().map(|f| f.rows).sum::<u64>()
            + rows_deleted
                .iter()
                .map(|r| r.to_deleted.saturating_sub(r.from_deleted))
                .sum::<u64>(),
        bytes_added: files_added.iter().map(|f| f.bytes).sum(),
        bytes_removed: files_removed.iter().map(|f| f.bytes).sum(),
        rows_before: from.record_count(),
        rows_after: to.record_count(),
        schema_changes: schema.changes.len() as u64,
        tier_moves: tier_moves.len() as u64,
        files_with_deleted_rows: rows_deleted.len() as u64,
    };
    TableDiff {
        from_version: from.version(),
        to_version: to.version(),
        summary,
        files_added,
        files_removed,
        schema,
        partition_spec,
        properties,
        tags,
        tier_moves,
        rows_deleted,
    }
}

/// Keys whose value differs between two maps: `(key, from, to)`, in key order.
fn map_changes<'a, V: PartialEq>(
    a: &'a BTreeMap<String, V>,
    b: &'a BTreeMap<String, V>,
) -> Vec<(String, Option<&'a V>, Option<&'a V>)> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k), b.get(k));
            (x != y).then(|| (k.clone(), x, y))
        })
        .collect()
}

/// A partition spec as text, e.g. `day(ts), bucket[16](id)`; `unpartitioned` when it has no
/// fields. Source columns are named by their path in `schema` (`#ID` if it has no such field).
pub fn spec_text(spec: Option<&PartitionSpec>, schema: &Schema) -> String {
    let Some(spec) = spec.filter(|s| !s.is_unpartitioned()) else {
        return "unpartitioned".into();
    };
    let index = schema.field_index();
    spec.fields
        .iter()
        .map(|f| {
            let src = index
                .get(&f.source_id)
                .map(|i| i.path.clone())
                .unwrap_or_else(|| format!("#{}", f.source_id));
            format!("{}({src})", f.transform)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Action, Relocate, Tag, Untag};
    use crate::evolution::{SchemaChange, apply_changes};
    use crate::partition::{PartitionField, Transform};
    use crate::schema::{DataType, PrimitiveType, StructField};
    use crate::testing::{add, commit, create_commit, remove};

    fn base() -> TableState {
        TableState::from_first_commit(&create_commit()).unwrap()
    }

    fn apply(state: &mut TableState, actions: Vec<Action>) {
        let v = state.version() + 1;
        let ts = state.timestamp() + 1000;
        state.apply(&commit(v, ts, "TEST", actions)).unwrap();
    }

    #[test]
    fn identical_states_have_an_empty_diff() {
        let mut s = base();
        apply(&mut s, vec![add("a.parquet", 10)]);
        let d = diff(&s, &s);
        assert!(d.is_empty());
        assert_eq!(d.summary.rows_before, 10);
        assert_eq!(d.summary.rows_after, 10);
        assert_eq!(d.from_version, 1);
    }

    #[test]
    fn files_added_and_removed_with_row_and_byte_totals() {
        let mut s = base();
        apply(&mut s, vec![add("a.parquet", 10), add("b.parquet", 20)]);
        let v1 = s.clone();
        apply(
            &mut s,
            vec![
                remove("a.parquet"),
                add("c.parquet", 5),
                add("d.parquet", 7),
            ],
        );
        let d = diff(&v1, &s);
        let added: Vec<&str> = d.files_added.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(added, ["c.parquet", "d.parquet"]);
        assert_eq!(d.files_removed.len(), 1);
        assert_eq!(d.files_removed[0].path, "a.parquet");
        assert_eq!(d.summary.files_added, 2);
        assert_eq!(d.summary.rows_added, 12);
        assert_eq!(d.summary.bytes_added, 120);
        assert_eq!(d.summary.rows_removed, 10);
        assert_eq!(d.summary.bytes_removed, 100);
        assert_eq!((d.summary.rows_before, d.summary.rows_after), (30, 32));
        assert!(d.tier_moves.is_empty());
        // Backwards, the same changes read the other way round.
        let back = diff(&s, &v1);
        assert_eq!(back.summary.files_added, 1);
        assert_eq!(back.summary.rows_removed, 12);
    }

    #[test]
    fn schema_changes_are_matched_by_field_id() {
        let evolve = |s: &mut TableState, changes: &[SchemaChange]| {
            let m = apply_changes(s.metadata(), changes).unwrap();
            apply(s, vec![Action::Metadata(Box::new(m))]);
        };
        let rename = SchemaChange::RenameColumn {
            path: "name".into(),
            new_name: "full_name".into(),
        };
        let v0 = base();
        let mut s = v0.clone();
        evolve(&mut s, std::slice::from_ref(&rename));
        let renamed = s.clone();
        let add = SchemaChange::AddColumn {
            parent: None,
            name: "score".into(),
            data_type: PrimitiveType::Int32.into(),
            required: false,
            default: None,
            doc: None,
        };
        let widen = SchemaChange::WidenColumn {
            path: "score".into(),
            to: PrimitiveType::Int64,
        };
        let drop = SchemaChange::DropColumn {
            path: "full_name".into(),
        };
        evolve(&mut s, &[add]);
        evolve(&mut s, &[widen, drop]);
        let d = diff(&v0, &renamed);
        let renamed_2 = FieldChange::Renamed {
            id: 2,
            from: "name".into(),
            to: "full_name".into(),
        };
        assert_eq!(d.schema.changes, vec![renamed_2]);
        // Across several versions: the net change per field id.
        let d = diff(&v0, &s);
        let dropped = FieldChange::Dropped {
            id: 2,
            path: "name".into(),
            data_type: "string".into(),
        };
        let added = FieldChange::Added {
            id: 3,
            path: "score".into(),
            data_type: "int64".into(),
            required: false,
        };
        assert_eq!(d.schema.changes, vec![dropped, added]);
        assert_ne!(d.schema.from_schema_id, d.schema.to_schema_id);
        assert_eq!(d.summary.schema_changes, 2);
    }

    #[test]
    fn type_and_nullability_changes_of_one_field() {
        let a = Schema::new(
            0,
            vec![
                StructField::required(1, "n", PrimitiveType::Int32),
                StructField::required(2, "s", PrimitiveType::String),
            ],
        )
        .unwrap();
        let b = Schema::new(
            1,
            vec![
                StructField::optional(1, "n", PrimitiveType::Int64),
                StructField::required(2, "s", PrimitiveType::String),
            ],
        )
        .unwrap();
        assert_eq!(
            schema_changes(&a, &b),
            vec![
                FieldChange::TypeChanged {
                    id: 1,
                    path: "n".into(),
                    from: "int32".into(),
                    to: "int64".into()
                },
                FieldChange::NullabilityChanged {
                    id: 1,
                    path: "n".into(),
                    from_required: true,
                    to_required: false
                },
            ]
        );
    }

    #[test]
    fn nested_fields_renamed_with_their_parent_are_not_renamed_themselves() {
        let inner = |name: &str| {
            DataType::Struct(crate::schema::StructType {
                fields: vec![StructField::optional(2, name, PrimitiveType::String)],
            })
        };
        let a = Schema::new(0, vec![StructField::optional(1, "point", inner("label"))]).unwrap();
        let b = Schema::new(1, vec![StructField::optional(1, "pt", inner("label"))]).unwrap();
        assert_eq!(
            schema_changes(&a, &b),
            vec![FieldChange::Renamed {
                id: 1,
                from: "point".into(),
                to: "pt".into()
            }]
        );
        let c = Schema::new(2, vec![StructField::optional(1, "pt", inner("tag"))]).unwrap();
        assert_eq!(
            schema_changes(&b, &c),
            vec![FieldChange::Renamed {
                id: 2,
                from: "pt.label".into(),
                to: "pt.tag".into()
            }]
        );
    }

    #[test]
    fn partition_spec_property_and_tag_changes() {
        let mut s = base();
        apply(&mut s, vec![add("a.parquet", 1)]);
        let v1 = s.clone();
        let mut m = s.metadata().clone();
        m.partition_specs.push(PartitionSpec {
            spec_id: 1,
            fields: vec![PartitionField {
                field_id: 1000,
                source_id: 1,
                name: "id_bucket".into(),
                transform: Transform::Bucket(16),
            }],
        });
        m.default_spec_id = 1;
        m.last_partition_id = 1000;
        m.properties.insert("owner".into(), "ana".into());
        apply(
            &mut s,
            vec![
                Action::Metadata(Box::new(m)),
                Action::Tag(Tag {
                    name: "first".into(),
                    version: 1,
                }),
            ],
        );
        let d = diff(&v1, &s);
        let spec = d.partition_spec.clone().unwrap();
        assert_eq!(spec.from_text, "unpartitioned");
        assert_eq!(spec.to_text, "bucket[16](id)");
        assert_eq!(spec.to.map(|s| s.spec_id), Some(1));
        assert_eq!(
            d.properties,
            vec![ValueChange {
                key: "owner".into(),
                from: None,
                to: Some("ana".into())
            }]
        );
        assert_eq!(
            d.tags,
            vec![TagChange {
                name: "first".into(),
                from: None,
                to: Some(1)
            }]
        );
        assert!(d.files_added.is_empty() && !d.is_empty());
        let v2 = s.clone();
        let mut m = s.metadata().clone();
        m.properties.insert("owner".into(), "bo".into());
        apply(
            &mut s,
            vec![
                Action::Metadata(Box::new(m)),
                Action::Untag(Untag {
                    name: "first".into(),
                }),
            ],
        );
        let d = diff(&v2, &s);
        assert!(d.partition_spec.is_none());
        assert_eq!(d.properties[0].from.as_deref(), Some("ana"));
        assert_eq!(d.properties[0].to.as_deref(), Some("bo"));
        assert_eq!(d.tags[0].to, None);
    }

    #[test]
    fn tier_moves_keep_the_file_and_report_both_places() {
        let mut s = base();
        apply(&mut s, vec![add("a.parquet", 4), add("b.parquet", 4)]);
        let v1 = s.clone();
        apply(
            &mut s,
            vec![Action::Relocate(Relocate {
                path: "a.parquet".into(),
                tier: "cold".into(),
                location: Some("s3://archive/a.parquet".into()),
                storage_class: Some("GLACIER".into()),
                restore: None,
            })],
        );
        let d = diff(&v1, &s);
        assert!(d.files_added.is_empty() && d.files_removed.is_empty());
        assert_eq!(d.tier_moves.len(), 1);
        let m = &d.tier_moves[0];
        assert_eq!(m.path, "a.parquet");
        assert_eq!((m.from_tier.as_str(), m.to_tier.as_str()), ("hot", "cold"));
        assert_eq!(m.from_location, None);
        assert_eq!(m.to_location.as_deref(), Some("s3://archive/a.parquet"));
        assert_eq!(m.to_storage_class.as_deref(), Some("GLACIER"));
        assert_eq!(m.bytes, 40);
        assert_eq!(d.summary.tier_moves, 1);
        // With locations overlaid from the newest state, the move is invisible: callers must
        // compare states as committed.
        let mut overlaid = v1.clone();
        overlaid.overlay_locations(&s);
        assert!(diff(&overlaid, &s).tier_moves.is_empty());
    }

    #[test]
    fn json_shape_uses_camel_case_and_tagged_field_changes() {
        let mut s = base();
        let v0 = s.clone();
        apply(&mut s, vec![add("a.parquet", 3)]);
        let mut d = diff(&v0, &s);
        d.schema.changes.push(FieldChange::Added {
            id: 9,
            path: "x".into(),
            data_type: "int64".into(),
            required: true,
        });
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["fromVersion"], 0);
        assert_eq!(v["summary"]["rowsAdded"], 3);
        assert_eq!(v["filesAdded"][0]["path"], "a.parquet");
        assert_eq!(v["schema"]["changes"][0]["change"], "added");
        assert_eq!(v["schema"]["changes"][0]["type"], "int64");
        assert!(v["partitionSpec"].is_null());
        assert!(v["tierMoves"].as_array().unwrap().is_empty());
    }
}
