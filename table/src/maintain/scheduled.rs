//! Scheduled maintenance of one table, as its `strata.maintenance.*` properties describe it
//! (SPEC §3.3.2): tier policies (packing and moves), then compaction, expiry and vacuum. A step
//! that fails is reported and the later ones still run; nothing runs when the settings are
//! invalid.

use std::collections::BTreeMap;

use strata_format::maintenance::MaintenanceSettings;
use strata_format::tiering::PriceTable;

use crate::maintain::expire::{ExpireOptions, ExpireReport};
use crate::maintain::optimize::{OptimizeOptions, OptimizeReport};
use crate::maintain::vacuum::{VacuumOptions, VacuumReport};
use crate::table::Table;
use crate::tier::MoveOptions;

/// Options of [`Table::maintain`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MaintainOptions {
    /// Evaluate tier policies at this time (ms; default: the table's clock).
    pub now_ms: Option<i64>,
    /// Report what each step would do; change nothing.
    pub dry_run: bool,
    /// How tier moves copy and clean up.
    pub moves: MoveOptions,
    /// Vacuum only inside the table root (see [`VacuumOptions::within_root`]).
    pub vacuum_within_root: bool,
}

impl MaintainOptions {
    /// Report only.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
    /// Evaluate tier policies at `now_ms`.
    pub fn now_ms(mut self, now_ms: i64) -> Self {
        self.now_ms = Some(now_ms);
        self
    }
    /// Vacuum only inside the table root.
    pub fn vacuum_within_root(mut self, within_root: bool) -> Self {
        self.vacuum_within_root = within_root;
        self
    }
    /// Tier moves with these options.
    pub fn moves(mut self, moves: MoveOptions) -> Self {
        self.moves = moves;
        self
    }
}

/// What one step did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Step<T> {
    /// Not run, and why.
    Skipped(String),
    /// Run (in a dry run: planned).
    Done(T),
    /// Failed with this error.
    Failed(String),
}

impl<T> Step<T> {
    /// Whether the step failed.
    pub fn failed(&self) -> bool {
        matches!(self, Step::Failed(_))
    }
}

/// Files and bytes the tier policies moved (or would move), per target tier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TierSummary {
    /// Per target tier: files, bytes, and the commit that moved them.
    pub moved: BTreeMap<String, (u64, u64, Option<u64>)>,
    /// Small files packed before moving, and the files they became.
    pub packed: (usize, usize),
    /// Files the policies would move that are archived and not restored.
    pub skipped_archived: usize,
}

/// What [`Table::maintain`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MaintenanceReport {
    /// The settings the run followed; an error when they are invalid (then nothing ran).
    pub settings: Result<MaintenanceSettings, String>,
    /// Tier policies.
    pub tiers: Step<TierSummary>,
    /// Compaction.
    pub optimize: Step<OptimizeReport>,
    /// Expiry.
    pub expire: Step<ExpireReport>,
    /// Vacuum.
    pub vacuum: Step<VacuumReport>,
}

impl MaintenanceReport {
    /// Whether the settings were invalid or any step failed.
    pub fn failed(&self) -> bool {
        self.settings.is_err()
            || self.tiers.failed()
            || self.optimize.failed()
            || self.expire.failed()
            || self.vacuum.failed()
    }
}

fn step<T>(r: crate::error::Result<T>) -> Step<T> {
    match r {
        Ok(v) => Step::Done(v),
        Err(e) => Step::Failed(e.to_string()),
    }
}

impl Table {
    /// Runs the table's scheduled maintenance as described in the module documentation.
    /// Returns an error only when the table cannot be read at all; step failures are in the
    /// report.
    pub async fn maintain(
        &self,
        options: MaintainOptions,
    ) -> crate::error::Result<MaintenanceReport> {
        let latest = self.latest().await?;
        let settings = MaintenanceSettings::from_properties(&latest.metadata().properties);
        let s = match &settings {
            Ok(s) => s.clone(),
            Err(e) => {
                let why = format!("invalid settings: {e}");
                return Ok(MaintenanceReport {
                    tiers: Step::Skipped(why.clone()),
                    optimize: Step::Skipped(why.clone()),
                    expire: Step::Skipped(why.clone()),
                    vacuum: Step::Skipped(why),
                    settings,
                });
            }
        };
        let now = options
            .now_ms
            .unwrap_or_else(|| self.inner.options.clock.now_ms());
        let tiers = step(self.scheduled_tiers(now, &options).await);
        let optimize = if s.optimize {
            let mut o = OptimizeOptions::default().dry_run(options.dry_run);
            if let Some(t) = s.target_file_size {
                o = o.target_size(t);
            }
            step(self.optimize(o).await)
        } else {
            Step::Skipped("strata.maintenance.optimize is false".into())
        };
        let expire = match s.log_retention_ms {
            Some(ms) => step(
                self.expire(
                    ExpireOptions::older_than_ms(ms)
                        .keep_last(s.keep_versions)
                        .dry_run(options.dry_run),
                )
                .await,
            ),
            None => Step::Skipped("no strata.maintenance.logRetention".into()),
        };
        let vacuum = if s.vacuum {
            step(
                self.vacuum(
                    VacuumOptions::retain_ms(s.vacuum_retention_ms)
                        .dry_run(options.dry_run)
                        .within_root(options.vacuum_within_root),
                )
                .await,
            )
        } else {
            Step::Skipped("strata.maintenance.vacuum is false".into())
        };
        Ok(MaintenanceReport {
            settings,
            tiers,
            optimize,
            expire,
            vacuum,
        })
    }

    async fn scheduled_tiers(
        &self,
        now: i64,
        options: &MaintainOptions,
    ) -> crate::error::Result<TierSummary> {
        let mut out = TierSummary::default();
        if options.dry_run {
            let plan = self.tier_plan(now, &PriceTable::default()).await?;
            for m in plan.moves {
                let e = out.moved.entry(m.to_tier).or_default();
                e.0 += 1;
                e.1 += m.size;
            }
            return Ok(out);
        }
        for r in self.apply_tier_policies(now, &options.moves).await? {
            out.packed.0 += r.packed_files;
            out.packed.1 += r.packed_into;
            out.skipped_archived += r.skipped_archived.len();
            if r.moved.is_empty() {
                continue;
            }
            let e = out.moved.entry(r.tier).or_default();
            e.0 += r.moved.len() as u64;
            e.1 += r.bytes;
            e.2 = r.version;
        }
        Ok(out)
    }
}
