//! Per-field statistics of a written data file, derived from its Parquet footer.
//!
//! Every Parquet leaf column is mapped to its Strata field id (the Parquet schema's `field_id`).
//! Leaves inside a list or map (repetition level > 0) are skipped: their values are not one per
//! row, so bounds on them cannot prune rows the way file-level stats are used. Struct children
//! are included.
//!
//! Row-group chunk statistics are decoded from their physical type into the logical type of the
//! field and merged: min of mins, max of maxes, null counts summed. NaN counts are not in the
//! Parquet footer: the writer counts them in the Arrow data it encodes ([`count_nans`]). Bounds are
//! only reported when every row group that holds a non-null, non-NaN value has them.
//! Parquet excludes NaN from float min/max (a NaN-only chunk reports NaN bounds, which are
//! ignored here). Strings and binaries are truncated: the min to a prefix (still a lower bound),
//! the max to a prefix whose last character (byte) is incremented (still an upper bound), or
//! omitted when no such prefix exists. Parquet's own truncated statistics (`min_is_exact` /
//! `max_is_exact` false) are already bounds of that kind, so they are used as they are.

use std::collections::BTreeMap;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType as ArrowType, Field, Float32Type, Float64Type};
use parquet::arrow::PARQUET_FIELD_ID_META_KEY;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;
use serde_json::{Number, Value};
use strata_format::ColumnStats;
use strata_format::schema::{DataType, FieldId, PrimitiveType, Schema};

use crate::arrow_schema::{encode_hex, format_decimal};

/// A decoded bound, ordered within its kind.
#[derive(Debug, Clone, PartialEq)]
enum Bound {
    Bool(bool),
    Int(i64),
    Decimal(i128),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
}

impl Bound {
    /// `a < b` for bounds of the same kind; `None` for mixed kinds.
    fn less(&self, other: &Bound) -> Option<bool> {
        Some(match (self, other) {
            (Bound::Bool(a), Bound::Bool(b)) => a < b,
            (Bound::Int(a), Bound::Int(b)) => a < b,
            (Bound::Decimal(a), Bound::Decimal(b)) => a < b,
            (Bound::Float(a), Bound::Float(b)) => a < b,
            (Bound::Str(a), Bound::Str(b)) => a < b,
            (Bound::Bytes(a), Bound::Bytes(b)) => a < b,
            _ => return None,
        })
    }
}

#[derive(Debug)]
struct Agg {
    min: Option<Bound>,
    max: Option<Bound>,
    bounds_known: bool,
    null_count: Option<u64>,
    nan_count: Option<u64>,
}

/// Adds the NaN values of every floating-point column of `batch` that is not inside a list or
/// map (struct children included, counted where the struct is valid) to `out`, by field id.
pub(crate) fn count_nans(batch: &RecordBatch, out: &mut BTreeMap<FieldId, u64>) {
    for (field, column) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        count_column_nans(field, column, None, out);
    }
}

fn count_column_nans(
    field: &Field,
    column: &ArrayRef,
    parent: Option<&NullBuffer>,
    out: &mut BTreeMap<FieldId, u64>,
) {
    let valid = NullBuffer::union(parent, column.logical_nulls().as_ref());
    let is_valid = |i: usize| valid.as_ref().is_none_or(|v| v.is_valid(i));
    let nans = match column.data_type() {
        ArrowType::Float32 => column
            .as_primitive::<Float32Type>()
            .values()
            .iter()
            .enumerate()
            .filter(|(i, x)| x.is_nan() && is_valid(*i))
            .count(),
        ArrowType::Float64 => column
            .as_primitive::<Float64Type>()
            .values()
            .iter()
            .enumerate()
            .filter(|(i, x)| x.is_nan() && is_valid(*i))
            .count(),
        ArrowType::Struct(children) => {
            let s = column.as_struct();
            for (child, array) in children.iter().zip(s.columns()) {
                count_column_nans(child, array, valid.as_ref(), out);
            }
            return;
        }
        _ => return,
    };
    let Some(id) = field
        .metadata()
        .get(PARQUET_FIELD_ID_META_KEY)
        .and_then(|v| v.parse::<FieldId>().ok())
    else {
        return;
    };
    *out.entry(id).or_insert(0) += nans as u64;
}

/// Statistics of every primitive field not inside a list or map, keyed by field id. `nans` holds
/// the NaN counts of the file's floating-point columns ([`count_nans`]).
pub(crate) fn file_stats(
    metadata: &ParquetMetaData,
    schema: &Schema,
    truncate_len: usize,
    nans: &BTreeMap<FieldId, u64>,
) -> BTreeMap<FieldId, ColumnStats> {
    let index = schema.field_index();
    let descr = metadata.file_metadata().schema_descr();
    let mut out = BTreeMap::new();
    for (c, col) in descr.columns().iter().enumerate() {
        if col.max_rep_level() > 0 {
            continue;
        }
        let info = col.self_type().get_basic_info();
        if !info.has_id() {
            continue;
        }
        let id = info.id();
        let Some(DataType::Primitive(p)) = index.get(&id).map(|i| i.data_type) else {
            continue;
        };
        let is_float = matches!(p, PrimitiveType::Float32 | PrimitiveType::Float64);
        let mut agg = Agg {
            min: None,
            max: None,
            bounds_known: true,
            null_count: Some(0),
            nan_count: is_float.then(|| nans.get(&id).copied().unwrap_or(0)),
        };
        for rg in metadata.row_groups() {
            let rows = u64::try_from(rg.num_rows()).unwrap_or(0);
            let Some(chunk) = rg.columns().get(c) else {
                agg.bounds_known = false;
                agg.null_count = None;
                continue;
            };
            let Some(st) = chunk.statistics() else {
                agg.null_count = None;
                if rows > 0 {
                    agg.bounds_known = false;
                }
                continue;
            };
            let nulls = st.null_count_opt();
            agg.null_count = agg.null_count.zip(nulls).map(|(a, b)| a + b);
            match (decode(st, p, true), decode(st, p, false)) {
                (Some(lo), Some(hi)) => {
                    merge(&mut agg.min, lo, true);
                    merge(&mut agg.max, hi, false);
                }
                _ => {
                    // A chunk of only nulls and NaNs has no bounds. Per-chunk NaN counts are
                    // not known, so the file's count bounds them from above.
                    let empty = match (nulls, agg.nan_count.or(Some(0))) {
                        (Some(n), Some(x)) => n.saturating_add(x) >= rows,
                        _ => false,
                    };
                    if !empty {
                        agg.bounds_known = false;
                    }
                }
            }
        }
        let (min, max) = if agg.bounds_known {
            (
                agg.min
                    .and_then(|b| to_json(b, p, truncate_len, true))
                    .map(Into::into),
                agg.max
                    .and_then(|b| to_json(b, p, truncate_len, false))
                    .map(Into::into),
            )
        } else {
            (None, None)
        };
        out.insert(
            id,
            ColumnStats {
                min,
                max,
                null_count: agg.null_count,
                nan_count: agg.nan_count,
            },
        );
    }
    out
}

fn merge(slot: &mut Option<Bound>, b: Bound, is_min: bool) {
    match slot {
        None => *slot = Some(b),
        Some(cur) => {
            let replace = if is_min { b.less(cur) } else { cur.less(&b) };
            match replace {
                Some(true) => *slot = Some(b),
                Some(false) => {}
                // Mixed kinds cannot happen for one column; keep the first.
                None => {}
            }
        }
    }
}

/// The min (`is_min`) or max of a chunk's statistics in the logical type `p`.
fn decode(st: &Statistics, p: &PrimitiveType, is_min: bool) -> Option<Bound> {
    use PrimitiveType as P;
    macro_rules! side {
        ($v:expr) => {
            if is_min { $v.min_opt() } else { $v.max_opt() }
        };
    }
    match (st, p) {
        (Statistics::Boolean(v), P::Boolean) => side!(v).map(|b| Bound::Bool(*b)),
        (Statistics::Int32(v), P::Int8 | P::Int16 | P::Int32 | P::Date) => {
            side!(v).map(|x| Bound::Int(i64::from(*x)))
        }
        (Statistics::Int32(v), P::Decimal { .. }) => {
            side!(v).map(|x| Bound::Decimal(i128::from(*x)))
        }
        (Statistics::Int64(v), P::Int64 | P::Time | P::Timestamp | P::Timestamptz) => {
            side!(v).map(|x| Bound::Int(*x))
        }
        (Statistics::Int64(v), P::Decimal { .. }) => {
            side!(v).map(|x| Bound::Decimal(i128::from(*x)))
        }
        (Statistics::Float(v), P::Float32) => side!(v)
            .filter(|x| !x.is_nan())
            .map(|x| Bound::Float(f64::from(*x))),
        (Statistics::Double(v), P::Float64) => {
            side!(v).filter(|x| !x.is_nan()).map(|x| Bound::Float(*x))
        }
        (Statistics::ByteArray(v), P::String) => side!(v)
            .and_then(|b| std::str::from_utf8(b.data()).ok())
            .map(|s| Bound::Str(s.to_string())),
        (Statistics::ByteArray(v), P::Binary) => side!(v).map(|b| Bound::Bytes(b.data().to_vec())),
        (Statistics::ByteArray(v), P::Decimal { .. }) => side!(v)
            .and_then(|b| be_to_i128(b.data()))
            .map(Bound::Decimal),
        (Statistics::FixedLenByteArray(v), P::Decimal { .. }) => side!(v)
            .and_then(|b| be_to_i128(b.data()))
            .map(Bound::Decimal),
        (Statistics::FixedLenByteArray(v), P::Binary) => {
            side!(v).map(|b| Bound::Bytes(b.data().to_vec()))
        }
        _ => None,
    }
}

/// A big-endian two's complement integer of up to 16 bytes.
fn be_to_i128(b: &[u8]) -> Option<i128> {
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    let fill = if b[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut buf = [fill; 16];
    buf[16 - b.len()..].copy_from_slice(b);
    Some(i128::from_be_bytes(buf))
}

fn to_json(b: Bound, p: &PrimitiveType, truncate_len: usize, is_min: bool) -> Option<Value> {
    Some(match b {
        Bound::Bool(x) => Value::Bool(x),
        Bound::Int(x) => Value::from(x),
        Bound::Float(x) => Value::Number(Number::from_f64(x)?),
        Bound::Decimal(x) => match p {
            PrimitiveType::Decimal { scale, .. } => Value::String(format_decimal(x, *scale)),
            _ => return None,
        },
        Bound::Str(s) => Value::String(if is_min {
            truncate_lower_str(&s, truncate_len).to_string()
        } else {
            truncate_upper_str(&s, truncate_len)?
        }),
        Bound::Bytes(v) => Value::String(encode_hex(&if is_min {
            truncate_lower_bytes(&v, truncate_len).to_vec()
        } else {
            truncate_upper_bytes(&v, truncate_len)?
        })),
    })
}

/// The longest prefix of `s` of at most `n` bytes ending at a character boundary: a lower bound
/// of `s` (and of everything `s` bounds from below).
pub(crate) fn truncate_lower_str(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A string of about `n` bytes (at most `n + 1`) that is `>= s`: `s` itself when short enough,
/// else its longest prefix of at most `n` bytes with the last character incremented (dropping
/// trailing characters that cannot be incremented). `None` when no prefix can be incremented.
pub(crate) fn truncate_upper_str(s: &str, n: usize) -> Option<String> {
    if s.len() <= n {
        return Some(s.to_string());
    }
    let mut prefix: Vec<char> = truncate_lower_str(s, n).chars().collect();
    while let Some(last) = prefix.pop() {
        if let Some(next) = next_char(last) {
            prefix.push(next);
            return Some(prefix.into_iter().collect());
        }
    }
    None
}

/// The next Unicode scalar value (skipping the surrogate gap).
fn next_char(c: char) -> Option<char> {
    match c {
        '\u{D7FF}' => Some('\u{E000}'),
        char::MAX => None,
        c => char::from_u32(u32::from(c) + 1),
    }
}

/// At most the first `n` bytes: a lower bound.
pub(crate) fn truncate_lower_bytes(b: &[u8], n: usize) -> &[u8] {
    &b[..b.len().min(n)]
}

/// `b` when at most `n` bytes, else its first `n` bytes incremented as a big-endian number
/// (trailing `0xff` bytes dropped): an upper bound. `None` when every byte is `0xff`.
pub(crate) fn truncate_upper_bytes(b: &[u8], n: usize) -> Option<Vec<u8>> {
    if b.len() <= n {
        return Some(b.to_vec());
    }
    let mut prefix = b[..n].to_vec();
    while let Some(last) = prefix.pop() {
        if last < u8::MAX {
            prefix.push(last + 1);
            return Some(prefix);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::writer::WriterOptions;
    use crate::write::writer::fixtures::*;
    use arrow::array::RecordBatch;
    use arrow::array::{ArrayRef, BinaryArray, Float64Array, Int64Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use proptest::prelude::*;
    use serde_json::json;
    use std::sync::Arc;
    use strata_format::ColumnStats;
    use strata_format::schema::Schema;
    use strata_format::schema::{PrimitiveType as P, StructField};

    #[test]
    fn string_truncation_respects_char_boundaries() {
        assert_eq!(truncate_lower_str("héllo", 2), "h");
        assert_eq!(truncate_lower_str("héllo", 3), "hé");
        assert_eq!(truncate_upper_str("héllo", 3).as_deref(), Some("hê"));
        assert_eq!(truncate_upper_str("abc", 3).as_deref(), Some("abc"));
        assert_eq!(
            truncate_upper_str("ab\u{D7FF}zz", 5).as_deref(),
            Some("ab\u{E000}")
        );
        assert_eq!(
            truncate_upper_str("a\u{10FFFF}\u{10FFFF}x", 9).as_deref(),
            Some("b")
        );
        assert_eq!(truncate_upper_str("\u{10FFFF}\u{10FFFF}x", 8), None);
    }

    #[test]
    fn byte_truncation_carries_over_ff() {
        assert_eq!(truncate_lower_bytes(&[1, 2, 3], 2), &[1, 2]);
        assert_eq!(truncate_upper_bytes(&[1, 2, 3], 2), Some(vec![1, 3]));
        assert_eq!(truncate_upper_bytes(&[1, 0xff, 3], 2), Some(vec![2]));
        assert_eq!(truncate_upper_bytes(&[0xff, 0xff, 3], 2), None);
    }

    #[test]
    fn big_endian_decimals_sign_extend() {
        assert_eq!(be_to_i128(&[0xff, 0x85]), Some(-123));
        assert_eq!(be_to_i128(&[0x00, 0x7b]), Some(123));
        assert_eq!(be_to_i128(&[]), None);
    }

    proptest! {
        #[test]
        fn truncated_string_bounds_enclose_every_value(
            values in proptest::collection::vec(".{0,40}", 1..20),
            n in 1usize..40,
        ) {
            let min = values.iter().min().unwrap();
            let max = values.iter().max().unwrap();
            let lo = truncate_lower_str(min, n);
            prop_assert!(lo.len() <= n);
            for v in &values {
                prop_assert!(lo <= v.as_str());
            }
            if let Some(hi) = truncate_upper_str(max, n) {
                prop_assert!(hi.len() <= n + 1);
                for v in &values {
                    prop_assert!(hi.as_str() >= v.as_str());
                }
            }
        }

        #[test]
        fn truncated_byte_bounds_enclose_every_value(
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..20),
            n in 1usize..40,
        ) {
            let min = values.iter().min().unwrap();
            let max = values.iter().max().unwrap();
            let lo = truncate_lower_bytes(min, n);
            for v in &values {
                prop_assert!(lo <= v.as_slice());
            }
            if let Some(hi) = truncate_upper_bytes(max, n) {
                prop_assert!(hi.len() <= n);
                for v in &values {
                    prop_assert!(hi.as_slice() >= v.as_slice());
                }
            }
        }
    }

    fn stat(min: Value, max: Value, nulls: u64) -> ColumnStats {
        ColumnStats {
            min: Some(min.into()),
            max: Some(max.into()),
            null_count: Some(nulls),
            nan_count: None,
        }
    }

    #[tokio::test]
    async fn stats_are_keyed_by_field_id_in_the_logical_encoding() {
        let loc = memory_location();
        let schema = all_types_schema();
        let adds = write_all(
            &loc,
            &schema,
            WriterOptions::default(),
            &[all_types_input()],
        )
        .await;
        let s = &adds[0].stats;
        let ids: Vec<i32> = s.keys().copied().collect();
        assert_eq!(
            ids,
            vec![
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 21
            ]
        );
        assert_eq!(s[&1], stat(json!(false), json!(true), 1));
        assert_eq!(s[&2], stat(json!(-8), json!(7), 1));
        assert_eq!(s[&3], stat(json!(-16), json!(16), 1));
        assert_eq!(s[&4], stat(json!(1), json!(3), 0));
        assert_eq!(s[&5], stat(json!(i64::MIN), json!(i64::MAX), 1));
        assert_eq!(
            s[&6],
            ColumnStats {
                nan_count: Some(1),
                ..stat(json!(1.5), json!(1.5), 1)
            }
        );
        assert_eq!(
            s[&7],
            ColumnStats {
                nan_count: Some(0),
                ..stat(json!(-2.5), json!(1e300), 1)
            }
        );
        assert_eq!(s[&8], stat(json!("-0.05"), json!("123.45"), 1));
        assert_eq!(s[&9], stat(json!("-0.001"), json!("1000000000000.000"), 1));
        assert_eq!(
            s[&10],
            stat(
                json!("-1000000000000000000000000000.0000000000"),
                json!("1000000000000000000000000000.0000000001"),
                1
            )
        );
        assert_eq!(s[&11], stat(json!(-1), json!(19000), 1));
        assert_eq!(s[&12], stat(json!(0), json!(86_399_999_999i64), 1));
        assert_eq!(
            s[&13],
            stat(json!(-1_000_000), json!(1_700_000_000_000_000i64), 1)
        );
        assert_eq!(s[&14], stat(json!(5), json!(6), 1));
        assert_eq!(s[&15], stat(json!("apple"), json!("banana"), 1));
        assert_eq!(s[&16], stat(json!("0001"), json!("ff"), 1));
        // Struct children: a null parent counts as a null child.
        assert_eq!(s[&18], stat(json!(10), json!(30), 1));
        assert_eq!(s[&19], stat(json!("x"), json!("x"), 2));
        assert_eq!(s[&21], stat(json!(-5), json!(5), 1));
    }

    #[tokio::test]
    async fn stats_merge_row_groups_and_skip_all_null_groups() {
        let loc = memory_location();
        let schema = Schema::new(
            0,
            vec![
                StructField::optional(1, "n", P::Int64),
                StructField::optional(2, "f", P::Float64),
            ],
        )
        .unwrap();
        let n: Vec<Option<i64>> = (0..10)
            .map(|i| if i < 5 { None } else { Some(i) })
            .collect();
        let f: Vec<Option<f64>> = (0..10)
            .map(|i| {
                if i < 5 {
                    Some(f64::NAN)
                } else {
                    Some(-(i as f64))
                }
            })
            .collect();
        let input = RecordBatch::try_from_iter(vec![
            ("n", Arc::new(Int64Array::from(n)) as ArrayRef),
            ("f", Arc::new(Float64Array::from(f))),
        ])
        .unwrap();
        let options = WriterOptions {
            row_group_max_rows: 5,
            ..WriterOptions::default()
        };
        let adds = write_all(&loc, &schema, options, &[input]).await;
        let (bytes, _) = read_back(&loc, &adds[0]).await;
        let meta = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
        assert_eq!(meta.metadata().num_row_groups(), 2);
        let s = &adds[0].stats;
        assert_eq!(s[&1], stat(json!(5), json!(9), 5));
        assert_eq!(
            s[&2],
            ColumnStats {
                nan_count: Some(5),
                ..stat(json!(-9.0), json!(-5.0), 0)
            }
        );
    }

    #[tokio::test]
    async fn long_string_and_binary_stats_are_truncated_to_bounds() {
        let loc = memory_location();
        let schema = Schema::new(
            0,
            vec![
                StructField::optional(1, "s", P::String),
                StructField::optional(2, "b", P::Binary),
            ],
        )
        .unwrap();
        let low = format!("{}tail", "a".repeat(40));
        let high = format!("{}é{}", "z".repeat(31), "rest");
        let values = vec![Some(low.as_str()), Some("m"), Some(high.as_str())];
        let blobs: Vec<Option<Vec<u8>>> = vec![
            Some(vec![1; 40]),
            Some(vec![2, 0xff, 0xff, 0xff]),
            Some(vec![0xff; 3]),
        ];
        let input = RecordBatch::try_from_iter(vec![
            ("s", Arc::new(StringArray::from(values.clone())) as ArrayRef),
            (
                "b",
                Arc::new(BinaryArray::from_iter(blobs.iter().map(|b| b.as_deref()))),
            ),
        ])
        .unwrap();
        let options = WriterOptions {
            stats_truncate_length: 4,
            ..WriterOptions::default()
        };
        let adds = write_all(&loc, &schema, options, &[input]).await;
        let s = &adds[0].stats[&1];
        let min = s.min.as_ref().and_then(|v| v.as_str()).unwrap();
        let max = s.max.as_ref().and_then(|v| v.as_str()).unwrap();
        assert_eq!(min, "aaaa");
        assert_eq!(max, "zzz{");
        for v in values.iter().flatten() {
            assert!(min <= *v && *v <= max, "{min} <= {v} <= {max}");
        }
        let b = &adds[0].stats[&2];
        assert_eq!(b.min, Some(json!("01010101").into()));
        assert_eq!(b.max, Some(json!("ffffff").into()));
    }
}
