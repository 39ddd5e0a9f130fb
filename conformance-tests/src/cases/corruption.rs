//! Bad input in the log: each a clear error naming the object and version; nothing written.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use strata_format::log::{LOG_DIR, checkpoint_file_name, commit_file_name, encode_commit};
use strata_format::testing::commit_info;
use strata_format::{Action, Protocol};
use strata_table::{Error, PROP_CHECKPOINT_INTERVAL, Table, TableOptions};

use super::{add_file, append_n, create};
use crate::backends::{CaseResult, TestBackend};
use crate::{check, check_eq};

async fn objects(store: &Arc<dyn ObjectStore>, root: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = store
        .list(Some(root))
        .map_ok(|m| format!("{} {}", m.location, m.size))
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    names.sort();
    Ok(names)
}

fn log_object(root: &Path, name: &str) -> Path {
    root.clone().join(LOG_DIR).join(name)
}

/// Opening and appending both fail with `expect` in the message; the store is unchanged.
async fn assert_refused(b: &TestBackend, expect: &[&str]) -> CaseResult {
    let (store, root) = b.raw("t")?;
    let before = objects(&store, &root).await?;
    let opened = Table::open(&b.table_uri("t")).await;
    let err = match opened {
        Ok(t) => match t.transaction().await {
            Ok(_) => return Err("a corrupt table opened and was writable".into()),
            Err(e) => e,
        },
        Err(e) => e,
    };
    let msg = err.to_string();
    for e in expect {
        check!(msg.contains(e), "error `{msg}` does not mention `{e}`");
    }
    check_eq!(objects(&store, &root).await?, before);
    Ok(())
}

/// A commit file cut in the middle of a line.
pub async fn truncated_commit_is_reported(b: &TestBackend) -> CaseResult {
    let t = create(b, "t", &[], TableOptions::default()).await?;
    append_n(&t, "a", 3).await?;
    let (store, root) = b.raw("t")?;
    let p = log_object(&root, &commit_file_name(2));
    let bytes = store.get(&p).await?.bytes().await?;
    store
        .put(&p, PutPayload::from(bytes.slice(..bytes.len() - 7)))
        .await?;
    assert_refused(b, &["00000000000000000002.json", "version 2"]).await
}

/// A commit file that is not JSON at all.
pub async fn garbage_commit_is_reported(b: &TestBackend) -> CaseResult {
    let t = create(b, "t", &[], TableOptions::default()).await?;
    append_n(&t, "a", 2).await?;
    let (store, root) = b.raw("t")?;
    let p = log_object(&root, &commit_file_name(1));
    store
        .put(&p, PutPayload::from_static(b"\x00\x01 not json\n"))
        .await?;
    assert_refused(b, &["00000000000000000001.json", "version 1"]).await
}

/// A hole in the log.
pub async fn missing_version_is_reported(b: &TestBackend) -> CaseResult {
    let t = create(b, "t", &[], TableOptions::default()).await?;
    append_n(&t, "a", 3).await?;
    let (store, root) = b.raw("t")?;
    store
        .delete(&log_object(&root, &commit_file_name(2)))
        .await?;
    assert_refused(b, &["version 2 is missing"]).await
}

/// A commit requiring a reader feature this reader does not implement.
pub async fn unknown_required_feature_is_refused(b: &TestBackend) -> CaseResult {
    create(b, "t", &[], TableOptions::default()).await?;
    let (store, root) = b.raw("t")?;
    let protocol = Protocol {
        reader_features: vec!["quantumCompression".into()],
        writer_features: vec!["quantumCompression".into()],
        ..Protocol::default()
    };
    let info = commit_info(4_102_444_800_000, "UPGRADE PROTOCOL");
    let bytes = encode_commit(info, &[Action::Protocol(protocol)])?;
    store
        .put(
            &log_object(&root, &commit_file_name(1)),
            PutPayload::from(bytes),
        )
        .await?;
    assert_refused(b, &["quantumCompression", "version 1"]).await
}

/// A checkpoint that is not a Parquet file.
pub async fn corrupt_checkpoint_is_reported(b: &TestBackend) -> CaseResult {
    let t = create(
        b,
        "t",
        &[(PROP_CHECKPOINT_INTERVAL, "2")],
        TableOptions::default(),
    )
    .await?;
    append_n(&t, "a", 3).await?;
    let (store, root) = b.raw("t")?;
    let p = log_object(&root, &checkpoint_file_name(2));
    let good = store.get(&p).await?.bytes().await?;
    // Bytes flipped in a page, before the footer: a valid Parquet file whose values may still
    // decode; the checksum (SPEC §10.2.5) finds it.
    let n = good.len();
    let footer = u32::from_le_bytes(good[n - 8..n - 4].try_into()?) as usize;
    let mut flipped = good.to_vec();
    for b in &mut flipped[(n - 8 - footer) / 2..][..8] {
        *b ^= 0x5A;
    }
    store.put(&p, PutPayload::from(flipped)).await?;
    assert_refused(
        b,
        &[
            "00000000000000000002.checkpoint.parquet",
            "version 2",
            "checksum",
        ],
    )
    .await?;
    store
        .put(&p, PutPayload::from_static(b"PAR1garbagePAR1"))
        .await?;
    assert_refused(b, &["00000000000000000002.checkpoint.parquet", "version 2"]).await?;
    // Put back, the table opens again: the refusals came from the damage alone.
    store.put(&p, PutPayload::from(good)).await?;
    check_eq!(
        Table::open(&b.table_uri("t"))
            .await?
            .latest()
            .await?
            .version(),
        3
    );
    Ok(())
}

/// Removing a file the snapshot does not have is refused before anything is written.
pub async fn invalid_operations_write_nothing(b: &TestBackend) -> CaseResult {
    let t = create(b, "t", &[], TableOptions::default()).await?;
    let (store, root) = b.raw("t")?;
    let before = objects(&store, &root).await?;
    let r = t.transaction().await?.remove_file("data/never.parquet");
    check!(
        matches!(r, Err(Error::InvalidOperation { .. })),
        "remove of an unknown file: {r:?}"
    );
    // A raw add of a path that is already in the table fails validation, not the log.
    t.transaction()
        .await?
        .add_file(add_file("data/a.parquet", 1)?)
        .commit()
        .await?;
    let mid = objects(&store, &root).await?;
    check_eq!(mid.len(), before.len() + 1);
    let dup = t
        .transaction()
        .await?
        .add_file(add_file("data/a.parquet", 1)?)
        .commit()
        .await;
    check!(
        matches!(dup, Err(Error::InvalidOperation { .. })),
        "duplicate add: {dup:?}"
    );
    check_eq!(objects(&store, &root).await?, mid);
    Ok(())
}
