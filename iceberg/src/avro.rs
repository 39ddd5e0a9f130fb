//! Manifests and manifest lists: Avro files with Iceberg's format version 2 schemas (field ids
//! as `field-id` / `element-id` attributes), written with `apache-avro`.
//!
//! Pure: values in, bytes out. The sync marker is given by the caller (derived from the file's
//! name); the header's key-value metadata is a hash map in `apache-avro`, so its order, and only
//! it, may differ between two writes of the same inputs.

use apache_avro::schema::UnionSchema;
use apache_avro::types::Value as Avro;
use apache_avro::{Codec, DeflateSettings, Schema, Writer};
use serde_json::{Value, json};

use crate::partition::TupleField;
use crate::values::avro_type;

/// Manifest entry status (Iceberg: 0 existing, 1 added, 2 deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Live, added by an earlier snapshot.
    Existing = 0,
    /// Live, added by this snapshot.
    Added = 1,
}

/// What a manifest (and every file in it) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Data files.
    Data = 0,
    /// Position delete files.
    PositionDeletes = 1,
}

/// One `manifest_entry` with its `data_file`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Existing or added.
    pub status: Status,
    /// Snapshot that added the file.
    pub snapshot_id: i64,
    /// Data sequence number of the file.
    pub sequence_number: i64,
    /// File sequence number.
    pub file_sequence_number: i64,
    /// Absolute URI of the file.
    pub file_path: String,
    /// Partition tuple: one `["null", T]` union value per field of the spec, in order.
    pub partition: Vec<Avro>,
    /// Rows in the file.
    pub record_count: i64,
    /// Bytes of the file.
    pub file_size_in_bytes: i64,
    /// Values (nulls included) per field id.
    pub value_counts: Vec<(i32, i64)>,
    /// Nulls per field id.
    pub null_value_counts: Vec<(i32, i64)>,
    /// NaNs per field id.
    pub nan_value_counts: Vec<(i32, i64)>,
    /// Lower bounds per field id, in the single-value binary serialization.
    pub lower_bounds: Vec<(i32, Vec<u8>)>,
    /// Upper bounds per field id.
    pub upper_bounds: Vec<(i32, Vec<u8>)>,
}

/// The key-value metadata of a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestMeta {
    /// The table schema (Iceberg JSON) the manifest's statistics are in.
    pub schema: Value,
    /// Its id.
    pub schema_id: i32,
    /// Partition spec id of every file in the manifest.
    pub spec_id: i32,
    /// The spec's `fields` array (Iceberg JSON).
    pub spec_fields: Value,
    /// Data or deletes.
    pub content: Content,
}

/// Avro record and field names must match `[A-Za-z_][A-Za-z0-9_]*`; Iceberg replaces other
/// characters by `_x` and their hex code. Readers resolve fields by id, not by name.
pub fn avro_name(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if ok {
            out.push(c);
        } else if i == 0 && c.is_ascii_digit() {
            out.push('_');
            out.push(c);
        } else {
            out.push_str(&format!("_x{:X}", u32::from(c)));
        }
    }
    if out.is_empty() { "_".into() } else { out }
}

fn kv(name: &str, field_id: i32, key_id: i32, value_id: i32, value: &str) -> Value {
    json!({
        "name": name,
        "type": ["null", {
            "type": "array",
            "logicalType": "map",
            "items": {
                "type": "record",
                "name": format!("k{key_id}_v{value_id}"),
                "fields": [
                    {"name": "key", "type": "int", "field-id": key_id},
                    {"name": "value", "type": value, "field-id": value_id},
                ],
            },
        }],
        "default": null,
        "field-id": field_id,
    })
}

/// The `manifest_entry` Avro schema (format version 2) for a partition tuple type.
pub fn manifest_entry_schema(tuple: &[TupleField]) -> Value {
    let partition_fields: Vec<Value> = tuple
        .iter()
        .map(|f| {
            let mut t = avro_type(&f.result);
            // Named types must be unique in a schema: name each fixed after its field.
            if let Some(obj) = t.as_object_mut().filter(|o| o.contains_key("name")) {
                obj.insert("name".into(), json!(format!("fixed_{}", f.field_id)));
            }
            json!({
                "name": avro_name(&f.name),
                "type": ["null", t],
                "default": null,
                "field-id": f.field_id,
            })
        })
        .collect();
    json!({
        "type": "record",
        "name": "manifest_entry",
        "fields": [
            {"name": "status", "type": "int", "field-id": 0},
            {"name": "snapshot_id", "type": ["null", "long"], "default": null, "field-id": 1},
            {"name": "sequence_number", "type": ["null", "long"], "default": null, "field-id": 3},
            {"name": "file_sequence_number", "type": ["null", "long"], "default": null,
             "field-id": 4},
            {"name": "data_file", "field-id": 2, "type": {
                "type": "record",
                "name": "r2",
                "fields": [
                    {"name": "content", "type": "int", "field-id": 134},
                    {"name": "file_path", "type": "string", "field-id": 100},
                    {"name": "file_format", "type": "string", "field-id": 101},
                    {"name": "partition", "field-id": 102, "type": {
                        "type": "record", "name": "r102", "fields": partition_fields,
                    }},
                    {"name": "record_count", "type": "long", "field-id": 103},
                    {"name": "file_size_in_bytes", "type": "long", "field-id": 104},
                    kv("column_sizes", 108, 117, 118, "long"),
                    kv("value_counts", 109, 119, 120, "long"),
                    kv("null_value_counts", 110, 121, 122, "long"),
                    kv("nan_value_counts", 137, 138, 139, "long"),
                    kv("lower_bounds", 125, 126, 127, "bytes"),
                    kv("upper_bounds", 128, 129, 130, "bytes"),
                    {"name": "key_metadata", "type": ["null", "bytes"], "default": null,
                     "field-id": 131},
                    {"name": "split_offsets", "type": ["null",
                        {"type": "array", "items": "long", "element-id": 133}],
                     "default": null, "field-id": 132},
                    {"name": "equality_ids", "type": ["null",
                        {"type": "array", "items": "int", "element-id": 136}],
                     "default": null, "field-id": 135},
                    {"name": "sort_order_id", "type": ["null", "int"], "default": null,
                     "field-id": 140},
                ],
            }},
        ],
    })
}

/// The `manifest_file` Avro schema (format version 2) of manifest lists.
pub fn manifest_file_schema() -> Value {
    json!({
        "type": "record",
        "name": "manifest_file",
        "fields": [
            {"name": "manifest_path", "type": "string", "field-id": 500},
            {"name": "manifest_length", "type": "long", "field-id": 501},
            {"name": "partition_spec_id", "type": "int", "field-id": 502},
            {"name": "content", "type": "int", "field-id": 517},
            {"name": "sequence_number", "type": "long", "field-id": 515},
            {"name": "min_sequence_number", "type": "long", "field-id": 516},
            {"name": "added_snapshot_id", "type": "long", "field-id": 503},
            {"name": "added_files_count", "type": "int", "field-id": 504},
            {"name": "existing_files_count", "type": "int", "field-id": 505},
            {"name": "deleted_files_count", "type": "int", "field-id": 506},
            {"name": "added_rows_count", "type": "long", "field-id": 512},
            {"name": "existing_rows_count", "type": "long", "field-id": 513},
            {"name": "deleted_rows_count", "type": "long", "field-id": 514},
            {"name": "partitions", "type": ["null", {
                "type": "array",
                "element-id": 508,
                "items": {
                    "type": "record",
                    "name": "r508",
                    "fields": [
                        {"name": "contains_null", "type": "boolean", "field-id": 509},
                        {"name": "contains_nan", "type": ["null", "boolean"], "default": null,
                         "field-id": 518},
                        {"name": "lower_bound", "type": ["null", "bytes"], "default": null,
                         "field-id": 510},
                        {"name": "upper_bound", "type": ["null", "bytes"], "default": null,
                         "field-id": 511},
                    ],
                },
            }], "default": null, "field-id": 507},
            {"name": "key_metadata", "type": ["null", "bytes"], "default": null,
             "field-id": 519},
        ],
    })
}

fn some(v: Avro) -> Avro {
    Avro::Union(1, Box::new(v))
}

fn null() -> Avro {
    Avro::Union(0, Box::new(Avro::Null))
}

fn long_map(pairs: &[(i32, i64)]) -> Avro {
    some(Avro::Array(
        pairs
            .iter()
            .map(|(k, v)| {
                Avro::Record(vec![
                    ("key".into(), Avro::Int(*k)),
                    ("value".into(), Avro::Long(*v)),
                ])
            })
            .collect(),
    ))
}

fn bytes_map(pairs: &[(i32, Vec<u8>)]) -> Avro {
    some(Avro::Array(
        pairs
            .iter()
            .map(|(k, v)| {
                Avro::Record(vec![
                    ("key".into(), Avro::Int(*k)),
                    ("value".into(), Avro::Bytes(v.clone())),
                ])
            })
            .collect(),
    ))
}

fn entry_value(e: &Entry, tuple: &[TupleField], content: Content) -> Avro {
    let partition = Avro::Record(
        tuple
            .iter()
            .zip(&e.partition)
            .map(|(f, v)| (avro_name(&f.name), v.clone()))
            .collect(),
    );
    let data_file = Avro::Record(vec![
        ("content".into(), Avro::Int(content as i32)),
        ("file_path".into(), Avro::String(e.file_path.clone())),
        ("file_format".into(), Avro::String("PARQUET".into())),
        ("partition".into(), partition),
        ("record_count".into(), Avro::Long(e.record_count)),
        (
            "file_size_in_bytes".into(),
            Avro::Long(e.file_size_in_bytes),
        ),
        ("column_sizes".into(), null()),
        ("value_counts".into(), long_map(&e.value_counts)),
        ("null_value_counts".into(), long_map(&e.null_value_counts)),
        ("nan_value_counts".into(), long_map(&e.nan_value_counts)),
        ("lower_bounds".into(), bytes_map(&e.lower_bounds)),
        ("upper_bounds".into(), bytes_map(&e.upper_bounds)),
        ("key_metadata".into(), null()),
        ("split_offsets".into(), null()),
        ("equality_ids".into(), null()),
        ("sort_order_id".into(), null()),
    ]);
    Avro::Record(vec![
        ("status".into(), Avro::Int(e.status as i32)),
        ("snapshot_id".into(), some(Avro::Long(e.snapshot_id))),
        (
            "sequence_number".into(),
            some(Avro::Long(e.sequence_number)),
        ),
        (
            "file_sequence_number".into(),
            some(Avro::Long(e.file_sequence_number)),
        ),
        ("data_file".into(), data_file),
    ])
}

/// Puts back `"logicalType": "map"` on the arrays of key-value records (Iceberg's encoding of
/// maps with non-string keys), which `apache-avro`'s parser keeps out of an array's custom
/// attributes; readers (pyiceberg) need it to see a map.
fn mark_maps(schema: Schema) -> Result<Schema, String> {
    Ok(match schema {
        Schema::Record(mut r) => {
            for f in &mut r.fields {
                let inner = std::mem::replace(&mut f.schema, Schema::Null);
                f.schema = mark_maps(inner)?;
            }
            Schema::Record(r)
        }
        Schema::Union(u) => {
            let variants = u
                .variants()
                .iter()
                .cloned()
                .map(mark_maps)
                .collect::<Result<Vec<_>, _>>()?;
            Schema::Union(UnionSchema::new(variants).map_err(|e| e.to_string())?)
        }
        Schema::Array(mut a) => {
            let items = std::mem::replace(&mut *a.items, Schema::Null);
            let is_kv = matches!(&items, Schema::Record(r)
                if r.name.name().starts_with('k') && r.name.name().contains("_v"));
            *a.items = mark_maps(items)?;
            if is_kv {
                a.attributes.insert("logicalType".into(), json!("map"));
            }
            Schema::Array(a)
        }
        other => other,
    })
}

fn write(
    schema: &Value,
    metadata: &[(&str, String)],
    values: Vec<Avro>,
    marker: [u8; 16],
) -> Result<Vec<u8>, String> {
    let schema = Schema::parse(schema).map_err(|e| format!("Avro schema: {e}"))?;
    let schema = mark_maps(schema)?;
    let mut writer = Writer::builder()
        .schema(&schema)
        .writer(Vec::new())
        .marker(marker)
        // Deflate, named in the header: Iceberg's default, and pyiceberg takes a file without
        // `avro.codec` for gzip, which it cannot read.
        .codec(Codec::Deflate(DeflateSettings::default()))
        .build()
        .map_err(|e| e.to_string())?;
    for (k, v) in metadata {
        writer
            .add_user_metadata((*k).to_string(), v.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    for v in values {
        writer.append_value(v).map_err(|e| e.to_string())?;
    }
    writer.into_inner().map_err(|e| e.to_string())
}

/// Writes a manifest: the Avro bytes.
pub fn write_manifest(
    meta: &ManifestMeta,
    tuple: &[TupleField],
    entries: &[Entry],
    marker: [u8; 16],
) -> Result<Vec<u8>, String> {
    let schema = manifest_entry_schema(tuple);
    let content = match meta.content {
        Content::Data => "data",
        Content::PositionDeletes => "deletes",
    };
    let metadata = [
        ("schema", meta.schema.to_string()),
        ("schema-id", meta.schema_id.to_string()),
        ("partition-spec", meta.spec_fields.to_string()),
        ("partition-spec-id", meta.spec_id.to_string()),
        ("format-version", "2".to_string()),
        ("content", content.to_string()),
    ];
    let values = entries
        .iter()
        .map(|e| entry_value(e, tuple, meta.content))
        .collect();
    write(&schema, &metadata, values, marker)
}

/// One entry of a manifest list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListEntry {
    /// Absolute URI of the manifest.
    pub manifest_path: String,
    /// Its length in bytes.
    pub manifest_length: i64,
    /// Partition spec of its files.
    pub spec_id: i32,
    /// Data or deletes.
    pub content: Content,
    /// Sequence number of the snapshot that wrote the manifest.
    pub sequence_number: i64,
    /// Smallest data sequence number of its files.
    pub min_sequence_number: i64,
    /// Snapshot that wrote it.
    pub added_snapshot_id: i64,
    /// Added files and their rows.
    pub added: (i32, i64),
    /// Existing files and their rows.
    pub existing: (i32, i64),
    /// Per partition field: nulls, NaNs and bounds of the manifest's partition values.
    pub partitions: Vec<FieldSummary>,
}

/// The `field_summary` of one partition field over a manifest's files, so that readers skip
/// whole manifests.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSummary {
    /// Some file has a null value.
    pub contains_null: bool,
    /// Some file has a NaN value (`None`: not a floating-point field).
    pub contains_nan: Option<bool>,
    /// Lower bound of the non-null, non-NaN values (single-value serialization).
    pub lower_bound: Option<Vec<u8>>,
    /// Upper bound.
    pub upper_bound: Option<Vec<u8>>,
}

/// A partition value in a form that orders like its Iceberg type, with its serialization.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Ordered {
    Int(i64),
    Float(f64),
    Decimal(i128),
    Bytes(Vec<u8>),
}

/// Orderable form and single-value bytes of a non-null partition value; `None` for a NaN.
fn ordered(v: &Avro) -> Option<(Ordered, Vec<u8>)> {
    Some(match v {
        Avro::Boolean(b) => (Ordered::Int(i64::from(*b)), vec![u8::from(*b)]),
        Avro::Int(i) => (Ordered::Int(i64::from(*i)), i.to_le_bytes().to_vec()),
        Avro::Long(i) => (Ordered::Int(*i), i.to_le_bytes().to_vec()),
        Avro::Float(f) if !f.is_nan() => (Ordered::Float(f64::from(*f)), f.to_le_bytes().to_vec()),
        Avro::Double(f) if !f.is_nan() => (Ordered::Float(*f), f.to_le_bytes().to_vec()),
        Avro::String(t) => (Ordered::Bytes(t.as_bytes().to_vec()), t.as_bytes().to_vec()),
        Avro::Bytes(b) => (Ordered::Bytes(b.clone()), b.clone()),
        Avro::Fixed(_, b) => {
            let fill = if b.first().is_some_and(|x| x & 0x80 != 0) {
                0xff
            } else {
                0
            };
            let mut all = [fill; 16];
            let n = b.len().min(16);
            all[16 - n..].copy_from_slice(&b[b.len() - n..]);
            let unscaled = i128::from_be_bytes(all);
            (
                Ordered::Decimal(unscaled),
                crate::values::decimal_bytes(unscaled),
            )
        }
        _ => return None,
    })
}

/// The field summaries of a manifest whose files have the partition tuples `tuples`.
pub fn summaries(tuple: &[TupleField], tuples: &[&[Avro]]) -> Vec<FieldSummary> {
    (0..tuple.len())
        .map(|i| {
            let floating = matches!(
                tuple[i].result,
                strata_format::schema::PrimitiveType::Float32
                    | strata_format::schema::PrimitiveType::Float64
            );
            let mut s = FieldSummary {
                contains_null: false,
                contains_nan: floating.then_some(false),
                lower_bound: None,
                upper_bound: None,
            };
            let mut lower: Option<(Ordered, Vec<u8>)> = None;
            let mut upper: Option<(Ordered, Vec<u8>)> = None;
            for t in tuples {
                let v = match t.get(i) {
                    Some(Avro::Union(_, inner)) => inner.as_ref(),
                    Some(other) => other,
                    None => continue,
                };
                if matches!(v, Avro::Null) {
                    s.contains_null = true;
                    continue;
                }
                let Some((key, bytes)) = ordered(v) else {
                    s.contains_nan = Some(true);
                    continue;
                };
                if lower.as_ref().is_none_or(|(l, _)| key < *l) {
                    lower = Some((key.clone(), bytes.clone()));
                }
                if upper.as_ref().is_none_or(|(u, _)| key > *u) {
                    upper = Some((key, bytes));
                }
            }
            s.lower_bound = lower.map(|(_, b)| b);
            s.upper_bound = upper.map(|(_, b)| b);
            s
        })
        .collect()
}

fn summaries_value(partitions: &[FieldSummary]) -> Avro {
    let opt_bytes = |b: &Option<Vec<u8>>| match b {
        Some(b) => some(Avro::Bytes(b.clone())),
        None => null(),
    };
    some(Avro::Array(
        partitions
            .iter()
            .map(|p| {
                Avro::Record(vec![
                    ("contains_null".into(), Avro::Boolean(p.contains_null)),
                    (
                        "contains_nan".into(),
                        match p.contains_nan {
                            Some(b) => some(Avro::Boolean(b)),
                            None => null(),
                        },
                    ),
                    ("lower_bound".into(), opt_bytes(&p.lower_bound)),
                    ("upper_bound".into(), opt_bytes(&p.upper_bound)),
                ])
            })
            .collect(),
    ))
}

/// Writes a manifest list: the Avro bytes.
pub fn write_manifest_list(
    snapshot_id: i64,
    parent_snapshot_id: Option<i64>,
    sequence_number: i64,
    entries: &[ListEntry],
    marker: [u8; 16],
) -> Result<Vec<u8>, String> {
    let mut metadata = vec![
        ("snapshot-id", snapshot_id.to_string()),
        ("sequence-number", sequence_number.to_string()),
        ("format-version", "2".to_string()),
    ];
    if let Some(p) = parent_snapshot_id {
        metadata.push(("parent-snapshot-id", p.to_string()));
    }
    let values = entries
        .iter()
        .map(|e| {
            Avro::Record(vec![
                (
                    "manifest_path".into(),
                    Avro::String(e.manifest_path.clone()),
                ),
                ("manifest_length".into(), Avro::Long(e.manifest_length)),
                ("partition_spec_id".into(), Avro::Int(e.spec_id)),
                ("content".into(), Avro::Int(e.content as i32)),
                ("sequence_number".into(), Avro::Long(e.sequence_number)),
                (
                    "min_sequence_number".into(),
                    Avro::Long(e.min_sequence_number),
                ),
                ("added_snapshot_id".into(), Avro::Long(e.added_snapshot_id)),
                ("added_files_count".into(), Avro::Int(e.added.0)),
                ("existing_files_count".into(), Avro::Int(e.existing.0)),
                ("deleted_files_count".into(), Avro::Int(0)),
                ("added_rows_count".into(), Avro::Long(e.added.1)),
                ("existing_rows_count".into(), Avro::Long(e.existing.1)),
                ("deleted_rows_count".into(), Avro::Long(0)),
                ("partitions".into(), summaries_value(&e.partitions)),
                ("key_metadata".into(), null()),
            ])
        })
        .collect();
    write(&manifest_file_schema(), &metadata, values, marker)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::Reader;
    use strata_format::schema::PrimitiveType;

    #[test]
    fn summaries_bound_partition_values() {
        let tuple = vec![
            TupleField {
                name: "a".into(),
                field_id: 1000,
                result: PrimitiveType::Int32,
            },
            TupleField {
                name: "s".into(),
                field_id: 1001,
                result: PrimitiveType::String,
            },
        ];
        let v = |a: Avro, s: Avro| vec![a, s];
        let t1 = v(
            Avro::Union(1, Box::new(Avro::Int(-5))),
            Avro::Union(1, Box::new(Avro::String("b".into()))),
        );
        let t2 = v(
            Avro::Union(1, Box::new(Avro::Int(7))),
            Avro::Union(0, Box::new(Avro::Null)),
        );
        let out = summaries(&tuple, &[&t1, &t2]);
        assert!(!out[0].contains_null);
        assert_eq!(out[0].lower_bound, Some((-5i32).to_le_bytes().to_vec()));
        assert_eq!(out[0].upper_bound, Some(7i32.to_le_bytes().to_vec()));
        assert!(out[1].contains_null);
        assert_eq!(out[1].lower_bound, Some(b"b".to_vec()));
        assert_eq!(out[1].contains_nan, None);
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(avro_name("ts_day"), "ts_day");
        assert_eq!(avro_name("1x"), "_1x");
        assert_eq!(avro_name("a-b"), "a_x2Db");
    }

    #[test]
    fn manifest_round_trips_with_field_ids() {
        let tuple = vec![
            TupleField {
                name: "d".into(),
                field_id: 1000,
                result: PrimitiveType::Date,
            },
            TupleField {
                name: "p".into(),
                field_id: 1001,
                result: PrimitiveType::Decimal {
                    precision: 9,
                    scale: 2,
                },
            },
        ];
        let entry = Entry {
            status: Status::Added,
            snapshot_id: 3,
            sequence_number: 3,
            file_sequence_number: 3,
            file_path: "file:///t/data/a.parquet".into(),
            partition: vec![
                Avro::Union(1, Box::new(Avro::Int(7))),
                Avro::Union(0, Box::new(Avro::Null)),
            ],
            record_count: 10,
            file_size_in_bytes: 100,
            value_counts: vec![(1, 10)],
            null_value_counts: vec![(1, 0)],
            nan_value_counts: vec![],
            lower_bounds: vec![(1, vec![1, 0, 0, 0])],
            upper_bounds: vec![(1, vec![9, 0, 0, 0])],
        };
        let meta = ManifestMeta {
            schema: json!({"type": "struct", "schema-id": 0, "fields": []}),
            schema_id: 0,
            spec_id: 1,
            spec_fields: json!([]),
            content: Content::Data,
        };
        let bytes = write_manifest(&meta, &tuple, std::slice::from_ref(&entry), [7; 16]).unwrap();
        let reader = Reader::new(&bytes[..]).unwrap();
        let header = serde_json::to_value(reader.writer_schema()).unwrap();
        assert_eq!(header["fields"][4]["field-id"], 2);
        // The written header marks key-value arrays as maps (the parser drops it on reading).
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains(r#""name":"k119_v120""#),
            "no value_counts record"
        );
        assert_eq!(text.matches(r#""logicalType":"map""#).count(), 6);
        let partition = &header["fields"][4]["type"]["fields"][3]["type"]["fields"];
        assert_eq!(partition[0]["field-id"], 1000);
        assert_eq!(reader.user_metadata()["partition-spec-id"], b"1".to_vec());
        assert_eq!(reader.count(), 1);
    }
}
