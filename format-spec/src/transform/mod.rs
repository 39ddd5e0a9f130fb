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
mod tests;
