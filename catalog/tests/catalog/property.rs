//! Property: whatever sequence of action lists a client sends, every commit the catalog
//! accepts leaves a log that a path-addressed reader opens and scans, at the version the
//! catalog reported; every refused one leaves the log as it was.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use proptest::prelude::*;
use serde_json::{Value, json};
use strata_catalog::model::{CommitRequest, CreateTableRequest, TableChange};
use strata_catalog::store::TableIdent;
use strata_catalog::{Catalog, open_store};
use strata_format::{Action, AddFile, PrimitiveType, StructField};
use strata_table::Table;

/// One action to derive from the state the table is in.
#[derive(Debug, Clone)]
enum Step {
    /// Add a copy of a real data file: `path` picks the path spelling, `location` where it
    /// claims to be, `size_ok` whether the stated size is right.
    Add {
        path: u8,
        location: u8,
        size_ok: bool,
    },
    /// Remove an active file (or one that is not there).
    Remove { which: usize, real: bool },
    /// Tag a version (or a version that does not exist) with a valid or invalid name.
    Tag { name: u8, version: u8 },
    /// Untag.
    Untag { name: u8 },
    /// A schema change, permitted or not.
    Schema { kind: u8 },
    /// A protocol change, permitted or not.
    Protocol { kind: u8 },
    /// An application transaction.
    Txn { app: u8, batch: u8 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..5, 0u8..4, any::<bool>()).prop_map(|(path, location, size_ok)| Step::Add {
            path,
            location,
            size_ok
        }),
        2 => (0usize..4, any::<bool>()).prop_map(|(which, real)| Step::Remove { which, real }),
        1 => (0u8..3, 0u8..6).prop_map(|(name, version)| Step::Tag { name, version }),
        1 => (0u8..3).prop_map(|name| Step::Untag { name }),
        2 => (0u8..7).prop_map(|kind| Step::Schema { kind }),
        1 => (0u8..3).prop_map(|kind| Step::Protocol { kind }),
        1 => (0u8..2, 0u8..3).prop_map(|(app, batch)| Step::Txn { app, batch }),
    ]
}

fn line(a: &Action) -> Value {
    serde_json::from_str(&a.to_json_line().unwrap()).unwrap()
}

/// The JSON action of a step, given the table's latest state and a real data file.
fn action(
    step: &Step,
    n: usize,
    t: &Table,
    snap: &strata_table::Snapshot,
    real: &AddFile,
) -> Value {
    let root = Path::new(t.uri().trim_start_matches("file://")).to_path_buf();
    match step {
        Step::Add {
            path,
            location,
            size_ok,
        } => {
            let p = match path {
                0 => format!("data/p{n}.parquet"),
                1 => format!("data/k=a%20b/p{n}.parquet"),
                2 => format!("_strata_log/p{n}.parquet"),
                3 => format!("data/../p{n}.parquet"),
                _ => format!("_strata_tier/p{n}.parquet"),
            };
            // The object: a copy of the real file, where the path puts it.
            if !p.contains("..") {
                let key = root.join(&p);
                std::fs::create_dir_all(key.parent().unwrap()).unwrap();
                std::fs::copy(root.join(&real.path), &key).unwrap();
            }
            let mut f = real.clone();
            f.path = p.clone();
            f.location = match location {
                0 => None,
                1 => Some(strata_format::location::location_uri(t.uri(), &p)),
                2 => Some(format!("file:///tmp/elsewhere/{p}")),
                _ => Some(format!("{}/%2e%2e/x/{p}", t.uri())),
            };
            if !size_ok {
                f.size += 1;
            }
            line(&Action::Add(Box::new(f)))
        }
        Step::Remove { which, real } => {
            let path = if *real {
                snap.files().keys().nth(*which).cloned().unwrap_or_default()
            } else {
                format!("data/none{which}.parquet")
            };
            json!({"remove": {"path": path, "deletionTimestamp": 1, "dataChange": true}})
        }
        Step::Tag { name, version } => {
            let name = ["good", "bad name!", ".hidden"][usize::from(*name)];
            json!({"tag": {"name": name, "version": version}})
        }
        Step::Untag { name } => {
            let name = ["good", "bad name!", "never"][usize::from(*name)];
            json!({"untag": {"name": name}})
        }
        Step::Schema { kind } => {
            let mut m = snap.metadata().clone();
            let mut fields = m.schema.fields().to_vec();
            let next = m.last_column_id + 1;
            match kind {
                // A sequence may have dropped columns: the steps on the first two need them.
                0 | 3 | 4 if fields.len() < 2 => fields.push(StructField::optional(
                    next,
                    format!("c{n}"),
                    PrimitiveType::Int32,
                )),
                0 => fields[0].name = format!("renamed{n}"),
                1 => fields.push(StructField::optional(
                    next,
                    format!("c{n}"),
                    PrimitiveType::Int32,
                )),
                2 => fields.push(StructField::required(
                    next,
                    format!("r{n}"),
                    PrimitiveType::Int32,
                )),
                3 => {
                    let (a, b) = (fields[0].id, fields[1].id);
                    fields[0].id = b;
                    fields[1].id = a;
                }
                4 => fields[0].data_type = PrimitiveType::String.into(),
                5 => {
                    fields.pop();
                }
                _ => fields.push(StructField::optional(
                    2,
                    format!("reused{n}"),
                    PrimitiveType::Int64,
                )),
            }
            if let Ok(s) = strata_format::Schema::new(m.schema.schema_id() + 1, fields) {
                m.schema = s;
                m.last_column_id = m.last_column_id.max(m.schema.max_field_id());
            }
            line(&Action::Metadata(Box::new(m)))
        }
        Step::Protocol { kind } => {
            let features: Vec<&str> = match kind {
                0 => vec![],
                1 => vec!["appTransactions"],
                _ => vec!["timeMachine"],
            };
            json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 1,
                "writerFeatures": features}})
        }
        Step::Txn { app, batch } => {
            json!({"txn": {"appId": format!("app{app}"), "version": batch}})
        }
    }
}

struct World {
    rt: tokio::runtime::Runtime,
    catalog: Arc<Catalog>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

fn world() -> World {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    let catalog = rt.block_on(async {
        let store = open_store(&format!("sqlite://{}", db.path().join("c.db").display()))
            .await
            .unwrap();
        Arc::new(Catalog::new(store, wh.path().to_str().unwrap()).unwrap())
    });
    World {
        rt,
        catalog,
        _dirs: (db, wh),
    }
}

fn run_case(w: &World, commits: Vec<Vec<Step>>) -> Result<(), TestCaseError> {
    w.rt.block_on(async {
        let c = &w.catalog;
        let ns = format!("p{}", uuid::Uuid::new_v4().simple());
        c.create_namespace(&ns, BTreeMap::new()).await.unwrap();
        let info = c
            .create_table(
                &ns,
                CreateTableRequest {
                    name: "t".into(),
                    schema: serde_json::to_value(strata_format::testing::sample_schema()).unwrap(),
                    partition_spec: None,
                    properties: BTreeMap::new(),
                    location: None,
                },
            )
            .await
            .unwrap();
        // One real data file, written by the engine by path.
        let t = Table::open(&info.location).await.unwrap();
        let schema =
            strata_table::arrow_schema::to_arrow_schema(&strata_format::testing::sample_schema())
                .unwrap();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
            ],
        )
        .unwrap();
        let written = t.append([batch]).await.unwrap();
        let real = written.snapshot.files().values().next().unwrap().clone();
        let mut version = written.version;
        let ident = TableIdent::new(ns.clone(), "t");
        for (i, steps) in commits.iter().enumerate() {
            let snap = t.latest().await.unwrap();
            prop_assert_eq!(snap.version(), version);
            let actions: Vec<Value> = steps
                .iter()
                .enumerate()
                .map(|(j, s)| action(s, i * 10 + j, &t, &snap, &real))
                .collect();
            let req = CommitRequest {
                txn_id: uuid::Uuid::new_v4().to_string(),
                changes: vec![TableChange {
                    namespace: ident.namespace.clone(),
                    table: ident.name.clone(),
                    base_version: version,
                    actions: actions.clone(),
                    operation: Some("WRITE".into()),
                    ..Default::default()
                }],
            };
            match c.commit(req).await {
                Ok(r) => {
                    prop_assert_eq!(r.results[0].version, version + 1);
                    version += 1;
                }
                Err(e) => {
                    // Refused: a client error, never an internal one.
                    let msg = e.to_string();
                    prop_assert!(
                        matches!(
                            e,
                            strata_catalog::Error::BadRequest(_)
                                | strata_catalog::Error::Unprocessable(_)
                                | strata_catalog::Error::Conflict { .. }
                                | strata_catalog::Error::DuplicateBatch { .. }
                        ),
                        "{msg}\nactions: {actions:?}"
                    );
                }
            }
            // A fresh path-addressed reader opens the log at that version and scans it.
            let reader = Table::open(&info.location).await;
            prop_assert!(reader.is_ok(), "{:?}\nactions: {actions:?}", reader.err());
            let reader = reader.unwrap();
            let latest = reader.latest().await.unwrap();
            prop_assert_eq!(latest.version(), version);
            let rows: usize = reader
                .scan()
                .plan()
                .await
                .unwrap()
                .collect()
                .await
                .map_err(|e| TestCaseError::fail(format!("{e}\nactions: {actions:?}")))?
                .iter()
                .map(RecordBatch::num_rows)
                .sum();
            prop_assert_eq!(rows as u64, latest.record_count());
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn accepted_commits_leave_a_readable_log(
        commits in prop::collection::vec(prop::collection::vec(step(), 1..4), 1..6)
    ) {
        let w = world();
        run_case(&w, commits)?;
    }
}
