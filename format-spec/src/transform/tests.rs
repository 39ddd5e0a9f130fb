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
