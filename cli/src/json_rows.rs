//! Rows as JSON for `--output json|ndjson`: every projected column in every row (null as
//! `null`, in structs too), values that survive a round trip through any JSON parser:
//! decimals as strings with their scale (`"12.50"`), NaN and infinities as the strings `"NaN"`,
//! `"Infinity"` and `"-Infinity"`, binary as lowercase hex, dates and times as ISO 8601 text.
//! Maps with string keys are objects (null values kept); maps with other keys are arrays of
//! `{"key": …, "value": …}`.

use arrow::array::{
    Array, AsArray, BooleanArray, Decimal128Array, Float32Array, Float64Array, RecordBatch,
};
use arrow::datatypes::{
    DataType, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Map, Number, Value};

/// Each row of `batch` as a JSON object, columns in schema order.
pub fn rows(batch: &RecordBatch) -> Result<Vec<Value>, ArrowError> {
    let schema = batch.schema();
    let mut out: Vec<Map<String, Value>> = vec![Map::new(); batch.num_rows()];
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let values = column_values(column.as_ref())?;
        for (row, v) in out.iter_mut().zip(values) {
            row.insert(field.name().clone(), v);
        }
    }
    Ok(out.into_iter().map(Value::Object).collect())
}

fn float(v: f64) -> Value {
    if v.is_nan() {
        Value::String("NaN".into())
    } else if v.is_infinite() {
        Value::String(if v > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// The value of every row of `array`.
fn column_values(array: &dyn Array) -> Result<Vec<Value>, ArrowError> {
    let n = array.len();
    let valid = |i: usize| array.is_valid(i);
    let mut out = Vec::with_capacity(n);
    macro_rules! ints {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            for i in 0..n {
                out.push(if valid(i) {
                    Value::from(a.value(i))
                } else {
                    Value::Null
                });
            }
        }};
    }
    match array.data_type() {
        DataType::Null => out.resize(n, Value::Null),
        DataType::Boolean => {
            let a: &BooleanArray = array.as_boolean();
            for i in 0..n {
                out.push(if valid(i) {
                    Value::Bool(a.value(i))
                } else {
                    Value::Null
                });
            }
        }
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::UInt64 => ints!(UInt64Type),
        DataType::Float32 => {
            let a: &Float32Array = array.as_primitive();
            for i in 0..n {
                out.push(if valid(i) {
                    float(f64::from(a.value(i)))
                } else {
                    Value::Null
                });
            }
        }
        DataType::Float64 => {
            let a: &Float64Array = array.as_primitive();
            for i in 0..n {
                out.push(if valid(i) {
                    float(a.value(i))
                } else {
                    Value::Null
                });
            }
        }
        DataType::Decimal128(_, _) => {
            let a: &Decimal128Array = array.as_primitive();
            for i in 0..n {
                out.push(if valid(i) {
                    Value::String(a.value_as_string(i))
                } else {
                    Value::Null
                });
            }
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = ArrayFormatter::try_new(array, &FormatOptions::default())?;
            for i in 0..n {
                out.push(if valid(i) {
                    Value::String(text.value(i).to_string())
                } else {
                    Value::Null
                });
            }
        }
        DataType::Binary | DataType::LargeBinary | DataType::FixedSizeBinary(_) => {
            for i in 0..n {
                out.push(if valid(i) {
                    Value::String(hex(binary_at(array, i)))
                } else {
                    Value::Null
                });
            }
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let children: Vec<Vec<Value>> = s
                .columns()
                .iter()
                .map(|c| column_values(c.as_ref()))
                .collect::<Result<_, _>>()?;
            for i in 0..n {
                if !valid(i) {
                    out.push(Value::Null);
                    continue;
                }
                let mut obj = Map::new();
                for (f, values) in fields.iter().zip(&children) {
                    obj.insert(f.name().clone(), values[i].clone());
                }
                out.push(Value::Object(obj));
            }
        }
        DataType::List(_) | DataType::LargeList(_) => {
            for i in 0..n {
                out.push(if valid(i) {
                    let items = match array.data_type() {
                        DataType::List(_) => array.as_list::<i32>().value(i),
                        _ => array.as_list::<i64>().value(i),
                    };
                    Value::Array(column_values(items.as_ref())?)
                } else {
                    Value::Null
                });
            }
        }
        DataType::Map(_, _) => {
            let m = array.as_map();
            for i in 0..n {
                if !valid(i) {
                    out.push(Value::Null);
                    continue;
                }
                let entries = m.value(i);
                let keys = column_values(entries.column(0).as_ref())?;
                let values = column_values(entries.column(1).as_ref())?;
                let string_keys = matches!(
                    entries.column(0).data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                );
                out.push(if string_keys {
                    let mut obj = Map::new();
                    for (k, v) in keys.into_iter().zip(values) {
                        if let Value::String(k) = k {
                            obj.insert(k, v);
                        }
                    }
                    Value::Object(obj)
                } else {
                    Value::Array(
                        keys.into_iter()
                            .zip(values)
                            .map(|(k, v)| {
                                let mut e = Map::new();
                                e.insert("key".into(), k);
                                e.insert("value".into(), v);
                                Value::Object(e)
                            })
                            .collect(),
                    )
                });
            }
        }
        // Dates, times, timestamps and anything else: Arrow's ISO 8601 text.
        _ => {
            let text = ArrayFormatter::try_new(array, &FormatOptions::default())?;
            for i in 0..n {
                out.push(if valid(i) {
                    Value::String(text.value(i).to_string())
                } else {
                    Value::Null
                });
            }
        }
    }
    Ok(out)
}

fn binary_at(array: &dyn Array, i: usize) -> &[u8] {
    match array.data_type() {
        DataType::LargeBinary => array.as_binary::<i64>().value(i),
        DataType::FixedSizeBinary(_) => array.as_fixed_size_binary().value(i),
        _ => array.as_binary::<i32>().value(i),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BinaryArray, Int32Array, Int64Array, MapBuilder, StringArray, StringBuilder,
        StructArray, TimestampMicrosecondArray,
    };
    use arrow::array::{Int32Builder, builder::Int64Builder};
    use arrow::datatypes::{Field, Fields};

    use super::*;

    #[test]
    fn every_column_of_every_row_with_lossless_values() {
        let dec: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(1250), None, Some(-5)])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(f64::NAN),
            Some(f64::NEG_INFINITY),
            Some(0.1),
        ]));
        let names: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("c")]));
        let bin: ArrayRef = Arc::new(BinaryArray::from(vec![
            Some(&[0u8, 255][..]),
            None,
            Some(&[16u8][..]),
        ]));
        let ts: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![Some(0), None, Some(1_500_000)])
                .with_timezone("UTC"),
        );
        let inner: ArrayRef = Arc::new(Int32Array::from(vec![None, None, Some(7)]));
        let st: ArrayRef = Arc::new(StructArray::new(
            Fields::from(vec![Field::new("x", DataType::Int32, true)]),
            vec![inner],
            None,
        ));
        let batch = RecordBatch::try_from_iter(vec![
            ("d", dec),
            ("f", floats),
            ("n", names),
            ("b", bin),
            ("ts", ts),
            ("s", st),
        ])
        .unwrap();
        let rows = rows(&batch).unwrap();
        let text: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            text[0],
            r#"{"d":"12.50","f":"NaN","n":"a","b":"00ff","ts":"1970-01-01T00:00:00Z","s":{"x":null}}"#
        );
        assert_eq!(
            text[1],
            r#"{"d":null,"f":"-Infinity","n":null,"b":null,"ts":null,"s":{"x":null}}"#
        );
        assert_eq!(
            text[2],
            r#"{"d":"-0.05","f":0.1,"n":"c","b":"10","ts":"1970-01-01T00:00:01.500Z","s":{"x":7}}"#
        );
    }

    #[test]
    fn maps_keep_null_values_and_non_string_keys() {
        let mut by_name = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
        by_name.keys().append_value("a");
        by_name.values().append_null();
        by_name.keys().append_value("b");
        by_name.values().append_value(2);
        by_name.append(true).unwrap();
        by_name.append(false).unwrap();
        let mut by_int = MapBuilder::new(None, Int32Builder::new(), StringBuilder::new());
        by_int.keys().append_value(1);
        by_int.values().append_value("one");
        by_int.append(true).unwrap();
        by_int.keys().append_value(2);
        by_int.values().append_null();
        by_int.append(true).unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let batch = RecordBatch::try_from_iter(vec![
            ("id", ids),
            ("m", Arc::new(by_name.finish()) as ArrayRef),
            ("k", Arc::new(by_int.finish()) as ArrayRef),
        ])
        .unwrap();
        let text: Vec<String> = rows(&batch)
            .unwrap()
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(
            text[0],
            r#"{"id":1,"m":{"a":null,"b":2},"k":[{"key":1,"value":"one"}]}"#
        );
        assert_eq!(text[1], r#"{"id":2,"m":null,"k":[{"key":2,"value":null}]}"#);
    }
}
