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
