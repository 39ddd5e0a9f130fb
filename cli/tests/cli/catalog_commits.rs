//! Commits of a catalog table carry the same commit info as a path-addressed table's: a
//! `strata delete` through the catalog reports the rows it deleted, and `strata history` by
//! name (through the catalog) and by path show the same operations, parameters and metrics.

use serde_json::Value;

use crate::common::*;
use crate::served::Served;

fn history(cat: &Served, table: &str) -> Vec<Value> {
    let out = cat.ok(&["-o", "json", "history", table]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    v["history"]
        .as_array()
        .or_else(|| v.as_array())
        .unwrap_or_else(|| panic!("no history in {v}"))
        .clone()
}

#[test]
fn catalog_commits_keep_their_metrics_and_history_matches_the_path() {
    let cat = Served::start();
    let scratch = Scratch::new();
    let csv = scratch.write("a.csv", CSV_A);
    cat.ok(&["namespace", "create", "sales"]);
    cat.ok(&["create", "sales.t", "--schema", SCHEMA, "-q"]);
    cat.ok(&["append", "sales.t", &csv, "-q"]);
    let r = cat.run(&["delete", "sales.t", "--where", "id >= 2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("deleted 2 rows"), "{}", r.stderr);

    let listed: Value =
        serde_json::from_str(&cat.ok(&["table", "list", "sales", "-o", "json"])).unwrap();
    let location = listed["tables"][0]["location"]
        .as_str()
        .unwrap()
        .to_string();
    let by_name = history(&cat, "sales.t");
    let by_path = history(&cat, &location);
    assert_eq!(by_name, by_path);
    let delete = by_name
        .iter()
        .find(|h| h["operation"] == "DELETE")
        .unwrap_or_else(|| panic!("no DELETE in {by_name:?}"));
    assert_eq!(delete["metrics"]["numDeletedRows"], 2, "{delete}");
    assert_eq!(delete["parameters"]["predicate"], "id >= 2", "{delete}");
}

/// `strata merge` and `strata update` of a catalog table commit through the catalog (which
/// checks their deletion vectors) with their metrics, and a replayed batch is refused.
#[test]
fn merge_and_update_through_the_catalog() {
    let cat = Served::start();
    let scratch = Scratch::new();
    let csv = scratch.write("a.csv", CSV_A);
    let src = scratch.write(
        "src.csv",
        "id,name,ts,score\n3,cy,2026-01-02T11:00:00Z,3.5\n7,gus,2026-01-07T00:00:00Z,\n",
    );
    cat.ok(&["namespace", "create", "sales"]);
    cat.ok(&["create", "sales.t", "--schema", SCHEMA, "-q"]);
    cat.ok(&["append", "sales.t", &csv, "-q"]);
    let merge = [
        "merge", "sales.t", &src, "--on", "id", "--app-id", "cdc", "--batch", "1",
    ];
    let r = cat.run(&merge);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("1 updated, 0 deleted, 1 inserted"),
        "{}",
        r.stderr
    );
    let again = cat.run(&merge);
    assert_eq!(again.code, 3, "{}", again.stderr);
    let r = cat.run(&[
        "update",
        "sales.t",
        "--set",
        "name = 'z'",
        "--where",
        "id = 1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let h = history(&cat, "sales.t");
    let ops: Vec<&str> = h.iter().filter_map(|e| e["operation"].as_str()).collect();
    assert!(ops.contains(&"MERGE") && ops.contains(&"UPDATE"), "{ops:?}");
    let m = h.iter().find(|e| e["operation"] == "MERGE").unwrap();
    assert_eq!(m["metrics"]["numDeletionVectors"], 1, "{m}");
    let rows: Value =
        serde_json::from_str(&cat.ok(&["-o", "json", "scan", "sales.t", "--columns", "id,name"]))
            .unwrap();
    let mut got: Vec<(i64, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (1, "z".to_string()),
            (2, "bob".to_string()),
            (3, "cy".to_string()),
            (7, "gus".to_string())
        ]
    );
}
