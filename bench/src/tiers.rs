//! W6: a tier move of `STRATA_BENCH_W6_MB` (default 1024) MB between two local folders,
//! against a plain copy of the same files (`std::fs::copy`), alternating, medians of
//! `STRATA_BENCH_REPS` (default 3). Each rep moves the files to the cold folder with the
//! store's own copy (a hard link on one file system) and back with every byte streamed through
//! the process (what a move across stores does). When another local file system is at hand
//! (`STRATA_BENCH_W6_XDEV_DIR`, else `/dev/shm` when it is one), each rep also moves the files
//! there, where no hard link reaches and the file is copied by the kernel, against a plain copy
//! to the same file system. The files are opaque bytes: a move never reads them. Then the same
//! on S3 when configured (`tiers/s3.rs`).

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
    let xdev = other_file_system(dir.path())?;
    let mut tiers = vec![
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
    ];
    if let Some(x) = &xdev {
        tiers.push(TierDef {
            name: "other-fs".into(),
            location: Some(format!("file://{}", x.path().join("w6").display())),
            storage_class: None,
        });
    }
    t.set_tiers(tiers, None).await?;
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
    let mut xdev_plain = Vec::new();
    let mut xdev_moved = Vec::new();
    for rep in 0..reps {
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
        if let Some(x) = &xdev {
            // Which goes first alternates: the second finds the other file system's pages
            // just freed by the first.
            let plain_first = rep % 2 == 0;
            if plain_first {
                xdev_plain.push(plain_copy_to(&root, &paths, &x.path().join("plain"))?);
            }
            let start = Instant::now();
            let r = t.move_files(&paths, "other-fs", &options).await?;
            xdev_moved.push(start.elapsed().as_secs_f64());
            if r.moved.len() != paths.len() {
                return Err(format!("moved {} of {} files", r.moved.len(), paths.len()).into());
            }
            t.move_files(&paths, "hot", &options).await?;
            if !plain_first {
                xdev_plain.push(plain_copy_to(&root, &paths, &x.path().join("plain"))?);
            }
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
    if !xdev_moved.is_empty() {
        let (plain, moved) = (median(&mut xdev_plain), median(&mut xdev_moved));
        emit(
            "w6",
            "plain-copy",
            "local_copy_other_fs_throughput",
            rate(plain),
            "MB/s",
        );
        emit("w6", "strata", "local_move_other_fs", rate(moved), "MB/s");
        emit(
            "w6",
            "strata",
            "other_fs_ratio_vs_plain_copy",
            plain / moved,
            "x",
        );
    }
    s3::w6_s3().await
}

/// Seconds to copy `paths` under `root` into `dir` with `std::fs::copy` (then removed).
fn plain_copy_to(
    root: &std::path::Path,
    paths: &[String],
    dir: &std::path::Path,
) -> Result<f64, BoxError> {
    std::fs::create_dir_all(dir)?;
    let start = Instant::now();
    for p in paths {
        std::fs::copy(root.join(p), dir.join(p.replace('/', "_")))?;
    }
    let took = start.elapsed().as_secs_f64();
    std::fs::remove_dir_all(dir)?;
    Ok(took)
}

/// A temporary folder on a file system other than `here`'s: `STRATA_BENCH_W6_XDEV_DIR`, else
/// `/dev/shm` when that is another one; `None` when neither is.
fn other_file_system(here: &std::path::Path) -> Result<Option<tempfile::TempDir>, BoxError> {
    use std::os::unix::fs::MetadataExt;
    let base = match std::env::var_os("STRATA_BENCH_W6_XDEV_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => std::path::PathBuf::from("/dev/shm"),
    };
    let (Ok(a), Ok(b)) = (std::fs::metadata(&base), std::fs::metadata(here)) else {
        return Ok(None);
    };
    if a.dev() == b.dev() {
        return Ok(None);
    }
    Ok(Some(
        tempfile::Builder::new()
            .prefix("strata-w6-")
            .tempdir_in(base)?,
    ))
}
