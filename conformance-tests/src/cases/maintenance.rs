//! Maintenance that never changes a row: `OPTIMIZE` packs small files per partition and tier,
//! purges deletion vectors, keeps every version's rows, leaves costly storage classes alone,
//! and commutes with concurrent appends.

use std::sync::Arc;

use object_store::ObjectStoreExt;

use arrow::array::{Int32Array, Int64Array, RecordBatch};
use strata_format::TierDef;
use strata_format::expr::Expr;
use strata_table::{
    CreateTable, Error, ExpireOptions, MoveOptions, OptimizeOptions, Table, TableOptions,
};

use super::sorted_rows;
use crate::backends::{CaseResult, TestBackend};
use crate::{check, check_eq};

pub(crate) fn rows(target: &arrow::datatypes::SchemaRef, ids: std::ops::Range<i64>) -> RecordBatch {
    let grp: Int32Array = ids.clone().map(|i| Some((i % 2) as i32)).collect();
    let id: Int64Array = ids.map(Some).collect();
    RecordBatch::try_new(target.clone(), vec![Arc::new(id), Arc::new(grp)])
        .unwrap_or_else(|_| RecordBatch::new_empty(target.clone()))
}

/// Tiers `hot` (the table root) and `cold` at `cold`, with `class`.
fn hot_and_cold(cold: &str, class: Option<&str>) -> Vec<TierDef> {
    vec![
        TierDef {
            name: "hot".into(),
            location: None,
            storage_class: None,
        },
        TierDef {
            name: "cold".into(),
            location: Some(cold.to_string()),
            storage_class: class.map(str::to_string),
        },
    ]
}

/// A table partitioned by `grp` with ten small appends (20 files), then a delete by vector.
pub(crate) async fn small_files(
    b: &TestBackend,
    name: &str,
) -> Result<Table, Box<dyn std::error::Error + Send + Sync>> {
    let schema = strata_format::compact::parse_schema("id:int64,grp:int32")?;
    let spec = strata_format::compact::parse_partition_spec("grp", &schema, 0, 1000)?;
    let t = Table::create_with(
        b.location(name)?,
        CreateTable::new(schema.clone()).with_partition_spec(spec),
        TableOptions::default(),
    )
    .await?;
    let target = strata_table::arrow_schema::to_arrow_schema(&schema)?;
    for k in 0..10 {
        t.append([rows(&target, k * 10..k * 10 + 10)]).await?;
    }
    t.delete(Expr::parse("id IN (3, 4, 55)")?).await?;
    Ok(t)
}

/// Optimize rewrites the small files of each partition into one, drops the rows vectors
/// marked, changes no row at any version (old versions still read their files), writes actions
/// with `dataChange` false, and a dry run or a second run commits nothing.
pub async fn optimize_packs_small_files_and_keeps_every_version(b: &TestBackend) -> CaseResult {
    let t = small_files(b, "o").await?;
    let before = t.latest().await?;
    check_eq!(before.files().len(), 20);
    let versions: Vec<u64> = (0..=before.version()).collect();
    let mut rows_before = Vec::new();
    for v in &versions {
        rows_before.push(sorted_rows(&t, *v).await?);
    }

    let dry = t.optimize(OptimizeOptions::default().dry_run(true)).await?;
    check!(dry.commit.is_none(), "a dry run commits nothing");
    check_eq!(dry.bins.len(), 2);
    check_eq!(dry.files_removed(), 20);
    check_eq!(t.latest().await?.version(), before.version());

    let r = t.optimize(OptimizeOptions::default()).await?;
    let c = r.commit.ok_or("optimize commits")?;
    let after = c.snapshot.clone();
    check_eq!(after.files().len(), 2);
    check!(
        after
            .files()
            .values()
            .all(|f| f.deletion_vector.is_none() && !f.data_change),
        "outputs have no vector and dataChange false"
    );
    let info = after.commit_info();
    check_eq!(info.operation, "OPTIMIZE");
    check_eq!(info.operation_metrics.get("numRemovedFiles"), Some(&20));
    check_eq!(info.operation_metrics.get("numPurgedRows"), Some(&3));
    check_eq!(
        info.operation_metrics.get("numDeletionVectorsPurged"),
        Some(&3)
    );
    check_eq!(after.record_count(), 97);
    for (v, want) in versions.iter().zip(&rows_before) {
        check_eq!(&sorted_rows(&t, *v).await?, want);
    }
    check_eq!(
        sorted_rows(&t, after.version()).await?,
        rows_before[rows_before.len() - 1]
    );
    let again = t.optimize(OptimizeOptions::default()).await?;
    check!(again.commit.is_none(), "nothing left to pack: {again:?}");
    // A filter limits the files; an unknown sort column is refused before anything is written.
    let err = t
        .optimize(OptimizeOptions::default().sort_by(["nope"]))
        .await
        .err()
        .ok_or("an unknown sort column must fail")?;
    check!(err.to_string().contains("`nope`"), "{err}");
    Ok(())
}

/// The output of a bin lands in the tier of its inputs; files whose storage class has a
/// minimum storage duration they have not served are left alone unless forced.
pub async fn optimize_keeps_tiers_and_respects_storage_classes(b: &TestBackend) -> CaseResult {
    let t = small_files(b, "tiers").await?;
    let cold = format!("{}/cold", b.location("tiers")?.uri());
    t.set_tiers(hot_and_cold(&cold, None), Some("hot".into()))
        .await?;
    let grp1: Vec<String> = t
        .latest()
        .await?
        .files()
        .values()
        .filter(|f| f.partition_values.get(&1000) == Some(&serde_json::Value::from(1)))
        .map(|f| f.path.clone())
        .collect();
    t.move_files(&grp1, "cold", &MoveOptions::immediate())
        .await?;
    let before = sorted_rows(&t, t.latest().await?.version()).await?;
    let r = t.optimize(OptimizeOptions::default()).await?;
    let after = r.commit.ok_or("optimize commits")?.snapshot;
    let tiers: Vec<(String, bool)> = after
        .files()
        .values()
        .map(|f| {
            (
                f.tier.clone(),
                f.location.as_deref().is_some_and(|l| l.starts_with(&cold)),
            )
        })
        .collect();
    let mut tiers = tiers;
    tiers.sort();
    check_eq!(
        tiers,
        vec![("cold".to_string(), true), ("hot".to_string(), false)]
    );
    check_eq!(sorted_rows(&t, after.version()).await?, before);

    // Standard-IA files written just now are inside their 30 days: left alone, unless forced.
    let ia = small_files(b, "ia").await?;
    ia.set_tiers(
        vec![TierDef {
            name: "hot".into(),
            location: None,
            storage_class: Some("STANDARD_IA".into()),
        }],
        Some("hot".into()),
    )
    .await?;
    let target = strata_table::arrow_schema::to_arrow_schema(ia.latest().await?.schema())?;
    ia.append([rows(&target, 500..510)]).await?;
    ia.append([rows(&target, 510..520)]).await?;
    let r = ia.optimize(OptimizeOptions::default()).await?;
    let c = r.commit.as_ref().ok_or("the other files are packed")?;
    check_eq!(r.skipped_minimum_duration, 4);
    let classes = c
        .snapshot
        .files()
        .values()
        .filter(|f| f.storage_class.as_deref() == Some("STANDARD_IA"))
        .count();
    check_eq!(classes, 6);
    let r = ia.optimize(OptimizeOptions::default().force(true)).await?;
    check!(r.commit.is_some(), "forced: {r:?}");
    check_eq!(r.files_removed(), 6);
    Ok(())
}

/// Optimize commits over concurrent appends (it reads only its inputs); a commit that removed
/// one of its inputs first makes it a typed conflict, never a lost row.
pub async fn optimize_commutes_with_appends(b: &TestBackend) -> CaseResult {
    let t = small_files(b, "c").await?;
    let schema = t.latest().await?.schema().clone();
    let target = strata_table::arrow_schema::to_arrow_schema(&schema)?;
    let appenders: Vec<_> = (0..4)
        .map(|k| {
            let (t, batch) = (t.clone(), rows(&target, 1000 + k * 10..1010 + k * 10));
            async move { t.append([batch]).await }
        })
        .collect();
    let (optimized, appended) = futures::future::join(
        t.optimize(OptimizeOptions::default()),
        futures::future::join_all(appenders),
    )
    .await;
    for a in appended {
        a?;
    }
    check!(optimized?.commit.is_some(), "optimize committed");
    let latest = t.latest().await?;
    check_eq!(latest.record_count(), 97 + 40);

    // A stale compaction of a file that was deleted meanwhile conflicts.
    let t2 = small_files(b, "c2").await?;
    let stale = t2.transaction().await?;
    let victim = stale
        .base()
        .files()
        .values()
        .find(|f| f.deletion_vector.is_none())
        .cloned()
        .ok_or("a file")?;
    let ids = Expr::parse(&format!(
        "id >= {} AND id <= {}",
        victim.stats[&1].min.as_ref().ok_or("a lower bound")?,
        victim.stats[&1].max.as_ref().ok_or("an upper bound")?
    ))?;
    t2.delete(ids).await?;
    let err = stale
        .operation("OPTIMIZE")
        .remove_rewritten_file(&victim.path)?
        .commit()
        .await
        .err()
        .ok_or("the stale compaction must not commit")?;
    check!(matches!(err, Error::Conflict { .. }), "{err}");
    // The lines hold a header, then one line per row.
    check_eq!(
        sorted_rows(&t2, t2.latest().await?.version()).await?.len(),
        t2.latest().await?.record_count() as usize + 1
    );
    Ok(())
}

/// Expiry keeps every version from the new oldest on readable (also from a fresh handle, by
/// version and by time), refuses older ones with an error naming the oldest, keeps tagged
/// versions, never touches data files, and a re-run after a crash between its commit and its
/// deletes finishes them.
pub async fn expire_keeps_retained_versions_and_refuses_older_ones(b: &TestBackend) -> CaseResult {
    let t = small_files(b, "x").await?;
    let latest = t.latest().await?.version();
    let mut before = Vec::new();
    for v in 0..=latest {
        before.push(sorted_rows(&t, v).await?);
    }
    t.create_tag("audit", 5).await?;
    let tagged = t.latest().await?.version();

    let dry = t
        .expire(ExpireOptions::older_than_ms(0).keep_last(3).dry_run(true))
        .await?;
    check_eq!((dry.oldest_before, dry.oldest_after), (0, 5));
    check!(dry.commit.is_none(), "a dry run commits nothing");
    check_eq!(t.latest().await?.version(), tagged);

    let r = t
        .expire(ExpireOptions::older_than_ms(0).keep_last(3))
        .await?;
    check_eq!(r.oldest_after, 5);
    check_eq!(r.commits_deleted, (0..5).collect::<Vec<u64>>());
    check!(r.checkpoint_written, "{r:?}");
    check!(r.commit.is_some(), "{r:?}");
    let fresh = Table::open(&b.table_uri("x")).await?;
    for v in 5..=latest {
        check_eq!(&sorted_rows(&fresh, v).await?, &before[v as usize]);
    }
    let err = fresh
        .snapshot_at_version(4)
        .await
        .err()
        .ok_or("version 4 was expired")?;
    check!(
        matches!(
            err,
            Error::VersionExpired {
                version: 4,
                oldest: 5,
                ..
            }
        ),
        "{err}"
    );
    let err = fresh
        .snapshot_at_timestamp(0)
        .await
        .err()
        .ok_or("time 0 is before the oldest version")?;
    check!(
        matches!(err, Error::TimestampExpired { oldest: 5, .. }),
        "{err}"
    );
    let five = fresh.latest().await?;
    let at = fresh.history(None).await?;
    check_eq!(at.last().map(|h| h.version), Some(5));
    check!(
        fresh
            .snapshot_at_timestamp(five.timestamp())
            .await?
            .version()
            >= 5,
        "times after the oldest version still resolve"
    );
    check!(
        fresh.create_tag("old", 2).await.is_err(),
        "no tag on an expired version"
    );
    // Data files of expired versions are still there (vacuum deletes them, not expire).
    check_eq!(sorted_rows(&fresh, latest).await?, before[latest as usize]);

    // A crash after the commit, before the deletes: the commit file of version 5 (kept)
    // survives, and an older one put back by hand is deleted by the next run.
    let log = b.location("x")?;
    let stray = log.child("_strata_log/00000000000000000002.json");
    log.store()
        .put(&stray, bytes::Bytes::from_static(b"{}\n").into())
        .await?;
    let again = fresh
        .expire(ExpireOptions::older_than_ms(0).keep_last(3))
        .await?;
    check_eq!(again.commits_deleted, vec![2]);
    check!(
        log.store().head(&stray).await.is_err(),
        "the stray commit file is gone"
    );
    check!(
        t.set_properties(
            &[("strata.log.oldestVersion".to_string(), "1".to_string())].into(),
            &[]
        )
        .await
        .is_err(),
        "the oldest version is not set by hand"
    );
    Ok(())
}

/// A policy with `packTargetBytes` packs the small files it moves into files of about that size
/// written straight into its tier (one OPTIMIZE commit naming the tier and the policy, whose
/// files keep the newest commit time of their inputs); every version reads the same rows; the
/// cost plan counts what the store bills for small objects in an IA class, and packing lowers it.
pub async fn policies_pack_small_files_before_moving(b: &TestBackend) -> CaseResult {
    use strata_format::tiering::{PolicyCondition, PriceTable, TierPolicy};
    let t = small_files(b, "pack").await?;
    let cold = format!("{}/cold", b.location("pack")?.uri());
    t.set_tiers(hot_and_cold(&cold, Some("STANDARD_IA")), Some("hot".into()))
        .await?;
    let policy = |pack: Option<u64>| TierPolicy {
        id: "cold0".into(),
        tier: "cold".into(),
        condition: PolicyCondition::CommitAge { older_than_ms: 0 },
        pack_target_bytes: pack,
    };
    let before = t.latest().await?;
    let versions: Vec<u64> = (0..=before.version()).collect();
    let mut rows_before = Vec::new();
    for v in &versions {
        rows_before.push(sorted_rows(&t, *v).await?);
    }
    // The newest commit time of the inputs of each partition.
    let mut newest = std::collections::BTreeMap::<String, i64>::new();
    for f in before.files().values() {
        let key = serde_json::to_string(&f.partition_values)?;
        let e = newest.entry(key).or_insert(f.modification_time);
        *e = (*e).max(f.modification_time);
    }
    let newest_input = newest.values().copied().max().ok_or("files")?;
    let now = newest_input + 1000;
    let prices = PriceTable::default();
    t.set_tier_policies(vec![policy(None)]).await?;
    let one_by_one = t.tier_plan(now, &prices).await?;
    t.set_tier_policies(vec![policy(Some(1 << 20))]).await?;
    let packed = t.tier_plan(now, &prices).await?;
    let cold_after = |p: &strata_table::TierPlan| {
        p.after
            .iter()
            .find(|u| u.tier == "cold")
            .cloned()
            .unwrap_or_default()
    };
    let (a, p) = (cold_after(&one_by_one), cold_after(&packed));
    check_eq!(a.files, 20);
    check_eq!(a.billed_bytes, 20 * 128 * 1024);
    check_eq!(p.files, 2);
    check!(
        p.monthly_cost.total_cmp(&a.monthly_cost).is_lt(),
        "{p:?} vs {a:?}"
    );

    let reports = t
        .apply_tier_policies(now, &MoveOptions::immediate())
        .await?;
    let pack = reports.first().ok_or("a report")?;
    check_eq!((pack.packed_files, pack.packed_into), (20, 2));
    let after = t.latest().await?;
    check_eq!(after.files().len(), 2);
    for f in after.files().values() {
        check_eq!(f.tier.as_str(), "cold");
        check!(
            f.location.as_deref().is_some_and(|l| l.starts_with(&cold)),
            "{:?}",
            f.location
        );
        check_eq!(f.storage_class.as_deref(), Some("STANDARD_IA"));
        let key = serde_json::to_string(&f.partition_values)?;
        check_eq!(Some(&f.modification_time), newest.get(&key));
    }
    let history = t.history(Some(2)).await?;
    let optimize = history
        .iter()
        .find(|h| h.info.operation == "OPTIMIZE")
        .ok_or("an OPTIMIZE commit")?;
    check_eq!(
        optimize.info.operation_parameters.get("policy"),
        Some(&serde_json::Value::from("cold0"))
    );
    for (v, want) in versions.iter().zip(&rows_before) {
        check_eq!(&sorted_rows(&t, *v).await?, want);
    }
    check!(
        t.tier_plan(now, &prices).await?.moves.is_empty(),
        "nothing left to move"
    );
    Ok(())
}
