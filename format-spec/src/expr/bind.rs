//! Binding an [`Expr`] to a schema: [`BoundExpr`].

use super::bound::{BoundExpr, BoundReference, bytes_of};
use super::{CompareOp, Expr, Literal};
use crate::datum::{Datum, digit_count, parse_decimal_text};
use crate::error::{FormatError, Result};
use crate::schema::{DataType, PrimitiveType, Schema, StructField};

fn err(msg: impl Into<String>) -> FormatError {
    FormatError::InvalidExpression(msg.into())
}

/// The columns an expression can reference: fields reachable through structs.
struct Columns<'a> {
    entries: Vec<(String, &'a StructField)>,
}

impl<'a> Columns<'a> {
    fn new(schema: &'a Schema) -> Self {
        fn walk<'a>(
            fields: &'a [StructField],
            prefix: &str,
            out: &mut Vec<(String, &'a StructField)>,
        ) {
            for f in fields {
                let path = if prefix.is_empty() {
                    f.name.clone()
                } else {
                    format!("{prefix}.{}", f.name)
                };
                if let DataType::Struct(s) = &f.data_type {
                    walk(&s.fields, &path, out);
                }
                out.push((path, f));
            }
        }
        let mut entries = Vec::new();
        walk(schema.fields(), "", &mut entries);
        Self { entries }
    }

    fn available(&self) -> String {
        const MAX: usize = 30;
        let prim: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, f)| matches!(f.data_type, DataType::Primitive(_)))
            .map(|(p, _)| format!("`{p}`"))
            .collect();
        if prim.is_empty() {
            return "none".into();
        }
        let mut s = prim
            .iter()
            .take(MAX)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if prim.len() > MAX {
            s.push_str(&format!(" and {} more", prim.len() - MAX));
        }
        s
    }

    /// Resolves a path: exact match first, then a unique case-insensitive match.
    fn resolve(&self, path: &str) -> Result<BoundReference> {
        let exact: Vec<_> = self.entries.iter().filter(|(p, _)| p == path).collect();
        let found = match exact.as_slice() {
            [one] => *one,
            [] => {
                let lower = path.to_lowercase();
                let ci: Vec<_> = self
                    .entries
                    .iter()
                    .filter(|(p, _)| p.to_lowercase() == lower)
                    .collect();
                match ci.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(err(format!(
                            "unknown column `{path}`; available columns: {}",
                            self.available()
                        )));
                    }
                    many => {
                        return Err(err(format!(
                            "column `{path}` is ambiguous: it matches {} ignoring case; write \
                             the exact name",
                            many.iter()
                                .map(|(p, _)| format!("`{p}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                }
            }
            _ => {
                return Err(err(format!(
                    "column `{path}` is ambiguous: several fields have this dotted path (field \
                     names containing dots)"
                )));
            }
        };
        let (p, field) = found;
        match &field.data_type {
            DataType::Primitive(t) => Ok(BoundReference {
                field_id: field.id,
                path: p.clone(),
                data_type: *t,
            }),
            DataType::Struct(s) => Err(err(format!(
                "column `{p}` is a struct; predicates apply to primitive fields such as `{p}.{}`",
                s.fields.first().map(|f| f.name.as_str()).unwrap_or("field")
            ))),
            other => Err(err(format!(
                "column `{p}` has type {other}; predicates on list and map columns are not \
                 supported"
            ))),
        }
    }
}

/// The datum an untyped literal stands for before coercion; `None` for NULL.
fn literal_datum(lit: &Literal) -> Result<Option<Datum>> {
    Ok(Some(match lit {
        Literal::Null => return Ok(None),
        Literal::Bool(b) => Datum::Boolean(*b),
        Literal::Int(i) => Datum::Int64(*i),
        Literal::Float(f) => Datum::Float64(*f),
        Literal::String(s) => Datum::String(s.clone()),
        Literal::Typed(d) => d.clone(),
        Literal::Decimal(text) => {
            let (neg, unscaled, scale) = parse_decimal_text(text).ok_or_else(|| {
                err(format!(
                    "numeric literal {text} is not a valid decimal of at most 38 digits"
                ))
            })?;
            let precision = digit_count(unscaled).max(scale).max(1);
            Datum::decimal(if neg { -unscaled } else { unscaled }, precision, scale)
                .map_err(|e| err(format!("numeric literal {text}: {e}")))?
        }
    }))
}

/// Converts a literal to the column's type; `None` for NULL.
fn coerce(col: &BoundReference, lit: &Literal) -> Result<Option<Datum>> {
    let Some(d) = literal_datum(lit)? else {
        return Ok(None);
    };
    d.cast_to(&col.data_type).map(Some).map_err(|e| {
        let why = match e {
            FormatError::InvalidValue(m) => m,
            other => other.to_string(),
        };
        err(format!(
            "column `{}` of type {} cannot be compared with {lit}: {why}",
            col.path, col.data_type
        ))
    })
}

fn compare_leaf(col: BoundReference, op: CompareOp, value: Datum, negated: bool) -> BoundExpr {
    if value.is_nan() {
        // Every comparison with NaN is FALSE except <>, which is TRUE (for non-null values).
        let holds = (op == CompareOp::NotEq) != negated;
        return if holds {
            BoundExpr::IsNull {
                column: col,
                negated: true,
            }
        } else {
            BoundExpr::AlwaysFalse
        };
    }
    if !negated {
        return BoundExpr::Compare {
            column: col,
            op,
            value,
        };
    }
    let ordering = !matches!(op, CompareOp::Eq | CompareOp::NotEq);
    let nan = col.is_float() && ordering;
    let cmp = BoundExpr::Compare {
        column: col.clone(),
        op: op.negate(),
        value,
    };
    if nan {
        // NOT (f < v) is TRUE for NaN, but f >= v is not.
        cmp.or(BoundExpr::IsNan { column: col })
    } else {
        cmp
    }
}

fn column_of<'e>(e: &'e Expr, what: &str, whole: &Expr) -> Result<&'e str> {
    match e {
        Expr::Column(c) => Ok(c),
        other => Err(err(format!(
            "{what} needs a column as its operand, got `{other}` in `{whole}`"
        ))),
    }
}

impl Expr {
    /// Binds the expression to `schema`: resolves column paths to field ids (exact name first,
    /// then a unique case-insensitive match), converts literals to the column types
    /// ([`Datum::cast_to`]), checks operand shapes and types, pushes `NOT` down and folds
    /// constants. See [`BoundExpr`] for the result's semantics.
    ///
    /// Errors name the column and literal concerned: unknown columns (listing the available
    /// ones), struct/list/map columns, literals that do not fit the column type, comparisons
    /// that are not column-vs-literal, `starts_with` on a column that is not string/binary, and
    /// non-boolean expressions used as conditions.
    pub fn bind(&self, schema: &Schema) -> Result<BoundExpr> {
        bind(self, false, &Columns::new(schema))
    }
}

fn bind(e: &Expr, negated: bool, cols: &Columns<'_>) -> Result<BoundExpr> {
    Ok(match e {
        Expr::Not(x) => bind(x, !negated, cols)?,
        Expr::And(a, b) => {
            let (l, r) = (bind(a, negated, cols)?, bind(b, negated, cols)?);
            if negated { l.or(r) } else { l.and(r) }
        }
        Expr::Or(a, b) => {
            let (l, r) = (bind(a, negated, cols)?, bind(b, negated, cols)?);
            if negated { l.and(r) } else { l.or(r) }
        }
        Expr::Literal(Literal::Bool(b)) => {
            if *b != negated {
                BoundExpr::AlwaysTrue
            } else {
                BoundExpr::AlwaysFalse
            }
        }
        Expr::Literal(Literal::Null) => BoundExpr::AlwaysFalse,
        Expr::Literal(other) => {
            return Err(err(format!(
                "the literal {other} is not a condition; compare it with a column"
            )));
        }
        Expr::Column(c) => {
            let col = cols.resolve(c)?;
            if col.data_type != PrimitiveType::Boolean {
                return Err(err(format!(
                    "column `{}` has type {}, not boolean, so it cannot be used as a condition \
                     on its own; compare it with a value",
                    col.path, col.data_type
                )));
            }
            BoundExpr::Compare {
                column: col,
                op: CompareOp::Eq,
                value: Datum::Boolean(!negated),
            }
        }
        Expr::Compare { op, left, right } => {
            let (path, op, lit) = match (left.as_ref(), right.as_ref()) {
                (Expr::Column(c), Expr::Literal(l)) => (c, *op, l),
                (Expr::Literal(l), Expr::Column(c)) => (c, op.flip(), l),
                (Expr::Column(_), Expr::Column(_)) => {
                    return Err(err(format!(
                        "comparing two columns (`{e}`) is not supported; compare a column with \
                         a literal"
                    )));
                }
                (Expr::Literal(_), Expr::Literal(_)) => {
                    return Err(err(format!(
                        "comparing two literals (`{e}`) is not supported; compare a column with \
                         a literal"
                    )));
                }
                _ => {
                    return Err(err(format!(
                        "the operands of `{e}` must be a column and a literal"
                    )));
                }
            };
            let col = cols.resolve(path)?;
            match coerce(&col, lit)? {
                None => BoundExpr::AlwaysFalse,
                Some(v) => compare_leaf(col, op, v, negated),
            }
        }
        Expr::In {
            expr,
            list,
            negated: not_in,
        } => {
            let col = cols.resolve(column_of(expr, "IN", e)?)?;
            let negated = *not_in != negated;
            let mut values: Vec<Datum> = Vec::with_capacity(list.len());
            let mut saw_null = false;
            for item in list {
                let Expr::Literal(lit) = item else {
                    return Err(err(format!(
                        "IN lists may only hold literals, got `{item}` in `{e}`"
                    )));
                };
                match coerce(&col, lit)? {
                    None => saw_null = true,
                    // NaN equals nothing and differs from everything: it never decides IN.
                    Some(v) if v.is_nan() => {}
                    Some(v) => {
                        if !values.contains(&v) {
                            values.push(v);
                        }
                    }
                }
            }
            match (negated, values.len()) {
                // x NOT IN (…, NULL) is never TRUE.
                (true, _) if saw_null => BoundExpr::AlwaysFalse,
                (true, 0) => BoundExpr::IsNull {
                    column: col,
                    negated: true,
                },
                (false, 0) => BoundExpr::AlwaysFalse,
                (_, 1) => BoundExpr::Compare {
                    column: col,
                    op: if negated {
                        CompareOp::NotEq
                    } else {
                        CompareOp::Eq
                    },
                    value: values.remove(0),
                },
                _ => BoundExpr::In {
                    column: col,
                    values,
                    negated,
                },
            }
        }
        Expr::IsNull {
            expr,
            negated: not_null,
        } => BoundExpr::IsNull {
            column: cols.resolve(column_of(expr, "IS NULL", e)?)?,
            negated: *not_null != negated,
        },
        Expr::StartsWith { expr, prefix } => {
            let col = cols.resolve(column_of(expr, "starts_with", e)?)?;
            if !matches!(col.data_type, PrimitiveType::String | PrimitiveType::Binary) {
                return Err(err(format!(
                    "starts_with/LIKE needs a string or binary column, but `{}` has type {}",
                    col.path, col.data_type
                )));
            }
            let lit = match prefix.as_ref() {
                Expr::Literal(
                    l @ (Literal::Null
                    | Literal::String(_)
                    | Literal::Typed(Datum::Binary(_) | Datum::String(_))),
                ) => l,
                other => {
                    return Err(err(format!(
                        "the prefix of starts_with must be a string literal (or X'…' for binary \
                         columns), got `{other}` in `{e}`"
                    )));
                }
            };
            match coerce(&col, lit)? {
                None => BoundExpr::AlwaysFalse,
                Some(p) if bytes_of(&p).is_some_and(<[u8]>::is_empty) => {
                    // Every non-null value starts with the empty prefix.
                    if negated {
                        BoundExpr::AlwaysFalse
                    } else {
                        BoundExpr::IsNull {
                            column: col,
                            negated: true,
                        }
                    }
                }
                Some(p) => BoundExpr::StartsWith {
                    column: col,
                    prefix: p,
                    negated,
                },
            }
        }
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::schema::FieldId;
    use crate::schema::{ListType, StructType};
    use std::collections::{BTreeMap, BTreeSet};

    fn schema() -> Schema {
        use PrimitiveType as T;
        Schema::new(
            0,
            vec![
                StructField::required(1, "id", T::Int64),
                StructField::optional(2, "name", T::String),
                StructField::optional(3, "score", T::Float64),
                StructField::optional(4, "small", T::Int8),
                StructField::optional(
                    5,
                    "price",
                    T::Decimal {
                        precision: 6,
                        scale: 2,
                    },
                ),
                StructField::optional(6, "day", T::Date),
                StructField::optional(7, "ts", T::Timestamptz),
                StructField::optional(8, "flag", T::Boolean),
                StructField::optional(9, "blob", T::Binary),
                StructField::optional(
                    10,
                    "loc",
                    DataType::Struct(StructType {
                        fields: vec![
                            StructField::optional(11, "city", T::String),
                            StructField::optional(12, "Zip", T::Int32),
                        ],
                    }),
                ),
                StructField::optional(
                    13,
                    "tags",
                    DataType::List(ListType {
                        element_id: 14,
                        element_required: false,
                        element: Box::new(T::String.into()),
                    }),
                ),
            ],
        )
        .unwrap()
    }

    pub(in crate::expr) fn b(text: &str) -> BoundExpr {
        Expr::parse(text)
            .unwrap()
            .bind(&schema())
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn berr(text: &str) -> String {
        Expr::parse(text)
            .unwrap()
            .bind(&schema())
            .unwrap_err()
            .to_string()
    }

    fn r(id: FieldId, path: &str, t: PrimitiveType) -> BoundReference {
        BoundReference {
            field_id: id,
            path: path.into(),
            data_type: t,
        }
    }

    #[test]
    fn columns_resolve_to_field_ids_including_nested_and_case_insensitive() {
        assert_eq!(
            b("loc.city = 'x'"),
            BoundExpr::Compare {
                column: r(11, "loc.city", PrimitiveType::String),
                op: CompareOp::Eq,
                value: Datum::String("x".into())
            }
        );
        assert_eq!(b("LOC.zip > 5").field_ids(), BTreeSet::from([12]));
        assert_eq!(
            b("id = 1 AND (name IS NULL OR loc.Zip < 3)").field_ids(),
            BTreeSet::from([1, 2, 12])
        );
    }

    #[test]
    fn unknown_columns_are_named_with_the_available_ones() {
        let e = berr("nope = 1");
        assert!(e.contains("unknown column `nope`"), "{e}");
        assert!(e.contains("`id`") && e.contains("`loc.city`"), "{e}");
        let e = berr("loc = 1");
        assert!(
            e.contains("`loc` is a struct") && e.contains("loc.city"),
            "{e}"
        );
        let e = berr("tags IS NULL");
        assert!(e.contains("`tags`") && e.contains("list"), "{e}");
    }

    #[test]
    fn literals_are_coerced_to_the_column_type() {
        let cmp = |text: &str| match b(text) {
            BoundExpr::Compare { value, .. } => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(cmp("small = 5"), Datum::Int8(5));
        assert_eq!(cmp("price < 5"), Datum::decimal(500, 6, 2).unwrap());
        assert_eq!(cmp("price < 5.5"), Datum::decimal(550, 6, 2).unwrap());
        assert_eq!(cmp("score > 1"), Datum::Float64(1.0));
        assert_eq!(cmp("score > 0.1"), Datum::Float64(0.1));
        assert_eq!(cmp("day >= '2024-01-01'"), Datum::Date(19723));
        assert_eq!(cmp("day >= DATE '2024-01-01'"), Datum::Date(19723));
        assert_eq!(
            cmp("ts >= DATE '1970-01-02'"),
            Datum::Timestamptz(86_400_000_000)
        );
        assert_eq!(
            cmp("ts < '1970-01-01T00:00:01Z'"),
            Datum::Timestamptz(1_000_000)
        );
        assert_eq!(cmp("blob = 'ab'"), Datum::Binary(b"ab".to_vec()));
        assert_eq!(cmp("flag = true"), Datum::Boolean(true));
    }

    #[test]
    fn literals_that_do_not_fit_are_errors_naming_column_literal_and_type() {
        let cases = [
            ("small = 300", ["`small`", "int8", "300"]),
            ("price = 1.234", ["`price`", "decimal(6,2)", "1.234"]),
            ("price = 12345", ["`price`", "decimal(6,2)", "12345"]),
            ("day = 'yesterday'", ["`day`", "date", "'yesterday'"]),
            ("id = 'x'", ["`id`", "int64", "'x'"]),
            ("id = 1.5", ["`id`", "int64", "fractional"]),
            ("name = 5", ["`name`", "string", "5"]),
            ("flag = 1", ["`flag`", "boolean", "1"]),
            (
                "day = TIMESTAMP '2024-01-01 10:00:00'",
                ["`day`", "date", "midnight"],
            ),
        ];
        for (text, wants) in cases {
            let e = berr(text);
            for w in wants {
                assert!(e.contains(w), "{text}: {e} (missing {w})");
            }
        }
    }

    #[test]
    fn operand_shapes_and_types_are_checked() {
        assert!(berr("id = name").contains("two columns"));
        assert!(berr("1 = 1").contains("two literals"));
        assert!(berr("id IN (1, name)").contains("only hold literals"));
        assert!(berr("starts_with(id, '1')").contains("string or binary column"));
        assert!(berr("starts_with(name, 1)").contains("string literal"));
        assert!(berr("id").contains("not boolean"));
        assert!(berr("5").contains("not a condition"));
        assert!(berr("(id = 1) IS NULL").contains("needs a column"));
        assert!(berr("(id = 1) = TRUE").contains("column and a literal"));
    }

    #[test]
    fn not_is_pushed_down_to_the_leaves() {
        assert_eq!(b("NOT id < 5"), b("id >= 5"));
        assert_eq!(
            b("NOT (id = 1 AND name = 'a')"),
            b("id <> 1 OR name <> 'a'")
        );
        assert_eq!(
            b("NOT (id = 1 OR NOT name IS NULL)"),
            b("id <> 1 AND name IS NULL")
        );
        assert_eq!(b("NOT id IN (1, 2)"), b("id NOT IN (1, 2)"));
        assert_eq!(
            b("NOT name LIKE 'a%'").to_string(),
            "NOT starts_with(name, 'a')"
        );
        assert_eq!(b("NOT flag"), b("flag = FALSE"));
        assert_eq!(b("NOT NOT flag"), b("flag = TRUE"));
    }

    #[test]
    fn negated_float_ordering_keeps_nan_rows() {
        assert_eq!(
            b("NOT score < 1").to_string(),
            "score >= 1e0 OR isnan(score)"
        );
        assert_eq!(b("NOT score = 1").to_string(), "score <> 1e0");
    }

    #[test]
    fn nulls_and_nans_in_literals_fold() {
        assert_eq!(b("id = NULL"), BoundExpr::AlwaysFalse);
        assert_eq!(b("NOT id = NULL"), BoundExpr::AlwaysFalse);
        assert_eq!(b("NOT (id = NULL AND id = 1)"), b("id <> 1"));
        assert_eq!(b("NOT (id = NULL OR id = 1)"), BoundExpr::AlwaysFalse);
        assert_eq!(b("id IN (1, NULL)"), b("id = 1"));
        assert_eq!(b("id NOT IN (1, NULL)"), BoundExpr::AlwaysFalse);
        assert_eq!(b("id IN (NULL)"), BoundExpr::AlwaysFalse);
        assert_eq!(b("id IN (1, 1, 2)").to_string(), "id IN (1, 2)");
        assert_eq!(b("score = 'NaN'"), BoundExpr::AlwaysFalse);
        assert_eq!(b("score <> 'NaN'"), b("score IS NOT NULL"));
        assert_eq!(b("NOT score < 'NaN'"), b("score IS NOT NULL"));
        assert_eq!(b("score NOT IN ('NaN', 1)"), b("score <> 1"));
        assert_eq!(b("TRUE AND id = 1"), b("id = 1"));
        assert_eq!(b("FALSE OR NOT TRUE"), BoundExpr::AlwaysFalse);
        assert_eq!(b("NOT NULL"), BoundExpr::AlwaysFalse);
        assert_eq!(b("name LIKE '%'"), b("name IS NOT NULL"));
        assert_eq!(b("name NOT LIKE '%'"), BoundExpr::AlwaysFalse);
        assert_eq!(b("starts_with(name, NULL)"), BoundExpr::AlwaysFalse);
    }

    // ---- NNF equivalence with a three-valued brute-force evaluator ---------------------------

    mod equivalence {
        use super::*;
        use crate::expr::testing::{eval3, predicate, row, small_schema};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]
            #[test]
            fn bound_expression_matches_exactly_when_the_predicate_is_true(
                e in predicate(), row in row()
            ) {
                let s = small_schema();
                let bound = e.bind(&s).unwrap();
                let ids: BTreeMap<FieldId, Datum> = row
                    .iter()
                    .map(|(k, v)| (s.field_by_name(k).unwrap().id, v.clone()))
                    .collect();
                let want = eval3(&e, &row, &s) == Some(true);
                prop_assert_eq!(bound.matches(&|id| ids.get(&id)), want, "{} / {}", e, bound);
            }
        }
    }
}
