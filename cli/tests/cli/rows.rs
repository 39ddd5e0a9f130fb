//! Row-level changes: `strata delete` (deletion vectors or copy-on-write) and `strata update`.

use serde_json::Value;

use crate::common::*;

fn names(t: &str) -> Vec<(i64, Value, Value)> {
    let rows = json(&["scan", t, "--columns", "id,name,score"]);
    let mut out: Vec<(i64, Value, Value)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().expect("id"),
                r["name"].clone(),
                r["score"].clone(),
            )
        })
        .collect();
    out.sort_by_key(|r| r.0);
    out
}

#[test]
fn update_and_delete_change_rows_in_one_commit_each() {
    let scratch = Scratch::new();
    let t = scratch.file("t");
    ok(&["create", &t, "--schema", SCHEMA, "-q"]);
    let a = scratch.write("a.csv", CSV_A);
    ok(&["append", &t, &a, "-q"]);

    let err = ok_stderr(&[
        "update",
        &t,
        "--set",
        "name = upper(name), score = score * 2",
        "--where",
        "id <= 2",
    ]);
    assert!(err.contains("updated 2 rows"), "{err}");
    assert!(err.contains("marked in deletion vectors"), "{err}");
    assert_eq!(
        names(&t),
        vec![
            (1, Value::from("ANN"), Value::from(3.0)),
            (2, Value::from("BOB"), Value::Null),
            (3, Value::Null, Value::from(3.0)),
        ]
    );
    let h = json(&["history", &t, "--limit", "1"]);
    let m = &h["history"][0]["metrics"];
    assert_eq!(h["history"][0]["operation"], "UPDATE", "{h}");
    assert_eq!(m["numUpdatedRows"], 2, "{h}");
    assert_eq!(m["numDeletionVectors"], 1, "{h}");
    assert_eq!(m["numAddedFiles"], 1, "{h}");
    // The version before still has the old values.
    let before = json(&["scan", &t, "--version", "1", "--where", "id = 1"]);
    assert_eq!(before[0]["name"], "ann", "{before}");

    // Nothing matched: nothing committed.
    let v = json(&["show", &t])["version"].clone();
    let err = ok_stderr(&["update", &t, "--set", "score = 0", "--where", "id > 100"]);
    assert!(err.contains("nothing committed"), "{err}");
    assert_eq!(json(&["show", &t])["version"], v);

    // A delete by copy-on-write rewrites; the files view counts deleted rows of the others.
    let err = ok_stderr(&["delete", &t, "--where", "id = 3", "--copy-on-write"]);
    assert!(
        err.contains("deleted 1 rows") && err.contains("written"),
        "{err}"
    );
    let files = json(&["files", &t]);
    let deleted: i64 = files["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["deletedRows"].as_i64().expect("deletedRows"))
        .sum();
    assert_eq!(deleted, 0, "the rewrite dropped the marked rows: {files}");
    assert_eq!(json(&["count", &t])["count"], 2);

    // Bad SQL names the problem and commits nothing.
    let v = json(&["show", &t])["version"].clone();
    let err = fails(&["update", &t, "--set", "nope = 1"], 1);
    assert!(err.to_lowercase().contains("nope"), "{err}");
    assert_eq!(json(&["show", &t])["version"], v);
}

/// A table without deletion vectors rewrites files on delete; `strata properties --set
/// strata.deletionVectors=true` enables them (a protocol upgrade in the same commit), and
/// deletes then mark rows. Bad values are refused without a commit.
#[test]
fn deletion_vectors_can_be_enabled_on_a_table_without_them() {
    let scratch = Scratch::new();
    let t = scratch.file("t");
    ok(&[
        "create",
        &t,
        "--schema",
        SCHEMA,
        "--property",
        "strata.deletionVectors=false",
        "-q",
    ]);
    let a = scratch.write("a.csv", CSV_A);
    ok(&["append", &t, &a, "-q"]);
    let p = json(&["properties", &t]);
    assert_eq!(p["readerFeatures"], serde_json::json!([]), "{p}");
    let err = ok_stderr(&["delete", &t, "--where", "id = 1"]);
    assert!(err.contains("written"), "copy-on-write: {err}");

    let v = json(&["show", &t])["version"].clone();
    let err = fails(
        &["properties", &t, "--set", "strata.deletionVectors=yes"],
        1,
    );
    assert!(err.contains("`true` or `false`"), "{err}");
    assert_eq!(json(&["show", &t])["version"], v);

    let err = ok_stderr(&["properties", &t, "--set", "strata.deletionVectors=true"]);
    assert!(err.contains("deletion vectors enabled"), "{err}");
    let p = json(&["properties", &t]);
    assert_eq!(p["properties"]["strata.deletionVectors"], "true", "{p}");
    assert_eq!(
        p["readerFeatures"],
        serde_json::json!(["deletionVectors"]),
        "{p}"
    );
    let err = ok_stderr(&["delete", &t, "--where", "id = 2"]);
    assert!(err.contains("marked in deletion vectors"), "{err}");
    assert_eq!(json(&["count", &t])["count"], 1);
    // Turning it off again keeps the feature (features are never removed) but rewrites.
    ok(&[
        "properties",
        &t,
        "--set",
        "strata.deletionVectors=false",
        "-q",
    ]);
    let err = ok_stderr(&["delete", &t, "--where", "id = 3"]);
    assert!(err.contains("written"), "{err}");
    assert_eq!(json(&["count", &t])["count"], 0);
}
