//! A third, independent Iceberg client: apache/iceberg-rust (`iceberg` 0.8 and its REST
//! catalog) reads Strata tables through the catalog server's Iceberg REST endpoints
//! (`/iceberg/v1/...`), and every snapshot it reads equals what Strata's own scan returns for
//! the corresponding version (snapshot id = version + 1), row for row. The tag is read by its
//! ref too.
//!
//! Runs on local disk and on S3 (moto). The S3 case needs `STRATA_TEST_S3_ENDPOINT` and
//! `STRATA_TEST_S3_BUCKET` (`scripts/test` sets them, with `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP`). Without
//! them it prints a notice and passes, except under CI (`CI=true`), where it fails.
//!
//! moto here serves one connection at a time, and iceberg-rust's object store (opendal)
//! sometimes opens a connection it leaves unused: moto's server drops a connection that stays
//! silent for a few seconds (`scripts/moto_server.py`), so such a run is slower, never stuck.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType as ArrowType, Field, Schema as ArrowSchema};
use futures::TryStreamExt;
use iceberg::{Catalog as _, CatalogBuilder as _, NamespaceIdent, TableIdent};
use iceberg_catalog_rest::{REST_CATALOG_PROP_URI, RestCatalogBuilder};
use strata_catalog::auth::Role;
use strata_catalog::model::CreateTokenRequest;
use strata_catalog::server::{self, ServerOptions};
use strata_catalog::{Catalog, Client, TableRef, open_store};
use strata_format::expr::Expr;
use strata_format::schema::{DataType, PrimitiveType, Schema, StructField};
use strata_table::{CreateTable, SchemaChange, SnapshotSelector, Table};

const S3_ENDPOINT_VAR: &str = "STRATA_TEST_S3_ENDPOINT";
const S3_BUCKET_VAR: &str = "STRATA_TEST_S3_BUCKET";
const TAG: &str = "after_delete";

/// Where the warehouse lives, and the FileIO properties iceberg-rust needs to read it.
struct Warehouse {
    /// A local path or `s3://bucket/prefix`.
    root: String,
    /// `s3.*` properties for iceberg-rust's FileIO (empty on local disk).
    file_io: HashMap<String, String>,
    _dir: Option<tempfile::TempDir>,
}

impl Warehouse {
    fn local() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            root: dir.path().to_str().unwrap().to_string(),
            file_io: HashMap::new(),
            _dir: Some(dir),
        }
    }

    /// The S3 warehouse, or `None` (after a notice) when the variables are unset outside CI.
    fn s3() -> Option<Self> {
        let (Ok(endpoint), Ok(bucket)) =
            (std::env::var(S3_ENDPOINT_VAR), std::env::var(S3_BUCKET_VAR))
        else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "CI=true but {S3_ENDPOINT_VAR} or {S3_BUCKET_VAR} is not set: run the tests \
                     through scripts/test, which starts moto and sets them"
                );
            }
            // Written to the stderr handle, not with eprintln!, so the harness does not capture it.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "NOTICE: iceberg-rust S3 test skipped: set {S3_ENDPOINT_VAR} and {S3_BUCKET_VAR} \
                 (scripts/test starts a moto server and sets them)"
            );
            return None;
        };
        // Never let a credential chain reach for instance metadata: the credentials must be given.
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{S3_ENDPOINT_VAR} is set but {name} is not (scripts/test sets it)")
            })
        };
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
        let file_io = HashMap::from([
            (iceberg::io::S3_ENDPOINT.to_string(), endpoint),
            (
                iceberg::io::S3_ACCESS_KEY_ID.to_string(),
                var("AWS_ACCESS_KEY_ID"),
            ),
            (
                iceberg::io::S3_SECRET_ACCESS_KEY.to_string(),
                var("AWS_SECRET_ACCESS_KEY"),
            ),
            (iceberg::io::S3_REGION.to_string(), region),
            (iceberg::io::S3_PATH_STYLE_ACCESS.to_string(), "true".into()),
            (
                iceberg::io::S3_DISABLE_EC2_METADATA.to_string(),
                "true".into(),
            ),
            (
                iceberg::io::S3_DISABLE_CONFIG_LOAD.to_string(),
                "true".into(),
            ),
        ]);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Some(Self {
            root: format!("s3://{bucket}/iceberg-rust-{}-{nanos}", std::process::id()),
            file_io,
            _dir: None,
        })
    }
}

fn schema() -> Schema {
    Schema::new(
        0,
        vec![
            StructField::required(1, "id", PrimitiveType::Int64),
            StructField::optional(2, "name", PrimitiveType::String),
            StructField::optional(3, "amount", PrimitiveType::Float64),
        ],
    )
    .unwrap()
}

/// Rows `ids`; with the `note` column (added by the schema change) when `note` is true.
fn batch(ids: std::ops::RangeInclusive<i64>, note: bool) -> RecordBatch {
    let ids: Vec<i64> = ids.collect();
    let mut fields = vec![
        Field::new("id", ArrowType::Int64, false),
        Field::new("name", ArrowType::Utf8, true),
        Field::new("amount", ArrowType::Float64, true),
    ];
    let names: Vec<Option<String>> = ids
        .iter()
        .map(|i| (i % 5 != 0).then(|| format!("name-{i}")))
        .collect();
    let amounts: Vec<Option<f64>> = ids
        .iter()
        .map(|i| (i % 3 != 0).then_some(*i as f64 * 1.25))
        .collect();
    let mut columns: Vec<Arc<dyn arrow::array::Array>> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(StringArray::from(names)),
        Arc::new(Float64Array::from(amounts)),
    ];
    if note {
        fields.push(Field::new("note", ArrowType::Utf8, true));
        let notes: Vec<Option<String>> = ids
            .iter()
            .map(|i| (i % 2 == 0).then(|| format!("note {i}")))
            .collect();
        columns.push(Arc::new(StringArray::from(notes)));
    }
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns).unwrap()
}

/// Strata's rows of `table` at `selector`: the column names and each row as a canonical string.
async fn strata_rows(table: &Table, selector: SnapshotSelector) -> (Vec<String>, Vec<String>) {
    let scan = table.scan().snapshot(selector).plan().await.unwrap();
    let columns = scan
        .output_schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batches: Vec<RecordBatch> = scan.stream().try_collect().await.unwrap();
    let options = arrow::util::display::FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for b in &batches {
        let formatters: Vec<_> = b
            .columns()
            .iter()
            .map(|c| arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        let names: Vec<&String> = b.schema_ref().fields().iter().map(|f| f.name()).collect();
        for r in 0..b.num_rows() {
            let cells: Vec<String> = names
                .iter()
                .zip(&formatters)
                .map(|(n, f)| format!("{n}={}", f.value(r)))
                .collect();
            rows.push(cells.join("|"));
        }
    }
    rows.sort();
    (columns, rows)
}

/// iceberg-rust's rows of snapshot `id`: the column names of the snapshot's schema and each
/// row as a canonical string (arrow 57, formatted the same way as Strata's).
async fn iceberg_rows(table: &iceberg::table::Table, id: i64) -> (Vec<String>, Vec<String>) {
    let snapshot = table
        .metadata()
        .snapshot_by_id(id)
        .unwrap_or_else(|| panic!("snapshot {id} is not in the metadata"));
    let columns = snapshot
        .schema(table.metadata())
        .unwrap()
        .as_struct()
        .fields()
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let stream = table
        .scan()
        .snapshot_id(id)
        .build()
        .unwrap()
        .to_arrow()
        .await
        .unwrap_or_else(|e| panic!("iceberg-rust cannot plan snapshot {id}: {e}"));
    let batches: Vec<arrow57_array::RecordBatch> = stream
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("iceberg-rust cannot read snapshot {id}: {e}"));
    let options = arrow57_cast::display::FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for b in &batches {
        let formatters: Vec<_> = b
            .columns()
            .iter()
            .map(|c| arrow57_cast::display::ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        let names: Vec<&String> = b.schema_ref().fields().iter().map(|f| f.name()).collect();
        for r in 0..b.num_rows() {
            let cells: Vec<String> = names
                .iter()
                .zip(&formatters)
                .map(|(n, f)| format!("{n}={}", f.value(r)))
                .collect();
            rows.push(cells.join("|"));
        }
    }
    rows.sort();
    (columns, rows)
}

/// Builds `<warehouse>/<ns>/events` over several versions; returns the table and the expected
/// live row count per version.
async fn build_table(location: &str) -> (Table, BTreeMap<u64, usize>) {
    let t = Table::create(location, CreateTable::new(schema()))
        .await
        .unwrap();
    let mut rows = BTreeMap::from([(0, 0)]);
    // v1, v2: two appends.
    let v = t.append([batch(1..=60, false)]).await.unwrap().version;
    rows.insert(v, 60);
    let v = t.append([batch(61..=100, false)]).await.unwrap().version;
    rows.insert(v, 100);
    // v3: a row delete hitting both files (a deletion vector on each).
    let deleted = [3i64, 17, 42, 60, 61, 77, 99];
    let predicate =
        Expr::column("id").in_list(deleted.iter().map(|i| Expr::lit(*i)).collect(), false);
    let delete = t.delete(predicate).await.unwrap();
    rows.insert(delete.version, 100 - deleted.len());
    // v4: a schema change (a new optional column, no default: Iceberg v2 has none).
    let v = t
        .update_schema(vec![SchemaChange::AddColumn {
            parent: None,
            name: "note".into(),
            data_type: DataType::Primitive(PrimitiveType::String),
            required: false,
            default: None,
            doc: None,
        }])
        .await
        .unwrap()
        .version;
    rows.insert(v, 100 - deleted.len());
    // v5: an append with the new column.
    let v = t.append([batch(101..=120, true)]).await.unwrap().version;
    rows.insert(v, 120 - deleted.len());
    // v6: a tag on the version after the delete.
    let v = t.create_tag(TAG, delete.version).await.unwrap().version;
    rows.insert(v, 120 - deleted.len());
    // v7: a second delete, after the schema change, hitting the new file too.
    let predicate = Expr::column("id")
        .lt(Expr::lit(5i64))
        .or(Expr::column("id").gt(Expr::lit(115i64)));
    let v = t.delete(predicate).await.unwrap().version;
    // ids 1, 2, 4 (3 already gone) and 116..=120.
    rows.insert(v, 120 - deleted.len() - 3 - 5);
    (t, rows)
}

async fn run(warehouse: Warehouse) {
    let started = std::time::Instant::now();
    // The catalog, in-process, as catalog/tests/catalog/harness.rs starts it.
    let db_dir = tempfile::tempdir().unwrap();
    let store = open_store(&format!(
        "sqlite://{}",
        db_dir.path().join("catalog.db").display()
    ))
    .await
    .unwrap();
    let catalog = Catalog::new(store.clone(), &warehouse.root).unwrap();
    let server = server::spawn(Arc::new(catalog), "127.0.0.1:0", &ServerOptions::default())
        .await
        .unwrap();
    let token = server::issue_token(
        store.as_ref(),
        CreateTokenRequest {
            role: Role::Admin,
            namespace: None,
            description: Some("iceberg-rust test".into()),
            expires_in_seconds: None,
        },
    )
    .await
    .unwrap()
    .token;
    let admin = Client::new(&server.url(), Some(token.clone())).unwrap();

    // The table, written by the engine, registered in the catalog.
    let ns = "analytics";
    let location = format!("{}/{ns}/events", warehouse.root);
    let (t, expected_rows) = build_table(&location).await;
    let latest = t.latest().await.unwrap().version();
    assert_eq!(latest, 7);
    admin.create_namespace(ns, BTreeMap::new()).await.unwrap();
    let info = admin
        .register_table(
            &TableRef::parse(&format!("{ns}.events")).unwrap(),
            &location,
        )
        .await
        .unwrap();
    assert_eq!(info.current_version, latest);

    // iceberg-rust's REST catalog on `/iceberg`, with the Strata token.
    let mut props = HashMap::from([
        (
            REST_CATALOG_PROP_URI.to_string(),
            format!("{}/iceberg", server.url()),
        ),
        ("token".to_string(), token.clone()),
    ]);
    props.extend(warehouse.file_io.clone());
    let rest = RestCatalogBuilder::default()
        .load("strata", props)
        .await
        .unwrap();

    let ns_ident = NamespaceIdent::new(ns.to_string());
    let namespaces = rest.list_namespaces(None).await.unwrap();
    assert_eq!(namespaces, vec![ns_ident.clone()]);
    assert!(rest.namespace_exists(&ns_ident).await.unwrap());
    assert!(
        !rest
            .namespace_exists(&NamespaceIdent::new("missing".into()))
            .await
            .unwrap()
    );
    let ident = TableIdent::new(ns_ident.clone(), "events".into());
    assert_eq!(
        rest.list_tables(&ns_ident).await.unwrap(),
        vec![ident.clone()]
    );
    assert!(rest.table_exists(&ident).await.unwrap());
    assert!(
        !rest
            .table_exists(&TableIdent::new(ns_ident.clone(), "missing".into()))
            .await
            .unwrap()
    );

    let table = rest.load_table(&ident).await.unwrap();
    let metadata = table.metadata();
    assert_eq!(metadata.format_version(), iceberg::spec::FormatVersion::V2);
    assert_eq!(metadata.current_snapshot_id(), Some(latest as i64 + 1));
    let mut ids: Vec<i64> = metadata.snapshots().map(|s| s.snapshot_id()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=latest as i64 + 1).collect::<Vec<_>>(),
        "one snapshot per Strata version"
    );

    // Every snapshot equals Strata's scan of version id - 1.
    let mut compared = 0usize;
    for id in ids {
        let version = (id - 1) as u64;
        let (want_columns, want) = strata_rows(&t, SnapshotSelector::Version(version)).await;
        let (got_columns, got) = iceberg_rows(&table, id).await;
        assert_eq!(
            got_columns, want_columns,
            "snapshot {id}: the columns of its schema"
        );
        assert_eq!(
            want.len(),
            expected_rows[&version],
            "Strata, version {version}"
        );
        assert_eq!(got.len(), want.len(), "snapshot {id}: row count");
        assert_eq!(got, want, "snapshot {id}: rows");
        compared += got.len();
    }
    assert_eq!(compared, expected_rows.values().sum::<usize>());
    assert_eq!(compared, 677);

    // The deletes reach iceberg-rust as position-delete files: after the first delete
    // (snapshot 4) both data files carry one, after the second (the latest) all three do.
    for (id, files, with_deletes) in [(4, 2, 2), (latest as i64 + 1, 3, 3)] {
        let tasks: Vec<iceberg::scan::FileScanTask> = table
            .scan()
            .snapshot_id(id)
            .build()
            .unwrap()
            .plan_files()
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(tasks.len(), files, "snapshot {id}: {tasks:?}");
        let deleted: Vec<_> = tasks.iter().filter(|t| !t.deletes.is_empty()).collect();
        assert_eq!(deleted.len(), with_deletes, "snapshot {id}: {tasks:?}");
        for task in deleted {
            for d in &task.deletes {
                assert_eq!(
                    d.file_type,
                    iceberg::spec::DataContentType::PositionDeletes,
                    "snapshot {id}: {d:?}"
                );
            }
        }
    }

    // The tag is an Iceberg tag on the snapshot of the tagged version.
    let tagged = metadata
        .snapshot_for_ref(TAG)
        .expect("the tag is a ref")
        .snapshot_id();
    // `TableMetadata` has no public accessor for a ref's kind; its Debug form shows it.
    let debug = format!("{metadata:?}");
    assert!(
        debug.contains(&format!(
            "\"{TAG}\": SnapshotReference {{ snapshot_id: {tagged}, retention: Tag {{"
        )),
        "{debug}"
    );
    assert_eq!(tagged, 4, "the tag points at version 3 = snapshot 4");
    let (want_columns, want) = strata_rows(&t, SnapshotSelector::Tag(TAG.into())).await;
    let (got_columns, got) = iceberg_rows(&table, tagged).await;
    assert_eq!(got_columns, want_columns);
    assert_eq!(got.len(), 93);
    assert_eq!(got, want);
    // The deleted rows are gone from it, a row kept is there, with its values.
    assert!(got.iter().all(|r| !r.starts_with("id=17|")), "{got:?}");
    assert!(
        got.contains(&"id=16|name=name-16|amount=20.0".to_string()),
        "{got:?}"
    );

    // The current snapshot (no id): the latest version, the added column included.
    let latest_rows: Vec<arrow57_array::RecordBatch> = table
        .scan()
        .build()
        .unwrap()
        .to_arrow()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let count: usize = latest_rows.iter().map(|b| b.num_rows()).sum();
    assert_eq!(count, 105);
    assert!(
        latest_rows
            .iter()
            .all(|b| b.schema().field_with_name("note").is_ok())
    );

    server.shutdown().await.unwrap();
    eprintln!(
        "iceberg-rust read {compared} rows over {} snapshots of {location} in {:.1?}",
        latest + 1,
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iceberg_rust_reads_every_snapshot_on_local_disk() {
    run(Warehouse::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iceberg_rust_reads_every_snapshot_on_s3() {
    if let Some(warehouse) = Warehouse::s3() {
        run(warehouse).await;
    }
}
