//! Read-only commands: show, history, files.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};
use strata_format::DataType;
use strata_table::{Snapshot, Table};

use super::selector;
use crate::args::{OutputFormat, Selector};
use crate::error::CliResult;
use crate::output::{TextTable, human_size, time, write_csv, write_json};

fn spec_text(s: &Snapshot) -> String {
    match s.metadata().default_spec() {
        Some(spec) if !spec.is_unpartitioned() => spec
            .fields
            .iter()
            .map(|f| {
                let src = s
                    .schema()
                    .field_index()
                    .get(&f.source_id)
                    .map(|i| i.path.clone())
                    .unwrap_or_else(|| format!("#{}", f.source_id));
                format!("{}({src}) as {}", f.transform, f.name)
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => "unpartitioned".into(),
    }
}

fn bytes_per_tier(s: &Snapshot) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for f in s.files().values() {
        *m.entry(f.tier.clone()).or_insert(0) += f.size;
    }
    m
}

pub async fn show(
    t: &Table,
    sel: &Selector,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let s = t.snapshot(&selector(sel)?).await?;
    let tiers = bytes_per_tier(&s);
    let target = strata_table::writer::WriterOptions::from_properties(&s.metadata().properties)?
        .target_file_size_bytes;
    let sizes = strata_format::compaction::file_sizes(s.files().values(), target);
    if format == OutputFormat::Csv {
        let mut pairs = show_pairs(t, &s, &tiers);
        pairs.push(vec!["smallFiles".into(), sizes.small.to_string()]);
        pairs.push(vec!["averageFileSize".into(), sizes.average.to_string()]);
        return write_csv(&["KEY", "VALUE"], &pairs, out);
    }
    if format != OutputFormat::Table {
        let doc = json!({
            "table": t.uri(),
            "version": s.version(),
            "timestamp": time(s.timestamp()),
            "timestampMs": s.timestamp(),
            "operation": s.commit_info().operation,
            "tableId": s.metadata().table_id,
            "schema": serde_json::to_value(s.schema())?,
            "partitionSpec": serde_json::to_value(s.metadata().default_spec())?,
            "properties": s.metadata().properties,
            "files": s.files().len(),
            "smallFiles": sizes.small,
            "smallFileThreshold": sizes.small_below,
            "averageFileSize": sizes.average,
            "rows": s.record_count(),
            "bytes": s.size_in_bytes(),
            "bytesPerTier": tiers,
            "tags": s.tags(),
        });
        return write_json(format, &doc, None, out);
    }
    writeln!(out, "table      {}", t.uri())?;
    writeln!(
        out,
        "version    {} ({}, {})",
        s.version(),
        time(s.timestamp()),
        s.commit_info().operation
    )?;
    writeln!(out, "table id   {}", s.metadata().table_id)?;
    writeln!(
        out,
        "data       {} rows in {} files, {}",
        s.record_count(),
        s.files().len(),
        human_size(s.size_in_bytes())
    )?;
    if sizes.files > 0 {
        writeln!(
            out,
            "  files    average {}; {} small (below {}{})",
            human_size(sizes.average),
            sizes.small,
            human_size(sizes.small_below),
            if sizes.small > 1 {
                ": `strata optimize` packs them"
            } else {
                ""
            }
        )?;
    }
    for (tier, b) in &tiers {
        writeln!(out, "  tier     {tier}: {}", human_size(*b))?;
    }
    writeln!(out, "partition  {}", spec_text(&s))?;
    if !s.tags().is_empty() {
        let tags: Vec<String> = s.tags().iter().map(|(n, v)| format!("{n}@{v}")).collect();
        writeln!(out, "tags       {}", tags.join(", "))?;
    }
    for (k, v) in &s.metadata().properties {
        writeln!(out, "property   {k}={v}")?;
    }
    writeln!(out, "schema (id {}):", s.schema().schema_id())?;
    let mut tt = TextTable::new(&["  ID", "COLUMN", "TYPE", "NULLABLE"]);
    let index = s.schema().field_index();
    for id in schema_order(s.schema()) {
        let Some(info) = index.get(&id) else {
            continue;
        };
        let ty = match info.data_type {
            DataType::Primitive(p) => p.to_string(),
            DataType::Struct(_) => "struct".into(),
            DataType::List(_) => "list".into(),
            DataType::Map(_) => "map".into(),
            other => other.to_string(),
        };
        tt.row(vec![
            format!("  {id}"),
            info.path.clone(),
            ty,
            if info.required { "no" } else { "yes" }.into(),
        ]);
    }
    tt.write(out)
}

/// `show` as key/value rows (for `--output csv`).
fn show_pairs(t: &Table, s: &Snapshot, tiers: &BTreeMap<String, u64>) -> Vec<Vec<String>> {
    let mut rows = vec![
        vec!["table".to_string(), t.uri().to_string()],
        vec!["version".into(), s.version().to_string()],
        vec!["timestamp".into(), time(s.timestamp())],
        vec!["operation".into(), s.commit_info().operation.clone()],
        vec!["tableId".into(), s.metadata().table_id.clone()],
        vec!["schemaId".into(), s.schema().schema_id().to_string()],
        vec!["partitionSpec".into(), spec_text(s)],
        vec!["files".into(), s.files().len().to_string()],
        vec!["rows".into(), s.record_count().to_string()],
        vec!["bytes".into(), s.size_in_bytes().to_string()],
    ];
    rows.extend(
        tiers
            .iter()
            .map(|(tier, b)| vec![format!("bytesPerTier.{tier}"), b.to_string()]),
    );
    rows.extend(
        s.metadata()
            .properties
            .iter()
            .map(|(k, v)| vec![format!("properties.{k}"), v.clone()]),
    );
    rows.extend(
        s.tags()
            .iter()
            .map(|(n, v)| vec![format!("tags.{n}"), v.to_string()]),
    );
    rows
}

pub async fn history(
    t: &Table,
    limit: Option<usize>,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let h = t.history(limit).await?;
    let items: Vec<Value> = h
        .iter()
        .map(|e| {
            json!({
                "version": e.version,
                "timestamp": time(e.info.timestamp),
                "timestampMs": e.info.timestamp,
                "operation": e.info.operation,
                "parameters": e.info.operation_parameters,
                "metrics": e.info.operation_metrics,
                "userMetadata": e.info.user_metadata,
                "filesAdded": e.files_added,
                "filesRemoved": e.files_removed,
                "rowsAdded": e.rows_added,
                "rowsRemoved": e.rows_removed,
                "bytesAdded": e.bytes_added,
                "bytesRemoved": e.bytes_removed,
                "filesRelocated": e.files_relocated,
                "engine": e.info.engine,
                "txnId": e.info.txn_id,
                "readVersion": e.info.read_version,
                "isBlindAppend": e.info.is_blind_append,
            })
        })
        .collect();
    let header = [
        "VERSION",
        "TIME",
        "OPERATION",
        "+FILES",
        "-FILES",
        "+ROWS",
        "-ROWS",
        "ENGINE",
    ];
    let rows: Vec<Vec<String>> = h
        .iter()
        .map(|e| {
            vec![
                e.version.to_string(),
                time(e.info.timestamp),
                e.info.operation.clone(),
                e.files_added.to_string(),
                e.files_removed.to_string(),
                e.rows_added.to_string(),
                e.rows_removed.to_string(),
                e.info.engine.clone(),
            ]
        })
        .collect();
    match format {
        OutputFormat::Table => {
            let mut tt = TextTable::new(&header);
            rows.into_iter().for_each(|r| tt.row(r));
            tt.write(out)
        }
        OutputFormat::Csv => write_csv(&header, &rows, out),
        _ => write_json(
            format,
            &json!({"table": t.uri(), "history": items}),
            Some(&items),
            out,
        ),
    }
}

pub async fn files(
    t: &Table,
    sel: &Selector,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let s = t.snapshot(&selector(sel)?).await?;
    let spec_names: BTreeMap<i32, String> = s
        .metadata()
        .partition_specs
        .iter()
        .flat_map(|sp| sp.fields.iter().map(|f| (f.field_id, f.name.clone())))
        .collect();
    let partition = |f: &strata_format::AddFile| -> BTreeMap<String, Value> {
        f.partition_values
            .iter()
            .map(|(id, v)| {
                (
                    spec_names
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| id.to_string()),
                    v.clone(),
                )
            })
            .collect()
    };
    let items: Vec<Value> = s
        .files()
        .values()
        .map(|f| {
            json!({
                "path": f.path,
                "size": f.size,
                "rows": f.record_count,
                "deletedRows": f.deletion_vector.as_ref().map_or(0, |d| d.cardinality),
                "partition": partition(f),
                "tier": f.tier,
                "storageClass": f.storage_class,
                "location": s.physical_location(f),
            })
        })
        .collect();
    let header = [
        "PATH",
        "SIZE",
        "ROWS",
        "DELETED",
        "PARTITION",
        "TIER",
        "LOCATION",
    ];
    let rows: Vec<Vec<String>> = s
        .files()
        .values()
        .map(|f| {
            let p: Vec<String> = f
                .partition_values
                .iter()
                .map(|(id, v)| {
                    let name = spec_names
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| id.to_string());
                    format!("{name}={}", human_partition_value(&s, *id, v))
                })
                .collect();
            vec![
                f.path.clone(),
                if format == OutputFormat::Csv {
                    f.size.to_string()
                } else {
                    human_size(f.size)
                },
                f.record_count.to_string(),
                f.deletion_vector
                    .as_ref()
                    .map_or(0, |d| d.cardinality)
                    .to_string(),
                p.join("/"),
                f.tier.clone(),
                s.physical_location(f),
            ]
        })
        .collect();
    match format {
        OutputFormat::Table => {
            let mut tt = TextTable::new(&header);
            rows.into_iter().for_each(|r| tt.row(r));
            tt.write(out)
        }
        OutputFormat::Csv => write_csv(&header, &rows, out),
        _ => write_json(
            format,
            &json!({"table": t.uri(), "version": s.version(), "files": items}),
            Some(&items),
            out,
        ),
    }
}

/// A partition value as people read it (the JSON output keeps the stored encoding).
fn human_partition_value(s: &Snapshot, field_id: i32, v: &Value) -> String {
    let transform = s
        .metadata()
        .partition_specs
        .iter()
        .flat_map(|sp| sp.fields.iter())
        .find(|f| f.field_id == field_id)
        .map(|f| f.transform);
    strata_format::transform::human_value(transform, v)
}

/// Field ids in schema order, depth first (parents before their children).
fn schema_order(schema: &strata_format::Schema) -> Vec<i32> {
    fn walk(t: &DataType, out: &mut Vec<i32>) {
        match t {
            DataType::Struct(st) => {
                for f in &st.fields {
                    out.push(f.id);
                    walk(&f.data_type, out);
                }
            }
            DataType::List(l) => {
                out.push(l.element_id);
                walk(&l.element, out);
            }
            DataType::Map(m) => {
                out.push(m.key_id);
                walk(&m.key, out);
                out.push(m.value_id);
                walk(&m.value, out);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for f in schema.fields() {
        out.push(f.id);
        walk(&f.data_type, &mut out);
    }
    out
}
