//! Filter pushdown: DataFusion expressions translated into Strata predicates.
//!
//! A filter is pushed down only when its translation means exactly the same thing, so Strata
//! can both prune with it (partitions, file and row-group statistics, pages) and apply it to
//! rows: the provider then reports it `Exact` and DataFusion does not filter again.
//! Translated: comparisons between a top-level column and a literal, `AND`, `OR`, `NOT`,
//! `IS [NOT] NULL`, `[NOT] IN (literals)`, `[NOT] BETWEEN` and `LIKE 'prefix%'`.
//!
//! Not translated (`Unsupported`: DataFusion filters): anything on a floating-point column,
//! because DataFusion compares floats by IEEE 754 total order (`NaN = NaN`, `NaN` above
//! every number, `-0.0 < 0.0`) where Strata follows the comparison rules of SQL and IEEE
//! (every comparison with NaN false); casts, arithmetic, functions, nested fields, and
//! literals of types Strata's predicates do not have.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr as DfExpr, Operator, TableProviderFilterPushDown};
use strata_format::datum::Datum;
use strata_format::expr::{CompareOp, Expr, Literal};
use strata_format::schema::{DataType, PrimitiveType, Schema};

/// The Strata predicate meaning exactly `expr`, if there is one.
pub fn to_strata(expr: &DfExpr, schema: &Schema) -> Option<Expr> {
    match expr {
        DfExpr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => Some(Expr::And(
                Box::new(to_strata(left, schema)?),
                Box::new(to_strata(right, schema)?),
            )),
            Operator::Or => Some(Expr::Or(
                Box::new(to_strata(left, schema)?),
                Box::new(to_strata(right, schema)?),
            )),
            _ => {
                let op = compare_op(*op)?;
                match (column(left, schema), literal(right)) {
                    (Some(c), Some(l)) => Some(compare(op, c, l)),
                    _ => {
                        let (c, l) = (column(right, schema)?, literal(left)?);
                        Some(compare(flip(op), c, l))
                    }
                }
            }
        },
        DfExpr::Not(inner) => Some(Expr::Not(Box::new(to_strata(inner, schema)?))),
        DfExpr::IsNull(inner) => Some(Expr::IsNull {
            expr: Box::new(column(inner, schema)?),
            negated: false,
        }),
        DfExpr::IsNotNull(inner) => Some(Expr::IsNull {
            expr: Box::new(column(inner, schema)?),
            negated: true,
        }),
        DfExpr::InList(in_list) => {
            let c = column(&in_list.expr, schema)?;
            if in_list.list.is_empty() {
                return None;
            }
            let list = in_list
                .list
                .iter()
                .map(|e| literal(e).map(Expr::Literal))
                .collect::<Option<Vec<_>>>()?;
            Some(Expr::In {
                expr: Box::new(c),
                list,
                negated: in_list.negated,
            })
        }
        DfExpr::Between(b) => {
            let c = column(&b.expr, schema)?;
            let (lo, hi) = (literal(&b.low)?, literal(&b.high)?);
            Some(if b.negated {
                Expr::Or(
                    Box::new(compare(CompareOp::Lt, c.clone(), lo)),
                    Box::new(compare(CompareOp::Gt, c, hi)),
                )
            } else {
                Expr::And(
                    Box::new(compare(CompareOp::GtEq, c.clone(), lo)),
                    Box::new(compare(CompareOp::LtEq, c, hi)),
                )
            })
        }
        DfExpr::Like(like) if !like.case_insensitive && like.escape_char.is_none() => {
            let c = column(&like.expr, schema)?;
            let Some(Literal::String(pattern)) = literal(&like.pattern) else {
                return None;
            };
            let prefix = pattern.strip_suffix('%')?;
            if prefix.contains(['%', '_', '\\']) {
                return None;
            }
            let starts = Expr::StartsWith {
                expr: Box::new(c),
                prefix: Box::new(Expr::Literal(Literal::String(prefix.to_string()))),
            };
            Some(if like.negated {
                Expr::Not(Box::new(starts))
            } else {
                starts
            })
        }
        _ => None,
    }
}

/// How a filter is pushed down: `Exact` when it translates, `Unsupported` otherwise.
pub fn pushdown(expr: &DfExpr, schema: &Schema) -> TableProviderFilterPushDown {
    if to_strata(expr, schema).is_some() {
        TableProviderFilterPushDown::Exact
    } else {
        TableProviderFilterPushDown::Unsupported
    }
}

/// The conjunction of the filters that translate (`None` when none does).
pub fn conjunction(filters: &[DfExpr], schema: &Schema) -> Option<Expr> {
    filters
        .iter()
        .filter_map(|f| to_strata(f, schema))
        .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)))
}

fn compare(op: CompareOp, column: Expr, lit: Literal) -> Expr {
    Expr::Compare {
        op,
        left: Box::new(column),
        right: Box::new(Expr::Literal(lit)),
    }
}

fn compare_op(op: Operator) -> Option<CompareOp> {
    Some(match op {
        Operator::Eq => CompareOp::Eq,
        Operator::NotEq => CompareOp::NotEq,
        Operator::Lt => CompareOp::Lt,
        Operator::LtEq => CompareOp::LtEq,
        Operator::Gt => CompareOp::Gt,
        Operator::GtEq => CompareOp::GtEq,
        _ => return None,
    })
}

/// `a op b` as `b op' a`.
fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::LtEq => CompareOp::GtEq,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::GtEq => CompareOp::LtEq,
        other => other,
    }
}

/// A top-level, non-floating-point column of the table.
fn column(expr: &DfExpr, schema: &Schema) -> Option<Expr> {
    let DfExpr::Column(c) = expr else {
        return None;
    };
    let field = schema.field_by_name(&c.name)?;
    if c.name.contains('.') {
        return None;
    }
    match &field.data_type {
        DataType::Primitive(PrimitiveType::Float32 | PrimitiveType::Float64) => None,
        DataType::Primitive(_) => Some(Expr::Column(c.name.clone())),
        _ => None,
    }
}

/// A literal Strata's predicates can hold, with its exact value.
fn literal(expr: &DfExpr) -> Option<Literal> {
    let DfExpr::Literal(value, _) = expr else {
        return None;
    };
    Some(match value {
        ScalarValue::Boolean(Some(b)) => Literal::Bool(*b),
        ScalarValue::Int8(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Literal::Int(*v),
        ScalarValue::UInt8(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::UInt64(Some(v)) => Literal::Int(i64::try_from(*v).ok()?),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Literal::String(s.clone()),
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b)) => Literal::Typed(Datum::Binary(b.clone())),
        ScalarValue::Date32(Some(d)) => Literal::Typed(Datum::Date(*d)),
        ScalarValue::Time64Microsecond(Some(t)) => Literal::Typed(Datum::Time(*t)),
        ScalarValue::TimestampMicrosecond(Some(t), None) => Literal::Typed(Datum::Timestamp(*t)),
        ScalarValue::TimestampMicrosecond(Some(t), Some(_)) => {
            Literal::Typed(Datum::Timestamptz(*t))
        }
        ScalarValue::Decimal128(Some(v), p, s) => Literal::Typed(Datum::Decimal {
            unscaled: *v,
            precision: *p,
            scale: u8::try_from(*s).ok()?,
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::{col, lit};
    use strata_format::compact::parse_schema;

    use super::*;

    fn schema() -> Schema {
        parse_schema("id:int64,name:string?,score:float64?,day:date?").unwrap()
    }

    fn text(e: &DfExpr) -> Option<String> {
        to_strata(e, &schema()).map(|e| e.to_string())
    }

    #[test]
    fn exact_translations_keep_their_meaning() {
        assert_eq!(text(&col("id").gt(lit(3i64))).as_deref(), Some("id > 3"));
        assert_eq!(text(&lit(3i64).gt(col("id"))).as_deref(), Some("id < 3"));
        assert_eq!(
            text(&col("id").between(lit(1i64), lit(5i64))).as_deref(),
            Some("id >= 1 AND id <= 5")
        );
        assert_eq!(
            text(&col("name").like(lit("ab%"))).as_deref(),
            Some("starts_with(name, 'ab')")
        );
        assert_eq!(
            text(&col("id").in_list(vec![lit(1i64), lit(2i64)], true)).as_deref(),
            Some("id NOT IN (1, 2)")
        );
        assert_eq!(
            text(&col("name").is_null().or(col("id").eq(lit(1i64)))).as_deref(),
            Some("name IS NULL OR id = 1")
        );
    }

    #[test]
    fn untranslatable_filters_stay_with_datafusion() {
        // Floats: DataFusion's total order differs from SQL/IEEE comparisons.
        assert_eq!(text(&col("score").gt(lit(1.0f64))), None);
        assert_eq!(text(&col("name").like(lit("a_c%"))), None);
        assert_eq!(text(&col("name").ilike(lit("ab%"))), None);
        assert_eq!(text(&(col("id") + lit(1i64)).gt(lit(3i64))), None);
        assert_eq!(text(&col("nope").eq(lit(1i64))), None);
        assert_eq!(text(&col("id").eq(col("id"))), None);
        // One untranslatable side makes the whole OR untranslatable.
        assert_eq!(
            text(&col("id").eq(lit(1i64)).or(col("score").lt(lit(0.5f64)))),
            None
        );
        assert!(matches!(
            pushdown(&col("score").lt(lit(0.5f64)), &schema()),
            TableProviderFilterPushDown::Unsupported
        ));
    }
}
