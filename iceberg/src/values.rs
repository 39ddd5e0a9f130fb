//! Values in Iceberg's forms: the single-value binary serialization of bounds (Iceberg spec,
//! appendix D) and Avro values of partition tuples.

use apache_avro::types::Value as Avro;
use serde_json::{Value, json};
use strata_format::datum::Datum;
use strata_format::schema::PrimitiveType;

use crate::error::MapError;

/// Bytes of the minimal big-endian two's complement form of `v` (at least one byte).
pub fn decimal_bytes(v: i128) -> Vec<u8> {
    let all = v.to_be_bytes();
    let mut start = 0;
    while start < all.len() - 1 {
        let (b, next) = (all[start], all[start + 1]);
        let redundant = (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    all[start..].to_vec()
}

/// Bytes of the Avro `fixed` Iceberg uses for a decimal of `precision` digits.
pub fn decimal_fixed_size(precision: u8) -> usize {
    // The smallest n with 2^(8n - 1) > 10^precision.
    let mut n = 1usize;
    let limit = 10f64.powi(i32::from(precision));
    while 2f64.powi(8 * n as i32 - 1) <= limit {
        n += 1;
    }
    n
}

/// Iceberg's single-value binary serialization of `d` as a value of type `ty`.
pub fn to_bytes(d: &Datum, ty: &PrimitiveType) -> Result<Vec<u8>, MapError> {
    let bad = || {
        MapError::Invalid(format!(
            "the value {d} cannot be serialized as a bound of type {ty}"
        ))
    };
    Ok(match (ty, d) {
        (PrimitiveType::Boolean, Datum::Boolean(b)) => vec![u8::from(*b)],
        (PrimitiveType::Int8 | PrimitiveType::Int16 | PrimitiveType::Int32, _) => {
            let v = int_value(d).ok_or_else(bad)?;
            i32::try_from(v).map_err(|_| bad())?.to_le_bytes().to_vec()
        }
        (PrimitiveType::Int64, _) => int_value(d).ok_or_else(bad)?.to_le_bytes().to_vec(),
        (PrimitiveType::Float32, Datum::Float32(f)) => f.to_le_bytes().to_vec(),
        (PrimitiveType::Float64, Datum::Float64(f)) => f.to_le_bytes().to_vec(),
        (PrimitiveType::Float64, Datum::Float32(f)) => f64::from(*f).to_le_bytes().to_vec(),
        (PrimitiveType::Decimal { .. }, Datum::Decimal { unscaled, .. }) => {
            decimal_bytes(*unscaled)
        }
        (PrimitiveType::Date, Datum::Date(v)) => v.to_le_bytes().to_vec(),
        (PrimitiveType::Time, Datum::Time(v))
        | (PrimitiveType::Timestamp, Datum::Timestamp(v))
        | (PrimitiveType::Timestamptz, Datum::Timestamptz(v)) => v.to_le_bytes().to_vec(),
        (PrimitiveType::String, Datum::String(s)) => s.as_bytes().to_vec(),
        (PrimitiveType::Binary, Datum::Binary(b)) => b.clone(),
        _ => return Err(bad()),
    })
}

fn int_value(d: &Datum) -> Option<i64> {
    match d {
        Datum::Int8(v) => Some(i64::from(*v)),
        Datum::Int16(v) => Some(i64::from(*v)),
        Datum::Int32(v) => Some(i64::from(*v)),
        Datum::Int64(v) => Some(*v),
        _ => None,
    }
}

/// The Avro schema (as JSON) of a partition value of Iceberg type `ty`, with the logical types
/// Iceberg uses.
pub fn avro_type(ty: &PrimitiveType) -> Value {
    match ty {
        PrimitiveType::Boolean => json!("boolean"),
        PrimitiveType::Int8 | PrimitiveType::Int16 | PrimitiveType::Int32 => json!("int"),
        PrimitiveType::Int64 => json!("long"),
        PrimitiveType::Float32 => json!("float"),
        PrimitiveType::Float64 => json!("double"),
        PrimitiveType::Decimal { precision, scale } => json!({
            "type": "fixed",
            "name": format!("decimal_{precision}_{scale}"),
            "size": decimal_fixed_size(*precision),
            "logicalType": "decimal",
            "precision": precision,
            "scale": scale,
        }),
        PrimitiveType::Date => json!({"type": "int", "logicalType": "date"}),
        PrimitiveType::Time => json!({"type": "long", "logicalType": "time-micros"}),
        PrimitiveType::Timestamp => json!({
            "type": "long", "logicalType": "timestamp-micros", "adjust-to-utc": false
        }),
        PrimitiveType::Timestamptz => json!({
            "type": "long", "logicalType": "timestamp-micros", "adjust-to-utc": true
        }),
        PrimitiveType::String => json!("string"),
        PrimitiveType::Binary => json!("bytes"),
        #[allow(unreachable_patterns)]
        _ => json!("bytes"),
    }
}

/// The Avro value of a partition value (a Strata single-value JSON encoding, SPEC §5.5) of
/// type `ty`, as the non-null branch of `["null", type]`, or the null branch.
pub fn partition_avro(ty: &PrimitiveType, v: Option<&Value>) -> Result<Avro, MapError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Avro::Union(0, Box::new(Avro::Null)));
    };
    let d = Datum::from_json(ty, v)
        .map_err(|e| MapError::Invalid(format!("partition value {v}: {e}")))?;
    let bad = || MapError::Invalid(format!("partition value {v} does not fit type {ty}"));
    let inner = match (ty, &d) {
        (PrimitiveType::Boolean, Datum::Boolean(b)) => Avro::Boolean(*b),
        (PrimitiveType::Int8 | PrimitiveType::Int16 | PrimitiveType::Int32, _) => {
            // `truncate` results may leave the source range (SPEC §5.4): refuse, not wrap.
            let i = int_value(&d).ok_or_else(bad)?;
            Avro::Int(i32::try_from(i).map_err(|_| bad())?)
        }
        (PrimitiveType::Int64, _) => Avro::Long(int_value(&d).ok_or_else(bad)?),
        (PrimitiveType::Float32, Datum::Float32(f)) => Avro::Float(*f),
        (PrimitiveType::Float64, Datum::Float64(f)) => Avro::Double(*f),
        (PrimitiveType::Decimal { precision, .. }, Datum::Decimal { unscaled, .. }) => {
            let size = decimal_fixed_size(*precision);
            let min = decimal_bytes(*unscaled);
            if min.len() > size {
                return Err(bad());
            }
            let fill = if *unscaled < 0 { 0xff } else { 0x00 };
            let mut bytes = vec![fill; size - min.len()];
            bytes.extend_from_slice(&min);
            Avro::Fixed(size, bytes)
        }
        (PrimitiveType::Date, Datum::Date(days)) => Avro::Int(*days),
        (PrimitiveType::Time, Datum::Time(us))
        | (PrimitiveType::Timestamp, Datum::Timestamp(us))
        | (PrimitiveType::Timestamptz, Datum::Timestamptz(us)) => Avro::Long(*us),
        (PrimitiveType::String, Datum::String(s)) => Avro::String(s.clone()),
        (PrimitiveType::Binary, Datum::Binary(b)) => Avro::Bytes(b.clone()),
        _ => return Err(bad()),
    };
    Ok(Avro::Union(1, Box::new(inner)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_minimal_bytes() {
        assert_eq!(decimal_bytes(0), vec![0x00]);
        assert_eq!(decimal_bytes(127), vec![0x7f]);
        assert_eq!(decimal_bytes(128), vec![0x00, 0x80]);
        assert_eq!(decimal_bytes(-1), vec![0xff]);
        assert_eq!(decimal_bytes(-128), vec![0x80]);
        assert_eq!(decimal_bytes(-129), vec![0xff, 0x7f]);
        assert_eq!(decimal_bytes(1420), vec![0x05, 0x8c]);
    }

    #[test]
    fn fixed_sizes() {
        assert_eq!(decimal_fixed_size(1), 1);
        assert_eq!(decimal_fixed_size(2), 1);
        assert_eq!(decimal_fixed_size(3), 2);
        assert_eq!(decimal_fixed_size(9), 4);
        assert_eq!(decimal_fixed_size(10), 5);
        assert_eq!(decimal_fixed_size(18), 8);
        assert_eq!(decimal_fixed_size(38), 16);
    }

    #[test]
    fn single_values() {
        let t = PrimitiveType::Int32;
        assert_eq!(to_bytes(&Datum::Int32(1), &t).unwrap(), vec![1, 0, 0, 0]);
        // Widened int -> long: the bound is written in the wider type.
        assert_eq!(
            to_bytes(&Datum::Int32(-2), &PrimitiveType::Int64).unwrap(),
            (-2i64).to_le_bytes().to_vec()
        );
        assert_eq!(
            to_bytes(&Datum::Date(17486), &PrimitiveType::Date).unwrap(),
            17486i32.to_le_bytes().to_vec()
        );
        assert_eq!(
            to_bytes(&Datum::String("é".into()), &PrimitiveType::String).unwrap(),
            "é".as_bytes().to_vec()
        );
        assert_eq!(
            to_bytes(&Datum::Float64(1.5), &PrimitiveType::Float64).unwrap(),
            1.5f64.to_le_bytes().to_vec()
        );
        assert_eq!(
            to_bytes(&Datum::Boolean(true), &PrimitiveType::Boolean).unwrap(),
            vec![1]
        );
    }

    #[test]
    fn partition_values() {
        let d = PrimitiveType::Decimal {
            precision: 4,
            scale: 2,
        };
        assert_eq!(
            partition_avro(&d, Some(&json!("-0.01"))).unwrap(),
            Avro::Union(1, Box::new(Avro::Fixed(2, vec![0xff, 0xff])))
        );
        assert_eq!(
            partition_avro(&PrimitiveType::Int32, None).unwrap(),
            Avro::Union(0, Box::new(Avro::Null))
        );
        assert_eq!(
            partition_avro(&PrimitiveType::Date, Some(&json!(3))).unwrap(),
            Avro::Union(1, Box::new(Avro::Int(3)))
        );
    }
}
