//! `VACUUM` (SPEC §11.6) deletes only what no retained version needs and is older than the
//! retention: removed files once expiry made no retained version reference them, orphans under
//! every tier's data folder, unreferenced deletion-vector objects; never the old copy of a move
//! still in its grace period, never a recent object; a crash leaves a state a re-run finishes.

use object_store::ObjectStoreExt;
use strata_format::TierDef;
use strata_format::expr::Expr;
use strata_table::{
    ExpireOptions, MoveOptions, OptimizeOptions, Table, VacuumOptions, VacuumReason, VacuumReport,
};

use super::maintenance::small_files;
use super::sorted_rows;
use crate::backends::{CaseResult, TestBackend};
use crate::{check, check_eq};

type Rows = Vec<Vec<String>>;

/// The rows of every retained version of `t`.
async fn retained_rows(
    t: &Table,
    from: u64,
) -> Result<Rows, Box<dyn std::error::Error + Send + Sync>> {
    let latest = t.latest().await?.version();
    let mut out = Vec::new();
    for v in from..=latest {
        out.push(sorted_rows(t, v).await?);
    }
    Ok(out)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Vacuum as if `ahead_ms` had passed, keeping nothing younger than that.
fn later(ahead_ms: i64) -> VacuumOptions {
    VacuumOptions::retain_ms(0).now_ms(now_ms() + ahead_ms)
}

fn count(r: &VacuumReport, reason: VacuumReason) -> usize {
    r.deleted.iter().filter(|o| o.reason == reason).count()
}

/// With the whole log retained only orphans go (and only old ones); after an expiry the files
/// and vectors only expired versions used go too; a dry run deletes nothing; every retained
/// version reads the same rows throughout; a crash after some deletions is harmless and a
/// re-run finishes; a vacuum with nothing left to do reports nothing.
pub async fn vacuum_deletes_only_what_no_retained_version_needs(b: &TestBackend) -> CaseResult {
    let t = small_files(b, "v").await?;
    t.optimize(OptimizeOptions::default()).await?;
    let all = retained_rows(&t, 0).await?;
    let loc = b.location("v")?;
    let orphan = loc.child("data/grp=0/orphan.parquet");
    loc.store()
        .put(
            &orphan,
            bytes::Bytes::from_static(b"not a commit's file").into(),
        )
        .await?;

    // Everything is younger than an hour: nothing goes.
    let r = t
        .vacuum(VacuumOptions::retain_ms(3_600_000).now_ms(now_ms()))
        .await?;
    check!(r.deleted.is_empty(), "{r:?}");
    check!(r.kept_recent >= 1, "{r:?}");

    // The whole log is retained: only the orphan is unreferenced.
    let r = t.vacuum(later(1000)).await?;
    check_eq!(r.deleted.len(), 1);
    check_eq!(r.deleted[0].reason, VacuumReason::Orphan);
    check!(r.deleted[0].location.ends_with("orphan.parquet"), "{r:?}");
    check_eq!(r.deleted[0].bytes, 19);
    check_eq!(r.kept_retained, 20);
    check!(loc.store().head(&orphan).await.is_err(), "orphan deleted");
    check_eq!(retained_rows(&t, 0).await?, all);

    // Expire all but the latest version: the 20 files optimize replaced, and the vector the
    // delete wrote, are needed by expired versions only.
    let latest = t.latest().await?.version();
    t.expire(ExpireOptions::older_than_ms(0).keep_last(1))
        .await?;
    let oldest = t.latest().await?.version() - 1;
    check_eq!(oldest, latest);
    let keep = retained_rows(&t, oldest).await?;
    let dry = t.vacuum(later(1000).dry_run(true)).await?;
    check_eq!(count(&dry, VacuumReason::Removed), 20);
    check_eq!(count(&dry, VacuumReason::DeletionVector), 1);
    check_eq!(count(&dry, VacuumReason::Orphan), 0);
    check_eq!(dry.by_tier().get("hot").map(|e| e.0), Some(21));
    let still = t.vacuum(later(1000).dry_run(true)).await?;
    check_eq!(still.deleted, dry.deleted);

    // A crash after 5 deletions: retained versions unaffected; the re-run finishes.
    let mut crash = later(1000);
    crash.crash_after = Some(5);
    check!(t.vacuum(crash).await.is_err(), "the injected crash fails");
    check_eq!(retained_rows(&t, oldest).await?, keep);
    let rest = t.vacuum(later(1000)).await?;
    check_eq!(rest.deleted.len(), 21 - 5);
    check_eq!(retained_rows(&t, oldest).await?, keep);
    let fresh = Table::open(&b.table_uri("v")).await?;
    check_eq!(retained_rows(&fresh, oldest).await?, keep);
    let none = t.vacuum(later(1000)).await?;
    check!(none.deleted.is_empty(), "{none:?}");

    // Files removed after the oldest version kept are still needed by it.
    t.delete_with(
        Expr::parse("grp = 1")?,
        strata_table::DeleteMode::CopyOnWrite,
    )
    .await?;
    let r = t.vacuum(later(1000)).await?;
    check!(r.deleted.is_empty(), "{r:?}");
    check!(r.kept_retained >= 1, "{r:?}");
    check_eq!(retained_rows(&t, oldest).await?[0], keep[0]);
    // The bytes really are gone.
    let root = format!("{}/", loc.uri());
    for o in dry.deleted.iter() {
        let rel = o
            .location
            .strip_prefix(&root)
            .ok_or("under the table root")?;
        check!(
            loc.store().head(&loc.child(rel)).await.is_err(),
            "{} is gone",
            o.location
        );
    }
    Ok(())
}

/// Orphans are found in every tier location; the old copies of a move still in its grace
/// period are the move cleanup's, not vacuum's; removed files are deleted where they live now
/// and counted in their tier.
pub async fn vacuum_covers_every_tier_and_spares_moves_in_grace(b: &TestBackend) -> CaseResult {
    let t = small_files(b, "vt").await?;
    let cold = format!("{}/cold", b.location("vt")?.uri());
    let far = b.location("vt-far")?;
    t.set_tiers(
        vec![
            TierDef {
                name: "hot".into(),
                location: None,
                storage_class: None,
            },
            TierDef {
                name: "cold".into(),
                location: Some(cold.clone()),
                storage_class: None,
            },
            TierDef {
                name: "far".into(),
                location: Some(far.uri().to_string()),
                storage_class: None,
            },
        ],
        Some("hot".into()),
    )
    .await?;
    // An orphan in a tier outside the table root: found, unless the vacuum stays in the root.
    let far_stray = far.child("data/far-stray.parquet");
    far.store()
        .put(&far_stray, bytes::Bytes::from_static(b"far").into())
        .await?;
    let inside = t
        .vacuum(later(1000).dry_run(true).within_root(true))
        .await?;
    check!(inside.deleted.is_empty(), "{inside:?}");
    let r = t.vacuum(later(1000)).await?;
    check_eq!(r.deleted.len(), 1);
    check_eq!(r.deleted[0].tier, "far");
    check!(
        far.store().head(&far_stray).await.is_err(),
        "far orphan deleted"
    );
    let all: Vec<String> = t.latest().await?.files().keys().cloned().collect();
    // A move whose old copies wait out a one-hour grace period.
    let pending = MoveOptions {
        grace: std::time::Duration::from_secs(3600),
        ..MoveOptions::default()
    };
    t.move_files(&all[..4], "cold", &pending).await?;
    check_eq!(t.pending_moves().await?, 1);
    let loc = b.location("vt")?;
    let stray = loc.child("cold/data/stray.parquet");
    loc.store()
        .put(&stray, bytes::Bytes::from_static(b"stray").into())
        .await?;
    let before = retained_rows(&t, 0).await?;
    let r = t.vacuum(later(1000)).await?;
    check_eq!(r.deleted.len(), 1);
    check_eq!(r.deleted[0].tier, "cold");
    check!(
        r.deleted[0].location.ends_with("cold/data/stray.parquet"),
        "{r:?}"
    );
    check_eq!(retained_rows(&t, 0).await?, before);
    // The old copies are still there for readers that resolved them.
    let fresh_old = t.vacuum(later(1000).dry_run(true)).await?;
    check!(fresh_old.deleted.is_empty(), "{fresh_old:?}");

    // Files in the cold tier, removed and expired: deleted in the cold tier.
    t.tier_cleanup(&MoveOptions::immediate()).await?;
    t.optimize(OptimizeOptions::default()).await?;
    t.expire(ExpireOptions::older_than_ms(0).keep_last(1))
        .await?;
    let oldest = t.latest().await?.version() - 1;
    let keep = retained_rows(&t, oldest).await?;
    let r = t.vacuum(later(1000)).await?;
    let cold_removed = r
        .deleted
        .iter()
        .filter(|o| o.reason == VacuumReason::Removed && o.tier == "cold")
        .count();
    check_eq!(cold_removed, 4);
    check_eq!(count(&r, VacuumReason::Removed), 20);
    check_eq!(r.by_tier().get("cold").map(|e| e.0), Some(4));
    check_eq!(retained_rows(&t, oldest).await?, keep);
    Ok(())
}
