//! Log, snapshot, time travel, tags, restore and checkpoint cases.

use std::sync::Arc;

use strata_table::{
    Error, PROP_CHECKPOINT_INTERVAL, SnapshotSelector, Table, TableLocation, TableOptions,
};

use super::{add_file, append_n, create, stepping_options};
use crate::backends::{BackendKind, CaseResult, TestBackend};
use crate::counting::CountingStore;
use crate::{check, check_eq};

/// Creating a table commits version 0; a fresh handle opens it with the same schema.
pub async fn create_then_open(b: &TestBackend) -> CaseResult {
    let t = create(b, "t", &[], TableOptions::default()).await?;
    let opened = Table::open(&b.table_uri("t")).await?;
    let s = opened.latest().await?;
    check_eq!(s.version(), 0);
    let created = t.latest().await?;
    check_eq!(s.schema(), created.schema());
    check_eq!(s.files().len(), 0);
    Ok(())
}

/// Creating a table where one exists fails and changes nothing.
pub async fn create_twice_is_refused(b: &TestBackend) -> CaseResult {
    let t = create(b, "t", &[], TableOptions::default()).await?;
    let before = t.latest().await?.metadata().table_id.clone();
    let again = create(b, "t", &[], TableOptions::default()).await;
    check!(
        matches!(again, Err(Error::TableExists { .. })),
        "second create gave {again:?}"
    );
    let after = Table::open(&b.table_uri("t")).await?.latest().await?;
    check_eq!(after.metadata().table_id, before);
    check_eq!(after.version(), 0);
    Ok(())
}

/// Opening where no table exists is a clear error naming the URI.
pub async fn open_missing_table_fails(b: &TestBackend) -> CaseResult {
    let err = Table::open(&b.table_uri("nothing-here")).await;
    match err {
        Err(e @ Error::TableNotFound { .. }) => {
            check!(e.to_string().contains("nothing-here"), "message: {e}");
            Ok(())
        }
        other => Err(format!("expected TableNotFound, got {other:?}").into()),
    }
}

/// Appends become versions 1..n; history lists them newest first with file and row counts.
pub async fn appends_and_history(b: &TestBackend) -> CaseResult {
    let t = create(b, "t", &[], TableOptions::default()).await?;
    append_n(&t, "a", 5).await?;
    let s = Table::open(&b.table_uri("t")).await?.latest().await?;
    check_eq!(s.version(), 5);
    check_eq!(s.files().len(), 5);
    check_eq!(s.record_count(), 1 + 2 + 3 + 4 + 5);
    let h = t.history(Some(3)).await?;
    check_eq!(
        h.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![5, 4, 3]
    );
    check_eq!(h[0].files_added, 1);
    check_eq!(h[0].rows_added, 5);
    check_eq!(h[0].info.operation, "APPEND");
    check!(h[0].info.is_blind_append, "an append is a blind append");
    let all = t.history(None).await?;
    check_eq!(all.len(), 6);
    check!(
        all.windows(2)
            .all(|w| w[0].info.timestamp > w[1].info.timestamp),
        "in-commit timestamps strictly increase"
    );
    Ok(())
}

/// Time travel by version, timestamp and tag; errors for the impossible ones.
pub async fn time_travel(b: &TestBackend) -> CaseResult {
    let start = 1_700_000_000_000;
    let t = create(b, "t", &[], stepping_options(start)).await?;
    append_n(&t, "a", 4).await?;
    let h = t.history(None).await?;
    let ts_of = |v: u64| h.iter().find(|e| e.version == v).map(|e| e.info.timestamp);
    let (Some(ts2), Some(ts3)) = (ts_of(2), ts_of(3)) else {
        return Err("history lacks versions 2 and 3".into());
    };
    let v2 = t.snapshot(&SnapshotSelector::Version(2)).await?;
    check_eq!(v2.version(), 2);
    check_eq!(v2.files().len(), 2);
    let mid = t
        .snapshot(&SnapshotSelector::Timestamp(ts2 + (ts3 - ts2) / 2))
        .await?;
    check_eq!(mid.version(), 2);
    let exact = t.snapshot(&SnapshotSelector::Timestamp(ts3)).await?;
    check_eq!(exact.version(), 3);
    let future = t.snapshot(&SnapshotSelector::Timestamp(i64::MAX)).await?;
    check_eq!(future.version(), 4);
    let before = t.snapshot(&SnapshotSelector::Timestamp(start - 1)).await;
    check!(
        matches!(before, Err(Error::TimestampBeforeTable { .. })),
        "before the table: {before:?}"
    );
    let missing = t.snapshot(&SnapshotSelector::Version(99)).await;
    check!(
        matches!(
            missing,
            Err(Error::VersionNotFound {
                version: 99,
                latest: 4,
                ..
            })
        ),
        "{missing:?}"
    );

    t.create_tag("release-1", 2).await?;
    let tagged = t
        .snapshot(&SnapshotSelector::Tag("release-1".into()))
        .await?;
    check_eq!(tagged.version(), 2);
    check_eq!(tagged.files().len(), 2);
    let dup = t.create_tag("release-1", 3).await;
    check!(
        matches!(dup, Err(Error::InvalidOperation { .. })),
        "{dup:?}"
    );
    t.delete_tag("release-1").await?;
    let gone = t.snapshot(&SnapshotSelector::Tag("release-1".into())).await;
    check!(matches!(gone, Err(Error::TagNotFound { .. })), "{gone:?}");
    // Old versions still see the tag they had.
    let v6 = t.snapshot(&SnapshotSelector::Version(5)).await?;
    check_eq!(v6.tags().get("release-1"), Some(&2));
    Ok(())
}

/// Restore commits a new version equal to the old one; history keeps everything.
pub async fn restore_to_older_version(b: &TestBackend) -> CaseResult {
    let t = create(b, "t", &[], TableOptions::default()).await?;
    append_n(&t, "a", 3).await?;
    t.transaction()
        .await?
        .operation("DELETE")
        .remove_file("data/a-0.parquet")?
        .commit()
        .await?;
    let r = t.restore(1).await?;
    check_eq!(r.version, 5);
    let now = t.latest().await?;
    let then = t.snapshot(&SnapshotSelector::Version(1)).await?;
    check_eq!(
        now.files().keys().collect::<Vec<_>>(),
        then.files().keys().collect::<Vec<_>>()
    );
    check_eq!(now.record_count(), then.record_count());
    check_eq!(t.history(Some(1)).await?[0].info.operation, "RESTORE");
    Ok(())
}

/// Checkpoints are written every `interval` versions; reopening reads the pointer, one
/// checkpoint and only the commits after it, and rebuilds the same state.
pub async fn checkpoint_then_reopen(b: &TestBackend) -> CaseResult {
    let t = create(
        b,
        "t",
        &[(PROP_CHECKPOINT_INTERVAL, "5")],
        TableOptions::default(),
    )
    .await?;
    append_n(&t, "a", 12).await?;
    let full = t.latest().await?;
    let loc = b.location("t")?;
    let counting = Arc::new(CountingStore::new(loc.store().clone()));
    let reopened =
        Table::open_with(loc.with_store(counting.clone()), TableOptions::default()).await?;
    let lists = counting.counts().lists();
    let mut gets = counting.get_paths();
    check_eq!(reopened.latest().await?.state(), full.state());
    gets.sort();
    let names: Vec<String> = gets
        .iter()
        .filter_map(|p| p.rsplit('/').next().map(str::to_string))
        .collect();
    let mut expected: Vec<String> = [
        "00000000000000000010.checkpoint.parquet",
        "00000000000000000011.json",
        "00000000000000000012.json",
        "_last_checkpoint",
    ]
    .map(str::to_string)
    .to_vec();
    // On a local file system the newest version is found by reading commits until one is
    // missing (cheaper than listing the folder); elsewhere by one LIST after the checkpoint.
    let local = b.kind() == BackendKind::Local;
    if local {
        expected.insert(3, "00000000000000000013.json".to_string());
    }
    check_eq!(names, expected);
    check_eq!(lists, if local { 0 } else { 1 });
    // An explicit checkpoint of the latest version also works and is used.
    check_eq!(t.checkpoint().await?, 12);
    let again = Table::open(&b.table_uri("t")).await?.latest().await?;
    check_eq!(again.state(), full.state());
    Ok(())
}

/// Without `strata.checkpointInterval`, a small table is checkpointed every 10 versions and a
/// table of more than 10,000 live files every 100 (SPEC §10.4); time travel finds either.
pub async fn default_interval_follows_the_tables_size(b: &TestBackend) -> CaseResult {
    let small = create(b, "small", &[], TableOptions::default()).await?;
    append_n(&small, "a", 21).await?;
    for (v, written) in [(5, false), (10, true), (20, true)] {
        let exists = small.checkpoint_exists(v).await?;
        check!(
            exists == written,
            "small table, version {v}: checkpoint {exists}, expected {written}"
        );
    }
    let large = create(b, "large", &[], TableOptions::default()).await?;
    let mut txn = large.transaction().await?.operation("APPEND");
    for i in 0..=strata_format::log::SMALL_TABLE_FILES {
        txn = txn.add_file(add_file(&format!("data/bulk-{i}.parquet"), 1)?);
    }
    txn.commit().await?;
    append_n(&large, "b", 10).await?;
    check_eq!(large.latest().await?.version(), 11);
    check!(
        !large.checkpoint_exists(10).await?,
        "a table of more than 10,000 files was checkpointed at version 10"
    );
    for (t, v, files) in [(&small, 15, 15), (&large, 10, 10_010)] {
        let fresh = Table::open(t.uri()).await?;
        let then = fresh.snapshot(&SnapshotSelector::Version(v)).await?;
        let found = then.files().len();
        check!(
            found == files,
            "version {v} of {}: {found} files, expected {files}",
            t.uri()
        );
    }
    Ok(())
}

/// A data file's logical path is its identity; a relocation is visible from every version.
pub async fn relocation_reaches_old_versions(b: &TestBackend) -> CaseResult {
    use strata_format::Relocate;
    use strata_format::actions::Action;
    let t = create(b, "t", &[], TableOptions::default()).await?;
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(add_file("data/x.parquet", 7)?)
        .commit()
        .await?;
    t.transaction()
        .await?
        .operation("DELETE")
        .remove_file("data/x.parquet")?
        .commit()
        .await?;
    t.transaction()
        .await?
        .operation("TIER MOVE")
        .action(Action::Relocate(Relocate {
            path: "data/x.parquet".into(),
            tier: "cold".into(),
            location: Some("memory://cold/x.parquet".into()),
            storage_class: Some("GLACIER".into()),
            restore: None,
        }))
        .commit()
        .await?;
    let fresh = Table::open(&b.table_uri("t")).await?;
    let v1 = fresh.snapshot(&SnapshotSelector::Version(1)).await?;
    let Some(f) = v1.files().get("data/x.parquet") else {
        return Err("version 1 lost its file".into());
    };
    check_eq!(f.tier, "cold");
    check_eq!(v1.physical_location(f), "memory://cold/x.parquet");
    Ok(())
}

/// A location that is not a table at all still gives a parseable error (covers URIs).
pub async fn uri_errors_are_clear(_b: &TestBackend) -> CaseResult {
    let e = TableLocation::parse("gopher://x/y");
    check!(matches!(e, Err(Error::InvalidUri { .. })), "{e:?}");
    Ok(())
}
