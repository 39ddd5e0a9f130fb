//! The canonical JSON description of a table, version by version.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Description
// ---------------------------------------------------------------------------------------------

/// `location` with the table URI `root` replaced by [`ROOT_PLACEHOLDER`].
pub(super) fn machine_independent(location: &str, root: &str) -> String {
    if location == root {
        return ROOT_PLACEHOLDER.to_string();
    }
    match location.strip_prefix(root) {
        Some(rest) if rest.starts_with('/') => format!("{ROOT_PLACEHOLDER}{rest}"),
        _ => location.to_string(),
    }
}

pub(super) fn describe_stats(stats: &strata_format::FileStats) -> Value {
    let mut out = serde_json::Map::new();
    for (id, s) in stats {
        out.insert(
            id.to_string(),
            json!({
                "min": s.min,
                "max": s.max,
                "nullCount": s.null_count,
                "nanCount": s.nan_count,
            }),
        );
    }
    Value::Object(out)
}

/// A file's deletion vector (SPEC §7): its descriptor and, for a local table, the positions its
/// bitmap decodes to (so the golden bytes of the vector objects are checked too).
fn describe_vector(f: &AddFile, root: &str) -> Result<Option<Value>, BoxError> {
    let Some(d) = &f.deletion_vector else {
        return Ok(None);
    };
    let folder = url::Url::parse(root)?
        .to_file_path()
        .map_err(|()| format!("not a local table: {root}"))?;
    let bytes = std::fs::read(folder.join(&d.path))?;
    let start = usize::try_from(d.offset)?;
    let end = start + usize::try_from(d.size_in_bytes)?;
    let slice = bytes
        .get(start..end)
        .ok_or_else(|| format!("`{}` has no bytes {start}..{end}", d.path))?;
    let positions: Vec<u64> = strata_format::dv::DeletionVector::decode(slice, d, f)?
        .iter()
        .collect();
    Ok(Some(json!({
        "path": d.path,
        "offset": d.offset,
        "sizeInBytes": d.size_in_bytes,
        "cardinality": d.cardinality,
        "deletedPositions": positions,
    })))
}

pub(super) fn describe_file(s: &Snapshot, f: &AddFile, root: &str) -> Result<Value, BoxError> {
    let partition: serde_json::Map<String, Value> = f
        .partition_values
        .iter()
        .map(|(id, v)| (id.to_string(), v.clone()))
        .collect();
    let mut out = json!({
        "path": f.path,
        "physicalLocation": machine_independent(&s.physical_location(f), root),
        "tier": f.tier,
        "storageClass": f.storage_class,
        "recordCount": f.record_count,
        "size": f.size,
        "modificationTime": f.modification_time,
        "dataChange": f.data_change,
        "specId": f.spec_id,
        "schemaId": f.schema_id,
        "partitionValues": partition,
        "stats": describe_stats(&f.stats),
    });
    // Only files with a vector get the member: older golden tables read as before.
    if let (Some(v), Some(obj)) = (describe_vector(f, root)?, out.as_object_mut()) {
        obj.insert("deletionVector".into(), v);
    }
    Ok(out)
}

pub(super) fn describe_commit_info(info: &CommitInfo) -> Value {
    json!({
        "timestamp": info.timestamp,
        "txnId": info.txn_id,
        "operation": info.operation,
        "operationParameters": info.operation_parameters,
        "engine": info.engine,
        "readVersion": info.read_version,
        "isolationLevel": info.isolation_level.map(|l| l.to_string()),
        "isBlindAppend": info.is_blind_append,
        "actionCount": info.action_count,
        "userMetadata": info.user_metadata,
        "operationMetrics": info.operation_metrics,
    })
}

pub(super) fn describe_snapshot(s: &Snapshot, root: &str) -> Result<Value, BoxError> {
    let m = s.metadata();
    let p = s.protocol();
    let tiers: Vec<Value> = m
        .tiers
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "location": t.location.as_deref().map(|l| machine_independent(l, root)),
                "storageClass": t.storage_class,
            })
        })
        .collect();
    let apps: Vec<Value> = s
        .app_transactions()
        .values()
        .map(|a| json!({"appId": a.app_id, "version": a.version, "lastUpdated": a.last_updated}))
        .collect();
    let files: Vec<Value> = s
        .files()
        .values()
        .map(|f| describe_file(s, f, root))
        .collect::<Result<_, _>>()?;
    let tombstones: Vec<Value> = s
        .state()
        .tombstones()
        .values()
        .map(|r| {
            let mut t = json!({
                "path": r.path,
                "deletionTimestamp": r.deletion_timestamp,
                "dataChange": r.data_change,
                "recordCount": r.record_count,
                "size": r.size,
            });
            if let (Some(d), Some(obj)) = (&r.deletion_vector, t.as_object_mut()) {
                obj.insert(
                    "deletionVector".into(),
                    json!({"path": d.path, "cardinality": d.cardinality}),
                );
            }
            t
        })
        .collect();
    Ok(json!({
        "version": s.version(),
        "timestamp": s.timestamp(),
        "operation": s.commit_info().operation,
        "commitInfo": describe_commit_info(s.commit_info()),
        "protocol": {
            "minReaderVersion": p.min_reader_version,
            "minWriterVersion": p.min_writer_version,
            "readerFeatures": p.reader_features,
            "writerFeatures": p.writer_features,
        },
        "tableId": m.table_id,
        "name": m.name,
        "description": m.description,
        "createdTime": m.created_time,
        "schema": serde_json::to_value(s.schema())?,
        "partitionSpecs": serde_json::to_value(&m.partition_specs)?,
        "defaultSpecId": m.default_spec_id,
        "lastColumnId": m.last_column_id,
        "lastPartitionId": m.last_partition_id,
        "properties": m.properties,
        "tiers": tiers,
        "defaultTier": m.default_tier_name(),
        "tags": s.tags(),
        "appTransactions": apps,
        "recordCount": s.record_count(),
        "sizeInBytes": s.size_in_bytes(),
        "files": files,
        "tombstones": tombstones,
    }))
}

pub(super) fn describe_history(e: &HistoryEntry) -> Value {
    json!({
        "version": e.version,
        "timestamp": e.info.timestamp,
        "operation": e.info.operation,
        "filesAdded": e.files_added,
        "filesRemoved": e.files_removed,
        "rowsAdded": e.rows_added,
        "rowsRemoved": e.rows_removed,
        "bytesAdded": e.bytes_added,
        "bytesRemoved": e.bytes_removed,
        "filesRelocated": e.files_relocated,
    })
}

/// The canonical description of the table at `uri` (see the module documentation).
pub async fn describe(uri: &str) -> Result<Value, BoxError> {
    let table = Table::open(uri).await?;
    describe_table(&table).await
}

/// The canonical description of an open table: every version, the history, and time travel by
/// timestamp (before the table, at and between versions, after the latest) and by tag (every
/// tag any version had, plus an unknown one). Table URIs are replaced by [`ROOT_PLACEHOLDER`].
pub async fn describe_table(table: &Table) -> Result<Value, BoxError> {
    let latest = table.snapshot(&SnapshotSelector::Latest).await?;
    let root = latest.table_uri().to_string();
    let mut versions = Vec::new();
    let mut stamps = Vec::new();
    let mut tag_names = BTreeSet::new();
    for v in 0..=latest.version() {
        let s = table.snapshot(&SnapshotSelector::Version(v)).await?;
        if s.version() != v {
            return Err(format!("asked for version {v}, got {}", s.version()).into());
        }
        stamps.push(s.timestamp());
        tag_names.extend(s.tags().keys().cloned());
        versions.push(describe_snapshot(&s, &root)?);
    }
    let history: Vec<Value> = table
        .history(None)
        .await?
        .iter()
        .map(describe_history)
        .collect();

    let mut times = BTreeSet::new();
    if let (Some(first), Some(last)) = (stamps.first(), stamps.last()) {
        times.insert(first - 1);
        times.insert(last + 86_400_000);
    }
    for (i, t) in stamps.iter().enumerate() {
        times.insert(*t);
        if let Some(next) = stamps.get(i + 1) {
            times.insert(t + (next - t) / 2);
        }
    }
    let mut by_timestamp = Vec::new();
    for t in times {
        let resolved = match table.snapshot(&SnapshotSelector::Timestamp(t)).await {
            Ok(s) => json!({"timestamp": t, "version": s.version()}),
            Err(strata_table::Error::TimestampBeforeTable { .. }) => {
                json!({"timestamp": t, "error": "timestampBeforeTable"})
            }
            Err(e) => return Err(e.into()),
        };
        by_timestamp.push(resolved);
    }
    tag_names.insert("no-such-tag".to_string());
    let mut by_tag = Vec::new();
    for name in tag_names {
        let resolved = match table.snapshot(&SnapshotSelector::Tag(name.clone())).await {
            Ok(s) => json!({"tag": name, "version": s.version(), "recordCount": s.record_count()}),
            Err(strata_table::Error::TagNotFound { .. }) => {
                json!({"tag": name, "error": "tagNotFound"})
            }
            Err(e) => return Err(e.into()),
        };
        by_tag.push(resolved);
    }
    Ok(json!({
        "latestVersion": latest.version(),
        "versions": versions,
        "history": history,
        "timeTravel": {
            "byTimestamp": by_timestamp,
            "byTag": by_tag,
        },
    }))
}

/// The descriptions of the golden tables under `dir`, by name.
pub async fn describe_all(dir: &Path) -> Result<BTreeMap<String, Value>, BoxError> {
    let mut out = BTreeMap::new();
    for name in GOLDEN_TABLES {
        let table_dir = dir.join(name);
        out.insert(name.to_string(), describe(path_str(&table_dir)?).await?);
    }
    Ok(out)
}
