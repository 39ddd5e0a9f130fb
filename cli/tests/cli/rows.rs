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
