//! `strata schema` and `strata partition`: schema and partition evolution.

use serde_json::Value;
use strata_format::compact::parse_partition_spec;
use strata_format::partition::FIRST_PARTITION_FIELD_ID;
use strata_format::{PrimitiveType, Transform};
use strata_table::{Position, SchemaChange, Table};

use crate::args::{PartitionAction, SchemaAction};
use crate::error::{CliError, CliResult};

/// Splits `a.b.c` into (`Some("a.b")`, `c`).
fn split_parent(name: &str) -> (Option<String>, String) {
    match name.rsplit_once('.') {
        Some((parent, last)) => (Some(parent.to_string()), last.to_string()),
        None => (None, name.to_string()),
    }
}

fn parse_type(text: &str) -> CliResult<PrimitiveType> {
    PrimitiveType::parse(text.trim()).map_err(|e| {
        CliError::user(e.to_string()).with_hint(
            "types: boolean, int8, int16, int32, int64, float32, float64, decimal(P,S), date, \
             time, timestamp, timestamptz, string, binary",
        )
    })
}

/// A `--default`: JSON, or else the text itself as a string.
fn parse_default(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// Turns a `strata schema` command line into the changes to apply.
pub fn changes(action: SchemaAction) -> CliResult<Vec<SchemaChange>> {
    Ok(match action {
        SchemaAction::Add {
            name,
            data_type,
            optional,
            default,
            doc,
            after,
            first,
        } => {
            // `name TYPE` or `name:TYPE` (the `create --schema` form).
            let (name, data_type) = match (data_type, name.split_once(':')) {
                (Some(t), _) => (name, t),
                (None, Some((n, t))) => (n.trim().to_string(), t.to_string()),
                (None, None) => {
                    return Err(CliError::user(format!(
                        "`{name}` has no type: give `{name} TYPE` or `{name}:TYPE` (e.g. `{name}:int64?`)"
                    )));
                }
            };
            let (ty, optional) = match data_type.trim().strip_suffix('?') {
                Some(t) => (t.to_string(), true),
                None => (data_type, optional),
            };
            let (parent, leaf) = split_parent(&name);
            let mut out = vec![SchemaChange::AddColumn {
                parent,
                name: leaf,
                data_type: parse_type(&ty)?.into(),
                required: !optional,
                default: default.as_deref().map(parse_default),
                doc,
            }];
            let position = match (first, after) {
                (true, _) => Some(Position::First),
                (false, Some(a)) => Some(Position::After(a)),
                (false, None) => None,
            };
            if let Some(position) = position {
                out.push(SchemaChange::MoveColumn {
                    path: name,
                    position,
                });
            }
            out
        }
        SchemaAction::Drop { column } => vec![SchemaChange::DropColumn { path: column }],
        SchemaAction::Rename { column, new_name } => vec![SchemaChange::RenameColumn {
            path: column,
            new_name,
        }],
        SchemaAction::Move {
            column,
            first,
            after,
            before,
        } => {
            let position = match (first, after, before) {
                (true, _, _) => Position::First,
                (false, Some(a), _) => Position::After(a),
                (false, None, Some(b)) => Position::Before(b),
                (false, None, None) => {
                    return Err(CliError::user(
                        "where to? give --first, --after C or --before C",
                    ));
                }
            };
            vec![SchemaChange::MoveColumn {
                path: column,
                position,
            }]
        }
        SchemaAction::Widen { column, data_type } => vec![SchemaChange::WidenColumn {
            path: column,
            to: parse_type(&data_type)?,
        }],
        SchemaAction::Optional { column } => vec![SchemaChange::MakeOptional { path: column }],
    })
}

pub async fn schema(t: &Table, action: SchemaAction, quiet: bool) -> CliResult {
    let changes = changes(action)?;
    let c = t.update_schema(changes).await?;
    if !quiet {
        eprintln!(
            "schema changed: version {} (schema id {})",
            c.version,
            c.snapshot.schema().schema_id()
        );
    }
    Ok(())
}

/// Parses `day(ts), bucket(16, id)` (or `none`) against the table's current schema.
pub fn partition_fields(
    text: &str,
    schema: &strata_format::Schema,
) -> CliResult<Vec<(String, Transform)>> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("unpartitioned") {
        return Ok(Vec::new());
    }
    let spec = parse_partition_spec(t, schema, 0, FIRST_PARTITION_FIELD_ID)?;
    let index = schema.field_index();
    spec.fields
        .iter()
        .map(|f| {
            index
                .get(&f.source_id)
                .map(|info| (info.path.clone(), f.transform))
                .ok_or_else(|| {
                    CliError::user(format!("partition field `{}` has no source column", f.name))
                })
        })
        .collect()
}

pub async fn partition(t: &Table, action: PartitionAction, quiet: bool) -> CliResult {
    match action {
        PartitionAction::Set { spec } => {
            let latest = t.latest().await?;
            let fields = partition_fields(&spec, latest.schema())?;
            let c = t.update_partition_spec(fields).await?;
            if !quiet {
                eprintln!(
                    "partitioning changed: version {} (spec id {}); existing files keep theirs",
                    c.version,
                    c.snapshot.metadata().default_spec_id
                );
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_format::compact::parse_schema;

    #[test]
    fn add_takes_the_create_schema_form_too() {
        let add = |name: &str, data_type: Option<&str>| {
            changes(SchemaAction::Add {
                name: name.into(),
                data_type: data_type.map(str::to_string),
                optional: false,
                default: None,
                doc: None,
                after: None,
                first: false,
            })
        };
        for (name, ty, required) in [
            ("score:float64?", None, false),
            ("score:decimal(10,2)", None, true),
            ("score", Some("float64?"), false),
        ] {
            match &add(name, ty).unwrap()[0] {
                SchemaChange::AddColumn {
                    name, required: r, ..
                } => {
                    assert_eq!(name, "score");
                    assert_eq!(*r, required, "{name}");
                }
                other => panic!("{other:?}"),
            }
        }
        let err = add("score", None).unwrap_err().to_string();
        assert!(err.contains("score:int64?"), "{err}");
    }

    #[test]
    fn add_with_position_becomes_add_then_move() {
        let c = changes(SchemaAction::Add {
            name: "point.y".into(),
            data_type: Some("float64?".into()),
            optional: false,
            default: Some("n/a".into()),
            doc: None,
            after: None,
            first: true,
        })
        .unwrap();
        assert_eq!(c.len(), 2);
        match &c[0] {
            SchemaChange::AddColumn {
                parent,
                name,
                required,
                default,
                ..
            } => {
                assert_eq!(parent.as_deref(), Some("point"));
                assert_eq!(name, "y");
                assert!(!required);
                assert_eq!(default, &Some(Value::String("n/a".into())));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            c[1],
            SchemaChange::MoveColumn {
                path: "point.y".into(),
                position: Position::First
            }
        );
        assert!(
            changes(SchemaAction::Widen {
                column: "id".into(),
                data_type: "int65".into()
            })
            .is_err()
        );
    }

    #[test]
    fn partition_specs_map_to_source_paths() {
        let s = parse_schema("id:int64,ts:timestamptz").unwrap();
        let f = partition_fields("day(ts), bucket(16, id)", &s).unwrap();
        assert_eq!(
            f,
            vec![
                ("ts".to_string(), Transform::Day),
                ("id".to_string(), Transform::Bucket(16))
            ]
        );
        assert!(partition_fields("none", &s).unwrap().is_empty());
        assert!(partition_fields("day(nope)", &s).is_err());
    }
}
