//! Tier policies (SPEC §6.5): declarative rules kept in the table metadata that say when data
//! files move to a colder tier, and the pure planner that evaluates them against a state and a
//! time. Also the storage cost model used by plans and reports.
//!
//! No I/O: the engine copies, commits and deletes (SPEC §6.3); this module only decides.

use serde::{Deserialize, Serialize};

use crate::actions::{AddFile, Metadata};
use crate::calendar::days_from_civil;
use crate::datum::Datum;
use crate::error::{FormatError, Result};
use crate::partition::Transform;
use crate::schema::{DataType, PrimitiveType};
use crate::state::TableState;

mod cost;
pub use cost::{
    ARCHIVE_OBJECT_OVERHEAD, MIN_BILLED_OBJECT_BYTES, PriceTable, TierUsage, billed_bytes, usage,
};

/// Microseconds per day.
const DAY_US: i64 = 86_400_000_000;
/// Milliseconds per day.
pub const DAY_MS: i64 = 86_400_000;

/// A rule: files matching `condition` move to `tier`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierPolicy {
    /// Identifier, unique among the table's policies (a valid name, SPEC §3.1).
    pub id: String,
    /// Target tier: the name of a tier of the table.
    pub tier: String,
    /// When a file qualifies.
    pub condition: PolicyCondition,
    /// Before moving, pack the qualifying files smaller than three quarters of this size into
    /// files of about this size, written directly in `tier` (SPEC §6.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_target_bytes: Option<u64>,
}

/// When a file qualifies for a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "serde_json::Map<String, serde_json::Value>",
    into = "serde_json::Map<String, serde_json::Value>"
)]
pub enum PolicyCondition {
    /// The file was written (its `modificationTime`) more than `olderThanMs` before now.
    CommitAge {
        /// Age in milliseconds.
        older_than_ms: i64,
    },
    /// Every value of field `fieldId` (a `date`, `timestamp` or `timestamptz` column) in the
    /// file is more than `olderThanMs` before now, as its partition value or its `max`
    /// statistic proves.
    DataAge {
        /// Field id of the column.
        field_id: i32,
        /// Age in milliseconds.
        older_than_ms: i64,
    },
    /// A kind this version does not know (SPEC §6.5): kept verbatim, with every member, when
    /// the metadata is rewritten; it matches no file.
    Unknown {
        /// The `kind`.
        kind: String,
        /// The whole condition object, `kind` included.
        members: serde_json::Map<String, serde_json::Value>,
    },
}

/// The known kinds, in their wire form (the derived, tagged representation).
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum KnownCondition {
    #[serde(rename_all = "camelCase")]
    CommitAge { older_than_ms: i64 },
    #[serde(rename_all = "camelCase")]
    DataAge { field_id: i32, older_than_ms: i64 },
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for PolicyCondition {
    type Error = String;

    /// A known kind must be well-formed; an unknown kind is kept as it is; a condition without
    /// a string `kind` is an error.
    fn try_from(
        members: serde_json::Map<String, serde_json::Value>,
    ) -> std::result::Result<Self, String> {
        let kind = match members.get("kind") {
            Some(serde_json::Value::String(k)) => k.clone(),
            Some(other) => return Err(format!("condition `kind` must be a string, not {other}")),
            None => return Err("a condition needs a `kind`".into()),
        };
        if kind != "commitAge" && kind != "dataAge" {
            return Ok(Self::Unknown { kind, members });
        }
        let known: KnownCondition = serde_json::from_value(serde_json::Value::Object(members))
            .map_err(|e| format!("condition `{kind}`: {e}"))?;
        Ok(match known {
            KnownCondition::CommitAge { older_than_ms } => Self::CommitAge { older_than_ms },
            KnownCondition::DataAge {
                field_id,
                older_than_ms,
            } => Self::DataAge {
                field_id,
                older_than_ms,
            },
        })
    }
}

impl From<PolicyCondition> for serde_json::Map<String, serde_json::Value> {
    fn from(c: PolicyCondition) -> Self {
        let known = match c {
            PolicyCondition::CommitAge { older_than_ms } => {
                KnownCondition::CommitAge { older_than_ms }
            }
            PolicyCondition::DataAge {
                field_id,
                older_than_ms,
            } => KnownCondition::DataAge {
                field_id,
                older_than_ms,
            },
            PolicyCondition::Unknown { members, .. } => return members,
        };
        match serde_json::to_value(known) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        }
    }
}

impl std::fmt::Display for TierPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let days = |ms: i64| {
            if ms % DAY_MS == 0 {
                format!("{}d", ms / DAY_MS)
            } else {
                format!("{ms}ms")
            }
        };
        match &self.condition {
            PolicyCondition::CommitAge { older_than_ms } => write!(
                f,
                "{}: move to {} {} after commit",
                self.id,
                self.tier,
                days(*older_than_ms)
            ),
            PolicyCondition::DataAge {
                field_id,
                older_than_ms,
            } => write!(
                f,
                "{}: move to {} when field {field_id} is older than {}",
                self.id,
                self.tier,
                days(*older_than_ms)
            ),
            PolicyCondition::Unknown { kind, .. } => write!(
                f,
                "{}: move to {} on a condition of kind `{kind}` this version does not know \
                 (never applied)",
                self.id, self.tier
            ),
        }
    }
}

fn invalid(message: String) -> FormatError {
    FormatError::InvalidField {
        field: "metadata.policies".into(),
        message,
    }
}

/// Checks the policies of `metadata` (SPEC §6.5): unique ids, existing tiers, non-negative ages,
/// and data-age columns of a date or timestamp type in the current schema.
pub fn validate_policies(metadata: &Metadata) -> Result<()> {
    let mut ids = std::collections::BTreeSet::new();
    for p in &metadata.policies {
        crate::actions::validate_name("metadata.policies.id", &p.id)?;
        if !ids.insert(p.id.as_str()) {
            return Err(invalid(format!("two policies have the id `{}`", p.id)));
        }
        if !tier_names(metadata).contains(&p.tier.as_str()) {
            return Err(invalid(format!(
                "policy `{}` moves files to tier `{}`, which the table does not define",
                p.id, p.tier
            )));
        }
        let age = match &p.condition {
            PolicyCondition::CommitAge { older_than_ms } => *older_than_ms,
            PolicyCondition::DataAge {
                field_id,
                older_than_ms,
            } => {
                let index = metadata.schema.field_index();
                let info = index.get(field_id).ok_or_else(|| {
                    invalid(format!(
                        "policy `{}` refers to field id {field_id}, which the schema lacks",
                        p.id
                    ))
                })?;
                if !matches!(
                    info.data_type,
                    DataType::Primitive(
                        PrimitiveType::Date | PrimitiveType::Timestamp | PrimitiveType::Timestamptz
                    )
                ) {
                    return Err(invalid(format!(
                        "policy `{}` ages files by `{}`, a {} column; it must be a date or \
                         timestamp",
                        p.id, info.path, info.data_type
                    )));
                }
                *older_than_ms
            }
            // Only its id and tier are checked (SPEC §6.5).
            PolicyCondition::Unknown { .. } => 0,
        };
        if age < 0 {
            return Err(invalid(format!("policy `{}` has a negative age", p.id)));
        }
        if p.pack_target_bytes == Some(0) {
            return Err(invalid(format!(
                "policy `{}` has a packTargetBytes of 0; it must be positive",
                p.id
            )));
        }
    }
    Ok(())
}

/// The table's tier names in order (hottest first): `tiers`, or `["hot"]` when it is empty.
pub fn tier_names(metadata: &Metadata) -> Vec<&str> {
    if metadata.tiers.is_empty() {
        vec![crate::actions::DEFAULT_TIER]
    } else {
        metadata.tiers.iter().map(|t| t.name.as_str()).collect()
    }
}

/// One file a plan moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedMove {
    /// Logical path.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Current tier.
    pub from_tier: String,
    /// Target tier.
    pub to_tier: String,
    /// The policy that chose the target.
    pub policy: String,
    /// The policy's `packTargetBytes`: the file may be packed with others before the move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pack_target: Option<u64>,
    /// Partition spec id and values of the file (files are packed per partition).
    #[serde(skip)]
    pub partition: String,
}

/// The files of `state` its policies move at time `now_ms` (SPEC §6.5): each active file goes to
/// the coldest tier (latest in `tiers`) among the policies it matches, and only if that tier is
/// colder than its current one. Files whose tier the table no longer defines are left alone.
pub fn plan(state: &TableState, now_ms: i64) -> Vec<PlannedMove> {
    let metadata = state.metadata();
    let order = tier_names(metadata);
    let rank = |t: &str| order.iter().position(|n| *n == t);
    let mut out = Vec::new();
    for (path, file) in state.files() {
        let Some(current) = rank(&file.tier) else {
            continue;
        };
        let mut best: Option<(usize, &TierPolicy)> = None;
        for p in &metadata.policies {
            let Some(r) = rank(&p.tier) else { continue };
            if r > current && best.is_none_or(|(b, _)| r > b) && matches(p, file, metadata, now_ms)
            {
                best = Some((r, p));
            }
        }
        if let Some((_, p)) = best {
            out.push(PlannedMove {
                path: path.clone(),
                size: file.size,
                from_tier: file.tier.clone(),
                to_tier: p.tier.clone(),
                policy: p.id.clone(),
                pack_target: p.pack_target_bytes,
                partition: format!(
                    "{}:{}",
                    file.spec_id,
                    serde_json::to_string(&file.partition_values).unwrap_or_default()
                ),
            });
        }
    }
    out
}

fn matches(p: &TierPolicy, file: &AddFile, metadata: &Metadata, now_ms: i64) -> bool {
    match &p.condition {
        PolicyCondition::CommitAge { older_than_ms } => {
            file.modification_time.saturating_add(*older_than_ms) < now_ms
        }
        PolicyCondition::DataAge {
            field_id,
            older_than_ms,
        } => match data_upper_bound_us(file, *field_id, metadata) {
            Some(end_us) => {
                let cutoff_us = now_ms.saturating_sub(*older_than_ms).saturating_mul(1000);
                end_us <= cutoff_us
            }
            None => false,
        },
        // A kind this version does not know never moves a file (SPEC §6.5).
        PolicyCondition::Unknown { .. } => false,
    }
}

/// An exclusive upper bound, in µs since the epoch, of field `field_id` over the rows of `file`:
/// from a partition value of a field on that column (identity, year, month, day, hour), else
/// from the file's `max` statistic. `None` when neither is known (or a row is null-only).
pub fn data_upper_bound_us(file: &AddFile, field_id: i32, metadata: &Metadata) -> Option<i64> {
    let index = metadata.schema.field_index();
    let DataType::Primitive(ty) = index.get(&field_id)?.data_type.clone() else {
        return None;
    };
    let from_partition = metadata.spec(file.spec_id).and_then(|spec| {
        spec.fields
            .iter()
            .filter(|f| f.source_id == field_id)
            .filter_map(|f| {
                let v = file.partition_values.get(&f.field_id)?.as_i64()?;
                partition_upper_bound(f.transform, &ty, v)
            })
            .min()
    });
    if from_partition.is_some() {
        return from_partition;
    }
    let max = file.stats.get(&field_id)?.max.as_ref()?;
    match Datum::from_stat(&ty, max).ok()? {
        Datum::Date(d) => Some((i64::from(d) + 1) * DAY_US),
        Datum::Timestamp(us) | Datum::Timestamptz(us) => us.checked_add(1),
        _ => None,
    }
}

fn partition_upper_bound(t: Transform, ty: &PrimitiveType, v: i64) -> Option<i64> {
    let month_start = |months: i64| {
        let y = 1970 + months.div_euclid(12);
        let m = u32::try_from(months.rem_euclid(12)).ok()? + 1;
        Some(days_from_civil(y, m, 1) * DAY_US)
    };
    match t {
        Transform::Identity => match ty {
            PrimitiveType::Date => Some((v + 1) * DAY_US),
            _ => v.checked_add(1),
        },
        Transform::Year => month_start((v + 1) * 12),
        Transform::Month => month_start(v + 1),
        Transform::Day => Some((v + 1) * DAY_US),
        Transform::Hour => Some((v + 1) * 3_600_000_000),
        _ => None,
    }
}

/// Storage classes whose objects must be restored before they can be read (SPEC §6.4).
pub fn is_archive_class(class: &str) -> bool {
    matches!(class, "GLACIER" | "DEEP_ARCHIVE")
}

/// True when a file with this storage class and restore state cannot be read at `now_ms`:
/// it is in an archive class and has no restored copy that is complete and unexpired (SPEC §6.4).
pub fn needs_restore(
    storage_class: Option<&str>,
    restore: Option<&crate::actions::RestoreState>,
    now_ms: i64,
) -> bool {
    storage_class.is_some_and(is_archive_class) && !restore.is_some_and(|r| r.readable_at(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::actions::{Action, Protocol, TierDef};
    use crate::partition::{PartitionField, PartitionSpec};
    use crate::schema::{Schema, StructField};
    use crate::testing::{commit_info, sample_metadata};

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn archived_files_are_readable_only_while_a_completed_restore_lasts() {
        use crate::actions::RestoreState;
        let done = RestoreState {
            requested_ms: 10,
            expires_ms: Some(100),
        };
        let ongoing = RestoreState {
            requested_ms: 10,
            expires_ms: None,
        };
        assert!(!needs_restore(None, None, 50));
        assert!(!needs_restore(Some("STANDARD_IA"), None, 50));
        assert!(needs_restore(Some("GLACIER"), None, 50));
        assert!(needs_restore(Some("DEEP_ARCHIVE"), Some(&ongoing), 50));
        assert!(!needs_restore(Some("GLACIER"), Some(&done), 99));
        assert!(needs_restore(Some("GLACIER"), Some(&done), 100));
    }

    fn metadata(policies: Vec<TierPolicy>) -> Metadata {
        let mut m = sample_metadata();
        m.schema = Schema::new(
            0,
            vec![
                StructField::required(1, "id", PrimitiveType::Int64),
                StructField::optional(2, "ts", PrimitiveType::Timestamptz),
            ],
        )
        .unwrap();
        m.partition_specs.push(PartitionSpec {
            spec_id: 1,
            fields: vec![PartitionField {
                source_id: 2,
                field_id: 1000,
                name: "ts_day".into(),
                transform: Transform::Day,
            }],
        });
        m.last_partition_id = 1000;
        m.tiers = ["hot", "warm", "cold"]
            .iter()
            .zip([None, Some("STANDARD_IA"), Some("GLACIER")])
            .map(|(n, c)| TierDef {
                name: n.to_string(),
                location: None,
                storage_class: c.map(str::to_string),
            })
            .collect();
        m.policies = policies;
        m
    }

    fn file(path: &str, written_ms: i64, day: Option<i64>, max_us: Option<i64>) -> AddFile {
        let mut f = match crate::testing::add(path, 10) {
            Action::Add(a) => *a,
            _ => unreachable!(),
        };
        f.size = 1_000_000_000;
        f.modification_time = written_ms;
        if let Some(d) = day {
            f.spec_id = 1;
            f.partition_values.insert(1000, serde_json::json!(d));
        }
        if let Some(m) = max_us {
            f.stats.insert(
                2,
                crate::actions::ColumnStats {
                    max: Some(serde_json::json!(m).into()),
                    ..Default::default()
                },
            );
        }
        f
    }

    fn state(m: Metadata, files: Vec<AddFile>) -> TableState {
        let mut actions = vec![
            Action::CommitInfo(commit_info(NOW - 1, "WRITE")),
            Action::Protocol(Protocol::default()),
            Action::Metadata(Box::new(m)),
        ];
        actions.extend(files.into_iter().map(|f| Action::Add(Box::new(f))));
        TableState::from_checkpoint(1, actions).unwrap()
    }

    fn commit_age(id: &str, tier: &str, days: i64) -> TierPolicy {
        TierPolicy {
            id: id.into(),
            tier: tier.into(),
            condition: PolicyCondition::CommitAge {
                older_than_ms: days * DAY_MS,
            },
            pack_target_bytes: None,
        }
    }

    fn data_age(id: &str, tier: &str, days: i64) -> TierPolicy {
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

    #[test]
    fn the_coldest_matching_policy_wins_and_files_never_move_back() {
        let m = metadata(vec![
            commit_age("warm30", "warm", 30),
            commit_age("cold180", "cold", 180),
        ]);
        let mut already_cold = file("c", NOW - 400 * DAY_MS, None, None);
        already_cold.tier = "cold".into();
        let s = state(
            m,
            vec![
                file("a", NOW - 10 * DAY_MS, None, None),
                file("b", NOW - 40 * DAY_MS, None, None),
                already_cold,
                file("d", NOW - 200 * DAY_MS, None, None),
            ],
        );
        let moves: Vec<(String, String)> = plan(&s, NOW)
            .into_iter()
            .map(|m| (m.path, m.to_tier))
            .collect();
        assert_eq!(
            moves,
            [("b".into(), "warm".into()), ("d".into(), "cold".into())]
        );
    }

    #[test]
    fn an_unknown_condition_kind_is_kept_verbatim_and_never_moves_a_file() {
        let text = r#"{"id":"later","tier":"cold","condition":{"kind":"accessAge","olderThanMs":5,"extra":{"a":[1,2]}}}"#;
        let later: TierPolicy = serde_json::from_str(text).unwrap();
        assert!(matches!(
            &later.condition,
            PolicyCondition::Unknown { kind, .. } if kind == "accessAge"
        ));
        // Rewritten with every member (§6.5), whatever this version knows.
        let back: serde_json::Value = serde_json::to_value(&later).unwrap();
        let original: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, original);
        assert!(later.to_string().contains("accessAge"));
        let m = metadata(vec![later, commit_age("warm30", "warm", 30)]);
        m.validate().unwrap();
        let s = state(
            m,
            vec![
                file("a", NOW - 400 * DAY_MS, None, None),
                file("b", NOW - 10 * DAY_MS, None, None),
            ],
        );
        let moves: Vec<(String, String)> = plan(&s, NOW)
            .into_iter()
            .map(|m| (m.path, m.to_tier))
            .collect();
        assert_eq!(moves, [("a".into(), "warm".into())]);
        // Known kinds stay strict; a condition needs a string kind.
        for bad in [
            r#"{"kind":"commitAge"}"#,
            r#"{"kind":"dataAge","olderThanMs":1}"#,
            r#"{"kind":"commitAge","olderThanMs":1.5}"#,
            r#"{"olderThanMs":1}"#,
            r#"{"kind":7}"#,
        ] {
            assert!(
                serde_json::from_str::<PolicyCondition>(bad).is_err(),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn data_age_uses_partition_values_then_max_statistics() {
        let m = metadata(vec![data_age("old", "cold", 180)]);
        let today = NOW * 1000 / DAY_US;
        let s = state(
            m,
            vec![
                // Partition day 200 days ago: whole day older than 180 days.
                file("p-old", NOW, Some(today - 200), None),
                // Partition day 100 days ago: too young.
                file("p-new", NOW, Some(today - 100), None),
                // No partition; max statistic 181 days ago.
                file("s-old", NOW, None, Some((NOW - 181 * DAY_MS) * 1000)),
                // No partition and no statistics: unknown age, never moved.
                file("unknown", 0, None, None),
            ],
        );
        let moved: Vec<String> = plan(&s, NOW).into_iter().map(|m| m.path).collect();
        assert_eq!(moved, ["p-old", "s-old"]);
    }

    #[test]
    fn partition_bounds_cover_the_whole_period() {
        let ty = PrimitiveType::Timestamptz;
        // Month 0 = January 1970: ends at February 1st.
        assert_eq!(
            partition_upper_bound(Transform::Month, &ty, 0),
            Some(31 * DAY_US)
        );
        // Year 1 = 1971: ends at 1972-01-01 (365 + 365 days).
        assert_eq!(
            partition_upper_bound(Transform::Year, &ty, 1),
            Some(730 * DAY_US)
        );
        assert_eq!(
            partition_upper_bound(Transform::Hour, &ty, 2),
            Some(3 * 3_600_000_000)
        );
        assert_eq!(partition_upper_bound(Transform::Bucket(4), &ty, 1), None);
    }

    #[test]
    fn invalid_policies_are_refused_naming_the_policy() {
        let mut m = metadata(vec![commit_age("p", "frozen", 1)]);
        let err = m.validate().unwrap_err().to_string();
        assert!(err.contains("`p`") && err.contains("frozen"), "{err}");
        m.policies = vec![commit_age("p", "warm", 1), commit_age("p", "cold", 2)];
        assert!(
            m.validate()
                .unwrap_err()
                .to_string()
                .contains("two policies")
        );
        let mut bad = data_age("q", "cold", 1);
        bad.condition = PolicyCondition::DataAge {
            field_id: 1,
            older_than_ms: 1,
        };
        m.policies = vec![bad];
        let err = m.validate().unwrap_err().to_string();
        assert!(
            err.contains("`id`") && err.contains("date or timestamp"),
            "{err}"
        );
        m.policies = vec![commit_age("neg", "cold", -1)];
        assert!(m.validate().unwrap_err().to_string().contains("negative"));
        m.policies = vec![data_age("ok", "cold", 30)];
        m.validate().unwrap();
    }

    #[test]
    fn policies_round_trip_through_json_with_their_wire_names() {
        let p = data_age("cold180", "cold", 180);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": "cold180", "tier": "cold",
                "condition": {"kind": "dataAge", "fieldId": 2, "olderThanMs": 15_552_000_000_i64}})
        );
        let back: TierPolicy = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn usage_prices_tiers_by_storage_class_before_and_after_a_plan() {
        let m = metadata(vec![commit_age("cold1", "cold", 1)]);
        let s = state(m, vec![file("a", NOW - 2 * DAY_MS, None, None)]);
        let prices = PriceTable::default();
        let before = usage(&s, &[], &prices);
        assert_eq!(before[0].tier, "hot");
        assert_eq!(before[0].bytes, 1_000_000_000);
        assert!((before[0].monthly_cost - 0.023).abs() < 1e-9);
        let after = usage(&s, &plan(&s, NOW), &prices);
        assert_eq!(after[0].bytes, 0);
        assert_eq!(after[2].tier, "cold");
        // Glacier bills 32 KiB more at its price and 8 KiB at Standard's per object.
        let overhead = 32_768.0 / 1e9 * 0.0036 + 8192.0 / 1e9 * 0.023;
        assert!((after[2].monthly_cost - 0.0036 - overhead).abs() < 1e-12);
        assert_eq!(after[2].billed_bytes, 1_000_000_000 + 40 * 1024);
    }
}
