//! Schema and partition evolution cases: every version reads with its own schema, old rows read
//! with defaults, nulls and widened values; old files keep their partition spec; refused
//! changes change nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float32Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType as ArrowType, Field};
use arrow::util::display::array_value_to_string;
use serde_json::{Value, json};
use strata_format::expr::Expr;
use strata_format::schema::StructType;
use strata_format::{DataType, FieldId, PrimitiveType, Schema, StructField, Transform};
use strata_table::arrow_schema::to_arrow_schema;
use strata_table::{CreateTable, Position, SchemaChange, SnapshotSelector, Table, TableOptions};

use crate::backends::{CaseResult, TestBackend};
use crate::{check, check_eq};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One step of the matrix: the changes, the field id they add and drop, the top-level names
/// after them.
type Step<'a> = (
    Vec<SchemaChange>,
    Option<FieldId>,
    Option<FieldId>,
    Vec<&'a str>,
);

/// A logical row: values by field id (`Value::Null` for null). A field the row does not
/// mention did not exist when the row was written.
type Row = BTreeMap<FieldId, Value>;

/// Builds the batch of `rows` in `schema` (every struct non-null).
fn batch(schema: &Schema, rows: &[Row]) -> Result<RecordBatch, BoxError> {
    let target = to_arrow_schema(schema)?;
    let cols = schema
        .fields()
        .iter()
        .zip(target.fields())
        .map(|(f, tf)| column(f, tf, rows))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(target, cols)?)
}

fn column(f: &StructField, target: &Field, rows: &[Row]) -> Result<ArrayRef, BoxError> {
    let get = |r: &Row| r.get(&f.id).cloned().unwrap_or(Value::Null);
    Ok(match &f.data_type {
        DataType::Primitive(PrimitiveType::Int32) => Arc::new(Int32Array::from(
            rows.iter()
                .map(|r| get(r).as_i64().and_then(|x| i32::try_from(x).ok()))
                .collect::<Vec<_>>(),
        )),
        DataType::Primitive(PrimitiveType::Int64) => Arc::new(Int64Array::from(
            rows.iter().map(|r| get(r).as_i64()).collect::<Vec<_>>(),
        )),
        DataType::Primitive(PrimitiveType::Date) => Arc::new(Date32Array::from(
            rows.iter()
                .map(|r| get(r).as_i64().and_then(|x| i32::try_from(x).ok()))
                .collect::<Vec<_>>(),
        )),
        DataType::Primitive(PrimitiveType::Float64) => Arc::new(Float64Array::from(
            rows.iter().map(|r| get(r).as_f64()).collect::<Vec<_>>(),
        )),
        DataType::Primitive(PrimitiveType::String) => Arc::new(StringArray::from(
            rows.iter()
                .map(|r| get(r).as_str().map(String::from))
                .collect::<Vec<_>>(),
        )),
        DataType::Struct(s) => {
            let ArrowType::Struct(children) = target.data_type() else {
                return Err(format!("{} is not an Arrow struct", f.name).into());
            };
            let arrays = s
                .fields
                .iter()
                .zip(children.iter())
                .map(|(c, tc)| column(c, tc, rows))
                .collect::<Result<Vec<_>, _>>()?;
            Arc::new(StructArray::try_new(children.clone(), arrays, None)?)
        }
        other => return Err(format!("the case does not build {other} columns").into()),
    })
}

/// Leaf columns of a schema in order: (dotted path, field id, initial default).
fn leaves(fields: &[StructField], prefix: &str, out: &mut Vec<(String, FieldId, Option<Value>)>) {
    for f in fields {
        let path = if prefix.is_empty() {
            f.name.clone()
        } else {
            format!("{prefix}.{}", f.name)
        };
        match &f.data_type {
            DataType::Struct(s) => leaves(&s.fields, &path, out),
            _ => out.push((path, f.id, f.initial_default.clone())),
        }
    }
}

fn render_json(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Leaf columns of a batch, rendered as text: path -> values.
fn render_batch(batch: &RecordBatch) -> Result<BTreeMap<String, Vec<String>>, BoxError> {
    fn walk(
        name: &str,
        a: &ArrayRef,
        out: &mut BTreeMap<String, Vec<String>>,
    ) -> Result<(), BoxError> {
        if let Some(s) = a.as_any().downcast_ref::<StructArray>() {
            for (f, c) in s.fields().iter().zip(s.columns()) {
                walk(&format!("{name}.{}", f.name()), c, out)?;
            }
            return Ok(());
        }
        let mut vals = Vec::with_capacity(a.len());
        for i in 0..a.len() {
            vals.push(if a.is_null(i) {
                "null".to_string()
            } else {
                array_value_to_string(a, i)?
            });
        }
        out.insert(name.to_string(), vals);
        Ok(())
    }
    let mut out = BTreeMap::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        walk(f.name(), c, &mut out)?;
    }
    Ok(out)
}

/// Scans version `v`; checks the output schema is the Arrow form of that version's schema and
/// the rows are `rows` as that schema reads them (sorted by `id`).
async fn check_version(t: &Table, v: u64, rows: &[Row]) -> CaseResult {
    let snap = t.snapshot(&SnapshotSelector::Version(v)).await?;
    let schema = snap.schema().clone();
    let scan = t
        .scan()
        .snapshot(SnapshotSelector::Version(v))
        .plan()
        .await?;
    let out_schema = scan.output_schema();
    let expected_schema = to_arrow_schema(&schema)?;
    check!(
        out_schema.fields() == expected_schema.fields(),
        "version {v}: the scan schema {:?} is not the version's schema {:?}",
        out_schema.fields(),
        expected_schema.fields()
    );
    let batches = scan.collect().await?;
    let mut cols: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in &batches {
        for (k, vals) in render_batch(b)? {
            cols.entry(k).or_default().extend(vals);
        }
    }
    let mut leaf = Vec::new();
    leaves(schema.fields(), "", &mut leaf);
    // Actual rows as tuples in leaf order.
    let n: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut actual: Vec<Vec<String>> = (0..n)
        .map(|i| {
            leaf.iter()
                .map(|(p, _, _)| {
                    cols.get(p)
                        .and_then(|c| c.get(i))
                        .cloned()
                        .unwrap_or_else(|| "<missing>".into())
                })
                .collect()
        })
        .collect();
    let mut expected: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            leaf.iter()
                .map(|(_, id, default)| match (r.get(id), default) {
                    (Some(v), _) => render_json(v),
                    (None, Some(d)) => render_json(d),
                    (None, None) => "null".into(),
                })
                .collect()
        })
        .collect();
    // The id column (field 1) sorts the rows.
    let id_pos = leaf.iter().position(|(_, id, _)| *id == 1).unwrap_or(0);
    let key = |r: &Vec<String>| r.get(id_pos).and_then(|s| s.parse::<i64>().ok());
    actual.sort_by_key(key);
    expected.sort_by_key(key);
    check_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(&expected) {
        check!(
            a == e,
            "version {v}: read row {a:?}, expected {e:?} (columns {:?})",
            leaf.iter().map(|l| l.0.as_str()).collect::<Vec<_>>()
        );
    }
    Ok(())
}

fn top_names(schema: &Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name.clone()).collect()
}

/// id int32, name string, point struct<x float64, label string>.
fn matrix_schema() -> Result<Schema, strata_format::FormatError> {
    Schema::new(
        0,
        vec![
            StructField::required(1, "id", PrimitiveType::Int32),
            StructField::optional(2, "name", PrimitiveType::String),
            StructField::optional(
                3,
                "point",
                DataType::Struct(StructType {
                    fields: vec![
                        StructField::required(4, "x", PrimitiveType::Float64),
                        StructField::optional(5, "label", PrimitiveType::String),
                    ],
                }),
            ),
        ],
    )
}

/// Rows `from..to` with a value for every field id in `ids` (field 7, `score`, gets id*10;
/// field 8, `point.y`, gets id+0.25; strings are `n{id}` etc.).
fn rows(from: i64, to: i64, ids: &[FieldId]) -> Vec<Row> {
    (from..to)
        .map(|i| {
            ids.iter()
                .map(|&f| {
                    let v = match f {
                        1 => json!(i),
                        2 => {
                            if i % 3 == 0 {
                                Value::Null
                            } else {
                                json!(format!("n{i}"))
                            }
                        }
                        4 => json!(i as f64 + 0.5),
                        5 => json!(format!("l{i}")),
                        6 => json!(format!("e{i}@x")),
                        7 => json!(i * 10),
                        8 => json!(i as f64 + 0.25),
                        _ => Value::Null,
                    };
                    (f, v)
                })
                .collect()
        })
        .collect()
}

/// A table goes through every kind of schema change with appends in between; every version
/// scans with its own schema and reads the rows of every older file correctly.
pub async fn schema_evolution_matrix(b: &TestBackend) -> CaseResult {
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(matrix_schema()?),
        TableOptions::default(),
    )
    .await?;
    // Field ids every row of the current schema has a value for.
    let mut live: Vec<FieldId> = vec![1, 2, 4, 5];
    // Rows of the table after each version (index = version).
    let mut table_rows: Vec<Vec<Row>> = vec![Vec::new()];
    let mut all: Vec<Row> = Vec::new();
    let mut next = 1i64;
    let mut expected_names: Vec<Vec<&str>> = vec![vec!["id", "name", "point"]];

    async fn append(
        t: &Table,
        live: &[FieldId],
        next: &mut i64,
        all: &mut Vec<Row>,
    ) -> Result<u64, BoxError> {
        let new = rows(*next, *next + 3, live);
        *next += 3;
        let schema = t.latest().await?.schema().clone();
        let c = t.append([batch(&schema, &new)?]).await?;
        all.extend(new);
        Ok(c.version)
    }

    let steps: Vec<Step<'_>> = vec![
        (
            vec![SchemaChange::AddColumn {
                parent: None,
                name: "email".into(),
                data_type: PrimitiveType::String.into(),
                required: false,
                default: None,
                doc: None,
            }],
            Some(6),
            None,
            vec!["id", "name", "point", "email"],
        ),
        (
            vec![SchemaChange::AddColumn {
                parent: None,
                name: "score".into(),
                data_type: PrimitiveType::Int64.into(),
                required: true,
                default: Some(json!(7)),
                doc: Some("points".into()),
            }],
            Some(7),
            None,
            vec!["id", "name", "point", "email", "score"],
        ),
        (
            vec![SchemaChange::RenameColumn {
                path: "name".into(),
                new_name: "full_name".into(),
            }],
            None,
            None,
            vec!["id", "full_name", "point", "email", "score"],
        ),
        (
            vec![SchemaChange::WidenColumn {
                path: "id".into(),
                to: PrimitiveType::Int64,
            }],
            None,
            None,
            vec!["id", "full_name", "point", "email", "score"],
        ),
        (
            vec![SchemaChange::MoveColumn {
                path: "score".into(),
                position: Position::First,
            }],
            None,
            None,
            vec!["score", "id", "full_name", "point", "email"],
        ),
        (
            vec![SchemaChange::MakeOptional { path: "id".into() }],
            None,
            None,
            vec!["score", "id", "full_name", "point", "email"],
        ),
        (
            vec![SchemaChange::DropColumn {
                path: "email".into(),
            }],
            None,
            Some(6),
            vec!["score", "id", "full_name", "point"],
        ),
        (
            vec![SchemaChange::AddColumn {
                parent: Some("point".into()),
                name: "y".into(),
                data_type: PrimitiveType::Float64.into(),
                required: false,
                default: None,
                doc: None,
            }],
            Some(8),
            None,
            vec!["score", "id", "full_name", "point"],
        ),
    ];

    let v = append(&t, &live, &mut next, &mut all).await?;
    check_eq!(v, 1);
    table_rows.push(all.clone());
    expected_names.push(expected_names[0].clone());
    for (changes, added, dropped, names) in steps {
        let c = t.update_schema(changes).await?;
        check_eq!(c.version, table_rows.len() as u64);
        table_rows.push(all.clone());
        expected_names.push(names.clone());
        if let Some(a) = added {
            live.push(a);
        }
        if let Some(d) = dropped {
            live.retain(|f| *f != d);
        }
        let v = append(&t, &live, &mut next, &mut all).await?;
        check_eq!(v, table_rows.len() as u64);
        table_rows.push(all.clone());
        expected_names.push(names);
    }
    let latest = t.latest().await?;
    check_eq!(latest.version() + 1, table_rows.len() as u64);
    // Schema ids count the changes; ids are never reused.
    check_eq!(latest.schema().schema_id(), 8);
    check_eq!(latest.metadata().last_column_id, 8);
    let history = t.history(Some(2)).await?;
    check!(
        history.iter().any(|h| h.info.operation == "CHANGE SCHEMA"),
        "the history has no CHANGE SCHEMA entry: {:?}",
        history
            .iter()
            .map(|h| &h.info.operation)
            .collect::<Vec<_>>()
    );
    for (v, rows_v) in table_rows.iter().enumerate() {
        let v = v as u64;
        let snap = t.snapshot(&SnapshotSelector::Version(v)).await?;
        check_eq!(top_names(snap.schema()), expected_names[v as usize]);
        check_version(&t, v, rows_v).await?;
    }
    // Spot checks of the rules at the latest version.
    let s = latest.schema();
    let field = |n: &str| s.field_by_name(n).cloned();
    check_eq!(
        field("id").map(|f| (f.id, f.required, f.data_type)),
        Some((1, false, DataType::Primitive(PrimitiveType::Int64)))
    );
    check_eq!(
        field("score").map(|f| (f.id, f.initial_default)),
        Some((7, Some(json!(7))))
    );
    check!(field("email").is_none(), "email was dropped");
    Ok(())
}

/// Unpartitioned, then `day(ts)`: files written before keep spec 0, new ones get the new spec,
/// and scans (plain and filtered) return the rows of both.
pub async fn partition_evolution_keeps_old_files(b: &TestBackend) -> CaseResult {
    let schema = strata_format::compact::parse_schema("id:int64,ts:timestamptz")?;
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(schema.clone()),
        TableOptions::default(),
    )
    .await?;
    let target = to_arrow_schema(&schema)?;
    let day = 86_400_000_000i64;
    let make = |ids: Vec<i64>| -> Result<RecordBatch, BoxError> {
        let ts: Vec<i64> = ids.iter().map(|i| i * day / 2).collect();
        Ok(RecordBatch::try_new(
            target.clone(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
            ],
        )?)
    };
    t.append([make((0..6).collect())?]).await?;
    let c = t
        .update_partition_spec(vec![("ts".into(), Transform::Day)])
        .await?;
    check_eq!(c.version, 2);
    let meta = c.snapshot.metadata();
    check_eq!(meta.default_spec_id, 1);
    check_eq!(meta.partition_specs.len(), 2);
    t.append([make((6..12).collect())?]).await?;
    let latest = t.latest().await?;
    let files: Vec<_> = latest.files().values().cloned().collect();
    let old: Vec<_> = files.iter().filter(|f| f.spec_id == 0).collect();
    let new: Vec<_> = files.iter().filter(|f| f.spec_id == 1).collect();
    check_eq!(old.len(), 1);
    check_eq!(old.first().map(|f| f.record_count), Some(6));
    check!(
        old.iter().all(|f| f.partition_values.is_empty()),
        "the old file gained partition values"
    );
    check_eq!(new.len(), 3);
    check!(
        new.iter().all(|f| f.partition_values.contains_key(&1000)),
        "a new file lacks the day partition value: {new:?}"
    );
    check_eq!(old.len() + new.len(), files.len());

    let ids_of = |batches: &[RecordBatch]| -> Result<Vec<i64>, BoxError> {
        let mut out = super::data::ids_of(batches)?;
        out.sort_unstable();
        Ok(out)
    };
    let all = t.scan().plan().await?.collect().await?;
    check_eq!(ids_of(&all)?, (0..12).collect::<Vec<i64>>());
    // ts >= day 2 (ids 4.. have ts = id/2 days).
    let pred = Expr::parse("ts >= TIMESTAMP '1970-01-03 00:00:00'")?;
    let filtered = t.scan().filter(pred).plan().await?.collect().await?;
    check_eq!(ids_of(&filtered)?, (4..12).collect::<Vec<i64>>());
    // Version 1 still reads under spec 0 only.
    let v1 = t
        .scan()
        .snapshot(SnapshotSelector::Version(1))
        .plan()
        .await?
        .collect()
        .await?;
    check_eq!(ids_of(&v1)?, (0..6).collect::<Vec<i64>>());
    Ok(())
}

/// Narrowing, incompatible widening, a required column without default, unknown columns, name
/// clashes, dropping a partition source and a date widening over files with statistics are all
/// refused with the reason, and commit nothing.
pub async fn incompatible_changes_are_refused_and_change_nothing(b: &TestBackend) -> CaseResult {
    let schema = strata_format::compact::parse_schema("id:int64,name:string?,d:date?")?;
    let spec = strata_format::compact::parse_partition_spec("bucket(4, id)", &schema, 0, 1000)?;
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(schema.clone()).with_partition_spec(spec),
        TableOptions::default(),
    )
    .await?;
    let rows: Vec<Row> = (0..4)
        .map(|i| {
            [
                (1, json!(i)),
                (2, json!(format!("n{i}"))),
                (3, json!(19_000 + i)),
            ]
            .into_iter()
            .collect()
        })
        .collect();
    t.append([batch(&schema, &rows)?]).await?;
    let before = t.latest().await?;
    let cases: Vec<(SchemaChange, &str)> = vec![
        (
            SchemaChange::WidenColumn {
                path: "id".into(),
                to: PrimitiveType::Int32,
            },
            "would lose data",
        ),
        (
            SchemaChange::WidenColumn {
                path: "name".into(),
                to: PrimitiveType::Int64,
            },
            "not a widening",
        ),
        (
            SchemaChange::AddColumn {
                parent: None,
                name: "n".into(),
                data_type: PrimitiveType::Int32.into(),
                required: true,
                default: None,
                doc: None,
            },
            "give a default or make it optional",
        ),
        (
            SchemaChange::DropColumn {
                path: "nope".into(),
            },
            "columns: id, name, d",
        ),
        (
            SchemaChange::RenameColumn {
                path: "name".into(),
                new_name: "id".into(),
            },
            "already has a column named `id`",
        ),
        (
            SchemaChange::DropColumn { path: "id".into() },
            "partition field `id_bucket`",
        ),
        (
            SchemaChange::MakeRequired {
                path: "name".into(),
            },
            "not supported",
        ),
        (
            SchemaChange::WidenColumn {
                path: "d".into(),
                to: PrimitiveType::Timestamp,
            },
            "statistics",
        ),
    ];
    for (change, why) in cases {
        let what = change.to_string();
        match t.update_schema(vec![change]).await {
            Ok(c) => return Err(format!("`{what}` was committed as version {}", c.version).into()),
            Err(e) => {
                let msg = e.to_string();
                check!(
                    msg.contains(why),
                    "`{what}` was refused with `{msg}`, expected `{why}`"
                );
            }
        }
    }
    match t
        .update_partition_spec(vec![("missing".into(), Transform::Day)])
        .await
    {
        Ok(c) => return Err(format!("a bad spec was committed as version {}", c.version).into()),
        Err(e) => check!(
            e.to_string().contains("no column `missing`"),
            "bad spec refused with `{e}`"
        ),
    }
    let after = t.latest().await?;
    check_eq!(after.version(), before.version());
    check_eq!(after.schema(), before.schema());
    check_eq!(after.metadata(), before.metadata());
    // The table still works: a valid change after the refusals lands on the next version.
    let c = t
        .update_schema(vec![SchemaChange::MakeOptional { path: "id".into() }])
        .await?;
    check_eq!(c.version, before.version() + 1);
    Ok(())
}

/// A restore across schema changes (SPEC §8.5): the rows of the restored version come back
/// with its columns, on the current lineage: a widened type stays wide, a dropped column is
/// reinstated with its id (and its data), a column added since is gone, tiers stay; the table
/// reopens, reads at every version and takes new writes.
pub async fn restore_across_schema_changes_keeps_the_lineage(b: &TestBackend) -> CaseResult {
    use strata_format::TierDef;
    let t = Table::create_with(
        b.location("restore-evolution")?,
        CreateTable::new(strata_format::compact::parse_schema(
            "id:int32,name:string?,score:float32?",
        )?),
        TableOptions::default(),
    )
    .await?;
    let first = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
        (
            "name",
            Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
        ),
        (
            "score",
            Arc::new(Float32Array::from(vec![Some(0.5), Some(1.5)])) as ArrayRef,
        ),
    ])?;
    let v1 = t.append([first]).await?.version;
    let rows_v1 = super::sorted_rows(&t, v1).await?;
    t.update_schema(vec![
        SchemaChange::WidenColumn {
            path: "id".into(),
            to: PrimitiveType::Int64,
        },
        SchemaChange::DropColumn {
            path: "score".into(),
        },
        SchemaChange::AddColumn {
            parent: None,
            name: "extra".into(),
            data_type: DataType::Primitive(PrimitiveType::Boolean),
            required: false,
            default: None,
            doc: None,
        },
        SchemaChange::RenameColumn {
            path: "name".into(),
            new_name: "label".into(),
        },
    ])
    .await?;
    let later = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![3_i64])) as ArrayRef),
        (
            "extra",
            Arc::new(BooleanArray::from(vec![true])) as ArrayRef,
        ),
    ])?;
    t.append([later]).await?;
    t.set_tiers(
        vec![TierDef {
            name: "hot".into(),
            location: None,
            storage_class: None,
        }],
        Some("hot".into()),
    )
    .await?;
    let before = t.latest().await?;
    let restored = t.restore(v1).await?.version;
    let now = t.latest().await?;
    let fields = now.schema().fields();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    check_eq!(names, vec!["id", "name", "score"]);
    check_eq!(
        fields[0].data_type,
        DataType::Primitive(PrimitiveType::Int64)
    );
    check!(
        now.schema().schema_id() > before.schema().schema_id(),
        "a new schema id"
    );
    check_eq!(now.metadata().tiers, before.metadata().tiers);
    check_eq!(super::sorted_rows(&t, restored).await?, rows_v1);
    let reopened =
        Table::open_with(b.location("restore-evolution")?, TableOptions::default()).await?;
    for v in 0..=restored {
        super::sorted_rows(&reopened, v).await?;
    }
    let more = RecordBatch::try_from_iter(vec![(
        "id",
        Arc::new(Int64Array::from(vec![4_i64])) as ArrayRef,
    )])?;
    reopened.append([more]).await?;
    check_eq!(reopened.latest().await?.record_count(), 3);
    Ok(())
}
