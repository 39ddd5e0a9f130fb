//! Typed scalar values ([`Datum`]): decoding and encoding of the single-value JSON encoding
//! (SPEC §4.5), comparison, and the literal coercions predicates need.
//!
//! # Comparison
//!
//! [`Datum::partial_cmp_datum`] orders two values of the same type, and also values of different
//! types where the result is unambiguous:
//!
//! * integers of any width with each other and with decimals (numerically, exactly);
//! * integers with floating-point values (exactly, without rounding the integer);
//! * `float32` with `float64` (the `float32` value converts exactly);
//! * decimals of different precision or scale (numerically);
//! * `date` with `timestamp` and `timestamptz` (a date is midnight UTC of that day, the same rule
//!   the `date` → `timestamp` widening uses, SPEC §4.4.1).
//!
//! Everything else (e.g. `timestamp` vs `timestamptz`, `string` vs `binary`, decimal vs float)
//! is incomparable: `None`. Floating-point values follow IEEE 754: **NaN is unordered and equal
//! to nothing, not even itself** (`None`), and `-0.0` equals `0.0` (SPEC §4.8 asks readers to
//! treat the two zeros as equal when comparing bounds with literals).
//!
//! # Text forms
//!
//! [`Datum`]'s `Display` is its SQL literal: `TRUE`, `42`, `1.5e0`, `123.45`,
//! `DATE '2024-01-01'`, `TIME '10:00:00'`, `TIMESTAMP '2024-01-01 10:00:00.5'`,
//! `TIMESTAMPTZ '2024-01-01 10:00:00Z'`, `'text'`, `X'00ff'`. The date and time parsers
//! ([`parse_date`], [`parse_time`], [`parse_timestamp`]) are strict: ISO 8601 calendar dates
//! `YYYY-MM-DD` (years outside 0000–9999 with a sign and at least four digits, e.g. `+12345`,
//! `-0001`), times `HH:MM[:SS[.ffffff]]` (at most 6 fractional digits), timestamps
//! `date[(T| )time][offset]` with offset `Z`, `±HH`, `±HHMM` or `±HH:MM`.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

use crate::error::{FormatError, Result};
use crate::schema::PrimitiveType;

mod cast;

/// Microseconds per day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A typed scalar value of one of the primitive types.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Datum {
    /// `boolean`
    Boolean(bool),
    /// `int8`
    Int8(i8),
    /// `int16`
    Int16(i16),
    /// `int32`
    Int32(i32),
    /// `int64`
    Int64(i64),
    /// `float32`
    Float32(f32),
    /// `float64`
    Float64(f64),
    /// `decimal(precision, scale)`: the value is `unscaled × 10^-scale`, `|unscaled| < 10^precision`.
    Decimal {
        /// The value without its decimal point.
        unscaled: i128,
        /// Precision (1..=38).
        precision: u8,
        /// Scale (0..=precision).
        scale: u8,
    },
    /// `date`: days since 1970-01-01.
    Date(i32),
    /// `time`: microseconds since midnight, `0 <= t < 86_400_000_000`.
    Time(i64),
    /// `timestamp`: microseconds since 1970-01-01T00:00:00, wall clock without zone.
    Timestamp(i64),
    /// `timestamptz`: microseconds since the epoch, UTC.
    Timestamptz(i64),
    /// `string`
    String(String),
    /// `binary`
    Binary(Vec<u8>),
}

fn invalid(msg: impl Into<String>) -> FormatError {
    FormatError::InvalidValue(msg.into())
}

impl Datum {
    /// The type of the value.
    pub fn data_type(&self) -> PrimitiveType {
        match self {
            Datum::Boolean(_) => PrimitiveType::Boolean,
            Datum::Int8(_) => PrimitiveType::Int8,
            Datum::Int16(_) => PrimitiveType::Int16,
            Datum::Int32(_) => PrimitiveType::Int32,
            Datum::Int64(_) => PrimitiveType::Int64,
            Datum::Float32(_) => PrimitiveType::Float32,
            Datum::Float64(_) => PrimitiveType::Float64,
            Datum::Decimal {
                precision, scale, ..
            } => PrimitiveType::Decimal {
                precision: *precision,
                scale: *scale,
            },
            Datum::Date(_) => PrimitiveType::Date,
            Datum::Time(_) => PrimitiveType::Time,
            Datum::Timestamp(_) => PrimitiveType::Timestamp,
            Datum::Timestamptz(_) => PrimitiveType::Timestamptz,
            Datum::String(_) => PrimitiveType::String,
            Datum::Binary(_) => PrimitiveType::Binary,
        }
    }

    /// A decimal value, checking that `unscaled` fits `precision` and that the type is valid.
    pub fn decimal(unscaled: i128, precision: u8, scale: u8) -> Result<Datum> {
        if !(1..=38).contains(&precision) || scale > precision {
            return Err(invalid(format!(
                "decimal({precision},{scale}) is not a valid type: precision must be 1..=38 and \
                 scale <= precision"
            )));
        }
        if !fits_precision(unscaled, precision) {
            return Err(invalid(format!(
                "{} does not fit decimal({precision},{scale}): more than {precision} digits",
                format_decimal(unscaled, scale)
            )));
        }
        Ok(Datum::Decimal {
            unscaled,
            precision,
            scale,
        })
    }

    /// True for NaN floating-point values.
    pub fn is_nan(&self) -> bool {
        match self {
            Datum::Float32(f) => f.is_nan(),
            Datum::Float64(f) => f.is_nan(),
            _ => false,
        }
    }

    /// Decodes the single-value JSON encoding of a value of type `ty` (SPEC §4.5).
    ///
    /// Strict: the JSON kind must match, integers and dates must be in range, `time` within a
    /// day, decimals in canonical form (exactly `scale` fractional digits, no leading zeros, at
    /// most `precision` digits), `float32` values exactly representable, binary as hex (either
    /// case).
    pub fn from_json(ty: &PrimitiveType, v: &Value) -> Result<Datum> {
        use PrimitiveType as T;
        let bad = |why: &str| invalid(format!("{v} is not a valid {ty} value: {why}"));
        let int = |min: i64, max: i64| -> Result<i64> {
            let i = v.as_i64().ok_or_else(|| bad("expected a JSON integer"))?;
            if i < min || i > max {
                return Err(bad(&format!("out of range {min}..={max}")));
            }
            Ok(i)
        };
        let d = match ty {
            T::Boolean => Datum::Boolean(v.as_bool().ok_or_else(|| bad("expected true or false"))?),
            T::Int8 => Datum::Int8(int(i8::MIN.into(), i8::MAX.into())? as i8),
            T::Int16 => Datum::Int16(int(i16::MIN.into(), i16::MAX.into())? as i16),
            T::Int32 => Datum::Int32(int(i32::MIN.into(), i32::MAX.into())? as i32),
            T::Int64 => Datum::Int64(int(i64::MIN, i64::MAX)?),
            T::Date => Datum::Date(int(i32::MIN.into(), i32::MAX.into())? as i32),
            T::Time => Datum::Time(int(0, MICROS_PER_DAY - 1)?),
            T::Timestamp => Datum::Timestamp(int(i64::MIN, i64::MAX)?),
            T::Timestamptz => Datum::Timestamptz(int(i64::MIN, i64::MAX)?),
            T::Float64 => Datum::Float64(v.as_f64().ok_or_else(|| bad("expected a JSON number"))?),
            T::Float32 => {
                let f = v.as_f64().ok_or_else(|| bad("expected a JSON number"))?;
                let g = f as f32;
                if f64::from(g) != f {
                    return Err(bad("not exactly representable as float32 (SPEC §4.5.1)"));
                }
                Datum::Float32(g)
            }
            T::Decimal { precision, scale } => {
                let s = v.as_str().ok_or_else(|| bad("expected a JSON string"))?;
                let unscaled = parse_canonical_decimal(s, *scale).ok_or_else(|| {
                    bad(&format!(
                        "expected plain notation with exactly {scale} fractional digits and no \
                         leading zeros, e.g. {:?}",
                        format_decimal(12345, *scale)
                    ))
                })?;
                Datum::decimal(unscaled, *precision, *scale).map_err(|e| bad(&e.to_string()))?
            }
            T::String => Datum::String(
                v.as_str()
                    .ok_or_else(|| bad("expected a JSON string"))?
                    .to_owned(),
            ),
            T::Binary => {
                let s = v.as_str().ok_or_else(|| bad("expected a hex string"))?;
                Datum::Binary(
                    decode_hex(s).ok_or_else(|| bad("expected an even number of hex digits"))?,
                )
            }
        };
        Ok(d)
    }

    /// Decodes a statistics bound of type `ty`: [`Datum::from_json`] of the bound's JSON value,
    /// without copying strings through a JSON value.
    pub fn from_stat(ty: &PrimitiveType, v: &crate::StatValue) -> Result<Datum> {
        match (ty, v) {
            (PrimitiveType::String, crate::StatValue::Str(s)) => Ok(Datum::String(s.to_string())),
            _ => Self::from_json(ty, &v.to_value()),
        }
    }

    /// The single-value JSON encoding (SPEC §4.5). Fails for NaN and infinite floats, which have
    /// no encoding.
    pub fn to_json(&self) -> Result<Value> {
        let v = match self {
            Datum::Boolean(b) => Value::Bool(*b),
            Datum::Int8(i) => Value::from(*i),
            Datum::Int16(i) => Value::from(*i),
            Datum::Int32(i) => Value::from(*i),
            Datum::Int64(i) => Value::from(*i),
            Datum::Date(d) => Value::from(*d),
            Datum::Time(t) | Datum::Timestamp(t) | Datum::Timestamptz(t) => Value::from(*t),
            Datum::Float32(f) => float_json(f64::from(*f), self)?,
            Datum::Float64(f) => float_json(*f, self)?,
            Datum::Decimal {
                unscaled, scale, ..
            } => Value::String(format_decimal(*unscaled, *scale)),
            Datum::String(s) => Value::String(s.clone()),
            Datum::Binary(b) => Value::String(encode_hex(b)),
        };
        Ok(v)
    }

    /// Compares two values; see the module documentation for which types compare. `None` when
    /// the values are incomparable or a NaN is involved.
    pub fn partial_cmp_datum(&self, other: &Datum) -> Option<Ordering> {
        use Datum as D;
        match (self, other) {
            (D::Boolean(a), D::Boolean(b)) => Some(a.cmp(b)),
            (D::String(a), D::String(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (D::Binary(a), D::Binary(b)) => Some(a.cmp(b)),
            (D::Time(a), D::Time(b)) => Some(a.cmp(b)),
            (D::Timestamp(a), D::Timestamp(b)) | (D::Timestamptz(a), D::Timestamptz(b)) => {
                Some(a.cmp(b))
            }
            (D::Date(a), D::Date(b)) => Some(a.cmp(b)),
            (D::Date(d), D::Timestamp(t) | D::Timestamptz(t)) => {
                Some((i128::from(*d) * i128::from(MICROS_PER_DAY)).cmp(&i128::from(*t)))
            }
            (D::Timestamp(t) | D::Timestamptz(t), D::Date(d)) => {
                Some(i128::from(*t).cmp(&(i128::from(*d) * i128::from(MICROS_PER_DAY))))
            }
            _ => {
                if let (Some(a), Some(b)) = (self.as_exact(), other.as_exact()) {
                    return Some(cmp_decimal(a.0, a.1, b.0, b.1));
                }
                match (
                    self.as_exact(),
                    self.as_float(),
                    other.as_exact(),
                    other.as_float(),
                ) {
                    (_, Some(a), _, Some(b)) => a.partial_cmp(&b),
                    (Some((i, 0)), _, _, Some(f)) => cmp_int_float(i, f),
                    (_, Some(f), Some((i, 0)), _) => cmp_int_float(i, f).map(Ordering::reverse),
                    _ => None,
                }
            }
        }
    }

    /// Integers and decimals as (unscaled, scale).
    fn as_exact(&self) -> Option<(i128, u8)> {
        match self {
            Datum::Int8(i) => Some((i128::from(*i), 0)),
            Datum::Int16(i) => Some((i128::from(*i), 0)),
            Datum::Int32(i) => Some((i128::from(*i), 0)),
            Datum::Int64(i) => Some((i128::from(*i), 0)),
            Datum::Decimal {
                unscaled, scale, ..
            } => Some((*unscaled, *scale)),
            _ => None,
        }
    }

    fn as_float(&self) -> Option<f64> {
        match self {
            Datum::Float32(f) => Some(f64::from(*f)),
            Datum::Float64(f) => Some(*f),
            _ => None,
        }
    }
}

impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Datum::Boolean(true) => f.write_str("TRUE"),
            Datum::Boolean(false) => f.write_str("FALSE"),
            Datum::Int8(i) => write!(f, "{i}"),
            Datum::Int16(i) => write!(f, "{i}"),
            Datum::Int32(i) => write!(f, "{i}"),
            Datum::Int64(i) => write!(f, "{i}"),
            Datum::Float32(x) => write_float(f, f64::from(*x)),
            Datum::Float64(x) => write_float(f, *x),
            Datum::Decimal {
                unscaled, scale, ..
            } => f.write_str(&format_decimal(*unscaled, *scale)),
            Datum::Date(d) => write!(f, "DATE '{}'", format_date(*d)),
            Datum::Time(t) => write!(f, "TIME '{}'", format_time(*t)),
            Datum::Timestamp(t) => write!(f, "TIMESTAMP '{}'", format_timestamp(*t)),
            Datum::Timestamptz(t) => write!(f, "TIMESTAMPTZ '{}Z'", format_timestamp(*t)),
            Datum::String(s) => write_sql_string(f, s),
            Datum::Binary(b) => write!(f, "X'{}'", encode_hex(b)),
        }
    }
}

/// Writes a float so that SQL parsing yields the same `f64`: the shortest round-trip digits in
/// exponent notation (`1.5e0`), which a SQL tokenizer reads as an approximate number. NaN and
/// infinities have no SQL number form; they are written as the strings `'NaN'`, `'inf'`,
/// `'-inf'`, which convert back when bound to a float column.
pub(crate) fn write_float(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    if x.is_nan() {
        f.write_str("'NaN'")
    } else if x.is_infinite() {
        f.write_str(if x > 0.0 { "'inf'" } else { "'-inf'" })
    } else {
        write!(f, "{x:e}")
    }
}

/// Writes `s` as a single-quoted SQL string (quotes doubled).
pub(crate) fn write_sql_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    f.write_str(&s.replace('\'', "''"))?;
    f.write_str("'")
}

fn float_json(f: f64, d: &Datum) -> Result<Value> {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| {
            invalid(format!(
                "{d} has no JSON encoding (NaN and infinities have none)"
            ))
        })
}

fn cmp_decimal(a: i128, sa: u8, b: i128, sb: u8) -> Ordering {
    // Bring both to the larger scale; on overflow the rescaled side dominates by its sign.
    let rescale = |v: i128, by: u8| pow10(by).and_then(|p| v.checked_mul(p));
    match sa.cmp(&sb) {
        Ordering::Equal => a.cmp(&b),
        Ordering::Less => match rescale(a, sb - sa) {
            Some(a2) => a2.cmp(&b),
            None => a.cmp(&0),
        },
        Ordering::Greater => match rescale(b, sa - sb) {
            Some(b2) => a.cmp(&b2),
            None => 0.cmp(&b),
        },
    }
}

/// Exact comparison of an integer (as i128 within the i64 range or a scale-0 decimal) with a
/// float; `None` for NaN.
fn cmp_int_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // 2^127 bounds every i128.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    let ti = t as i128;
    match i.cmp(&ti) {
        Ordering::Equal => {
            let frac = f - t;
            Some(if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            })
        }
        o => Some(o),
    }
}

pub(crate) fn pow10(n: u8) -> Option<i128> {
    10i128.checked_pow(u32::from(n))
}

pub(crate) fn fits_precision(unscaled: i128, precision: u8) -> bool {
    match pow10(precision) {
        Some(limit) => unscaled.checked_abs().is_some_and(|a| a < limit),
        None => true,
    }
}

/// Canonical decimal text of `unscaled × 10^-scale` (SPEC §4.5.2).
pub fn format_decimal(unscaled: i128, scale: u8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = usize::from(scale);
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// Parses the canonical form of SPEC §4.5.2 with exactly `scale` fractional digits.
fn parse_canonical_decimal(s: &str, scale: u8) -> Option<i128> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) if scale > 0 => (i, f),
        None if scale == 0 => (body, ""),
        _ => return None,
    };
    if frac.len() != usize::from(scale) || int.is_empty() || (int.len() > 1 && int.starts_with('0'))
    {
        return None;
    }
    let (neg, unscaled, _) = parse_decimal_text(s)?;
    Some(if neg { -unscaled } else { unscaled })
}

/// Leniently parses decimal text `[+-]digits[.digits]` (also `.5`, `5.`) into
/// (negative, |unscaled|, scale). `None` for anything else or more than 38 digits.
pub(crate) fn parse_decimal_text(s: &str) -> Option<(bool, i128, u8)> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{}{frac}", int.trim_start_matches('0'));
    let digits = digits.trim_start_matches('0');
    if digits.len() > 38 || frac.len() > 38 {
        return None;
    }
    let unscaled: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some((neg, unscaled, u8::try_from(frac.len()).ok()?))
}

/// Number of decimal digits of |v| (at least 1).
pub(crate) fn digit_count(v: i128) -> u8 {
    let mut n = 1u8;
    let mut a = v.unsigned_abs();
    while a >= 10 {
        a /= 10;
        n += 1;
    }
    n
}

/// Lowercase hex of bytes.
pub fn encode_hex(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for byte in b {
        s.push(char::from(HEX[usize::from(byte >> 4)]));
        s.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    s
}

/// Bytes of a hex string (either case); `None` unless it has an even number of hex digits.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some((digit(p[0])? << 4) | digit(p[1])?))
        .collect()
}

pub use crate::calendar::{
    civil_from_days, days_from_civil, format_date, format_time, format_timestamp, parse_date,
    parse_time, parse_timestamp,
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    pub(super) fn dec(p: u8, s: u8) -> PrimitiveType {
        PrimitiveType::Decimal {
            precision: p,
            scale: s,
        }
    }

    #[test]
    fn json_round_trips_follow_the_single_value_encoding() {
        use PrimitiveType as T;
        let cases = [
            (T::Boolean, json!(true), Datum::Boolean(true)),
            (T::Int8, json!(-128), Datum::Int8(-128)),
            (T::Int16, json!(300), Datum::Int16(300)),
            (T::Int32, json!(-17), Datum::Int32(-17)),
            (T::Int64, json!(i64::MAX), Datum::Int64(i64::MAX)),
            (T::Float32, json!(0.10000000149011612), Datum::Float32(0.1)),
            (T::Float64, json!(2.5), Datum::Float64(2.5)),
            (T::Float64, json!(-0.0), Datum::Float64(-0.0)),
            (
                dec(10, 2),
                json!("123.45"),
                Datum::decimal(12345, 10, 2).unwrap(),
            ),
            (
                dec(10, 2),
                json!("-0.50"),
                Datum::decimal(-50, 10, 2).unwrap(),
            ),
            (
                dec(5, 0),
                json!("12345"),
                Datum::decimal(12345, 5, 0).unwrap(),
            ),
            (T::Date, json!(20089), Datum::Date(20089)),
            (T::Time, json!(81068000000i64), Datum::Time(81_068_000_000)),
            (
                T::Timestamp,
                json!(1735689600000000i64),
                Datum::Timestamp(1_735_689_600_000_000),
            ),
            (
                T::Timestamptz,
                json!(1735689600000000i64),
                Datum::Timestamptz(1_735_689_600_000_000),
            ),
            (T::String, json!("click"), Datum::String("click".into())),
            (T::Binary, json!("00ff10"), Datum::Binary(vec![0, 255, 16])),
            (T::Binary, json!(""), Datum::Binary(vec![])),
        ];
        for (ty, j, d) in cases {
            let got = Datum::from_json(&ty, &j).unwrap();
            assert_eq!(got, d, "{ty} {j}");
            assert_eq!(got.data_type(), ty);
            assert_eq!(got.to_json().unwrap(), j, "{ty}");
        }
        assert_eq!(
            Datum::from_json(&T::Binary, &json!("00FF")).unwrap(),
            Datum::Binary(vec![0, 255]),
            "readers accept uppercase hex"
        );
    }

    #[test]
    fn invalid_json_values_are_refused_with_the_type_named() {
        use PrimitiveType as T;
        let cases = [
            (T::Int8, json!(128)),
            (T::Int32, json!("5")),
            (T::Date, json!(i64::from(i32::MAX) + 1)),
            (T::Time, json!(86_400_000_000i64)),
            (T::Time, json!(-1)),
            (T::Float32, json!(0.1)),
            (T::Float64, json!("1.0")),
            (dec(10, 2), json!("1.5")),
            (dec(10, 2), json!("01.50")),
            (dec(10, 2), json!("1.500")),
            (dec(10, 2), json!(1.5)),
            (dec(3, 2), json!("10.00")),
            (dec(5, 0), json!("5.")),
            (T::Binary, json!("abc")),
            (T::Binary, json!("zz")),
            (T::Boolean, json!(1)),
            (T::String, json!(1)),
        ];
        for (ty, j) in cases {
            let err = Datum::from_json(&ty, &j).unwrap_err().to_string();
            assert!(err.contains(&ty.to_string()), "{err}");
        }
    }

    #[test]
    fn non_finite_floats_have_no_json_encoding() {
        assert!(Datum::Float64(f64::NAN).to_json().is_err());
        assert!(Datum::Float32(f32::INFINITY).to_json().is_err());
    }

    #[test]
    fn comparison_covers_mixed_integer_widths_decimals_and_dates() {
        use Ordering::*;
        let c = |a: Datum, b: Datum| a.partial_cmp_datum(&b);
        assert_eq!(c(Datum::Int8(5), Datum::Int64(5)), Some(Equal));
        assert_eq!(c(Datum::Int32(-1), Datum::Int16(1)), Some(Less));
        assert_eq!(
            c(Datum::Int64(2), Datum::decimal(150, 10, 2).unwrap()),
            Some(Greater)
        );
        assert_eq!(
            c(
                Datum::decimal(150, 10, 2).unwrap(),
                Datum::decimal(15, 5, 1).unwrap()
            ),
            Some(Equal)
        );
        assert_eq!(
            c(Datum::Date(1), Datum::Timestamp(MICROS_PER_DAY)),
            Some(Equal)
        );
        assert_eq!(c(Datum::Timestamptz(1), Datum::Date(0)), Some(Greater));
        assert_eq!(c(Datum::Timestamp(0), Datum::Timestamptz(0)), None);
        assert_eq!(
            c(Datum::String("ab".into()), Datum::String("b".into())),
            Some(Less)
        );
        assert_eq!(
            c(Datum::String("é".into()), Datum::String("z".into())),
            Some(Greater),
            "strings order by code point"
        );
        assert_eq!(
            c(Datum::Binary(vec![1]), Datum::Binary(vec![1, 0])),
            Some(Less)
        );
        assert_eq!(c(Datum::String("a".into()), Datum::Binary(vec![97])), None);
        assert_eq!(c(Datum::Boolean(false), Datum::Boolean(true)), Some(Less));
    }

    #[test]
    fn nan_is_unordered_and_the_two_zeros_are_equal() {
        use Ordering::*;
        let nan = Datum::Float64(f64::NAN);
        assert_eq!(nan.partial_cmp_datum(&nan), None);
        assert_eq!(nan.partial_cmp_datum(&Datum::Float64(1.0)), None);
        assert_eq!(Datum::Int64(1).partial_cmp_datum(&nan), None);
        assert_eq!(
            Datum::Float64(-0.0).partial_cmp_datum(&Datum::Float32(0.0)),
            Some(Equal)
        );
        assert_eq!(
            Datum::Float32(0.1).partial_cmp_datum(&Datum::Float64(0.1)),
            Some(Greater),
            "float32 0.1 widens exactly to 0.10000000149…"
        );
    }

    #[test]
    fn integers_compare_exactly_with_floats() {
        use Ordering::*;
        let big = Datum::Int64(i64::MAX);
        // i64::MAX as f64 rounds up to 2^63; the exact comparison sees the integer is smaller.
        assert_eq!(
            big.partial_cmp_datum(&Datum::Float64(i64::MAX as f64)),
            Some(Less)
        );
        assert_eq!(
            Datum::Int64(3).partial_cmp_datum(&Datum::Float64(2.5)),
            Some(Greater)
        );
        assert_eq!(
            Datum::Int64(-3).partial_cmp_datum(&Datum::Float64(-2.5)),
            Some(Less)
        );
        assert_eq!(
            Datum::Float64(-2.5).partial_cmp_datum(&Datum::Int64(-3)),
            Some(Greater)
        );
        assert_eq!(
            Datum::Int8(1).partial_cmp_datum(&Datum::Float64(f64::INFINITY)),
            Some(Less)
        );
    }

    #[test]
    fn display_is_the_sql_literal() {
        assert_eq!(Datum::Date(19723).to_string(), "DATE '2024-01-01'");
        assert_eq!(
            Datum::Time(36_000_250_000).to_string(),
            "TIME '10:00:00.250000'"
        );
        assert_eq!(
            Datum::Timestamptz(19723 * MICROS_PER_DAY).to_string(),
            "TIMESTAMPTZ '2024-01-01 00:00:00Z'"
        );
        assert_eq!(
            Datum::Timestamp(-1).to_string(),
            "TIMESTAMP '1969-12-31 23:59:59.999999'"
        );
        assert_eq!(Datum::String("it's".into()).to_string(), "'it''s'");
        assert_eq!(Datum::Binary(vec![0, 0xab]).to_string(), "X'00ab'");
        assert_eq!(Datum::decimal(-5, 3, 2).unwrap().to_string(), "-0.05");
        assert_eq!(Datum::Float64(0.1).to_string(), "1e-1");
        assert_eq!(Datum::Float64(f64::NAN).to_string(), "'NaN'");
        assert_eq!(Datum::Date(-719_529).to_string(), "DATE '-0001-12-31'");
        assert_eq!(Datum::Date(2_932_897).to_string(), "DATE '+10000-01-01'");
    }

    proptest! {
        #[test]
        fn calendar_conversions_round_trip(days in any::<i32>()) {
            let (y, m, d) = civil_from_days(i64::from(days));
            prop_assert_eq!(days_from_civil(y, m, d), i64::from(days));
            prop_assert_eq!(parse_date(&format_date(days)), Ok(days));
        }

        #[test]
        fn timestamps_round_trip_through_text(us in any::<i64>()) {
            prop_assert_eq!(parse_timestamp(&format_timestamp(us)), Ok((us, None)));
            let t = us.rem_euclid(MICROS_PER_DAY);
            prop_assert_eq!(parse_time(&format_time(t)), Ok(t));
        }

        #[test]
        fn decimals_round_trip_through_json(unscaled in -99_999_999i128..99_999_999, scale in 0u8..8) {
            let d = Datum::decimal(unscaled, 8, scale).unwrap();
            let j = d.to_json().unwrap();
            prop_assert_eq!(Datum::from_json(&dec(8, scale), &j).unwrap(), d);
        }

        #[test]
        fn floats_round_trip_through_json(f in any::<f64>(), g in any::<f32>()) {
            prop_assume!(f.is_finite() && g.is_finite());
            let d = Datum::Float64(f);
            let back = Datum::from_json(&PrimitiveType::Float64, &d.to_json().unwrap()).unwrap();
            prop_assert!(matches!(back, Datum::Float64(x) if x.to_bits() == f.to_bits()));
            let d = Datum::Float32(g);
            let back = Datum::from_json(&PrimitiveType::Float32, &d.to_json().unwrap()).unwrap();
            prop_assert!(matches!(back, Datum::Float32(x) if x.to_bits() == g.to_bits()));
        }

        #[test]
        fn binary_round_trips_through_hex(b in proptest::collection::vec(any::<u8>(), 0..16)) {
            let d = Datum::Binary(b);
            prop_assert_eq!(Datum::from_json(&PrimitiveType::Binary, &d.to_json().unwrap()).unwrap(), d);
        }
    }
}
