//! `strata optimize`: a dry run plans, a run packs files and purges deletion vectors in one
//! commit that changes no row.

use crate::common::*;

fn ids(t: &str, version: Option<&str>) -> Vec<i64> {
    let mut args = vec!["scan", t, "--columns", "id"];
    if let Some(v) = version {
        args.extend(["--version", v]);
    }
    let rows = json(&args);
    let mut out: Vec<i64> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect();
    out.sort_unstable();
    out
}

#[test]
fn optimize_plans_then_packs_files_without_changing_rows() {
    let scratch = Scratch::new();
    let t = scratch.file("t");
    ok(&["create", &t, "--schema", "id:int64,name:string?", "-q"]);
    for k in 0..4 {
        let csv = scratch.write(
            &format!("a{k}.csv"),
            &format!("id,name\n{},x\n{},y\n", 2 * k, 2 * k + 1),
        );
        ok(&["append", &t, &csv, "-q"]);
    }
    ok(&["delete", &t, "--where", "id = 5", "-q"]);
    let before = ids(&t, None);
    let version = json(&["show", &t])["version"].clone();

    let plan = json(&["optimize", &t, "--dry-run"]);
    assert_eq!(plan["dryRun"], true, "{plan}");
    assert_eq!(plan["filesRemoved"], 4, "{plan}");
    assert_eq!(plan["bins"][0]["purgedRows"], 1, "{plan}");
    assert_eq!(json(&["show", &t])["version"], version);
    let text = ok(&["optimize", &t, "--dry-run", "-o", "table"]);
    assert!(text.contains("PURGED ROWS"), "{text}");

    let err = ok_stderr(&["optimize", &t, "--target-size", "64MiB"]);
    assert!(
        err.contains("rewrote 4 files") && err.contains("purging 1 deleted rows"),
        "{err}"
    );
    assert_eq!(ids(&t, None), before);
    let old = version.as_u64().expect("version").to_string();
    assert_eq!(ids(&t, Some(&old)), before);
    let files = json(&["files", &t]);
    assert_eq!(
        files["files"].as_array().expect("files").len(),
        1,
        "{files}"
    );
    let h = json(&["history", &t, "--limit", "1"]);
    let last = &h["history"][0];
    assert_eq!(last["operation"], "OPTIMIZE", "{h}");
    assert_eq!(last["metrics"]["numRemovedFiles"], 4, "{h}");
    assert_eq!(last["metrics"]["numPurgedRows"], 1, "{h}");

    let err = ok_stderr(&["optimize", &t]);
    assert!(err.contains("nothing to optimize"), "{err}");
    let err = fails(&["optimize", &t, "--target-size", "lots"], 1);
    assert!(err.contains("not a size"), "{err}");
    let err = fails(&["optimize", &t, "--sort-by", "nope"], 1);
    assert!(err.contains("`nope`"), "{err}");
}

/// `strata expire` keeps the newest versions asked for, deletes older commit files, and older
/// versions then fail naming the oldest one kept.
#[test]
fn expire_deletes_old_log_versions_and_names_the_oldest_kept() {
    let scratch = Scratch::new();
    let t = scratch.file("t");
    ok(&["create", &t, "--schema", "id:int64", "-q"]);
    for k in 0..5 {
        let csv = scratch.write(&format!("a{k}.csv"), &format!("id\n{k}\n"));
        ok(&["append", &t, &csv, "-q"]);
    }
    let plan = json(&[
        "expire",
        &t,
        "--older-than",
        "0s",
        "--keep-last",
        "2",
        "--dry-run",
    ]);
    assert_eq!(plan["oldestVersion"], 4, "{plan}");
    assert_eq!(plan["commitsDeleted"], 4, "{plan}");
    let err = ok_stderr(&["expire", &t, "--older-than", "0s", "--keep-last", "2"]);
    assert!(err.contains("the oldest version kept is 4"), "{err}");
    assert_eq!(ids(&t, Some("4")), vec![0, 1, 2, 3]);
    let err = fails(&["count", &t, "--version", "3"], 1);
    assert!(
        err.contains("version 3 was expired; the oldest version kept is 4"),
        "{err}"
    );
    // The expiry's own commit is a version: keeping one more expires nothing.
    let err = ok_stderr(&["expire", &t, "--older-than", "0s", "--keep-last", "3"]);
    assert!(err.contains("nothing to expire"), "{err}");
    let err = fails(&["expire", &t, "--older-than", "soon"], 1);
    assert!(err.contains("not an age"), "{err}");
}

/// `strata vacuum`: refuses a short retention without --force; deletes old orphans only;
/// after an expiry deletes the files only expired versions used; every version kept still
/// reads the same rows.
#[test]
fn vacuum_deletes_orphans_and_expired_files_only() {
    let scratch = Scratch::new();
    let t = scratch.file("t");
    ok(&["create", &t, "--schema", "id:int64", "-q"]);
    for k in 0..3 {
        let csv = scratch.write(&format!("a{k}.csv"), &format!("id\n{k}\n"));
        ok(&["append", &t, &csv, "-q"]);
    }
    ok(&["delete", &t, "--where", "id = 1", "--copy-on-write", "-q"]);
    let orphan = std::path::Path::new(&t).join("data/orphan.parquet");
    std::fs::write(&orphan, b"left by a crashed writer").expect("write");
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&orphan)
        .and_then(|f| f.set_modified(two_days_ago))
        .expect("age the orphan");

    let err = fails(&["vacuum", &t, "--retain", "1h"], 1);
    assert!(err.contains("under 24 hours"), "{err}");
    let err = ok_stderr(&["vacuum", &t]);
    assert!(err.contains("deleted nothing"), "{err}");
    let plan = json(&["vacuum", &t, "--retain", "1d", "--dry-run"]);
    assert_eq!(plan["objects"], 1, "{plan}");
    assert_eq!(plan["deleted"][0]["reason"], "orphan", "{plan}");
    assert_eq!(plan["tiers"][0]["tier"], "hot", "{plan}");
    assert!(orphan.exists());
    let err = ok_stderr(&["vacuum", &t, "--retain", "1d"]);
    assert!(err.contains("deleted 1 objects"), "{err}");
    assert!(!orphan.exists());

    // The delete replaced one file: every version still needs it until an expiry.
    let err = ok_stderr(&["vacuum", &t, "--retain", "0s", "--force"]);
    assert!(
        err.contains("deleted nothing") && err.contains("expire"),
        "{err}"
    );
    assert_eq!(ids(&t, Some("2")), vec![0, 1]);
    ok(&["expire", &t, "--older-than", "0s", "--keep-last", "1", "-q"]);
    let latest = json(&["show", &t])["version"].as_u64().expect("version");
    let done = json(&["vacuum", &t, "--retain", "0s", "--force"]);
    assert_eq!(done["objects"], 1, "{done}");
    assert_eq!(done["deleted"][0]["reason"], "removed", "{done}");
    assert_eq!(ids(&t, None), vec![0, 2]);
    assert_eq!(ids(&t, Some(&(latest - 1).to_string())), vec![0, 2]);
}
