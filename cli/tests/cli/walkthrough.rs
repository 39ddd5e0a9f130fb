//! Every table command in every output format, on one table; run on local disk and on S3.

use serde_json::Value;

use crate::common::*;

/// Runs the walkthrough on a table under `base` (a local folder or an `s3://` prefix).
pub fn every_command(base: &str, scratch: &Scratch) {
    let t = format!("{base}/events");
    let t = t.as_str();
    let a = scratch.write("a.csv", CSV_A);
    let b = scratch.write("b.ndjson", NDJSON_B);
    let pq = scratch.parquet_input();

    // create
    let err = ok_stderr(&[
        "create",
        t,
        "--schema",
        SCHEMA,
        "--partition-by",
        "day(ts)",
        "--property",
        "owner=ana",
    ]);
    assert!(
        err.contains("created table") && err.contains("version 0"),
        "{err}"
    );

    // append: CSV and NDJSON in one commit (version 1)
    let err = ok_stderr(&["append", t, &a, &b]);
    assert!(
        err.contains("committed version 1: 5 rows from 2 file(s)"),
        "{err}"
    );
    // No progress bar off a terminal: the report is the only line.
    assert_eq!(err.lines().count(), 1, "{err}");

    // count: every format
    assert_eq!(ok(&["count", t]).trim(), "5");
    assert_eq!(json(&["count", t])["count"], 5);
    assert_eq!(ndjson(&["count", t])[0]["count"], 5);
    assert_eq!(csv(&["count", t]), vec![vec!["5".to_string()]]);
    assert_eq!(json(&["count", t, "--where", "score IS NULL"])["count"], 2);

    // scan: every format, projection, filter, limit
    let text = ok(&["scan", t]);
    assert!(text.contains("| ann") && text.contains("| eve"), "{text}");
    let rows = json(&["scan", t]);
    let mut got = ids(rows.as_array().expect("array"));
    got.sort();
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    let rows = ndjson(&[
        "scan",
        t,
        "--where",
        "id >= 2 AND id <= 4",
        "--columns",
        "id,name",
    ]);
    let mut got = ids(&rows);
    got.sort();
    assert_eq!(got, vec![2, 3, 4]);
    assert!(
        rows.iter()
            .all(|r| keys(r).iter().all(|k| k == "id" || k == "name"))
    );
    let lines = csv(&["scan", t, "--columns", "id", "--limit", "2"]);
    assert_eq!(lines[0], vec!["id".to_string()]);
    assert_eq!(lines.len(), 3, "{lines:?}");

    // Parquet input (version 2), then time travel by version
    let err = ok_stderr(&["append", t, &pq]);
    assert!(err.contains("committed version 2: 3 rows"), "{err}");
    assert_eq!(json(&["count", t])["count"], 8);
    assert_eq!(json(&["count", t, "--version", "1"])["count"], 5);
    assert_eq!(
        json(&["scan", t, "--version", "1"])
            .as_array()
            .map(Vec::len),
        Some(5)
    );
    assert_eq!(
        json(&["count", t, "--as-of", "2100-01-01T00:00:00Z"])["count"],
        8
    );

    // show: every format
    let s = json(&["show", t]);
    assert_eq!(s["version"], 2);
    assert_eq!(s["rows"], 8);
    assert_eq!(s["properties"]["owner"], "ana");
    assert_eq!(s["partitionSpec"]["fields"][0]["transform"], "day");
    assert!(s["bytesPerTier"]["hot"].as_u64().unwrap_or(0) > 0, "{s}");
    let text = ok(&["show", t, "--version", "1"]);
    assert!(
        text.contains("version    1 (") && text.contains("5 rows"),
        "{text}"
    );
    assert!(text.contains("day(ts) as ts_day"), "{text}");
    assert_eq!(ndjson(&["show", t])[0]["rows"], 8);
    let kv = csv(&["show", t]);
    assert_eq!(kv[0], vec!["KEY".to_string(), "VALUE".to_string()]);
    assert!(
        kv.contains(&vec!["rows".to_string(), "8".to_string()]),
        "{kv:?}"
    );

    // files: every format
    let f = json(&["files", t]);
    let files = f["files"].as_array().expect("files");
    assert_eq!(
        files
            .iter()
            .map(|f| f["rows"].as_u64().unwrap_or(0))
            .sum::<u64>(),
        8
    );
    assert!(files.iter().all(|f| f["tier"] == "hot"));
    assert!(files.iter().any(|f| f["partition"]["ts_day"].is_number()));
    assert_eq!(ndjson(&["files", t]).len(), files.len());
    let rows = csv(&["files", t]);
    assert_eq!(rows[0][0], "PATH");
    assert_eq!(rows.len(), files.len() + 1);
    assert!(ok(&["files", t]).contains("ts_day=2026-01-01"));

    // tags: create, list in every format, scan by tag
    let err = ok_stderr(&["tag", t, "create", "loaded", "--version", "1"]);
    assert!(err.contains("tag `loaded` -> version 1"), "{err}");
    let v_tag = 3;
    let tl = json(&["tag", t, "list"]);
    assert_eq!(tl["tags"][0]["name"], "loaded");
    assert_eq!(tl["tags"][0]["version"], 1);
    assert_eq!(ndjson(&["tag", t, "list"])[0]["version"], 1);
    assert_eq!(
        csv(&["tag", t, "list"]),
        vec![
            vec!["TAG".to_string(), "VERSION".to_string()],
            vec!["loaded".to_string(), "1".to_string()]
        ]
    );
    assert!(ok(&["tag", t, "list"]).contains("loaded"));
    assert_eq!(json(&["count", t, "--tag", "loaded"])["count"], 5);

    // schema evolution
    for args in [
        vec![
            "schema",
            t,
            "add",
            "tag",
            "string",
            "--optional",
            "--after",
            "id",
        ],
        vec!["schema", t, "rename", "name", "full_name"],
        vec!["schema", t, "move", "score", "--first"],
        vec!["schema", t, "optional", "id"],
        vec!["schema", t, "drop", "tag"],
    ] {
        let err = ok_stderr(&args);
        assert!(err.contains("schema changed"), "{args:?}: {err}");
    }
    let s = json(&["show", t]);
    let names: Vec<&str> = s["schema"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["score", "id", "full_name", "ts"]);
    let v_schema = 8;
    assert_eq!(s["version"], v_schema);
    // Older rows read through the renamed column.
    let rows = json(&["scan", t, "--where", "full_name = 'ann'", "--columns", "id"]);
    assert_eq!(ids(rows.as_array().expect("rows")), vec![1, 1]);

    // partitioning
    let err = ok_stderr(&["partition", t, "set", "bucket(4, id)"]);
    assert!(err.contains("partitioning changed"), "{err}");
    assert_eq!(
        json(&["show", t])["partitionSpec"]["fields"][0]["transform"],
        "bucket[4]"
    );

    // overwrite --where, delete
    let day3 = scratch.write(
        "day3.csv",
        "id,full_name,ts,score\n40,zed,2026-01-03T05:00:00Z,9.0\n",
    );
    let err = ok_stderr(&[
        "overwrite",
        t,
        &day3,
        "--where",
        "ts >= TIMESTAMP '2026-01-03 00:00:00'",
    ]);
    assert!(
        err.contains("1 rows from 1 file(s)") && err.contains("now has 7 rows"),
        "{err}"
    );
    let err = ok_stderr(&["delete", t, "--where", "id IN (1, 2)"]);
    assert!(
        err.contains("deleted 4 rows") && err.contains("now has 3 rows"),
        "{err}"
    );
    let latest = json(&["show", t])["version"].as_u64().expect("version");
    assert_eq!(latest, 11);

    // history: every format
    let h = json(&["history", t]);
    let entries = h["history"].as_array().expect("history");
    assert_eq!(entries.len(), 12);
    assert_eq!(entries[0]["operation"], "DELETE");
    // Deleted in place (deletion vectors): the rows deleted, no file rewritten.
    assert_eq!(entries[0]["rowsRemoved"].as_u64(), Some(4));
    assert_eq!(entries[0]["filesAdded"].as_u64(), Some(0));
    assert_eq!(
        entries.last().map(|e| e["version"].clone()),
        Some(Value::from(0))
    );
    assert_eq!(ndjson(&["history", t, "--limit", "3"]).len(), 3);
    let rows = csv(&["history", t, "--limit", "2"]);
    assert_eq!(rows[0][0], "VERSION");
    assert_eq!(rows[1][0], "11");
    assert!(ok(&["history", t]).contains("CREATE TABLE"));

    // diff: every format
    let d = json(&["diff", t, "loaded", "latest"]);
    assert_eq!(d["from"]["version"], 1);
    assert_eq!(d["to"]["version"], 11);
    assert_eq!(d["summary"]["rowsBefore"], 5);
    assert_eq!(d["summary"]["rowsAfter"], 3);
    let changes: Vec<&str> = d["schema"]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["change"].as_str())
        .collect();
    assert!(
        changes.contains(&"renamed") && changes.contains(&"nullabilityChanged"),
        "{d}"
    );
    assert_eq!(d["partitionSpec"]["toText"], "bucket[4](id)");
    assert_eq!(d["tags"][0]["name"], "loaded");
    // The Parquet input spans two days: two files.
    let kinds: Vec<String> = ndjson(&["diff", t, "1", "2"])
        .iter()
        .filter_map(|c| c["kind"].as_str().map(str::to_string))
        .collect();
    assert_eq!(kinds, vec!["fileAdded", "fileAdded"]);
    let rows = csv(&["diff", t, &v_tag.to_string(), &v_schema.to_string()]);
    assert_eq!(
        rows[0],
        ["CHANGE", "SUBJECT", "FROM", "TO", "ROWS", "BYTES"]
    );
    assert!(
        rows.iter()
            .any(|r| r[0] == "fieldRenamed" && r[2] == "name" && r[3] == "full_name"),
        "{rows:?}"
    );
    let text = ok(&["diff", t, "1", "2"]);
    assert!(
        text.contains("files      +2 (3 rows") && text.contains("fileAdded"),
        "{text}"
    );
    assert!(ok(&["diff", t, "2", "2"]).contains("no changes"));

    // restore, checkpoint
    let err = ok_stderr(&["restore", t, "--version", "1"]);
    assert!(err.contains("restored version 1 as version 12"), "{err}");
    assert_eq!(json(&["count", t])["count"], 5);
    let err = ok_stderr(&["checkpoint", t]);
    assert!(err.contains("checkpoint written at version 12"), "{err}");
    assert_eq!(
        json(&["history", t, "--limit", "1"])["history"][0]["version"],
        12
    );
    assert_eq!(json(&["count", t, "--version", "2"])["count"], 8);

    // tag delete
    let err = ok_stderr(&["tag", t, "delete", "loaded"]);
    assert!(err.contains("tag `loaded` deleted"), "{err}");
    assert_eq!(json(&["tag", t, "list"])["tags"], Value::Array(Vec::new()));
    let err = fails(&["count", t, "--tag", "loaded"], 1);
    assert!(err.contains("loaded"), "{err}");
}

#[test]
fn every_command_and_output_format_on_a_local_table() {
    let scratch = Scratch::new();
    let base = scratch.file("tables");
    every_command(&base, &scratch);
}

#[test]
fn every_command_and_output_format_on_s3() {
    let Some(base) = s3_base("walkthrough") else {
        return;
    };
    let scratch = Scratch::new();
    every_command(&base, &scratch);
}

#[test]
fn s3_errors_name_the_table_and_exit_1() {
    let Some(base) = s3_base("errors") else {
        return;
    };
    let err = fails(&["show", &format!("{base}/missing")], 1);
    assert!(
        err.contains("no Strata table") && err.contains(&base),
        "{err}"
    );
    assert!(err.contains("hint: create it"), "{err}");
    let scratch = Scratch::new();
    let t = format!("{base}/t");
    ok(&["create", &t, "--schema", SCHEMA, "-q"]);
    let bad = scratch.write("bad.csv", "id,name,ts,score\n1,a,never,1\n");
    let err = fails(&["append", &t, &bad], 1);
    assert!(err.contains("bad.csv") && err.contains("`ts`"), "{err}");
    assert_eq!(
        json(&["history", &t])["history"].as_array().map(Vec::len),
        Some(1)
    );
}
