//! Concurrent writers: separate `strata append` processes on one table all land.

use std::process::{Command, Stdio};

use crate::common::*;

/// Starts `writers` `strata append` processes on the table `t` at once; checks they all land.
fn concurrent_appends(t: &str, writers: usize, scratch: &Scratch) {
    ok(&[
        "create",
        t,
        "--schema",
        SCHEMA,
        "--partition-by",
        "day(ts)",
        "-q",
    ]);
    let inputs: Vec<String> = (0..writers)
        .map(|i| {
            let rows: String = (0..10)
                .map(|r| format!("{},w{i},2026-01-0{}T00:00:00Z,\n", i * 100 + r, 1 + r % 3))
                .collect();
            scratch.write(&format!("w{i}.csv"), &format!("id,name,ts,score\n{rows}"))
        })
        .collect();
    let children: Vec<_> = inputs
        .iter()
        .map(|f| {
            Command::new(env!("CARGO_BIN_EXE_strata"))
                .args(["append", t, f])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "a writer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(json(&["count", t])["count"], (writers * 10) as u64);
    let h = json(&["history", t]);
    let entries = h["history"].as_array().expect("history");
    assert_eq!(entries.len(), writers + 1);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["operation"] == "APPEND")
            .count(),
        writers
    );
    // Each writer's rows are all there, once.
    for i in 0..writers {
        let n = json(&["count", t, "--where", &format!("name = 'w{i}'")]);
        assert_eq!(n["count"], 10, "writer {i}");
    }
}

#[test]
fn eight_concurrent_append_processes_all_commit() {
    let scratch = Scratch::new();
    concurrent_appends(&scratch.file("t"), 8, &scratch);
}

#[test]
fn concurrent_append_processes_all_commit_on_s3() {
    let Some(base) = s3_base("concurrent") else {
        return;
    };
    let scratch = Scratch::new();
    concurrent_appends(&format!("{base}/t"), 4, &scratch);
}

/// Concurrent deletes that rewrite the same file (copy-on-write) cannot all win: the losers
/// exit with code 3 and a hint, and leave the table as if they had not run.
#[test]
fn conflicting_concurrent_deletes_exit_3_and_change_nothing() {
    const N: usize = 8;
    let mut conflicts_seen = 0;
    for round in 0..5 {
        let scratch = Scratch::new();
        let t = scratch.file("t");
        ok(&["create", &t, "--schema", "id:int64,name:string?", "-q"]);
        let rows: String = (1..=N).map(|i| format!("{i},n{i}\n")).collect();
        let input = scratch.write("rows.csv", &format!("id,name\n{rows}"));
        ok(&["append", &t, &input, "-q"]);
        let children: Vec<_> = (1..=N)
            .map(|i| {
                Command::new(env!("CARGO_BIN_EXE_strata"))
                    .args([
                        "delete",
                        &t,
                        "--where",
                        &format!("id = {i}"),
                        "--copy-on-write",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        let mut lost = Vec::new();
        for (i, c) in (1..=N).zip(children) {
            let out = c.wait_with_output().expect("wait");
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            match out.status.code() {
                Some(0) => assert!(err.contains("deleted 1 rows"), "{err}"),
                Some(3) => {
                    assert!(err.contains("conflict"), "{err}");
                    assert!(
                        err.contains("hint: another writer changed the table"),
                        "{err}"
                    );
                    lost.push(i as i64);
                }
                other => panic!("delete of id {i}: exit {other:?}: {err}"),
            }
        }
        assert!(lost.len() < N, "someone must win");
        // Exactly the rows of the losers are left.
        let left = json(&["scan", &t, "--columns", "id"]);
        let mut left = ids(left.as_array().expect("rows"));
        left.sort();
        assert_eq!(left, lost, "round {round}");
        conflicts_seen += lost.len();
        if conflicts_seen > 0 {
            break;
        }
    }
    assert!(conflicts_seen > 0, "no conflict provoked in 5 rounds");
}

/// Eight processes deleting different rows of one file with deletion vectors all succeed
/// (SPEC §8.2: the losers of each race re-plan on the winner, unioning the vectors), and
/// every version in between reads a consistent set of rows.
#[test]
fn concurrent_vector_deletes_of_one_file_all_land() {
    let scratch = Scratch::new();
    concurrent_vector_deletes(&scratch.file("t"), &scratch);
}

/// The same on S3 (moto), eight processes.
#[test]
fn concurrent_vector_deletes_of_one_file_all_land_on_s3() {
    let Some(base) = s3_base("concurrent-dv") else {
        return;
    };
    let scratch = Scratch::new();
    concurrent_vector_deletes(&format!("{base}/t"), &scratch);
}

fn concurrent_vector_deletes(t: &str, scratch: &Scratch) {
    const N: i64 = 8;
    let t = t.to_string();
    ok(&["create", &t, "--schema", "id:int64,name:string?", "-q"]);
    let rows: String = (1..=2 * N).map(|i| format!("{i},n{i}\n")).collect();
    let input = scratch.write("rows.csv", &format!("id,name\n{rows}"));
    ok(&["append", &t, &input, "-q"]);
    let children: Vec<_> = (1..=N)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_strata"))
                .args(["delete", &t, "--where", &format!("id = {i}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for (i, c) in (1..=N).zip(children) {
        let out = c.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "delete of id {i}: {err}");
        assert!(err.contains("deleted 1 rows"), "{err}");
        assert!(err.contains("deletion vectors"), "{err}");
    }
    let left = json(&["scan", &t, "--columns", "id"]);
    let mut left = ids(left.as_array().expect("rows"));
    left.sort();
    assert_eq!(left, (N + 1..=2 * N).collect::<Vec<_>>());
    let files = json(&["files", &t]);
    let files = files["files"].as_array().expect("files");
    assert_eq!(files.len(), 1, "the file was never rewritten");
    assert_eq!(files[0]["deletedRows"], N);
    // Each version after the append has one more row deleted: no delete was lost or doubled.
    for v in 2..=(1 + N as u64) {
        let rows = json(&["count", &t, "--version", &v.to_string()]);
        assert_eq!(rows["count"], 2 * N - (v as i64 - 1), "version {v}: {rows}");
    }
}

/// Puts `body` at `key` under the table root `t` (an object no commit references).
fn put_object(t: &str, key: &str, body: &'static [u8]) {
    use object_store::ObjectStoreExt;
    let loc = strata_table::TableLocation::parse(t).expect("location");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(loc.store().put(&loc.child(key), body.into()))
        .expect("put");
}

/// `strata vacuum` in a loop (with `optimize`) while 8 `strata append` processes write, on
/// S3: no writer fails, no row is lost, every retained version reads, and the vacuum did
/// delete what it should (the files an expiry made unneeded and an old orphan). Writers are
/// protected by the retention (their files are younger than it until they commit) and by the
/// vacuum's last look at the log before deleting.
#[test]
fn vacuum_during_eight_writer_processes_on_s3() {
    const WRITERS: usize = 8;
    const APPENDS: usize = 4;
    const RETAIN_S: u64 = 15;
    let Some(base) = s3_base("vacuum-writers") else {
        return;
    };
    let scratch = Scratch::new();
    let t = format!("{base}/t");
    ok(&["create", &t, "--schema", "id:int64,name:string", "-q"]);
    for k in 0..WRITERS {
        let csv = scratch.write(&format!("seed{k}.csv"), &format!("id,name\n{k},seed\n"));
        ok(&["append", &t, &csv, "-q"]);
    }
    ok(&["optimize", &t, "-q"]);
    ok(&["expire", &t, "--older-than", "0s", "--keep-last", "1", "-q"]);
    put_object(&t, "data/orphan.parquet", b"left by a crashed writer");
    // Let the seed files' removal and the orphan age past the retention.
    std::thread::sleep(std::time::Duration::from_secs(RETAIN_S + 1));

    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let maintainer = {
        let (t, done) = (t.clone(), done.clone());
        std::thread::spawn(move || {
            let mut deleted = 0u64;
            let mut runs = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) || runs < 2 {
                let retain = format!("{RETAIN_S}s");
                let r = json(&["vacuum", &t, "--retain", &retain, "--force"]);
                deleted += r["objects"].as_u64().expect("objects");
                ok(&["optimize", &t, "-q"]);
                runs += 1;
            }
            (deleted, runs)
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let inputs: Vec<String> = (0..APPENDS)
                .map(|a| {
                    let rows: String = (0..10)
                        .map(|r| format!("{},w{w}\n", 1000 + w * 100 + a * 10 + r))
                        .collect();
                    scratch.write(&format!("w{w}-{a}.csv"), &format!("id,name\n{rows}"))
                })
                .collect();
            let t = t.clone();
            std::thread::spawn(move || {
                for input in inputs {
                    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
                        .args(["append", &t, &input, "-q"])
                        .stdout(Stdio::null())
                        .stderr(Stdio::piped())
                        .output()
                        .expect("run");
                    assert!(
                        out.status.success(),
                        "writer {w} failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("a writer failed");
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (deleted, runs) = maintainer.join().expect("the maintainer failed");
    assert!(runs >= 2, "{runs}");
    // The seed files replaced by the first optimize and expired, and the orphan.
    assert!(
        deleted > WRITERS as u64,
        "vacuum deleted only {deleted} objects"
    );

    assert_eq!(
        json(&["count", &t])["count"],
        (WRITERS + WRITERS * APPENDS * 10) as u64
    );
    for w in 0..WRITERS {
        let n = json(&["count", &t, "--where", &format!("name = 'w{w}'")]);
        assert_eq!(n["count"], (APPENDS * 10) as u64, "writer {w}");
    }
    let show = json(&["show", &t]);
    let latest = show["version"].as_u64().expect("version");
    let history = json(&["history", &t]);
    let oldest = history["history"]
        .as_array()
        .and_then(|h| h.last())
        .and_then(|e| e["version"].as_u64())
        .expect("oldest");
    for v in oldest..=latest {
        let c = json(&["count", &t, "--version", &v.to_string()]);
        assert!(c["count"].as_u64().is_some(), "version {v}: {c}");
    }
    let last = json(&["vacuum", &t, "--retain", "0s", "--force", "--dry-run"]);
    let left: Vec<&str> = last["deleted"]
        .as_array()
        .expect("deleted")
        .iter()
        .filter_map(|o| o["reason"].as_str())
        .collect();
    assert!(
        left.iter().all(|r| *r != "removed"),
        "every removed file is still needed by a retained version: {last}"
    );
}
