//! Storage tiers through the catalog (SPEC §6): wire shapes of the tier endpoints and the
//! catalog's operations behind them. The catalog runs the engine (`strata-table`) on the table's
//! location: tier definitions and policies are commits in the table's log, moves are the
//! engine's crash-safe moves; the log stays the source of truth.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use strata_format::TierDef;
use strata_format::expr::Expr;
use strata_format::tiering::{PolicyCondition, PriceTable, TierPolicy, TierUsage};
use strata_table::{
    MoveOptions, MoveReport, OnArchived, RestoreOptions, RestoreSpeed, SnapshotSelector, Table,
};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::service::Catalog;
use crate::store::TableIdent;

/// A storage tier of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierSpec {
    /// Tier name, e.g. `hot`, `warm`, `cold`.
    pub name: String,
    /// Base URI of the tier (`s3://bucket/prefix`, `file:///data/cold`); absent: the table root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// S3 storage class of the tier's objects (`STANDARD_IA`, `GLACIER`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

/// When a file qualifies for a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum ConditionSpec {
    /// The file was committed more than `olderThanMs` ago.
    #[serde(rename_all = "camelCase")]
    CommitAge {
        /// Age in milliseconds.
        older_than_ms: i64,
    },
    /// Every value of date/timestamp field `fieldId` in the file is older than `olderThanMs`.
    #[serde(rename_all = "camelCase")]
    DataAge {
        /// Field id of the column.
        field_id: i32,
        /// Age in milliseconds.
        older_than_ms: i64,
    },
}

/// A tier policy: files matching `condition` move to `tier`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySpec {
    /// Policy id, unique among the table's policies.
    pub id: String,
    /// Target tier.
    pub tier: String,
    /// When a file qualifies.
    pub condition: ConditionSpec,
    /// Pack qualifying files below ¾ of this size into files of about this size before the
    /// move (SPEC §6.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_target_bytes: Option<u64>,
}

/// Replace the table's tiers (one `SET TIERS` commit).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetTiersRequest {
    /// Tiers, hottest first (empty: the single default tier at the table root).
    pub tiers: Vec<TierSpec>,
    /// Tier new data lands in (default: the first).
    #[serde(default)]
    pub default_tier: Option<String>,
}

/// Replace the table's tier policies (one `SET TIER POLICIES` commit).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPoliciesRequest {
    /// Policies.
    pub policies: Vec<PolicySpec>,
}

/// Bytes, files and monthly cost of one tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TierUsageBody {
    /// Tier.
    pub tier: String,
    /// Storage class of the tier.
    pub storage_class: Option<String>,
    /// Active files.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The bytes the store bills (small objects count as 128 KiB in the infrequent-access
    /// classes; archive classes add 40 KiB per object).
    #[serde(default)]
    pub billed_bytes: u64,
    /// USD per month (AWS list prices unless the request gave others).
    pub monthly_cost: f64,
}

/// A table's tiers, policies and usage per tier at its latest version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TierReport {
    /// Version read.
    pub version: u64,
    /// Tiers, hottest first (empty: the single default tier `hot` at the table root).
    pub tiers: Vec<TierSpec>,
    /// Tier new data lands in, when set.
    pub default_tier: Option<String>,
    /// Policies.
    pub policies: Vec<PolicySpec>,
    /// Usage per tier.
    pub usage: Vec<TierUsageBody>,
}

/// Evaluate the policies without moving anything.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanRequest {
    /// Evaluate at this time (RFC 3339; default: the server's clock).
    #[serde(default)]
    pub now: Option<String>,
    /// USD per GB-month by storage class, overriding AWS list prices.
    #[serde(default)]
    pub prices: BTreeMap<String, f64>,
}

/// One file a plan moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedMoveBody {
    /// Logical path.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Current tier.
    pub from_tier: String,
    /// Target tier.
    pub to_tier: String,
    /// Policy that chose the target.
    pub policy: String,
}

/// What the policies would move, and storage cost before and after.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TierPlanBody {
    /// Version planned on.
    pub version: u64,
    /// Evaluation time (ms since the epoch).
    pub now_ms: i64,
    /// Files to move.
    pub moves: Vec<PlannedMoveBody>,
    /// Usage per tier now.
    pub before: Vec<TierUsageBody>,
    /// Usage per tier after the moves.
    pub after: Vec<TierUsageBody>,
}

/// Apply the policies: move what they select, then delete old copies past the grace period.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyRequest {
    /// Evaluate at this time (RFC 3339; default: the server's clock).
    #[serde(default)]
    pub now: Option<String>,
    /// Seconds old copies stay for readers that resolved them (default 3600).
    #[serde(default)]
    pub grace_seconds: Option<u64>,
    /// Files copied at once (default 8, at most 64).
    #[serde(default)]
    pub concurrency: Option<usize>,
}

/// Restore archived files (S3 GLACIER, DEEP_ARCHIVE) so they can be read (SPEC §6.4.1).
/// The request returns once the restores are requested and recorded; calling it again later
/// records the restores that have completed, with their expiry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreRequest {
    /// Which files: those that may hold rows matching this filter (default: all).
    #[serde(default)]
    pub filter: Option<String>,
    /// Files of this version (default: the latest).
    #[serde(default)]
    pub version: Option<u64>,
    /// Days the restored copies stay readable (default 7).
    #[serde(default)]
    pub days: Option<u32>,
    /// Retrieval speed: `Expedited`, `Standard` (default) or `Bulk`.
    #[serde(default)]
    pub speed: Option<String>,
}

/// Move the files that may hold rows matching a filter to a tier (one `TIER MOVE` commit).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MoveRequest {
    /// Which files: those that may hold rows matching this filter.
    pub filter: String,
    /// Target tier.
    pub to: String,
    /// Seconds old copies stay for readers that resolved them (default 3600).
    #[serde(default)]
    pub grace_seconds: Option<u64>,
    /// Files copied at once (default 8, at most 64).
    #[serde(default)]
    pub concurrency: Option<usize>,
}

/// An archived file a restore handled.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoredFileBody {
    /// Logical path.
    pub path: String,
    /// Storage class.
    pub storage_class: String,
    /// When the restored copy expires (ms since the epoch); absent while in progress.
    pub expires_ms: Option<i64>,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreResponse {
    /// Version committed (absent: nothing needed restoring).
    pub version: Option<u64>,
    /// Archived files handled.
    pub files: Vec<RestoredFileBody>,
    /// Files selected that were readable already.
    pub readable: usize,
}

/// One move commit of an apply.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MoveBody {
    /// Target tier (empty when nothing moved).
    pub tier: String,
    /// Version committed (absent: nothing to move).
    pub version: Option<u64>,
    /// Logical paths relocated.
    pub moved: Vec<String>,
    /// Files left out because a concurrent commit removed them.
    pub dropped: Vec<String>,
    /// Bytes relocated.
    pub bytes: u64,
    /// Old or abandoned copies deleted by this run's cleanup.
    pub cleaned: usize,
}

/// What an apply did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyResponse {
    /// Evaluation time (ms since the epoch).
    pub now_ms: i64,
    /// One entry per target tier (one entry without version when nothing moved).
    pub moves: Vec<MoveBody>,
}

impl From<TierDef> for TierSpec {
    fn from(t: TierDef) -> Self {
        Self {
            name: t.name,
            location: t.location,
            storage_class: t.storage_class,
        }
    }
}

impl From<TierSpec> for TierDef {
    fn from(t: TierSpec) -> Self {
        Self {
            name: t.name,
            location: t.location,
            storage_class: t.storage_class,
        }
    }
}

impl PolicySpec {
    /// The API shape of a policy; `None` for a condition kind this version does not know
    /// (SPEC §6.5: kept in the table, never applied, not listed here).
    fn of_known(p: TierPolicy) -> Option<Self> {
        let condition = match p.condition {
            PolicyCondition::CommitAge { older_than_ms } => {
                ConditionSpec::CommitAge { older_than_ms }
            }
            PolicyCondition::DataAge {
                field_id,
                older_than_ms,
            } => ConditionSpec::DataAge {
                field_id,
                older_than_ms,
            },
            _ => return None,
        };
        Some(Self {
            id: p.id,
            tier: p.tier,
            condition,
            pack_target_bytes: p.pack_target_bytes,
        })
    }
}

impl From<PolicySpec> for TierPolicy {
    fn from(p: PolicySpec) -> Self {
        let condition = match p.condition {
            ConditionSpec::CommitAge { older_than_ms } => {
                PolicyCondition::CommitAge { older_than_ms }
            }
            ConditionSpec::DataAge {
                field_id,
                older_than_ms,
            } => PolicyCondition::DataAge {
                field_id,
                older_than_ms,
            },
        };
        Self {
            id: p.id,
            tier: p.tier,
            condition,
            pack_target_bytes: p.pack_target_bytes,
        }
    }
}

fn usage_body(u: Vec<TierUsage>) -> Vec<TierUsageBody> {
    u.into_iter()
        .map(|u| TierUsageBody {
            tier: u.tier,
            storage_class: u.storage_class,
            files: u.files,
            bytes: u.bytes,
            billed_bytes: u.billed_bytes,
            monthly_cost: u.monthly_cost,
        })
        .collect()
}

fn move_body(r: MoveReport) -> MoveBody {
    MoveBody {
        tier: r.tier,
        version: r.version,
        moved: r.moved.into_iter().map(|m| m.path).collect(),
        dropped: r.dropped,
        bytes: r.bytes,
        cleaned: r.cleaned,
    }
}

/// Move options of a request: grace and concurrency (1 to 64), defaults otherwise.
pub(crate) fn move_options(grace_seconds: Option<u64>, concurrency: Option<usize>) -> MoveOptions {
    let defaults = MoveOptions::default();
    MoveOptions {
        concurrency: concurrency.unwrap_or(defaults.concurrency).clamp(1, 64),
        grace: grace_seconds
            .map(Duration::from_secs)
            .unwrap_or(defaults.grace),
        ..defaults
    }
}

/// `now` of a request as ms since the epoch (default: the clock).
pub(crate) fn now_ms(now: Option<&str>) -> Result<i64> {
    match now {
        None => Ok(chrono::Utc::now().timestamp_millis()),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t.trim())
            .map(|d| d.timestamp_millis())
            .map_err(|e| {
                Error::BadRequest(format!(
                    "now `{}` is not an RFC 3339 time (e.g. 2027-01-01T00:00:00Z): {e}",
                    t.escape_default()
                ))
            }),
    }
}

fn prices(given: &BTreeMap<String, f64>) -> Result<PriceTable> {
    let mut table = PriceTable::default();
    for (class, price) in given {
        if !price.is_finite() || *price < 0.0 {
            return Err(Error::BadRequest(format!(
                "price of `{}` must be a non-negative number",
                class.escape_default()
            )));
        }
        table.0.insert(class.clone(), *price);
    }
    Ok(table)
}

/// Engine errors of tier operations: the caller's mistakes are 400, races 409.
pub(crate) fn tier_error(ident: &TableIdent, e: strata_table::Error) -> Error {
    use strata_table::Error as E;
    match e {
        E::InvalidOperation { message, .. } => Error::BadRequest(format!("{ident}: {message}")),
        E::Format(f) => Error::BadRequest(format!("{ident}: {f}")),
        E::InvalidUri { uri, message } => Error::BadRequest(format!(
            "{ident}: invalid tier location `{}`: {message}",
            uri.escape_default()
        )),
        E::Conflict { conflict, .. } => Error::Conflict {
            table: ident.to_string(),
            conflict,
        },
        E::RetriesExhausted { .. } => Error::Busy(e.to_string()),
        // Registered in the catalog, but its log is gone from storage.
        E::TableNotFound { .. } => Error::Unprocessable(format!("{ident}: {e}")),
        E::ArchivedFiles { .. } | E::VersionNotFound { .. } => {
            Error::BadRequest(format!("{ident}: {e}"))
        }
        other => Error::Table(other),
    }
}

impl Catalog {
    pub(crate) async fn tier_table(&self, ident: &TableIdent) -> Result<Table> {
        let record = self.table_record(ident).await?;
        self.handle(&record).await
    }

    /// Tiers, policies and usage per tier of the latest version.
    pub async fn tier_report(&self, ident: &TableIdent) -> Result<TierReport> {
        let table = self.tier_table(ident).await?;
        report(&table, ident).await
    }

    /// What the policies would move at `now` (nothing changes).
    pub async fn tier_plan(&self, ident: &TableIdent, req: &PlanRequest) -> Result<TierPlanBody> {
        let now = now_ms(req.now.as_deref())?;
        let prices = prices(&req.prices)?;
        let table = self.tier_table(ident).await?;
        let plan = table
            .tier_plan(now, &prices)
            .await
            .map_err(|e| tier_error(ident, e))?;
        Ok(TierPlanBody {
            version: plan.version,
            now_ms: plan.now_ms,
            moves: plan
                .moves
                .into_iter()
                .map(|m| PlannedMoveBody {
                    path: m.path,
                    size: m.size,
                    from_tier: m.from_tier,
                    to_tier: m.to_tier,
                    policy: m.policy,
                })
                .collect(),
            before: usage_body(plan.before),
            after: usage_body(plan.after),
        })
    }

    /// Applies the policies at `now`: moves, commits, cleans up old copies past the grace.
    pub async fn tier_apply(
        &self,
        ident: &TableIdent,
        req: &ApplyRequest,
    ) -> Result<ApplyResponse> {
        let now = now_ms(req.now.as_deref())?;
        let options = move_options(req.grace_seconds, req.concurrency);
        let table = self.tier_table(ident).await?;
        // A task of its own: a request that times out does not cancel the move, which runs to
        // its end (it is crash-safe either way).
        let reports = tokio::spawn(async move { table.apply_tier_policies(now, &options).await })
            .await
            .map_err(|e| Error::Config(format!("the tier move task failed: {e}")))?
            .map_err(|e| tier_error(ident, e))?;
        Ok(ApplyResponse {
            now_ms: now,
            moves: reports.into_iter().map(move_body).collect(),
        })
    }

    /// Moves the files a filter selects to a tier: copies, one commit, old copies after grace.
    pub async fn tier_move(&self, ident: &TableIdent, req: &MoveRequest) -> Result<MoveBody> {
        let filter =
            Expr::parse(&req.filter).map_err(|e| Error::BadRequest(format!("filter: {e}")))?;
        let options = move_options(req.grace_seconds, req.concurrency);
        let table = self.tier_table(ident).await?;
        let scan = table
            .scan()
            .filter(filter)
            .on_archived(OnArchived::Include)
            .plan()
            .await
            .map_err(|e| tier_error(ident, e))?;
        let paths: Vec<String> = scan.files().iter().map(|f| f.path.clone()).collect();
        let to = req.to.clone();
        // A task of its own, like apply: a request that times out does not cancel the move.
        let report = tokio::spawn(async move { table.move_files(&paths, &to, &options).await })
            .await
            .map_err(|e| Error::Config(format!("the tier move task failed: {e}")))?
            .map_err(|e| tier_error(ident, e))?;
        Ok(move_body(report))
    }

    /// Requests restores of the archived files a filter selects and records them (no wait).
    pub async fn tier_restore(
        &self,
        ident: &TableIdent,
        req: &RestoreRequest,
    ) -> Result<RestoreResponse> {
        let speed = match req.speed.as_deref() {
            None | Some("Standard") => RestoreSpeed::Standard,
            Some("Expedited") => RestoreSpeed::Expedited,
            Some("Bulk") => RestoreSpeed::Bulk,
            Some(other) => {
                return Err(Error::BadRequest(format!(
                    "speed `{}` must be Expedited, Standard or Bulk",
                    other.escape_default()
                )));
            }
        };
        let filter = req
            .filter
            .as_deref()
            .map(Expr::parse)
            .transpose()
            .map_err(|e| Error::BadRequest(format!("filter: {e}")))?;
        let options = RestoreOptions {
            days: req.days.unwrap_or(7).clamp(1, 36_500),
            speed,
            wait: false,
            ..RestoreOptions::default()
        };
        let table = self.tier_table(ident).await?;
        let selector = match req.version {
            Some(v) => SnapshotSelector::Version(v),
            None => SnapshotSelector::Latest,
        };
        let mut builder = table
            .scan()
            .snapshot(selector)
            .on_archived(OnArchived::Include);
        if let Some(f) = filter {
            builder = builder.filter(f);
        }
        let scan = builder.plan().await.map_err(|e| tier_error(ident, e))?;
        let paths: Vec<String> = scan.files().iter().map(|f| f.path.clone()).collect();
        let report = table
            .restore_files(&paths, &options)
            .await
            .map_err(|e| tier_error(ident, e))?;
        Ok(RestoreResponse {
            version: report.version,
            files: report
                .files
                .into_iter()
                .map(|f| RestoredFileBody {
                    path: f.path,
                    storage_class: f.storage_class,
                    expires_ms: f.expires_ms,
                })
                .collect(),
            readable: report.readable,
        })
    }

    /// Replaces the tiers (one commit); returns the new report.
    pub async fn set_tiers(&self, ident: &TableIdent, req: SetTiersRequest) -> Result<TierReport> {
        let table = self.tier_table(ident).await?;
        let root = crate::locations::Place::parse(table.uri())?;
        for t in &req.tiers {
            if let Some(loc) = &t.location {
                if !loc.contains("://") {
                    return Err(Error::BadRequest(format!(
                        "tier `{}`: location `{}` must be a URI (file://, s3://)",
                        t.name.escape_default(),
                        loc.escape_default()
                    )));
                }
                self.confinement
                    .tier_location(&ident.namespace, &root, loc)
                    .map_err(|e| {
                        Error::BadRequest(format!("tier `{}`: {e}", t.name.escape_default()))
                    })?;
            }
        }
        let defs = req.tiers.into_iter().map(TierDef::from).collect();
        table
            .set_tiers(defs, req.default_tier)
            .await
            .map_err(|e| tier_error(ident, e))?;
        report(&table, ident).await
    }

    /// Replaces the tier policies (one commit); returns the new report.
    pub async fn set_tier_policies(
        &self,
        ident: &TableIdent,
        req: SetPoliciesRequest,
    ) -> Result<TierReport> {
        let table = self.tier_table(ident).await?;
        let policies = req.policies.into_iter().map(TierPolicy::from).collect();
        table
            .set_tier_policies(policies)
            .await
            .map_err(|e| tier_error(ident, e))?;
        report(&table, ident).await
    }
}

async fn report(table: &Table, ident: &TableIdent) -> Result<TierReport> {
    let snap = table.latest().await?;
    let usage = table
        .tier_report(&PriceTable::default())
        .await
        .map_err(|e| tier_error(ident, e))?;
    let meta = snap.metadata();
    Ok(TierReport {
        version: snap.version(),
        tiers: meta.tiers.iter().cloned().map(TierSpec::from).collect(),
        default_tier: meta.default_tier.clone(),
        policies: meta
            .policies
            .iter()
            .cloned()
            .filter_map(PolicySpec::of_known)
            .collect(),
        usage: usage_body(usage),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes_round_trip_and_refuse_unknown_fields() {
        let p: PolicySpec = serde_json::from_str(
            r#"{"id":"cold","tier":"cold","condition":{"kind":"dataAge","fieldId":3,"olderThanMs":5}}"#,
        )
        .unwrap();
        let engine = TierPolicy::from(p.clone());
        assert_eq!(
            engine.condition,
            PolicyCondition::DataAge {
                field_id: 3,
                older_than_ms: 5
            }
        );
        assert_eq!(PolicySpec::of_known(engine), Some(p));
        assert!(
            serde_json::from_str::<PolicySpec>(
                r#"{"id":"a","tier":"b","condition":{"kind":"commitAge","olderThanMs":1,"x":1}}"#
            )
            .is_err()
        );
        assert!(serde_json::from_str::<ApplyRequest>(r#"{"grace":1}"#).is_err());
    }

    #[test]
    fn times_and_prices_are_checked() {
        assert_eq!(now_ms(Some("1970-01-01T00:00:01Z")).unwrap(), 1000);
        assert!(matches!(
            now_ms(Some("tomorrow")),
            Err(Error::BadRequest(_))
        ));
        assert!(prices(&BTreeMap::from([("GLACIER".into(), -1.0)])).is_err());
        let p = prices(&BTreeMap::from([("GLACIER".into(), 0.5)])).unwrap();
        assert_eq!(p.per_gb_month(Some("GLACIER")), 0.5);
    }
}
