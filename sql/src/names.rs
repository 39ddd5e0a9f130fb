//! Table references in SQL: `<table>[$<metadata table>][@<as of>]`.
//!
//! * `<table>` is a path or URI (`./events`, `s3://bucket/events`) or, with a catalog, the
//!   table's name inside its namespace (`sales.events`, `sales."events@3"`).
//! * `$<metadata table>` selects one of [`MetaTable`]: `"events$files"`, `"events$history"`.
//! * `@<as of>` reads an earlier snapshot: `@<version>` (`"events@3"`), `@v<version>`,
//!   `@tag:<name>` (or `@<name>` when the name is not a number nor a time), `@<RFC 3339 time>`
//!   (`"events@2026-01-31T12:00:00Z"`) or a relative time (`"events@2h ago"`).
//!
//! The characters `$` and `@` make the reference a quoted identifier (`"events@3"`), or a
//! string in `FROM` position (`'events@3'`), which DataFusion reads the same way.

use std::fmt;

use strata_table::SnapshotSelector;

use crate::error::{Result, SqlError};

/// A metadata table of a Strata table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetaTable {
    /// One row per commit: version, time, operation, parameters, metrics, counts.
    History,
    /// One row per reachable snapshot: version, time, operation, record and file totals.
    Snapshots,
    /// One row per live data file: tier, location, storage class, restore state, statistics.
    Files,
    /// One row per partition: values, files, rows, bytes.
    Partitions,
    /// One row per tag.
    Tags,
    /// One row per field of the current schema (nested fields included).
    Schemas,
    /// One row per storage tier, with its files and bytes.
    Tiers,
    /// One row per tier policy.
    TierPolicies,
}

impl MetaTable {
    /// Every metadata table, in documentation order.
    pub const ALL: [MetaTable; 8] = [
        MetaTable::History,
        MetaTable::Snapshots,
        MetaTable::Files,
        MetaTable::Partitions,
        MetaTable::Tags,
        MetaTable::Schemas,
        MetaTable::Tiers,
        MetaTable::TierPolicies,
    ];

    /// The suffix naming it (`files` in `events$files`).
    pub fn name(self) -> &'static str {
        match self {
            MetaTable::History => "history",
            MetaTable::Snapshots => "snapshots",
            MetaTable::Files => "files",
            MetaTable::Partitions => "partitions",
            MetaTable::Tags => "tags",
            MetaTable::Schemas => "schemas",
            MetaTable::Tiers => "tiers",
            MetaTable::TierPolicies => "tier_policies",
        }
    }

    fn parse(text: &str) -> Option<MetaTable> {
        MetaTable::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for MetaTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed table reference.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRef {
    /// The table: a path, a URI or a catalog name.
    pub base: String,
    /// The metadata table, if any.
    pub meta: Option<MetaTable>,
    /// The snapshot to read (latest when absent).
    pub as_of: Option<SnapshotSelector>,
}

impl TableRef {
    /// Parses `<table>[$<metadata table>][@<as of>]`; `now_ms` anchors relative times.
    pub fn parse(text: &str, now_ms: i64) -> Result<TableRef> {
        let err = |message: String| SqlError::TableName {
            name: text.to_string(),
            message,
        };
        let (rest, as_of) = match text.rfind('@') {
            Some(i) => {
                let selector = parse_as_of(&text[i + 1..], now_ms).map_err(err)?;
                (&text[..i], Some(selector))
            }
            None => (text, None),
        };
        let (base, meta) = match rest.rfind('$') {
            Some(i) => {
                let name = &rest[i + 1..];
                let meta = MetaTable::parse(name).ok_or_else(|| {
                    err(format!(
                        "no metadata table `{name}` (there are: {})",
                        MetaTable::ALL.map(MetaTable::name).join(", ")
                    ))
                })?;
                (&rest[..i], Some(meta))
            }
            None => (rest, None),
        };
        if base.trim().is_empty() {
            return Err(err("the table is missing before `$` or `@`".into()));
        }
        Ok(TableRef {
            base: base.to_string(),
            meta,
            as_of,
        })
    }
}

/// Parses what follows `@`.
fn parse_as_of(text: &str, now_ms: i64) -> std::result::Result<SnapshotSelector, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("nothing after `@` (write a version, a tag or a time)".into());
    }
    if let Some(tag) = t.strip_prefix("tag:") {
        return Ok(SnapshotSelector::Tag(tag.to_string()));
    }
    let digits = t.strip_prefix(['v', 'V']).unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits
            .parse()
            .map(SnapshotSelector::Version)
            .map_err(|_| format!("version `{digits}` is too large"));
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(SnapshotSelector::Timestamp(dt.timestamp_millis()));
    }
    if let Some(age) = strata_format::calendar::parse_relative_age_ms(t) {
        return Ok(SnapshotSelector::Timestamp(now_ms.saturating_sub(age)));
    }
    if t.ends_with("ago") {
        return Err(format!(
            "cannot read the relative time `{t}` (e.g. `2h ago`; units s, m, h, d, w)"
        ));
    }
    if t.contains([' ', ':']) || t.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "cannot read `{t}` as a version, a tag or a time (RFC 3339, e.g. \
             2026-01-31T12:00:00Z, or `2h ago`)"
        ));
    }
    Ok(SnapshotSelector::Tag(t.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<TableRef> {
        TableRef::parse(t, 10_000_000)
    }

    #[test]
    fn references_parse_into_base_meta_and_snapshot() {
        let r = parse("./data/events").unwrap();
        assert_eq!(
            (r.base.as_str(), r.meta, r.as_of),
            ("./data/events", None, None)
        );
        let r = parse("s3://b/events$files@3").unwrap();
        assert_eq!(r.base, "s3://b/events");
        assert_eq!(r.meta, Some(MetaTable::Files));
        assert_eq!(r.as_of, Some(SnapshotSelector::Version(3)));
        assert_eq!(
            parse("events@v12").unwrap().as_of,
            Some(SnapshotSelector::Version(12))
        );
        assert_eq!(
            parse("events@tag:2024").unwrap().as_of,
            Some(SnapshotSelector::Tag("2024".into()))
        );
        assert_eq!(
            parse("events@prod").unwrap().as_of,
            Some(SnapshotSelector::Tag("prod".into()))
        );
        assert_eq!(
            parse("events@1970-01-01T00:00:01Z").unwrap().as_of,
            Some(SnapshotSelector::Timestamp(1000))
        );
        assert_eq!(
            parse("events@2 s ago").unwrap().as_of,
            Some(SnapshotSelector::Timestamp(10_000_000 - 2000))
        );
        assert_eq!(
            parse("events$TIER_POLICIES").unwrap().meta,
            Some(MetaTable::TierPolicies)
        );
    }

    #[test]
    fn bad_suffixes_are_named() {
        let e = parse("events$nope").unwrap_err().to_string();
        assert!(
            e.contains("no metadata table `nope`") && e.contains("tier_policies"),
            "{e}"
        );
        let e = parse("events@").unwrap_err().to_string();
        assert!(e.contains("nothing after `@`"), "{e}");
        let e = parse("events@2 fortnights ago").unwrap_err().to_string();
        assert!(e.contains("relative time"), "{e}");
        let e = parse("events@2026-13-01").unwrap_err().to_string();
        assert!(e.contains("RFC 3339"), "{e}");
        let e = parse("@3").unwrap_err().to_string();
        assert!(e.contains("table is missing"), "{e}");
    }
}
