//! W6: a tier move of `STRATA_BENCH_W6_MB` (default 1024) MB between two local folders,
//! against a plain copy of the same files (`std::fs::copy`), alternating, medians of
//! `STRATA_BENCH_REPS` (default 3). Each rep moves the files to the cold folder with the
//! store's own copy (a hard link on one file system) and back with every byte streamed through
//! the process (what a move across stores does). The files are opaque bytes: a move never
//! reads them. Then the same on S3 when configured (`tiers/s3.rs`).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use strata_format::{Action, TierDef};
use strata_table::{MoveOptions, Table};

use crate::{BoxError, create, emit, env_u64, median};

mod s3;

pub(crate) async fn w6() -> Result<(), BoxError> {
    let mb = env_u64("STRATA_BENCH_W6_MB", 1024).max(8);
    let reps = env_u64("STRATA_BENCH_REPS", 3).max(1) as usize;
    let files = 8u64;
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("w6");
    let t: Table = create(&root, false).await?;
    let cold = dir.path().join("w6-cold");
    std::fs::create_dir_all(&cold)?;
    t.set_tiers(
        vec![
            TierDef {
                name: "hot".into(),
                location: None,
                storage_class: None,
            },
            TierDef {
                name: "cold".into(),
                location: Some(format!("file://{}", cold.display())),
                storage_class: None,
            },
        ],
        None,
    )
    .await?;
    let mut rng = StdRng::seed_from_u64(42);
    let per_file = (mb * 1024 * 1024 / files) as usize;
    let mut txn = t.transaction().await?.operation("APPEND");
    let mut paths = Vec::new();
    std::fs::create_dir_all(root.join("data"))?;
    for i in 0..files {
        let path = format!("data/blob-{i}.parquet");
        let mut bytes = vec![0u8; per_file];
        rng.fill_bytes(&mut bytes);
        std::fs::write(root.join(&path), &bytes)?;
        let Action::Add(mut add) = strata_format::testing::add(&path, 1) else {
            return Err("fixture".into());
        };
        add.size = per_file as u64;
        txn = txn.add_file(*add);
        paths.push(path);
    }
    txn.commit().await?;
    let total_mb = (per_file as f64 * files as f64) / 1e6;
    let options = MoveOptions {
        grace: Duration::ZERO,
        ..MoveOptions::default()
    };
    let streamed_options = MoveOptions {
        stream_copies: true,
        ..options.clone()
    };
    let plain_dir = dir.path().join("plain");
    let mut plain = Vec::new();
    let mut moved = Vec::new();
    let mut streamed = Vec::new();
    for _ in 0..reps {
        std::fs::create_dir_all(&plain_dir)?;
        // Each rep moves the files away and back: they start at the root every time.
        let start = Instant::now();
        for p in &paths {
            let name = p.replace('/', "_");
            std::fs::copy(root.join(p), plain_dir.join(name))?;
        }
        plain.push(start.elapsed().as_secs_f64());
        std::fs::remove_dir_all(&plain_dir)?;
        let start = Instant::now();
        let r = t.move_files(&paths, "cold", &options).await?;
        moved.push(start.elapsed().as_secs_f64());
        if r.moved.len() != paths.len() {
            return Err(format!("moved {} of {} files", r.moved.len(), paths.len()).into());
        }
        // Back again with every byte streamed through the process (as across stores).
        let start = Instant::now();
        let r = t.move_files(&paths, "hot", &streamed_options).await?;
        streamed.push(start.elapsed().as_secs_f64());
        if r.moved.len() != paths.len() {
            return Err(format!("moved {} of {} files", r.moved.len(), paths.len()).into());
        }
    }
    let (plain, moved) = (median(&mut plain), median(&mut moved));
    let streamed = median(&mut streamed);
    let rate = |s: f64| total_mb / s;
    emit(
        "w6",
        "plain-copy",
        "local_copy_throughput",
        rate(plain),
        "MB/s",
    );
    emit("w6", "strata", "local_move_store_copy", rate(moved), "MB/s");
    emit(
        "w6",
        "strata",
        "local_move_streamed",
        rate(streamed),
        "MB/s",
    );
    emit(
        "w6",
        "strata",
        "streamed_ratio_vs_plain_copy",
        plain / streamed,
        "x",
    );
    s3::w6_s3().await
}
