//! Bound expressions ([`BoundExpr`]): predicates whose columns are resolved to field ids and
//! whose literals have the column's type; evaluation against a row, and their SQL text.

use std::collections::BTreeSet;
use std::fmt;

use super::{CompareOp, write_path};
use crate::datum::Datum;
use crate::schema::{FieldId, PrimitiveType};

/// A column of a bound expression: a primitive field reachable from the table root through
/// structs only (fields inside lists and maps cannot be referenced).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoundReference {
    /// Field id.
    pub field_id: FieldId,
    /// Dotted path of the field in the schema it was bound to.
    pub path: String,
    /// Type of the field.
    pub data_type: PrimitiveType,
}

impl BoundReference {
    pub(super) fn is_float(&self) -> bool {
        matches!(
            self.data_type,
            PrimitiveType::Float32 | PrimitiveType::Float64
        )
    }
}

/// A predicate bound to a schema: columns resolved to field ids, literals converted to the
/// column types.
///
/// A bound expression is in **negation normal form** and has **two-valued** semantics: a row
/// *matches* it exactly when the original [`Expr`](super::Expr) evaluates to TRUE for the row (FALSE and NULL
/// both do not match). Binding pushes `NOT` down to the leaves using SQL three-valued logic
/// (`NOT (a < 5)` becomes `a >= 5`, `NOT (a AND b)` becomes `NOT a OR NOT b`, …), which is exact,
/// and then replaces leaves that are never TRUE (comparisons with NULL) by [`AlwaysFalse`].
/// Consequently a `BoundExpr` must not be negated to obtain the complement of a filter: the rows
/// a filter does *not* keep are the rows that do not match (`!matches`), which include rows for
/// which the predicate is NULL.
///
/// Leaf semantics for a row whose value of the column is `v`; every leaf is false for a null
/// `v` except `IsNull`:
///
/// * `Compare`: `v op value` (IEEE 754 for floats: with a NaN only `<>` holds; `-0.0 = 0.0`);
/// * `In`: `v` equals one of `values`; negated: `v` differs from every value;
/// * `IsNull`: `v` is null (negated: not null);
/// * `IsNan`: `v` is a NaN float;
/// * `StartsWith`: `v` starts with `prefix` (string or binary); negated: does not.
///
/// [`AlwaysFalse`]: BoundExpr::AlwaysFalse
#[derive(Debug, Clone, PartialEq)]
pub enum BoundExpr {
    /// Matches every row.
    AlwaysTrue,
    /// Matches no row.
    AlwaysFalse,
    /// `column op value`; `value` has the column's type and is never NaN.
    Compare {
        /// The column.
        column: BoundReference,
        /// The operator.
        op: CompareOp,
        /// The literal, of the column's type.
        value: Datum,
    },
    /// `column [NOT] IN (values…)`: at least two values, none NaN.
    In {
        /// The column.
        column: BoundReference,
        /// The literals, of the column's type.
        values: Vec<Datum>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `column IS [NOT] NULL`
    IsNull {
        /// The column.
        column: BoundReference,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// The column's value is NaN (floating-point columns; produced when negating an ordering
    /// comparison: `NOT (f < 1)` is `f >= 1 OR isnan(f)`).
    IsNan {
        /// The column.
        column: BoundReference,
    },
    /// `[NOT] starts_with(column, prefix)`; a non-empty prefix of the column's type (string or
    /// binary).
    StartsWith {
        /// The column.
        column: BoundReference,
        /// The prefix.
        prefix: Datum,
        /// Does not start with the prefix (and is not null).
        negated: bool,
    },
    /// Both match.
    And(Box<BoundExpr>, Box<BoundExpr>),
    /// Either matches.
    Or(Box<BoundExpr>, Box<BoundExpr>),
}

impl BoundExpr {
    /// `self AND other`, folding constants.
    pub fn and(self, other: BoundExpr) -> BoundExpr {
        match (self, other) {
            (BoundExpr::AlwaysFalse, _) | (_, BoundExpr::AlwaysFalse) => BoundExpr::AlwaysFalse,
            (BoundExpr::AlwaysTrue, x) | (x, BoundExpr::AlwaysTrue) => x,
            (a, b) => BoundExpr::And(Box::new(a), Box::new(b)),
        }
    }

    /// `self OR other`, folding constants.
    pub fn or(self, other: BoundExpr) -> BoundExpr {
        match (self, other) {
            (BoundExpr::AlwaysTrue, _) | (_, BoundExpr::AlwaysTrue) => BoundExpr::AlwaysTrue,
            (BoundExpr::AlwaysFalse, x) | (x, BoundExpr::AlwaysFalse) => x,
            (a, b) => BoundExpr::Or(Box::new(a), Box::new(b)),
        }
    }

    /// Field ids of every column the expression references (the columns to read).
    pub fn field_ids(&self) -> BTreeSet<FieldId> {
        let mut out = BTreeSet::new();
        self.collect_ids(&mut out);
        out
    }

    fn collect_ids(&self, out: &mut BTreeSet<FieldId>) {
        match self {
            BoundExpr::AlwaysTrue | BoundExpr::AlwaysFalse => {}
            BoundExpr::Compare { column, .. }
            | BoundExpr::In { column, .. }
            | BoundExpr::IsNull { column, .. }
            | BoundExpr::IsNan { column }
            | BoundExpr::StartsWith { column, .. } => {
                out.insert(column.field_id);
            }
            BoundExpr::And(a, b) | BoundExpr::Or(a, b) => {
                a.collect_ids(out);
                b.collect_ids(out);
            }
        }
    }

    /// Reference row evaluator: whether a row matches, given each column's value by field id
    /// (`None` for null). Values may have any type that compares with the literal (see
    /// [`Datum::partial_cmp_datum`]).
    pub fn matches<'a>(&self, value: &dyn Fn(FieldId) -> Option<&'a Datum>) -> bool {
        match self {
            BoundExpr::AlwaysTrue => true,
            BoundExpr::AlwaysFalse => false,
            BoundExpr::Compare {
                column,
                op,
                value: lit,
            } => value(column.field_id).is_some_and(|v| op.holds(v.partial_cmp_datum(lit))),
            BoundExpr::In {
                column,
                values,
                negated,
            } => value(column.field_id).is_some_and(|v| {
                if *negated {
                    values
                        .iter()
                        .all(|x| CompareOp::NotEq.holds(v.partial_cmp_datum(x)))
                } else {
                    values
                        .iter()
                        .any(|x| CompareOp::Eq.holds(v.partial_cmp_datum(x)))
                }
            }),
            BoundExpr::IsNull { column, negated } => value(column.field_id).is_some() == *negated,
            BoundExpr::IsNan { column } => value(column.field_id).is_some_and(Datum::is_nan),
            BoundExpr::StartsWith {
                column,
                prefix,
                negated,
            } => value(column.field_id).is_some_and(|v| match (bytes_of(v), bytes_of(prefix)) {
                (Some(v), Some(p)) => v.starts_with(p) != *negated,
                _ => false,
            }),
            BoundExpr::And(a, b) => a.matches(value) && b.matches(value),
            BoundExpr::Or(a, b) => a.matches(value) || b.matches(value),
        }
    }
}

pub(super) fn bytes_of(d: &Datum) -> Option<&[u8]> {
    match d {
        Datum::String(s) => Some(s.as_bytes()),
        Datum::Binary(b) => Some(b),
        _ => None,
    }
}

fn write_child(f: &mut fmt::Formatter<'_>, e: &BoundExpr) -> fmt::Result {
    if matches!(e, BoundExpr::And(..) | BoundExpr::Or(..)) {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl fmt::Display for BoundExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoundExpr::AlwaysTrue => f.write_str("TRUE"),
            BoundExpr::AlwaysFalse => f.write_str("FALSE"),
            BoundExpr::Compare { column, op, value } => {
                write_path(f, &column.path)?;
                write!(f, " {op} {value}")
            }
            BoundExpr::In {
                column,
                values,
                negated,
            } => {
                write_path(f, &column.path)?;
                f.write_str(if *negated { " NOT IN (" } else { " IN (" })?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            BoundExpr::IsNull { column, negated } => {
                write_path(f, &column.path)?;
                f.write_str(if *negated { " IS NOT NULL" } else { " IS NULL" })
            }
            BoundExpr::IsNan { column } => {
                f.write_str("isnan(")?;
                write_path(f, &column.path)?;
                f.write_str(")")
            }
            BoundExpr::StartsWith {
                column,
                prefix,
                negated,
            } => {
                if *negated {
                    f.write_str("NOT ")?;
                }
                f.write_str("starts_with(")?;
                write_path(f, &column.path)?;
                write!(f, ", {prefix})")
            }
            BoundExpr::And(a, b) => {
                write_child(f, a)?;
                f.write_str(" AND ")?;
                write_child(f, b)
            }
            BoundExpr::Or(a, b) => {
                write_child(f, a)?;
                f.write_str(" OR ")?;
                write_child(f, b)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::bind::tests::b;
    use std::collections::BTreeMap;

    #[test]
    fn bound_display_is_readable_sql() {
        assert_eq!(
            b("loc.city IN ('a', 'b') AND (day < '2024-01-01' OR blob IS NULL)").to_string(),
            "loc.city IN ('a', 'b') AND (day < DATE '2024-01-01' OR blob IS NULL)"
        );
    }

    #[test]
    fn matches_evaluates_rows() {
        let e = b("id > 1 AND NOT name LIKE 'a%'");
        let row = BTreeMap::from([(1, Datum::Int64(2)), (2, Datum::String("b".into()))]);
        assert!(e.matches(&|id| row.get(&id)));
        let row = BTreeMap::from([(1, Datum::Int64(2))]);
        assert!(!e.matches(&|id| row.get(&id)), "NULL name is not a match");
    }
}
