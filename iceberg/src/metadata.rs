//! The Iceberg table metadata (`metadata.json`, format version 2) and every manifest and
//! manifest list of it, built in memory from the retained Strata snapshots.
//!
//! Pure: snapshots and the already written position-delete files in, bytes and JSON out. The
//! caller ([`crate::export`]) reads the log and writes the result.
//!
//! Numbering: the Iceberg snapshot of Strata version `v` has id `v + 1` and sequence number
//! `v + 1` (Iceberg reserves sequence number 0 for tables upgraded from v1). A data file's data
//! sequence number is that of the snapshot that (last) added it; a position-delete file's is
//! that of the snapshot where its deletion vector appeared, so it applies to its data file
//! (data sequence number ≤ the delete's) and a vector replaced later is simply absent from
//! later snapshots.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use strata_format::AddFile;
use strata_format::datum::Datum;
use strata_format::location::location_uri;
use strata_format::schema::{DataType, Schema};
use strata_table::Snapshot;

use crate::avro::{
    Content, Entry, ListEntry, ManifestMeta, Status, summaries, write_manifest, write_manifest_list,
};
use crate::error::MapError;
use crate::partition::{TupleField, field_types, fields_json, spec_json, tuple_type};
use crate::schema::{once_per_row_ids, schema_json};
use crate::values::{partition_avro, to_bytes};

/// Identifies the position-delete file of one data file's deletion vector at one location:
/// (data file path, vector object path, offset in it).
pub(crate) type DeleteKey = (String, String, u64);

/// A position-delete file already written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeleteFile {
    /// Absolute URI.
    pub uri: String,
    /// Size in bytes.
    pub size: u64,
    /// Positions it holds (the vector's cardinality).
    pub rows: u64,
}

/// Everything to write: objects relative to the table root, then the metadata JSON.
#[derive(Debug)]
pub(crate) struct Built {
    /// Manifests and manifest lists: (key relative to the table root, bytes).
    pub files: Vec<(String, Vec<u8>)>,
    /// The `metadata.json` document.
    pub metadata: Value,
}

/// Snapshot id (and sequence number) of a Strata version.
pub fn snapshot_id(version: u64) -> i64 {
    i64::try_from(version.saturating_add(1)).unwrap_or(i64::MAX)
}

/// The 16-byte Avro sync marker of an object: the start of the SHA-256 of its key, so that a
/// rewrite of the same object writes the same marker.
fn marker(key: &str) -> [u8; 16] {
    let digest = Sha256::digest(key.as_bytes());
    let mut m = [0u8; 16];
    m.copy_from_slice(&digest[..16]);
    m
}

/// Iceberg requires a UUID: the table id when it is one, else a UUID derived from it.
pub fn table_uuid(table_id: &str) -> String {
    let is_uuid = table_id.len() == 36
        && table_id.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if is_uuid {
        return table_id.to_ascii_lowercase();
    }
    let h = hex::encode(&Sha256::digest(table_id.as_bytes())[..16]);
    format!(
        "{}-{}-8{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Statistics of one data file in the types of `schema` (the snapshot's). A bound that cannot
/// be decoded is left out (unknown, SPEC §4.8), never guessed.
fn stats_entry(add: &AddFile, schema: &Schema, once_per_row: &[i32]) -> StatsLists {
    let index = schema.field_index();
    let mut s = StatsLists::default();
    for (id, cs) in add.stats.iter() {
        let Some(info) = index.get(id) else { continue };
        let DataType::Primitive(ty) = info.data_type else {
            continue;
        };
        if once_per_row.binary_search(id).is_ok() {
            s.values.push((*id, to_i64(add.record_count)));
        }
        if let Some(n) = cs.null_count {
            s.nulls.push((*id, to_i64(n)));
        }
        if let Some(n) = cs.nan_count {
            s.nans.push((*id, to_i64(n)));
        }
        let bound = |v: &strata_format::StatValue| {
            Datum::from_stat(ty, v)
                .ok()
                .and_then(|d| to_bytes(&d, ty).ok())
        };
        if let Some(b) = cs.min.as_ref().and_then(bound) {
            s.lower.push((*id, b));
        }
        if let Some(b) = cs.max.as_ref().and_then(bound) {
            s.upper.push((*id, b));
        }
    }
    s
}

#[derive(Debug, Default)]
struct StatsLists {
    values: Vec<(i32, i64)>,
    nulls: Vec<(i32, i64)>,
    nans: Vec<(i32, i64)>,
    lower: Vec<(i32, Vec<u8>)>,
    upper: Vec<(i32, Vec<u8>)>,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Field ids of Iceberg's position-delete schema.
const DELETE_FILE_PATH_ID: i32 = 2_147_483_546;

/// One snapshot's manifests being assembled: per (content, spec id), the entries.
type Groups = BTreeMap<(i32, i32), Vec<Entry>>;

/// Builds the Iceberg metadata of `snapshots` (the retained versions, oldest first, the last
/// one exported; file locations resolved as of the newest version). `dir` is the folder,
/// relative to the table root, that receives manifests and lists; `deletes` the position
/// delete files of every deletion vector the snapshots have.
pub(crate) fn build(
    table_uri: &str,
    dir: &str,
    snapshots: &[Snapshot],
    deletes: &HashMap<DeleteKey, DeleteFile>,
) -> Result<Built, MapError> {
    let Some(last) = snapshots.last() else {
        return Err(MapError::Invalid("no snapshot to export".into()));
    };
    let meta = last.metadata();

    // Every retained schema, in order of first appearance, the exported one last-wins.
    let mut schemas: Vec<&Schema> = Vec::new();
    for s in snapshots {
        if !schemas
            .iter()
            .any(|x| x.schema_id() == s.schema().schema_id())
        {
            schemas.push(s.schema());
        }
    }
    let types = field_types(schemas.iter().copied());
    let mut tuples: HashMap<i32, Vec<TupleField>> = HashMap::new();
    for spec in &meta.partition_specs {
        tuples.insert(spec.spec_id, tuple_type(spec, &types)?);
    }
    let schema_jsons: HashMap<i32, Value> = schemas
        .iter()
        .map(|s| Ok((s.schema_id(), schema_json(s)?)))
        .collect::<Result<_, MapError>>()?;

    let mut files = Vec::new();
    let mut snapshot_objs = Vec::new();
    let mut log = Vec::new();
    // Data sequence numbers of live data files and delete files, carried between snapshots.
    let mut data_seq: HashMap<String, i64> = HashMap::new();
    let mut delete_seq: HashMap<DeleteKey, i64> = HashMap::new();
    let mut prev: Option<&Snapshot> = None;

    for snap in snapshots {
        let id = snapshot_id(snap.version());
        let schema = snap.schema();
        let once = once_per_row_ids(schema);
        let schema_v = schema_jsons
            .get(&schema.schema_id())
            .cloned()
            .unwrap_or(Value::Null);
        let mut groups: Groups = BTreeMap::new();
        let mut new_data_seq = HashMap::new();
        let mut new_delete_seq = HashMap::new();
        let (mut added_files, mut added_rows, mut added_deletes, mut added_positions) =
            (0u64, 0u64, 0u64, 0u64);
        let (mut total_deletes, mut total_positions) = (0u64, 0u64);

        for (path, add) in snap.files().iter() {
            let tuple = tuples.get(&add.spec_id).ok_or_else(|| {
                MapError::Invalid(format!(
                    "data file `{path}` has partition spec {} which the metadata lacks",
                    add.spec_id
                ))
            })?;
            let spec = meta.spec(add.spec_id);
            let partition = match spec {
                Some(spec) => {
                    spec.fields
                        .iter()
                        .zip(tuple)
                        .map(|(f, t)| {
                            partition_avro(&t.result, add.partition_values.get(&f.field_id))
                                .map_err(|e| match e {
                                    MapError::Invalid(m) => MapError::Invalid(format!(
                                        "data file `{path}`, partition field `{}`: {m}",
                                        f.name
                                    )),
                                    other => other,
                                })
                        })
                        .collect::<Result<Vec<_>, _>>()?
                }
                None => Vec::new(),
            };
            let (status, seq) = match data_seq.get(path) {
                Some(&s) => (Status::Existing, s),
                None => {
                    added_files += 1;
                    added_rows += add.record_count;
                    (Status::Added, id)
                }
            };
            new_data_seq.insert(path.clone(), seq);
            let st = stats_entry(add, schema, &once);
            let uri = snap.physical_location(add);
            groups
                .entry((Content::Data as i32, add.spec_id))
                .or_default()
                .push(Entry {
                    status,
                    snapshot_id: seq,
                    sequence_number: seq,
                    file_sequence_number: seq,
                    file_path: uri.clone(),
                    partition: partition.clone(),
                    record_count: to_i64(add.record_count),
                    file_size_in_bytes: to_i64(add.size),
                    value_counts: st.values,
                    null_value_counts: st.nulls,
                    nan_value_counts: st.nans,
                    lower_bounds: st.lower,
                    upper_bounds: st.upper,
                });
            if let Some(dv) = &add.deletion_vector {
                let key: DeleteKey = (path.clone(), dv.path.clone(), dv.offset);
                let file = deletes.get(&key).ok_or_else(|| {
                    MapError::Invalid(format!(
                        "no position-delete file for the deletion vector of `{path}`"
                    ))
                })?;
                let (status, seq) = match delete_seq.get(&key) {
                    Some(&s) => (Status::Existing, s),
                    None => {
                        added_deletes += 1;
                        added_positions += file.rows;
                        (Status::Added, id)
                    }
                };
                total_deletes += 1;
                total_positions += file.rows;
                new_delete_seq.insert(key, seq);
                let path_bound = uri.into_bytes();
                groups
                    .entry((Content::PositionDeletes as i32, add.spec_id))
                    .or_default()
                    .push(Entry {
                        status,
                        snapshot_id: seq,
                        sequence_number: seq,
                        file_sequence_number: seq,
                        file_path: file.uri.clone(),
                        partition,
                        record_count: to_i64(file.rows),
                        file_size_in_bytes: to_i64(file.size),
                        value_counts: Vec::new(),
                        null_value_counts: Vec::new(),
                        nan_value_counts: Vec::new(),
                        // One data file per delete file: readers match it by these bounds.
                        lower_bounds: vec![(DELETE_FILE_PATH_ID, path_bound.clone())],
                        upper_bounds: vec![(DELETE_FILE_PATH_ID, path_bound)],
                    });
            }
        }
        let removed: Vec<&AddFile> = prev.map_or_else(Vec::new, |p| {
            p.files()
                .iter()
                .filter(|(path, _)| !snap.files().contains_key(path))
                .map(|(_, a)| a)
                .collect()
        });
        let removed_rows: u64 = removed.iter().map(|a| a.record_count).sum();
        data_seq = new_data_seq;
        delete_seq = new_delete_seq;

        // Manifests, then the manifest list.
        let mut list = Vec::new();
        for (n, ((content, spec_id), entries)) in groups.iter().enumerate() {
            let content = if *content == Content::Data as i32 {
                Content::Data
            } else {
                Content::PositionDeletes
            };
            let key = format!("{dir}/snap-{id}-m{n}.avro");
            let empty = Vec::new();
            let tuple = tuples.get(spec_id).unwrap_or(&empty);
            let spec_fields = meta.spec(*spec_id).map_or(json!([]), fields_json);
            let bytes = write_manifest(
                &ManifestMeta {
                    schema: schema_v.clone(),
                    schema_id: schema.schema_id(),
                    spec_id: *spec_id,
                    spec_fields,
                    content,
                },
                tuple,
                entries,
                marker(&key),
            )
            .map_err(|e| MapError::Invalid(format!("manifest `{key}`: {e}")))?;
            let count = |s: Status| -> (i32, i64) {
                let es: Vec<&Entry> = entries.iter().filter(|e| e.status == s).collect();
                (
                    i32::try_from(es.len()).unwrap_or(i32::MAX),
                    es.iter().map(|e| e.record_count).sum(),
                )
            };
            list.push(ListEntry {
                manifest_path: location_uri(table_uri, &key),
                manifest_length: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
                spec_id: *spec_id,
                content,
                sequence_number: id,
                min_sequence_number: entries
                    .iter()
                    .map(|e| e.sequence_number)
                    .min()
                    .unwrap_or(id),
                added_snapshot_id: id,
                added: count(Status::Added),
                existing: count(Status::Existing),
                partitions: summaries(
                    tuple,
                    &entries
                        .iter()
                        .map(|e| e.partition.as_slice())
                        .collect::<Vec<_>>(),
                ),
            });
            files.push((key, bytes));
        }
        let list_key = format!("{dir}/snap-{id}-list.avro");
        let parent = prev.map(|p| snapshot_id(p.version()));
        let bytes = write_manifest_list(id, parent, id, &list, marker(&list_key))
            .map_err(|e| MapError::Invalid(format!("manifest list `{list_key}`: {e}")))?;
        files.push((list_key.clone(), bytes));

        let operation = if added_files == 0 && removed.is_empty() && added_deletes == 0 {
            "replace"
        } else if removed.is_empty() && added_deletes == 0 {
            "append"
        } else if added_files == 0 {
            "delete"
        } else if snap.files().values().all(|a| !a.data_change)
            || snap.commit_info().operation == "OPTIMIZE"
        {
            "replace"
        } else {
            "overwrite"
        };
        let total_rows: u64 = snap.files().values().map(|a| a.record_count).sum();
        let mut summary = Map::new();
        let mut put = |k: &str, v: String| {
            summary.insert(k.to_string(), Value::String(v));
        };
        put("operation", operation.into());
        put("added-data-files", added_files.to_string());
        put("added-records", added_rows.to_string());
        put("deleted-data-files", removed.len().to_string());
        put("deleted-records", removed_rows.to_string());
        put("added-delete-files", added_deletes.to_string());
        put("added-position-deletes", added_positions.to_string());
        put("total-data-files", snap.files().len().to_string());
        put("total-records", total_rows.to_string());
        put("total-files-size", snap.size_in_bytes().to_string());
        put("total-delete-files", total_deletes.to_string());
        put("total-position-deletes", total_positions.to_string());
        put("total-equality-deletes", "0".into());
        put("strata.version", snap.version().to_string());
        put("strata.operation", snap.commit_info().operation.clone());
        let mut obj = Map::new();
        obj.insert("snapshot-id".into(), json!(id));
        if let Some(p) = parent {
            obj.insert("parent-snapshot-id".into(), json!(p));
        }
        obj.insert("sequence-number".into(), json!(id));
        obj.insert("timestamp-ms".into(), json!(snap.timestamp()));
        obj.insert(
            "manifest-list".into(),
            json!(location_uri(table_uri, &list_key)),
        );
        obj.insert("summary".into(), Value::Object(summary));
        obj.insert("schema-id".into(), json!(schema.schema_id()));
        snapshot_objs.push(Value::Object(obj));
        log.push(json!({"snapshot-id": id, "timestamp-ms": snap.timestamp()}));
        prev = Some(snap);
    }

    let current = snapshot_id(last.version());
    let mut refs = Map::new();
    refs.insert(
        "main".into(),
        json!({"snapshot-id": current, "type": "branch"}),
    );
    for (name, version) in last.tags() {
        if snapshots.iter().any(|s| s.version() == *version) {
            refs.insert(
                name.clone(),
                json!({"snapshot-id": snapshot_id(*version), "type": "tag"}),
            );
        }
    }
    let schemas_json: Vec<Value> = schemas
        .iter()
        .filter_map(|s| schema_jsons.get(&s.schema_id()).cloned())
        .collect();
    let metadata = json!({
        "format-version": 2,
        "table-uuid": table_uuid(&meta.table_id),
        "location": table_uri,
        "last-sequence-number": current,
        "last-updated-ms": last.timestamp(),
        "last-column-id": meta.last_column_id,
        "current-schema-id": last.schema().schema_id(),
        "schemas": schemas_json,
        "default-spec-id": meta.default_spec_id,
        "partition-specs": meta.partition_specs.iter().map(spec_json).collect::<Vec<_>>(),
        "last-partition-id": meta.last_partition_id,
        "default-sort-order-id": 0,
        "sort-orders": [{"order-id": 0, "fields": []}],
        "properties": meta.properties,
        "current-snapshot-id": current,
        "refs": refs,
        "snapshots": snapshot_objs,
        "snapshot-log": log,
        "metadata-log": [],
    });
    Ok(Built { files, metadata })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        let u = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(table_uuid(u), u);
        let derived = table_uuid("my-table");
        assert_eq!(derived.len(), 36);
        assert_eq!(derived, table_uuid("my-table"));
        assert_eq!(&derived[14..15], "8");
    }

    #[test]
    fn snapshot_ids() {
        assert_eq!(snapshot_id(0), 1);
        assert_eq!(snapshot_id(41), 42);
    }
}
