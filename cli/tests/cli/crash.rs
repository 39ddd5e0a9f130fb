//! Crash test: `strata append` processes killed with SIGKILL at random moments, 100 rounds.
//! After every round the table opens and every append whose process reported success is in
//! it; at the end every acknowledged row is there exactly once.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

const ROUNDS: u64 = 100;
const WRITERS: u64 = 4;

/// A deterministic xorshift, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn append_processes_killed_with_sigkill_lose_no_acknowledged_append() {
    let scratch = Scratch::new();
    let t = scratch.file("t");
    ok(&[
        "create",
        &t,
        "--schema",
        SCHEMA,
        "--property",
        "strata.checkpointInterval=5",
        "-q",
    ]);
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let mut acked: Vec<u64> = Vec::new();
    let mut killed = 0;
    for round in 0..ROUNDS {
        let children: Vec<(u64, std::process::Child)> = (0..WRITERS)
            .map(|w| {
                let id = round * WRITERS + w;
                let csv = scratch.write(
                    &format!("r{id}.csv"),
                    &format!("id,name,ts,score\n{id},w{w},2026-01-01T00:00:00Z,1.0\n"),
                );
                let child = Command::new(env!("CARGO_BIN_EXE_strata"))
                    .args(["append", &t, &csv, "-q"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn strata append");
                (id, child)
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.below(40)));
        for (id, mut child) in children {
            // SIGKILL on Unix; a process that already exited is left as it is.
            let _ = child.kill();
            let status = child.wait().expect("wait");
            if status.success() {
                acked.push(id);
            } else {
                killed += 1;
            }
        }
        // The table opens, and holds at least every acknowledged append so far.
        let n: u64 = ok(&["count", &t]).trim().parse().expect("a count");
        assert!(
            n >= acked.len() as u64,
            "round {round}: {n} rows, {} acknowledged",
            acked.len()
        );
    }
    let rows = ndjson(&["scan", &t, "--columns", "id"]);
    let mut seen: BTreeMap<u64, u32> = BTreeMap::new();
    for r in &rows {
        *seen.entry(r["id"].as_u64().expect("id")).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "an append landed twice");
    for id in &acked {
        assert!(seen.contains_key(id), "acknowledged append {id} is lost");
    }
    let history = json(&["history", &t]);
    let versions = history["history"]
        .as_array()
        .expect("history entries")
        .len();
    assert_eq!(
        versions,
        rows.len() + 1,
        "one commit per row plus the create"
    );
    assert!(
        killed > 0,
        "no process was killed mid-flight: the test tried nothing"
    );
    eprintln!(
        "{ROUNDS} rounds: {} appends acknowledged, {killed} killed, {} rows",
        acked.len(),
        rows.len()
    );
}

/// The rows of every retained version, from the oldest kept to the latest.
fn retained_counts(t: &str) -> BTreeMap<u64, u64> {
    let history = json(&["history", t]);
    let entries = history["history"].as_array().expect("history entries");
    let versions: Vec<u64> = entries
        .iter()
        .filter_map(|e| e["version"].as_u64())
        .collect();
    versions
        .iter()
        .map(|v| {
            let c = json(&["count", t, "--version", &v.to_string()]);
            (*v, c["count"].as_u64().expect("count"))
        })
        .collect()
}

/// `optimize`, `expire` and `vacuum` processes killed with SIGKILL at random moments: after
/// every round the table opens, every retained version reads the rows it read before, no
/// acknowledged append is lost, and re-running the killed operation finishes it.
#[test]
fn maintenance_processes_killed_with_sigkill_are_harmless_and_rerun_finishes() {
    const MAINTENANCE_ROUNDS: u64 = 24;
    let scratch = Scratch::new();
    let t = scratch.file("t");
    ok(&[
        "create",
        &t,
        "--schema",
        "id:int64,name:string",
        "--property",
        "strata.checkpointInterval=4",
        "-q",
    ]);
    let mut rng = Rng(0x0b5e_55ed_c0ff_ee00);
    let mut rows = 0u64;
    let mut killed = 0;
    let ops: [&[&str]; 3] = [
        &["optimize"],
        &["expire", "--older-than", "0s", "--keep-last", "3"],
        &["vacuum", "--retain", "0s", "--force"],
    ];
    for round in 0..MAINTENANCE_ROUNDS {
        for k in 0..3 {
            let id = round * 3 + k;
            let csv = scratch.write(&format!("m{id}.csv"), &format!("id,name\n{id},r{round}\n"));
            ok(&["append", &t, &csv, "-q"]);
            rows += 1;
        }
        let before = retained_counts(&t);
        let op = ops[rng.below(3) as usize];
        let mut args = vec![op[0], t.as_str()];
        args.extend(&op[1..]);
        args.push("-q");
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(rng.below(60)));
        let _ = child.kill();
        if !child.wait().expect("wait").success() {
            killed += 1;
        }
        // Every version still kept reads what it read before (maintenance changes no row).
        let after = retained_counts(&t);
        for (v, n) in &after {
            if let Some(m) = before.get(v) {
                assert_eq!(n, m, "round {round} ({}): version {v}", op[0]);
            }
        }
        assert_eq!(json(&["count", &t])["count"], rows, "round {round}");
        // A re-run finishes what the killed one started.
        if round % 2 == 1 {
            ok(&args);
            let again = retained_counts(&t);
            assert_eq!(again.values().last(), Some(&rows), "round {round}");
        }
    }
    ok(&["vacuum", &t, "--retain", "0s", "--force", "-q"]);
    let end = retained_counts(&t);
    assert!(end.values().all(|n| *n <= rows), "{end:?}");
    assert_eq!(end.values().last(), Some(&rows));
    let ids = ndjson(&["scan", &t, "--columns", "id"]);
    let mut seen: Vec<u64> = ids.iter().filter_map(|r| r["id"].as_u64()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..rows).collect::<Vec<u64>>());
    assert!(killed > 0, "no maintenance process was killed mid-flight");
    eprintln!("{MAINTENANCE_ROUNDS} maintenance rounds: {killed} processes killed mid-flight");
}
