//! Tiering cases (SPEC §6): policies move the right files, every version reads the same rows
//! before and after a move, a crash at any step of a move is finished by a re-run, concurrent
//! appends and deletes during a move, archived files.

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, TimestampMicrosecondArray};
use futures::FutureExt;
use object_store::ObjectStoreExt;
use strata_format::TierDef;
use strata_format::compact::{parse_partition_spec, parse_schema};
use strata_format::expr::Expr;
use strata_format::tiering::{DAY_MS, PolicyCondition, TierPolicy};
use strata_table::arrow_schema::to_arrow_schema;
use strata_table::{
    CreateTable, MoveOptions, MoveStep, OnArchived, RestoreOptions, SnapshotSelector,
    StoreResolver, Table, TableOptions,
};

use crate::backends::{BackendKind, CaseResult, S3_ENDPOINT_VAR, TestBackend};
use crate::{check, check_eq};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// 2026-01-01T00:00:00Z in µs.
const T0_US: i64 = 1_767_225_600_000_000;
const DAY_US: i64 = 86_400_000_000;

/// An absolute URI for a location named `name` beside the backend's tables.
fn tier_uri(b: &TestBackend, name: &str) -> String {
    let uri = b.table_uri(name);
    if uri.starts_with('/') {
        format!("file://{uri}")
    } else {
        uri
    }
}

/// Rows `first..first+n`, one per hour of day `day0` (days after `T0_US`).
fn rows(first: i64, n: i64, day0: i64) -> Result<RecordBatch, BoxError> {
    let schema = to_arrow_schema(&parse_schema("id:int64,ts:timestamptz,v:float64?")?)?;
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(first..first + n)),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    (0..n).map(|i| T0_US + day0 * DAY_US + i * 3_600_000_000),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(Float64Array::from_iter_values(
                (first..first + n).map(|i| i as f64 / 2.0),
            )),
        ],
    )?)
}

/// A day-partitioned table with tiers hot (table root), warm and cold (their own locations),
/// and three appends (one file each): days 0, 200 and 400.
pub async fn tiered_table(b: &TestBackend, cold_class: &str) -> Result<Table, BoxError> {
    let schema = parse_schema("id:int64,ts:timestamptz,v:float64?")?;
    let spec = parse_partition_spec("day(ts)", &schema, 0, 1000)?;
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(schema).with_partition_spec(spec),
        TableOptions::default(),
    )
    .await?;
    let s3 = b.kind() == BackendKind::S3;
    t.set_tiers(
        vec![
            TierDef {
                name: "hot".into(),
                location: None,
                storage_class: None,
            },
            TierDef {
                name: "warm".into(),
                location: Some(tier_uri(b, "warm-tier")),
                storage_class: s3.then(|| "STANDARD_IA".into()),
            },
            TierDef {
                name: "cold".into(),
                location: Some(tier_uri(b, "cold-tier")),
                storage_class: Some(cold_class.into()),
            },
        ],
        Some("hot".into()),
    )
    .await?;
    for (i, day0) in [0, 200, 400].into_iter().enumerate() {
        t.append([rows(i as i64 * 3, 3, day0)?]).await?;
    }
    Ok(t)
}

async fn scan_text(t: &Table, version: u64) -> Result<String, BoxError> {
    Ok(super::sorted_rows(t, version).await?.join("\n"))
}

/// Whether the object at `uri` (a location of file `path`) exists.
async fn exists(t: &Table, path: &str, uri: &str) -> Result<bool, BoxError> {
    let (store, object) = StoreResolver::new(t.location().clone()).resolve(path, Some(uri))?;
    match store.head(&object).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The storage class S3 reports for `uri` (HeadObject through boto3, an independent client).
fn s3_storage_class(uri: &str) -> Result<String, BoxError> {
    let python = std::env::var("STRATA_TEST_PYTHON").map_err(|_| "STRATA_TEST_PYTHON unset")?;
    let endpoint = std::env::var(S3_ENDPOINT_VAR)?;
    let (bucket, key) = uri
        .strip_prefix("s3://")
        .and_then(|r| r.split_once('/'))
        .ok_or_else(|| format!("{uri} is not an s3://bucket/key URI"))?;
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, boto3; h = boto3.client('s3', endpoint_url=sys.argv[1]).head_object(\
             Bucket=sys.argv[2], Key=sys.argv[3]); print(h.get('StorageClass', 'STANDARD'))",
            &endpoint,
            bucket,
            key,
        ])
        .output()?;
    check!(
        out.status.success(),
        "head_object failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// A policy moving files whose `ts` is older than `days` to `tier`.
pub fn policy(id: &str, tier: &str, days: i64) -> TierPolicy {
    TierPolicy {
        id: id.into(),
        tier: tier.into(),
        condition: PolicyCondition::DataAge {
            field_id: 2,
            older_than_ms: days * DAY_MS,
        },
        pack_target_bytes: None,
    }
}

/// `now` = T0 + 450 days: days 0..3 are > 365 days old (cold), 200..203 > 180 (warm).
pub const NOW_MS: i64 = T0_US / 1000 + 450 * DAY_MS;

/// Policies move the right files to the right tiers; every version, before and after the
/// moves, returns the same rows; the old copies are gone and the new ones carry the class.
pub async fn policies_move_the_right_files_and_time_travel_survives(b: &TestBackend) -> CaseResult {
    let t = tiered_table(b, "GLACIER_IR").await?;
    t.set_tier_policies(vec![
        policy("warm180", "warm", 180),
        policy("cold365", "cold", 365),
    ])
    .await?;
    let before = t.latest().await?;
    let before_rows = scan_text(&t, before.version()).await?;
    let v_first_append = before.version() - 2;
    let first_rows = scan_text(&t, v_first_append).await?;
    let plan = t.tier_plan(NOW_MS, &Default::default()).await?;
    let mut planned: Vec<(String, u64)> = plan
        .moves
        .iter()
        .map(|m| {
            let f = &before.files()[&m.path];
            (m.to_tier.clone(), f.record_count)
        })
        .collect();
    planned.sort();
    check_eq!(
        planned,
        vec![("cold".to_string(), 3), ("warm".to_string(), 3)]
    );
    // These files are a few KiB: Glacier Instant Retrieval bills each as 128 KiB, so moving
    // them there raises the cost, and the plan says so (what packing, SPEC §6.5, is for).
    let cold = plan
        .after
        .iter()
        .find(|u| u.tier == "cold")
        .ok_or("the cold tier")?;
    check_eq!((cold.files, cold.billed_bytes), (1, 128 * 1024));
    let cost_after: f64 = plan.after.iter().map(|u| u.monthly_cost).sum();
    let cost_before: f64 = plan.before.iter().map(|u| u.monthly_cost).sum();
    check!(
        cost_after.total_cmp(&cost_before).is_gt(),
        "tiny files billed at 128 KiB in the cold class cost more there: {plan:?}"
    );
    let old: Vec<(String, String)> = before
        .files()
        .values()
        .map(|f| (f.path.clone(), before.physical_location(f)))
        .collect();

    let reports = t
        .apply_tier_policies(NOW_MS, &MoveOptions::immediate())
        .await?;
    check_eq!(reports.len(), 2);
    let after = t.latest().await?;
    let tiers: Vec<&str> = {
        let mut v: Vec<&str> = after.files().values().map(|f| f.tier.as_str()).collect();
        v.sort();
        v
    };
    check_eq!(tiers, vec!["cold", "hot", "warm"]);
    check_eq!(scan_text(&t, after.version()).await?, before_rows);
    check_eq!(scan_text(&t, before.version()).await?, before_rows);
    check_eq!(scan_text(&t, v_first_append).await?, first_rows);
    for (path, loc) in &old {
        let f = &after.files()[path];
        let now_at = after.physical_location(f);
        check!(
            exists(&t, path, &now_at).await?,
            "{path}: no object at {now_at}"
        );
        if f.tier != "hot" {
            check!(now_at != *loc, "{path} did not change location");
            check!(!exists(&t, path, loc).await?, "{path}: old copy {loc} kept");
            check!(
                now_at.starts_with(&tier_uri(b, &format!("{}-tier", f.tier))),
                "{path} at {now_at}"
            );
            if b.kind() == BackendKind::S3 {
                check_eq!(
                    s3_storage_class(&now_at)?,
                    f.storage_class.clone().unwrap_or_default()
                );
            }
        }
    }
    // A re-run finds nothing left to do.
    let again = t
        .apply_tier_policies(NOW_MS, &MoveOptions::immediate())
        .await?;
    check!(again.iter().all(|r| r.version.is_none()), "{again:?}");
    check_eq!(t.latest().await?.version(), after.version());
    check_eq!(t.pending_moves().await?, 0);
    Ok(())
}

/// A crash at each step of a move leaves a readable table; a re-run finishes the move, with no
/// file lost or duplicated and no old copy left.
pub async fn crash_at_every_step_then_rerun_finishes(b: &TestBackend) -> CaseResult {
    for step in [
        MoveStep::BeforeCopy,
        MoveStep::AfterCopy,
        MoveStep::AfterCommit,
        MoveStep::BeforeDelete,
    ] {
        let sub = TestBackend::new(b.kind()).ok_or("backend vanished")?;
        let t = tiered_table(&sub, "STANDARD_IA").await?;
        let before = t.latest().await?;
        let rows_before = scan_text(&t, before.version()).await?;
        let paths: Vec<String> = before.files().keys().cloned().collect();
        let crashing = MoveOptions {
            crash_at: Some(step),
            ..MoveOptions::immediate()
        };
        let err = t.move_files(&paths, "cold", &crashing).await;
        check!(
            err.is_err(),
            "{step:?}: the injected crash did not stop the move"
        );
        let reopened = Table::open(&sub.table_uri("t")).await?;
        let mid = reopened.latest().await?;
        check_eq!(scan_text(&reopened, mid.version()).await?, rows_before);
        let report = reopened
            .move_files(&paths, "cold", &MoveOptions::immediate())
            .await?;
        let after = reopened.latest().await?;
        check_eq!(after.files().len(), paths.len());
        check!(
            after.files().values().all(|f| f.tier == "cold"),
            "{step:?}: {report:?}"
        );
        check_eq!(scan_text(&reopened, after.version()).await?, rows_before);
        check_eq!(scan_text(&reopened, before.version()).await?, rows_before);
        for p in &paths {
            let old = before.physical_location(&before.files()[p]);
            check!(
                !exists(&reopened, p, &old).await?,
                "{step:?}: {old} left behind"
            );
        }
        check_eq!(reopened.pending_moves().await?, 0);
        let moves = reopened
            .history(None)
            .await?
            .iter()
            .filter(|h| h.info.operation == "TIER MOVE")
            .count();
        check_eq!(moves, 1);
    }
    Ok(())
}

/// An append committed while a move copies: both land.
pub async fn append_during_move_both_land(b: &TestBackend) -> CaseResult {
    let t = tiered_table(b, "STANDARD_IA").await?;
    let paths: Vec<String> = t.latest().await?.files().keys().cloned().collect();
    let writer = t.clone();
    let options = MoveOptions {
        before_commit: Some(Arc::new(move || {
            let w = writer.clone();
            async move {
                let _ = w
                    .append([rows(100, 2, 10).unwrap_or_else(|_| unreachable_batch())])
                    .await;
            }
            .boxed()
        })),
        ..MoveOptions::immediate()
    };
    let report = t.move_files(&paths, "warm", &options).await?;
    check_eq!(report.moved.len(), 3);
    let after = t.latest().await?;
    check_eq!(after.record_count(), 11);
    check_eq!(
        after.files().values().filter(|f| f.tier == "warm").count(),
        3
    );
    check_eq!(
        after.files().values().filter(|f| f.tier == "hot").count(),
        1
    );
    Ok(())
}

fn unreachable_batch() -> RecordBatch {
    RecordBatch::new_empty(Arc::new(arrow::datatypes::Schema::empty()))
}

/// A delete committed while a move copies: the delete wins, the move leaves the file out and
/// removes its copy; time travel still reads the deleted rows at the old location.
pub async fn delete_during_move_wins(b: &TestBackend) -> CaseResult {
    let t = tiered_table(b, "STANDARD_IA").await?;
    let before = t.latest().await?;
    let paths: Vec<String> = before.files().keys().cloned().collect();
    let victim = before
        .files()
        .values()
        .find(|f| f.stats.get(&1).and_then(|s| s.min.as_ref()?.as_i64()) == Some(0))
        .ok_or("no file holds id 0")?
        .clone();
    let deleter = t.clone();
    let options = MoveOptions {
        before_commit: Some(Arc::new(move || {
            let d = deleter.clone();
            async move {
                if let Ok(e) = Expr::parse("id < 3") {
                    let _ = d.delete(e).await;
                }
            }
            .boxed()
        })),
        ..MoveOptions::immediate()
    };
    let report = t.move_files(&paths, "cold", &options).await?;
    check_eq!(report.dropped, vec![victim.path.clone()]);
    check_eq!(report.moved.len(), 2);
    let after = t.latest().await?;
    check_eq!(after.record_count(), 6);
    check!(!after.files().contains_key(&victim.path), "the delete lost");
    let copy = format!("{}/{}", tier_uri(b, "cold-tier"), victim.path);
    check!(
        !exists(&t, &victim.path, &copy).await?,
        "the dropped file's copy is left"
    );
    let old_rows = scan_text(&t, before.version()).await?;
    check!(
        old_rows.contains("| 0  |"),
        "time travel lost the deleted rows: {old_rows}"
    );
    Ok(())
}

/// A scan that needs archived files fails naming them (and what to do); a scan whose
/// filter prunes them away reads the rest without touching the archive.
pub async fn archived_files_fail_clearly_unless_pruned(b: &TestBackend) -> CaseResult {
    let t = tiered_table(b, "GLACIER").await?;
    t.set_tier_policies(vec![policy("cold365", "cold", 365)])
        .await?;
    t.apply_tier_policies(NOW_MS, &MoveOptions::immediate())
        .await?;
    let snap = t.latest().await?;
    let archived: Vec<String> = snap
        .files()
        .values()
        .filter(|f| f.tier == "cold")
        .map(|f| f.path.clone())
        .collect();
    check_eq!(archived.len(), 1);
    let err = match t.scan().plan().await {
        Ok(_) => return Err("a scan over an archived file was planned".into()),
        Err(e) => e.to_string(),
    };
    check!(
        err.contains(&archived[0]) && err.contains("GLACIER") && err.contains("strata tier move"),
        "{err}"
    );
    let rows = t
        .scan()
        .filter(Expr::parse("id >= 3")?)
        .plan()
        .await?
        .collect()
        .await?;
    check_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 6);
    if b.kind() == BackendKind::S3 {
        let f = &snap.files()[&archived[0]];
        check_eq!(s3_storage_class(&snap.physical_location(f))?, "GLACIER");
        // A log that wrongly records the object as readable: the store's refusal is reported
        // as archived, naming the file.
        t.transaction()
            .await?
            .operation("TIER MOVE")
            .action(strata_format::Action::Relocate(strata_format::Relocate {
                path: f.path.clone(),
                tier: f.tier.clone(),
                location: f.location.clone(),
                storage_class: None,
                restore: None,
            }))
            .commit()
            .await?;
        let err = match t.scan().plan().await?.collect().await {
            Ok(_) => return Err("S3 served an archived object".into()),
            Err(e) => e.to_string(),
        };
        check!(
            err.contains(&archived[0]) && err.contains("InvalidObjectState"),
            "{err}"
        );
    }
    Ok(())
}

/// A move to a tier in another bucket (another store in memory, another folder on disk: on
/// another file system when the machine has one, where no hard link reaches and the file is
/// copied) keeps every version's rows; on S3 the copy is a CopyObject between buckets that
/// carries the tier's storage class.
pub async fn moves_to_another_bucket_keep_rows_and_class(b: &TestBackend) -> CaseResult {
    let t = tiered_table(b, "GLACIER_IR").await?;
    let mut tiers = t.latest().await?.metadata().tiers.clone();
    tiers.push(TierDef {
        name: "archive".into(),
        location: Some(b.other_namespace_uri("archive-tier")),
        storage_class: (b.kind() == BackendKind::S3).then(|| "STANDARD_IA".into()),
    });
    t.set_tiers(tiers, Some("hot".into())).await?;
    let before = t.latest().await?;
    let expected = scan_text(&t, before.version()).await?;
    let paths: Vec<String> = before.files().keys().cloned().collect();
    let report = t
        .move_files(&paths, "archive", &MoveOptions::immediate())
        .await?;
    check_eq!(report.moved.len(), 3);
    let after = t.latest().await?;
    for f in after.files().values() {
        let loc = after.physical_location(f);
        check!(
            loc.starts_with(&b.other_namespace_uri("archive-tier")),
            "{} is at {loc}",
            f.path
        );
        if b.kind() == BackendKind::S3 {
            check_eq!(s3_storage_class(&loc)?, "STANDARD_IA");
        }
    }
    for m in &report.moved {
        check!(
            !exists(&t, &m.path, &m.from).await?,
            "old copy {} left",
            m.from
        );
    }
    check_eq!(scan_text(&t, before.version()).await?, expected.clone());
    check_eq!(scan_text(&t, after.version()).await?, expected);
    Ok(())
}

/// Archived files are restored (SPEC §6.4.1): before, moving or scanning them fails naming them
/// (at every version, since old versions resolve to the newest location); `restore_files`
/// records the restore and its expiry (S3: RestoreObject, after which moto serves the object);
/// a scan with `OnArchived::Restore` restores what it needs itself; then every version reads
/// the rows it read before the move, and restored files can move again.
pub async fn archived_files_restore_then_read_at_every_version(b: &TestBackend) -> CaseResult {
    let t = tiered_table(b, "GLACIER").await?;
    t.set_tier_policies(vec![policy("cold180", "cold", 180)])
        .await?;
    let before = t.latest().await?.version();
    let expected = scan_text(&t, before).await?;
    t.apply_tier_policies(NOW_MS, &MoveOptions::immediate())
        .await?;
    let snap = t.latest().await?;
    let mut archived: Vec<String> = snap
        .files()
        .values()
        .filter(|f| f.tier == "cold")
        .map(|f| f.path.clone())
        .collect();
    archived.sort();
    check_eq!(archived.len(), 2);
    let first = &archived[0];
    let first_loc = snap.physical_location(&snap.files()[first]);
    if b.kind() == BackendKind::S3 {
        check_eq!(s3_storage_class(&first_loc)?, "GLACIER");
        let (store, object) =
            StoreResolver::new(t.location().clone()).resolve(first, Some(&first_loc))?;
        check!(
            store.get(&object).await.is_err(),
            "S3 served an archived object before its restore"
        );
    }
    // Unrestored: moves and scans at the old version refuse, naming the files.
    let move_err = match t
        .move_files(&archived, "hot", &MoveOptions::immediate())
        .await
    {
        Ok(_) => return Err("an archived file was moved without a restore".into()),
        Err(e) => e.to_string(),
    };
    check!(
        move_err.contains(first) && move_err.contains("restore"),
        "{move_err}"
    );
    let scan_err = match t
        .scan()
        .snapshot(SnapshotSelector::Version(before))
        .plan()
        .await
    {
        Ok(_) => return Err("an old version read archived files without a restore".into()),
        Err(e) => e.to_string(),
    };
    check!(
        archived.iter().all(|p| scan_err.contains(p.as_str()))
            && scan_err.contains("strata tier restore"),
        "{scan_err}"
    );

    // Restore the first file explicitly.
    let options = RestoreOptions {
        days: 2,
        poll_interval: std::time::Duration::from_millis(50),
        timeout: Some(std::time::Duration::from_secs(30)),
        ..RestoreOptions::default()
    };
    let report = t
        .restore_files(std::slice::from_ref(first), &options)
        .await?;
    check_eq!(report.files.len(), 1);
    check!(report.version.is_some(), "the restore committed nothing");
    let latest = t.latest().await?;
    let restore = latest
        .state()
        .file_location(first)
        .and_then(|l| l.restore)
        .ok_or("the restore was not recorded in the table")?;
    let expires = restore
        .expires_ms
        .ok_or("the restore is recorded as in progress")?;
    check!(
        expires > restore.requested_ms + 86_400_000,
        "expiry {expires} is not ~2 days after the request {}",
        restore.requested_ms
    );
    check_eq!(latest.commit_info().operation.as_str(), "TIER RESTORE");
    if b.kind() == BackendKind::S3 {
        check_eq!(s3_storage_class(&first_loc)?, "GLACIER");
    }
    // A second restore of a restored file does nothing.
    let again = t
        .restore_files(std::slice::from_ref(first), &options)
        .await?;
    check!(again.version.is_none() && again.readable == 1, "{again:?}");

    // The second file is still archived: a scan restores it itself.
    let rows = t
        .scan()
        .snapshot(SnapshotSelector::Version(before))
        .on_archived(OnArchived::Restore(options.clone()))
        .plan()
        .await?
        .collect()
        .await?;
    check_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 9);
    for v in [before, t.latest().await?.version()] {
        check_eq!(scan_text(&t, v).await?, expected.clone());
    }
    // Restored files can move back to a readable tier.
    let moved = t
        .move_files(&archived, "hot", &MoveOptions::immediate())
        .await?;
    check_eq!(moved.moved.len(), 2);
    check_eq!(scan_text(&t, before).await?, expected);
    Ok(())
}

/// New data lands in the default tier (SPEC §6.1): under its location, recorded in the add,
/// with its storage class on S3; it reads back and a delete removes it.
pub async fn new_data_lands_in_the_default_tier(b: &TestBackend) -> CaseResult {
    let t = tiered_table(b, "STANDARD_IA").await?;
    let tiers = t.latest().await?.metadata().tiers.clone();
    t.set_tiers(tiers, Some("warm".into())).await?;
    t.append([rows(100, 2, 500)?]).await?;
    let snap = t.latest().await?;
    let fresh: Vec<_> = snap.files().values().filter(|f| f.tier == "warm").collect();
    check_eq!(fresh.len(), 1);
    let f = fresh[0];
    let loc = snap.physical_location(f);
    check_eq!(
        f.location.clone(),
        Some(format!("{}/{}", tier_uri(b, "warm-tier"), f.path))
    );
    check!(exists(&t, &f.path, &loc).await?, "no object at {loc}");
    if b.kind() == BackendKind::S3 {
        check_eq!(s3_storage_class(&loc)?, "STANDARD_IA");
    }
    check_eq!(
        t.scan()
            .plan()
            .await?
            .collect()
            .await?
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>(),
        11
    );
    t.delete(Expr::parse("id >= 100")?).await?;
    check_eq!(t.latest().await?.record_count(), 9);
    Ok(())
}
