//! The commit protocol's pure rules (SPEC §8.1): what a writer proposes, the commit info it
//! records, and the validation of the commit against the state it lands on. Every writer runs
//! these — the engine for its own transactions, a catalog for commits its clients send — so a
//! commit that reaches the log is one every reader applies.
//!
//! The I/O (put-if-absent of the next version, reading the winners, resolving an ambiguous
//! outcome) is the engine's; rebasing over winners is [`crate::conflict::rebase`].

use std::collections::BTreeMap;

use serde_json::Value;

use crate::actions::{Action, CommitInfo, IsolationLevel, Metadata, Protocol};
use crate::error::{FormatError, Result};
use crate::evolution::check_schema_change;
use crate::location::is_within;
use crate::log::{Commit, LOG_DIR};
use crate::partition::Transform;
use crate::protocol::check_writable;
use crate::schema::{DataType, FieldId, PrimitiveType, Schema};
use crate::state::TableState;

/// Table property naming the default isolation level (Appendix C).
pub const PROP_ISOLATION_LEVEL: &str = "strata.isolationLevel";

/// Folder of the tier-move journal (SPEC §6.6); no data file lives there.
pub const TIER_DIR: &str = "_strata_tier";
/// First segment of the generated Iceberg metadata of a table (SPEC §8.7).
pub const ICEBERG_DIR: &str = "_strata_iceberg";

/// A change a writer proposes, before it is placed at a version.
#[derive(Debug, Clone, Default)]
pub struct Proposal {
    /// Transaction id recorded in the commit info (a UUID).
    pub txn_id: String,
    /// Operation name (Appendix C).
    pub operation: String,
    /// Operation parameters.
    pub parameters: BTreeMap<String, Value>,
    /// The actions, without `commitInfo`.
    pub actions: Vec<Action>,
    /// Requested isolation level; `None` takes the table property (§8.3).
    pub isolation: Option<IsolationLevel>,
    /// Whether the outcome depends on anything read (a predicate, the whole table or files).
    pub reads: bool,
    /// Free-form user text.
    pub user_metadata: Option<String>,
    /// Operation metrics.
    pub metrics: BTreeMap<String, i64>,
    /// Engine recorded in the commit info.
    pub engine: String,
}

impl Proposal {
    /// Whether the commit only adds files (and application transactions) without reading
    /// anything (`isBlindAppend`, §3.2).
    pub fn is_blind_append(&self) -> bool {
        !self.reads
            && self
                .actions
                .iter()
                .all(|a| matches!(a, Action::Add(_) | Action::Txn(_)))
            && self.actions.iter().any(|a| matches!(a, Action::Add(_)))
    }

    /// The isolation level in force: the requested one, else the table property, else
    /// `WriteSerializable` (§8.3).
    pub fn isolation_level(&self, metadata: &Metadata) -> IsolationLevel {
        self.isolation
            .unwrap_or_else(|| table_isolation_level(metadata))
    }

    /// The commit info of this proposal read at `base` and written at `timestamp`.
    pub fn commit_info(&self, base: &TableState, timestamp: i64) -> CommitInfo {
        CommitInfo {
            timestamp,
            txn_id: self.txn_id.clone(),
            operation: self.operation.clone(),
            operation_parameters: self.parameters.clone(),
            engine: self.engine.clone(),
            read_version: Some(base.version()),
            isolation_level: Some(self.isolation_level(base.metadata())),
            is_blind_append: self.is_blind_append(),
            action_count: self.actions.len() as u64,
            user_metadata: self.user_metadata.clone(),
            operation_metrics: self.metrics.clone(),
        }
    }

    /// Checks the proposal before any attempt: the table is writable (§9.2), the commit info
    /// fields and every action are valid (§3), and `commitInfo` is not among the actions.
    pub fn check(&self, base: &TableState) -> Result<()> {
        check_writable(base.protocol())?;
        check_info_fields(&self.txn_id, &self.operation, &self.engine)?;
        for (i, a) in self.actions.iter().enumerate() {
            check_action(i, a)?;
        }
        Ok(())
    }
}

/// The table's default isolation level: its `strata.isolationLevel` property, else
/// `WriteSerializable` (§8.3).
pub fn table_isolation_level(metadata: &Metadata) -> IsolationLevel {
    match metadata
        .properties
        .get(PROP_ISOLATION_LEVEL)
        .map(String::as_str)
    {
        Some("Serializable") => IsolationLevel::Serializable,
        _ => IsolationLevel::WriteSerializable,
    }
}

/// The in-commit timestamp of a commit after one written at `previous`: the clock, or one
/// millisecond after `previous` when the clock is behind (§3.2).
pub fn next_timestamp(now_ms: i64, previous: i64) -> i64 {
    now_ms.max(previous.saturating_add(1))
}

fn field(field: impl Into<String>, message: impl Into<String>) -> FormatError {
    FormatError::InvalidField {
        field: field.into(),
        message: message.into(),
    }
}

fn check_info_fields(txn_id: &str, operation: &str, engine: &str) -> Result<()> {
    if txn_id.trim().is_empty() {
        return Err(field("commitInfo.txnId", "must not be empty"));
    }
    if operation.trim().is_empty() {
        return Err(field(
            "commitInfo.operation",
            "must not be empty or whitespace",
        ));
    }
    if operation.chars().any(char::is_control) || engine.chars().any(char::is_control) {
        return Err(field(
            "commitInfo.operation",
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn check_action(i: usize, a: &Action) -> Result<()> {
    if matches!(a, Action::CommitInfo(_)) {
        return Err(field(
            format!("actions[{i}]"),
            "commitInfo is the first line of a commit, not one of its actions",
        ));
    }
    a.validate()
        .map_err(|m| field(format!("actions[{i}]"), m))?;
    if let Some(p) = a.path() {
        let first = p.split('/').next().unwrap_or_default();
        if [LOG_DIR, TIER_DIR, crate::dv::DV_DIR, ICEBERG_DIR].contains(&first) {
            return Err(field(
                format!("actions[{i}].path"),
                format!("`{p}` lies under `{first}/`, where no data file may be (§2.3)"),
            ));
        }
    }
    Ok(())
}

/// What a commit is checked against besides the state it lands on.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangeContext<'a> {
    /// The table root URI: every `location` must lie inside it or inside a tier location of
    /// the table. `None` skips the location checks.
    pub table_root: Option<&'a str>,
    /// For a `RESTORE` commit, the schema of the restored version: fields it defines may be
    /// reinstated with their old ids (§4.4 rule 8).
    pub restore_schema: Option<&'a Schema>,
    /// Also confine `relocate` locations to the table root and tier locations (§6.3 says a
    /// relocation SHOULD target a tier location; an arbiter of untrusted writers requires it).
    pub confine_relocations: bool,
}

/// Checks `commit` against `before`, the state it lands on, by the writer rules of the spec
/// beyond what replay checks: the commit info (§3.2), action fields and paths (§2.3, §3), schema
/// changes (§4.4, §4.4.1), protocol changes (§9.4), tiers and locations of added files (§6.1,
/// §6.2) and, if asked, locations of relocated ones.
pub fn check_change(before: &TableState, commit: &Commit, ctx: &ChangeContext<'_>) -> Result<()> {
    let info = &commit.info;
    check_info_fields(&info.txn_id, &info.operation, &info.engine)?;
    check_writable(before.protocol())?;
    let mut metadata = before.metadata().clone();
    let mut protocol = before.protocol().clone();
    for (i, a) in commit.actions.iter().enumerate() {
        check_action(i, a)?;
        match a {
            Action::Metadata(m) => {
                check_schema_change(&metadata, m, ctx.restore_schema)?;
                check_date_widenings(before, &metadata, m)?;
                check_specs_kept(&metadata, m)?;
                crate::retention::check_oldest_change(before, &metadata, m)
                    .map_err(|message| field(format!("actions[{i}].properties"), message))?;
                crate::maintenance::check_changed_settings(&metadata.properties, &m.properties)
                    .map_err(|message| field(format!("actions[{i}].properties"), message))?;
                metadata = (**m).clone();
            }
            Action::Protocol(p) => {
                check_protocol_change(&protocol, p)?;
                protocol = p.clone();
            }
            _ => {}
        }
    }
    // Tiers and locations are checked against the metadata in force after the commit, and
    // (for files restored or moved under an earlier tier layout) the one before it.
    for (i, a) in commit.actions.iter().enumerate() {
        let (tier, location) = match a {
            // A removed file restored where it is (§3.10) was checked when it was placed
            // there; its tier may have been dropped from the metadata since.
            Action::Add(add)
                if before.tombstones().get(&add.path).is_some_and(|r| {
                    r.tier.as_deref() == Some(add.tier.as_str()) && r.location == add.location
                }) =>
            {
                continue;
            }
            Action::Add(add) => (Some(&add.tier), add.location.as_deref()),
            Action::Relocate(r) if ctx.confine_relocations => (None, r.location.as_deref()),
            _ => continue,
        };
        if let Some(tier) = tier
            && !has_tier(&metadata, tier)
            && !has_tier(before.metadata(), tier)
        {
            return Err(field(
                format!("actions[{i}].tier"),
                format!("`{tier}` is not a tier of the table"),
            ));
        }
        if let (Some(root), Some(location)) = (ctx.table_root, location) {
            check_location(i, root, location, &metadata, before.metadata())?;
        }
    }
    Ok(())
}

fn has_tier(m: &Metadata, tier: &str) -> bool {
    if m.tiers.is_empty() {
        tier == "hot"
    } else {
        m.tiers.iter().any(|t| t.name == tier)
    }
}

fn check_location(
    i: usize,
    root: &str,
    location: &str,
    after: &Metadata,
    before: &Metadata,
) -> Result<()> {
    let name = format!("actions[{i}].location");
    let bases = std::iter::once(root).chain(
        after
            .tiers
            .iter()
            .chain(&before.tiers)
            .filter_map(|t| t.location.as_deref()),
    );
    for base in bases {
        match is_within(base, location) {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(m) if base == root => return Err(field(name, m)),
            Err(_) => {}
        }
    }
    Err(field(
        name,
        format!("`{location}` is neither under the table root nor under a tier location"),
    ))
}

/// §9.4: no unknown feature (the writer would not honour it), no lowered version, no removed
/// feature.
fn check_protocol_change(old: &Protocol, new: &Protocol) -> Result<()> {
    check_writable(new).map_err(|e| field("protocol", e.to_string()))?;
    if new.min_reader_version < old.min_reader_version
        || new.min_writer_version < old.min_writer_version
    {
        return Err(field(
            "protocol",
            format!(
                "lowers the versions from {}/{} to {}/{}; the protocol is never downgraded",
                old.min_reader_version,
                old.min_writer_version,
                new.min_reader_version,
                new.min_writer_version
            ),
        ));
    }
    let dropped: Vec<&str> = old
        .reader_features
        .iter()
        .filter(|f| !new.reader_features.contains(f))
        .chain(
            old.writer_features
                .iter()
                .filter(|f| !new.writer_features.contains(f)),
        )
        .map(String::as_str)
        .collect();
    if !dropped.is_empty() {
        return Err(field(
            "protocol",
            format!(
                "removes features {}; features are never removed",
                dropped.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Partition specs are only ever added (§5.6): a spec of the old metadata keeps its id and
/// fields, and `lastPartitionId` is not lowered.
fn check_specs_kept(old: &Metadata, new: &Metadata) -> Result<()> {
    if new.last_partition_id < old.last_partition_id {
        return Err(field(
            "metadata.lastPartitionId",
            format!(
                "lowered from {} to {}",
                old.last_partition_id, new.last_partition_id
            ),
        ));
    }
    for spec in &old.partition_specs {
        if new.spec(spec.spec_id) != Some(spec) {
            return Err(field(
                "metadata.partitionSpecs",
                format!(
                    "spec {} is changed or dropped; specs are only added",
                    spec.spec_id
                ),
            ));
        }
    }
    Ok(())
}

/// §4.4.1: a `date` field is not widened to a timestamp while active files carry a min/max
/// for it or it is the source of an identity or bucket partition field.
fn check_date_widenings(state: &TableState, old: &Metadata, new: &Metadata) -> Result<()> {
    let old_ids = old.schema.field_index();
    for (id, info) in new.schema.field_index() {
        let widened = matches!(
            (old_ids.get(&id).map(|f| f.data_type), info.data_type),
            (
                Some(DataType::Primitive(PrimitiveType::Date)),
                DataType::Primitive(PrimitiveType::Timestamp | PrimitiveType::Timestamptz)
            )
        );
        if !widened {
            continue;
        }
        if let Some(f) = stats_holder(state, id) {
            return Err(field(
                "metadata.schema",
                format!(
                    "`{}` cannot be widened from date while the active file `{f}` has a min/max for it (§4.4.1)",
                    info.path
                ),
            ));
        }
        let partitioned = new.partition_specs.iter().any(|s| {
            s.fields.iter().any(|p| {
                p.source_id == id
                    && matches!(p.transform, Transform::Identity | Transform::Bucket(_))
            })
        });
        if partitioned {
            return Err(field(
                "metadata.schema",
                format!(
                    "`{}` cannot be widened from date while it is the source of an identity or bucket partition field (§4.4.1)",
                    info.path
                ),
            ));
        }
    }
    Ok(())
}

fn stats_holder(state: &TableState, id: FieldId) -> Option<&str> {
    state.files().values().find_map(|f| {
        f.stats
            .get(&id)
            .filter(|s| s.min.is_some() || s.max.is_some())
            .map(|_| f.path.as_str())
    })
}

/// The state after `winners` and then `ours`, with `ours` checked by [`check_change`] against
/// the state it lands on and the table totals checked for overflow.
pub fn next_state(
    base: &TableState,
    winners: &[Commit],
    ours: &Commit,
    ctx: &ChangeContext<'_>,
) -> Result<TableState> {
    let mut s = base.clone();
    for w in winners {
        s.apply(w)?;
    }
    check_change(&s, ours, ctx)?;
    s.apply(ours)?;
    check_totals(&s)?;
    Ok(s)
}

/// Row and byte totals of the active files fit in 64 bits (kept by the state as files come
/// and go: checking does not walk the file set).
fn check_totals(s: &TableState) -> Result<()> {
    let (rows, bytes) = s.totals_fit();
    if !rows {
        return Err(field(
            "add.recordCount",
            "the table's row total overflows 64 bits",
        ));
    }
    if !bytes {
        return Err(field(
            "add.size",
            "the table's byte total overflows 64 bits",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
