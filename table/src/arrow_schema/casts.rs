//! The conversions behind [`super::conform_batch`]: Arrow casts that refuse to lose data,
//! timestamps to UTC microseconds, list offsets, and arrays of write defaults.

use std::sync::Arc;
use strata_format::transform::{decode_hex, parse_decimal};

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, ListArray,
    StringArray, Time64MicrosecondArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::compute::{CastOptions, cast_with_options, take};
use arrow::datatypes::{DataType as ArrowType, TimeUnit, TimestampMicrosecondType};
use serde_json::Value;
use strata_format::schema::{DataType, PrimitiveType};

use super::UTC;
use crate::error::{Error, Result};

/// A schema mismatch naming the column.
pub(super) fn mismatch(column: &str, message: impl Into<String>) -> Error {
    Error::SchemaMismatch {
        column: column.to_string(),
        message: message.into(),
    }
}

fn cast_options() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..Default::default()
    }
}

pub(super) fn cast_to(
    array: &ArrayRef,
    to: &ArrowType,
    path: &str,
    what: &str,
) -> Result<ArrayRef> {
    cast_with_options(array, to, &cast_options()).map_err(|e| {
        mismatch(
            path,
            format!(
                "cannot convert Arrow {} to {what} ({to}): {e}",
                array.data_type()
            ),
        )
    })
}

/// A timestamp (any unit and zone) or date array as microseconds tagged `UTC`. Arrow
/// timestamps with a zone already hold UTC instants, so only the unit changes; the zone is then
/// relabelled (which, unlike a cast, needs no time zone database).
pub(super) fn to_utc_micros(array: &ArrayRef, path: &str) -> Result<ArrayRef> {
    let micros = match array.data_type() {
        ArrowType::Timestamp(_, tz) => ArrowType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        _ => ArrowType::Timestamp(TimeUnit::Microsecond, None),
    };
    let cast = cast_to(array, &micros, path, "timestamptz")?;
    let values = cast
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| {
            mismatch(
                path,
                format!("cannot convert Arrow {micros} to timestamptz"),
            )
        })?;
    Ok(Arc::new(values.clone().with_timezone(UTC)))
}

pub(super) fn type_error(from: &ArrowType, t: &DataType, path: &str) -> Error {
    mismatch(
        path,
        format!("cannot write Arrow {from} to a column of type {t}"),
    )
}

/// Any list-like array as a `ListArray` (LargeList, FixedSizeList and list views are cast).
pub(super) fn to_list_array(array: &ArrayRef, t: &DataType, path: &str) -> Result<ListArray> {
    let child = match array.data_type() {
        ArrowType::List(_) => {
            return array
                .as_list_opt::<i32>()
                .cloned()
                .ok_or_else(|| type_error(array.data_type(), t, path));
        }
        ArrowType::LargeList(f)
        | ArrowType::FixedSizeList(f, _)
        | ArrowType::ListView(f)
        | ArrowType::LargeListView(f) => f.clone(),
        other => return Err(type_error(other, t, path)),
    };
    let cast = cast_to(array, &ArrowType::List(child), path, "a list")?;
    cast.as_list_opt::<i32>()
        .cloned()
        .ok_or_else(|| type_error(array.data_type(), t, path))
}

/// Offsets starting at 0 and the slice of `values` they cover.
pub(super) fn compact_offsets(
    offsets: &OffsetBuffer<i32>,
    values: &ArrayRef,
) -> (OffsetBuffer<i32>, ArrayRef) {
    let first = offsets.first().copied().unwrap_or_default();
    let last = offsets.last().copied().unwrap_or_default();
    let (Ok(start), Ok(end)) = (usize::try_from(first), usize::try_from(last)) else {
        return (offsets.clone(), values.clone());
    };
    if start == 0 && end == values.len() {
        return (offsets.clone(), values.clone());
    }
    let rebased: Vec<i32> = offsets.iter().map(|o| o - first).collect();
    (
        OffsetBuffer::new(ScalarBuffer::from(rebased)),
        values.slice(start, end.saturating_sub(start)),
    )
}

/// Index of the list holding value `i`.
pub(super) fn row_of_value(offsets: &OffsetBuffer<i32>, i: usize) -> usize {
    let i = i32::try_from(i).unwrap_or(i32::MAX);
    offsets.partition_point(|&o| o <= i).saturating_sub(1)
}

fn int_bits(t: &ArrowType) -> Option<(u32, bool)> {
    Some(match t {
        ArrowType::Int8 => (8, true),
        ArrowType::Int16 => (16, true),
        ArrowType::Int32 => (32, true),
        ArrowType::Int64 => (64, true),
        ArrowType::UInt8 => (8, false),
        ArrowType::UInt16 => (16, false),
        ArrowType::UInt32 => (32, false),
        ArrowType::UInt64 => (64, false),
        _ => return None,
    })
}

/// Decimal digits needed by every value of an integer type.
fn int_digits(bits: u32, signed: bool) -> i16 {
    match (bits, signed) {
        (8, _) => 3,
        (16, _) => 5,
        (32, _) => 10,
        (64, true) => 19,
        _ => 20,
    }
}

/// Whether Arrow `from` may be cast to table type `p` without changing any value.
pub(super) fn check_primitive_cast(from: &ArrowType, p: &PrimitiveType, path: &str) -> Result<()> {
    use ArrowType as A;
    use PrimitiveType as P;
    let refuse = |why: &str| {
        Err(mismatch(
            path,
            format!("cannot write Arrow {from} to a column of type {p}: {why}"),
        ))
    };
    let ok = match p {
        P::Int8 | P::Int16 | P::Int32 | P::Int64 => {
            let to_bits = match p {
                P::Int8 => 8,
                P::Int16 => 16,
                P::Int32 => 32,
                _ => 64,
            };
            match int_bits(from) {
                Some((bits, true)) if bits <= to_bits => true,
                Some((bits, false)) if bits < to_bits => true,
                Some(_) => {
                    return refuse(
                        "narrowing integer casts could lose values; cast the data first or \
                         widen the column",
                    );
                }
                None => false,
            }
        }
        P::Float32 => matches!(from, A::Float16),
        P::Float64 => matches!(from, A::Float16 | A::Float32),
        P::Decimal { precision, scale } => {
            let int_digits_to = i16::from(*precision) - i16::from(*scale);
            let (digits, frac) = match from {
                A::Decimal32(p1, s1)
                | A::Decimal64(p1, s1)
                | A::Decimal128(p1, s1)
                | A::Decimal256(p1, s1) => (i16::from(*p1) - i16::from(*s1), i16::from(*s1)),
                other => match int_bits(other) {
                    Some((bits, signed)) => (int_digits(bits, signed), 0),
                    None => return refuse("incompatible types"),
                },
            };
            if frac > i16::from(*scale) || digits > int_digits_to {
                return refuse(
                    "the target precision/scale cannot hold every source value (narrowing)",
                );
            }
            true
        }
        P::Date => false,
        P::Time => matches!(
            from,
            A::Time32(TimeUnit::Second | TimeUnit::Millisecond) | A::Time64(TimeUnit::Nanosecond)
        ),
        P::Timestamp => match from {
            A::Timestamp(_, None) | A::Date32 => true,
            A::Timestamp(_, Some(_)) => {
                return refuse(
                    "the data has a time zone but the column is a timestamp without time zone; \
                     write it to a timestamptz column or remove the time zone first",
                );
            }
            _ => false,
        },
        P::Timestamptz => match from {
            A::Timestamp(_, Some(_)) | A::Date32 => true,
            A::Timestamp(_, None) => {
                return refuse(
                    "the data has no time zone but the column is timestamptz; attach a time zone \
                     (e.g. UTC) to the data first",
                );
            }
            _ => false,
        },
        P::String => matches!(from, A::Utf8 | A::LargeUtf8 | A::Utf8View),
        P::Binary => matches!(
            from,
            A::Binary | A::LargeBinary | A::BinaryView | A::FixedSizeBinary(_)
        ),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        refuse("incompatible types")
    }
}

/// An array of `len` copies of a primitive default value (single-value JSON encoding).
pub(crate) fn default_array(
    p: &PrimitiveType,
    v: &Value,
    dt: &ArrowType,
    len: usize,
) -> std::result::Result<ArrayRef, String> {
    use PrimitiveType as P;
    let bad = || format!("{v} is not a valid {p} value");
    let int = || v.as_i64().ok_or_else(bad);
    let one: ArrayRef = match p {
        P::Boolean => Arc::new(BooleanArray::from(vec![v.as_bool().ok_or_else(bad)?])),
        P::Int8 => Arc::new(Int8Array::from(vec![
            i8::try_from(int()?).map_err(|_| bad())?,
        ])),
        P::Int16 => Arc::new(Int16Array::from(vec![
            i16::try_from(int()?).map_err(|_| bad())?,
        ])),
        P::Int32 => Arc::new(Int32Array::from(vec![
            i32::try_from(int()?).map_err(|_| bad())?,
        ])),
        P::Int64 => Arc::new(Int64Array::from(vec![int()?])),
        P::Float32 => Arc::new(Float32Array::from(vec![v.as_f64().ok_or_else(bad)? as f32])),
        P::Float64 => Arc::new(Float64Array::from(vec![v.as_f64().ok_or_else(bad)?])),
        P::Decimal { precision, scale } => {
            let s = v.as_str().ok_or_else(bad)?;
            let unscaled = parse_decimal(s, *scale).ok_or_else(bad)?;
            let s8 = i8::try_from(*scale).map_err(|_| bad())?;
            Arc::new(
                Decimal128Array::from(vec![unscaled])
                    .with_precision_and_scale(*precision, s8)
                    .map_err(|e| e.to_string())?,
            )
        }
        P::Date => Arc::new(Date32Array::from(vec![
            i32::try_from(int()?).map_err(|_| bad())?,
        ])),
        P::Time => Arc::new(Time64MicrosecondArray::from(vec![int()?])),
        P::Timestamp | P::Timestamptz => {
            let tz = match dt {
                ArrowType::Timestamp(_, tz) => tz.clone(),
                _ => None,
            };
            Arc::new(TimestampMicrosecondArray::from(vec![int()?]).with_timezone_opt(tz))
        }
        P::String => Arc::new(StringArray::from(vec![v.as_str().ok_or_else(bad)?])),
        P::Binary => {
            let bytes = decode_hex(v.as_str().ok_or_else(bad)?).ok_or_else(bad)?;
            Arc::new(BinaryArray::from_vec(vec![bytes.as_slice()]))
        }
        other => return Err(format!("defaults of type {other} are not supported")),
    };
    let one = match dt {
        ArrowType::Utf8View | ArrowType::BinaryView if one.data_type() != dt => {
            arrow::compute::cast(one.as_ref(), dt).map_err(|e| e.to_string())?
        }
        _ => one,
    };
    if one.data_type() != dt {
        return Err(format!(
            "builds Arrow {} but the column is {dt}",
            one.data_type()
        ));
    }
    let zeros = UInt32Array::from(vec![0u32; len]);
    take(one.as_ref(), &zeros, None).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    use strata_format::transform::{encode_hex, format_decimal};

    #[test]
    fn decimal_and_hex_helpers_round_trip() {
        assert_eq!(parse_decimal("123.45", 2), Some(12345));
        assert_eq!(parse_decimal("-0.5", 2), Some(-50));
        assert_eq!(parse_decimal("7", 3), Some(7000));
        assert_eq!(parse_decimal("1.234", 2), None);
        assert_eq!(parse_decimal("1.230", 2), Some(123));
        assert_eq!(format_decimal(12345, 2), "123.45");
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(42, 0), "42");
        assert_eq!(encode_hex(&[0, 171, 255]), "00abff");
        assert_eq!(decode_hex("00abff"), Some(vec![0, 171, 255]));
        assert_eq!(decode_hex("0g"), None);
    }
}
