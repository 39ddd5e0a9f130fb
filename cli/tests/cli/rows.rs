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
    assert_eq!(
        p["readerFeatures"],
        serde_json::json!(["typedCheckpoints"]),
        "{p}"
    );
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
        serde_json::json!(["typedCheckpoints", "deletionVectors"]),
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

/// `strata merge` upserts by key in one commit (and with clauses deletes or ignores); a source
/// with two rows for one key is refused without a commit.
#[test]
fn merge_upserts_by_key_and_refuses_duplicate_keys() {
    let scratch = Scratch::new();
    let t = scratch.file("t");
    ok(&["create", &t, "--schema", SCHEMA, "-q"]);
    let a = scratch.write("a.csv", CSV_A);
    ok(&["append", &t, &a, "-q"]);
    let src = scratch.write(
        "src.csv",
        "id,name,ts,score\n2,BOB,2026-01-02T10:00:00Z,9.0\n4,dan,2026-01-04T00:00:00Z,4.0\n",
    );
    let err = ok_stderr(&["merge", &t, &src, "--on", "id"]);
    assert!(
        err.contains("1 updated, 0 deleted, 1 inserted") && err.contains("now has 4 rows"),
        "{err}"
    );
    assert_eq!(
        names(&t),
        vec![
            (1, Value::from("ann"), Value::from(1.5)),
            (2, Value::from("BOB"), Value::from(9.0)),
            (3, Value::Null, Value::from(3.0)),
            (4, Value::from("dan"), Value::from(4.0)),
        ]
    );
    let h = json(&["history", &t, "--limit", "1"]);
    let last = &h["history"][0];
    assert_eq!(last["operation"], "MERGE", "{h}");
    assert_eq!(last["metrics"]["numTargetRowsUpdated"], 1, "{h}");
    assert_eq!(last["metrics"]["numTargetRowsInserted"], 1, "{h}");
    assert_eq!(last["parameters"]["on"], "id", "{h}");

    // Matched rows deleted, the rest of the source ignored.
    let err = ok_stderr(&[
        "merge",
        &t,
        &src,
        "--on",
        "id",
        "--when-matched",
        "delete",
        "--when-not-matched",
        "ignore",
    ]);
    assert!(err.contains("2 deleted, 0 inserted"), "{err}");
    assert_eq!(json(&["count", &t])["count"], 2);

    let dup = scratch.write(
        "dup.csv",
        "id,name,ts,score\n1,x,2026-01-02T10:00:00Z,\n1,y,2026-01-02T10:00:00Z,\n",
    );
    let v = json(&["show", &t])["version"].clone();
    let err = fails(&["merge", &t, &dup, "--on", "id"], 1);
    assert!(err.contains("more than one row with key (id = 1)"), "{err}");
    let err = fails(&["merge", &t, &src, "--on", "nope"], 1);
    assert!(err.contains("merge key `nope`"), "{err}");
    assert_eq!(json(&["show", &t])["version"], v);

    // The source becomes the table: rows it does not hold are deleted.
    ok(&[
        "merge",
        &t,
        &src,
        "--on",
        "id",
        "--when-not-matched-by-source",
        "delete",
        "-q",
    ]);
    let ids: Vec<i64> = names(&t).into_iter().map(|r| r.0).collect();
    assert_eq!(ids, vec![2, 4]);
}

/// `--app-id` and `--batch` make append, delete, update and merge exactly-once: the same batch
/// again exits 3 with a hint and commits nothing.
#[test]
fn row_commands_are_exactly_once_with_an_application_batch() {
    let scratch = Scratch::new();
    let t = scratch.file("t");
    ok(&["create", &t, "--schema", SCHEMA, "-q"]);
    let a = scratch.write("a.csv", CSV_A);
    let src = scratch.write("src.csv", "id,name,ts,score\n9,ida,2026-01-05T00:00:00Z,\n");
    let app = ["--app-id", "nightly"];
    let commands: Vec<Vec<&str>> = vec![
        vec!["append", &t, &a],
        vec!["delete", &t, "--where", "id = 1"],
        vec!["update", &t, "--set", "score = 0", "--where", "id = 2"],
        vec!["merge", &t, &src, "--on", "id"],
    ];
    for (i, c) in commands.iter().enumerate() {
        let batch = (i + 1).to_string();
        let mut args = c.clone();
        args.extend(app);
        args.extend(["--batch", &batch, "-q"]);
        ok(&args);
        let v = json(&["show", &t])["version"].clone();
        let err = fails(&args, 3);
        assert!(
            err.contains(&format!("already committed batch {batch}"))
                && err.contains("nothing to do"),
            "{err}"
        );
        assert_eq!(json(&["show", &t])["version"], v, "{c:?}");
    }
    assert_eq!(
        names(&t),
        vec![
            (2, Value::from("bob"), Value::from(0.0)),
            (3, Value::Null, Value::from(3.0)),
            (9, Value::from("ida"), Value::Null),
        ]
    );
    // An id without a batch is a usage error.
    let err = fails(&["delete", &t, "--where", "id = 2", "--app-id", "x"], 2);
    assert!(err.contains("--batch"), "{err}");
}
