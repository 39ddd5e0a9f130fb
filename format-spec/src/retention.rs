//! Log retention (SPEC §11.5): the oldest retained version a table records, and which version
//! an expiry may make the oldest.

use std::collections::BTreeMap;

use crate::actions::Metadata;
use crate::state::TableState;

/// Table property holding the oldest retained version (§3.3.2, §11.5); absent means 0.
pub const PROP_OLDEST_VERSION: &str = "strata.log.oldestVersion";

/// The oldest version of the table whose state can be reconstructed (§11.5).
pub fn oldest_version(metadata: &Metadata) -> u64 {
    metadata
        .properties
        .get(PROP_OLDEST_VERSION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The expiry rules a commit changing `strata.log.oldestVersion` from `before` to `after` must
/// follow (§11.5 steps 1 and 3): a decimal integer, never lowered, at most the version the
/// commit is based on, and at most every tagged version. That a checkpoint of the new oldest
/// version exists (step 2) needs storage and is the arbiter's check.
pub fn check_oldest_change(
    base: &TableState,
    before: &Metadata,
    after: &Metadata,
) -> Result<(), String> {
    let old = oldest_version(before);
    let Some(text) = after.properties.get(PROP_OLDEST_VERSION) else {
        return if old > 0 {
            Err(format!("`{PROP_OLDEST_VERSION}` cannot be removed (§11.5)"))
        } else {
            Ok(())
        };
    };
    let new: u64 = text
        .parse()
        .map_err(|_| format!("`{PROP_OLDEST_VERSION}` = `{text}` is not a version"))?;
    if new < old {
        return Err(format!(
            "`{PROP_OLDEST_VERSION}` cannot go down from {old} to {new} (§11.5)"
        ));
    }
    if new > base.version() {
        return Err(format!(
            "`{PROP_OLDEST_VERSION}` = {new} is after the version the commit is based on, {}",
            base.version()
        ));
    }
    if new > old
        && let Some((tag, v)) = base.tags().iter().find(|(_, v)| **v < new)
    {
        return Err(format!(
            "`{PROP_OLDEST_VERSION}` = {new} would expire version {v}, which tag `{tag}` names"
        ));
    }
    Ok(())
}

/// What an expiry may keep, and the facts it decides from.
#[derive(Debug, Clone)]
pub struct ExpiryInput<'a> {
    /// The latest version.
    pub latest: u64,
    /// The oldest retained version now.
    pub oldest: u64,
    /// The newest version committed at or before the retention cutoff (`None` when every
    /// retained version is newer than the cutoff).
    pub as_of_cutoff: Option<u64>,
    /// Keep at least this many newest versions.
    pub keep_last: Option<u64>,
    /// Tags of the latest state: versions they name are kept.
    pub tags: &'a BTreeMap<String, u64>,
}

/// The new oldest version: the version current at the cutoff (so every time at or after the
/// cutoff stays readable), lowered to keep the last `keep_last` versions and every tagged
/// version; `None` when nothing would expire.
pub fn new_oldest(input: &ExpiryInput<'_>) -> Option<u64> {
    let mut n = input.as_of_cutoff?.min(input.latest);
    if let Some(k) = input.keep_last {
        n = n.min((input.latest + 1).saturating_sub(k.max(1)));
    }
    if let Some(&t) = input.tags.values().min() {
        n = n.min(t);
    }
    (n > input.oldest).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_metadata;

    fn input(tags: &BTreeMap<String, u64>) -> ExpiryInput<'_> {
        ExpiryInput {
            latest: 50,
            oldest: 0,
            as_of_cutoff: Some(40),
            keep_last: None,
            tags,
        }
    }

    #[test]
    fn the_cutoff_version_stays_and_tags_and_keep_last_lower_it() {
        let none = BTreeMap::new();
        assert_eq!(new_oldest(&input(&none)), Some(40));
        let keep = ExpiryInput {
            keep_last: Some(20),
            ..input(&none)
        };
        assert_eq!(new_oldest(&keep), Some(31));
        let tags = BTreeMap::from([("release".to_string(), 12u64)]);
        assert_eq!(new_oldest(&input(&tags)), Some(12));
        let at_start = BTreeMap::from([("first".to_string(), 0u64)]);
        assert_eq!(new_oldest(&input(&at_start)), None);
        let recent = ExpiryInput {
            as_of_cutoff: None,
            ..input(&none)
        };
        assert_eq!(new_oldest(&recent), None);
        let already = ExpiryInput {
            oldest: 40,
            ..input(&none)
        };
        assert_eq!(new_oldest(&already), None);
    }

    #[test]
    fn the_oldest_version_is_read_from_the_properties() {
        let mut m = sample_metadata();
        assert_eq!(oldest_version(&m), 0);
        m.properties.insert(PROP_OLDEST_VERSION.into(), "17".into());
        assert_eq!(oldest_version(&m), 17);
    }
}
