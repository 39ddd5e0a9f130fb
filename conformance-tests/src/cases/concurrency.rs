//! Concurrent writers, typed conflicts and exactly-once ingestion.

use std::collections::BTreeMap;

use strata_table::{Error, Table, TableOptions};

use super::{add_file, create};
use crate::backends::{CaseResult, TestBackend};
use crate::{check, check_eq};

/// Checks that the table holds exactly the files `w{writer}-{i}` for every writer and commit,
/// each added once, at contiguous versions 1..=writers*commits.
pub async fn verify_appends(uri: &str, writers: u64, commits: u64) -> CaseResult {
    let t = Table::open(uri).await?;
    let s = t.latest().await?;
    check_eq!(s.version(), writers * commits);
    let history = t.history(None).await?;
    check_eq!(history.len() as u64, writers * commits + 1);
    let mut versions: Vec<u64> = history.iter().map(|h| h.version).collect();
    versions.sort_unstable();
    check!(
        versions.iter().copied().eq(0..=writers * commits),
        "versions are not contiguous"
    );
    let mut txns = BTreeMap::new();
    for h in &history {
        if let Some(prev) = txns.insert(h.info.txn_id.clone(), h.version) {
            return Err(format!(
                "transaction {} appears at versions {prev} and {}",
                h.info.txn_id, h.version
            )
            .into());
        }
    }
    for w in 0..writers {
        for i in 0..commits {
            let p = format!("data/w{w}-{i}.parquet");
            check!(s.files().contains_key(&p), "{p} is missing");
        }
    }
    check_eq!(s.files().len() as u64, writers * commits);
    Ok(())
}

/// One writer's work: `commits` appends, each of its own file, on its own handle.
///
/// With `STRATA_WRITER_ACKS=1` it prints `ack WRITER_ID I VERSION` to stdout (flushed) after
/// each commit returns: the crash test kills writers and checks every printed commit survived.
pub async fn writer(uri: &str, id: u64, commits: u64) -> CaseResult {
    use std::io::Write;
    let acks = std::env::var("STRATA_WRITER_ACKS").is_ok_and(|v| v == "1");
    let t = Table::open(uri).await?;
    for i in 0..commits {
        let c = t
            .transaction()
            .await?
            .operation("APPEND")
            .parameter("writer", id)
            .add_file(add_file(&format!("data/w{id}-{i}.parquet"), 1)?)
            .commit()
            .await?;
        if acks {
            let mut out = std::io::stdout().lock();
            writeln!(out, "ack {id} {i} {}", c.version)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// 8 OS threads (each with its own runtime and table handle) append 50 commits each: all 400
/// land exactly once, versions contiguous, no error reaches a writer.
pub async fn threads_append_concurrently(b: &TestBackend) -> CaseResult {
    const WRITERS: u64 = 8;
    const COMMITS: u64 = 50;
    create(b, "t", &[], TableOptions::default()).await?;
    let uri = b.table_uri("t");
    let handles: Vec<_> = (0..WRITERS)
        .map(|id| {
            let uri = uri.clone();
            std::thread::spawn(move || -> Result<(), String> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                rt.block_on(writer(&uri, id, COMMITS))
                    .map_err(|e| format!("writer {id}: {e}"))
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "writer thread panicked")??;
    }
    verify_appends(&uri, WRITERS, COMMITS).await
}

/// Two transactions removing the same file from the same base: the second gets a typed
/// conflict naming the winning version, and the table holds only the first.
pub async fn same_file_removed_twice_conflicts(b: &TestBackend) -> CaseResult {
    let t = create(b, "t", &[], TableOptions::default()).await?;
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(add_file("data/a.parquet", 1)?)
        .add_file(add_file("data/b.parquet", 1)?)
        .commit()
        .await?;
    let first = t
        .transaction()
        .await?
        .operation("DELETE")
        .remove_file("data/a.parquet")?;
    let second = t
        .transaction()
        .await?
        .operation("DELETE")
        .remove_file("data/a.parquet")?;
    let won = first.commit().await?;
    match second.commit().await {
        Err(Error::Conflict { conflict, .. }) => {
            check_eq!(conflict.winning_version, won.version);
        }
        other => return Err(format!("expected a conflict, got {other:?}").into()),
    }
    let s = t.latest().await?;
    check_eq!(s.version(), 2);
    check_eq!(s.files().keys().collect::<Vec<_>>(), vec!["data/b.parquet"]);
    Ok(())
}

/// A full overwrite that raced with a non-blind concurrent commit conflicts; a blind append
/// concurrent with a file-level delete commutes (WriteSerializable).
pub async fn overwrite_sees_concurrent_changes(b: &TestBackend) -> CaseResult {
    let t = create(b, "t", &[], TableOptions::default()).await?;
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(add_file("data/a.parquet", 1)?)
        .commit()
        .await?;
    let overwrite = t
        .transaction()
        .await?
        .operation("OVERWRITE")
        .read_whole_table()
        .remove_file("data/a.parquet")?
        .add_file(add_file("data/o.parquet", 1)?);
    let other_overwrite = t
        .transaction()
        .await?
        .operation("OVERWRITE")
        .read_whole_table()
        .add_file(add_file("data/p.parquet", 1)?);
    other_overwrite.commit().await?;
    let res = overwrite.commit().await;
    check!(
        matches!(res, Err(Error::Conflict { .. })),
        "two overwrites cannot both win: {res:?}"
    );
    // A delete of a file concurrent with a blind append both land.
    let del = t
        .transaction()
        .await?
        .operation("DELETE")
        .remove_file("data/a.parquet")?;
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(add_file("data/c.parquet", 1)?)
        .commit()
        .await?;
    del.commit().await?;
    let s = t.latest().await?;
    check_eq!(
        s.files().keys().cloned().collect::<Vec<_>>(),
        vec!["data/c.parquet".to_string(), "data/p.parquet".to_string()]
    );
    Ok(())
}

/// Exactly-once: a batch number an application already committed is refused, before and
/// after a race; the table answers the last batch per application.
pub async fn duplicate_batches_are_refused(b: &TestBackend) -> CaseResult {
    let t = create(b, "t", &[], TableOptions::default()).await?;
    let append = |batch: u64, name: &str| {
        let t = t.clone();
        let name = name.to_string();
        async move {
            t.transaction()
                .await?
                .operation("APPEND")
                .add_file(add_file(&format!("data/{name}.parquet"), 1)?)
                .app_transaction("ingest-job", batch)
                .commit()
                .await
                .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
        }
    };
    append(1, "b1").await?;
    let again = append(1, "b1-retry").await;
    check!(
        matches!(&again, Err(e) if e.downcast_ref::<Error>().is_some_and(|e| matches!(e, Error::DuplicateBatch { .. }))),
        "retry of batch 1: {again:?}"
    );
    // Two racing transactions for batch 2: exactly one lands.
    let x = t
        .transaction()
        .await?
        .operation("APPEND")
        .add_file(add_file("data/x.parquet", 1)?)
        .app_transaction("ingest-job", 2);
    let y = t
        .transaction()
        .await?
        .operation("APPEND")
        .add_file(add_file("data/y.parquet", 1)?)
        .app_transaction("ingest-job", 2);
    x.commit().await?;
    let lost = y.commit().await;
    check!(
        matches!(lost, Err(Error::DuplicateBatch { .. })),
        "racing duplicate: {lost:?}"
    );
    let s = t.latest().await?;
    check_eq!(
        s.app_transactions().get("ingest-job").map(|a| a.version),
        Some(2)
    );
    check!(
        !s.files().contains_key("data/y.parquet"),
        "the duplicate left no data"
    );
    check!(
        !s.files().contains_key("data/b1-retry.parquet"),
        "the duplicate left no data"
    );
    Ok(())
}
