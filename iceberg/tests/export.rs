//! End-to-end tests of `ensure_metadata` on local tables: what is written, idempotence, cache
//! keys that follow the log, and that a vacuum leaves `_strata_iceberg/` alone.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType as ArrowType, Field, Schema as ArrowSchema};
use serde_json::Value;
use strata_format::schema::{PrimitiveType, Schema, StructField};
use strata_iceberg::{ICEBERG_DIR, ensure_metadata};
use strata_table::{CreateTable, Table, VacuumOptions};

fn batch(ids: &[i64]) -> RecordBatch {
    let schema = Arc::new(ArrowSchema::new(vec![
        Field::new("id", ArrowType::Int64, false),
        Field::new("name", ArrowType::Utf8, true),
    ]));
    let names: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap()
}

async fn table(dir: &std::path::Path) -> Table {
    let schema = Schema::new(
        0,
        vec![
            StructField::required(1, "id", PrimitiveType::Int64),
            StructField::optional(2, "name", PrimitiveType::String),
        ],
    )
    .unwrap();
    let uri = dir.join("t").to_str().unwrap().to_string();
    Table::create(&uri, CreateTable::new(schema)).await.unwrap()
}

fn read_json(table_dir: &std::path::Path, key: &str) -> Value {
    serde_json::from_slice(&std::fs::read(table_dir.join(key)).unwrap()).unwrap()
}

#[tokio::test]
async fn writes_metadata_once_per_input_and_survives_vacuum() {
    let tmp = tempfile::tempdir().unwrap();
    let t = table(tmp.path()).await;
    t.append([batch(&[1, 2, 3])]).await.unwrap();
    t.append([batch(&[4, 5])]).await.unwrap();
    t.create_tag("first", 1).await.unwrap();

    let loc = ensure_metadata(&t, None).await.unwrap();
    assert!(loc.written);
    assert_eq!(loc.version, 3);
    assert!(loc.uri.starts_with("file:///"), "{}", loc.uri);
    assert!(
        loc.key.starts_with(&format!("{ICEBERG_DIR}/v3-")),
        "{}",
        loc.key
    );
    let root = tmp.path().join("t");
    let m = read_json(&root, &loc.key);
    assert_eq!(m["format-version"], 2);
    assert_eq!(m["current-snapshot-id"], 4);
    assert_eq!(m["snapshots"].as_array().unwrap().len(), 4);
    assert_eq!(m["refs"]["main"]["snapshot-id"], 4);
    assert_eq!(m["refs"]["first"]["type"], "tag");
    assert_eq!(m["refs"]["first"]["snapshot-id"], 2);
    assert_eq!(m["snapshots"][1]["summary"]["operation"], "append");
    assert_eq!(m["snapshots"][2]["summary"]["added-records"], "2");
    assert_eq!(m["snapshots"][2]["summary"]["total-records"], "5");
    assert_eq!(m["schemas"][0]["fields"][0]["type"], "long");
    for s in m["snapshots"].as_array().unwrap() {
        let list = s["manifest-list"].as_str().unwrap();
        let path = list.strip_prefix("file://").unwrap();
        assert!(std::path::Path::new(path).exists(), "{list}");
    }

    // The same inputs: nothing written, the same location.
    let again = ensure_metadata(&t, None).await.unwrap();
    assert!(!again.written);
    assert_eq!(again.key, loc.key);
    // An older version has its own metadata, without the later snapshots.
    let v1 = ensure_metadata(&t, Some(1)).await.unwrap();
    let m1 = read_json(&root, &v1.key);
    assert_eq!(m1["current-snapshot-id"], 2);
    assert_eq!(m1["snapshots"].as_array().unwrap().len(), 2);

    // A vacuum with no retention deletes nothing under `_strata_iceberg/`.
    let before = count_files(&root.join(ICEBERG_DIR));
    assert!(before > 0);
    t.vacuum(VacuumOptions::retain_ms(0)).await.unwrap();
    assert_eq!(count_files(&root.join(ICEBERG_DIR)), before);
    let after = ensure_metadata(&t, None).await.unwrap();
    assert!(!after.written);

    // Deleting the folder by hand is safe: the next call writes it again.
    std::fs::remove_dir_all(root.join(ICEBERG_DIR)).unwrap();
    let rewritten = ensure_metadata(&t, None).await.unwrap();
    assert!(rewritten.written);
    assert_eq!(rewritten.key, loc.key);
    assert!(root.join(&loc.key).exists());

    // A new commit is a new version with a new file.
    t.append([batch(&[6])]).await.unwrap();
    let v4 = ensure_metadata(&t, None).await.unwrap();
    assert!(v4.written);
    assert_ne!(v4.key, loc.key);
}

#[tokio::test]
async fn a_version_past_the_latest_is_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    let t = table(tmp.path()).await;
    let err = ensure_metadata(&t, Some(9)).await.unwrap_err();
    assert!(
        matches!(err, strata_iceberg::Error::Table { version: 9, .. }),
        "{err}"
    );
}

fn count_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        n += if p.is_dir() { count_files(&p) } else { 1 };
    }
    n
}
