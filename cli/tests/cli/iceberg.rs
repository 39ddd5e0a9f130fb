//! `strata iceberg export`, checked with independent Iceberg readers: pyiceberg
//! (`StaticTable.from_metadata`, scanned to Arrow) and DuckDB's Iceberg extension
//! (`iceberg_scan`). At every version the rows they read equal `strata scan`'s, through
//! appends, a delete (a deletion vector, exported as a position-delete file), schema evolution
//! (add, drop, rename, widen int32 → int64), partition evolution and a tier move.
//!
//! The readers come from `scripts/test`: `STRATA_TEST_PYTHON` (the .venv, with pyiceberg) and
//! `STRATA_TEST_DUCKDB_ICEBERG` (duckdb 1.4.4 with the Iceberg extension). Without them the
//! test prints a notice and passes, except under CI (`CI=true`), where it fails.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{Scratch, fails, json, ndjson, ok, s3_base};

/// The Python interpreter and the DuckDB folder, or `None` (after a notice) outside CI.
pub fn readers() -> Option<(String, String)> {
    let python = std::env::var("STRATA_TEST_PYTHON").ok();
    let duckdb = std::env::var("STRATA_TEST_DUCKDB_ICEBERG").ok();
    match (python, duckdb) {
        (Some(p), Some(d)) => Some((p, d)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "CI=true but STRATA_TEST_PYTHON or STRATA_TEST_DUCKDB_ICEBERG is not set: run the \
             tests through scripts/test, which installs pyiceberg and DuckDB's Iceberg extension"
        ),
        _ => {
            eprintln!(
                "notice: STRATA_TEST_PYTHON / STRATA_TEST_DUCKDB_ICEBERG not set (run \
                 scripts/test): the Iceberg reader checks did not run"
            );
            None
        }
    }
}

fn script() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/iceberg_read.py")
        .to_string_lossy()
        .into_owned()
}

/// Runs the reader script; its JSON output.
pub fn read(readers: &(String, String), engine: &str, metadata: &str, extra: &[&str]) -> Value {
    let (python, duckdb) = readers;
    let mut cmd = Command::new(python);
    cmd.arg(script()).arg(engine).arg(metadata).args(extra);
    if engine == "duckdb" {
        cmd.env("PYTHONPATH", duckdb);
    }
    let out = cmd.output().expect("run the Python reader");
    assert!(
        out.status.success(),
        "{engine} failed on {metadata} {extra:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("reader output is JSON")
}

/// `strata scan` at a version as {columns, rows}, rows sorted like the reader script sorts.
pub fn strata_rows(table: &str, version: u64, filter: Option<&str>) -> Value {
    let v = version.to_string();
    let mut args = vec!["scan", table, "--version", &v];
    if let Some(f) = filter {
        args.extend(["--where", f]);
    }
    let schema = json(&["show", table, "--version", &v]);
    let columns: Vec<String> = schema["schema"]["fields"]
        .as_array()
        .expect("schema fields")
        .iter()
        .map(|f| f["name"].as_str().expect("field name").to_string())
        .collect();
    let mut rows: Vec<Vec<Value>> = ndjson(&args)
        .iter()
        .map(|r| columns.iter().map(|c| r[c].clone()).collect())
        .collect();
    rows.sort_by_key(|r| serde_json::to_string(r).expect("json"));
    json!({"columns": columns, "rows": rows})
}

fn export(table: &str) -> Value {
    json(&["iceberg", "export", table])
}

/// Every version of the table, read by both readers from the latest export, equals
/// `strata scan` of that version.
fn check_every_version(readers: &(String, String), table: &str, metadata: &str, latest: u64) {
    let ids: Vec<String> = (0..=latest).map(|v| (v + 1).to_string()).collect();
    let ids = ids.join(",");
    let py = read(readers, "pyiceberg", metadata, &[&ids]);
    let duck = read(readers, "duckdb", metadata, &[&ids]);
    for v in 0..=latest {
        let want = strata_rows(table, v, None);
        let key = (v + 1).to_string();
        assert_eq!(py[&key], want, "pyiceberg at version {v} ({metadata})");
        assert_eq!(
            duck[&key]["rows"], want["rows"],
            "DuckDB at version {v} ({metadata})"
        );
    }
}

#[test]
fn iceberg_readers_see_strata_rows_at_every_version() {
    let Some(readers) = readers() else { return };
    let scratch = Scratch::new();
    let cold = scratch.path().join("cold");
    let cold_uri = format!("file://{}", cold.to_string_lossy());
    scenario(&readers, &scratch, &scratch.file("events"), &cold_uri);
    assert!(
        cold.join("data").exists(),
        "the move put no file under {}",
        cold.display()
    );
}

/// The same on S3 (moto): data, metadata and manifests are `s3://` objects, read by pyiceberg
/// (pyarrow's S3) and DuckDB (httpfs).
#[test]
fn iceberg_readers_see_strata_rows_on_s3() {
    let Some(readers) = readers() else { return };
    let Some(base) = s3_base("iceberg") else {
        return;
    };
    let scratch = Scratch::new();
    scenario(
        &readers,
        &scratch,
        &format!("{base}/events"),
        &format!("{base}/cold"),
    );
}

/// Appends, a delete, schema and partition evolution, a tag and a tier move of the table
/// `t` (tier `cold` at `cold_uri`), each version compared across the readers.
fn scenario(readers: &(String, String), scratch: &Scratch, t: &str, cold_uri: &str) {
    let readers = readers.clone();
    build_history(scratch, t);

    let before = export(t);
    assert_eq!(before["version"], 11);
    assert_eq!(before["written"], true);
    let metadata = before["metadata"]
        .as_str()
        .expect("metadata URI")
        .to_string();
    let scheme = if t.starts_with("s3://") {
        "s3://"
    } else {
        "file:///"
    };
    assert!(metadata.starts_with(scheme), "{metadata}");
    assert!(metadata.contains("/_strata_iceberg/v11-"), "{metadata}");
    // Text output: the URI alone; a second export reuses the metadata.
    assert_eq!(ok(&["iceberg", "export", t]).trim(), metadata);
    assert_eq!(export(t)["written"], false);
    check_every_version(&readers, t, &metadata, 11);

    // Time travel by tag, and a filtered scan that prunes with the exported bounds.
    let tag = read(&readers, "pyiceberg", &metadata, &["", "--tag", "release"]);
    assert_eq!(tag["tag"], 6);
    assert_eq!(tag["6"], strata_rows(t, 5, None));
    let filtered = read(
        &readers,
        "pyiceberg",
        &metadata,
        &["12", "--filter", "id >= 6"],
    );
    assert_eq!(filtered["12"], strata_rows(t, 11, Some("id >= 6")));

    // v12, v13: a tier move. The old metadata names the old locations; the next export is
    // new metadata with the current ones, and every version still reads the same.
    move_to_cold(t, cold_uri);
    let after = export(t);
    assert_eq!(after["written"], true);
    let moved = after["metadata"]
        .as_str()
        .expect("metadata URI")
        .to_string();
    assert_ne!(moved, metadata);
    check_every_version(&readers, t, &moved, 13);
    let listing = read(&readers, "pyiceberg", &moved, &["14"]);
    assert_eq!(listing["14"], strata_rows(t, 13, None));

    // An older version exports on its own.
    let v3 = json(&["iceberg", "export", t, "--version", "3"]);
    assert_eq!(v3["snapshotId"], 4);
    let m3 = v3["metadata"].as_str().expect("metadata URI").to_string();
    let py = read(&readers, "pyiceberg", &m3, &["4"]);
    assert_eq!(py["4"], strata_rows(t, 3, None));
}

/// Versions 0-11 of the table `t`: appends, a delete (a deletion vector), schema evolution
/// (add, rename, widen, drop), partition evolution and a tag of version 5.
pub fn build_history(scratch: &Scratch, t: &str) {
    let csv = |name: &str, rows: &str| scratch.write(name, rows);
    // v0: bucketed by id.
    ok(&[
        "create",
        t,
        "--schema",
        "id:int64,name:string?,n:int32?",
        "--partition-by",
        "bucket(4, id)",
        "-q",
    ]);
    // v1, v2: appends.
    let a = csv("a.csv", "id,name,n\n1,a,10\n2,b,20\n3,c,\n4,d,40\n5,e,50\n");
    ok(&["append", t, &a, "-q"]);
    let b = csv("b.csv", "id,name,n\n6,f,60\n7,,70\n8,h,80\n");
    ok(&["append", t, &b, "-q"]);
    // v3: a delete, written as a deletion vector.
    ok(&["delete", t, "--where", "id = 2 OR id = 7", "-q"]);
    let files = json(&["files", t]);
    let deleted: u64 = files["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["deletedRows"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(deleted, 2, "the delete wrote no deletion vector: {files}");
    // v4-v8: schema evolution.
    ok(&["schema", t, "add", "extra", "string", "--optional", "-q"]);
    let c = csv("c.csv", "id,name,n,extra\n9,i,90,x\n10,j,100,\n");
    ok(&["append", t, &c, "-q"]);
    ok(&["schema", t, "rename", "name", "label", "-q"]);
    ok(&["schema", t, "widen", "n", "int64", "-q"]);
    ok(&["schema", t, "drop", "extra", "-q"]);
    // v9, v10: partition evolution, then data in the new spec.
    ok(&["partition", t, "set", "truncate(3, label)", "-q"]);
    let d = csv("d.csv", "id,label,n\n11,kkkk,3000000000\n12,,120\n");
    ok(&["append", t, &d, "-q"]);
    // v11: a tag of version 5.
    ok(&["tag", t, "create", "release", "--version", "5", "-q"]);
}

/// Versions 12 and 13 of the table `t`: tier `cold` at `cold_uri`, and the rows `id <= 5`
/// moved there.
pub fn move_to_cold(t: &str, cold_uri: &str) {
    ok(&[
        "tier",
        "set",
        t,
        "--tier",
        "hot",
        "--tier",
        &format!("cold={cold_uri}"),
        "-q",
    ]);
    ok(&[
        "tier", "move", t, "--where", "id <= 5", "--to", "cold", "--grace", "0s", "-q",
    ]);
}

/// Every primitive type Strata has, partitioned by `day`, `identity` of a date and of a
/// `timestamptz` and `truncate` of a string: both readers read the rows, and pyiceberg's filters, which prune
/// with the exported bounds and partition values, return what `strata scan --where` returns.
#[test]
fn iceberg_readers_read_every_type_and_prune_with_bounds() {
    let Some(readers) = readers() else { return };
    let scratch = Scratch::new();
    let t = scratch.file("types");
    let t = t.as_str();
    ok(&[
        "create",
        t,
        "--schema",
        "id:int64,s:int16?,i:int32?,f:float64?,g:float32?,d:date?,ts:timestamptz?,\
         lt:timestamp?,p:decimal(10,2)?,b:boolean?,name:string?",
        "--partition-by",
        "day(ts), identity(d), truncate(2, name), identity(ts)",
        "-q",
    ]);
    let a = scratch.write(
        "a.csv",
        "id,s,i,f,g,d,ts,lt,p,b,name\n\
         1,5,7,1.5,0.25,2024-01-01,2024-01-01T10:00:00Z,2024-01-01T10:00:00,12.34,true,alpha\n\
         2,-3,-9,-2.5,-4.5,2024-01-02,2024-01-02T11:00:00Z,2024-01-02T11:00:00,-0.50,false,beta\n\
         3,,,,,,,,,,\n",
    );
    ok(&["append", t, &a, "-q"]);
    let b = scratch.write(
        "b.csv",
        "id,s,i,f,g,d,ts,lt,p,b,name\n\
         4,100,1000,10.0,8.0,2024-02-01,2024-02-01T00:00:00Z,2024-02-01T00:00:00,99.99,true,gamma\n",
    );
    ok(&["append", t, &b, "-q"]);
    let metadata = export(t)["metadata"]
        .as_str()
        .expect("metadata URI")
        .to_string();
    check_every_version(&readers, t, &metadata, 2);
    for (pyiceberg, strata) in [
        ("id >= 2", "id >= 2"),
        ("s > 0", "s > 0"),
        ("i < 0", "i < 0"),
        ("f < 0", "f < 0"),
        ("p > 50", "p > 50"),
        ("name = 'beta'", "name = 'beta'"),
        ("name >= 'b'", "name >= 'b'"),
        ("d >= '2024-01-02'", "d >= DATE '2024-01-02'"),
        ("b = true", "b = true"),
        ("name is null", "name IS NULL"),
    ] {
        let got = read(
            &readers,
            "pyiceberg",
            &metadata,
            &["3", "--filter", pyiceberg],
        );
        assert_eq!(
            got["3"],
            strata_rows(t, 2, Some(strata)),
            "filter {pyiceberg}"
        );
    }
}

#[test]
fn iceberg_export_refuses_a_version_with_archived_files() {
    let scratch = Scratch::new();
    let t = scratch.file("t");
    let t = t.as_str();
    ok(&["create", t, "--schema", "id:int64", "-q"]);
    let a = scratch.write("a.csv", "id\n1\n2\n");
    ok(&["append", t, &a, "-q"]);
    let cold = format!("file://{}", scratch.path().join("cold").to_string_lossy());
    ok(&[
        "tier",
        "set",
        t,
        "--tier",
        "hot",
        "--tier",
        &format!("cold={cold},class=GLACIER"),
        "-q",
    ]);
    ok(&[
        "tier", "move", t, "--where", "id >= 0", "--to", "cold", "--grace", "0s", "-q",
    ]);
    let err = fails(&["iceberg", "export", t], 1);
    assert!(err.contains("GLACIER"), "{err}");
    assert!(err.contains("version 3"), "{err}");
    // Locations resolve as of the newest version (SPEC §6.2): version 1 has the archived file
    // too, and is refused; version 0, without data, exports.
    let err = fails(&["iceberg", "export", t, "--version", "1"], 1);
    assert!(err.contains("version 1"), "{err}");
    let v0 = json(&["iceberg", "export", t, "--version", "0"]);
    assert_eq!(v0["version"], 0);
}
