//! Per-file column statistics, held compactly.
//!
//! A table state keeps one [`FileStats`] per live file: a million of them on a large table.
//! A `BTreeMap<FieldId, ColumnStats>` allocates a node of eleven slots even for one column,
//! and a `serde_json::Value` bound takes 72 bytes; together about 2 KiB per file. Here the
//! columns are a sorted vector and each bound a [`StatValue`] of 24 bytes. The JSON form is
//! unchanged (SPEC §3.5, §4.5): an object keyed by field id, bounds as JSON scalars.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::actions::ColumnStats;
use crate::schema::FieldId;

/// A statistics bound: a JSON value, stored without `serde_json::Value`'s overhead for the
/// scalars bounds are (numbers keep serde_json's distinction of non-negative integers,
/// negative integers and floats, so equality and the written JSON are those of the value).
#[derive(Clone, PartialEq)]
pub enum StatValue {
    /// `true` / `false`.
    Bool(bool),
    /// A non-negative integer.
    UInt(u64),
    /// A negative integer.
    Int(i64),
    /// A number with a fraction or exponent.
    Float(f64),
    /// A string.
    Str(Box<str>),
    /// Anything else (null, arrays, objects): kept as the JSON value.
    Other(Box<Value>),
}

impl StatValue {
    /// The bound as a JSON value.
    pub fn to_value(&self) -> Value {
        match self {
            StatValue::Bool(b) => Value::Bool(*b),
            StatValue::UInt(u) => Value::from(*u),
            StatValue::Int(i) => Value::from(*i),
            StatValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            StatValue::Str(s) => Value::String(s.to_string()),
            StatValue::Other(v) => (**v).clone(),
        }
    }

    /// The string, if the bound is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            StatValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The bound as an `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StatValue::UInt(u) => i64::try_from(*u).ok(),
            StatValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The bound as an `f64`, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            StatValue::UInt(u) => Some(*u as f64),
            StatValue::Int(i) => Some(*i as f64),
            StatValue::Float(f) => Some(*f),
            _ => None,
        }
    }
}

impl From<Value> for StatValue {
    fn from(v: Value) -> Self {
        match v {
            Value::Bool(b) => StatValue::Bool(b),
            Value::String(s) => StatValue::Str(s.into_boxed_str()),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    StatValue::UInt(u)
                } else if let Some(i) = n.as_i64() {
                    StatValue::Int(i)
                } else if let Some(f) = n.as_f64() {
                    StatValue::Float(f)
                } else {
                    StatValue::Other(Box::new(Value::Number(n)))
                }
            }
            other => StatValue::Other(Box::new(other)),
        }
    }
}

impl From<u64> for StatValue {
    fn from(u: u64) -> Self {
        StatValue::UInt(u)
    }
}

impl From<i64> for StatValue {
    fn from(i: i64) -> Self {
        u64::try_from(i).map_or(StatValue::Int(i), StatValue::UInt)
    }
}

impl From<f64> for StatValue {
    fn from(f: f64) -> Self {
        StatValue::from(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))
    }
}

impl From<&str> for StatValue {
    fn from(s: &str) -> Self {
        StatValue::Str(s.into())
    }
}

impl From<String> for StatValue {
    fn from(s: String) -> Self {
        StatValue::Str(s.into_boxed_str())
    }
}

impl From<&Value> for StatValue {
    fn from(v: &Value) -> Self {
        StatValue::from(v.clone())
    }
}

impl PartialEq<Value> for StatValue {
    fn eq(&self, other: &Value) -> bool {
        self.to_value() == *other
    }
}

impl fmt::Debug for StatValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

impl fmt::Display for StatValue {
    /// The bound's JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

impl Serialize for StatValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StatValue::Bool(b) => s.serialize_bool(*b),
            StatValue::UInt(u) => s.serialize_u64(*u),
            StatValue::Int(i) => s.serialize_i64(*i),
            StatValue::Float(f) => s.serialize_f64(*f),
            StatValue::Str(v) => s.serialize_str(v),
            StatValue::Other(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for StatValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StatValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<StatValue, E> {
                Ok(StatValue::Bool(b))
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<StatValue, E> {
                Ok(StatValue::UInt(u))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<StatValue, E> {
                Ok(match u64::try_from(i) {
                    Ok(u) => StatValue::UInt(u),
                    Err(_) => StatValue::Int(i),
                })
            }
            fn visit_f64<E: de::Error>(self, f: f64) -> Result<StatValue, E> {
                Ok(StatValue::Float(f))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StatValue, E> {
                Ok(StatValue::Str(s.into()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<StatValue, E> {
                Ok(StatValue::Str(s.into_boxed_str()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StatValue, E> {
                Ok(StatValue::Other(Box::new(Value::Null)))
            }
            fn visit_none<E: de::Error>(self) -> Result<StatValue, E> {
                self.visit_unit()
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<StatValue, A::Error> {
                let v = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(StatValue::Other(Box::new(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StatValue, A::Error> {
                let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(StatValue::Other(Box::new(v)))
            }
        }
        d.deserialize_any(V)
    }
}

/// The statistics of a data file's columns by field id, sorted by field id (see the module
/// doc). Its JSON form is an object whose members are field ids.
#[derive(Clone, PartialEq, Default)]
pub struct FileStats {
    columns: Vec<(FieldId, ColumnStats)>,
}

impl FileStats {
    /// No statistics.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, id: FieldId) -> Result<usize, usize> {
        self.columns.binary_search_by_key(&id, |(k, _)| *k)
    }

    /// Statistics of field `id`.
    pub fn get(&self, id: &FieldId) -> Option<&ColumnStats> {
        self.find(*id).ok().map(|i| &self.columns[i].1)
    }

    /// Whether field `id` has statistics.
    pub fn contains_key(&self, id: &FieldId) -> bool {
        self.find(*id).is_ok()
    }

    /// Sets the statistics of field `id`; returns the previous ones.
    pub fn insert(&mut self, id: FieldId, stats: ColumnStats) -> Option<ColumnStats> {
        match self.find(id) {
            Ok(i) => Some(std::mem::replace(&mut self.columns[i].1, stats)),
            Err(i) => {
                self.columns.insert(i, (id, stats));
                None
            }
        }
    }

    /// Removes the statistics of field `id`.
    pub fn remove(&mut self, id: &FieldId) -> Option<ColumnStats> {
        self.find(*id).ok().map(|i| self.columns.remove(i).1)
    }

    /// Number of fields with statistics.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether no field has statistics.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// `(field id, statistics)` in field id order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&FieldId, &ColumnStats)> + '_ {
        self.columns.iter().map(|(k, v)| (k, v))
    }

    /// Field ids in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &FieldId> + '_ {
        self.columns.iter().map(|(k, _)| k)
    }

    /// Statistics in field id order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &ColumnStats> + '_ {
        self.columns.iter().map(|(_, v)| v)
    }

    /// Keeps the fields `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&FieldId, &mut ColumnStats) -> bool) {
        self.columns.retain_mut(|(k, v)| keep(k, v));
    }
}

impl<'a> IntoIterator for &'a FileStats {
    type Item = (&'a FieldId, &'a ColumnStats);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (FieldId, ColumnStats)>,
        fn(&'a (FieldId, ColumnStats)) -> (&'a FieldId, &'a ColumnStats),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.columns.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(FieldId, ColumnStats)> for FileStats {
    /// Later entries of the same field id replace earlier ones, as in a map.
    fn from_iter<I: IntoIterator<Item = (FieldId, ColumnStats)>>(iter: I) -> Self {
        let mut columns: Vec<(FieldId, ColumnStats)> = iter.into_iter().collect();
        // Stable: among equal ids the input order stays, and the last one is kept.
        columns.sort_by_key(|(k, _)| *k);
        let mut out: Vec<(FieldId, ColumnStats)> = Vec::with_capacity(columns.len());
        for (k, v) in columns {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        out.shrink_to_fit();
        FileStats { columns: out }
    }
}

impl From<BTreeMap<FieldId, ColumnStats>> for FileStats {
    fn from(map: BTreeMap<FieldId, ColumnStats>) -> Self {
        map.into_iter().collect()
    }
}

impl<const N: usize> From<[(FieldId, ColumnStats); N]> for FileStats {
    fn from(pairs: [(FieldId, ColumnStats); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl std::ops::Index<&FieldId> for FileStats {
    type Output = ColumnStats;

    /// The statistics of a field; panics when there are none, as indexing a standard map does.
    #[allow(clippy::panic)]
    fn index(&self, id: &FieldId) -> &ColumnStats {
        match self.get(id) {
            Some(s) => s,
            None => panic!("no statistics for field {id}"),
        }
    }
}

impl fmt::Debug for FileStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for FileStats {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for FileStats {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FileStats;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of column statistics keyed by field id")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FileStats, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, v)) = map.next_entry::<FieldId, ColumnStats>()? {
                    pairs.push((k, v));
                }
                Ok(pairs.into_iter().collect())
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn st(min: Value, max: Value) -> ColumnStats {
        ColumnStats {
            min: Some(min.into()),
            max: Some(max.into()),
            null_count: Some(0),
            nan_count: None,
        }
    }

    #[test]
    fn bounds_keep_their_json_exactly() {
        for v in [
            json!(0),
            json!(7),
            json!(-7),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.0),
            json!(-0.5),
            json!(0.1),
            json!(1e300),
            json!("abc"),
            json!(""),
            json!(true),
            json!([1, 2]),
            json!({"a": 1}),
        ] {
            let s = StatValue::from(v.clone());
            assert_eq!(s.to_value(), v, "{v}");
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(text, serde_json::to_string(&v).unwrap());
            let back: StatValue = serde_json::from_str(&text).unwrap();
            assert_eq!(back, s, "{text}");
            assert_eq!(back.to_value(), v);
        }
        // An integer and a float of equal magnitude stay distinct, as in serde_json.
        assert_ne!(StatValue::from(json!(1)), StatValue::from(json!(1.0)));
        assert!(std::mem::size_of::<StatValue>() <= 24);
    }

    #[test]
    fn file_stats_read_and_write_the_object_form() {
        let text = r#"{"3":{"min":"a","max":"z","nullCount":0},"1":{"min":-1,"max":2.5}}"#;
        let s: FileStats = serde_json::from_str(text).unwrap();
        assert_eq!(s.keys().copied().collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(s[&1].max.as_ref().and_then(StatValue::as_f64), Some(2.5));
        assert_eq!(s.get(&3).and_then(|c| c.min.as_ref()?.as_str()), Some("a"));
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"1":{"min":-1,"max":2.5},"3":{"min":"a","max":"z","nullCount":0}})
        );
        // A field id given twice: the later member wins, as with a map.
        let twice: FileStats = serde_json::from_str(r#"{"1":{"min":1},"1":{"min":2}}"#).unwrap();
        assert_eq!(twice.len(), 1);
        assert_eq!(twice[&1].min, Some(StatValue::UInt(2)));
        let mut m = FileStats::from([(2, st(json!(1), json!(2))), (1, st(json!(0), json!(0)))]);
        assert_eq!(
            m.insert(2, st(json!(5), json!(6))).map(|c| c.min),
            Some(Some(1u64.into()))
        );
        assert!(m.remove(&1).is_some());
        assert!(!m.contains_key(&1));
        assert_eq!(m.len(), 1);
        assert!(serde_json::from_str::<FileStats>(r#"{"x":{}}"#).is_err());
    }
}
