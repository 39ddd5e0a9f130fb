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
