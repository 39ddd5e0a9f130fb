//! Maintenance settings a table carries in its properties (SPEC §3.3.2, `strata.maintenance.*`):
//! what a scheduled maintenance run (tier policies, compaction, expiry, vacuum) does for it.

use std::collections::BTreeMap;

/// Prefix of the maintenance properties.
pub const PREFIX: &str = "strata.maintenance.";
/// `true`/`false`: whether scheduled runs compact small files (default `true`).
pub const PROP_OPTIMIZE: &str = "strata.maintenance.optimize";
/// Positive integer: the compaction's target file size (default `strata.write.targetFileSizeBytes`).
pub const PROP_TARGET_FILE_SIZE: &str = "strata.maintenance.targetFileSizeBytes";
/// Duration: versions older than this expire (absent: scheduled runs never expire).
pub const PROP_LOG_RETENTION: &str = "strata.maintenance.logRetention";
/// Positive integer: an expiry keeps at least this many newest versions (default 10).
pub const PROP_KEEP_VERSIONS: &str = "strata.maintenance.keepVersions";
/// `true`/`false`: whether scheduled runs vacuum (default `true`).
pub const PROP_VACUUM: &str = "strata.maintenance.vacuum";
/// Duration of at least 24 hours: the vacuum's retention (default `7d`).
pub const PROP_VACUUM_RETENTION: &str = "strata.maintenance.vacuumRetention";

const KNOWN: [&str; 6] = [
    PROP_OPTIMIZE,
    PROP_TARGET_FILE_SIZE,
    PROP_LOG_RETENTION,
    PROP_KEEP_VERSIONS,
    PROP_VACUUM,
    PROP_VACUUM_RETENTION,
];

const DAY_MS: i64 = 86_400_000;

/// The shortest vacuum retention a table may ask for: in-flight writers keep their files.
pub const MIN_VACUUM_RETENTION_MS: i64 = DAY_MS;

/// What scheduled maintenance does for a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceSettings {
    /// Compact small files.
    pub optimize: bool,
    /// Target size of compacted files (`None`: the table's write target).
    pub target_file_size: Option<u64>,
    /// Expire versions older than this (ms); `None`: never.
    pub log_retention_ms: Option<i64>,
    /// Versions an expiry keeps at least.
    pub keep_versions: u64,
    /// Vacuum.
    pub vacuum: bool,
    /// The vacuum's retention (ms).
    pub vacuum_retention_ms: i64,
}

impl Default for MaintenanceSettings {
    fn default() -> Self {
        Self {
            optimize: true,
            target_file_size: None,
            log_retention_ms: None,
            keep_versions: 10,
            vacuum: true,
            vacuum_retention_ms: 7 * DAY_MS,
        }
    }
}

/// A duration (SPEC §3.3.2): a decimal integer followed by `ms`, `s`, `m`, `h`, `d` or `w`,
/// without spaces (`30d`, `12h`).
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = text.split_at(split);
    if num.is_empty() {
        return None;
    }
    let n: i64 = num.parse().ok()?;
    let unit_ms: i64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => DAY_MS,
        "w" => 7 * DAY_MS,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

fn boolean(key: &str, v: &str) -> Result<bool, String> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("`{key}` must be `true` or `false`, not `{v}`")),
    }
}

fn positive(key: &str, v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(n) if n > 0 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!(
            "`{key}` must be a positive decimal integer, not `{v}`"
        )),
    }
}

fn duration(key: &str, v: &str) -> Result<i64, String> {
    parse_duration_ms(v).ok_or_else(|| {
        format!("`{key}` must be a duration such as `30d`, `12h` or `90m`, not `{v}`")
    })
}

impl MaintenanceSettings {
    /// The settings of a table's properties; an invalid value is an error naming the key (a
    /// maintenance run reports it and does nothing for the table). Unknown keys are ignored.
    pub fn from_properties(properties: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut s = Self::default();
        for (key, v) in properties.range(PREFIX.to_string()..) {
            if !key.starts_with(PREFIX) {
                break;
            }
            match key.as_str() {
                PROP_OPTIMIZE => s.optimize = boolean(key, v)?,
                PROP_TARGET_FILE_SIZE => s.target_file_size = Some(positive(key, v)?),
                PROP_LOG_RETENTION => s.log_retention_ms = Some(duration(key, v)?),
                PROP_KEEP_VERSIONS => s.keep_versions = positive(key, v)?,
                PROP_VACUUM => s.vacuum = boolean(key, v)?,
                PROP_VACUUM_RETENTION => {
                    let ms = duration(key, v)?;
                    if ms < MIN_VACUUM_RETENTION_MS {
                        return Err(format!(
                            "`{key}` = `{v}` is under 24 hours: writers still in progress could \
                             lose their files"
                        ));
                    }
                    s.vacuum_retention_ms = ms;
                }
                // A key of a later version: ignored (SPEC §3.3.2).
                _ => {}
            }
        }
        Ok(s)
    }

    /// Checks a maintenance property a user sets: a known key with a valid value. (Unknown
    /// keys are refused here, where they are typos; in a table's properties they are ignored.)
    pub fn check_setting(key: &str, value: &str) -> Result<(), String> {
        if !KNOWN.contains(&key) {
            return Err(format!(
                "`{key}` is not a maintenance property (known: {})",
                KNOWN.join(", ")
            ));
        }
        let one = BTreeMap::from([(key.to_string(), value.to_string())]);
        Self::from_properties(&one).map(|_| ())
    }
}

/// The commit rule for maintenance properties: every `strata.maintenance.*` key that a commit
/// adds or changes (from `before` to `after`) must be one this version knows with a valid
/// value (SPEC §3.3.2: writers refuse invalid reserved values). Keys kept as they were, even
/// unknown ones of a later version, pass.
pub fn check_changed_settings(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Result<(), String> {
    for (key, value) in after.range(PREFIX.to_string()..) {
        if !key.starts_with(PREFIX) {
            break;
        }
        if before.get(key) != Some(value) {
            MaintenanceSettings::check_setting(key, value)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn durations_take_one_unit_without_spaces() {
        assert_eq!(parse_duration_ms("30d"), Some(30 * DAY_MS));
        assert_eq!(parse_duration_ms("90m"), Some(5_400_000));
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("2w"), Some(14 * DAY_MS));
        for bad in ["30", "d", "30 d", "-1d", "1.5h", "3y", ""] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_default_and_parse_and_refuse_bad_values() {
        assert_eq!(
            MaintenanceSettings::from_properties(&props(&[("strata.write.x", "1")])),
            Ok(MaintenanceSettings::default())
        );
        let s = MaintenanceSettings::from_properties(&props(&[
            (PROP_LOG_RETENTION, "30d"),
            (PROP_KEEP_VERSIONS, "5"),
            (PROP_OPTIMIZE, "false"),
            (PROP_TARGET_FILE_SIZE, "1048576"),
            (PROP_VACUUM_RETENTION, "48h"),
        ]))
        .unwrap();
        assert_eq!(s.log_retention_ms, Some(30 * DAY_MS));
        assert_eq!(s.keep_versions, 5);
        assert!(!s.optimize && s.vacuum);
        assert_eq!(s.target_file_size, Some(1 << 20));
        assert_eq!(s.vacuum_retention_ms, 2 * DAY_MS);
        for (k, v, says) in [
            (PROP_OPTIMIZE, "yes", "`true` or `false`"),
            (PROP_KEEP_VERSIONS, "0", "positive"),
            (PROP_TARGET_FILE_SIZE, "+5", "positive"),
            (PROP_LOG_RETENTION, "a month", "duration"),
            (PROP_VACUUM_RETENTION, "1h", "under 24 hours"),
        ] {
            let err = MaintenanceSettings::from_properties(&props(&[(k, v)])).unwrap_err();
            assert!(err.contains(k) && err.contains(says), "{err}");
            assert!(MaintenanceSettings::check_setting(k, v).is_err());
        }
        // A later version's key is ignored in a table, refused when set by hand.
        let later = props(&[("strata.maintenance.sometimes", "1")]);
        assert_eq!(
            MaintenanceSettings::from_properties(&later),
            Ok(MaintenanceSettings::default())
        );
        let err = MaintenanceSettings::check_setting("strata.maintenance.sometimes", "1");
        assert!(err.is_err_and(|e| e.contains("not a maintenance property")));
        assert!(MaintenanceSettings::check_setting(PROP_VACUUM, "false").is_ok());
        // Commits may keep what they found, not add or change to something invalid.
        let before = props(&[("strata.maintenance.sometimes", "1")]);
        assert!(check_changed_settings(&before, &before).is_ok());
        let bad = props(&[(PROP_VACUUM_RETENTION, "1h")]);
        assert!(check_changed_settings(&before, &bad).is_err());
        assert!(check_changed_settings(&bad, &bad).is_ok());
    }
}
