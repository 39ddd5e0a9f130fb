//! `strata diff`: what changed between two versions (the comparison itself is
//! `strata_format::diff`, a pure function; this loads the two states and prints).

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};
use strata_format::TableState;
use strata_format::diff::{FieldChange, FileEntry, TableDiff, diff};
use strata_table::Table;

use crate::args::OutputFormat;
use crate::error::{CliError, CliResult};
use crate::output::{TextTable, human_size, time, write_csv, write_json};

/// Resolves FROM/TO: a version number, else a tag name, else `latest`.
async fn resolve(t: &Table, text: &str) -> CliResult<u64> {
    if let Ok(v) = text.trim().parse::<u64>() {
        return Ok(v);
    }
    let latest = t.latest().await?;
    if text == "latest" && !latest.tags().contains_key(text) {
        return Ok(latest.version());
    }
    latest.tags().get(text).copied().ok_or_else(|| {
        CliError::user(format!(
            "`{text}` is neither a version number nor a tag of {}",
            t.uri()
        ))
        .with_hint("list tags with `strata tag TABLE list`, versions with `strata history TABLE`")
    })
}

/// One line of the flat change list (ndjson, csv and the table view).
struct Change {
    kind: &'static str,
    subject: String,
    from: Option<String>,
    to: Option<String>,
    rows: Option<u64>,
    bytes: Option<u64>,
}

impl Change {
    fn new(kind: &'static str, subject: impl Into<String>) -> Self {
        Self {
            kind,
            subject: subject.into(),
            from: None,
            to: None,
            rows: None,
            bytes: None,
        }
    }
    fn values(mut self, from: Option<String>, to: Option<String>) -> Self {
        self.from = from;
        self.to = to;
        self
    }
    fn sized(mut self, rows: Option<u64>, bytes: u64) -> Self {
        self.rows = rows;
        self.bytes = Some(bytes);
        self
    }
    fn json(&self) -> Value {
        json!({
            "kind": self.kind,
            "subject": self.subject,
            "from": self.from,
            "to": self.to,
            "rows": self.rows,
            "bytes": self.bytes,
        })
    }
}

fn changes(d: &TableDiff) -> Vec<Change> {
    let mut out = Vec::new();
    for f in &d.files_added {
        out.push(
            Change::new("fileAdded", &f.path)
                .values(None, Some(f.tier.clone()))
                .sized(Some(f.rows), f.bytes),
        );
    }
    for f in &d.files_removed {
        out.push(
            Change::new("fileRemoved", &f.path)
                .values(Some(f.tier.clone()), None)
                .sized(Some(f.rows), f.bytes),
        );
    }
    for r in &d.rows_deleted {
        let undeleted = r.to_deleted < r.from_deleted;
        out.push(
            Change::new(
                if undeleted {
                    "rowsUndeleted"
                } else {
                    "rowsDeleted"
                },
                &r.path,
            )
            .values(
                Some(format!("{} deleted", r.from_deleted)),
                Some(format!("{} deleted", r.to_deleted)),
            )
            .sized(Some(r.to_deleted.abs_diff(r.from_deleted)), 0),
        );
    }
    for c in &d.schema.changes {
        out.push(match c {
            FieldChange::Added {
                id,
                path,
                data_type,
                required,
            } => {
                let opt = if *required { "" } else { "?" };
                Change::new("fieldAdded", format!("{path} (id {id})"))
                    .values(None, Some(format!("{data_type}{opt}")))
            }
            FieldChange::Dropped {
                id,
                path,
                data_type,
            } => Change::new("fieldDropped", format!("{path} (id {id})"))
                .values(Some(data_type.clone()), None),
            FieldChange::Renamed { id, from, to } => {
                Change::new("fieldRenamed", format!("{to} (id {id})"))
                    .values(Some(from.clone()), Some(to.clone()))
            }
            FieldChange::TypeChanged { id, path, from, to } => {
                Change::new("fieldTypeChanged", format!("{path} (id {id})"))
                    .values(Some(from.clone()), Some(to.clone()))
            }
            FieldChange::NullabilityChanged {
                id,
                path,
                from_required,
                to_required,
            } => {
                let word = |r: bool| if r { "required" } else { "optional" }.to_string();
                Change::new("fieldNullabilityChanged", format!("{path} (id {id})"))
                    .values(Some(word(*from_required)), Some(word(*to_required)))
            }
        });
    }
    if let Some(p) = &d.partition_spec {
        out.push(
            Change::new("partitionSpecChanged", "default spec")
                .values(Some(p.from_text.clone()), Some(p.to_text.clone())),
        );
    }
    for p in &d.properties {
        out.push(Change::new("propertyChanged", &p.key).values(p.from.clone(), p.to.clone()));
    }
    for t in &d.tags {
        let v = |v: Option<u64>| v.map(|v| v.to_string());
        out.push(Change::new("tagChanged", &t.name).values(v(t.from), v(t.to)));
    }
    for m in &d.tier_moves {
        let place = |tier: &str, loc: &Option<String>| match loc {
            Some(l) => format!("{tier} ({l})"),
            None => tier.to_string(),
        };
        out.push(
            Change::new("tierMoved", &m.path)
                .values(
                    Some(place(&m.from_tier, &m.from_location)),
                    Some(place(&m.to_tier, &m.to_location)),
                )
                .sized(None, m.bytes),
        );
    }
    out
}

fn version_json(s: &TableState) -> Value {
    json!({
        "version": s.version(),
        "timestamp": time(s.timestamp()),
        "timestampMs": s.timestamp(),
        "operation": s.commit_info().operation,
    })
}

/// Partition values keyed by partition field name (as `strata files` prints them).
fn files_json(files: &[FileEntry], names: &BTreeMap<i32, String>) -> Value {
    files
        .iter()
        .map(|f| {
            let partition: BTreeMap<String, Value> = f
                .partition
                .iter()
                .map(|(id, v)| {
                    let name = names.get(id).cloned().unwrap_or_else(|| id.to_string());
                    (name, v.clone())
                })
                .collect();
            json!({
                "path": f.path,
                "rows": f.rows,
                "bytes": f.bytes,
                "partition": partition,
                "tier": f.tier,
            })
        })
        .collect()
}

fn document(uri: &str, a: &TableState, b: &TableState, d: &TableDiff) -> CliResult<Value> {
    let names: BTreeMap<i32, String> = [a, b]
        .iter()
        .flat_map(|s| s.metadata().partition_specs.iter())
        .flat_map(|sp| sp.fields.iter().map(|f| (f.field_id, f.name.clone())))
        .collect();
    Ok(json!({
        "table": uri,
        "from": version_json(a),
        "to": version_json(b),
        "summary": serde_json::to_value(d.summary)?,
        "filesAdded": files_json(&d.files_added, &names),
        "filesRemoved": files_json(&d.files_removed, &names),
        "schema": serde_json::to_value(&d.schema)?,
        "partitionSpec": serde_json::to_value(&d.partition_spec)?,
        "properties": serde_json::to_value(&d.properties)?,
        "tags": serde_json::to_value(&d.tags)?,
        "tierMoves": serde_json::to_value(&d.tier_moves)?,
        "rowsDeleted": serde_json::to_value(&d.rows_deleted)?,
    }))
}

/// `strata diff TABLE FROM TO`.
pub async fn run(
    t: &Table,
    from: &str,
    to: &str,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let (fv, tv) = (resolve(t, from).await?, resolve(t, to).await?);
    let a = t.committed_state(fv).await?;
    let b = t.committed_state(tv).await?;
    let d = diff(&a, &b);
    let list = changes(&d);
    let header = ["CHANGE", "SUBJECT", "FROM", "TO", "ROWS", "BYTES"];
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    match format {
        OutputFormat::Json => write_json(format, &document(t.uri(), &a, &b, &d)?, None, out),
        OutputFormat::Ndjson => {
            let items: Vec<Value> = list.iter().map(Change::json).collect();
            write_json(format, &Value::Null, Some(&items), out)
        }
        OutputFormat::Csv => {
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|c| {
                    vec![
                        c.kind.to_string(),
                        c.subject.clone(),
                        opt(&c.from),
                        opt(&c.to),
                        num(c.rows),
                        num(c.bytes),
                    ]
                })
                .collect();
            write_csv(&header, &rows, out)
        }
        OutputFormat::Table => {
            let line = |s: &TableState| {
                format!(
                    "version {} ({}, {})",
                    s.version(),
                    time(s.timestamp()),
                    s.commit_info().operation
                )
            };
            let sm = &d.summary;
            writeln!(out, "table      {}", t.uri())?;
            writeln!(out, "from       {}", line(&a))?;
            writeln!(out, "to         {}", line(&b))?;
            writeln!(
                out,
                "files      +{} ({} rows, {}), -{} ({} rows, {})",
                sm.files_added,
                sm.rows_added,
                human_size(sm.bytes_added),
                sm.files_removed,
                sm.rows_removed,
                human_size(sm.bytes_removed)
            )?;
            writeln!(out, "rows       {} -> {}", sm.rows_before, sm.rows_after)?;
            writeln!(
                out,
                "schema     id {} -> {}, {} change(s)",
                d.schema.from_schema_id, d.schema.to_schema_id, sm.schema_changes
            )?;
            writeln!(out, "tier moves {}", sm.tier_moves)?;
            if sm.files_with_deleted_rows > 0 {
                writeln!(
                    out,
                    "in place   rows deleted or undeleted in {} file(s) (deletion vectors)",
                    sm.files_with_deleted_rows
                )?;
            }
            if list.is_empty() {
                writeln!(out, "no changes")?;
                return Ok(());
            }
            writeln!(out)?;
            let mut tt = TextTable::new(&header);
            for c in &list {
                tt.row(vec![
                    c.kind.to_string(),
                    c.subject.clone(),
                    c.from.clone().unwrap_or_else(|| "-".into()),
                    c.to.clone().unwrap_or_else(|| "-".into()),
                    num(c.rows),
                    c.bytes.map(human_size).unwrap_or_default(),
                ]);
            }
            tt.write(out)
        }
    }
}
