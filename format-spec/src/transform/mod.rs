//! Partition transforms applied to single values (SPEC §5.2–§5.4), plus the building blocks
//! engines use to apply them to whole columns.
//!
//! Values are in the single-value JSON encoding of SPEC §4.5, in and out: integers, dates
//! (days), times and timestamps (µs) are JSON integers, decimals strings with exactly `scale`
//! fractional digits, binary lowercase hex. The semantics are Apache Iceberg's, with the
//! one documented difference of SPEC §5.4: integer truncation is computed in 64 bits.
//!
//! The scalar helpers (`micros_to_hours`, `hash_i64`, `truncate_int`, …) are public so that a
//! vectorized implementation computes exactly the same results as [`apply`].

pub use crate::datum::{decode_hex, encode_hex, format_decimal};

use serde_json::Value;

use crate::error::{FormatError, Result};
use crate::partition::Transform;
use crate::schema::PrimitiveType;

mod path;

pub use path::{human_value, partition_path, partition_path_segment};

/// Microseconds in an hour.
pub const MICROS_PER_HOUR: i64 = 3_600_000_000;
/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Path text of a null partition value: `name=__NULL__` (a string value that is literally
/// `__NULL__` is written with its underscores percent-encoded, so the two never collide).
pub const NULL_PATH_VALUE: &str = "__NULL__";

fn err(msg: impl Into<String>) -> FormatError {
    FormatError::Transform(msg.into())
}

// ---------------------------------------------------------------------------------------------
// Scalar building blocks
// ---------------------------------------------------------------------------------------------

/// Days since 1970-01-01 of a timestamp in µs since the epoch, rounding toward −∞.
pub fn micros_to_days(micros: i64) -> i32 {
    // |i64::MAX| / MICROS_PER_DAY ≈ 1.07e8, always within i32.
    micros.div_euclid(MICROS_PER_DAY) as i32
}

/// Hours since 1970-01-01T00:00 of a timestamp in µs, rounding toward −∞; `None` when the
/// result does not fit the `int32` result type (timestamps beyond about ±245 000 years).
pub fn micros_to_hours(micros: i64) -> Option<i32> {
    i32::try_from(micros.div_euclid(MICROS_PER_HOUR)).ok()
}

/// Proleptic Gregorian (year, month 1..=12) of a day number (days since 1970-01-01).
fn civil_from_days(days: i32) -> (i64, i64) {
    // Howard Hinnant's `civil_from_days`; every intermediate fits i64 for any i32 input.
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}

/// Whole years since 1970 of a day number (`year(d) − 1970`).
pub fn days_to_years(days: i32) -> i32 {
    // |year| ≤ 5.9 million for any i32 day number.
    (civil_from_days(days).0 - 1970) as i32
}

/// Whole months since 1970-01 of a day number (`(year(d) − 1970) × 12 + month(d) − 1`).
pub fn days_to_months(days: i32) -> i32 {
    let (year, month) = civil_from_days(days);
    // |months| ≤ 71 million for any i32 day number.
    ((year - 1970) * 12 + month - 1) as i32
}

/// MurmurHash3 x86 32-bit with seed 0, as a signed integer (SPEC §5.3).
pub fn murmur3_x86_32(bytes: &[u8]) -> i32 {
    let mut h: u32 = 0;
    let mut blocks = bytes.chunks_exact(4);
    for b in &mut blocks {
        h ^= mix_k(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, b) in tail.iter().enumerate() {
            k |= u32::from(*b) << (8 * i);
        }
        h ^= mix_k(k);
    }
    // The length enters the hash modulo 2^32, as in the reference implementation.
    fmix(h ^ (bytes.len() as u32)) as i32
}

#[inline]
fn mix_k(k: u32) -> u32 {
    k.wrapping_mul(0xcc9e_2d51)
        .rotate_left(15)
        .wrapping_mul(0x1b87_3593)
}

#[inline]
fn fmix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Bucket hash of an integer, date, time or timestamp: murmur3 of the value as 8 bytes
/// little-endian (SPEC §5.3).
#[inline]
pub fn hash_i64(v: i64) -> i32 {
    let b = v.to_le_bytes();
    let mut h = mix_k(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    h ^= mix_k(u32::from_le_bytes([b[4], b[5], b[6], b[7]]));
    h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    fmix(h ^ 8) as i32
}

/// Bucket hash of a decimal: murmur3 of the unscaled value as a big-endian two's complement
/// integer in the minimum number of bytes (at least one) (SPEC §5.3).
pub fn hash_decimal(unscaled: i128) -> i32 {
    let b = unscaled.to_be_bytes();
    let mut start = 0;
    // A leading byte is redundant when it is pure sign extension of the next byte.
    while start < b.len() - 1
        && ((b[start] == 0x00 && b[start + 1] & 0x80 == 0)
            || (b[start] == 0xff && b[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    murmur3_x86_32(&b[start..])
}

/// Bucket number of a hash: `(hash & 0x7FFFFFFF) mod n`, in `0..n`. `n` must be positive
/// (transform parsing guarantees it); `0` yields bucket 0.
#[inline]
pub fn bucket_index(hash: i32, n: u32) -> i32 {
    // The masked hash is non-negative and the result is < 2^31.
    (((hash & i32::MAX) as u32).checked_rem(n).unwrap_or(0)) as i32
}

/// `truncate[W]` of an integer: the largest multiple of W that is ≤ v, in 64-bit wrapping
/// arithmetic (SPEC §5.4).
#[inline]
pub fn truncate_int(v: i64, width: u32) -> i64 {
    let w = i64::from(width.max(1));
    v.wrapping_sub(((v % w) + w) % w)
}

/// `truncate[W]` of a decimal's unscaled value, exact; `None` on i128 overflow (only possible
/// for values far outside decimal(38) range).
#[inline]
pub fn truncate_decimal(unscaled: i128, width: u32) -> Option<i128> {
    let w = i128::from(width.max(1));
    unscaled.checked_sub(((unscaled % w) + w) % w)
}

/// `truncate[W]` of a string: its first W Unicode code points.
#[inline]
pub fn truncate_str(s: &str, width: u32) -> &str {
    // A code point takes at least one byte: nothing to cut if the string is short enough.
    let w = width as usize;
    if s.len() <= w {
        return s;
    }
    match s.char_indices().nth(w) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `truncate[W]` of a binary value: its first W bytes.
#[inline]
pub fn truncate_bytes(b: &[u8], width: u32) -> &[u8] {
    &b[..b.len().min(width as usize)]
}

/// Parses a decimal in the single-value encoding into its unscaled value at `scale`.
///
/// Accepts an optional `-`, integer digits and, if `scale > 0`, a `.` with at most `scale`
/// significant fractional digits (missing trailing zeros are implied, extra zeros ignored). `None` if malformed or beyond i128.
pub fn parse_decimal(s: &str, scale: u8) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) if !f.is_empty() => (i, f),
        Some(_) => return None,
        None => (body, ""),
    };
    // Zeros beyond the scale do not change the value: `1.230` at scale 2 is 123.
    let frac = match frac.get(usize::from(scale)..) {
        Some(extra) if extra.bytes().all(|b| b == b'0') => &frac[..usize::from(scale)],
        _ => frac,
    };
    if int.is_empty()
        || frac.len() > usize::from(scale)
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // Accumulate with the final sign so that i128::MIN parses.
    let mut v: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        let d = i128::from(b - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    for _ in frac.len()..usize::from(scale) {
        v = v.checked_mul(10)?;
    }
    Some(v)
}

// ---------------------------------------------------------------------------------------------
// Applying a transform to one value
// ---------------------------------------------------------------------------------------------

fn bad_value(source_type: &PrimitiveType, value: &Value) -> FormatError {
    err(format!("{value} is not a valid {source_type} value"))
}

fn int_of(source_type: &PrimitiveType, value: &Value) -> Result<i64> {
    source_type
        .check_value(value)
        .map_err(err)
        .and_then(|()| value.as_i64().ok_or_else(|| bad_value(source_type, value)))
}

fn decimal_of(source_type: &PrimitiveType, scale: u8, value: &Value) -> Result<i128> {
    value
        .as_str()
        .and_then(|s| parse_decimal(s, scale))
        .ok_or_else(|| bad_value(source_type, value))
}

fn str_of<'a>(source_type: &PrimitiveType, value: &'a Value) -> Result<&'a str> {
    value.as_str().ok_or_else(|| bad_value(source_type, value))
}

fn bytes_of(source_type: &PrimitiveType, value: &Value) -> Result<Vec<u8>> {
    value
        .as_str()
        .and_then(decode_hex)
        .ok_or_else(|| bad_value(source_type, value))
}

/// Day number of a `date`, `timestamp` or `timestamptz` value.
fn day_of(source_type: &PrimitiveType, value: &Value) -> Result<i32> {
    let v = int_of(source_type, value)?;
    match source_type {
        PrimitiveType::Date => i32::try_from(v).map_err(|_| bad_value(source_type, value)),
        _ => Ok(micros_to_days(v)),
    }
}

/// Iceberg's bucket hash of a non-null value (before masking and modulo), SPEC §5.3.
///
/// Errors if the type cannot be bucketed (`boolean`, `float32`, `float64`) or the value is not
/// a valid encoding of `source_type`.
pub fn bucket_hash(source_type: &PrimitiveType, value: &Value) -> Result<i32> {
    use PrimitiveType::*;
    match source_type {
        Int8 | Int16 | Int32 | Int64 | Date | Time | Timestamp | Timestamptz => {
            Ok(hash_i64(int_of(source_type, value)?))
        }
        Decimal { scale, .. } => Ok(hash_decimal(decimal_of(source_type, *scale, value)?)),
        String => Ok(murmur3_x86_32(str_of(source_type, value)?.as_bytes())),
        Binary => Ok(murmur3_x86_32(&bytes_of(source_type, value)?)),
        other => Err(err(format!("{other} values cannot be bucketed"))),
    }
}

/// The canonical encoding of a valid value (decimals and binary re-encoded).
fn canonical(source_type: &PrimitiveType, value: &Value) -> Result<Value> {
    match source_type {
        PrimitiveType::Decimal { scale, .. } => Ok(Value::String(format_decimal(
            decimal_of(source_type, *scale, value)?,
            *scale,
        ))),
        PrimitiveType::Binary => Ok(Value::String(encode_hex(&bytes_of(source_type, value)?))),
        _ => {
            source_type.check_value(value).map_err(err)?;
            Ok(value.clone())
        }
    }
}

/// Applies `transform` to a value of `source_type` (SPEC §5.2–§5.4).
///
/// `value` and the result are in the single-value encoding (SPEC §4.5); the result has type
/// `transform.result_type(source_type)`, except that `truncate[W]` of `int8`/`int16`/`int32`
/// may lie outside the source range (SPEC §5.4) and decimal results are canonical. Null maps to
/// null and `void` always gives null.
///
/// Errors if the transform does not accept the source type, the value is not a valid encoding
/// of `source_type`, or the result does not fit its type (`hour` beyond the `int32` range).
pub fn apply(transform: Transform, source_type: &PrimitiveType, value: &Value) -> Result<Value> {
    if !transform.accepts(source_type) {
        return Err(err(format!(
            "{transform} cannot be applied to a {source_type} value"
        )));
    }
    if transform == Transform::Void || value.is_null() {
        return Ok(Value::Null);
    }
    match transform {
        Transform::Identity => canonical(source_type, value),
        Transform::Year => Ok(days_to_years(day_of(source_type, value)?).into()),
        Transform::Month => Ok(days_to_months(day_of(source_type, value)?).into()),
        Transform::Day => Ok(day_of(source_type, value)?.into()),
        Transform::Hour => {
            let us = int_of(source_type, value)?;
            micros_to_hours(us).map(Value::from).ok_or_else(|| {
                err(format!(
                    "hour of {us} µs does not fit the int32 partition value"
                ))
            })
        }
        Transform::Bucket(n) => Ok(bucket_index(bucket_hash(source_type, value)?, n).into()),
        Transform::Truncate(w) => match source_type {
            PrimitiveType::Decimal { scale, .. } => {
                let v = decimal_of(source_type, *scale, value)?;
                let t = truncate_decimal(v, w)
                    .ok_or_else(|| err(format!("truncate[{w}] of {value} overflows")))?;
                Ok(Value::String(format_decimal(t, *scale)))
            }
            PrimitiveType::String => Ok(truncate_str(str_of(source_type, value)?, w).into()),
            PrimitiveType::Binary => Ok(Value::String(encode_hex(truncate_bytes(
                &bytes_of(source_type, value)?,
                w,
            )))),
            _ => Ok(truncate_int(int_of(source_type, value)?, w).into()),
        },
        // Void is handled above; `Transform` is non-exhaustive only for other crates.
        Transform::Void => Ok(Value::Null),
    }
}

/// Whether `transform` is monotonic (non-decreasing): `a ≤ b ⇒ t(a) ≤ t(b)`. True for
/// identity, year, month, day, hour and truncate; false for bucket and void.
pub fn preserves_order(transform: Transform) -> bool {
    matches!(
        transform,
        Transform::Identity
            | Transform::Year
            | Transform::Month
            | Transform::Day
            | Transform::Hour
            | Transform::Truncate(_)
    )
}

/// Projects source-column bounds through an order-preserving transform: if every value `v` of a
/// file satisfies `min ≤ v ≤ max`, every partition value satisfies `t(min) ≤ t(v) ≤ t(max)`.
///
/// `None` when the transform does not preserve order (bucket, void), a bound is null or the
/// transform cannot be applied to a bound (invalid value, type not accepted, overflow): the
/// caller then cannot prune on this field.
pub fn project_bounds(
    transform: Transform,
    source_type: &PrimitiveType,
    min: &Value,
    max: &Value,
) -> Option<(Value, Value)> {
    if !preserves_order(transform) || min.is_null() || max.is_null() {
        return None;
    }
    let lo = apply(transform, source_type, min).ok()?;
    let hi = apply(transform, source_type, max).ok()?;
    // 64-bit truncation wraps for `int64` values within W of i64::MIN: no longer monotonic.
    if let (Transform::Truncate(_), Some(l), Some(m)) = (transform, lo.as_i64(), min.as_i64())
        && l > m
    {
        return None;
    }
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;
    use serde_json::json;

    use PrimitiveType as P;

    const DEC_4_2: P = P::Decimal {
        precision: 4,
        scale: 2,
    };

    fn ap(t: Transform, ty: P, v: Value) -> Value {
        apply(t, &ty, &v).unwrap()
    }

    #[test]
    fn bucket_hashes_match_the_iceberg_test_vectors() {
        let cases: Vec<(P, Value, i32)> = vec![
            (P::Int32, json!(34), 2017239379),
            (P::Int64, json!(34), 2017239379),
            (P::Int8, json!(34), 2017239379),
            (P::Int16, json!(34), 2017239379),
            (DEC_4_2, json!("14.20"), -500754589),
            (P::Date, json!(17486), -653330422),
            (P::Time, json!(81_068_000_000i64), -662762989),
            (P::Timestamp, json!(1_510_871_468_000_000i64), -2047944441),
            (P::Timestamptz, json!(1_510_871_468_000_000i64), -2047944441),
            (P::String, json!("iceberg"), 1210000089),
            (P::Binary, json!("00010203"), -188683207),
        ];
        for (ty, v, want) in cases {
            assert_eq!(bucket_hash(&ty, &v).unwrap(), want, "{ty} {v}");
        }
        // The documented example: bucket[16] of the int64 34 is 3.
        assert_eq!(ap(Transform::Bucket(16), P::Int64, json!(34)), json!(3));
    }

    #[test]
    fn decimal_hash_input_is_the_minimal_big_endian_twos_complement() {
        for (v, bytes) in [
            (0i128, vec![0x00u8]),
            (127, vec![0x7f]),
            (128, vec![0x00, 0x80]),
            (-1, vec![0xff]),
            (-128, vec![0x80]),
            (-129, vec![0xff, 0x7f]),
            (1420, vec![0x05, 0x8c]),
        ] {
            assert_eq!(hash_decimal(v), murmur3_x86_32(&bytes), "{v}");
        }
        assert_eq!(
            hash_decimal(i128::MIN),
            murmur3_x86_32(&i128::MIN.to_be_bytes())
        );
    }

    #[test]
    fn buckets_are_in_range_and_use_the_masked_hash() {
        // -500754589 & 0x7fffffff = 1646729059
        assert_eq!(
            ap(Transform::Bucket(100), DEC_4_2, json!("14.20")),
            json!(1646729059 % 100)
        );
        assert_eq!(bucket_index(i32::MIN, 7), 0);
        assert_eq!(bucket_index(-1, u32::MAX), i32::MAX);
        assert_eq!(ap(Transform::Bucket(1), P::String, json!("x")), json!(0));
    }

    #[test]
    fn time_units_round_toward_negative_infinity() {
        for ty in [P::Timestamp, P::Timestamptz] {
            assert_eq!(ap(Transform::Hour, ty, json!(-1)), json!(-1));
            assert_eq!(ap(Transform::Day, ty, json!(-1)), json!(-1));
            assert_eq!(ap(Transform::Month, ty, json!(-1)), json!(-1));
            assert_eq!(ap(Transform::Year, ty, json!(-1)), json!(-1));
            assert_eq!(ap(Transform::Hour, ty, json!(0)), json!(0));
            assert_eq!(ap(Transform::Day, ty, json!(MICROS_PER_DAY - 1)), json!(0));
            assert_eq!(ap(Transform::Day, ty, json!(-MICROS_PER_DAY)), json!(-1));
            assert_eq!(
                ap(Transform::Day, ty, json!(-MICROS_PER_DAY - 1)),
                json!(-2)
            );
        }
        // 1969-12-31T23:00:00Z (SPEC §5.2 example).
        assert_eq!(
            ap(Transform::Hour, P::Timestamptz, json!(-3_600_000_000i64)),
            json!(-1)
        );
        assert_eq!(ap(Transform::Day, P::Date, json!(-1)), json!(-1));
        assert_eq!(ap(Transform::Month, P::Date, json!(-1)), json!(-1));
        assert_eq!(ap(Transform::Month, P::Date, json!(-31)), json!(-1));
        assert_eq!(ap(Transform::Month, P::Date, json!(-32)), json!(-2));
        assert_eq!(ap(Transform::Year, P::Date, json!(-365)), json!(-1));
        assert_eq!(ap(Transform::Year, P::Date, json!(-366)), json!(-2));
    }

    #[test]
    fn calendar_transforms_match_known_dates() {
        // 2017-11-16 = day 17486; 2017-11-16T22:31:08 = 1510871468000000 µs.
        assert_eq!(ap(Transform::Year, P::Date, json!(17486)), json!(47));
        assert_eq!(
            ap(Transform::Month, P::Date, json!(17486)),
            json!(47 * 12 + 10)
        );
        assert_eq!(ap(Transform::Day, P::Date, json!(17486)), json!(17486));
        let ts = json!(1_510_871_468_000_000i64);
        assert_eq!(ap(Transform::Year, P::Timestamp, ts.clone()), json!(47));
        assert_eq!(ap(Transform::Month, P::Timestamp, ts.clone()), json!(574));
        assert_eq!(ap(Transform::Day, P::Timestamp, ts.clone()), json!(17486));
        assert_eq!(
            ap(Transform::Hour, P::Timestamp, ts),
            json!(17486 * 24 + 22)
        );
        // 2000-02-29 (leap day) = 11016; 2000-03-01 = 11017; 1900-03-01 = -25508.
        assert_eq!(
            ap(Transform::Month, P::Date, json!(11016)),
            json!(30 * 12 + 1)
        );
        assert_eq!(
            ap(Transform::Month, P::Date, json!(11017)),
            json!(30 * 12 + 2)
        );
        assert_eq!(
            ap(Transform::Month, P::Date, json!(-25508)),
            json!(-70 * 12 + 2)
        );
        assert_eq!(ap(Transform::Year, P::Date, json!(-25508)), json!(-70));
        // 2025-01-01 = 20089 (SPEC §4.5 example).
        assert_eq!(ap(Transform::Year, P::Date, json!(20089)), json!(55));
        assert_eq!(ap(Transform::Month, P::Date, json!(20089)), json!(660));
    }

    #[test]
    fn calendar_transforms_agree_with_a_day_by_day_walk() {
        // Walk the calendar from 1970-01-01 in both directions and check month/year changes.
        fn days_in_month(y: i64, m: i64) -> i64 {
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ][(m - 1) as usize]
        }
        let (mut y, mut m, mut d) = (1970i64, 1i64, 1i64);
        for day in 0..200_000i32 {
            assert_eq!(i64::from(days_to_years(day)), y - 1970, "day {day}");
            assert_eq!(i64::from(days_to_months(day)), (y - 1970) * 12 + m - 1);
            d += 1;
            if d > days_in_month(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
        let (mut y, mut m, mut d) = (1969i64, 12i64, 31i64);
        for day in (-200_000i32..0).rev() {
            assert_eq!(i64::from(days_to_years(day)), y - 1970, "day {day}");
            assert_eq!(i64::from(days_to_months(day)), (y - 1970) * 12 + m - 1);
            d -= 1;
            if d == 0 {
                m -= 1;
                if m == 0 {
                    m = 12;
                    y -= 1;
                }
                d = days_in_month(y, m);
            }
        }
        // Extremes do not overflow.
        let _ = (days_to_months(i32::MIN), days_to_months(i32::MAX));
        let _ = (micros_to_days(i64::MIN), micros_to_days(i64::MAX));
    }

    #[test]
    fn hour_beyond_int32_is_an_error() {
        assert!(apply(Transform::Hour, &P::Timestamp, &json!(i64::MAX)).is_err());
        assert!(apply(Transform::Hour, &P::Timestamp, &json!(i64::MIN)).is_err());
        assert!(apply(Transform::Day, &P::Timestamp, &json!(i64::MIN)).is_ok());
    }

    #[test]
    fn truncate_follows_the_spec_examples() {
        let t10 = Transform::Truncate(10);
        assert_eq!(ap(t10, P::Int32, json!(1)), json!(0));
        assert_eq!(ap(t10, P::Int32, json!(-1)), json!(-10));
        assert_eq!(ap(t10, P::Int64, json!(17)), json!(10));
        assert_eq!(ap(t10, P::Int64, json!(-10)), json!(-10));
        // The int8 -128 truncates below the int8 range (SPEC §5.4).
        assert_eq!(ap(t10, P::Int8, json!(-128)), json!(-130));
        // 64-bit wrapping arithmetic.
        assert_eq!(truncate_int(i64::MIN, 10), i64::MIN.wrapping_sub(2));
        let dec62 = P::Decimal {
            precision: 6,
            scale: 2,
        };
        assert_eq!(
            ap(Transform::Truncate(50), dec62, json!("10.65")),
            json!("10.50")
        );
        assert_eq!(ap(t10, dec62, json!("-0.05")), json!("-0.10"));
        assert_eq!(ap(t10, dec62, json!("0.00")), json!("0.00"));
        assert_eq!(
            ap(Transform::Truncate(3), P::String, json!("iceberg")),
            json!("ice")
        );
        assert_eq!(
            ap(Transform::Truncate(3), P::String, json!("ab")),
            json!("ab")
        );
        // Code points, not bytes.
        assert_eq!(
            ap(Transform::Truncate(2), P::String, json!("€uro")),
            json!("€u")
        );
        assert_eq!(
            ap(Transform::Truncate(2), P::Binary, json!("00010203")),
            json!("0001")
        );
        assert_eq!(
            ap(Transform::Truncate(9), P::Binary, json!("ABCD")),
            json!("abcd")
        );
    }

    #[test]
    fn null_maps_to_null_and_void_is_always_null() {
        for t in [
            Transform::Identity,
            Transform::Bucket(4),
            Transform::Truncate(3),
            Transform::Void,
        ] {
            assert_eq!(ap(t, P::Int32, Value::Null), Value::Null);
        }
        for t in [
            Transform::Year,
            Transform::Month,
            Transform::Day,
            Transform::Hour,
        ] {
            assert_eq!(ap(t, P::Timestamptz, Value::Null), Value::Null);
        }
        assert_eq!(ap(Transform::Void, P::Float64, json!(1.5)), Value::Null);
        assert_eq!(ap(Transform::Void, P::Boolean, json!(true)), Value::Null);
    }

    #[test]
    fn identity_validates_and_canonicalizes() {
        assert_eq!(ap(Transform::Identity, P::Float32, json!(2.5)), json!(2.5));
        assert_eq!(
            ap(Transform::Identity, P::Boolean, json!(true)),
            json!(true)
        );
        assert_eq!(
            ap(Transform::Identity, DEC_4_2, json!("1.5")),
            json!("1.50")
        );
        assert_eq!(
            ap(Transform::Identity, DEC_4_2, json!("-0.5")),
            json!("-0.50")
        );
        assert_eq!(ap(Transform::Identity, P::Binary, json!("0A")), json!("0a"));
        assert!(apply(Transform::Identity, &P::Int8, &json!(300)).is_err());
        assert!(apply(Transform::Identity, &P::Int32, &json!("1")).is_err());
        assert!(apply(Transform::Identity, &DEC_4_2, &json!("1.234")).is_err());
        assert!(apply(Transform::Identity, &P::Binary, &json!("abc")).is_err());
    }

    #[test]
    fn transforms_reject_types_they_do_not_accept() {
        assert!(apply(Transform::Hour, &P::Date, &json!(1)).is_err());
        assert!(apply(Transform::Bucket(4), &P::Float64, &json!(1.0)).is_err());
        assert!(apply(Transform::Truncate(4), &P::Timestamp, &json!(1)).is_err());
        assert!(apply(Transform::Year, &P::Time, &json!(1)).is_err());
        assert!(bucket_hash(&P::Boolean, &json!(true)).is_err());
    }

    #[test]
    fn decimals_parse_and_format_in_the_single_value_encoding() {
        assert_eq!(parse_decimal("123.45", 2), Some(12345));
        assert_eq!(parse_decimal("-0.50", 2), Some(-50));
        assert_eq!(parse_decimal("7", 2), Some(700));
        assert_eq!(parse_decimal("12345", 0), Some(12345));
        for bad in ["", "-", ".5", "5.", "1.234", "1e5", "+1", "1.2.3", " 1"] {
            assert_eq!(parse_decimal(bad, 2), None, "{bad}");
        }
        assert_eq!(parse_decimal("1.5", 0), None);
        assert_eq!(format_decimal(12345, 2), "123.45");
        assert_eq!(format_decimal(-50, 2), "-0.50");
        assert_eq!(format_decimal(0, 2), "0.00");
        assert_eq!(format_decimal(700, 2), "7.00");
        assert_eq!(format_decimal(-7, 0), "-7");
        assert_eq!(format_decimal(5, 3), "0.005");
        assert_eq!(
            parse_decimal(&format_decimal(i128::MIN, 5), 5),
            Some(i128::MIN)
        );
    }

    #[test]
    fn order_preserving_transforms_project_bounds() {
        assert_eq!(
            project_bounds(
                Transform::Day,
                &P::Timestamp,
                &json!(-1),
                &json!(MICROS_PER_DAY)
            ),
            Some((json!(-1), json!(1)))
        );
        assert_eq!(
            project_bounds(
                Transform::Truncate(2),
                &P::String,
                &json!("abc"),
                &json!("abz")
            ),
            Some((json!("ab"), json!("ab")))
        );
        assert_eq!(
            project_bounds(Transform::Identity, &P::Float64, &json!(1.5), &json!(2.5)),
            Some((json!(1.5), json!(2.5)))
        );
        assert_eq!(
            project_bounds(Transform::Bucket(4), &P::Int32, &json!(1), &json!(2)),
            None
        );
        assert_eq!(
            project_bounds(Transform::Void, &P::Int32, &json!(1), &json!(2)),
            None
        );
        assert_eq!(
            project_bounds(Transform::Hour, &P::Timestamp, &json!(0), &json!(i64::MAX)),
            None
        );
        assert_eq!(
            project_bounds(
                Transform::Truncate(10),
                &P::Int64,
                &json!(i64::MIN),
                &json!(0)
            ),
            None
        );
        assert!(!preserves_order(Transform::Bucket(2)));
        assert!(preserves_order(Transform::Truncate(2)));
    }

    proptest! {
        #[test]
        fn murmur3_matches_the_reference_crate(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let want = murmur3::murmur3_32(&mut bytes.as_slice(), 0).unwrap() as i32;
            prop_assert_eq!(murmur3_x86_32(&bytes), want);
        }

        #[test]
        fn hash_i64_is_murmur3_of_the_little_endian_bytes(v in any::<i64>()) {
            prop_assert_eq!(hash_i64(v), murmur3_x86_32(&v.to_le_bytes()));
        }

        #[test]
        fn integer_truncation_gives_the_largest_multiple_not_above(v in -1_000_000_000_000i64..1_000_000_000_000, w in 1u32..1000) {
            let t = truncate_int(v, w);
            prop_assert!(t <= v && v - t < i64::from(w) && t % i64::from(w) == 0);
        }

        #[test]
        fn decimal_text_round_trips(v in any::<i128>(), scale in 0u8..=38) {
            prop_assert_eq!(parse_decimal(&format_decimal(v, scale), scale), Some(v));
        }

        #[test]
        fn truncation_preserves_order_of_strings(a in "\\PC{0,8}", b in "\\PC{0,8}", w in 1u32..6) {
            let (lo, hi) = if a <= b { (&a, &b) } else { (&b, &a) };
            prop_assert!(truncate_str(lo, w) <= truncate_str(hi, w));
        }

        #[test]
        fn projected_bounds_contain_every_transformed_value(
            a in any::<i64>(), b in any::<i64>(), c in any::<i64>(),
            t in prop_oneof![Just(Transform::Year), Just(Transform::Month), Just(Transform::Day), Just(Transform::Truncate(7))]
        ) {
            let mut v = [a, b, c];
            v.sort();
            let ty = if matches!(t, Transform::Truncate(_)) { P::Int64 } else { P::Timestamp };
            match project_bounds(t, &ty, &json!(v[0]), &json!(v[2])) {
                Some((lo, hi)) => {
                    let mid = apply(t, &ty, &json!(v[1])).unwrap().as_i64().unwrap();
                    prop_assert!(lo.as_i64().unwrap() <= mid && mid <= hi.as_i64().unwrap());
                }
                // Only wrapping truncation of values near i64::MIN gives up.
                None => prop_assert!(truncate_int(v[0], 7) > v[0]),
            }
        }
    }
}
