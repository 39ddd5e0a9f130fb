//! Storage tiers: defining them and their policies, planning what policies move, and moving
//! files between tiers (SPEC §6).
//!
//! The rules (which files a policy moves, what storage costs) are pure functions in
//! `strata_format::tiering`; this module adds the commits, the copies and the cleanup.

mod copy;
mod mover;
mod restore;
mod s3;

use serde_json::Value;
use strata_format::tiering::{
    PlannedMove, PriceTable, TierPolicy, TierUsage, needs_restore, plan, usage,
};
use strata_format::{Action, TierDef};

pub use mover::{MoveOptions, MoveReport, MoveStep, MovedFile};
pub use restore::{RestoreOptions, RestoreReport, RestoreSpeed, RestoredFile};

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::log::transaction::CommitResult;
use crate::maintain::optimize::OptimizeOptions;
use crate::table::Table;

/// A tier's location as writers use it (SPEC §3.3.1): an absolute URI without a trailing `/`.
/// A location that breaks this (left by another engine) is refused, never normalised: files
/// placed there would be recorded with `//` in their locations.
pub(crate) fn checked_location<'a>(table: &str, tier: &'a TierDef) -> Result<Option<&'a str>> {
    match tier.location.as_deref() {
        Some(loc) if loc.ends_with('/') || url::Url::parse(loc).is_err() => {
            Err(Error::InvalidOperation {
                table: table.to_string(),
                message: format!(
                    "tier `{}`: location `{loc}` must be an absolute URI without a trailing `/` \
                     (e.g. s3://bucket/prefix or file:///data/cold); set the tiers again",
                    tier.name
                ),
            })
        }
        other => Ok(other),
    }
}

/// What a table's policies would move at a given time, and what storage would cost before and
/// after (see [`Table::tier_plan`]).
#[derive(Debug, Clone)]
pub struct TierPlan {
    /// The version planned on.
    pub version: u64,
    /// The time the policies were evaluated at (ms since the epoch).
    pub now_ms: i64,
    /// Files to move.
    pub moves: Vec<PlannedMove>,
    /// Usage per tier now.
    pub before: Vec<TierUsage>,
    /// Usage per tier after the moves.
    pub after: Vec<TierUsage>,
}

impl Table {
    /// Replaces the table's tier definitions (and default tier) in one commit (`SET TIERS`).
    /// Refused when a tier that still holds active files would disappear, or a policy would
    /// name a tier that no longer exists.
    pub async fn set_tiers(
        &self,
        tiers: Vec<TierDef>,
        default_tier: Option<String>,
    ) -> Result<CommitResult> {
        let txn = self.transaction().await?;
        let base = txn.base();
        let mut metadata = base.metadata().clone();
        let names: Vec<String> = tiers.iter().map(|t| t.name.clone()).collect();
        for t in &tiers {
            checked_location(self.uri(), t)?;
        }
        let effective: Vec<String> = if names.is_empty() {
            vec![strata_format::actions::DEFAULT_TIER.to_string()]
        } else {
            names
        };
        let mut orphaned = std::collections::BTreeMap::<&str, usize>::new();
        for f in base.files().values() {
            if !effective.contains(&f.tier) {
                *orphaned.entry(f.tier.as_str()).or_default() += 1;
            }
        }
        if let Some((tier, n)) = orphaned.iter().next() {
            return Err(Error::InvalidOperation {
                table: self.uri().to_string(),
                message: format!(
                    "tier `{tier}` still holds {n} active file(s); move them to another tier \
                     before removing it"
                ),
            });
        }
        metadata.tiers = tiers;
        metadata.default_tier = default_tier;
        metadata.validate()?;
        let description: Vec<Value> = effective.into_iter().map(Value::from).collect();
        txn.operation("SET TIERS")
            .parameter("tiers", Value::Array(description))
            .action(Action::Metadata(Box::new(metadata)))
            .commit()
            .await
    }

    /// Replaces the table's tier policies in one commit (`SET TIER POLICIES`).
    pub async fn set_tier_policies(&self, policies: Vec<TierPolicy>) -> Result<CommitResult> {
        let txn = self.transaction().await?;
        let mut metadata = txn.base().metadata().clone();
        let ids: Vec<Value> = policies.iter().map(|p| Value::from(p.id.clone())).collect();
        metadata.policies = policies;
        metadata.validate()?;
        txn.operation("SET TIER POLICIES")
            .parameter("policies", Value::Array(ids))
            .action(Action::Metadata(Box::new(metadata)))
            .commit()
            .await
    }

    /// Evaluates the policies of the latest version at `now_ms` (a dry run: nothing changes),
    /// with storage costs from `prices`.
    pub async fn tier_plan(&self, now_ms: i64, prices: &PriceTable) -> Result<TierPlan> {
        let snap = self.latest().await?;
        let moves = plan(snap.state(), now_ms);
        Ok(TierPlan {
            version: snap.version(),
            now_ms,
            before: usage(snap.state(), &[], prices),
            after: usage(snap.state(), &moves, prices),
            moves,
        })
    }

    /// Usage per tier (files, bytes, monthly cost) of the latest version.
    pub async fn tier_report(&self, prices: &PriceTable) -> Result<Vec<TierUsage>> {
        let snap = self.latest().await?;
        Ok(usage(snap.state(), &[], prices))
    }

    /// For each policy with `packTargetBytes` (SPEC §6.5): packs the small files it would move
    /// into files of about that size written in its tier (one `OPTIMIZE` commit per policy,
    /// parameters `tier` and `policy`), so that they arrive as fewer, larger objects.
    async fn pack_before_moves(&self, now_ms: i64) -> Result<Vec<MoveReport>> {
        let snap = self.latest().await?;
        let clock_now = self.inner.options.clock.now_ms();
        let mut by_policy: std::collections::BTreeMap<String, (String, u64, BTreeSet<String>)> =
            Default::default();
        for m in plan(snap.state(), now_ms) {
            let Some(target) = m.pack_target else {
                continue;
            };
            if let Some(f) = snap.files().get(&m.path)
                && needs_restore(f.storage_class.as_deref(), f.restore.as_ref(), clock_now)
            {
                continue;
            }
            by_policy
                .entry(m.policy)
                .or_insert_with(|| (m.to_tier, target, BTreeSet::new()))
                .2
                .insert(m.path);
        }
        let mut reports = Vec::new();
        for (policy, (tier, target, paths)) in by_policy {
            if paths.len() < 2 {
                continue;
            }
            let options = OptimizeOptions {
                target_size: Some(target),
                only: Some(paths),
                to_tier: Some((tier.clone(), policy)),
                ..OptimizeOptions::default()
            };
            let r = self.optimize(options).await?;
            if let Some(c) = &r.commit {
                reports.push(MoveReport {
                    tier,
                    version: Some(c.version),
                    bytes: r.bytes_added,
                    packed_files: r.files_removed(),
                    packed_into: r.files_added,
                    ..MoveReport::default()
                });
            }
        }
        Ok(reports)
    }

    /// Applies the policies at `now_ms`: packs the small files of policies that ask for it (see
    /// `pack_before_moves`), plans, then moves every planned file to its tier (one commit per
    /// target tier), then cleans up old copies past the grace period.
    pub async fn apply_tier_policies(
        &self,
        now_ms: i64,
        options: &MoveOptions,
    ) -> Result<Vec<MoveReport>> {
        let mut reports = self.pack_before_moves(now_ms).await?;
        let snap = self.latest().await?;
        let moves = plan(snap.state(), now_ms);
        let mut by_tier: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut archived = Vec::new();
        let clock_now = self.inner.options.clock.now_ms();
        for m in moves {
            // An archived file cannot be copied until restored (SPEC §6.4): left for later.
            if let Some(f) = snap.files().get(&m.path)
                && needs_restore(f.storage_class.as_deref(), f.restore.as_ref(), clock_now)
            {
                archived.push(m.path);
                continue;
            }
            by_tier.entry(m.to_tier).or_default().push(m.path);
        }
        for (tier, paths) in by_tier {
            reports.push(self.move_files(&paths, &tier, options).await?);
        }
        if !archived.is_empty() {
            reports.push(MoveReport {
                skipped_archived: archived,
                ..MoveReport::default()
            });
        }
        if reports.is_empty() {
            // Nothing to move: still finish what earlier runs left (old copies past grace).
            let cleaned = self.tier_cleanup(options).await?;
            reports.push(MoveReport {
                cleaned,
                ..MoveReport::default()
            });
        }
        Ok(reports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[tokio::test]
    async fn a_tier_location_with_a_trailing_slash_is_refused_not_normalised() {
        let schema = strata_format::compact::parse_schema("id:int64").unwrap();
        let t = Table::create(
            "memory://tier-slash/t",
            crate::CreateTable::new(schema.clone()),
        )
        .await
        .unwrap();
        let slash = TierDef {
            name: "cold".into(),
            location: Some("memory://tier-slash/cold/".into()),
            storage_class: None,
        };
        let err = t
            .set_tiers(vec![slash.clone()], None)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("without a trailing `/`"), "{err}");
        // Another engine wrote it anyway: neither new files nor moves go there.
        let txn = t.transaction().await.unwrap();
        let mut meta = txn.base().metadata().clone();
        meta.tiers = vec![slash];
        meta.default_tier = Some("cold".into());
        txn.actions(vec![Action::Metadata(Box::new(meta))])
            .commit()
            .await
            .unwrap();
        let batch = arrow::record_batch::RecordBatch::try_from_iter(vec![(
            "id",
            std::sync::Arc::new(arrow::array::Int64Array::from(vec![1])) as _,
        )])
        .unwrap();
        let err = t.append([batch]).await.unwrap_err().to_string();
        assert!(err.contains("set the tiers again"), "{err}");
        let err = t
            .move_files(&[], "cold", &MoveOptions::immediate())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("set the tiers again"), "{err}");
    }

    #[tokio::test]
    async fn moves_and_applies_are_send_futures() {
        let t = Table::create(
            "memory://tier-send/t",
            crate::CreateTable::new(strata_format::testing::sample_schema()),
        )
        .await
        .unwrap();
        let options = MoveOptions::default();
        let paths: Vec<String> = Vec::new();
        let f = t.move_files(&paths, "hot", &options);
        assert_send(&f);
        assert!(f.await.unwrap().version.is_none());
        let g = t.apply_tier_policies(0, &options);
        assert_send(&g);
        assert_eq!(g.await.unwrap().len(), 1);
    }
}
