//! Partition specs: hidden partitioning by transforms of source columns (SPEC §5).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{FormatError, Result};
use crate::schema::{DataType, FieldId, PrimitiveType, Schema};

/// Partition field ids start here so they never collide with schema field ids in practice.
pub const FIRST_PARTITION_FIELD_ID: i32 = 1000;

/// A partition transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transform {
    /// The source value itself.
    Identity,
    /// Years since 1970.
    Year,
    /// Months since 1970-01.
    Month,
    /// Days since 1970-01-01.
    Day,
    /// Hours since 1970-01-01T00:00.
    Hour,
    /// Murmur3 (x86, 32-bit, seed 0) hash of the value, modulo N (Iceberg's definition).
    Bucket(u32),
    /// Value truncated to width W.
    Truncate(u32),
    /// Always null (used to retire a partition field without changing the spec shape).
    Void,
}

impl Transform {
    /// Whether the transform can be applied to a source of the given type.
    pub fn accepts(&self, t: &PrimitiveType) -> bool {
        use PrimitiveType::*;
        match self {
            Transform::Identity | Transform::Void => true,
            Transform::Year | Transform::Month | Transform::Day => {
                matches!(t, Date | Timestamp | Timestamptz)
            }
            Transform::Hour => matches!(t, Timestamp | Timestamptz),
            Transform::Bucket(_) => !matches!(t, Boolean | Float32 | Float64),
            Transform::Truncate(_) => {
                matches!(
                    t,
                    Int32 | Int64 | Int8 | Int16 | String | Binary | Decimal { .. }
                )
            }
        }
    }

    /// Type of the partition value produced from a source of type `t`.
    pub fn result_type(&self, t: &PrimitiveType) -> PrimitiveType {
        match self {
            Transform::Identity | Transform::Truncate(_) | Transform::Void => *t,
            Transform::Year | Transform::Month | Transform::Hour | Transform::Bucket(_) => {
                PrimitiveType::Int32
            }
            Transform::Day => PrimitiveType::Date,
        }
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transform::Identity => f.write_str("identity"),
            Transform::Year => f.write_str("year"),
            Transform::Month => f.write_str("month"),
            Transform::Day => f.write_str("day"),
            Transform::Hour => f.write_str("hour"),
            Transform::Bucket(n) => write!(f, "bucket[{n}]"),
            Transform::Truncate(w) => write!(f, "truncate[{w}]"),
            Transform::Void => f.write_str("void"),
        }
    }
}

impl FromStr for Transform {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self> {
        let simple = match s {
            "identity" => Some(Transform::Identity),
            "year" => Some(Transform::Year),
            "month" => Some(Transform::Month),
            "day" => Some(Transform::Day),
            "hour" => Some(Transform::Hour),
            "void" => Some(Transform::Void),
            _ => None,
        };
        if let Some(t) = simple {
            return Ok(t);
        }
        let param = |prefix: &str| -> Option<Result<u32>> {
            let inner = s.strip_prefix(prefix)?.strip_suffix(']')?;
            Some(match inner.parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(FormatError::InvalidPartitionSpec(format!(
                    "`{s}`: the parameter must be a positive integer"
                ))),
            })
        };
        if let Some(n) = param("bucket[") {
            return Ok(Transform::Bucket(n?));
        }
        if let Some(w) = param("truncate[") {
            return Ok(Transform::Truncate(w?));
        }
        Err(FormatError::InvalidPartitionSpec(format!(
            "unknown transform `{s}` (expected identity, year, month, day, hour, bucket[N], truncate[W] or void)"
        )))
    }
}

impl Serialize for Transform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Transform {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One field of a partition spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionField {
    /// Partition field id (unique across all specs of the table, >= 1000).
    pub field_id: i32,
    /// Schema field id of the source column.
    pub source_id: FieldId,
    /// Name of the partition field.
    pub name: String,
    /// Transform.
    pub transform: Transform,
}

/// A partition spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionSpec {
    /// Spec id, unique in the table.
    pub spec_id: i32,
    /// Fields (may be empty: unpartitioned).
    pub fields: Vec<PartitionField>,
}

impl PartitionSpec {
    /// The unpartitioned spec with id 0.
    pub fn unpartitioned() -> Self {
        Self {
            spec_id: 0,
            fields: Vec::new(),
        }
    }

    /// Whether the spec has no fields.
    pub fn is_unpartitioned(&self) -> bool {
        self.fields.is_empty()
    }

    /// Checks the spec against a schema: sources exist and are primitive, transforms apply,
    /// ids and names are unique.
    pub fn validate(&self, schema: &Schema) -> Result<()> {
        let index = schema.field_index();
        let mut ids = BTreeSet::new();
        let mut names = BTreeSet::new();
        for f in &self.fields {
            if f.field_id < FIRST_PARTITION_FIELD_ID || !ids.insert(f.field_id) {
                return Err(FormatError::InvalidPartitionSpec(format!(
                    "partition field id {} is duplicated or below {FIRST_PARTITION_FIELD_ID}",
                    f.field_id
                )));
            }
            if f.name.is_empty() || !names.insert(f.name.as_str()) {
                return Err(FormatError::InvalidPartitionSpec(format!(
                    "partition field name `{}` is empty or duplicated",
                    f.name
                )));
            }
            // A void field may outlive its source column.
            if f.transform == Transform::Void {
                continue;
            }
            let src = index.get(&f.source_id).ok_or_else(|| {
                FormatError::InvalidPartitionSpec(format!(
                    "partition field `{}` refers to unknown source field id {}",
                    f.name, f.source_id
                ))
            })?;
            match src.data_type {
                DataType::Primitive(p) if f.transform.accepts(p) => {}
                other => {
                    return Err(FormatError::InvalidPartitionSpec(format!(
                        "transform {} cannot be applied to `{}` of type {other}",
                        f.transform, src.path
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::StructField;

    #[test]
    fn transforms_parse_and_print_their_wire_names() {
        for s in [
            "identity",
            "year",
            "month",
            "day",
            "hour",
            "bucket[16]",
            "truncate[4]",
            "void",
        ] {
            assert_eq!(s.parse::<Transform>().unwrap().to_string(), s);
        }
        assert!("bucket[0]".parse::<Transform>().is_err());
        assert!("bucket[x]".parse::<Transform>().is_err());
        assert!("week".parse::<Transform>().is_err());
    }

    #[test]
    fn spec_validation_checks_sources_and_transforms() {
        let schema = Schema::new(
            0,
            vec![
                StructField::required(1, "id", PrimitiveType::Int64),
                StructField::optional(2, "ts", PrimitiveType::Timestamptz),
                StructField::optional(3, "score", PrimitiveType::Float64),
            ],
        )
        .unwrap();
        let ok = PartitionSpec {
            spec_id: 1,
            fields: vec![
                PartitionField {
                    field_id: 1000,
                    source_id: 2,
                    name: "ts_day".into(),
                    transform: Transform::Day,
                },
                PartitionField {
                    field_id: 1001,
                    source_id: 1,
                    name: "id_bucket".into(),
                    transform: Transform::Bucket(8),
                },
            ],
        };
        ok.validate(&schema).unwrap();
        let mut bad = ok.clone();
        bad.fields[1].source_id = 3;
        let err = bad.validate(&schema).unwrap_err().to_string();
        assert!(
            err.contains("bucket[8] cannot be applied to `score`"),
            "{err}"
        );
        let mut bad = ok.clone();
        bad.fields[1].source_id = 42;
        assert!(bad.validate(&schema).is_err());
        let mut bad = ok;
        bad.fields[1].field_id = 1000;
        assert!(bad.validate(&schema).is_err());
    }
}
