use super::*;

use arrow::array::{
    Date32Array, Decimal128Array, Float32Array, Float64Array, Int32Array, Int32Builder, Int64Array,
    LargeStringArray, ListBuilder, MapBuilder, StringArray, StringBuilder,
    TimestampNanosecondArray, TimestampSecondArray, UInt16Array,
};
use serde_json::json;
use strata_format::schema::{ListType, StructType};

use crate::arrow_schema::tests::nested_schema;
use crate::arrow_schema::to_arrow_schema;

fn flat_schema(fields: Vec<StructField>) -> (Schema, SchemaRef) {
    let s = Schema::new(0, fields).unwrap();
    let a = to_arrow_schema(&s).unwrap();
    (s, a)
}

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(cols).unwrap()
}

#[test]
fn columns_are_reordered_widened_and_missing_optionals_filled() {
    let (s, a) = flat_schema(vec![
        StructField::required(1, "id", PrimitiveType::Int64),
        StructField::optional(2, "name", PrimitiveType::String),
        StructField::optional(3, "score", PrimitiveType::Float64),
        StructField::optional(4, "note", PrimitiveType::String),
    ]);
    let input = batch(vec![
        ("score", float16(&[1.5, 2.0])),
        ("name", Arc::new(LargeStringArray::from(vec!["a", "b"]))),
        ("id", Arc::new(Int32Array::from(vec![7, 8]))),
    ]);
    let out = conform_batch(&input, &s, &a).unwrap();
    assert_eq!(out.schema(), a);
    assert_eq!(
        out.column(0).as_ref(),
        &Int64Array::from(vec![7, 8]) as &dyn Array
    );
    assert_eq!(
        out.column(1).as_ref(),
        &StringArray::from(vec!["a", "b"]) as &dyn Array
    );
    assert_eq!(
        out.column(2).as_ref(),
        &Float64Array::from(vec![1.5, 2.0]) as &dyn Array
    );
    assert_eq!(out.column(3).null_count(), 2);
}

fn float16(v: &[f32]) -> ArrayRef {
    let a: ArrayRef = Arc::new(Float32Array::from(v.to_vec()));
    arrow::compute::cast(&a, &ArrowType::Float16).unwrap()
}

#[test]
fn write_defaults_fill_missing_columns() {
    let mut f = StructField::required(
        2,
        "price",
        PrimitiveType::Decimal {
            precision: 6,
            scale: 2,
        },
    );
    f.write_default = Some(json!("12.5"));
    let mut g = StructField::optional(3, "blob", PrimitiveType::Binary);
    g.write_default = Some(json!("00ff"));
    let (s, a) = flat_schema(vec![
        StructField::required(1, "id", PrimitiveType::Int64),
        f,
        g,
    ]);
    let input = batch(vec![(
        "id",
        Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
    )]);
    let out = conform_batch(&input, &s, &a).unwrap();
    let d = out
        .column(1)
        .as_primitive::<arrow::datatypes::Decimal128Type>();
    assert_eq!(d.values().to_vec(), vec![1250, 1250, 1250]);
    assert_eq!(out.column(2).as_binary::<i32>().value(2), &[0u8, 255]);
}

#[test]
fn missing_required_column_without_default_is_named() {
    let (s, a) = flat_schema(vec![
        StructField::required(1, "id", PrimitiveType::Int64),
        StructField::optional(2, "name", PrimitiveType::String),
    ]);
    let input = batch(vec![(
        "name",
        Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
    )]);
    let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
    assert!(err.contains("column `id`"), "{err}");
    assert!(
        err.contains("required column of type int64 is missing"),
        "{err}"
    );
}

#[test]
fn extra_column_points_at_merge_schema() {
    let (s, a) = flat_schema(vec![StructField::optional(1, "id", PrimitiveType::Int64)]);
    let input = batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ("Extra", Arc::new(Int64Array::from(vec![1]))),
    ]);
    let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
    assert!(err.contains("column `Extra`"), "{err}");
    assert!(err.contains("use merge-schema to add it"), "{err}");
}

#[test]
fn narrowing_casts_are_refused_naming_column_and_types() {
    let (s, a) = flat_schema(vec![StructField::optional(1, "n", PrimitiveType::Int32)]);
    let input = batch(vec![("n", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]);
    let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
    assert!(err.contains("column `n`"), "{err}");
    assert!(
        err.contains("Arrow Int64 to a column of type int32"),
        "{err}"
    );
    assert!(err.contains("narrowing"), "{err}");

    let input = batch(vec![(
        "n",
        Arc::new(StringArray::from(vec!["1"])) as ArrayRef,
    )]);
    let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
    assert!(err.contains("incompatible types"), "{err}");

    let (s, a) = flat_schema(vec![StructField::optional(
        1,
        "d",
        PrimitiveType::Decimal {
            precision: 5,
            scale: 2,
        },
    )]);
    let input = batch(vec![(
        "d",
        Arc::new(
            Decimal128Array::from(vec![1])
                .with_precision_and_scale(6, 2)
                .unwrap(),
        ) as ArrayRef,
    )]);
    assert!(conform_batch(&input, &s, &a).is_err());
    let input = batch(vec![(
        "d",
        Arc::new(
            Decimal128Array::from(vec![123])
                .with_precision_and_scale(4, 1)
                .unwrap(),
        ) as ArrayRef,
    )]);
    let out = conform_batch(&input, &s, &a).unwrap();
    let d = out
        .column(0)
        .as_primitive::<arrow::datatypes::Decimal128Type>();
    assert_eq!(d.value(0), 1230);
}

#[test]
fn timestamps_convert_units_with_overflow_check_and_time_zone_rules() {
    let (s, a) = flat_schema(vec![
        StructField::optional(1, "tz", PrimitiveType::Timestamptz),
        StructField::optional(2, "ts", PrimitiveType::Timestamp),
    ]);
    let input = batch(vec![
        (
            "tz",
            Arc::new(TimestampNanosecondArray::from(vec![1_500_000]).with_timezone("Europe/Berlin"))
                as ArrayRef,
        ),
        ("ts", Arc::new(TimestampSecondArray::from(vec![3]))),
    ]);
    let out = conform_batch(&input, &s, &a).unwrap();
    assert_eq!(
        out.column(0)
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .value(0),
        1_500
    );
    assert_eq!(
        out.column(1)
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .value(0),
        3_000_000
    );

    let input = batch(vec![(
        "ts",
        Arc::new(TimestampSecondArray::from(vec![i64::MAX / 10])) as ArrayRef,
    )]);
    let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
    assert!(err.contains("column `ts`"), "{err}");
    assert!(err.contains("overflow"), "{err}");

    let input = batch(vec![(
        "tz",
        Arc::new(TimestampSecondArray::from(vec![1])) as ArrayRef,
    )]);
    let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
    assert!(
        err.contains("column `tz`") && err.contains("no time zone"),
        "{err}"
    );
    let input = batch(vec![(
        "ts",
        Arc::new(TimestampSecondArray::from(vec![1]).with_timezone("UTC")) as ArrayRef,
    )]);
    let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
    assert!(
        err.contains("column `ts`") && err.contains("has a time zone"),
        "{err}"
    );
}

#[test]
fn nulls_in_required_columns_name_the_first_row() {
    let (s, a) = flat_schema(vec![StructField::required(1, "id", PrimitiveType::Int64)]);
    let input = batch(vec![(
        "id",
        Arc::new(Int64Array::from(vec![Some(1), None, None])) as ArrayRef,
    )]);
    let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
    assert!(
        err.contains("column `id`") && err.contains("row 1"),
        "{err}"
    );
}

#[test]
fn nested_structs_lists_and_maps_are_conformed_by_name() {
    let s = nested_schema();
    let a = to_arrow_schema(&s).unwrap();
    // loc with children in another order, lat as float32; tags as a list of LargeUtf8.
    let loc = StructArray::try_new(
        Fields::from(vec![
            Field::new("lon", ArrowType::Float64, true),
            Field::new("lat", ArrowType::Float32, true),
        ]),
        vec![
            Arc::new(Float64Array::from(vec![Some(2.0), None])),
            Arc::new(Float32Array::from(vec![Some(1.0), None])),
        ],
        Some(NullBuffer::from(vec![true, false])),
    )
    .unwrap();
    let mut tags = ListBuilder::new(StringBuilder::new());
    tags.values().append_value("a");
    tags.append(true);
    tags.append(false);
    let mut attrs = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    attrs.keys().append_value("k");
    attrs.values().append_value(1);
    attrs.append(true).unwrap();
    attrs.append(true).unwrap();
    let input = batch(vec![
        ("loc", Arc::new(loc) as ArrayRef),
        ("attrs", Arc::new(attrs.finish())),
        ("tags", Arc::new(tags.finish())),
        ("id", Arc::new(UInt16Array::from(vec![1, 2]))),
    ]);
    let out = conform_batch(&input, &s, &a).unwrap();
    assert_eq!(out.schema(), a);
    let loc = out.column(4).as_struct();
    assert_eq!(
        loc.column(0)
            .as_primitive::<arrow::datatypes::Float64Type>()
            .value(0),
        1.0
    );
    assert!(loc.is_null(1));
    let attrs = out.column(3).as_map();
    assert_eq!(attrs.value_length(0), 1);

    // A null list element in a required element list names the row.
    let mut tags = ListBuilder::new(StringBuilder::new());
    tags.append(true);
    tags.values().append_value("a");
    tags.values().append_null();
    tags.append(true);
    let input = batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        ("tags", Arc::new(tags.finish())),
    ]);
    let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
    assert!(
        err.contains("column `tags.element`") && err.contains("row 1"),
        "{err}"
    );

    // A null `lat` in a valid `loc` is refused; an extra nested field is named.
    let loc = StructArray::try_new(
        Fields::from(vec![
            Field::new("lat", ArrowType::Float64, true),
            Field::new("alt", ArrowType::Float64, true),
        ]),
        vec![
            Arc::new(Float64Array::from(vec![Some(1.0), None])),
            Arc::new(Float64Array::from(vec![Some(1.0), None])),
        ],
        None,
    )
    .unwrap();
    let input = batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        ("loc", Arc::new(loc)),
    ]);
    let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
    assert!(
        err.contains("column `loc.alt`") && err.contains("merge-schema"),
        "{err}"
    );
    let loc = StructArray::try_new(
        Fields::from(vec![Field::new("lat", ArrowType::Float64, true)]),
        vec![Arc::new(Float64Array::from(vec![Some(1.0), None]))],
        None,
    )
    .unwrap();
    let input = batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        ("loc", Arc::new(loc)),
    ]);
    let err = conform_batch(&input, &s, &a).unwrap_err().to_string();
    assert!(
        err.contains("column `loc.lat`") && err.contains("row 1"),
        "{err}"
    );
}

#[test]
fn required_child_of_a_null_grandparent_may_be_null() {
    let inner = StructType {
        fields: vec![StructField::required(3, "x", PrimitiveType::Int32)],
    };
    let (s, a) = flat_schema(vec![StructField::optional(
        1,
        "outer",
        DataType::Struct(StructType {
            fields: vec![StructField::required(2, "inner", DataType::Struct(inner))],
        }),
    )]);
    let x = Field::new("x", ArrowType::Int32, true);
    let inner = StructArray::try_new(
        Fields::from(vec![x]),
        vec![Arc::new(Int32Array::from(vec![Some(1), None]))],
        None,
    )
    .unwrap();
    let outer = StructArray::try_new(
        Fields::from(vec![Field::new("inner", inner.data_type().clone(), true)]),
        vec![Arc::new(inner)],
        Some(NullBuffer::from(vec![true, false])),
    )
    .unwrap();
    let out = conform_batch(&batch(vec![("outer", Arc::new(outer) as ArrayRef)]), &s, &a).unwrap();
    assert!(out.column(0).is_null(1));
}

#[test]
fn lossless_casts_accept_the_usual_arrow_variants() {
    use arrow::array::{
        DictionaryArray, FixedSizeBinaryArray, LargeListArray, StringViewArray,
        Time32MillisecondArray,
    };
    use arrow::datatypes::Int8Type;
    let (s, a) = flat_schema(vec![
        StructField::optional(1, "day_ts", PrimitiveType::Timestamptz),
        StructField::optional(2, "day", PrimitiveType::Timestamp),
        StructField::optional(3, "t", PrimitiveType::Time),
        StructField::optional(4, "view", PrimitiveType::String),
        StructField::optional(5, "dict", PrimitiveType::String),
        StructField::optional(6, "fixed", PrimitiveType::Binary),
        StructField::optional(
            7,
            "big",
            DataType::List(ListType {
                element_id: 8,
                element_required: false,
                element: Box::new(PrimitiveType::Int64.into()),
            }),
        ),
        StructField::optional(
            9,
            "dec",
            PrimitiveType::Decimal {
                precision: 12,
                scale: 2,
            },
        ),
    ]);
    let dict: DictionaryArray<Int8Type> = vec!["x", "y", "x"].into_iter().collect();
    let big = LargeListArray::from_iter_primitive::<arrow::datatypes::Int32Type, _, _>(vec![
        Some(vec![Some(1)]),
        None,
        Some(vec![]),
    ]);
    let input = batch(vec![
        (
            "day_ts",
            Arc::new(Date32Array::from(vec![1, 0, -1])) as ArrayRef,
        ),
        ("day", Arc::new(Date32Array::from(vec![1, 0, -1]))),
        ("t", Arc::new(Time32MillisecondArray::from(vec![1, 2, 3]))),
        ("view", Arc::new(StringViewArray::from(vec!["a", "b", "c"]))),
        ("dict", Arc::new(dict)),
        (
            "fixed",
            Arc::new(
                FixedSizeBinaryArray::try_from_iter(vec![[1u8, 2], [3, 4], [5, 6]].into_iter())
                    .unwrap(),
            ),
        ),
        ("big", Arc::new(big)),
        ("dec", Arc::new(Int32Array::from(vec![1, -2, 3]))),
    ]);
    let out = conform_batch(&input, &s, &a).unwrap();
    assert_eq!(out.schema(), a);
    assert_eq!(
        out.column(0)
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .value(0),
        86_400_000_000
    );
    assert_eq!(
        out.column(1)
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .value(2),
        -86_400_000_000
    );
    assert_eq!(
        out.column(2)
            .as_primitive::<arrow::datatypes::Time64MicrosecondType>()
            .value(0),
        1_000
    );
    assert_eq!(out.column(4).as_string::<i32>().value(2), "x");
    assert_eq!(out.column(5).as_binary::<i32>().value(1), &[3u8, 4]);
    assert_eq!(out.column(6).as_list::<i32>().value(0).len(), 1);
    assert_eq!(
        out.column(7)
            .as_primitive::<arrow::datatypes::Decimal128Type>()
            .value(1),
        -200
    );
}
