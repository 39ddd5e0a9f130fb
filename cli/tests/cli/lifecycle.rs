//! `strata lifecycle run` against a catalog served in-process: every table's policies are
//! applied, a broken table is reported and does not stop the others, the exit code says so.

use crate::common::*;
use crate::served::Served;

/// Creates `ns.name` through the catalog with one data file, a cold tier in `cold` and a
/// policy moving files to it a day after their commit; returns the table's location.
fn tiered_table(cat: &Served, name: &str, csv: &str, cold: &str) -> String {
    cat.ok(&["create", name, "--schema", SCHEMA, "-q"]);
    cat.ok(&["append", name, csv, "-q"]);
    let cold_tier = format!("cold={cold}");
    cat.ok(&["tier", "set", name, "--tier", "hot", "--tier", &cold_tier]);
    cat.ok(&[
        "tier",
        "policy",
        name,
        "add",
        "old",
        "--to",
        "cold",
        "--after-commit",
        "--older-than",
        "1d",
    ]);
    let info = cat.ok(&["table", "list", "life", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&info).unwrap();
    let table = name.split_once('.').map(|(_, t)| t).unwrap_or(name);
    v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == table)
        .and_then(|t| t["location"].as_str())
        .unwrap()
        .to_string()
}

#[test]
fn lifecycle_run_moves_every_table_and_reports_the_broken_one() {
    let cat = Served::start();
    let scratch = Scratch::new();
    let csv = scratch.write("a.csv", CSV_A);
    cat.ok(&["namespace", "create", "life"]);
    let cold_a = cat.archive("life/cold-a");
    let cold_b = cat.archive("life/cold-b");
    let loc_a = tiered_table(&cat, "life.good", &csv, &cold_a);
    let loc_b = tiered_table(&cat, "life.broken", &csv, &cold_b);
    let later = (chrono::Utc::now() + chrono::Duration::days(10)).to_rfc3339();

    // Nothing is old enough yet.
    let out = cat.ok(&["lifecycle", "run", "--grace", "0s"]);
    assert!(out.contains("life.good: nothing to do"), "{out}");
    assert!(out.contains("life.broken: nothing to do"), "{out}");

    // A dry run ten days later says what would move, and moves nothing.
    let out = cat.ok(&["lifecycle", "run", "--now", &later, "--dry-run"]);
    assert!(
        out.contains("life.good: would move 1 file(s) (") && out.contains(") to cold"),
        "{out}"
    );
    assert!(find_files(std::path::Path::new(&cold_a), "parquet").is_empty());

    // Break one table: its log is gone.
    let root_b = loc_b.strip_prefix("file://").unwrap_or(&loc_b);
    std::fs::remove_dir_all(std::path::Path::new(root_b).join("_strata_log")).unwrap();

    let r = cat.run(&["lifecycle", "run", "--now", &later, "--grace", "0s"]);
    assert_ne!(r.code, 0, "a failed table makes the run fail: {r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one line per table: {r:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("life.broken: FAILED: ") && l.contains("no Strata table")),
        "{r:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("life.good: moved 1 file(s) (") && l.ends_with(") to cold")),
        "{r:?}"
    );
    assert!(r.stderr.contains("1 of 2 table(s) failed"), "{r:?}");
    // The good table's file is in its cold tier and still reads.
    assert_eq!(
        find_files(std::path::Path::new(&cold_a), "parquet").len(),
        1
    );
    let root_a = loc_a.strip_prefix("file://").unwrap_or(&loc_a).to_string();
    assert_eq!(
        ids(&ndjson(&["scan", &root_a])).len(),
        3,
        "rows read after the move"
    );
    // Every write to the catalog table (append, tier set, policy, the move) was committed by
    // the catalog (POST /v1/commits), not written to the log by the CLI.
    let history = ndjson(&["history", &root_a]);
    assert_eq!(history.len(), 5, "{history:?}");
    for h in &history[..4] {
        let engine = h["engine"].as_str().unwrap();
        assert!(engine.starts_with("strata-catalog/"), "{h}");
    }
    assert_eq!(history[0]["operation"], "TIER MOVE", "{:?}", history[0]);
    let report = json(&["tier", "report", &root_a]);
    let cold = report["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tier"] == "cold")
        .cloned()
        .unwrap();
    assert_eq!(cold["files"], 1);

    // JSON output: one entry per table, the second run finds nothing left to move.
    let r = cat.run(&[
        "lifecycle",
        "run",
        "--now",
        &later,
        "--grace",
        "0s",
        "--output",
        "json",
    ]);
    assert_ne!(r.code, 0);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let status = |t: &str| {
        doc["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["table"] == t)
            .map(|e| e["status"].clone())
            .unwrap()
    };
    assert_eq!(status("life.good"), "ok");
    assert_eq!(status("life.broken"), "failed");
}

/// `strata lifecycle run` also compacts, expires and vacuums as each table's
/// `strata.maintenance.*` properties say, in the catalog (its commits are the catalog's); a dry
/// run changes nothing; invalid settings are refused when set.
#[test]
fn lifecycle_run_optimizes_expires_and_vacuums_by_the_table_properties() {
    let cat = Served::start();
    let scratch = Scratch::new();
    cat.ok(&["namespace", "create", "maint"]);
    cat.ok(&["create", "maint.small", "--schema", "id:int64", "-q"]);
    for k in 0..6 {
        let csv = scratch.write(&format!("a{k}.csv"), &format!("id\n{k}\n"));
        cat.ok(&["append", "maint.small", &csv, "-q"]);
    }
    cat.ok(&[
        "properties",
        "maint.small",
        "--set",
        "strata.maintenance.logRetention=0s",
        "--set",
        "strata.maintenance.keepVersions=2",
    ]);
    let r = cat.run(&[
        "properties",
        "maint.small",
        "--set",
        "strata.maintenance.vacuumRetention=1h",
    ]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("under 24 hours"), "{r:?}");
    let info = cat.ok(&["table", "list", "maint", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&info).unwrap();
    let loc = v["tables"][0]["location"].as_str().unwrap().to_string();
    let root = loc.strip_prefix("file://").unwrap_or(&loc).to_string();
    let orphan = std::path::Path::new(&root).join("data/orphan.parquet");
    std::fs::write(&orphan, b"left by a crashed writer").unwrap();
    // Older than the default vacuum retention (7 days).
    let days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(8 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&orphan)
        .and_then(|f| f.set_modified(days_ago))
        .unwrap();
    let version = json(&["show", &root])["version"].clone();

    let out = cat.ok(&["lifecycle", "run", "--dry-run"]);
    assert!(
        out.contains("maint.small: would optimize 6 file(s)")
            && out.contains("would expire versions before")
            && out.contains("would vacuum 1 object(s)"),
        "{out}"
    );
    assert_eq!(json(&["show", &root])["version"], version);
    assert!(orphan.exists());

    let out = cat.ok(&["lifecycle", "run"]);
    assert!(
        out.contains("maint.small: optimized 6 file(s)")
            && out.contains("into 1")
            && out.contains("expired versions before")
            && out.contains("vacuumed 1 object(s)"),
        "{out}"
    );
    assert!(!orphan.exists());
    let mut ids: Vec<i64> = ndjson(&["scan", &root])
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..6).collect::<Vec<i64>>());
    let history = ndjson(&["history", &root]);
    let ops: Vec<&str> = history
        .iter()
        .filter_map(|h| h["operation"].as_str())
        .collect();
    assert_eq!(ops[..2], ["EXPIRE", "OPTIMIZE"], "{history:?}");
    assert!(
        history.len() <= 3,
        "versions before the kept ones expired: {history:?}"
    );
    for h in &history[..2] {
        assert!(
            h["engine"].as_str().unwrap().starts_with("strata-catalog/"),
            "{h}"
        );
    }
    // Nothing is left to do.
    let out = cat.ok(&["lifecycle", "run"]);
    assert!(out.contains("maint.small: nothing to do"), "{out}");
}
