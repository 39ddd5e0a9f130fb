//! The vectorized transforms (SPEC §5.2-5.4) over Arrow columns: identity, temporal, bucket and
//! truncate, computing per row what `strata_format::transform::apply` computes per value.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayAccessor, ArrayRef, AsArray, BinaryViewBuilder, GenericBinaryBuilder,
    GenericByteArray, GenericStringBuilder, Int32Array, OffsetSizeTrait, PrimitiveArray,
    StringViewBuilder, new_null_array,
};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType as ArrowType, Date32Type, Decimal128Type, GenericBinaryType,
    GenericStringType, Int8Type, Int16Type, Int32Type, Int64Type, Time64MicrosecondType, TimeUnit,
    TimestampMicrosecondType,
};
use strata_format::Transform;
use strata_format::transform as tf;

use crate::error::{Error, Result};

use super::{arrow_err, transform_err};

/// Applies a (non-void) transform to a column already brought to a direct layout.
pub(super) fn transform_column(t: Transform, col: &ArrayRef, what: &str) -> Result<ArrayRef> {
    let unsupported = || {
        transform_err(format!(
            "{what}: unsupported source column type {}",
            col.data_type()
        ))
    };
    match t {
        Transform::Identity => Ok(Arc::clone(col)),
        Transform::Void => Ok(new_null_array(col.data_type(), col.len())),
        Transform::Year | Transform::Month | Transform::Day | Transform::Hour => {
            temporal(t, col, what).and_then(|o| o.ok_or_else(unsupported))
        }
        Transform::Bucket(n) => bucket(col, n).ok_or_else(unsupported),
        Transform::Truncate(w) => truncate(col, w, what).and_then(|o| o.ok_or_else(unsupported)),
        _ => Err(transform_err(format!("{what}: unsupported transform"))),
    }
}

fn temporal(t: Transform, col: &ArrayRef, what: &str) -> Result<Option<ArrayRef>> {
    let out: ArrayRef = match col.data_type() {
        ArrowType::Date32 => {
            let a = col.as_primitive::<Date32Type>();
            match t {
                Transform::Year => Arc::new(a.unary::<_, Int32Type>(tf::days_to_years)),
                Transform::Month => Arc::new(a.unary::<_, Int32Type>(tf::days_to_months)),
                Transform::Day => Arc::clone(col),
                _ => return Ok(None),
            }
        }
        ArrowType::Timestamp(TimeUnit::Microsecond, _) => {
            let a = col.as_primitive::<TimestampMicrosecondType>();
            match t {
                Transform::Year => Arc::new(
                    a.unary::<_, Int32Type>(|us| tf::days_to_years(tf::micros_to_days(us))),
                ),
                Transform::Month => Arc::new(
                    a.unary::<_, Int32Type>(|us| tf::days_to_months(tf::micros_to_days(us))),
                ),
                Transform::Day => Arc::new(a.unary::<_, Date32Type>(tf::micros_to_days)),
                Transform::Hour => Arc::new(a.try_unary::<_, Int32Type, Error>(|us| {
                    tf::micros_to_hours(us).ok_or_else(|| {
                        transform_err(format!(
                            "{what}: hour of {us} µs does not fit the int32 partition value"
                        ))
                    })
                })?),
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(out))
}

fn bucket_ints<T>(col: &ArrayRef, n: u32) -> ArrayRef
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    Arc::new(
        col.as_primitive::<T>()
            .unary::<_, Int32Type>(|v| tf::bucket_index(tf::hash_i64(v.into()), n)),
    )
}

/// Buckets of string or binary values, hashing their bytes in place.
fn bucket_bytes<A>(a: A, n: u32) -> ArrayRef
where
    A: ArrayAccessor,
    A::Item: AsRef<[u8]>,
{
    let values: Vec<i32> = (0..a.len())
        .map(|i| {
            if a.is_valid(i) {
                tf::bucket_index(tf::murmur3_x86_32(a.value(i).as_ref()), n)
            } else {
                0
            }
        })
        .collect();
    Arc::new(Int32Array::new(
        ScalarBuffer::from(values),
        a.nulls().cloned(),
    ))
}

fn bucket(col: &ArrayRef, n: u32) -> Option<ArrayRef> {
    Some(match col.data_type() {
        ArrowType::Int8 => bucket_ints::<Int8Type>(col, n),
        ArrowType::Int16 => bucket_ints::<Int16Type>(col, n),
        ArrowType::Int32 => bucket_ints::<Int32Type>(col, n),
        ArrowType::Int64 => bucket_ints::<Int64Type>(col, n),
        ArrowType::Date32 => bucket_ints::<Date32Type>(col, n),
        ArrowType::Time64(TimeUnit::Microsecond) => bucket_ints::<Time64MicrosecondType>(col, n),
        ArrowType::Timestamp(TimeUnit::Microsecond, _) => {
            bucket_ints::<TimestampMicrosecondType>(col, n)
        }
        ArrowType::Decimal128(..) => Arc::new(
            col.as_primitive::<Decimal128Type>()
                .unary::<_, Int32Type>(|v| tf::bucket_index(tf::hash_decimal(v), n)),
        ),
        ArrowType::Utf8 => bucket_bytes(col.as_string::<i32>(), n),
        ArrowType::LargeUtf8 => bucket_bytes(col.as_string::<i64>(), n),
        ArrowType::Utf8View => bucket_bytes(col.as_string_view(), n),
        ArrowType::Binary => bucket_bytes(col.as_binary::<i32>(), n),
        ArrowType::LargeBinary => bucket_bytes(col.as_binary::<i64>(), n),
        ArrowType::BinaryView => bucket_bytes(col.as_binary_view(), n),
        _ => return None,
    })
}

fn truncate_ints<T>(col: &ArrayRef, w: u32) -> ArrayRef
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    Arc::new(
        col.as_primitive::<T>()
            .unary::<_, Int64Type>(|v| tf::truncate_int(v.into(), w)),
    )
}

/// Rough output size of truncated byte values: at most the input, about W bytes a value.
fn truncated_capacity(len: usize, input_bytes: usize, w: u32) -> usize {
    input_bytes.min(len.saturating_mul(w as usize))
}

fn truncate_strings<O: OffsetSizeTrait>(
    a: &GenericByteArray<GenericStringType<O>>,
    w: u32,
) -> ArrayRef {
    let mut b = GenericStringBuilder::<O>::with_capacity(
        a.len(),
        truncated_capacity(a.len(), a.value_data().len(), w),
    );
    for v in a.iter() {
        b.append_option(v.map(|s| tf::truncate_str(s, w)));
    }
    Arc::new(b.finish())
}

fn truncate_binaries<O: OffsetSizeTrait>(
    a: &GenericByteArray<GenericBinaryType<O>>,
    w: u32,
) -> ArrayRef {
    let mut b = GenericBinaryBuilder::<O>::with_capacity(
        a.len(),
        truncated_capacity(a.len(), a.value_data().len(), w),
    );
    for v in a.iter() {
        b.append_option(v.map(|s| tf::truncate_bytes(s, w)));
    }
    Arc::new(b.finish())
}

fn truncate(col: &ArrayRef, w: u32, what: &str) -> Result<Option<ArrayRef>> {
    Ok(Some(match col.data_type() {
        ArrowType::Int8 => truncate_ints::<Int8Type>(col, w),
        ArrowType::Int16 => truncate_ints::<Int16Type>(col, w),
        ArrowType::Int32 => truncate_ints::<Int32Type>(col, w),
        ArrowType::Int64 => truncate_ints::<Int64Type>(col, w),
        ArrowType::Decimal128(_, s) => {
            let out: PrimitiveArray<Decimal128Type> =
                col.as_primitive::<Decimal128Type>().try_unary(|v| {
                    tf::truncate_decimal(v, w).ok_or_else(|| {
                        transform_err(format!("{what}: truncation of unscaled {v} overflows"))
                    })
                })?;
            Arc::new(
                out.with_precision_and_scale(38, *s)
                    .map_err(|e| arrow_err(what, e))?,
            )
        }
        ArrowType::Utf8 => truncate_strings(col.as_string::<i32>(), w),
        ArrowType::LargeUtf8 => truncate_strings(col.as_string::<i64>(), w),
        ArrowType::Utf8View => {
            let a = col.as_string_view();
            let mut b = StringViewBuilder::with_capacity(a.len());
            for v in a.iter() {
                b.append_option(v.map(|s| tf::truncate_str(s, w)));
            }
            Arc::new(b.finish())
        }
        ArrowType::Binary => truncate_binaries(col.as_binary::<i32>(), w),
        ArrowType::LargeBinary => truncate_binaries(col.as_binary::<i64>(), w),
        ArrowType::BinaryView => {
            let a = col.as_binary_view();
            let mut b = BinaryViewBuilder::with_capacity(a.len());
            for v in a.iter() {
                b.append_option(v.map(|s| tf::truncate_bytes(s, w)));
            }
            Arc::new(b.finish())
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BinaryArray, BinaryViewArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
        Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, LargeBinaryArray,
        LargeStringArray, StringArray, StringViewArray, Time64MicrosecondArray,
        TimestampMicrosecondArray,
    };
    use proptest::prelude::*;
    use serde_json::Value;
    use strata_format::schema::{PrimitiveType as P, Schema, StructField};
    use strata_format::transform::apply;

    use crate::partitioning::tests::{all_transforms, batch_of, field, pfield, spec};
    use crate::partitioning::{json_value, partition_values};

    /// Applies every accepted transform to `col` (source type `ty`) both vectorized and row by
    /// row with `strata_format::transform::apply`, and checks they agree.
    fn check_against_scalar(ty: P, col: ArrayRef, n: u32, w: u32) {
        let schema = Schema::new(0, vec![StructField::optional(1, "c", ty)]).unwrap();
        let batch = batch_of(vec![(field("c", col.data_type().clone(), 1), col.clone())]);
        for t in all_transforms(n, w) {
            if !t.accepts(&ty) {
                let err = partition_values(&batch, &spec(vec![pfield(1000, 1, "p", t)]), &schema);
                assert!(err.is_err(), "{t} must not accept {ty}");
                continue;
            }
            let scalar: Vec<Result<Value, _>> = (0..col.len())
                .map(|i| apply(t, &ty, &json_value(col.as_ref(), i).unwrap()))
                .collect();
            match partition_values(&batch, &spec(vec![pfield(1000, 1, "p", t)]), &schema) {
                Ok(out) => {
                    assert_eq!(out.len(), 1);
                    assert_eq!(out[0].len(), col.len());
                    for (i, want) in scalar.iter().enumerate() {
                        let want = want.as_ref().unwrap_or_else(|e| {
                            panic!(
                                "{t} of {ty}: scalar failed on row {i} but vectorized did not: {e}"
                            )
                        });
                        let got = json_value(out[0].as_ref(), i).unwrap();
                        assert_eq!(&got, want, "{t} of {ty} at row {i} ({:?})", col.slice(i, 1));
                    }
                }
                Err(e) => assert!(
                    scalar.iter().any(|r| r.is_err()),
                    "{t} of {ty}: vectorized failed ({e}) but scalar succeeded everywhere"
                ),
            }
        }
    }

    fn raw_i64() -> impl Strategy<Value = i64> {
        prop_oneof![
            3 => -200i64..200,
            3 => -5_000_000_000_000_000i64..5_000_000_000_000_000,
            1 => any::<i64>(),
            1 => prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(-1)],
        ]
    }

    fn opt<T: Copy>(v: &[Option<i64>], f: impl Fn(i64) -> T) -> Vec<Option<T>> {
        v.iter().map(|x| x.map(&f)).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn vectorized_numeric_and_temporal_transforms_equal_scalar_apply(
            raw in proptest::collection::vec(proptest::option::weighted(0.85, raw_i64()), 0..48),
            n in prop_oneof![1u32..20, Just(u32::MAX)],
            w in prop_oneof![1u32..200, Just(u32::MAX)],
        ) {
            check_against_scalar(P::Boolean, Arc::new(BooleanArray::from(opt(&raw, |v| v % 2 == 0))), n, w);
            check_against_scalar(P::Int8, Arc::new(Int8Array::from(opt(&raw, |v| v as i8))), n, w);
            check_against_scalar(P::Int16, Arc::new(Int16Array::from(opt(&raw, |v| v as i16))), n, w);
            check_against_scalar(P::Int32, Arc::new(Int32Array::from(opt(&raw, |v| v as i32))), n, w);
            check_against_scalar(P::Int64, Arc::new(Int64Array::from(opt(&raw, |v| v))), n, w);
            check_against_scalar(P::Float32, Arc::new(Float32Array::from(opt(&raw, |v| v as f32 / 8.0))), n, w);
            check_against_scalar(P::Float64, Arc::new(Float64Array::from(opt(&raw, |v| v as f64 / 3.0))), n, w);
            check_against_scalar(P::Date, Arc::new(Date32Array::from(opt(&raw, |v| v as i32))), n, w);
            check_against_scalar(
                P::Time,
                Arc::new(Time64MicrosecondArray::from(opt(&raw, |v| v.rem_euclid(86_400_000_000)))),
                n,
                w,
            );
            check_against_scalar(P::Timestamp, Arc::new(TimestampMicrosecondArray::from(opt(&raw, |v| v))), n, w);
            check_against_scalar(
                P::Timestamptz,
                Arc::new(TimestampMicrosecondArray::from(opt(&raw, |v| v)).with_timezone("UTC")),
                n,
                w,
            );
            for (precision, scale) in [(38u8, 0u8), (10, 2), (38, 10), (4, 4)] {
                let bound = 10i128.pow(u32::from(precision));
                let values = opt(&raw, |v| (i128::from(v) * 1_000_003) % bound);
                let col = Decimal128Array::from(values)
                    .with_precision_and_scale(precision, scale as i8)
                    .unwrap();
                check_against_scalar(P::Decimal { precision, scale }, Arc::new(col), n, w);
            }
        }

        #[test]
        fn vectorized_string_and_binary_transforms_equal_scalar_apply(
            strings in proptest::collection::vec(proptest::option::weighted(0.85, "\\PC{0,12}"), 0..32),
            bytes in proptest::collection::vec(proptest::option::weighted(0.85, proptest::collection::vec(any::<u8>(), 0..12)), 0..32),
            n in 1u32..50,
            w in prop_oneof![1u32..8, Just(u32::MAX)],
        ) {
            let s: Vec<Option<&str>> = strings.iter().map(|x| x.as_deref()).collect();
            check_against_scalar(P::String, Arc::new(StringArray::from(s.clone())), n, w);
            check_against_scalar(P::String, Arc::new(LargeStringArray::from(s.clone())), n, w);
            check_against_scalar(P::String, Arc::new(StringViewArray::from(s)), n, w);
            let b: Vec<Option<&[u8]>> = bytes.iter().map(|x| x.as_deref()).collect();
            check_against_scalar(P::Binary, Arc::new(BinaryArray::from(b.clone())), n, w);
            check_against_scalar(P::Binary, Arc::new(LargeBinaryArray::from(b.clone())), n, w);
            check_against_scalar(P::Binary, Arc::new(BinaryViewArray::from(b)), n, w);
        }
    }
}
