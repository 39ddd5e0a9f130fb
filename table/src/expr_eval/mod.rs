//! Evaluating a [`BoundExpr`] over Arrow record batches.
//!
//! Columns are found by field id: the `PARQUET:field_id` metadata of top-level fields and,
//! for nested struct fields, of the struct children along the way. A value under a null struct
//! is null. Column types may differ from the bound type where the format allows reading them
//! as that type (SPEC §4.7 widenings: `int32` data for an `int64` column, `float32` for
//! `float64`, `date` for `timestamp`, a narrower decimal precision; strings as Utf8, LargeUtf8,
//! Utf8View or dictionaries of them; binary likewise; any time zone string on a `timestamptz`
//! column): the column is cast to the bound type (strings and binaries: the literal is cast to
//! the column's string/binary type instead).
//!
//! The result follows [`BoundExpr`] semantics: a row is `true` exactly when the original
//! predicate is TRUE; rows for which it is FALSE or NULL are `false` (the result never holds
//! nulls), which is what [`filter_batch`] keeps. Floats compare per IEEE 754 (NaN only satisfies
//! `<>`, `-0.0 = 0.0`), unlike Arrow's total-order comparison kernels, so float comparisons are
//! evaluated here directly.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::kernels::comparison::starts_with;
use arrow::compute::{and, is_not_null, is_null, not, or};
use arrow::datatypes::{DataType as ArrowType, Field, Float32Type, Float64Type};
use arrow::error::ArrowError;
use parquet::arrow::PARQUET_FIELD_ID_META_KEY;
use strata_format::FormatError;
use strata_format::expr::{BoundExpr, BoundReference, CompareOp};
use strata_format::schema::FieldId;

use crate::error::{Error, Result};

mod kernels;

use kernels::{compare, literal, prepare};

/// Evaluates `expr` over `batch`: `true` for the rows that match (the predicate is TRUE), `false`
/// for the others; the result has no nulls and one value per row.
///
/// Errors when a referenced column (by field id) is not in the batch — the caller must add
/// columns missing from a data file (SPEC §4.7: initial default or null) before evaluating — or
/// when a column's Arrow type cannot be read as the bound type.
pub fn evaluate(expr: &BoundExpr, batch: &RecordBatch) -> Result<BooleanArray> {
    Evaluator { batch }.eval(expr)
}

/// The rows of `batch` that match `expr`.
pub fn filter_batch(expr: &BoundExpr, batch: &RecordBatch) -> Result<RecordBatch> {
    if matches!(expr, BoundExpr::AlwaysTrue) {
        return Ok(batch.clone());
    }
    let mask = evaluate(expr, batch)?;
    arrow::compute::filter_record_batch(batch, &mask)
        .map_err(|e| eval_error(format!("filtering the batch failed: {e}")))
}

fn eval_error(msg: String) -> Error {
    Error::Format(FormatError::Evaluation(msg))
}

fn arrow_error(col: &BoundReference, e: ArrowError) -> Error {
    eval_error(format!(
        "column `{}` (field id {}, {}): {e}",
        col.path, col.field_id, col.data_type
    ))
}

/// A column found in the batch, with the validity of its enclosing structs.
struct Column {
    array: ArrayRef,
    /// Null where an enclosing struct is null.
    ancestors: Option<NullBuffer>,
}

fn field_id_of(f: &Field) -> Option<FieldId> {
    f.metadata()
        .get(PARQUET_FIELD_ID_META_KEY)
        .and_then(|v| v.parse().ok())
}

fn find(
    fields: &[Arc<Field>],
    arrays: &[ArrayRef],
    id: FieldId,
    ancestors: Option<&NullBuffer>,
) -> Option<Column> {
    for (f, a) in fields.iter().zip(arrays) {
        if field_id_of(f) == Some(id) {
            return Some(Column {
                array: a.clone(),
                ancestors: ancestors.cloned(),
            });
        }
    }
    for (f, a) in fields.iter().zip(arrays) {
        if let (ArrowType::Struct(children), Some(s)) = (f.data_type(), a.as_struct_opt()) {
            let nulls = NullBuffer::union(ancestors, s.nulls());
            if let Some(c) = find(children, s.columns(), id, nulls.as_ref()) {
                return Some(c);
            }
        }
    }
    None
}

/// Null → false.
fn definite(a: &BooleanArray) -> BooleanArray {
    match a.nulls() {
        Some(n) if n.null_count() > 0 => BooleanArray::new(a.values() & n.inner(), None),
        _ => BooleanArray::new(a.values().clone(), None),
    }
}

struct Evaluator<'a> {
    batch: &'a RecordBatch,
}

impl Evaluator<'_> {
    fn column(&self, col: &BoundReference) -> Result<Column> {
        let schema = self.batch.schema();
        find(schema.fields(), self.batch.columns(), col.field_id, None).ok_or_else(|| {
            eval_error(format!(
                "column `{}` (field id {}) is not in the batch; columns a data file lacks must \
                 be filled (initial default or null) before evaluating",
                col.path, col.field_id
            ))
        })
    }

    fn constant(&self, v: bool) -> BooleanArray {
        let n = self.batch.num_rows();
        let values = if v {
            BooleanBuffer::new_set(n)
        } else {
            BooleanBuffer::new_unset(n)
        };
        BooleanArray::new(values, None)
    }

    /// Null → false, and false under a null struct.
    fn finish(raw: &BooleanArray, c: &Column) -> BooleanArray {
        let d = definite(raw);
        match &c.ancestors {
            Some(n) if n.null_count() > 0 => BooleanArray::new(d.values() & n.inner(), None),
            _ => d,
        }
    }

    fn eval(&self, e: &BoundExpr) -> Result<BooleanArray> {
        match e {
            BoundExpr::AlwaysTrue => Ok(self.constant(true)),
            BoundExpr::AlwaysFalse => Ok(self.constant(false)),
            BoundExpr::And(a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                and(&a, &b).map_err(|e| eval_error(e.to_string()))
            }
            BoundExpr::Or(a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                or(&a, &b).map_err(|e| eval_error(e.to_string()))
            }
            BoundExpr::IsNull { column, negated } => {
                let c = self.column(column)?;
                let err = |e| arrow_error(column, e);
                let own = if *negated {
                    is_not_null(c.array.as_ref()).map_err(err)?
                } else {
                    is_null(c.array.as_ref()).map_err(err)?
                };
                Ok(match &c.ancestors {
                    Some(n) if n.null_count() > 0 => {
                        let values = if *negated {
                            own.values() & n.inner()
                        } else {
                            own.values() | &!n.inner()
                        };
                        BooleanArray::new(values, None)
                    }
                    _ => own,
                })
            }
            BoundExpr::IsNan { column } => {
                let c = self.column(column)?;
                let p = prepare(column, &c.array).map_err(|e| arrow_error(column, e))?;
                let raw = match p.literal_type {
                    ArrowType::Float64 => {
                        BooleanArray::from_unary(p.array.as_primitive::<Float64Type>(), f64::is_nan)
                    }
                    ArrowType::Float32 => {
                        BooleanArray::from_unary(p.array.as_primitive::<Float32Type>(), f32::is_nan)
                    }
                    _ => return Ok(self.constant(false)),
                };
                Ok(Self::finish(&raw, &c))
            }
            BoundExpr::Compare { column, op, value } => {
                let c = self.column(column)?;
                let raw = prepare(column, &c.array)
                    .and_then(|p| compare(&p, *op, value))
                    .map_err(|e| arrow_error(column, e))?;
                Ok(Self::finish(&raw, &c))
            }
            BoundExpr::In {
                column,
                values,
                negated,
            } => {
                if values.is_empty() {
                    // NOT IN () holds for every non-null value, IN () for none.
                    return if *negated {
                        self.eval(&BoundExpr::IsNull {
                            column: column.clone(),
                            negated: true,
                        })
                    } else {
                        Ok(self.constant(false))
                    };
                }
                let c = self.column(column)?;
                let p = prepare(column, &c.array).map_err(|e| arrow_error(column, e))?;
                let op = if *negated {
                    CompareOp::NotEq
                } else {
                    CompareOp::Eq
                };
                let mut acc = self.constant(*negated);
                for v in values {
                    let one = compare(&p, op, v).map_err(|e| arrow_error(column, e))?;
                    let one = definite(&one);
                    acc = if *negated {
                        and(&acc, &one)
                    } else {
                        or(&acc, &one)
                    }
                    .map_err(|e| arrow_error(column, e))?;
                }
                Ok(Self::finish(&acc, &c))
            }
            BoundExpr::StartsWith {
                column,
                prefix,
                negated,
            } => {
                let c = self.column(column)?;
                let raw = prepare(column, &c.array)
                    .and_then(|p| {
                        let lit = literal(&p, prefix)?;
                        let r = starts_with(&p.array.as_ref(), &lit)?;
                        if *negated { not(&r) } else { Ok(r) }
                    })
                    .map_err(|e| arrow_error(column, e))?;
                Ok(Self::finish(&raw, &c))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BinaryArray, Date32Array, Decimal128Array, DictionaryArray, Float32Array, Float64Array,
        Int32Array, Int64Array, LargeStringArray, StringArray, StringViewArray, StructArray,
        TimestampMicrosecondArray, new_null_array,
    };
    use arrow::datatypes::{Fields, Int32Type, Schema as ArrowSchema, TimeUnit};
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashMap};
    use strata_format::datum::Datum;
    use strata_format::expr::Expr;
    use strata_format::schema::{DataType, PrimitiveType, Schema, StructField, StructType};

    fn field(name: &str, t: ArrowType, id: FieldId) -> Field {
        Field::new(name, t, true).with_metadata(HashMap::from([(
            PARQUET_FIELD_ID_META_KEY.to_string(),
            id.to_string(),
        )]))
    }

    fn schema() -> Schema {
        use PrimitiveType as T;
        Schema::new(
            0,
            vec![
                StructField::optional(1, "i", T::Int64),
                StructField::optional(2, "s", T::String),
                StructField::optional(3, "f", T::Float64),
                StructField::optional(4, "b", T::Boolean),
                StructField::optional(
                    5,
                    "st",
                    DataType::Struct(StructType {
                        fields: vec![StructField::optional(6, "x", T::Int32)],
                    }),
                ),
                StructField::optional(7, "d", T::Date),
                StructField::optional(
                    8,
                    "p",
                    T::Decimal {
                        precision: 9,
                        scale: 2,
                    },
                ),
                StructField::optional(9, "ts", T::Timestamptz),
                StructField::optional(10, "bin", T::Binary),
            ],
        )
        .unwrap()
    }

    /// One row: values by column name (absent = null); `st` null when `st_null`.
    #[derive(Debug, Clone)]
    struct Row {
        i: Option<i64>,
        s: Option<String>,
        f: Option<f64>,
        b: Option<bool>,
        st_null: bool,
        x: Option<i32>,
        d: Option<i32>,
        p: Option<i128>,
        ts: Option<i64>,
        bin: Option<Vec<u8>>,
    }

    impl Row {
        fn values(&self) -> BTreeMap<FieldId, Datum> {
            let mut m = BTreeMap::new();
            let mut put = |id, v: Option<Datum>| {
                if let Some(v) = v {
                    m.insert(id, v);
                }
            };
            put(1, self.i.map(Datum::Int64));
            put(2, self.s.clone().map(Datum::String));
            put(3, self.f.map(Datum::Float64));
            put(4, self.b.map(Datum::Boolean));
            put(
                6,
                if self.st_null {
                    None
                } else {
                    self.x.map(Datum::Int32)
                },
            );
            put(7, self.d.map(Datum::Date));
            put(
                8,
                self.p.map(|u| Datum::Decimal {
                    unscaled: u,
                    precision: 9,
                    scale: 2,
                }),
            );
            put(9, self.ts.map(Datum::Timestamptz));
            put(10, self.bin.clone().map(Datum::Binary));
            m
        }
    }

    fn batch(rows: &[Row]) -> RecordBatch {
        let x = Int32Array::from(rows.iter().map(|r| r.x).collect::<Vec<_>>());
        let st_fields = Fields::from(vec![field("x", ArrowType::Int32, 6)]);
        let st = StructArray::new(
            st_fields.clone(),
            vec![Arc::new(x) as ArrayRef],
            Some(NullBuffer::from(
                rows.iter().map(|r| !r.st_null).collect::<Vec<_>>(),
            )),
        );
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.i).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.s.clone()).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.f).collect::<Vec<_>>(),
            )),
            Arc::new(BooleanArray::from(
                rows.iter().map(|r| r.b).collect::<Vec<_>>(),
            )),
            Arc::new(st),
            Arc::new(Date32Array::from(
                rows.iter().map(|r| r.d).collect::<Vec<_>>(),
            )),
            Arc::new(
                Decimal128Array::from(rows.iter().map(|r| r.p).collect::<Vec<_>>())
                    .with_precision_and_scale(9, 2)
                    .unwrap(),
            ),
            Arc::new(
                TimestampMicrosecondArray::from(rows.iter().map(|r| r.ts).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            ),
            Arc::new(BinaryArray::from(
                rows.iter().map(|r| r.bin.as_deref()).collect::<Vec<_>>(),
            )),
        ];
        let fields = vec![
            field("i", ArrowType::Int64, 1),
            field("s", ArrowType::Utf8, 2),
            field("f", ArrowType::Float64, 3),
            field("b", ArrowType::Boolean, 4),
            field("st", ArrowType::Struct(st_fields), 5),
            field("d", ArrowType::Date32, 7),
            field("p", ArrowType::Decimal128(9, 2), 8),
            field(
                "ts",
                ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                9,
            ),
            field("bin", ArrowType::Binary, 10),
        ];
        RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), cols).unwrap()
    }

    fn row() -> impl Strategy<Value = Row> {
        let s =
            prop::sample::select(vec!["", "a", "ab", "abc", "b", "ba", "é"]).prop_map(String::from);
        let f = prop::sample::select(vec![f64::NAN, -1.0, -0.0, 0.0, 1.5, 3.0]);
        (
            (
                prop::option::of(-3i64..4),
                prop::option::of(s),
                prop::option::of(f),
                prop::option::of(any::<bool>()),
                any::<bool>(),
            ),
            (
                prop::option::of(-2i32..3),
                prop::option::of(19_722i32..19_725),
                prop::option::of(-300i128..300),
                prop::option::of(
                    prop::sample::select(vec![0i64, 86_400_000_000, 86_400_000_001])
                        .prop_map(|t| 19_722 * 86_400_000_000 + t),
                ),
                prop::option::of(prop::collection::vec(0u8..3, 0..3)),
            ),
        )
            .prop_map(|((i, s, f, b, st_null), (x, d, p, ts, bin))| Row {
                i,
                s,
                f,
                b,
                st_null,
                x,
                d,
                p,
                ts,
                bin,
            })
    }

    fn literal_text(col: &str) -> BoxedStrategy<String> {
        let pick = |v: Vec<&'static str>| prop::sample::select(v).prop_map(String::from).boxed();
        match col {
            "i" => pick(vec!["-1", "0", "2", "NULL", "1.0"]),
            "s" => pick(vec!["''", "'a'", "'ab'", "'b'", "'é'", "NULL"]),
            "f" => pick(vec!["-1", "0", "-0.0", "1.5", "2.5e0", "'NaN'", "NULL"]),
            "b" => pick(vec!["TRUE", "FALSE", "NULL"]),
            "st.x" => pick(vec!["-1", "0", "1", "NULL"]),
            "d" => pick(vec!["DATE '2024-01-01'", "'2024-01-02'", "'2023-12-31'"]),
            "p" => pick(vec!["0", "-1.5", "0.99", "1.00", "2"]),
            "ts" => pick(vec![
                "TIMESTAMPTZ '2024-01-01 00:00:00Z'",
                "'2024-01-02T00:00:00Z'",
                "DATE '2024-01-02'",
            ]),
            _ => pick(vec!["X''", "X'00'", "X'0102'", "'\u{1}'"]),
        }
    }

    fn leaf() -> impl Strategy<Value = String> {
        let col = prop::sample::select(vec!["i", "s", "f", "b", "st.x", "d", "p", "ts", "bin"]);
        let op = prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">="]);
        prop_oneof![
            (col.clone(), op).prop_flat_map(|(c, op)| literal_text(c)
                .prop_map(move |l| format!("{c} {op} {l}"))),
            (col.clone(), any::<bool>()).prop_flat_map(|(c, n)| {
                prop::collection::vec(literal_text(c), 1..4).prop_map(move |l| {
                    let not = if n { "NOT " } else { "" };
                    format!("{c} {not}IN ({})", l.join(", "))
                })
            }),
            (col, any::<bool>()).prop_map(|(c, n)| {
                format!("{c} IS {}NULL", if n { "NOT " } else { "" })
            }),
            (prop::sample::select(vec!["s", "bin"]), any::<bool>()).prop_flat_map(|(c, n)| {
                literal_text(c).prop_map(move |l| {
                    let l = if l == "NULL" { "'a'".to_string() } else { l };
                    let e = format!("starts_with({c}, {l})");
                    if n { format!("NOT {e}") } else { e }
                })
            }),
            Just("b".to_string()),
            Just("s LIKE 'a%'".to_string()),
        ]
    }

    fn predicate() -> impl Strategy<Value = String> {
        leaf().prop_recursive(3, 12, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
                inner.prop_map(|a| format!("NOT ({a})")),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn arrow_evaluation_agrees_with_the_row_evaluator(
            text in predicate(),
            rows in prop::collection::vec(row(), 0..8),
        ) {
            let bound = Expr::parse(&text).unwrap().bind(&schema()).unwrap();
            let got = evaluate(&bound, &batch(&rows)).unwrap();
            prop_assert_eq!(got.len(), rows.len());
            prop_assert_eq!(got.null_count(), 0);
            for (k, r) in rows.iter().enumerate() {
                let vals = r.values();
                let want = bound.matches(&|id| vals.get(&id));
                prop_assert_eq!(got.value(k), want, "{} / {} row {:?}", text, bound, r);
            }
        }
    }

    fn eval_text(text: &str, batch: &RecordBatch) -> Vec<bool> {
        let bound = Expr::parse(text).unwrap().bind(&schema()).unwrap();
        evaluate(&bound, batch)
            .unwrap()
            .iter()
            .map(|v| v.unwrap())
            .collect()
    }

    fn sample_rows() -> Vec<Row> {
        let r = |i: Option<i64>, s: Option<&str>, f: Option<f64>| Row {
            i,
            s: s.map(String::from),
            f,
            b: None,
            st_null: false,
            x: i.map(|v| v as i32),
            d: None,
            p: None,
            ts: None,
            bin: None,
        };
        vec![
            r(Some(1), Some("apple"), Some(1.0)),
            r(Some(2), Some("banana"), Some(f64::NAN)),
            r(None, None, None),
            r(Some(4), Some("apricot"), Some(-0.0)),
        ]
    }

    #[test]
    fn nulls_never_match_and_not_keeps_nan_rows() {
        let b = batch(&sample_rows());
        assert_eq!(eval_text("i > 1", &b), [false, true, false, true]);
        assert_eq!(eval_text("NOT i > 1", &b), [true, false, false, false]);
        assert_eq!(eval_text("i IS NULL", &b), [false, false, true, false]);
        assert_eq!(eval_text("f < 2", &b), [true, false, false, true]);
        assert_eq!(eval_text("NOT f < 2", &b), [false, true, false, false]);
        assert_eq!(eval_text("f <> 1", &b), [false, true, false, true]);
        assert_eq!(
            eval_text("f = 0", &b),
            [false, false, false, true],
            "-0.0 = 0.0"
        );
        assert_eq!(eval_text("s LIKE 'ap%'", &b), [true, false, false, true]);
        assert_eq!(
            eval_text("s NOT LIKE 'ap%'", &b),
            [false, true, false, false]
        );
        assert_eq!(eval_text("i IN (1, 4)", &b), [true, false, false, true]);
        assert_eq!(
            eval_text("i NOT IN (1, 4)", &b),
            [false, true, false, false]
        );
        assert_eq!(eval_text("i NOT IN (1, NULL)", &b), [false; 4]);
    }

    #[test]
    fn nested_struct_fields_are_null_under_a_null_struct() {
        let mut rows = sample_rows();
        rows[0].st_null = true;
        let b = batch(&rows);
        assert_eq!(eval_text("st.x = 1", &b), [false, false, false, false]);
        assert_eq!(eval_text("st.x >= 1", &b), [false, true, false, true]);
        assert_eq!(eval_text("st.x IS NULL", &b), [true, false, true, false]);
        assert_eq!(
            eval_text("st.x IS NOT NULL", &b),
            [false, true, false, true]
        );
    }

    #[test]
    fn filter_batch_keeps_matching_rows() {
        let b = batch(&sample_rows());
        let bound = Expr::parse("s LIKE 'a%' AND i > 1")
            .unwrap()
            .bind(&schema())
            .unwrap();
        let out = filter_batch(&bound, &b).unwrap();
        assert_eq!(out.num_rows(), 1);
        assert_eq!(
            out.column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(0),
            4
        );
    }

    fn single(name: &str, id: FieldId, a: ArrayRef) -> RecordBatch {
        let f = field(name, a.data_type().clone(), id);
        RecordBatch::try_new(Arc::new(ArrowSchema::new(vec![f])), vec![a]).unwrap()
    }

    #[test]
    fn other_string_encodings_are_accepted() {
        let vals = vec![Some("ab"), None, Some("b")];
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(LargeStringArray::from(vals.clone())),
            Arc::new(StringViewArray::from(vals.clone())),
            Arc::new(vals.iter().copied().collect::<DictionaryArray<Int32Type>>()),
        ];
        for a in arrays {
            let t = a.data_type().clone();
            let b = single("s", 2, a);
            assert_eq!(eval_text("s = 'b'", &b), [false, false, true], "{t}");
            assert_eq!(eval_text("s < 'b'", &b), [true, false, false], "{t}");
            assert_eq!(eval_text("s LIKE 'a%'", &b), [true, false, false], "{t}");
            assert_eq!(
                eval_text("s IN ('ab', 'x')", &b),
                [true, false, false],
                "{t}"
            );
        }
    }

    #[test]
    fn widened_file_types_are_read_as_the_bound_type() {
        // An int32 file column of an int64 field; a float32 one of a float64 field; a date
        // file column of a timestamptz field; a narrower decimal; another UTC spelling.
        let b = single(
            "i",
            1,
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])),
        );
        assert_eq!(eval_text("i >= 2", &b), [false, false, true]);
        assert_eq!(eval_text("i < 5000000000", &b), [true, false, true]);
        let b = single(
            "f",
            3,
            Arc::new(Float32Array::from(vec![
                Some(0.5),
                Some(f32::NAN),
                Some(2.0),
            ])),
        );
        assert_eq!(eval_text("f > 1", &b), [false, false, true]);
        assert_eq!(eval_text("f <> 2", &b), [true, true, false]);
        let b = single("ts", 9, Arc::new(Date32Array::from(vec![Some(0), Some(1)])));
        assert_eq!(
            eval_text("ts >= TIMESTAMPTZ '1970-01-01 12:00:00Z'", &b),
            [false, true]
        );
        let b = single(
            "p",
            8,
            Arc::new(
                Decimal128Array::from(vec![Some(150), Some(-5)])
                    .with_precision_and_scale(5, 2)
                    .unwrap(),
            ),
        );
        assert_eq!(eval_text("p > 1", &b), [true, false]);
        let b = single(
            "ts",
            9,
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(0), Some(5)]).with_timezone("+00:00"),
            ),
        );
        assert_eq!(eval_text("ts > '1970-01-01T00:00:00Z'", &b), [false, true]);
    }

    #[test]
    fn missing_and_mistyped_columns_are_errors_naming_the_column() {
        let b = single("i", 1, Arc::new(Int64Array::from(vec![1])));
        let bound = Expr::parse("s = 'x'").unwrap().bind(&schema()).unwrap();
        let e = evaluate(&bound, &b).unwrap_err().to_string();
        assert!(e.contains("`s`") && e.contains("field id 2"), "{e}");
        let b = single("i", 1, new_null_array(&ArrowType::Binary, 1));
        let bound = Expr::parse("i = 1").unwrap().bind(&schema()).unwrap();
        let e = evaluate(&bound, &b).unwrap_err().to_string();
        assert!(e.contains("`i`") && e.contains("Binary"), "{e}");
    }

    #[test]
    fn hand_built_empty_in_lists_follow_the_row_semantics() {
        let b = batch(&sample_rows());
        let column = BoundReference {
            field_id: 1,
            path: "i".into(),
            data_type: PrimitiveType::Int64,
        };
        for negated in [false, true] {
            let e = BoundExpr::In {
                column: column.clone(),
                values: vec![],
                negated,
            };
            let got = evaluate(&e, &b).unwrap();
            for (k, r) in sample_rows().iter().enumerate() {
                let vals = r.values();
                assert_eq!(got.value(k), e.matches(&|id| vals.get(&id)), "{e} row {k}");
            }
        }
    }

    #[test]
    fn constants_evaluate_to_all_or_nothing() {
        let b = batch(&sample_rows());
        assert_eq!(
            evaluate(&BoundExpr::AlwaysTrue, &b).unwrap().true_count(),
            4
        );
        assert_eq!(
            evaluate(&BoundExpr::AlwaysFalse, &b).unwrap().true_count(),
            0
        );
        assert_eq!(
            filter_batch(&BoundExpr::AlwaysTrue, &b).unwrap().num_rows(),
            4
        );
    }
}
