//! W6 on S3: tier moves of `STRATA_BENCH_W6_S3_MB` (default 1024) MB against plain copies of
//! the same objects, alternating, medians of `STRATA_BENCH_REPS`. Runs when `STRATA_BENCH_S3_BUCKET`
//! is set (endpoint and credentials from the standard AWS variables, e.g. a moto server started
//! as in scripts/test); the bucket `<bucket>-archive` is created if missing.
//!
//! Moves keep the default grace period (old copies are deleted by a later cleanup). Each rep
//! moves 8 files around a cycle and times each leg against its plain counterpart:
//! 1. hot → warm: same bucket, storage class STANDARD_IA: Strata uses CopyObject; the plain copy
//!    is CopyObject with the class (aws-sdk-s3), 8 at a time.
//! 2. warm → far: another bucket: Strata uses CopyObject between buckets; so does the plain copy.
//! 3. far → hot with every byte streamed through the process (what a move between stores that
//!    cannot copy to each other does); the plain copy is a GET of each object and a multipart
//!    PUT of its bytes (object_store), 8 at a time.

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::types::StorageClass;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStoreExt, WriteMultipart};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use strata_format::{Action, TierDef};
use strata_table::{CreateTable, MoveOptions, Table};

use crate::{BoxError, emit, env_u64, median};

const FILES: usize = 8;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn client() -> aws_sdk_s3::Client {
    let region = var("AWS_REGION").unwrap_or_else(|| "us-east-1".into());
    let mut config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region));
    if let (Some(k), Some(s)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        config = config.credentials_provider(Credentials::new(k, s, None, None, "env"));
    }
    if let Some(endpoint) = var("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(config.build())
}

fn store(bucket: &str) -> Result<Arc<dyn ObjectStore>, BoxError> {
    Ok(Arc::new(
        AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_allow_http(true)
            .build()?,
    ))
}

/// CopyObject of every `(from_key, to_key)`, 8 at a time.
async fn plain_copy_object(
    c: &aws_sdk_s3::Client,
    pairs: &[(String, String, String, String)],
    class: Option<&str>,
) -> Result<(), BoxError> {
    futures::stream::iter(pairs.iter().map(|(fb, fk, tb, tk)| async move {
        let mut r = c
            .copy_object()
            .bucket(tb)
            .key(tk)
            .copy_source(format!("{fb}/{fk}"));
        if let Some(class) = class {
            r = r.storage_class(StorageClass::from(class));
        }
        r.send().await.map(|_| ()).map_err(BoxError::from)
    }))
    .buffer_unordered(FILES)
    .try_collect::<Vec<()>>()
    .await?;
    Ok(())
}

/// A GET of each object and a multipart PUT of its bytes (8 MiB parts), 8 objects at a time.
async fn plain_streamed_copy(
    from: &Arc<dyn ObjectStore>,
    to: &Arc<dyn ObjectStore>,
    keys: &[(String, String)],
) -> Result<(), BoxError> {
    futures::stream::iter(keys.iter().map(|(fk, tk)| async move {
        // The whole object first: a single-threaded test server (moto) cannot serve the upload
        // while a download's body is still unread.
        let bytes = from.get(&Path::from(fk.as_str())).await?.bytes().await?;
        let upload = to.put_multipart(&Path::from(tk.as_str())).await?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, 8 * 1024 * 1024);
        w.put(bytes);
        w.finish().await?;
        Ok::<(), BoxError>(())
    }))
    .buffer_unordered(FILES)
    .try_collect::<Vec<()>>()
    .await?;
    Ok(())
}

pub(crate) async fn w6_s3() -> Result<(), BoxError> {
    let Some(bucket) = var("STRATA_BENCH_S3_BUCKET") else {
        eprintln!("w6: S3 part skipped: set STRATA_BENCH_S3_BUCKET (and AWS_ENDPOINT_URL)");
        return Ok(());
    };
    let archive = format!("{bucket}-archive");
    let c = client();
    if c.head_bucket().bucket(&archive).send().await.is_err() {
        c.create_bucket().bucket(&archive).send().await?;
    }
    let mb = env_u64("STRATA_BENCH_W6_S3_MB", 1024).max(8);
    let reps = env_u64("STRATA_BENCH_REPS", 3).max(1) as usize;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let prefix = format!("w6-{nanos}");
    let root = format!("s3://{bucket}/{prefix}/t");
    let t = Table::create(
        &root,
        CreateTable::new(strata_format::compact::parse_schema("id:int64")?),
    )
    .await?;
    t.set_tiers(
        vec![
            tier("hot", None, None),
            tier(
                "warm",
                Some(format!("s3://{bucket}/{prefix}/warm")),
                Some("STANDARD_IA"),
            ),
            tier("far", Some(format!("s3://{archive}/{prefix}/far")), None),
        ],
        None,
    )
    .await?;
    let main = store(&bucket)?;
    let other = store(&archive)?;
    let per_file = (mb * 1024 * 1024) as usize / FILES;
    let mut rng = StdRng::seed_from_u64(42);
    let mut txn = t.transaction().await?.operation("APPEND");
    let mut paths = Vec::new();
    for i in 0..FILES {
        let path = format!("data/blob-{i}.parquet");
        let mut bytes = vec![0u8; per_file];
        rng.fill_bytes(&mut bytes);
        main.put(&Path::from(format!("{prefix}/t/{path}")), bytes.into())
            .await?;
        let Action::Add(mut add) = strata_format::testing::add(&path, 1) else {
            return Err("fixture".into());
        };
        add.size = per_file as u64;
        txn = txn.add_file(*add);
        paths.push(path);
    }
    txn.commit().await?;
    let total_mb = (per_file * FILES) as f64 / 1e6;
    // The default grace period (an hour): old copies are deleted by a later cleanup, not in
    // the move, which is what a move costs a reader of its throughput.
    let options = MoveOptions::default();
    let streamed = MoveOptions {
        stream_copies: true,
        ..options.clone()
    };
    let pairs = |fb: &str, fp: &str, tb: &str, tp: &str| -> Vec<(String, String, String, String)> {
        paths
            .iter()
            .map(|p| {
                (
                    fb.to_string(),
                    format!("{prefix}/{fp}/{p}"),
                    tb.to_string(),
                    format!("{prefix}/{tp}/{p}"),
                )
            })
            .collect()
    };
    let class_pairs = pairs(&bucket, "t", &bucket, "plain-class");
    let bucket_pairs = pairs(&bucket, "warm", &archive, "plain-bucket");
    let stream_keys: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            (
                format!("{prefix}/t/{p}"),
                format!("{prefix}/plain-stream/{p}"),
            )
        })
        .collect();
    let mut times: [Vec<f64>; 6] = Default::default();
    for _ in 0..reps {
        let s = Instant::now();
        plain_copy_object(&c, &class_pairs, Some("STANDARD_IA")).await?;
        times[0].push(s.elapsed().as_secs_f64());
        let s = Instant::now();
        let r = t.move_files(&paths, "warm", &options).await?;
        times[1].push(s.elapsed().as_secs_f64());
        check_moved(r.moved.len())?;

        let s = Instant::now();
        plain_copy_object(&c, &bucket_pairs, None).await?;
        times[2].push(s.elapsed().as_secs_f64());
        let s = Instant::now();
        let r = t.move_files(&paths, "far", &options).await?;
        times[3].push(s.elapsed().as_secs_f64());
        check_moved(r.moved.len())?;

        let s = Instant::now();
        plain_streamed_copy(&other, &main, &stream_keys_from(&stream_keys, &prefix)).await?;
        times[4].push(s.elapsed().as_secs_f64());
        let s = Instant::now();
        let r = t.move_files(&paths, "hot", &streamed).await?;
        times[5].push(s.elapsed().as_secs_f64());
        check_moved(r.moved.len())?;
    }
    let [a, b, cc, d, e, f] = times.map(|mut v| median(&mut v));
    let rate = |s: f64| total_mb / s;
    emit("w6", "plain-copy", "s3_class_copy_object", rate(a), "MB/s");
    emit("w6", "strata", "s3_move_class_change", rate(b), "MB/s");
    emit("w6", "strata", "s3_class_change_ratio", a / b, "x");
    emit(
        "w6",
        "plain-copy",
        "s3_cross_bucket_copy_object",
        rate(cc),
        "MB/s",
    );
    emit("w6", "strata", "s3_move_cross_bucket", rate(d), "MB/s");
    emit("w6", "strata", "s3_cross_bucket_ratio", cc / d, "x");
    emit("w6", "plain-copy", "s3_streamed_get_put", rate(e), "MB/s");
    emit("w6", "strata", "s3_move_streamed", rate(f), "MB/s");
    emit("w6", "strata", "s3_streamed_ratio", e / f, "x");
    Ok(())
}

/// The plain streamed leg copies the far tier's objects (where the files are at that point of
/// the cycle) into the main bucket.
fn stream_keys_from(keys: &[(String, String)], prefix: &str) -> Vec<(String, String)> {
    keys.iter()
        .map(|(from, to)| {
            (
                from.replacen(&format!("{prefix}/t/"), &format!("{prefix}/far/"), 1),
                to.clone(),
            )
        })
        .collect()
}

fn tier(name: &str, location: Option<String>, class: Option<&str>) -> TierDef {
    TierDef {
        name: name.into(),
        location,
        storage_class: class.map(str::to_string),
    }
}

fn check_moved(n: usize) -> Result<(), BoxError> {
    if n == FILES {
        Ok(())
    } else {
        Err(format!("moved {n} of {FILES} files").into())
    }
}
