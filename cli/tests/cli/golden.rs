//! Golden test of the `--output json` shapes: field names and value types of show, history,
//! files, diff, count, scan and tag list. Values themselves (times, ids, paths, sizes) are
//! replaced by type placeholders; arrays keep the distinct shapes of their elements; the
//! free-form operation `parameters` of history entries are only checked to be an object.
//!
//! Regenerate after an intended change with `STRATA_BLESS=1 cargo test -p strata-cli golden`
//! and review the diff of `cli/tests/cli/golden/`.

use std::path::PathBuf;

use serde_json::{Map, Value};
use strata_table::Table;
use strata_table::format::{Action, Relocate};

use crate::common::*;

/// The shape of a JSON value: leaves become `<string>`, `<number>`, `<bool>` or `<null>`;
/// arrays hold the distinct shapes of their elements, sorted.
pub fn shape(v: &Value) -> Value {
    match v {
        Value::Null => Value::from("<null>"),
        Value::Bool(_) => Value::from("<bool>"),
        Value::Number(_) => Value::from("<number>"),
        Value::String(_) => Value::from("<string>"),
        Value::Array(items) => {
            let mut shapes: Vec<Value> = Vec::new();
            for s in items.iter().map(shape) {
                if !shapes.contains(&s) {
                    shapes.push(s);
                }
            }
            shapes.sort_by_key(|s| s.to_string());
            Value::Array(shapes)
        }
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let mut m = Map::new();
            for k in keys {
                // Operation parameters are free-form: their keys depend on the operation.
                let v = match &o[k] {
                    Value::Object(_) if k == "parameters" => Value::from("<object>"),
                    v => shape(v),
                };
                m.insert(k.clone(), v);
            }
            Value::Object(m)
        }
    }
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cli/golden")
}

/// Compares the shape of `actual` with `golden/NAME.json`, or writes it with STRATA_BLESS=1.
fn check(name: &str, actual: &Value) -> Option<String> {
    let path = golden_dir().join(format!("{name}.json"));
    let got = shape(actual);
    if std::env::var("STRATA_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(golden_dir()).expect("golden dir");
        let text = serde_json::to_string_pretty(&got).expect("json") + "\n";
        std::fs::write(&path, text).expect("write golden");
        return None;
    }
    let want: Value = match std::fs::read_to_string(&path) {
        Ok(t) => serde_json::from_str(&t).expect("golden file is JSON"),
        Err(e) => {
            return Some(format!(
                "{name}: cannot read {} ({e}); run with STRATA_BLESS=1 to create it",
                path.display()
            ));
        }
    };
    (want != got).then(|| {
        format!(
            "{name}: the JSON shape changed (STRATA_BLESS=1 regenerates if intended)\n\
             expected:\n{}\nactual:\n{}",
            serde_json::to_string_pretty(&want).unwrap_or_default(),
            serde_json::to_string_pretty(&got).unwrap_or_default()
        )
    })
}

/// Moves the file of 2026-01-01 to a `cold` tier in another folder and sets a property,
/// through the library (the CLI has no command for either yet).
fn relocate_and_set_property(uri: &str, cold_dir: &std::path::Path) -> String {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let t = Table::open(uri).await.expect("open");
        let s = t.latest().await.expect("latest");
        let f = s
            .files()
            .values()
            .find(|f| f.path.contains("2026-01-01"))
            .expect("a file of 2026-01-01")
            .clone();
        std::fs::create_dir_all(cold_dir).expect("cold dir");
        let dest = cold_dir.join("moved.parquet");
        let src = s.physical_location(&f);
        let src = src.strip_prefix("file://").unwrap_or(&src).to_string();
        std::fs::copy(&src, &dest).expect("copy to cold");
        let location = format!("file://{}", dest.display());
        t.transaction()
            .await
            .expect("txn")
            .operation("RELOCATE")
            .action(Action::Relocate(Relocate {
                path: f.path.clone(),
                tier: "cold".into(),
                location: Some(location.clone()),
                storage_class: Some("ARCHIVE".into()),
                restore: None,
            }))
            .commit()
            .await
            .expect("relocate");
        let txn = t.transaction().await.expect("txn");
        let mut m = txn.base().metadata().clone();
        m.properties.insert("owner".into(), "bo".into());
        m.properties.insert("team".into(), "data".into());
        txn.operation("SET PROPERTIES")
            .action(Action::Metadata(Box::new(m)))
            .commit()
            .await
            .expect("set properties");
        location
    })
}

/// Builds a table whose history has every kind of change, returns its path.
fn build(scratch: &Scratch) -> String {
    let t = scratch.file("golden-table");
    let a = scratch.write("a.csv", CSV_A);
    let b = scratch.write("b.ndjson", NDJSON_B);
    let steps: Vec<Vec<&str>> = vec![
        vec![
            "create",
            &t,
            "--schema",
            SCHEMA,
            "--partition-by",
            "day(ts)",
            "--property",
            "owner=ana",
        ],
        vec!["append", &t, &a, &b],
        vec!["tag", &t, "create", "first", "--version", "1"],
        vec!["schema", &t, "add", "extra", "int32", "--optional"],
        vec!["schema", &t, "rename", "name", "full_name"],
        vec!["schema", &t, "widen", "extra", "int64"],
        vec!["schema", &t, "optional", "id"],
        vec!["schema", &t, "drop", "score"],
        vec!["partition", &t, "set", "day(ts), bucket(2, id)"],
        vec!["delete", &t, "--where", "id = 4", "--copy-on-write"],
        vec!["delete", &t, "--where", "id = 2"],
    ];
    for s in steps {
        ok(&s);
    }
    t
}

#[test]
fn json_output_shapes_match_the_golden_files() {
    let scratch = Scratch::new();
    let t = build(&scratch);
    let location = relocate_and_set_property(&t, &scratch.path().join("cold"));

    // What the shapes are taken from is itself checked, so the golden files cover real values.
    let diff = json(&["diff", &t, "first", "latest"]);
    let kinds: Vec<&str> = diff["schema"]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["change"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["nullabilityChanged", "renamed", "dropped", "added"],
        "{diff}"
    );
    assert_eq!(diff["tierMoves"][0]["toTier"], "cold");
    assert_eq!(diff["tierMoves"][0]["toLocation"], location.as_str());
    assert_eq!(diff["tierMoves"][0]["toStorageClass"], "ARCHIVE");
    assert_eq!(diff["properties"][0]["key"], "owner");
    assert_eq!(diff["properties"][0]["from"], "ana");
    assert_eq!(diff["properties"][1]["from"], Value::Null);
    assert_eq!(diff["partitionSpec"]["fromText"], "day(ts)");
    assert_eq!(diff["partitionSpec"]["toText"], "day(ts), bucket[2](id)");
    // A copy-on-write delete rewrote the file of ids 4 and 5 (2 rows out, 1 in); the last
    // delete marked id 2 of a two-row file in a deletion vector.
    assert_eq!(diff["summary"]["rowsRemoved"], 3);
    assert_eq!(diff["summary"]["rowsAdded"], 1);
    assert_eq!(diff["summary"]["filesWithDeletedRows"], 1);
    assert_eq!(diff["rowsDeleted"][0]["toDeleted"], 1);
    assert_eq!(diff["summary"]["rowsAfter"], 3);

    let files = json(&["files", &t]);
    let cold: Vec<&Value> = files["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["tier"] == "cold")
        .collect();
    assert_eq!(cold.len(), 1);
    assert_eq!(cold[0]["location"], location.as_str());
    // Old versions read the file where it is now.
    let old = json(&["files", &t, "--version", "1"]);
    assert!(
        old["files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|f| f["location"] == location.as_str()),
        "{old}"
    );
    // And the moved file is readable there.
    assert_eq!(json(&["count", &t, "--where", "id = 1"])["count"], 1);

    let outputs = [
        ("show", json(&["show", &t])),
        ("history", json(&["history", &t])),
        ("files", files),
        ("diff", diff),
        ("count", json(&["count", &t])),
        ("scan", json(&["scan", &t])),
        ("tag_list", json(&["tag", &t, "list"])),
    ];
    let failures: Vec<String> = outputs
        .iter()
        .filter_map(|(name, v)| check(name, v))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn shapes_keep_names_and_types_and_drop_values() {
    let v: Value = serde_json::from_str(
        r#"{"b": [1, 2, {"x": null}], "a": "t", "c": true, "d": [{"k": 1}, {"k": 2}]}"#,
    )
    .expect("json");
    let s = shape(&v);
    assert_eq!(
        s.to_string(),
        r#"{"a":"<string>","b":["<number>",{"x":"<null>"}],"c":"<bool>","d":[{"k":"<number>"}]}"#
    );
}
