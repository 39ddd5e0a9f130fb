//! Scheduled maintenance through the catalog: the wire shapes of
//! `POST /v1/namespaces/{ns}/tables/{t}/maintenance` and the operation behind it, which runs the
//! engine's [`Table::maintain`](strata_table::Table::maintain) on the table's location, as the
//! table's `strata.maintenance.*` properties describe (tier policies, compaction, expiry,
//! vacuum). The server runs it, so objects are deleted by the catalog, never by a client.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use strata_table::{MaintainOptions, MaintenanceReport, Step, Table, TableLocation, TableOptions};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::service::Catalog;
use crate::store::TableIdent;
use crate::tiering::{move_options, now_ms, tier_error};

/// Run a table's maintenance.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaintenanceRequest {
    /// Evaluate tier policies at this time (RFC 3339; default: the server's clock).
    #[serde(default)]
    pub now: Option<String>,
    /// Report what each step would do; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Seconds old copies of moved files stay for readers that resolved them (default 3600).
    #[serde(default)]
    pub grace_seconds: Option<u64>,
    /// Files copied at once (default 8, at most 64).
    #[serde(default)]
    pub concurrency: Option<usize>,
}

/// One step of a maintenance run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepBody {
    /// `done` (in a dry run: planned), `skipped` or `failed`.
    pub status: String,
    /// Why it was skipped, or the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What it did: for `tiers` {moves[{tier, files, bytes, version}], packedFiles,
    /// packedInto, skippedArchived}; `optimize` {version, filesRemoved, bytesRemoved,
    /// filesAdded, bytesAdded}; `expire` {version, oldestVersion, commitsDeleted,
    /// checkpointsDeleted}; `vacuum` {objects, bytes, tiers[{tier, objects, bytes}],
    /// keptRetained, keptRecent}.
    #[serde(default)]
    pub detail: Value,
}

/// What a maintenance run did for one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceBody {
    /// Whether nothing was changed on purpose.
    pub dry_run: bool,
    /// `ok`, or `failed` when the settings are invalid or a step failed.
    pub status: String,
    /// The `strata.maintenance.*` settings' error, when they are invalid (nothing ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_error: Option<String>,
    /// Tier policies: packing and moves.
    pub tiers: StepBody,
    /// Compaction of small files.
    pub optimize: StepBody,
    /// Log expiry.
    pub expire: StepBody,
    /// Vacuum.
    pub vacuum: StepBody,
}

fn step_body<T>(step: &Step<T>, detail: impl Fn(&T) -> Value) -> StepBody {
    let (status, reason, detail) = match step {
        Step::Done(t) => ("done", None, detail(t)),
        Step::Skipped(why) => ("skipped", Some(why.clone()), Value::Null),
        Step::Failed(e) => ("failed", Some(e.clone()), Value::Null),
        _ => ("unknown", None, Value::Null),
    };
    StepBody {
        status: status.into(),
        reason,
        detail,
    }
}

/// The wire shape of an engine report.
pub fn maintenance_body(r: &MaintenanceReport, dry_run: bool) -> MaintenanceBody {
    let tiers = step_body(&r.tiers, |t| {
        let moves: Vec<Value> = t
            .moved
            .iter()
            .map(|(tier, (files, bytes, version))| {
                json!({"tier": tier, "files": files, "bytes": bytes, "version": version})
            })
            .collect();
        json!({
            "moves": moves,
            "packedFiles": t.packed.0,
            "packedInto": t.packed.1,
            "skippedArchived": t.skipped_archived,
        })
    });
    let optimize = step_body(&r.optimize, |o| {
        json!({
            "version": o.commit.as_ref().map(|c| c.version),
            "filesRemoved": o.files_removed(),
            "bytesRemoved": o.bytes_removed(),
            "filesAdded": o.files_added,
            "bytesAdded": o.bytes_added,
        })
    });
    let expire = step_body(&r.expire, |e| {
        json!({
            "version": e.commit.as_ref().map(|c| c.version),
            "oldestVersionBefore": e.oldest_before,
            "oldestVersion": e.oldest_after,
            "commitsDeleted": e.commits_deleted.len(),
            "checkpointsDeleted": e.checkpoints_deleted.len(),
        })
    });
    let vacuum = step_body(&r.vacuum, |v| {
        let tiers: Vec<Value> = v
            .by_tier()
            .into_iter()
            .map(|(tier, (objects, bytes))| json!({"tier": tier, "objects": objects, "bytes": bytes}))
            .collect();
        json!({
            "objects": v.deleted.len(),
            "bytes": v.bytes(),
            "tiers": tiers,
            "keptRetained": v.kept_retained,
            "keptRecent": v.kept_recent,
            "keptOutsideRoot": v.kept_outside_root,
        })
    });
    MaintenanceBody {
        dry_run,
        status: if r.failed() { "failed" } else { "ok" }.into(),
        settings_error: r.settings.as_ref().err().cloned(),
        tiers,
        optimize,
        expire,
        vacuum,
    }
}

impl Catalog {
    /// Runs a table's scheduled maintenance (tier policies, compaction, expiry, vacuum, as its
    /// `strata.maintenance.*` properties say). Step failures are in the body.
    pub async fn maintain(
        &self,
        ident: &TableIdent,
        req: &MaintenanceRequest,
    ) -> Result<MaintenanceBody> {
        let now = now_ms(req.now.as_deref())?;
        // The vacuum deletes only inside the table's root: tier locations outside it may be
        // shared places (`--allow-location`) where another table's objects lie, and roots
        // never overlap (catalog/SECURITY.md).
        let run = MaintainOptions::default()
            .now_ms(now)
            .dry_run(req.dry_run)
            .vacuum_within_root(true)
            .moves(move_options(req.grace_seconds, req.concurrency));
        // A fresh handle, not the cached one: a maintenance run is rare, and it must see the
        // table as it is in storage (a cached handle would not notice a log deleted under it).
        let record = self.table_record(ident).await?;
        let location = TableLocation::parse(&record.location).map_err(|e| tier_error(ident, e))?;
        // Its commits are the catalog's own, like those it arbitrates.
        let options = TableOptions {
            engine: crate::commit::ENGINE.to_string(),
            ..TableOptions::default()
        };
        let table = Table::open_with(location, options)
            .await
            .map_err(|e| tier_error(ident, e))?;
        // A task of its own: a request that times out does not cancel the run (every step is
        // crash-safe, but finishing is better).
        let report = tokio::spawn(async move { table.maintain(run).await })
            .await
            .map_err(|e| Error::Config(format!("the maintenance task failed: {e}")))?
            .map_err(|e| tier_error(ident, e))?;
        Ok(maintenance_body(&report, req.dry_run))
    }
}
