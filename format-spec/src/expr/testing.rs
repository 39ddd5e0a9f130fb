//! Test support shared by the expression and pruning tests: a small schema, generators of
//! predicates and rows, and a three-valued brute-force evaluator of unbound expressions that is
//! independent of binding.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::{CompareOp, Expr, Literal};
use crate::datum::Datum;
use crate::schema::{DataType, PrimitiveType, Schema, StructField};

/// Columns `i` int64 (id 1), `s` string (2), `f` float64 (3), `b` boolean (4), all optional.
pub(crate) fn small_schema() -> Schema {
    Schema::new(
        0,
        vec![
            StructField::optional(1, "i", PrimitiveType::Int64),
            StructField::optional(2, "s", PrimitiveType::String),
            StructField::optional(3, "f", PrimitiveType::Float64),
            StructField::optional(4, "b", PrimitiveType::Boolean),
        ],
    )
    .unwrap()
}

fn bytes(d: &Datum) -> Option<&[u8]> {
    match d {
        Datum::String(s) => Some(s.as_bytes()),
        Datum::Binary(b) => Some(b),
        _ => None,
    }
}

fn literal_value(l: &Literal, t: PrimitiveType) -> Option<Datum> {
    let d = match l {
        Literal::Null => return None,
        Literal::Bool(b) => Datum::Boolean(*b),
        Literal::Int(i) => Datum::Int64(*i),
        Literal::Float(f) => Datum::Float64(*f),
        Literal::String(s) => Datum::String(s.clone()),
        Literal::Typed(d) => d.clone(),
        Literal::Decimal(_) => panic!("decimal literals are not generated"),
    };
    Some(d.cast_to(&t).unwrap())
}

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// SQL three-valued evaluation of an unbound expression over one row (values by top-level
/// column name; absent = NULL), with IEEE float comparisons.
pub(crate) fn eval3(e: &Expr, row: &BTreeMap<&str, Datum>, s: &Schema) -> Option<bool> {
    let ty = |c: &str| match s.field_by_name(c).map(|f| &f.data_type) {
        Some(DataType::Primitive(t)) => *t,
        _ => panic!("unknown column {c}"),
    };
    let col = |e: &Expr| match e {
        Expr::Column(c) => c.clone(),
        other => panic!("not a column: {other}"),
    };
    let lit = |e: &Expr| match e {
        Expr::Literal(l) => l.clone(),
        other => panic!("not a literal: {other}"),
    };
    match e {
        Expr::Literal(Literal::Bool(b)) => Some(*b),
        Expr::Literal(_) => None,
        Expr::Column(c) => match row.get(c.as_str()) {
            Some(Datum::Boolean(b)) => Some(*b),
            _ => None,
        },
        Expr::Not(x) => eval3(x, row, s).map(|b| !b),
        Expr::And(a, b) => and3(eval3(a, row, s), eval3(b, row, s)),
        Expr::Or(a, b) => or3(eval3(a, row, s), eval3(b, row, s)),
        Expr::Compare { op, left, right } => {
            let (c, op, l) = match (left.as_ref(), right.as_ref()) {
                (Expr::Column(_), _) => (col(left), *op, lit(right)),
                _ => (col(right), op.flip(), lit(left)),
            };
            let v = row.get(c.as_str())?;
            let l = literal_value(&l, ty(&c))?;
            Some(op.holds(v.partial_cmp_datum(&l)))
        }
        Expr::In {
            expr,
            list,
            negated,
        } => {
            let c = col(expr);
            let mut acc = Some(*negated);
            for item in list {
                let one = match (row.get(c.as_str()), literal_value(&lit(item), ty(&c))) {
                    (Some(v), Some(l)) => Some(CompareOp::Eq.holds(v.partial_cmp_datum(&l))),
                    _ => None,
                };
                acc = if *negated {
                    and3(acc, one.map(|b| !b))
                } else {
                    or3(acc, one)
                };
            }
            acc
        }
        Expr::IsNull { expr, negated } => Some(row.contains_key(col(expr).as_str()) == *negated),
        Expr::StartsWith { expr, prefix } => {
            let c = col(expr);
            let v = row.get(c.as_str())?;
            let p = literal_value(&lit(prefix), ty(&c))?;
            Some(bytes(v)?.starts_with(bytes(&p)?))
        }
    }
}

/// A literal suited to column `col` of [`small_schema`] (sometimes NULL; `'NaN'` for `f`).
pub(crate) fn lit_for(col: &'static str) -> BoxedStrategy<Literal> {
    let null = Just(Literal::Null);
    match col {
        "i" => prop_oneof![1 => null, 8 => (-3i64..5).prop_map(Literal::Int)].boxed(),
        "s" => prop_oneof![
            1 => null,
            8 => prop::sample::select(vec!["", "a", "ab", "abc", "abd", "b", "ba", "c", "é"])
                .prop_map(|s| Literal::String(s.into()))
        ]
        .boxed(),
        "b" => prop_oneof![1 => null, 4 => any::<bool>().prop_map(Literal::Bool)].boxed(),
        _ => prop_oneof![
            1 => null,
            1 => Just(Literal::String("NaN".into())),
            8 => prop::sample::select(vec![-1.0, -0.0, 0.0, 1.0, 2.5, 3.0])
                .prop_map(Literal::Float)
        ]
        .boxed(),
    }
}

fn leaf() -> impl Strategy<Value = Expr> {
    let col = prop::sample::select(vec!["i", "s", "f", "b"]);
    let op = prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::NotEq,
        CompareOp::Lt,
        CompareOp::LtEq,
        CompareOp::Gt,
        CompareOp::GtEq,
    ]);
    prop_oneof![
        (col.clone(), op, any::<bool>()).prop_flat_map(|(c, op, flipped)| lit_for(c).prop_map(
            move |l| if flipped {
                Expr::Literal(l).compare(op, Expr::column(c))
            } else {
                Expr::column(c).compare(op, Expr::Literal(l))
            }
        )),
        (col.clone(), any::<bool>()).prop_flat_map(|(c, n)| {
            prop::collection::vec(lit_for(c), 1..4).prop_map(move |l| {
                Expr::column(c).in_list(l.into_iter().map(Expr::Literal).collect(), n)
            })
        }),
        (col, any::<bool>()).prop_map(|(c, n)| Expr::IsNull {
            expr: Box::new(Expr::column(c)),
            negated: n
        }),
        lit_for("s").prop_map(|l| Expr::StartsWith {
            expr: Box::new(Expr::column("s")),
            prefix: Box::new(Expr::Literal(l))
        }),
        Just(Expr::column("b")),
        prop::sample::select(vec![
            Literal::Null,
            Literal::Bool(true),
            Literal::Bool(false)
        ])
        .prop_map(Expr::Literal),
    ]
}

/// Random predicates over [`small_schema`] (every construct, nested up to depth 4).
pub(crate) fn predicate() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(|a| !a),
        ]
    })
}

/// A random row of [`small_schema`] (each column possibly NULL; `f` possibly NaN or ±0).
pub(crate) fn row() -> impl Strategy<Value = BTreeMap<&'static str, Datum>> {
    (
        prop::option::of(-4i64..6),
        prop::option::of(prop::sample::select(vec![
            "", "a", "ab", "abc", "abd", "abz", "b", "bb", "c", "é",
        ])),
        prop::option::of(prop::sample::select(vec![
            f64::NAN,
            -1.0,
            -0.0,
            0.0,
            1.0,
            3.0,
        ])),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(i, s, f, b)| {
            let mut m = BTreeMap::new();
            if let Some(i) = i {
                m.insert("i", Datum::Int64(i));
            }
            if let Some(s) = s {
                m.insert("s", Datum::String(s.into()));
            }
            if let Some(f) = f {
                m.insert("f", Datum::Float64(f));
            }
            if let Some(b) = b {
                m.insert("b", Datum::Boolean(b));
            }
            m
        })
}
