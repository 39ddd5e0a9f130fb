//! Typed checkpoints (SPEC §10.2.2): the feature, the column names and the pure rules of the
//! typed form of an `add` row. The Parquet encoding itself is the engine's.
//!
//! A table whose protocol lists [`FEATURE`] gets checkpoints whose `add` rows keep their fields
//! in typed Parquet columns instead of a JSON line, so that opening a table of a million files
//! decodes integers and short strings instead of a million JSON objects.

use crate::actions::{AddFile, Protocol};
use crate::file_stats::StatValue;

/// The feature a table lists (reader and writer) when its checkpoints are typed.
pub const FEATURE: &str = "typedCheckpoints";
/// Table property: `false` at creation keeps a new table's checkpoints untyped; `true` in a
/// `SET PROPERTIES` upgrades an existing table's protocol.
pub const PROP_TYPED_CHECKPOINTS: &str = "strata.typedCheckpoints";
/// Rows per row group writers use (SPEC §10.2.3); row groups are encoded and decoded in
/// parallel.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// Name of the struct column holding a typed `add`.
pub const ADD_COLUMN: &str = "add";

/// Names of the fields of the `add` column, in order (SPEC §10.2.2).
pub mod add_fields {
    /// INT64, required.
    pub const SIZE: &str = "size";
    /// INT64, required.
    pub const RECORD_COUNT: &str = "recordCount";
    /// INT64, required.
    pub const MODIFICATION_TIME: &str = "modificationTime";
    /// BOOLEAN, required.
    pub const DATA_CHANGE: &str = "dataChange";
    /// INT32, required.
    pub const SPEC_ID: &str = "specId";
    /// INT32, optional.
    pub const SCHEMA_ID: &str = "schemaId";
    /// STRING (JSON object text), required.
    pub const PARTITION_VALUES: &str = "partitionValues";
    /// LIST of [`super::stats_fields`] structs, required (possibly empty).
    pub const STATS: &str = "stats";
    /// STRING, required.
    pub const TIER: &str = "tier";
    /// STRING, optional.
    pub const LOCATION: &str = "location";
    /// STRING, optional.
    pub const STORAGE_CLASS: &str = "storageClass";
    /// STRING (JSON object text), optional.
    pub const RESTORE: &str = "restore";
    /// STRING (JSON object text), optional.
    pub const DELETION_VECTOR: &str = "deletionVector";
}

/// Names of the fields of one element of `add.stats`, in order (SPEC §10.2.2).
pub mod stats_fields {
    /// INT32, required.
    pub const FIELD_ID: &str = "fieldId";
    /// STRING (JSON text of the bound), optional.
    pub const MIN: &str = "min";
    /// STRING (JSON text of the bound), optional.
    pub const MAX: &str = "max";
    /// INT64, optional.
    pub const NULL_COUNT: &str = "nullCount";
    /// INT64, optional.
    pub const NAN_COUNT: &str = "nanCount";
}

/// Whether the protocol lists the feature as a reader and a writer feature.
pub fn enabled_in(protocol: &Protocol) -> bool {
    protocol.reader_features.iter().any(|f| f == FEATURE)
        && protocol.writer_features.iter().any(|f| f == FEATURE)
}

/// Whether an `add` can be written in the typed form: every unsigned count fits a signed
/// 64-bit integer (SPEC §10.2.2). Any other `add` is written as a JSON line.
pub fn typeable(add: &AddFile) -> bool {
    let fits = |n: u64| i64::try_from(n).is_ok();
    fits(add.size)
        && fits(add.record_count)
        && add
            .stats
            .values()
            .all(|c| c.null_count.is_none_or(fits) && c.nan_count.is_none_or(fits))
}

/// The JSON text of a statistics bound, as stored in `add.stats[].min` and `.max`.
pub fn bound_text(v: &StatValue) -> String {
    // Serializing a JSON scalar or value cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// A statistics bound from its JSON text: the common shapes (plain strings, integers, booleans)
/// without a JSON parser, anything else through it.
pub fn parse_bound(text: &str) -> Result<StatValue, serde_json::Error> {
    let b = text.as_bytes();
    match b {
        [b'"', inner @ .., b'"'] if !inner.iter().any(|&c| c == b'\\' || c == b'"' || c < 0x20) => {
            if let Some(s) = text.get(1..text.len() - 1) {
                return Ok(StatValue::Str(s.into()));
            }
        }
        b"true" => return Ok(StatValue::Bool(true)),
        b"false" => return Ok(StatValue::Bool(false)),
        [b'1'..=b'9', rest @ ..] if rest.iter().all(u8::is_ascii_digit) => {
            if let Ok(u) = text.parse::<u64>() {
                return Ok(StatValue::UInt(u));
            }
        }
        [b'0'] => return Ok(StatValue::UInt(0)),
        [b'-', b'1'..=b'9', rest @ ..] if rest.iter().all(u8::is_ascii_digit) => {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(StatValue::Int(i));
            }
        }
        _ => {}
    }
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bounds_parse_as_json_would() {
        for text in [
            "\"abc\"",
            "\"\"",
            "\"a\\\"b\"",
            "\"\\u00e9\"",
            "\"é\"",
            "true",
            "false",
            "0",
            "7",
            "18446744073709551615",
            "-1",
            "-9223372036854775808",
            "-0",
            "1.5",
            "-0.0",
            "1e300",
            "null",
            "[1,2]",
            "{\"a\":1}",
            "01",
        ] {
            let fast = parse_bound(text);
            let slow: Result<StatValue, _> = serde_json::from_str(text);
            match (fast, slow) {
                (Ok(f), Ok(s)) => {
                    assert_eq!(f, s, "{text}");
                    assert_eq!(bound_text(&f), serde_json::to_string(&s).unwrap(), "{text}");
                }
                (Err(_), Err(_)) => {}
                (f, s) => panic!("{text}: fast {f:?}, serde {s:?}"),
            }
        }
        assert_eq!(parse_bound("\"x\"").unwrap(), StatValue::Str("x".into()));
        assert_eq!(parse_bound("-3").unwrap(), StatValue::Int(-3));
        assert_eq!(parse_bound("[1]").unwrap(), json!([1]));
    }

    #[test]
    fn counts_beyond_a_signed_integer_are_not_typeable() {
        let mut add = crate::testing::add_file("data/a.parquet", 3);
        assert!(typeable(&add));
        add.size = u64::MAX;
        assert!(!typeable(&add));
    }

    #[test]
    fn the_feature_needs_both_lists() {
        let mut p = Protocol::default();
        assert!(!enabled_in(&p));
        p.reader_features.push(FEATURE.into());
        assert!(!enabled_in(&p));
        p.writer_features.push(FEATURE.into());
        assert!(enabled_in(&p));
    }
}
