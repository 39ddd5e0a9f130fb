//! Commands that change a table: create, tag, restore, checkpoint.

use std::collections::BTreeMap;
use std::io::Write;

use strata_format::compact::{parse_partition_spec, parse_schema};
use strata_format::partition::FIRST_PARTITION_FIELD_ID;
use strata_format::{PartitionSpec, Schema};
use strata_table::{CreateTable, Table};

use crate::args::{OutputFormat, TagAction};
use crate::error::{CliError, CliResult};
use crate::output::{TextTable, write_csv, write_json};

/// A schema from a JSON file (SPEC §4.1) or `name:type[?],...` text.
pub fn load_schema(text: &str) -> CliResult<Schema> {
    let path = std::path::Path::new(text);
    if text.ends_with(".json") || path.is_file() {
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::user(format!("cannot read schema file `{text}`: {e}")))?;
        return serde_json::from_slice(&bytes).map_err(|e| {
            CliError::user(format!("schema file `{text}`: {e}"))
                .with_hint("see SPEC.md §4.1 for the schema JSON, or use `id:int64,name:string?`")
        });
    }
    Ok(parse_schema(text)?)
}

/// Creates a table by path.
pub async fn create(
    table: &str,
    schema: Schema,
    partition_by: Option<&str>,
    properties: &BTreeMap<String, String>,
    quiet: bool,
) -> CliResult<Table> {
    let spec = match partition_by {
        Some(p) => parse_partition_spec(p, &schema, 0, FIRST_PARTITION_FIELD_ID)?,
        None => PartitionSpec::unpartitioned(),
    };
    let mut create = CreateTable::new(schema).with_partition_spec(spec);
    create.properties = properties.clone();
    let t = Table::create(table, create).await?;
    if !quiet {
        eprintln!("created table {} at version 0", t.uri());
    }
    Ok(t)
}

pub async fn tag(
    t: &Table,
    action: TagAction,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    match action {
        TagAction::Create { name, version } => {
            let v = match version {
                Some(v) => v,
                None => t.latest().await?.version(),
            };
            let c = t.create_tag(&name, v).await?;
            eprintln!(
                "tag `{name}` -> version {v} (committed as version {})",
                c.version
            );
            Ok(())
        }
        TagAction::Delete { name } => {
            let c = t.delete_tag(&name).await?;
            eprintln!("tag `{name}` deleted (committed as version {})", c.version);
            Ok(())
        }
        TagAction::List => {
            let s = t.latest().await?;
            let items: Vec<serde_json::Value> = s
                .tags()
                .iter()
                .map(|(n, v)| serde_json::json!({"name": n, "version": v}))
                .collect();
            match format {
                OutputFormat::Csv => {
                    let rows: Vec<Vec<String>> = s
                        .tags()
                        .iter()
                        .map(|(n, v)| vec![n.clone(), v.to_string()])
                        .collect();
                    write_csv(&["TAG", "VERSION"], &rows, out)
                }
                OutputFormat::Table => {
                    let mut tt = TextTable::new(&["TAG", "VERSION"]);
                    for (n, v) in s.tags() {
                        tt.row(vec![n.clone(), v.to_string()]);
                    }
                    tt.write(out)
                }
                _ => write_json(
                    format,
                    &serde_json::json!({"tags": items}),
                    Some(&items),
                    out,
                ),
            }
        }
    }
}

/// `strata properties`: sets and removes properties (one commit), then prints them.
pub async fn properties(
    t: &Table,
    set: &BTreeMap<String, String>,
    unset: &[String],
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let s = if set.is_empty() && unset.is_empty() {
        t.latest().await?
    } else {
        let c = t.set_properties(set, unset).await?;
        let features = &c.snapshot.protocol().reader_features;
        let enabled: Vec<String> = [
            (
                "strata.deletionVectors",
                "deletionVectors",
                "deletion vectors",
            ),
            (
                "strata.typedCheckpoints",
                "typedCheckpoints",
                "typed checkpoints",
            ),
        ]
        .into_iter()
        .filter(|(prop, feature, _)| {
            features.iter().any(|f| f == feature) && set.get(*prop).is_some_and(|v| v == "true")
        })
        .map(|(_, feature, what)| {
            format!(" ({what} enabled: readers need the feature `{feature}`)")
        })
        .collect();
        eprintln!("committed version {}{}", c.version, enabled.concat());
        c.snapshot
    };
    let props = &s.metadata().properties;
    match format {
        OutputFormat::Csv => {
            let rows: Vec<Vec<String>> = props
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect();
            write_csv(&["KEY", "VALUE"], &rows, out)
        }
        OutputFormat::Table => {
            let mut tt = TextTable::new(&["KEY", "VALUE"]);
            for (k, v) in props {
                tt.row(vec![k.clone(), v.clone()]);
            }
            tt.write(out)
        }
        _ => {
            let items: Vec<serde_json::Value> = props
                .iter()
                .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
                .collect();
            write_json(
                format,
                &serde_json::json!({"version": s.version(), "properties": props,
                                    "readerFeatures": s.protocol().reader_features}),
                Some(&items),
                out,
            )
        }
    }
}

pub async fn restore(t: &Table, version: u64, quiet: bool) -> CliResult {
    let c = t.restore(version).await?;
    if !quiet {
        eprintln!("restored version {version} as version {}", c.version);
    }
    Ok(())
}

pub async fn checkpoint(t: &Table, quiet: bool) -> CliResult {
    let bar = crate::style::spinner(&format!("writing a checkpoint of {}", t.uri()), quiet);
    let v = t.checkpoint().await?;
    bar.finish_and_clear();
    if !quiet {
        eprintln!("checkpoint written at version {v}");
    }
    Ok(())
}
