//! W7: a table of 10,000 commits adding 100,000 files (10 per commit; `STRATA_BENCH_W7_COMMITS`
//! and `STRATA_BENCH_W7_FILES_PER_COMMIT` change the sizes: 100,000 x 10 is the million-file
//! table), checkpointed at the end; a fresh process opens the latest version and plans a full
//! scan and a pruned one, then appends to it and, side by side, to a one-file table: a
//! commit's cost must follow its change, not the table. It reports medians and its peak
//! resident memory. The commit files are written directly with the format crate's encoder
//! (what the appends would leave, without spending minutes on them); the open, the plans and
//! the appends are the engine's. `STRATA_BENCH_W7_TYPED=0` builds the table without typed
//! checkpoints (SPEC §10.2.1, system `strata-untyped`), for a side-by-side run.
//!
//! Then it damages the checkpoint four ways (truncated; bytes flipped in the footer, in the
//! middle, in the last row group) and times how long a fresh process takes to refuse the
//! table each time (`corrupt_<how>_refused`, or `corrupt_<how>_undetected` if it does not).
//!
//! `STRATA_BENCH_W7_REAL=1` builds the table with real commits instead: each version is one
//! transaction through the engine's commit path (the same adds, checkpoints as writers write
//! them by default: every 10 versions while the table has at most 10,000 files, then every 100,
//! SPEC §10.4), and the build reports its time and the median commit
//! of the first and of the last 1,000 versions: a commit's cost must not grow with the table.

use std::time::Instant;

use strata_format::expr::Expr;
use strata_format::log::{commit_file_name, encode_commit};
use strata_format::testing::commit_info;
use strata_format::{Action, ColumnStats};
use strata_table::Table;

use rand::SeedableRng;
use strata_table::arrow_schema::to_arrow_schema;

use crate::{BoxError, batch, create, emit, env_u64, median};

/// Peak resident set of this process in MiB (Linux `VmHWM`), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Builds the table and runs the measuring process (`strata-bench w7-open URI`).
pub(crate) async fn w7() -> Result<(), BoxError> {
    let commits = env_u64("STRATA_BENCH_W7_COMMITS", 10_000);
    let per_commit = env_u64("STRATA_BENCH_W7_FILES_PER_COMMIT", 10);
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("w7");
    crate::create_with(&root, false, typed()).await?;
    let log = root.join("_strata_log");
    let uri = root.to_str().ok_or("path")?.to_string();
    if env_u64("STRATA_BENCH_W7_REAL", 0) != 0 {
        build_by_commits(&uri, commits, per_commit).await?;
    } else {
        // In-commit timestamps must increase from version 0's (SPEC §3.2).
        let start_ms = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis(),
        )?;
        for v in 1..=commits {
            let mut info = commit_info(start_ms + v as i64 * 1000, "APPEND");
            info.read_version = Some(v - 1);
            std::fs::write(
                log.join(commit_file_name(v)),
                encode_commit(info, &adds(v, per_commit)?)?,
            )?;
        }
    }
    let table = Table::open(&uri).await?;
    let start = Instant::now();
    let at = table.checkpoint().await?;
    emit(
        "w7",
        system(),
        "checkpoint_write",
        start.elapsed().as_secs_f64() * 1000.0,
        "ms",
    );
    let size = std::fs::metadata(log.join(strata_format::log::checkpoint_file_name(at)))?.len();
    emit(
        "w7",
        system(),
        "checkpoint_size",
        size as f64 / 1048576.0,
        "MiB",
    );
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["w7-open", &uri])
        .output()?;
    if !out.status.success() {
        return Err(format!("w7-open failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    print!("{}", String::from_utf8_lossy(&out.stdout));
    corrupt_checkpoints(
        &uri,
        &log.join(strata_format::log::checkpoint_file_name(at)),
    )?;
    Ok(())
}

/// How long a fresh process takes to refuse the table when its checkpoint is damaged, for
/// damage at the footer, in the middle and in the last row group, and for a truncated file
/// (`strata-bench w7-corrupt URI VARIANT` each; the checkpoint is put back after).
fn corrupt_checkpoints(uri: &str, checkpoint: &std::path::Path) -> Result<(), BoxError> {
    let good = std::fs::read(checkpoint)?;
    let n = good.len();
    // The footer's length is stored in the 4 bytes before the closing `PAR1`.
    let footer_len = u32::from_le_bytes(good[n - 8..n - 4].try_into()?) as usize;
    let data_end = n.saturating_sub(8 + footer_len);
    let flip = |at: usize, len: usize| {
        let mut bad = good.clone();
        for b in &mut bad[at..(at + len).min(n)] {
            *b ^= 0xFF;
        }
        bad
    };
    let variants: [(&str, Vec<u8>); 4] = [
        ("truncated", good[..n / 2].to_vec()),
        ("footer", flip(n - 8 - footer_len / 2, 64)),
        ("middle", flip(n / 2, 256)),
        (
            "last_row_group",
            flip(data_end.saturating_sub(4096).max(4), 256),
        ),
    ];
    for (name, bytes) in variants {
        std::fs::write(checkpoint, &bytes)?;
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(["w7-corrupt", uri, name])
            .output();
        std::fs::write(checkpoint, &good)?;
        let out = out?;
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return Err(format!("w7-corrupt {name} failed").into());
        }
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    Ok(())
}

/// The measuring process of one damaged checkpoint: 3 opens, each of which must be refused.
pub(crate) async fn open_corrupt(uri: &str, variant: &str) -> Result<(), BoxError> {
    let mut times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let opened = match Table::open(uri).await {
            Ok(t) => t.latest().await.map(|s| s.files().len()),
            Err(e) => Err(e),
        };
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        match opened {
            Ok(files) => {
                eprintln!("w7: damage `{variant}` went unnoticed: the open read {files} files");
                emit(
                    "w7",
                    system(),
                    &format!("corrupt_{variant}_undetected"),
                    1.0,
                    "flag",
                );
                return Ok(());
            }
            Err(e) if times.len() == 1 => eprintln!("w7: damage `{variant}`: {e}"),
            Err(_) => {}
        }
    }
    emit(
        "w7",
        system(),
        &format!("corrupt_{variant}_refused"),
        median(&mut times),
        "ms",
    );
    Ok(())
}

/// The adds of version `v`: `per_commit` files of 1,000 rows with disjoint `id` ranges.
fn adds(v: u64, per_commit: u64) -> Result<Vec<Action>, BoxError> {
    let mut actions = Vec::new();
    for k in 0..per_commit {
        let n = (v - 1) * per_commit + k;
        let Action::Add(mut add) =
            strata_format::testing::add(&format!("data/f{n:08}.parquet"), 1000)
        else {
            return Err("fixture".into());
        };
        let lo = (n * 1000) as i64;
        add.stats.insert(
            1,
            ColumnStats {
                min: Some(lo.into()),
                max: Some((lo + 999).into()),
                null_count: Some(0),
                ..Default::default()
            },
        );
        actions.push(Action::Add(add));
    }
    Ok(actions)
}

/// Versions 1..=`commits`, each one engine transaction on one open handle (as a long-running
/// writer does): build time and the median commit of the first and last 1,000 versions.
async fn build_by_commits(uri: &str, commits: u64, per_commit: u64) -> Result<(), BoxError> {
    let table = Table::open(uri).await?;
    let start = Instant::now();
    let mut each = Vec::with_capacity(commits as usize);
    for v in 1..=commits {
        let actions = adds(v, per_commit)?;
        let t0 = Instant::now();
        let done = table
            .transaction()
            .await?
            .operation("APPEND")
            .actions(actions)
            .commit()
            .await?;
        each.push(t0.elapsed().as_secs_f64() * 1000.0);
        if done.version != v {
            return Err(format!("commit {v} landed as version {}", done.version).into());
        }
    }
    let build = start.elapsed().as_secs_f64();
    let window = each.len().min(1000);
    let mut first = each[..window].to_vec();
    let mut last = each[each.len() - window..].to_vec();
    let (first, last) = (median(&mut first), median(&mut last));
    emit("w7", system(), "build_real_commits_s", build, "s");
    emit("w7", system(), "commit_first_1000", first, "ms");
    emit("w7", system(), "commit_last_1000", last, "ms");
    emit(
        "w7",
        system(),
        "commit_last_over_first",
        last / first.max(f64::EPSILON),
        "x",
    );
    let mut all = each;
    emit("w7", system(), "commit_p50", median(&mut all), "ms");
    Ok(())
}

/// Whether the table gets typed checkpoints (`STRATA_BENCH_W7_TYPED`, default 1).
fn typed() -> bool {
    env_u64("STRATA_BENCH_W7_TYPED", 1) != 0
}

/// The system the figures are reported for.
fn system() -> &'static str {
    if typed() { "strata" } else { "strata-untyped" }
}

/// The measuring process: 5 fresh opens, then plans, then its peak memory.
pub(crate) async fn open(uri: &str) -> Result<(), BoxError> {
    let mut opens = Vec::new();
    let mut files = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let t = Table::open(uri).await?;
        files = t.latest().await?.files().len();
        opens.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    // The peak so far is that of opening (and holding) the latest state, before any plan.
    let open_peak = peak_rss_mib();
    let t = Table::open(uri).await?;
    let mut full = Vec::new();
    let mut pruned = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let planned = t.scan().plan().await?.files().len();
        full.push(start.elapsed().as_secs_f64() * 1000.0);
        let start = Instant::now();
        let few = t
            .scan()
            .filter(Expr::parse("id < 5000")?)
            .plan()
            .await?
            .files()
            .len();
        pruned.push(start.elapsed().as_secs_f64() * 1000.0);
        if planned != files || few != 5 {
            return Err(format!("planned {planned} and {few} of {files} files").into());
        }
    }
    emit("w7", system(), "files", files as f64, "files");
    emit("w7", system(), "open_latest", median(&mut opens), "ms");
    emit("w7", system(), "plan_full_scan", median(&mut full), "ms");
    emit(
        "w7",
        system(),
        "plan_pruned_scan",
        median(&mut pruned),
        "ms",
    );
    let (large, small) = append_costs(&t).await?;
    emit("w7", system(), "append_large_table", large, "ms");
    emit("w7", system(), "append_one_file_table", small, "ms");
    emit(
        "w7",
        system(),
        "append_cost_ratio",
        large / small.max(f64::EPSILON),
        "x",
    );
    if let Some(mib) = open_peak {
        emit("w7", system(), "peak_rss_open", mib, "MiB");
    }
    if let Some(mib) = peak_rss_mib() {
        emit("w7", system(), "peak_rss", mib, "MiB");
    }
    Ok(())
}

/// Median milliseconds of an append of 100 rows to the large table `large`, and to a table of
/// one file, alternating: the difference is what the table's size costs a commit.
async fn append_costs(large: &Table) -> Result<(f64, f64), BoxError> {
    const APPENDS: usize = 20;
    let dir = tempfile::tempdir()?;
    let small = create(&dir.path().join("one-file"), false).await?;
    let schema = to_arrow_schema(&strata_format::compact::parse_schema(crate::SCHEMA)?)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    small.append([batch(&schema, 0, 100, &mut rng)?]).await?;
    let mut on_large = Vec::new();
    let mut on_small = Vec::new();
    for i in 0..APPENDS {
        let rows = batch(&schema, 1_000_000_000 + (i as i64) * 100, 100, &mut rng)?;
        let start = Instant::now();
        large.append([rows.clone()]).await?;
        on_large.push(start.elapsed().as_secs_f64() * 1000.0);
        let start = Instant::now();
        small.append([rows]).await?;
        on_small.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((median(&mut on_large), median(&mut on_small)))
}
