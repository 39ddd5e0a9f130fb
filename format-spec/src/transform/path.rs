//! Partition directory names (SPEC §5.5): percent-encoded `name=value` segments, and values
//! in a human form for listings.

use std::collections::BTreeMap;

use serde_json::Value;

use super::NULL_PATH_VALUE;
use crate::partition::{PartitionSpec, Transform};

/// Appends `s` with every byte outside `A–Z a–z 0–9 - _ .` percent-encoded (`%XX`, uppercase);
/// `_` too if `escape_underscore`.
fn push_escaped(out: &mut String, s: &str, escape_underscore: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.')
            || (b == b'_' && !escape_underscore)
        {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// One partition directory name, `<name>=<value>` (SPEC §2.3 "Naming").
///
/// The value is written as its single-value encoding without JSON quoting (integers in
/// decimal, decimals as `"123.45"` text, binary as hex, strings as is). In both the name and
/// the value every byte outside `A–Z a–z 0–9 - _ .` is percent-encoded as `%XX` (uppercase
/// hex), so `/`, `=`, `%`, spaces, control and non-ASCII characters never appear raw. Null is
/// written `name=__NULL__` ([`NULL_PATH_VALUE`]); the string `"__NULL__"` itself is written
/// with its underscores encoded (`%5F%5FNULL%5F%5F`), so distinct values always give distinct names. Paths
/// are informative only: readers never parse them.
pub fn partition_path_segment(field_name: &str, value: &Value) -> String {
    let mut out = String::with_capacity(field_name.len() + 16);
    push_escaped(&mut out, field_name, false);
    out.push('=');
    match value {
        Value::Null => out.push_str(NULL_PATH_VALUE),
        Value::String(s) => push_escaped(&mut out, s, s == NULL_PATH_VALUE),
        other => push_escaped(&mut out, &other.to_string(), false),
    }
    out
}

/// The partition directories of a tuple, `<name>=<value>/…` in spec order (no trailing `/`);
/// empty for an unpartitioned spec. A field missing from `values` is written as null.
pub fn partition_path(spec: &PartitionSpec, values: &BTreeMap<i32, Value>) -> String {
    let mut out = String::new();
    for (i, f) in spec.fields.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&partition_path_segment(
            &f.name,
            values.get(&f.field_id).unwrap_or(&Value::Null),
        ));
    }
    out
}

/// A partition value as people read it: `day` as a date, `month` as `YYYY-MM`, `year` as
/// `YYYY`, `hour` as `YYYY-MM-DD-HH`, strings without quotes, null as `null`. Informative only
/// (directory names, CLI output); the log stores the single-value encoding.
pub fn human_value(transform: Option<Transform>, v: &Value) -> String {
    use crate::datum::{civil_from_days, format_date};
    use Transform as T;
    match (transform, v) {
        (_, Value::Null) => "null".into(),
        (_, Value::String(x)) => x.clone(),
        (Some(T::Day), Value::Number(n)) => n
            .as_i64()
            .and_then(|d| i32::try_from(d).ok())
            .map_or_else(|| n.to_string(), format_date),
        (Some(T::Month), Value::Number(n)) => n.as_i64().map_or_else(
            || n.to_string(),
            |m| format!("{:04}-{:02}", 1970 + m.div_euclid(12), m.rem_euclid(12) + 1),
        ),
        (Some(T::Year), Value::Number(n)) => n
            .as_i64()
            .map_or_else(|| n.to_string(), |y| format!("{:04}", 1970 + y)),
        (Some(T::Hour), Value::Number(n)) => n.as_i64().map_or_else(
            || n.to_string(),
            |h| {
                let (y, m, d) = civil_from_days(h.div_euclid(24));
                format!("{y:04}-{m:02}-{d:02}-{:02}", h.rem_euclid(24))
            },
        ),
        (_, other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::PartitionField;
    use serde_json::json;

    #[test]
    fn human_values_read_like_dates() {
        assert_eq!(
            human_value(Some(Transform::Day), &Value::from(20454)),
            "2026-01-01"
        );
        assert_eq!(
            human_value(Some(Transform::Month), &Value::from(673)),
            "2026-02"
        );
        assert_eq!(human_value(Some(Transform::Year), &Value::from(56)), "2026");
        assert_eq!(
            human_value(Some(Transform::Hour), &Value::from(25)),
            "1970-01-02-01"
        );
        assert_eq!(
            human_value(Some(Transform::Hour), &Value::from(-1)),
            "1969-12-31-23"
        );
        assert_eq!(human_value(None, &Value::from("x")), "x");
        assert_eq!(
            human_value(Some(Transform::Bucket(4)), &Value::from(3)),
            "3"
        );
    }

    #[test]
    fn path_segments_percent_encode_everything_outside_the_portable_set() {
        assert_eq!(
            partition_path_segment("ts_day", &json!(20089)),
            "ts_day=20089"
        );
        assert_eq!(partition_path_segment("n", &json!(-5)), "n=-5");
        assert_eq!(partition_path_segment("d", &json!("-0.50")), "d=-0.50");
        assert_eq!(
            partition_path_segment("a/b=c", &json!("x/y=z%20 é\n")),
            "a%2Fb%3Dc=x%2Fy%3Dz%2520%20%C3%A9%0A"
        );
        assert_eq!(partition_path_segment("s", &json!("")), "s=");
        assert_eq!(partition_path_segment("s", &Value::Null), "s=__NULL__");
        assert_eq!(
            partition_path_segment("s", &json!("__NULL__")),
            "s=%5F%5FNULL%5F%5F"
        );
        assert_eq!(partition_path_segment("b", &json!(true)), "b=true");
        let spec = PartitionSpec {
            spec_id: 1,
            fields: vec![
                PartitionField {
                    field_id: 1000,
                    source_id: 1,
                    name: "day".into(),
                    transform: Transform::Day,
                },
                PartitionField {
                    field_id: 1001,
                    source_id: 2,
                    name: "b".into(),
                    transform: Transform::Bucket(4),
                },
            ],
        };
        let values = BTreeMap::from([(1000, json!(20089))]);
        assert_eq!(partition_path(&spec, &values), "day=20089/b=__NULL__");
        assert_eq!(
            partition_path(&PartitionSpec::unpartitioned(), &BTreeMap::new()),
            ""
        );
    }
}
