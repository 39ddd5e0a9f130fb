//! Test fixtures of the writer: a table schema with every type, a batch of it, and writing
//! and reading files back.

use super::*;
use crate::arrow_schema::conform_batch;
use crate::options::{SequentialIds, SteppingClock};
use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, Int64Builder, ListArray,
    MapBuilder, StringArray, StringBuilder, StructArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType as ArrowType, Field, Fields, Int32Type};
use bytes::Bytes;
use object_store::memory::InMemory;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata_format::schema::{
    DataType, ListType, MapType, PrimitiveType as P, StructField, StructType,
};

pub(super) fn memory_location() -> TableLocation {
    TableLocation::new(Arc::new(InMemory::new()), Path::from("t"), "memory://x/t")
}

pub(super) fn dec(precision: u8, scale: u8) -> P {
    P::Decimal { precision, scale }
}

/// One column of every type, nested ones included.
pub(super) fn all_types_schema() -> Schema {
    Schema::new(
        7,
        vec![
            StructField::optional(1, "b", P::Boolean),
            StructField::optional(2, "i8", P::Int8),
            StructField::optional(3, "i16", P::Int16),
            StructField::required(4, "i32", P::Int32),
            StructField::optional(5, "i64", P::Int64),
            StructField::optional(6, "f32", P::Float32),
            StructField::optional(7, "f64", P::Float64),
            StructField::optional(8, "d9", dec(9, 2)),
            StructField::optional(9, "d18", dec(18, 3)),
            StructField::optional(10, "d38", dec(38, 10)),
            StructField::optional(11, "date", P::Date),
            StructField::optional(12, "time", P::Time),
            StructField::optional(13, "ts", P::Timestamp),
            StructField::optional(14, "tstz", P::Timestamptz),
            StructField::optional(15, "s", P::String),
            StructField::optional(16, "bin", P::Binary),
            StructField::optional(
                17,
                "st",
                DataType::Struct(StructType {
                    fields: vec![
                        StructField::required(18, "a", P::Int32),
                        StructField::optional(19, "b", P::String),
                        StructField::optional(
                            20,
                            "inner",
                            DataType::Struct(StructType {
                                fields: vec![StructField::optional(21, "x", P::Int64)],
                            }),
                        ),
                    ],
                }),
            ),
            StructField::optional(
                22,
                "lst",
                DataType::List(ListType {
                    element_id: 23,
                    element_required: false,
                    element: Box::new(P::Int32.into()),
                }),
            ),
            StructField::optional(
                24,
                "m",
                DataType::Map(MapType {
                    key_id: 25,
                    key: Box::new(P::String.into()),
                    value_id: 26,
                    value_required: false,
                    value: Box::new(P::Int64.into()),
                }),
            ),
            StructField::optional(
                27,
                "ls",
                DataType::List(ListType {
                    element_id: 28,
                    element_required: true,
                    element: Box::new(DataType::Struct(StructType {
                        fields: vec![StructField::optional(29, "q", P::String)],
                    })),
                }),
            ),
        ],
    )
    .unwrap()
}

pub(super) fn decimal(values: Vec<Option<i128>>, p: u8, s: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values)
            .with_precision_and_scale(p, s)
            .unwrap(),
    )
}

/// Three rows in the shape a user would hand over (no field ids, arrow-rs default names).
pub(super) fn all_types_input() -> RecordBatch {
    let inner = StructArray::try_new(
        Fields::from(vec![Field::new("x", ArrowType::Int64, true)]),
        vec![Arc::new(Int64Array::from(vec![Some(5), None, Some(-5)])) as ArrayRef],
        None,
    )
    .unwrap();
    let st = StructArray::try_new(
        Fields::from(vec![
            Field::new("a", ArrowType::Int32, true),
            Field::new("b", ArrowType::Utf8, true),
            Field::new("inner", inner.data_type().clone(), true),
        ]),
        vec![
            Arc::new(Int32Array::from(vec![Some(10), None, Some(30)])) as ArrayRef,
            Arc::new(StringArray::from(vec![Some("x"), None, None])),
            Arc::new(inner),
        ],
        Some(NullBuffer::from(vec![true, false, true])),
    )
    .unwrap();
    let lst = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None]),
        None,
        Some(vec![]),
    ]);
    let mut m = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    m.keys().append_value("k1");
    m.values().append_value(1);
    m.keys().append_value("k2");
    m.values().append_null();
    m.append(true).unwrap();
    m.append(false).unwrap();
    m.keys().append_value("k3");
    m.values().append_value(3);
    m.append(true).unwrap();
    let q_field = Field::new("q", ArrowType::Utf8, true);
    let q = StructArray::try_new(
        Fields::from(vec![q_field.clone()]),
        vec![Arc::new(StringArray::from(vec![Some("q1"), None, Some("q3")])) as ArrayRef],
        None,
    )
    .unwrap();
    let ls = ListArray::try_new(
        Arc::new(Field::new("item", q.data_type().clone(), false)),
        arrow::buffer::OffsetBuffer::from_lengths([2, 0, 1]),
        Arc::new(q),
        Some(NullBuffer::from(vec![true, false, true])),
    )
    .unwrap();
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "b",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ),
        (
            "i8",
            Arc::new(Int8Array::from(vec![Some(-8), None, Some(7)])),
        ),
        (
            "i16",
            Arc::new(Int16Array::from(vec![Some(-16), None, Some(16)])),
        ),
        ("i32", Arc::new(Int32Array::from(vec![1, 2, 3]))),
        (
            "i64",
            Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(i64::MAX)])),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![Some(1.5), Some(f32::NAN), None])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![Some(-2.5), None, Some(1e300)])),
        ),
        ("d9", decimal(vec![Some(12345), None, Some(-5)], 9, 2)),
        (
            "d18",
            decimal(vec![Some(1_000_000_000_000_000), None, Some(-1)], 18, 3),
        ),
        (
            "d38",
            decimal(
                vec![Some(10i128.pow(37) + 1), None, Some(-(10i128.pow(37)))],
                38,
                10,
            ),
        ),
        (
            "date",
            Arc::new(Date32Array::from(vec![Some(19000), None, Some(-1)])),
        ),
        (
            "time",
            Arc::new(Time64MicrosecondArray::from(vec![
                Some(0),
                None,
                Some(86_399_999_999),
            ])),
        ),
        (
            "ts",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(-1_000_000),
                None,
                Some(1_700_000_000_000_000),
            ])),
        ),
        (
            "tstz",
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(5), None, Some(6)]).with_timezone("UTC"),
            ),
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![Some("apple"), None, Some("banana")])),
        ),
        (
            "bin",
            Arc::new(BinaryArray::from_opt_vec(vec![
                Some(&[0u8, 1][..]),
                None,
                Some(&[255u8][..]),
            ])),
        ),
        ("st", Arc::new(st)),
        ("lst", Arc::new(lst)),
        ("m", Arc::new(m.finish())),
        ("ls", Arc::new(ls)),
    ];
    RecordBatch::try_from_iter(cols).unwrap()
}

pub(super) async fn read_back(loc: &TableLocation, add: &AddFile) -> (Bytes, RecordBatch) {
    let bytes = loc
        .store()
        .get(&loc.child(&add.path))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.collect::<std::result::Result<_, _>>().unwrap();
    let schema = batches[0].schema();
    (
        bytes,
        arrow::compute::concat_batches(&schema, &batches).unwrap(),
    )
}

pub(super) async fn write_all(
    loc: &TableLocation,
    schema: &Schema,
    options: WriterOptions,
    batches: &[RecordBatch],
) -> Vec<AddFile> {
    let target = to_arrow_schema(schema).unwrap();
    let mut w = DataFileWriter::builder(loc.clone(), schema.clone())
        .options(options)
        .ids(Arc::new(SequentialIds::default()))
        .clock(Arc::new(SteppingClock::new(1_000, 1)))
        .build()
        .unwrap();
    for b in batches {
        w.write(&conform_batch(b, schema, &target).unwrap())
            .await
            .unwrap();
    }
    w.finish().await.unwrap()
}
