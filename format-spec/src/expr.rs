//! Predicate expressions: an untyped [`Expr`] parsed from SQL text, and a [`BoundExpr`] resolved
//! against a [`Schema`](crate::schema::Schema) (field ids, typed literals) that engines evaluate
//! and use for data skipping ([`crate::prune`]).
//!
//! # Grammar
//!
//! [`Expr::parse`] reads one SQL expression (sqlparser, generic dialect) made of:
//!
//! * column references: `a`, `"quoted name"`, `a.b.c` (nested struct fields);
//! * literals: `NULL`, `TRUE`/`FALSE`, integers, decimals (`1.50`), approximate numbers (`1.5e3`),
//!   negative numbers, strings (`'it''s'`), `X'00ff'`, `DATE '2024-01-01'`, `TIME '10:00:00'`,
//!   `TIMESTAMP '2024-01-01 10:00:00'`, `TIMESTAMPTZ '…'` / `TIMESTAMP WITH TIME ZONE '…'`;
//! * comparisons `= <> != < <= > >=` between a column and a literal, in either order (the
//!   parser normalizes `literal op column` to `column op' literal`);
//! * `AND`, `OR`, `NOT`, parentheses;
//! * `x [NOT] IN (…)`, `x [NOT] BETWEEN lo AND hi` (desugared to `x >= lo AND x <= hi`, resp.
//!   `x < lo OR x > hi`), `x IS [NOT] NULL`;
//! * `x [NOT] LIKE 'prefix%'` — only a literal prefix followed by one trailing `%`, with no other
//!   `%`, `_` or `\` — and `starts_with(x, 'prefix')`, both as [`Expr::StartsWith`].
//!
//! Anything else (arithmetic, other functions, `CAST`, subqueries, `IS TRUE`, `ILIKE`, other
//! `LIKE` patterns, …) is an error naming the construct.
//!
//! # Semantics
//!
//! SQL three-valued logic: a comparison with a NULL operand is NULL, `NOT NULL` is NULL, and a
//! row matches a predicate when it evaluates to TRUE. Floating-point comparisons follow IEEE 754:
//! every comparison with NaN is FALSE except `<>`, which is TRUE; `-0.0 = 0.0`. So
//! `NOT (f < 1.0)` matches NaN rows while `f >= 1.0` does not, and binding keeps that distinction
//! (see [`BoundExpr::IsNan`]). `x IN (a, b)` is `x = a OR x = b`, `x NOT IN (a, b)` is
//! `x <> a AND x <> b` (so a NULL in a `NOT IN` list makes it never TRUE).
//!
//! `Display` writes SQL text that [`Expr::parse`] reads back into an equal `Expr` (for
//! expressions in parser-normal form: comparisons with the column on the left, non-empty `IN`
//! lists, finite floats; non-finite floats are written as the strings `'NaN'`, `'inf'`, `'-inf'`,
//! which bind to the same value on a float column).

mod bind;
mod bound;
mod parse;
#[cfg(test)]
pub(crate) mod testing;

use std::fmt;

pub use bound::{BoundExpr, BoundReference};

use crate::datum::{Datum, write_float, write_sql_string};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

impl CompareOp {
    /// The operator with its operands swapped: `a < b` ⇔ `b > a`.
    pub fn flip(self) -> Self {
        match self {
            CompareOp::Eq => CompareOp::Eq,
            CompareOp::NotEq => CompareOp::NotEq,
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::LtEq => CompareOp::GtEq,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::GtEq => CompareOp::LtEq,
        }
    }

    /// The complementary operator for totally ordered, non-null operands: `NOT (a < b)` ⇔
    /// `a >= b`. (Not valid for NaN operands; see the module documentation.)
    pub fn negate(self) -> Self {
        match self {
            CompareOp::Eq => CompareOp::NotEq,
            CompareOp::NotEq => CompareOp::Eq,
            CompareOp::Lt => CompareOp::GtEq,
            CompareOp::LtEq => CompareOp::Gt,
            CompareOp::Gt => CompareOp::LtEq,
            CompareOp::GtEq => CompareOp::Lt,
        }
    }

    /// Whether `ordering` (of left vs right) satisfies the operator; `None` (unordered, e.g.
    /// NaN) satisfies only `<>`.
    pub fn holds(self, ordering: Option<std::cmp::Ordering>) -> bool {
        use std::cmp::Ordering::*;
        match (self, ordering) {
            (CompareOp::NotEq, None) => true,
            (_, None) => false,
            (CompareOp::Eq, Some(o)) => o == Equal,
            (CompareOp::NotEq, Some(o)) => o != Equal,
            (CompareOp::Lt, Some(o)) => o == Less,
            (CompareOp::LtEq, Some(o)) => o != Greater,
            (CompareOp::Gt, Some(o)) => o == Greater,
            (CompareOp::GtEq, Some(o)) => o != Less,
        }
    }

    /// The SQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::NotEq => "<>",
            CompareOp::Lt => "<",
            CompareOp::LtEq => "<=",
            CompareOp::Gt => ">",
            CompareOp::GtEq => ">=",
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An untyped literal as written in SQL text; [`Expr::bind`] converts it to the column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `NULL`
    Null,
    /// `TRUE` / `FALSE`
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// An approximate number (`1.5e3`).
    Float(f64),
    /// An exact number with a decimal point, or an integer too large for `i64`, as canonical
    /// text: optional `-`, integer digits without leading zeros (`0` if none), and an optional
    /// `.` with at least one digit (e.g. `"-0.50"`, `"123456789012345678901"`).
    Decimal(String),
    /// A string.
    String(String),
    /// A literal that carries its type: `DATE '…'`, `TIME '…'`, `TIMESTAMP '…'`,
    /// `TIMESTAMPTZ '…'` and `X'…'` parse to `Date`, `Time`, `Timestamp`, `Timestamptz` and
    /// `Binary` datums.
    Typed(Datum),
}

impl From<bool> for Literal {
    fn from(v: bool) -> Self {
        Literal::Bool(v)
    }
}
impl From<i64> for Literal {
    fn from(v: i64) -> Self {
        Literal::Int(v)
    }
}
impl From<i32> for Literal {
    fn from(v: i32) -> Self {
        Literal::Int(v.into())
    }
}
impl From<f64> for Literal {
    fn from(v: f64) -> Self {
        Literal::Float(v)
    }
}
impl From<&str> for Literal {
    fn from(v: &str) -> Self {
        Literal::String(v.to_owned())
    }
}
impl From<String> for Literal {
    fn from(v: String) -> Self {
        Literal::String(v)
    }
}
impl From<Datum> for Literal {
    fn from(v: Datum) -> Self {
        Literal::Typed(v)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Bool(true) => f.write_str("TRUE"),
            Literal::Bool(false) => f.write_str("FALSE"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => write_float(f, *x),
            Literal::Decimal(s) => f.write_str(s),
            Literal::String(s) => write_sql_string(f, s),
            Literal::Typed(d) => write!(f, "{d}"),
        }
    }
}

/// An unbound predicate expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column: the dotted path of field names from the table root (`a.b` is field `b` of the
    /// struct `a`).
    Column(String),
    /// A literal.
    Literal(Literal),
    /// `left op right`.
    Compare {
        /// Operator.
        op: CompareOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `left AND right`
    And(Box<Expr>, Box<Expr>),
    /// `left OR right`
    Or(Box<Expr>, Box<Expr>),
    /// `NOT expr`
    Not(Box<Expr>),
    /// `expr [NOT] IN (list…)`
    In {
        /// The tested expression.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `expr IS [NOT] NULL`
    IsNull {
        /// The tested expression.
        expr: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `starts_with(expr, prefix)` (also `expr LIKE 'prefix%'`).
    StartsWith {
        /// The tested expression.
        expr: Box<Expr>,
        /// The prefix (a string literal, or `X'…'` for binary columns).
        prefix: Box<Expr>,
    },
}

impl Expr {
    /// A column reference (dotted path).
    pub fn column(path: impl Into<String>) -> Expr {
        Expr::Column(path.into())
    }

    /// A literal.
    pub fn lit(value: impl Into<Literal>) -> Expr {
        Expr::Literal(value.into())
    }

    /// `self op other`.
    pub fn compare(self, op: CompareOp, other: Expr) -> Expr {
        Expr::Compare {
            op,
            left: Box::new(self),
            right: Box::new(other),
        }
    }

    /// `self = other`
    pub fn eq(self, other: Expr) -> Expr {
        self.compare(CompareOp::Eq, other)
    }

    /// `self <> other`
    pub fn not_eq(self, other: Expr) -> Expr {
        self.compare(CompareOp::NotEq, other)
    }

    /// `self < other`
    pub fn lt(self, other: Expr) -> Expr {
        self.compare(CompareOp::Lt, other)
    }

    /// `self <= other`
    pub fn lt_eq(self, other: Expr) -> Expr {
        self.compare(CompareOp::LtEq, other)
    }

    /// `self > other`
    pub fn gt(self, other: Expr) -> Expr {
        self.compare(CompareOp::Gt, other)
    }

    /// `self >= other`
    pub fn gt_eq(self, other: Expr) -> Expr {
        self.compare(CompareOp::GtEq, other)
    }

    /// `self AND other`
    pub fn and(self, other: Expr) -> Expr {
        Expr::And(Box::new(self), Box::new(other))
    }

    /// `self OR other`
    pub fn or(self, other: Expr) -> Expr {
        Expr::Or(Box::new(self), Box::new(other))
    }

    /// `self [NOT] IN (list…)`
    pub fn in_list(self, list: Vec<Expr>, negated: bool) -> Expr {
        Expr::In {
            expr: Box::new(self),
            list,
            negated,
        }
    }

    /// `self IS NULL`
    pub fn is_null(self) -> Expr {
        Expr::IsNull {
            expr: Box::new(self),
            negated: false,
        }
    }

    /// `self IS NOT NULL`
    pub fn is_not_null(self) -> Expr {
        Expr::IsNull {
            expr: Box::new(self),
            negated: true,
        }
    }

    /// `starts_with(self, prefix)`
    pub fn starts_with(self, prefix: impl Into<Literal>) -> Expr {
        Expr::StartsWith {
            expr: Box::new(self),
            prefix: Box::new(Expr::Literal(prefix.into())),
        }
    }

    /// Whether the expression is a column or literal (printed without parentheses).
    fn is_atom(&self) -> bool {
        matches!(self, Expr::Column(_) | Expr::Literal(_))
    }
}

impl std::ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }
}

impl std::str::FromStr for Expr {
    type Err = crate::error::FormatError;
    fn from_str(s: &str) -> crate::error::Result<Expr> {
        Expr::parse(s)
    }
}

/// Writes a dotted column path, quoting the segments that are not plain identifiers.
pub(crate) fn write_path(f: &mut fmt::Formatter<'_>, path: &str) -> fmt::Result {
    for (i, seg) in path.split('.').enumerate() {
        if i > 0 {
            f.write_str(".")?;
        }
        write_ident(f, seg)?;
    }
    Ok(())
}

fn write_ident(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    if is_plain_ident(name) {
        f.write_str(name)
    } else {
        write!(f, "\"{}\"", name.replace('"', "\"\""))
    }
}

/// Whether `name` can be written unquoted: an ASCII identifier that is either not an SQL keyword
/// or a keyword the parser still reads as a column in every position `Display` puts columns in
/// (e.g. `name`, `day`; not `select`, `null`, `date`).
fn is_plain_ident(name: &str) -> bool {
    let ascii_ident = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ascii_ident {
        return false;
    }
    let upper = name.to_ascii_uppercase();
    if sqlparser::keywords::ALL_KEYWORDS
        .binary_search(&upper.as_str())
        .is_err()
    {
        return true;
    }
    let c = || Expr::Column(name.to_owned());
    let probe = format!(
        "{name} = 1 AND {name} IS NULL AND {name} IN (1) OR NOT ({name}) AND starts_with({name}, \
         'a') AND {name} AND NOT {name}"
    );
    let expected = c()
        .eq(Expr::lit(1))
        .and(c().is_null())
        .and(c().in_list(vec![Expr::lit(1)], false))
        .or((!c()).and(c().starts_with("a")).and(c()).and(!c()));
    Expr::parse(&probe).is_ok_and(|e| e == expected)
}

/// Writes an operand, parenthesized unless it is a column or literal.
fn write_operand(f: &mut fmt::Formatter<'_>, e: &Expr) -> fmt::Result {
    if e.is_atom() {
        write!(f, "{e}")
    } else {
        write!(f, "({e})")
    }
}

/// Writes `e`, parenthesized when `paren`.
///
/// `Display` only writes the parentheses SQL precedence needs (NOT binds tighter than AND, AND
/// tighter than OR, both are left-associative): the SQL parser limits nesting depth, and text
/// with more parentheses than the parsed input had could exceed it (e.g. a chain of 30 ANDs
/// printed as `((((a AND b) AND c) …`) and not parse back.
fn write_paren_if(f: &mut fmt::Formatter<'_>, e: &Expr, paren: bool) -> fmt::Result {
    if paren {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column(path) => write_path(f, path),
            Expr::Literal(l) => write!(f, "{l}"),
            Expr::Compare { op, left, right } => {
                write_operand(f, left)?;
                write!(f, " {op} ")?;
                write_operand(f, right)
            }
            Expr::And(l, r) => {
                write_paren_if(f, l, matches!(**l, Expr::Or(..)))?;
                f.write_str(" AND ")?;
                write_paren_if(f, r, matches!(**r, Expr::And(..) | Expr::Or(..)))
            }
            Expr::Or(l, r) => {
                write_paren_if(f, l, false)?;
                f.write_str(" OR ")?;
                write_paren_if(f, r, matches!(**r, Expr::Or(..)))
            }
            Expr::Not(e) => {
                f.write_str("NOT ")?;
                write_paren_if(f, e, matches!(**e, Expr::And(..) | Expr::Or(..)))
            }
            Expr::In {
                expr,
                list,
                negated,
            } => {
                write_operand(f, expr)?;
                f.write_str(if *negated { " NOT IN (" } else { " IN (" })?;
                for (i, item) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_operand(f, item)?;
                }
                f.write_str(")")
            }
            Expr::IsNull { expr, negated } => {
                write_operand(f, expr)?;
                f.write_str(if *negated { " IS NOT NULL" } else { " IS NULL" })
            }
            Expr::StartsWith { expr, prefix } => write!(f, "starts_with({expr}, {prefix})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn display_quotes_identifiers_that_are_not_plain() {
        let e = Expr::column("select").eq(Expr::lit(1));
        assert_eq!(e.to_string(), "\"select\" = 1");
        let e = Expr::column("a.x y.q\"t").is_null();
        assert_eq!(e.to_string(), "a.\"x y\".\"q\"\"t\" IS NULL");
        let e = Expr::column("_ok1").starts_with("it's");
        assert_eq!(e.to_string(), "starts_with(_ok1, 'it''s')");
    }

    #[test]
    fn display_parenthesizes_nested_logic() {
        let a = Expr::column("a").eq(Expr::lit(1));
        let b = Expr::column("b").lt(Expr::lit(2.5));
        let c = Expr::column("c").is_not_null();
        let e = a.clone().or(b.clone()).and(!c.clone());
        assert_eq!(e.to_string(), "(a = 1 OR b < 2.5e0) AND NOT c IS NOT NULL");
        let (d, e2) = (
            Expr::column("d").eq(Expr::lit(4)),
            Expr::column("e").eq(Expr::lit(5)),
        );
        let e = a
            .clone()
            .and(b.clone())
            .and(c.clone().or(d.clone()))
            .or(!(d.clone().and(e2.clone())))
            .or(b.clone().or(!!e2.clone()));
        assert_eq!(
            e.to_string(),
            "a = 1 AND b < 2.5e0 AND (c IS NOT NULL OR d = 4) OR NOT (d = 4 AND e = 5) OR \
             (b < 2.5e0 OR NOT NOT e = 5)"
        );
        assert_eq!(Expr::parse(&e.to_string()), Ok(e));
        let e = a.in_list(vec![Expr::lit(1), Expr::lit(-2)], true);
        assert_eq!(e.to_string(), "(a = 1) NOT IN (1, -2)");
    }

    #[test]
    fn compare_op_flip_negate_and_holds_agree() {
        use std::cmp::Ordering::*;
        let ops = [
            CompareOp::Eq,
            CompareOp::NotEq,
            CompareOp::Lt,
            CompareOp::LtEq,
            CompareOp::Gt,
            CompareOp::GtEq,
        ];
        for op in ops {
            for o in [Less, Equal, Greater] {
                assert_eq!(op.flip().holds(Some(o.reverse())), op.holds(Some(o)));
                assert_eq!(op.negate().holds(Some(o)), !op.holds(Some(o)));
            }
            assert_eq!(op.holds(None), op == CompareOp::NotEq);
        }
    }

    // ---- round trip ------------------------------------------------------------------------

    fn column_name() -> BoxedStrategy<String> {
        prop_oneof![
            Just("a".to_string()),
            Just("b_2".to_string()),
            Just("s.t".to_string()),
            Just("select".to_string()),
            Just("Mixed Case".to_string()),
            Just("q\"uote".to_string()),
            Just("ünï.cødé".to_string()),
            Just("".to_string()),
            "[a-z]{1,3}(\\.[a-z]{1,3}){0,2}",
        ]
        .boxed()
    }

    fn literal() -> impl Strategy<Value = Literal> {
        prop_oneof![
            Just(Literal::Null),
            any::<bool>().prop_map(Literal::Bool),
            any::<i64>().prop_map(Literal::Int),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Literal::Float),
            "-?(0|[1-9][0-9]{0,6})\\.[0-9]{1,4}".prop_map(Literal::Decimal),
            "-?[1-9][0-9]{19,30}".prop_map(Literal::Decimal),
            any::<String>().prop_map(Literal::String),
            "[ -~]{0,8}".prop_map(Literal::String),
            any::<i32>().prop_map(|d| Literal::Typed(Datum::Date(d))),
            (0..crate::datum::MICROS_PER_DAY).prop_map(|t| Literal::Typed(Datum::Time(t))),
            any::<i64>().prop_map(|t| Literal::Typed(Datum::Timestamp(t))),
            any::<i64>().prop_map(|t| Literal::Typed(Datum::Timestamptz(t))),
            proptest::collection::vec(any::<u8>(), 0..6)
                .prop_map(|b| Literal::Typed(Datum::Binary(b))),
        ]
    }

    fn leaf() -> impl Strategy<Value = Expr> {
        let col = column_name().prop_map(Expr::Column);
        let op = prop_oneof![
            Just(CompareOp::Eq),
            Just(CompareOp::NotEq),
            Just(CompareOp::Lt),
            Just(CompareOp::LtEq),
            Just(CompareOp::Gt),
            Just(CompareOp::GtEq),
        ];
        prop_oneof![
            column_name().prop_map(Expr::Column),
            literal().prop_map(Expr::Literal),
            (col.clone(), op, literal()).prop_map(|(c, op, l)| c.compare(op, Expr::Literal(l))),
            (
                col.clone(),
                proptest::collection::vec(literal(), 1..4),
                any::<bool>()
            )
                .prop_map(|(c, l, n)| c.in_list(l.into_iter().map(Expr::Literal).collect(), n)),
            (col.clone(), any::<bool>()).prop_map(|(c, n)| Expr::IsNull {
                expr: Box::new(c),
                negated: n
            }),
            (col, literal()).prop_map(|(c, l)| Expr::StartsWith {
                expr: Box::new(c),
                prefix: Box::new(Expr::Literal(l))
            }),
        ]
    }

    fn expr() -> impl Strategy<Value = Expr> {
        leaf().prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
                inner.prop_map(|a| !a),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn display_round_trips_through_parse(e in expr()) {
            let text = e.to_string();
            let back = Expr::parse(&text);
            prop_assert!(back.is_ok(), "{text}: {:?}", back);
            prop_assert_eq!(back.ok(), Some(e), "{}", text);
        }
    }
}
