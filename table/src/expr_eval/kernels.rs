//! The Arrow side of evaluating comparisons: reading a column as its bound type, literals as
//! Arrow scalars of the column's type, and IEEE 754 float comparisons.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, BinaryArray, BooleanArray, Date32Array,
    Decimal128Array, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array,
    PrimitiveArray, Scalar, StringArray, Time64MicrosecondArray, TimestampMicrosecondArray,
};
use arrow::compute::kernels::cmp;
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{
    DataType as ArrowType, Float32Type, Float64Type, TimeUnit, TimestampMicrosecondType,
};
use arrow::error::ArrowError;
use strata_format::datum::Datum;
use strata_format::expr::{BoundReference, CompareOp};
use strata_format::schema::PrimitiveType;

/// The Arrow type a Strata primitive type reads as (SPEC §4.6).
fn arrow_type(t: &PrimitiveType) -> ArrowType {
    use PrimitiveType as T;
    match t {
        T::Boolean => ArrowType::Boolean,
        T::Int8 => ArrowType::Int8,
        T::Int16 => ArrowType::Int16,
        T::Int32 => ArrowType::Int32,
        T::Int64 => ArrowType::Int64,
        T::Float32 => ArrowType::Float32,
        T::Float64 => ArrowType::Float64,
        T::Decimal { precision, scale } => ArrowType::Decimal128(*precision, *scale as i8),
        T::Date => ArrowType::Date32,
        T::Time => ArrowType::Time64(TimeUnit::Microsecond),
        T::Timestamp => ArrowType::Timestamp(TimeUnit::Microsecond, None),
        T::Timestamptz => ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        T::String => ArrowType::Utf8,
        T::Binary => ArrowType::Binary,
        // `PrimitiveType` is non-exhaustive; a future type maps to its string form.
        _ => ArrowType::Utf8,
    }
}

/// A one-element array holding `d`.
fn datum_array(d: &Datum) -> std::result::Result<ArrayRef, ArrowError> {
    Ok(match d {
        Datum::Boolean(b) => Arc::new(BooleanArray::from(vec![*b])),
        Datum::Int8(v) => Arc::new(Int8Array::from(vec![*v])),
        Datum::Int16(v) => Arc::new(Int16Array::from(vec![*v])),
        Datum::Int32(v) => Arc::new(Int32Array::from(vec![*v])),
        Datum::Int64(v) => Arc::new(Int64Array::from(vec![*v])),
        Datum::Float32(v) => Arc::new(Float32Array::from(vec![*v])),
        Datum::Float64(v) => Arc::new(Float64Array::from(vec![*v])),
        Datum::Decimal {
            unscaled,
            precision,
            scale,
        } => Arc::new(
            Decimal128Array::from(vec![*unscaled])
                .with_precision_and_scale(*precision, *scale as i8)?,
        ),
        Datum::Date(v) => Arc::new(Date32Array::from(vec![*v])),
        Datum::Time(v) => Arc::new(Time64MicrosecondArray::from(vec![*v])),
        Datum::Timestamp(v) => Arc::new(TimestampMicrosecondArray::from(vec![*v])),
        Datum::Timestamptz(v) => {
            Arc::new(TimestampMicrosecondArray::from(vec![*v]).with_timezone("UTC"))
        }
        Datum::String(s) => Arc::new(StringArray::from(vec![s.as_str()])),
        Datum::Binary(b) => Arc::new(BinaryArray::from(vec![b.as_slice()])),
        other => {
            return Err(ArrowError::InvalidArgumentError(format!(
                "no Arrow representation for {other}"
            )));
        }
    })
}

fn cast_strict(a: &dyn Array, to: &ArrowType) -> std::result::Result<ArrayRef, ArrowError> {
    let opts = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(a, to, &opts)
}

fn is_string_like(t: &ArrowType) -> bool {
    matches!(
        t,
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View
    )
}

fn is_binary_like(t: &ArrowType) -> bool {
    matches!(
        t,
        ArrowType::Binary | ArrowType::LargeBinary | ArrowType::BinaryView
    )
}

/// A column array ready for comparison with literals of the bound type, and the Arrow type
/// literals must have.
pub(super) struct Prepared {
    pub(super) array: ArrayRef,
    pub(super) literal_type: ArrowType,
}

pub(super) fn prepare(
    col: &BoundReference,
    array: &ArrayRef,
) -> std::result::Result<Prepared, ArrowError> {
    let target = arrow_type(&col.data_type);
    let value_type = match array.data_type() {
        ArrowType::Dictionary(_, v) => v.as_ref().clone(),
        t => t.clone(),
    };
    let family_ok = match col.data_type {
        PrimitiveType::String => is_string_like(&value_type),
        PrimitiveType::Binary => is_binary_like(&value_type),
        PrimitiveType::Float32 | PrimitiveType::Float64 => false,
        _ => value_type == target,
    };
    if family_ok {
        // The comparison kernels unwrap one dictionary level; literals take the value type.
        return Ok(Prepared {
            array: array.clone(),
            literal_type: value_type,
        });
    }
    let cast_error = |e: ArrowError| {
        ArrowError::CastError(format!(
            "the column's Arrow type {} cannot be read as {target}: {e}",
            array.data_type()
        ))
    };
    let array = if array.data_type() == &target {
        array.clone()
    } else if col.data_type == PrimitiveType::Timestamptz {
        // Casting to a named time zone needs chrono-tz; go through the zone-less type (same
        // instants for zoned input, midnight for dates) and attach "UTC".
        let plain = cast_strict(
            array.as_ref(),
            &ArrowType::Timestamp(TimeUnit::Microsecond, None),
        )
        .map_err(cast_error)?;
        Arc::new(
            plain
                .as_primitive::<TimestampMicrosecondType>()
                .clone()
                .with_timezone("UTC"),
        )
    } else {
        cast_strict(array.as_ref(), &target).map_err(cast_error)?
    };
    Ok(Prepared {
        array,
        literal_type: target,
    })
}

pub(super) fn literal(
    p: &Prepared,
    d: &Datum,
) -> std::result::Result<Scalar<ArrayRef>, ArrowError> {
    let a = datum_array(d)?;
    let a = if a.data_type() == &p.literal_type {
        a
    } else {
        cast_strict(a.as_ref(), &p.literal_type)?
    };
    Ok(Scalar::new(a))
}

/// IEEE 754 comparison of a float column with a literal (Arrow's kernels use a total order).
fn float_compare<T>(a: &PrimitiveArray<T>, op: CompareOp, v: T::Native) -> BooleanArray
where
    T: ArrowPrimitiveType,
    T::Native: PartialOrd,
{
    match op {
        CompareOp::Eq => BooleanArray::from_unary(a, |x| x == v),
        CompareOp::NotEq => BooleanArray::from_unary(a, |x| x != v),
        CompareOp::Lt => BooleanArray::from_unary(a, |x| x < v),
        CompareOp::LtEq => BooleanArray::from_unary(a, |x| x <= v),
        CompareOp::Gt => BooleanArray::from_unary(a, |x| x > v),
        CompareOp::GtEq => BooleanArray::from_unary(a, |x| x >= v),
    }
}

pub(super) fn compare(
    p: &Prepared,
    op: CompareOp,
    value: &Datum,
) -> std::result::Result<BooleanArray, ArrowError> {
    match (p.literal_type.clone(), value) {
        (ArrowType::Float64, Datum::Float64(v)) => {
            return Ok(float_compare(p.array.as_primitive::<Float64Type>(), op, *v));
        }
        (ArrowType::Float32, Datum::Float32(v)) => {
            return Ok(float_compare(p.array.as_primitive::<Float32Type>(), op, *v));
        }
        _ => {}
    }
    let lit = literal(p, value)?;
    let col = p.array.as_ref();
    match op {
        CompareOp::Eq => cmp::eq(&col, &lit),
        CompareOp::NotEq => cmp::neq(&col, &lit),
        CompareOp::Lt => cmp::lt(&col, &lit),
        CompareOp::LtEq => cmp::lt_eq(&col, &lit),
        CompareOp::Gt => cmp::gt(&col, &lit),
        CompareOp::GtEq => cmp::gt_eq(&col, &lit),
    }
}
