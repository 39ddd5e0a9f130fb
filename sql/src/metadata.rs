//! Metadata tables (`"events$files"`, …): what the log knows about a table, as rows.
//!
//! Each is built from one snapshot (the latest, or the one `@…` selects) when the query is
//! planned. Times are `timestamp(ms, UTC)`; partition values, parameters, metrics, statistics
//! and policy conditions are JSON text (query them with DataFusion's string functions).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType as ArrowType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use serde_json::{Map, Value, json};
use strata_format::AddFile;
use strata_format::tiering::{is_archive_class, tier_names};
use strata_table::{Snapshot, Table};

use crate::error::{Result, SqlError};
use crate::names::MetaTable;

/// The metadata table `meta` of `table` at `snapshot`.
pub async fn metadata_table(
    table: &Table,
    snapshot: &Snapshot,
    meta: MetaTable,
    now_ms: i64,
) -> Result<Arc<dyn TableProvider>> {
    let (schema, rows) = match meta {
        MetaTable::History => history(table, snapshot).await?,
        MetaTable::Snapshots => snapshots(table, snapshot).await?,
        MetaTable::Files => files(snapshot, now_ms),
        MetaTable::Partitions => partitions(snapshot),
        MetaTable::Tags => tags(snapshot),
        MetaTable::Schemas => schemas(snapshot),
        MetaTable::Tiers => tiers(snapshot),
        MetaTable::TierPolicies => tier_policies(snapshot),
    };
    let batch = to_batch(&schema, &rows)?;
    let mem = MemTable::try_new(schema, vec![vec![batch]])?;
    Ok(Arc::new(mem))
}

fn to_batch(schema: &SchemaRef, rows: &[Value]) -> Result<RecordBatch> {
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
        .build_decoder()
        .map_err(|e| SqlError::Unsupported(format!("metadata table: {e}")))?;
    decoder
        .serialize(rows)
        .map_err(|e| SqlError::Unsupported(format!("metadata table: {e}")))?;
    Ok(decoder
        .flush()
        .map_err(|e| SqlError::Unsupported(format!("metadata table: {e}")))?
        .unwrap_or_else(|| RecordBatch::new_empty(schema.clone())))
}

fn schema(fields: &[(&str, ArrowType, bool)]) -> SchemaRef {
    Arc::new(ArrowSchema::new(
        fields
            .iter()
            .map(|(n, t, nullable)| Field::new(*n, t.clone(), *nullable))
            .collect::<Vec<_>>(),
    ))
}

fn ts() -> ArrowType {
    ArrowType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

use ArrowType::{Boolean as BOOL, Int32 as I32, Int64 as I64, Utf8 as STR};

fn text(v: &impl serde::Serialize) -> Value {
    Value::String(serde_json::to_string(v).unwrap_or_default())
}

async fn history(table: &Table, snapshot: &Snapshot) -> Result<(SchemaRef, Vec<Value>)> {
    let s = schema(&[
        ("version", I64, false),
        ("timestamp", ts(), false),
        ("operation", STR, false),
        ("txn_id", STR, false),
        ("read_version", I64, true),
        ("isolation_level", STR, true),
        ("is_blind_append", BOOL, false),
        ("parameters", STR, false),
        ("metrics", STR, false),
        ("user_metadata", STR, true),
        ("engine", STR, false),
        ("files_added", I64, false),
        ("files_removed", I64, false),
        ("rows_added", I64, false),
        ("rows_removed", I64, false),
        ("bytes_added", I64, false),
        ("bytes_removed", I64, false),
        ("files_relocated", I64, false),
    ]);
    let mut entries = table.history(None).await?;
    entries.sort_by_key(|h| h.version);
    let rows = entries
        .into_iter()
        .filter(|h| h.version <= snapshot.version())
        .map(|h| {
            let i = &h.info;
            json!({
                "version": h.version,
                "timestamp": i.timestamp,
                "operation": i.operation,
                "txn_id": i.txn_id,
                "read_version": i.read_version,
                "isolation_level": i.isolation_level.map(|l| l.to_string()),
                "is_blind_append": i.is_blind_append,
                "parameters": text(&i.operation_parameters),
                "metrics": text(&i.operation_metrics),
                "user_metadata": i.user_metadata,
                "engine": i.engine,
                "files_added": h.files_added,
                "files_removed": h.files_removed,
                "rows_added": h.rows_added,
                "rows_removed": h.rows_removed,
                "bytes_added": h.bytes_added,
                "bytes_removed": h.bytes_removed,
                "files_relocated": h.files_relocated,
            })
        })
        .collect();
    Ok((s, rows))
}

/// Totals per version, walked back from `snapshot` (exact while the history is contiguous).
async fn snapshots(table: &Table, snapshot: &Snapshot) -> Result<(SchemaRef, Vec<Value>)> {
    let s = schema(&[
        ("version", I64, false),
        ("timestamp", ts(), false),
        ("operation", STR, false),
        ("record_count", I64, false),
        ("file_count", I64, false),
        ("total_bytes", I64, false),
        ("tags", STR, true),
    ]);
    let mut history = table.history(None).await?;
    history.retain(|h| h.version <= snapshot.version());
    history.sort_by_key(|h| std::cmp::Reverse(h.version));
    let mut tags: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for (name, v) in snapshot.tags() {
        tags.entry(*v).or_default().push(name);
    }
    let mut records = i128::from(snapshot.record_count());
    let mut files = snapshot.files().len() as i128;
    let mut bytes = i128::from(snapshot.size_in_bytes());
    let mut rows = Vec::with_capacity(history.len());
    let mut expected = snapshot.version();
    for h in &history {
        if h.version != expected {
            break; // a gap (expired history): earlier totals are unknown
        }
        rows.push(json!({
            "version": h.version,
            "timestamp": h.info.timestamp,
            "operation": h.info.operation,
            "record_count": records.max(0) as i64,
            "file_count": files.max(0) as i64,
            "total_bytes": bytes.max(0) as i64,
            "tags": tags.get(&h.version).map(|t| t.join(",")),
        }));
        records += i128::from(h.rows_removed) - i128::from(h.rows_added);
        files += i128::from(h.files_removed) - i128::from(h.files_added);
        bytes += i128::from(h.bytes_removed) - i128::from(h.bytes_added);
        match expected.checked_sub(1) {
            Some(v) => expected = v,
            None => break,
        }
    }
    rows.reverse();
    Ok((s, rows))
}

/// Partition values of `f` by partition field name.
fn partition_json(snapshot: &Snapshot, f: &AddFile) -> Value {
    let spec = snapshot
        .metadata()
        .partition_specs
        .iter()
        .find(|s| s.spec_id == f.spec_id);
    let mut m = Map::new();
    for (id, v) in &f.partition_values {
        let name = spec
            .and_then(|s| s.fields.iter().find(|p| p.field_id == *id))
            .map_or_else(|| id.to_string(), |p| p.name.clone());
        m.insert(name, v.clone());
    }
    Value::Object(m)
}

fn files(snapshot: &Snapshot, now_ms: i64) -> (SchemaRef, Vec<Value>) {
    let s = schema(&[
        ("path", STR, false),
        ("location", STR, false),
        ("tier", STR, false),
        ("storage_class", STR, true),
        ("restore_state", STR, true),
        ("restore_expires", ts(), true),
        ("partition", STR, false),
        ("spec_id", I32, false),
        ("schema_id", I32, true),
        ("record_count", I64, false),
        ("deleted_record_count", I64, false),
        ("deletion_vector", STR, true),
        ("size_bytes", I64, false),
        ("modification_time", ts(), false),
        ("stats", STR, false),
    ]);
    let names: BTreeMap<i32, String> = snapshot
        .schema()
        .field_index()
        .into_iter()
        .map(|(id, info)| (id, info.path))
        .collect();
    let rows = snapshot
        .files()
        .values()
        .map(|f| {
            let archived = f.storage_class.as_deref().is_some_and(is_archive_class);
            let restore_state = match (&f.restore, archived) {
                (_, false) => None,
                (None, true) => Some("archived"),
                (Some(r), true) if r.readable_at(now_ms) => Some("restored"),
                (Some(r), true) if r.expires_ms.is_some_and(|e| e <= now_ms) => Some("expired"),
                (Some(_), true) => Some("restoring"),
            };
            let stats: Map<String, Value> = f
                .stats
                .iter()
                .map(|(id, st)| {
                    let name = names.get(id).cloned().unwrap_or_else(|| id.to_string());
                    (name, serde_json::to_value(st).unwrap_or(Value::Null))
                })
                .collect();
            json!({
                "path": f.path,
                "location": snapshot.physical_location(f),
                "tier": f.tier,
                "storage_class": f.storage_class,
                "restore_state": restore_state,
                "restore_expires": f.restore.as_ref().and_then(|r| r.expires_ms),
                "partition": partition_json(snapshot, f).to_string(),
                "spec_id": f.spec_id,
                "schema_id": f.schema_id,
                "record_count": f.record_count,
                "deleted_record_count": f.deletion_vector.as_ref().map_or(0, |d| d.cardinality),
                "deletion_vector": f.deletion_vector.as_ref().map(|d| d.path.clone()),
                "size_bytes": f.size,
                "modification_time": f.modification_time,
                "stats": Value::Object(stats).to_string(),
            })
        })
        .collect();
    (s, rows)
}

fn partitions(snapshot: &Snapshot) -> (SchemaRef, Vec<Value>) {
    let s = schema(&[
        ("partition", STR, false),
        ("spec_id", I32, false),
        ("file_count", I64, false),
        ("record_count", I64, false),
        ("total_bytes", I64, false),
    ]);
    let mut groups: BTreeMap<(i32, String), (u64, u64, u64)> = BTreeMap::new();
    for f in snapshot.files().values() {
        let key = (f.spec_id, partition_json(snapshot, f).to_string());
        let g = groups.entry(key).or_default();
        g.0 += 1;
        g.1 += strata_format::dv::live_rows(f);
        g.2 += f.size;
    }
    let rows = groups
        .into_iter()
        .map(|((spec_id, partition), (files, records, bytes))| {
            json!({"partition": partition, "spec_id": spec_id, "file_count": files,
                   "record_count": records, "total_bytes": bytes})
        })
        .collect();
    (s, rows)
}

fn tags(snapshot: &Snapshot) -> (SchemaRef, Vec<Value>) {
    let s = schema(&[("name", STR, false), ("version", I64, false)]);
    let rows = snapshot
        .tags()
        .iter()
        .map(|(name, v)| json!({"name": name, "version": v}))
        .collect();
    (s, rows)
}

fn schemas(snapshot: &Snapshot) -> (SchemaRef, Vec<Value>) {
    let s = schema(&[
        ("schema_id", I32, false),
        ("field_id", I32, false),
        ("path", STR, false),
        ("type", STR, false),
        ("required", BOOL, false),
        ("partition_transforms", STR, true),
    ]);
    let schema_id = snapshot.schema().schema_id();
    let spec = snapshot.metadata().default_spec();
    let rows = snapshot
        .schema()
        .field_index()
        .into_iter()
        .map(|(id, info)| {
            let transforms: Vec<String> = spec
                .map(|s| {
                    s.fields
                        .iter()
                        .filter(|p| p.source_id == id)
                        .map(|p| format!("{}:{}", p.name, p.transform))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "schema_id": schema_id,
                "field_id": id,
                "path": info.path,
                "type": info.data_type.to_string(),
                "required": info.required,
                "partition_transforms": (!transforms.is_empty()).then(|| transforms.join(",")),
            })
        })
        .collect();
    (s, rows)
}

fn tiers(snapshot: &Snapshot) -> (SchemaRef, Vec<Value>) {
    let s = schema(&[
        ("name", STR, false),
        ("location", STR, true),
        ("storage_class", STR, true),
        ("is_default", BOOL, false),
        ("file_count", I64, false),
        ("total_bytes", I64, false),
    ]);
    let metadata = snapshot.metadata();
    let names = tier_names(metadata);
    let default = metadata
        .default_tier
        .clone()
        .or_else(|| names.first().map(|n| n.to_string()));
    let rows = names
        .iter()
        .map(|name| {
            let def = metadata.tiers.iter().find(|t| t.name == *name);
            let (files, bytes) = snapshot
                .files()
                .values()
                .filter(|f| f.tier == *name)
                .fold((0u64, 0u64), |(n, b), f| (n + 1, b + f.size));
            json!({
                "name": name,
                "location": def.and_then(|d| d.location.clone()),
                "storage_class": def.and_then(|d| d.storage_class.clone()),
                "is_default": default.as_deref() == Some(*name),
                "file_count": files,
                "total_bytes": bytes,
            })
        })
        .collect();
    (s, rows)
}

fn tier_policies(snapshot: &Snapshot) -> (SchemaRef, Vec<Value>) {
    let s = schema(&[
        ("id", STR, false),
        ("tier", STR, false),
        ("condition", STR, false),
    ]);
    let rows = snapshot
        .metadata()
        .policies
        .iter()
        .map(|p| json!({"id": p.id, "tier": p.tier, "condition": text(&p.condition)}))
        .collect();
    (s, rows)
}
