//! Literal coercions ([`Datum::cast_to`]): the conversions between primitive types that predicates
//! need to compare a literal with a column, each refused when it would lose information.

use std::cmp::Ordering;

use super::{
    Datum, MICROS_PER_DAY, cmp_int_float, digit_count, fits_precision, format_decimal, invalid,
    parse_decimal_text, pow10,
};
use crate::calendar::{parse_date, parse_time, parse_timestamp};
use crate::error::Result;
use crate::schema::PrimitiveType;

impl Datum {
    /// Converts a value to type `ty`, for coercing a predicate literal to a column's type.
    ///
    /// The conversion never changes a value silently except for the nearest-value rounding of
    /// a decimal or `float64` literal to a floating-point type:
    ///
    /// * integers → integers and decimals: range (precision) checked; → floats: only if exact;
    /// * decimals → integers: only without fractional part and in range; → decimals: the scale
    ///   may grow, and shrink only when the dropped digits are zeros; precision checked;
    ///   → floats: nearest value;
    /// * floats → `float32`: nearest value (overflow is an error); → integers and decimals: only
    ///   if exact; NaN and infinities only convert to floats;
    /// * strings → any type by parsing (`true`/`false`, numbers, `NaN`/`inf` for floats, the date
    ///   and time forms of the module documentation); → `binary`: the UTF-8 bytes;
    /// * `binary` → `string`: only valid UTF-8;
    /// * `date` → `timestamp`/`timestamptz`: midnight (UTC); `timestamp`/`timestamptz` → `date`:
    ///   only at midnight;
    /// * `timestamp` ↔ `timestamptz`: the wall clock is taken as UTC (same microseconds).
    ///
    /// Any other pair is an error naming both types.
    pub fn cast_to(&self, ty: &PrimitiveType) -> Result<Datum> {
        use PrimitiveType as T;
        if self.data_type() == *ty {
            return Ok(self.clone());
        }
        let fail = |why: &str| invalid(format!("cannot convert {self} to {ty}: {why}"));
        match (self, ty) {
            (Datum::String(s), _) => cast_string(s, ty).map_err(|why| fail(&why)),
            (Datum::Binary(b), T::String) => std::str::from_utf8(b)
                .map(|s| Datum::String(s.to_owned()))
                .map_err(|_| fail("the bytes are not valid UTF-8")),
            (Datum::Date(d), T::Timestamp | T::Timestamptz) => {
                let us = i64::from(*d)
                    .checked_mul(MICROS_PER_DAY)
                    .ok_or_else(|| fail("out of the timestamp range"))?;
                Ok(if *ty == T::Timestamp {
                    Datum::Timestamp(us)
                } else {
                    Datum::Timestamptz(us)
                })
            }
            (Datum::Timestamp(t) | Datum::Timestamptz(t), T::Date) => {
                if t.rem_euclid(MICROS_PER_DAY) != 0 {
                    return Err(fail("it is not at midnight, so it is not a whole date"));
                }
                i32::try_from(t.div_euclid(MICROS_PER_DAY))
                    .map(Datum::Date)
                    .map_err(|_| fail("out of the date range"))
            }
            (Datum::Timestamp(t), T::Timestamptz) => Ok(Datum::Timestamptz(*t)),
            (Datum::Timestamptz(t), T::Timestamp) => Ok(Datum::Timestamp(*t)),
            _ => {
                if let Some((unscaled, scale)) = self.as_exact() {
                    return exact_to(unscaled, scale, ty, &self.to_string()).map_err(|w| fail(&w));
                }
                if let Some(f) = self.as_float() {
                    return float_to(f, ty).map_err(|w| fail(&w));
                }
                Err(fail("no conversion between these types"))
            }
        }
    }
}

fn exact_to(
    unscaled: i128,
    scale: u8,
    ty: &PrimitiveType,
    text: &str,
) -> std::result::Result<Datum, String> {
    use PrimitiveType as T;
    let whole = || -> std::result::Result<i128, String> {
        let p = pow10(scale).ok_or("scale too large")?;
        if unscaled % p != 0 {
            return Err("it has a fractional part".into());
        }
        Ok(unscaled / p)
    };
    let range = |v: i128, min: i128, max: i128| {
        if v < min || v > max {
            Err(format!("out of range {min}..={max}"))
        } else {
            Ok(v)
        }
    };
    Ok(match ty {
        T::Int8 => Datum::Int8(range(whole()?, i8::MIN.into(), i8::MAX.into())? as i8),
        T::Int16 => Datum::Int16(range(whole()?, i16::MIN.into(), i16::MAX.into())? as i16),
        T::Int32 => Datum::Int32(range(whole()?, i32::MIN.into(), i32::MAX.into())? as i32),
        T::Int64 => Datum::Int64(range(whole()?, i64::MIN.into(), i64::MAX.into())? as i64),
        T::Decimal {
            precision,
            scale: to,
        } => {
            let rescaled = if *to >= scale {
                pow10(*to - scale)
                    .and_then(|p| unscaled.checked_mul(p))
                    .ok_or_else(|| format!("more than {precision} digits"))?
            } else {
                let p = pow10(scale - *to).ok_or("scale too large")?;
                if unscaled % p != 0 {
                    return Err(format!(
                        "it has more fractional digits than the scale {to} (rounding is not \
                         applied)"
                    ));
                }
                unscaled / p
            };
            if !fits_precision(rescaled, *precision) {
                return Err(format!(
                    "it needs {} digits, more than the precision {precision}",
                    digit_count(rescaled).max(*to)
                ));
            }
            Datum::Decimal {
                unscaled: rescaled,
                precision: *precision,
                scale: *to,
            }
        }
        T::Float64 | T::Float32 => {
            if scale == 0 {
                // Integers convert only when exact.
                let f = unscaled as f64;
                let exact = if *ty == T::Float32 {
                    cmp_int_float(unscaled, f64::from(f as f32)) == Some(Ordering::Equal)
                } else {
                    cmp_int_float(unscaled, f) == Some(Ordering::Equal)
                };
                if !exact {
                    return Err(format!("{text} is not exactly representable"));
                }
                if *ty == T::Float32 {
                    Datum::Float32(f as f32)
                } else {
                    Datum::Float64(f)
                }
            } else {
                // Decimal text parses with correct (single) rounding to the nearest value.
                let s = format_decimal(unscaled, scale);
                if *ty == T::Float32 {
                    let v: f32 = s.parse().map_err(|_| "not a number".to_string())?;
                    if v.is_infinite() {
                        return Err("out of the float32 range".into());
                    }
                    Datum::Float32(v)
                } else {
                    let v: f64 = s.parse().map_err(|_| "not a number".to_string())?;
                    if v.is_infinite() {
                        return Err("out of the float64 range".into());
                    }
                    Datum::Float64(v)
                }
            }
        }
        _ => return Err("no conversion between these types".into()),
    })
}

fn float_to(f: f64, ty: &PrimitiveType) -> std::result::Result<Datum, String> {
    use PrimitiveType as T;
    match ty {
        T::Float64 => Ok(Datum::Float64(f)),
        T::Float32 => {
            let g = f as f32;
            if g.is_infinite() && f.is_finite() {
                return Err("out of the float32 range".into());
            }
            Ok(Datum::Float32(g))
        }
        T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::Decimal { .. } => {
            if !f.is_finite() {
                return Err("NaN and infinities have no exact value".into());
            }
            // Rust prints floats in plain notation with the shortest digits that round-trip.
            let text = format!("{f}");
            let (neg, unscaled, scale) =
                parse_decimal_text(&text).ok_or_else(|| "too many digits".to_string())?;
            let unscaled = if neg { -unscaled } else { unscaled };
            exact_to(unscaled, scale, ty, &text)
        }
        _ => Err("no conversion between these types".into()),
    }
}

fn cast_string(s: &str, ty: &PrimitiveType) -> std::result::Result<Datum, String> {
    use PrimitiveType as T;
    let t = s.trim();
    match ty {
        T::String => Ok(Datum::String(s.to_owned())),
        T::Binary => Ok(Datum::Binary(s.as_bytes().to_vec())),
        T::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" => Ok(Datum::Boolean(true)),
            "false" => Ok(Datum::Boolean(false)),
            _ => Err("expected true or false".into()),
        },
        T::Float32 | T::Float64 => {
            let f: f64 = t.parse().map_err(|_| "not a number".to_string())?;
            float_to(f, ty)
        }
        T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::Decimal { .. } => {
            let (neg, unscaled, scale) =
                parse_decimal_text(t).ok_or_else(|| "not a decimal number".to_string())?;
            exact_to(if neg { -unscaled } else { unscaled }, scale, ty, t)
        }
        T::Date => parse_date(t).map(Datum::Date),
        T::Time => parse_time(t).map(Datum::Time),
        T::Timestamp => {
            let (us, offset) = parse_timestamp(t)?;
            if offset.is_some_and(|o| o != 0) {
                return Err(
                    "a timestamp (without time zone) cannot take a non-UTC offset; drop the \
                     offset or use Z"
                        .into(),
                );
            }
            Ok(Datum::Timestamp(us))
        }
        T::Timestamptz => parse_timestamp(t).map(|(us, _)| Datum::Timestamptz(us)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datum::tests::dec;

    #[test]
    fn integer_literals_cast_with_range_checks() {
        use PrimitiveType as T;
        assert_eq!(
            Datum::Int64(127).cast_to(&T::Int8).unwrap(),
            Datum::Int8(127)
        );
        let err = Datum::Int64(128).cast_to(&T::Int8).unwrap_err().to_string();
        assert!(
            err.contains("128") && err.contains("int8") && err.contains("range"),
            "{err}"
        );
        assert_eq!(
            Datum::Int64(5).cast_to(&dec(4, 2)).unwrap(),
            Datum::decimal(500, 4, 2).unwrap()
        );
        let err = Datum::Int64(100)
            .cast_to(&dec(4, 2))
            .unwrap_err()
            .to_string();
        assert!(err.contains("precision 4"), "{err}");
        assert_eq!(
            Datum::Int64(3).cast_to(&T::Float64).unwrap(),
            Datum::Float64(3.0)
        );
        assert_eq!(
            Datum::Int64(3).cast_to(&T::Float32).unwrap(),
            Datum::Float32(3.0)
        );
        assert!(Datum::Int64(16_777_217).cast_to(&T::Float32).is_err());
        assert!(Datum::Int64((1 << 53) + 1).cast_to(&T::Float64).is_err());
        assert!(Datum::Int64(1).cast_to(&T::Date).is_err());
        assert!(Datum::Int64(1).cast_to(&T::String).is_err());
    }

    #[test]
    fn decimal_literals_cast_with_scale_checks() {
        use PrimitiveType as T;
        let d = |u, p, s| Datum::decimal(u, p, s).unwrap();
        assert_eq!(d(150, 3, 2).cast_to(&dec(10, 3)).unwrap(), d(1500, 10, 3));
        assert_eq!(d(150, 3, 2).cast_to(&dec(10, 1)).unwrap(), d(15, 10, 1));
        let err = d(155, 3, 2).cast_to(&dec(10, 1)).unwrap_err().to_string();
        assert!(err.contains("scale 1"), "{err}");
        assert_eq!(d(500, 3, 2).cast_to(&T::Int32).unwrap(), Datum::Int32(5));
        let err = d(550, 3, 2).cast_to(&T::Int32).unwrap_err().to_string();
        assert!(err.contains("fractional"), "{err}");
        assert_eq!(
            d(1, 2, 1).cast_to(&T::Float64).unwrap(),
            Datum::Float64(0.1)
        );
        assert_eq!(
            d(1, 2, 1).cast_to(&T::Float32).unwrap(),
            Datum::Float32(0.1)
        );
        assert_eq!(
            Datum::Float64(0.1).cast_to(&dec(5, 2)).unwrap(),
            d(10, 5, 2)
        );
        assert!(Datum::Float64(0.125).cast_to(&dec(5, 2)).is_err());
        assert_eq!(
            Datum::Float64(0.1).cast_to(&T::Float32).unwrap(),
            Datum::Float32(0.1)
        );
        assert!(Datum::Float64(1e300).cast_to(&T::Float32).is_err());
        assert_eq!(
            Datum::Float64(4.0).cast_to(&T::Int16).unwrap(),
            Datum::Int16(4)
        );
        assert!(Datum::Float64(f64::NAN).cast_to(&T::Int16).is_err());
        assert!(Datum::Float64(4.5).cast_to(&T::Int16).is_err());
    }

    #[test]
    fn string_literals_parse_into_dates_times_and_timestamps() {
        use PrimitiveType as T;
        let s = |x: &str| Datum::String(x.into());
        assert_eq!(
            s("2024-01-01").cast_to(&T::Date).unwrap(),
            Datum::Date(19723)
        );
        assert_eq!(s("1970-01-01").cast_to(&T::Date).unwrap(), Datum::Date(0));
        assert_eq!(s("1969-12-31").cast_to(&T::Date).unwrap(), Datum::Date(-1));
        assert_eq!(
            s("2000-02-29").cast_to(&T::Date).unwrap(),
            Datum::Date(11016)
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024-01-01x",
            "",
        ] {
            let err = s(bad).cast_to(&T::Date).unwrap_err().to_string();
            assert!(err.contains("date"), "{bad}: {err}");
        }
        let day = 19723 * MICROS_PER_DAY;
        assert_eq!(
            s("2024-01-01T00:00:00Z").cast_to(&T::Timestamptz).unwrap(),
            Datum::Timestamptz(day)
        );
        assert_eq!(
            s("2024-01-01 10:00:00").cast_to(&T::Timestamp).unwrap(),
            Datum::Timestamp(day + 36_000_000_000)
        );
        assert_eq!(
            s("2024-01-01 10:00:00").cast_to(&T::Timestamptz).unwrap(),
            Datum::Timestamptz(day + 36_000_000_000)
        );
        assert_eq!(
            s("2024-01-01T12:00:00+02:00")
                .cast_to(&T::Timestamptz)
                .unwrap(),
            Datum::Timestamptz(day + 36_000_000_000)
        );
        assert_eq!(
            s("2024-01-01 10:00:00.5 -0100")
                .cast_to(&T::Timestamptz)
                .unwrap(),
            Datum::Timestamptz(day + 39_600_500_000)
        );
        assert_eq!(
            s("2024-01-01").cast_to(&T::Timestamp).unwrap(),
            Datum::Timestamp(day)
        );
        assert_eq!(
            s("2024-01-01 10:00Z").cast_to(&T::Timestamp).unwrap(),
            Datum::Timestamp(day + 36_000_000_000)
        );
        let err = s("2024-01-01T12:00:00+02:00")
            .cast_to(&T::Timestamp)
            .unwrap_err()
            .to_string();
        assert!(err.contains("offset"), "{err}");
        for bad in [
            "2024-01-01T25:00:00",
            "2024-01-01T10:00:00.1234567",
            "2024-01-01T1:00",
        ] {
            assert!(s(bad).cast_to(&T::Timestamp).is_err(), "{bad}");
        }
        assert_eq!(
            s("10:00:00.25").cast_to(&T::Time).unwrap(),
            Datum::Time(36_000_250_000)
        );
        assert_eq!(
            s("23:59").cast_to(&T::Time).unwrap(),
            Datum::Time(86_340_000_000)
        );
        assert!(s("24:00:00").cast_to(&T::Time).is_err());
    }

    #[test]
    fn strings_cast_to_numbers_booleans_and_binary() {
        use PrimitiveType as T;
        let s = |x: &str| Datum::String(x.into());
        assert_eq!(s("42").cast_to(&T::Int32).unwrap(), Datum::Int32(42));
        assert_eq!(
            s("true").cast_to(&T::Boolean).unwrap(),
            Datum::Boolean(true)
        );
        assert_eq!(
            s("1.50").cast_to(&dec(5, 2)).unwrap(),
            Datum::decimal(150, 5, 2).unwrap()
        );
        assert!(matches!(s("NaN").cast_to(&T::Float64).unwrap(), Datum::Float64(f) if f.is_nan()));
        assert_eq!(
            s("ab").cast_to(&T::Binary).unwrap(),
            Datum::Binary(b"ab".to_vec())
        );
        assert!(s("x").cast_to(&T::Int64).is_err());
        assert_eq!(
            Datum::Binary(b"hi".to_vec()).cast_to(&T::String).unwrap(),
            s("hi")
        );
        assert!(Datum::Binary(vec![0xff]).cast_to(&T::String).is_err());
    }

    #[test]
    fn dates_and_timestamps_convert_only_without_loss() {
        use PrimitiveType as T;
        assert_eq!(
            Datum::Date(1).cast_to(&T::Timestamp).unwrap(),
            Datum::Timestamp(MICROS_PER_DAY)
        );
        assert_eq!(
            Datum::Timestamptz(-MICROS_PER_DAY)
                .cast_to(&T::Date)
                .unwrap(),
            Datum::Date(-1)
        );
        let err = Datum::Timestamp(1)
            .cast_to(&T::Date)
            .unwrap_err()
            .to_string();
        assert!(err.contains("midnight"), "{err}");
        assert!(Datum::Date(i32::MAX).cast_to(&T::Timestamp).is_err());
        assert_eq!(
            Datum::Timestamp(5).cast_to(&T::Timestamptz).unwrap(),
            Datum::Timestamptz(5)
        );
        assert!(Datum::Boolean(true).cast_to(&T::Int8).is_err());
        assert!(Datum::Time(0).cast_to(&T::Timestamp).is_err());
    }
}
