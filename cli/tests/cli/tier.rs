//! `strata tier ...` and `append --merge-schema` as spawned processes (local tables; restores
//! also on S3).

use crate::common::*;

/// A day-partitioned table with rows on 2026-01-01..03 (CSV_A) and 2026-01-03 (NDJSON_B).
fn table(scratch: &Scratch) -> String {
    table_at(scratch, scratch.file("t"))
}

/// [`table`] at the URI `t`.
fn table_at(scratch: &Scratch, t: String) -> String {
    let a = scratch.write("a.csv", CSV_A);
    let b = scratch.write("b.ndjson", NDJSON_B);
    ok(&[
        "create",
        &t,
        "--schema",
        SCHEMA,
        "--partition-by",
        "day(ts)",
        "-q",
    ]);
    ok(&["append", &t, &a, &b, "-q"]);
    t
}

#[test]
fn tiers_policies_plan_apply_and_report_through_the_cli() {
    let scratch = Scratch::new();
    let t = table(&scratch);
    let rows_before = ok(&["count", &t]);
    let cold = scratch.file("cold");
    ok(&[
        "tier",
        "set",
        &t,
        "--tier",
        "hot",
        "--tier",
        &format!("cold={cold},class=GLACIER_IR"),
    ]);
    ok(&[
        "tier",
        "policy",
        &t,
        "add",
        "old",
        "--to",
        "cold",
        "--column",
        "ts",
        "--older-than",
        "1d",
    ]);
    let listed = json(&["tier", "policy", &t, "list"]);
    assert_eq!(listed["policies"][0]["condition"]["kind"], "dataAge");
    let table_text = ok(&["tier", "policy", &t, "list"]);
    assert!(
        table_text.contains("`ts` older than 1 days"),
        "{table_text}"
    );

    // As of 2026-01-03T12:00Z only the files of 01-01 (and nothing later) are a day old.
    let now = "2026-01-03T12:00:00Z";
    let plan = json(&["tier", "plan", &t, "--now", now]);
    let moves = plan["moves"].as_array().unwrap();
    assert_eq!(moves.len(), 1, "{plan}");
    assert!(
        moves[0]["path"]
            .as_str()
            .unwrap()
            .contains("ts_day=2026-01-01")
    );
    assert_eq!(moves[0]["toTier"], "cold");
    assert!(
        plan["after"][1]["monthlyCost"].as_f64().unwrap() > 0.0,
        "cold is priced after the move: {plan}"
    );
    // A dry run changes nothing.
    let version = json(&["show", &t])["version"].clone();
    ok(&["tier", "apply", &t, "--now", now, "--dry-run"]);
    assert_eq!(json(&["show", &t])["version"], version);

    let applied = ok(&["tier", "apply", &t, "--now", now, "--grace", "0s"]);
    assert!(applied.contains("moved 1 file(s)"), "{applied}");
    let report = json(&["tier", "report", &t]);
    assert_eq!(report["tiers"][1]["tier"], "cold");
    assert_eq!(report["tiers"][1]["files"], 1);
    assert_eq!(report["tiers"][1]["storageClass"], "GLACIER_IR");
    let files = json(&["files", &t]);
    let cold_files: Vec<_> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["tier"] == "cold")
        .collect();
    assert_eq!(cold_files.len(), 1);
    assert!(
        cold_files[0]["location"]
            .as_str()
            .unwrap()
            .contains("/cold/")
    );
    assert_eq!(ok(&["count", &t]), rows_before, "a move never changes rows");
    assert_eq!(ok(&["count", &t, "--version", "1"]), rows_before);

    // Everything from 01-02 on moves by filter; then nothing is left to apply.
    let moved = ok(&[
        "tier",
        "move",
        &t,
        "--where",
        "ts >= TIMESTAMP '2026-01-02 00:00:00'",
        "--to",
        "cold",
        "--grace",
        "0s",
        "-o",
        "json",
    ]);
    assert!(moved.contains("\"moved\""), "{moved}");
    let again = ok(&["tier", "apply", &t, "--now", now]);
    assert!(again.contains("nothing to move"), "{again}");
    ok(&["tier", "policy", &t, "remove", "old"]);
    let err = fails(&["tier", "policy", &t, "remove", "old"], 1);
    assert!(err.contains("no policy `old`"), "{err}");
}

#[test]
fn archived_files_fail_scans_with_a_clear_error() {
    let scratch = Scratch::new();
    let t = table(&scratch);
    let cold = scratch.file("cold");
    ok(&[
        "tier",
        "set",
        &t,
        "--tier",
        "hot",
        "--tier",
        &format!("cold={cold},class=GLACIER"),
    ]);
    ok(&[
        "tier",
        "move",
        &t,
        "--where",
        "ts < TIMESTAMP '2026-01-02 00:00:00'",
        "--to",
        "cold",
        "--grace",
        "0s",
    ]);
    let err = fails(&["scan", &t], 1);
    assert!(err.contains("archived") && err.contains("GLACIER"), "{err}");
    // A filter that prunes the archived day away reads without touching it.
    let n = ok(&[
        "count",
        &t,
        "--where",
        "ts >= TIMESTAMP '2026-01-02 00:00:00'",
    ]);
    assert!(n.trim().parse::<u64>().unwrap() > 0, "{n}");
    let err = fails(&["tier", "set", &t, "--tier", "hot"], 1);
    assert!(
        err.contains("tier `cold` still holds 1 active file"),
        "{err}"
    );
}

/// Defines hot + a GLACIER cold tier at `cold` and moves the first day there.
fn archive_first_day(t: &str, cold: &str) {
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
        "tier",
        "move",
        t,
        "--where",
        "ts < TIMESTAMP '2026-01-02 00:00:00'",
        "--to",
        "cold",
        "--grace",
        "0s",
        "-q",
    ]);
}

#[test]
fn tier_restore_records_the_restore_and_makes_archived_files_readable() {
    let scratch = Scratch::new();
    let t = table(&scratch);
    let before = ndjson(&["scan", &t]);
    archive_first_day(&t, &scratch.file("cold"));
    let err = fails(&["scan", &t], 1);
    assert!(err.contains("strata tier restore"), "{err}");
    // Moving an archived file needs a restore first.
    let err = fails(
        &[
            "tier", "move", &t, "--where", "id >= 0", "--to", "hot", "--grace", "0s",
        ],
        1,
    );
    assert!(err.contains("archived") && err.contains("restore"), "{err}");

    let report = json(&["tier", "restore", &t, "--where", "id >= 0", "--days", "3"]);
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{report}");
    assert_eq!(files[0]["storageClass"], "GLACIER");
    assert!(files[0]["expiresMs"].as_i64().unwrap() > 0, "{report}");
    assert!(report["version"].as_u64().is_some(), "{report}");
    let history = json(&["history", &t, "--limit", "1"]);
    assert!(history.to_string().contains("TIER RESTORE"), "{history}");
    // Readable now, at every version: the same rows as before the move.
    assert_eq!(ndjson(&["scan", &t]), before);
    assert_eq!(ndjson(&["scan", &t, "--version", "1"]), before);
    // Nothing left to restore.
    let again = ok(&["tier", "restore", &t]);
    assert!(again.contains("nothing to restore"), "{again}");
}

#[test]
fn scan_with_restore_reads_archived_s3_files() {
    let Some(base) = s3_base("scan-restore") else {
        return;
    };
    let scratch = Scratch::new();
    let t = table_at(&scratch, format!("{base}/t"));
    let before = ndjson(&["scan", &t]);
    archive_first_day(&t, &format!("{base}/cold"));
    let err = fails(&["scan", &t], 1);
    assert!(
        err.contains("GLACIER") && err.contains("--restore"),
        "{err}"
    );
    let rows = ndjson(&["scan", &t, "--restore", "--poll", "100ms"]);
    assert_eq!(rows, before);
    let files = json(&["files", &t]);
    assert!(files.to_string().contains("GLACIER"), "{files}");
}

#[test]
fn merge_schema_adds_the_new_columns_of_a_csv_in_the_same_commit() {
    let scratch = Scratch::new();
    let t = table(&scratch);
    let wide = scratch.write(
        "wide.csv",
        "id,name,ts,score,country\n9,zed,2026-01-04T00:00:00Z,1.5,NL\n",
    );
    let err = fails(&["append", &t, &wide], 1);
    assert!(
        err.contains("country") && err.contains("merge-schema"),
        "{err}"
    );
    let before = json(&["show", &t])["version"].as_u64().unwrap();
    ok(&["append", &t, &wide, "--merge-schema", "-q"]);
    let show = json(&["show", &t]);
    assert_eq!(show["version"].as_u64().unwrap(), before + 1);
    let fields = show["schema"].to_string();
    assert!(fields.contains("country"), "{fields}");
    let rows = ndjson(&["scan", &t, "--where", "id = 9"]);
    assert_eq!(rows[0]["country"], "NL");
    let old = ndjson(&["scan", &t, "--where", "id = 1"]);
    assert!(old[0]["country"].is_null(), "{old:?}");
}

/// A policy with `--pack-target` packs the small files it moves into one file of the cold
/// tier; `tier plan` shows what the store bills (small objects as 128 KiB) before and after.
#[test]
fn a_policy_packs_small_files_before_moving_them() {
    let scratch = Scratch::new();
    let t = scratch.file("t");
    ok(&["create", &t, "--schema", "id:int64,name:string?", "-q"]);
    for k in 0..4 {
        let csv = scratch.write(&format!("a{k}.csv"), &format!("id,name\n{k},x\n"));
        ok(&["append", &t, &csv, "-q"]);
    }
    let cold = scratch.file("cold");
    ok(&[
        "tier",
        "set",
        &t,
        "--tier",
        "hot",
        "--tier",
        &format!("cold={cold},class=STANDARD_IA"),
    ]);
    ok(&[
        "tier",
        "policy",
        &t,
        "add",
        "pack",
        "--to",
        "cold",
        "--after-commit",
        "--older-than",
        "0s",
        "--pack-target",
        "64MiB",
    ]);
    let listed = json(&["tier", "policy", &t, "list"]);
    assert_eq!(
        listed["policies"][0]["packTargetBytes"],
        64 << 20,
        "{listed}"
    );
    let plan = ok(&["tier", "plan", &t]);
    assert!(plan.contains("BILLED") || plan.contains("billed"), "{plan}");
    assert!(plan.contains("into ~64.0 MiB"), "{plan}");
    let plan = json(&["tier", "plan", &t]);
    assert_eq!(plan["after"][1]["files"], 1, "{plan}");
    assert_eq!(plan["after"][1]["billedBytes"], 128 * 1024, "{plan}");
    let applied = ok(&["tier", "apply", &t, "--grace", "0s"]);
    assert!(
        applied.contains("packed 4 small file(s) into 1"),
        "{applied}"
    );
    let files = json(&["files", &t]);
    let all = files["files"].as_array().expect("files");
    assert_eq!(all.len(), 1, "{files}");
    assert_eq!(all[0]["tier"], "cold");
    assert_eq!(json(&["count", &t])["count"], 4);
    assert_eq!(json(&["count", &t, "--version", "4"])["count"], 4);
}
