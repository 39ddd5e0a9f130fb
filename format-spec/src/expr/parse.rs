//! SQL text → [`Expr`] via sqlparser (generic dialect).

use sqlparser::ast as sql;
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::{CompareOp, Expr, Literal};
use crate::datum::{Datum, decode_hex, parse_date, parse_time, parse_timestamp};
use crate::error::{FormatError, Result};

const SUPPORTED: &str = "supported: column references, literals, comparisons (= <> < <= > >=), \
    AND, OR, NOT, IN (...), BETWEEN, IS [NOT] NULL, LIKE 'prefix%' and starts_with(column, \
    'prefix')";

/// Most operator tokens (see [`operator_tokens`]) a predicate may hold.
///
/// The SQL parser limits how deeply it recurses, but it builds a chain of infix operators
/// (`a = 1 OR a = 2 OR …`) in a loop into a tree as deep as the chain is long, and converting,
/// printing, binding and dropping that tree recurses once per level: a long enough chain
/// overflows the stack, which aborts the process. Bounding the operators bounds the depth. In
/// an unoptimized build each level costs several KiB of stack, and 2 MiB threads (tests, Tokio
/// workers) overflowed at about 250 levels; 128 operators (plus the parser's own nesting limit)
/// stays well below that, and is ample for predicates written by people. Long lists of values
/// belong in `IN (…)`, which costs one operator.
pub(crate) const MAX_OPERATORS: usize = 128;

/// Counts the tokens in infix position that can be operators: a token counts unless it is
/// whitespace, punctuation, a literal or a non-keyword identifier (never operators), or it opens
/// an operand (it follows the start, `(`, `,` or a counted token: prefix operators such as
/// `NOT` and unary `-` make the SQL parser recurse, which its own limit bounds). Every level the
/// parser adds to a tree without recursing consumes an infix operator right after an operand,
/// and of each such operator and the token before it at least one counts, so the count bounds
/// the depth. `x IN (-1, -2, …)` counts one, `a = 1 AND b = 2` three, `a.b.c` none.
fn operator_tokens(tokens: &[sqlparser::tokenizer::TokenWithSpan]) -> usize {
    let mut count = 0;
    let mut opens_operand = true;
    for t in tokens {
        match &t.token {
            Token::Whitespace(_) | Token::EOF => {}
            // `a.b.c` is parsed flat: a period adds no level.
            Token::Comma | Token::LParen | Token::Period => opens_operand = true,
            Token::RParen
            | Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::HexStringLiteral(_) => opens_operand = false,
            Token::Word(w) if w.quote_style.is_some() || w.keyword == Keyword::NoKeyword => {
                opens_operand = false;
            }
            _ if opens_operand => opens_operand = false,
            _ => {
                count += 1;
                opens_operand = true;
            }
        }
    }
    count
}

fn err(msg: impl Into<String>) -> FormatError {
    FormatError::InvalidExpression(msg.into())
}

fn unsupported(what: &str, e: &sql::Expr) -> FormatError {
    err(format!("unsupported {what} `{e}`; {SUPPORTED}"))
}

impl Expr {
    /// Parses a predicate from SQL expression text (see the module documentation for the
    /// grammar). Errors name the unsupported construct or carry the SQL parser's message.
    pub fn parse(text: &str) -> Result<Expr> {
        let dialect = GenericDialect {};
        let wrap = |e: sqlparser::parser::ParserError| err(format!("cannot parse `{text}`: {e}"));
        let tokens = Tokenizer::new(&dialect, text)
            .with_unescape(true)
            .tokenize_with_location()
            .map_err(|e| wrap(e.into()))?;
        let operators = operator_tokens(&tokens);
        if operators > MAX_OPERATORS {
            return Err(err(format!(
                "the predicate is too long: {operators} operators, at most {MAX_OPERATORS} \
                 are supported (write a long list of alternatives as `column IN (…)`)"
            )));
        }
        let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens);
        let ast = parser.parse_expr().map_err(wrap)?;
        let next = parser.peek_token();
        if next.token != Token::EOF {
            return Err(err(format!(
                "cannot parse `{text}`: unexpected `{}` after the expression at {}",
                next.token, next.span.start
            )));
        }
        from_sql(&ast)
    }
}

fn from_sql(e: &sql::Expr) -> Result<Expr> {
    use sql::Expr as S;
    Ok(match e {
        S::Identifier(id) => Expr::Column(id.value.clone()),
        S::CompoundIdentifier(ids) => Expr::Column(
            ids.iter()
                .map(|i| i.value.as_str())
                .collect::<Vec<_>>()
                .join("."),
        ),
        S::Nested(inner) => from_sql(inner)?,
        S::Value(v) => Expr::Literal(value(&v.value, e)?),
        S::TypedString(ts) => Expr::Literal(typed_string(ts, e)?),
        S::UnaryOp { op, expr } => match op {
            sql::UnaryOperator::Not => Expr::Not(Box::new(from_sql(expr)?)),
            sql::UnaryOperator::Minus => Expr::Literal(negative(expr, e)?),
            sql::UnaryOperator::Plus => match from_sql(expr)? {
                Expr::Literal(l @ (Literal::Int(_) | Literal::Float(_) | Literal::Decimal(_))) => {
                    Expr::Literal(l)
                }
                _ => return Err(unsupported("unary `+` (only on numbers)", e)),
            },
            _ => return Err(unsupported("operator", e)),
        },
        S::BinaryOp { left, op, right } => {
            let cmp = match op {
                sql::BinaryOperator::And => {
                    return Ok(Expr::And(
                        Box::new(from_sql(left)?),
                        Box::new(from_sql(right)?),
                    ));
                }
                sql::BinaryOperator::Or => {
                    return Ok(Expr::Or(
                        Box::new(from_sql(left)?),
                        Box::new(from_sql(right)?),
                    ));
                }
                sql::BinaryOperator::Eq => CompareOp::Eq,
                sql::BinaryOperator::NotEq => CompareOp::NotEq,
                sql::BinaryOperator::Lt => CompareOp::Lt,
                sql::BinaryOperator::LtEq => CompareOp::LtEq,
                sql::BinaryOperator::Gt => CompareOp::Gt,
                sql::BinaryOperator::GtEq => CompareOp::GtEq,
                other => return Err(unsupported(&format!("operator `{other}` in"), e)),
            };
            compare(cmp, from_sql(left)?, from_sql(right)?)
        }
        S::IsNull(x) => Expr::IsNull {
            expr: Box::new(from_sql(x)?),
            negated: false,
        },
        S::IsNotNull(x) => Expr::IsNull {
            expr: Box::new(from_sql(x)?),
            negated: true,
        },
        S::InList {
            expr,
            list,
            negated,
        } => Expr::In {
            expr: Box::new(from_sql(expr)?),
            list: list.iter().map(from_sql).collect::<Result<_>>()?,
            negated: *negated,
        },
        S::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let x = from_sql(expr)?;
            let (lo, hi) = (from_sql(low)?, from_sql(high)?);
            if *negated {
                Expr::Or(
                    Box::new(compare(CompareOp::Lt, x.clone(), lo)),
                    Box::new(compare(CompareOp::Gt, x, hi)),
                )
            } else {
                Expr::And(
                    Box::new(compare(CompareOp::GtEq, x.clone(), lo)),
                    Box::new(compare(CompareOp::LtEq, x, hi)),
                )
            }
        }
        S::Like {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => {
            if *any || escape_char.is_some() {
                return Err(unsupported(
                    "LIKE form (ANY and ESCAPE are not supported)",
                    e,
                ));
            }
            let prefix = like_prefix(pattern, e)?;
            let sw = Expr::StartsWith {
                expr: Box::new(from_sql(expr)?),
                prefix: Box::new(Expr::Literal(Literal::String(prefix))),
            };
            if *negated {
                Expr::Not(Box::new(sw))
            } else {
                sw
            }
        }
        S::Function(func) => function(func, e)?,
        S::Cast { .. } => {
            return Err(unsupported(
                "CAST (write typed literals such as DATE '2024-01-01' or TIMESTAMP \
                 '2024-01-01 10:00:00' instead)",
                e,
            ));
        }
        S::ILike { .. } => return Err(unsupported("ILIKE", e)),
        S::SimilarTo { .. } | S::RLike { .. } => return Err(unsupported("pattern match", e)),
        S::IsTrue(_) | S::IsFalse(_) | S::IsNotTrue(_) | S::IsNotFalse(_) => {
            return Err(unsupported("IS TRUE/IS FALSE test", e));
        }
        S::InSubquery { .. } | S::Subquery(_) | S::Exists { .. } => {
            return Err(unsupported("subquery", e));
        }
        S::CompoundFieldAccess { .. } => {
            return Err(unsupported(
                "subscript (nested fields are written a.b.c; list and map elements cannot be \
                 referenced)",
                e,
            ));
        }
        _ => return Err(unsupported("expression", e)),
    })
}

/// A comparison, normalized so that a column compared with a literal is on the left.
fn compare(op: CompareOp, left: Expr, right: Expr) -> Expr {
    let (op, left, right) = match (&left, &right) {
        (Expr::Literal(_), Expr::Column(_)) => (op.flip(), right, left),
        _ => (op, left, right),
    };
    Expr::Compare {
        op,
        left: Box::new(left),
        right: Box::new(right),
    }
}

fn value(v: &sql::Value, e: &sql::Expr) -> Result<Literal> {
    use sql::Value as V;
    Ok(match v {
        V::Null => Literal::Null,
        V::Boolean(b) => Literal::Bool(*b),
        V::Number(text, _) => number(text, false)?,
        V::SingleQuotedString(s) => Literal::String(s.clone()),
        V::HexStringLiteral(h) => {
            Literal::Typed(Datum::Binary(decode_hex(h).ok_or_else(|| {
                err(format!(
                    "invalid binary literal `{e}`: X'…' needs an even number of hex digits"
                ))
            })?))
        }
        V::Placeholder(_) => return Err(unsupported("placeholder", e)),
        _ => return Err(unsupported("literal", e)),
    })
}

/// A numeric token as a literal; `negative` prefixes a minus sign.
fn number(text: &str, negative: bool) -> Result<Literal> {
    let signed = if negative {
        format!("-{text}")
    } else {
        text.to_owned()
    };
    if text.contains(['e', 'E']) {
        let f: f64 = signed
            .parse()
            .map_err(|_| err(format!("invalid number `{signed}`")))?;
        if !f.is_finite() {
            return Err(err(format!(
                "number `{signed}` is out of the float64 range"
            )));
        }
        return Ok(Literal::Float(f));
    }
    if !text.contains('.')
        && let Ok(i) = signed.parse::<i64>()
    {
        return Ok(Literal::Int(i));
    }
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') || (int.is_empty() && frac.is_empty())
    {
        return Err(err(format!("invalid number `{signed}`")));
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let sign = if negative { "-" } else { "" };
    Ok(Literal::Decimal(if text.contains('.') {
        let frac = if frac.is_empty() { "0" } else { frac };
        format!("{sign}{int}.{frac}")
    } else {
        format!("{sign}{int}")
    }))
}

fn negative(operand: &sql::Expr, e: &sql::Expr) -> Result<Literal> {
    if let sql::Expr::Value(v) = operand
        && let sql::Value::Number(text, _) = &v.value
    {
        return number(text, true);
    }
    match from_sql(operand)? {
        Expr::Literal(Literal::Int(i)) => match i.checked_neg() {
            Some(n) => Ok(Literal::Int(n)),
            None => Ok(Literal::Decimal(format!("{}", -i128::from(i)))),
        },
        Expr::Literal(Literal::Float(f)) => Ok(Literal::Float(-f)),
        Expr::Literal(Literal::Decimal(d)) => Ok(Literal::Decimal(match d.strip_prefix('-') {
            Some(pos) => pos.to_owned(),
            None => format!("-{d}"),
        })),
        _ => Err(unsupported("unary `-` (only on numbers)", e)),
    }
}

fn typed_string(ts: &sql::TypedString, e: &sql::Expr) -> Result<Literal> {
    let text = match &ts.value.value {
        sql::Value::SingleQuotedString(s) => s.as_str(),
        _ => return Err(unsupported("typed literal", e)),
    };
    let bad = |why: String| err(format!("invalid literal `{e}`: {why}"));
    use sql::DataType as D;
    use sql::TimezoneInfo as Tz;
    let d = match &ts.data_type {
        D::Date => Datum::Date(parse_date(text).map_err(bad)?),
        D::Time(_, Tz::None | Tz::WithoutTimeZone) => Datum::Time(parse_time(text).map_err(bad)?),
        D::Timestamp(_, Tz::None | Tz::WithoutTimeZone) | D::Datetime(_) => {
            let (us, offset) = parse_timestamp(text).map_err(bad)?;
            if offset.is_some_and(|o| o != 0) {
                return Err(bad(
                    "a TIMESTAMP (without time zone) cannot take a non-UTC offset; use \
                     TIMESTAMPTZ"
                        .into(),
                ));
            }
            Datum::Timestamp(us)
        }
        D::Timestamp(_, Tz::Tz | Tz::WithTimeZone) => {
            Datum::Timestamptz(parse_timestamp(text).map_err(bad)?.0)
        }
        _ => {
            return Err(unsupported(
                "typed literal (supported: DATE, TIME, TIMESTAMP, TIMESTAMPTZ)",
                e,
            ));
        }
    };
    Ok(Literal::Typed(d))
}

fn like_prefix(pattern: &sql::Expr, e: &sql::Expr) -> Result<String> {
    let p = match pattern {
        sql::Expr::Value(v) => match &v.value {
            sql::Value::SingleQuotedString(s) => Some(s.as_str()),
            _ => None,
        },
        _ => None,
    };
    let explain = "only a literal prefix followed by a single trailing % is supported (e.g. \
                   LIKE 'abc%'), without other %, _ or \\ characters; use = for exact matches";
    let p = p.ok_or_else(|| {
        err(format!(
            "unsupported LIKE `{e}`: the pattern must be a string literal; {explain}"
        ))
    })?;
    match p.strip_suffix('%') {
        Some(prefix) if !prefix.contains(['%', '_', '\\']) => Ok(prefix.to_owned()),
        _ => Err(err(format!(
            "unsupported LIKE pattern '{p}' in `{e}`: {explain}"
        ))),
    }
}

fn function(func: &sql::Function, e: &sql::Expr) -> Result<Expr> {
    let name = match func.name.0.as_slice() {
        [part] => part.as_ident().map(|i| i.value.to_ascii_lowercase()),
        _ => None,
    };
    if name.as_deref() != Some("starts_with") {
        return Err(unsupported("function", e));
    }
    let plain = func.filter.is_none()
        && func.over.is_none()
        && func.within_group.is_empty()
        && func.null_treatment.is_none()
        && matches!(func.parameters, sql::FunctionArguments::None);
    let args = match &func.args {
        sql::FunctionArguments::List(l)
            if plain && l.duplicate_treatment.is_none() && l.clauses.is_empty() =>
        {
            l.args
                .iter()
                .map(|a| match a {
                    sql::FunctionArg::Unnamed(sql::FunctionArgExpr::Expr(x)) => from_sql(x),
                    _ => Err(unsupported("starts_with argument", e)),
                })
                .collect::<Result<Vec<_>>>()?
        }
        _ => return Err(unsupported("starts_with call", e)),
    };
    let mut args = args.into_iter();
    match (args.next(), args.next(), args.next()) {
        (Some(x), Some(prefix), None) => Ok(Expr::StartsWith {
            expr: Box::new(x),
            prefix: Box::new(prefix),
        }),
        _ => Err(err(format!(
            "`{e}`: starts_with takes two arguments, starts_with(column, 'prefix')"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Expr {
        Expr::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn perr(s: &str) -> String {
        Expr::parse(s).unwrap_err().to_string()
    }

    fn col(s: &str) -> Expr {
        Expr::column(s)
    }

    #[test]
    fn comparisons_parse_with_every_operator() {
        assert_eq!(p("a = 1"), col("a").eq(Expr::lit(1)));
        assert_eq!(p("a <> 1"), col("a").not_eq(Expr::lit(1)));
        assert_eq!(p("a != 1"), col("a").not_eq(Expr::lit(1)));
        assert_eq!(p("a < 1"), col("a").lt(Expr::lit(1)));
        assert_eq!(p("a <= 1"), col("a").lt_eq(Expr::lit(1)));
        assert_eq!(p("a > 1"), col("a").gt(Expr::lit(1)));
        assert_eq!(p("a >= 1"), col("a").gt_eq(Expr::lit(1)));
    }

    #[test]
    fn literal_on_the_left_is_flipped() {
        assert_eq!(p("5 < a"), col("a").gt(Expr::lit(5)));
        assert_eq!(p("'x' = s"), col("s").eq(Expr::lit("x")));
        assert_eq!(p("5 >= a"), col("a").lt_eq(Expr::lit(5)));
    }

    #[test]
    fn logic_and_parentheses_parse() {
        let a = col("a").eq(Expr::lit(1));
        let b = col("b").eq(Expr::lit(2));
        let c = col("c").eq(Expr::lit(3));
        assert_eq!(
            p("a = 1 OR b = 2 AND c = 3"),
            a.clone().or(b.clone().and(c.clone()))
        );
        assert_eq!(
            p("(a = 1 OR b = 2) AND NOT c = 3"),
            a.clone().or(b.clone()).and(!c.clone())
        );
        assert_eq!(p("NOT NOT flag"), !!col("flag"));
        assert_eq!(p("((a = 1))"), a);
    }

    #[test]
    fn in_between_null_tests_parse() {
        assert_eq!(
            p("a IN (1, 2, NULL)"),
            col("a").in_list(
                vec![Expr::lit(1), Expr::lit(2), Expr::Literal(Literal::Null)],
                false
            )
        );
        assert_eq!(
            p("a NOT IN ('x')"),
            col("a").in_list(vec![Expr::lit("x")], true)
        );
        assert_eq!(
            p("a BETWEEN 1 AND 5"),
            col("a")
                .gt_eq(Expr::lit(1))
                .and(col("a").lt_eq(Expr::lit(5)))
        );
        assert_eq!(
            p("a NOT BETWEEN 1 AND 5"),
            col("a").lt(Expr::lit(1)).or(col("a").gt(Expr::lit(5)))
        );
        assert_eq!(p("a IS NULL"), col("a").is_null());
        assert_eq!(p("a IS NOT NULL"), col("a").is_not_null());
    }

    #[test]
    fn like_prefix_and_starts_with_parse() {
        assert_eq!(p("s LIKE 'ab%'"), col("s").starts_with("ab"));
        assert_eq!(p("s NOT LIKE 'ab%'"), !col("s").starts_with("ab"));
        assert_eq!(p("s LIKE '%'"), col("s").starts_with(""));
        assert_eq!(p("starts_with(s, 'ab')"), col("s").starts_with("ab"));
        assert_eq!(p("STARTS_WITH(s, 'ab')"), col("s").starts_with("ab"));
        assert_eq!(
            p("starts_with(b, X'00ff')"),
            col("b").starts_with(Datum::Binary(vec![0, 255]))
        );
    }

    #[test]
    fn unsupported_like_patterns_explain_what_is_supported() {
        for pat in ["'a%b%'", "'%ab'", "'a_c%'", "'abc'", "'a\\%'"] {
            let e = perr(&format!("s LIKE {pat}"));
            assert!(
                e.contains("only a literal prefix followed by a single trailing %"),
                "{e}"
            );
        }
        let e = perr("s LIKE t");
        assert!(e.contains("string literal"), "{e}");
        assert!(perr("s LIKE 'a%' ESCAPE '!'").contains("ESCAPE"));
        assert!(perr("s ILIKE 'a%'").contains("ILIKE"));
    }

    #[test]
    fn literals_parse_into_the_right_kinds() {
        let lit = |s: &str| match p(&format!("a = {s}")) {
            Expr::Compare { right, .. } => match *right {
                Expr::Literal(l) => l,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        assert_eq!(lit("-5"), Literal::Int(-5));
        assert_eq!(lit("+5"), Literal::Int(5));
        assert_eq!(lit("-9223372036854775808"), Literal::Int(i64::MIN));
        assert_eq!(
            lit("9223372036854775808"),
            Literal::Decimal("9223372036854775808".into())
        );
        assert_eq!(lit("1.50"), Literal::Decimal("1.50".into()));
        assert_eq!(lit("-.5"), Literal::Decimal("-0.5".into()));
        assert_eq!(lit("007.5"), Literal::Decimal("7.5".into()));
        assert_eq!(lit("1."), Literal::Decimal("1.0".into()));
        assert_eq!(lit("- -1.5"), Literal::Decimal("1.5".into()));
        assert_eq!(lit("1.5e3"), Literal::Float(1500.0));
        assert_eq!(lit("-2E-1"), Literal::Float(-0.2));
        assert_eq!(lit("TRUE"), Literal::Bool(true));
        assert_eq!(lit("false"), Literal::Bool(false));
        assert_eq!(lit("NULL"), Literal::Null);
        assert_eq!(lit("'it''s'"), Literal::String("it's".into()));
        assert_eq!(lit("X'0aFF'"), Literal::Typed(Datum::Binary(vec![10, 255])));
        assert_eq!(lit("DATE '1970-01-02'"), Literal::Typed(Datum::Date(1)));
        assert_eq!(
            lit("TIME '00:00:01'"),
            Literal::Typed(Datum::Time(1_000_000))
        );
        assert_eq!(
            lit("TIMESTAMP '1970-01-01 00:00:00.000001'"),
            Literal::Typed(Datum::Timestamp(1))
        );
        assert_eq!(
            lit("TIMESTAMPTZ '1970-01-01T01:00:00+01:00'"),
            Literal::Typed(Datum::Timestamptz(0))
        );
        assert_eq!(
            lit("TIMESTAMP WITH TIME ZONE '1970-01-01 00:00:00Z'"),
            Literal::Typed(Datum::Timestamptz(0))
        );
    }

    #[test]
    fn identifiers_parse_quoted_and_dotted() {
        assert_eq!(p("\"my col\" = 1"), col("my col").eq(Expr::lit(1)));
        assert_eq!(p("a.b.\"c d\" = 1"), col("a.b.c d").eq(Expr::lit(1)));
        assert_eq!(p("\"select\" IS NULL"), col("select").is_null());
        assert_eq!(p("Flag"), col("Flag"));
    }

    #[test]
    fn unsupported_constructs_are_named() {
        let cases = [
            ("a + 1 = 2", "operator `+`"),
            ("lower(s) = 'x'", "unsupported function `lower(s)`"),
            ("CAST(a AS INT) = 1", "CAST"),
            ("a IN (SELECT 1)", "subquery"),
            ("a IS TRUE", "IS TRUE"),
            ("a = ?", "placeholder"),
            ("a[1] = 2", "subscript"),
            ("DATE '2024-02-30' = d", "not a valid calendar date"),
            (
                "d = TIMESTAMP '2024-01-01 00:00:00+02:00'",
                "non-UTC offset",
            ),
            ("d = INTERVAL '1' DAY", "unsupported"),
            ("s = N'x'", "unsupported literal"),
            ("starts_with(s)", "two arguments"),
            ("a = 1e999", "out of the float64 range"),
            ("-s", "unary `-`"),
        ];
        for (text, want) in cases {
            let e = perr(text);
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn syntax_errors_and_trailing_input_are_reported() {
        assert!(perr("a = ").contains("cannot parse `a = `"));
        let e = perr("a = 1 b");
        assert!(e.contains("unexpected `b`"), "{e}");
        assert!(perr("").contains("cannot parse"));
    }

    /// Found by the `predicate` fuzz target: `id = 1 AND id = 1 AND …` (5 000 terms, 45 KB)
    /// overflowed the stack in `from_sql`, aborting the process.
    #[test]
    fn very_long_operator_chain_is_refused_not_a_stack_overflow() {
        for op in [" AND ", " OR "] {
            let text = vec!["id = 1"; 100_000].join(op);
            let e = perr(&text);
            assert!(e.contains("too long") && e.contains("IN (…)"), "{e}");
        }
        let e = perr(&"a = ".repeat(50_000));
        assert!(e.contains("too long"), "{e}");
    }

    /// The longest chains under the limit parse, print, parse back and bind on a test thread's
    /// small (2 MiB) stack in an unoptimized build.
    #[test]
    fn operator_chain_at_the_limit_parses_prints_and_binds() {
        // `x = 1 AND x = 1 …`: n terms hold 2n - 1 operators.
        let terms = MAX_OPERATORS.div_ceil(2);
        let chain = |n: usize, op: &str| vec!["x = 1"; n].join(op);
        for text in [
            chain(terms, " AND "),
            chain(terms, " OR "),
            format!(
                "{}{}{}",
                "(".repeat(40),
                chain(terms, " AND "),
                ")".repeat(40)
            ),
        ] {
            let e = p(&text);
            assert_eq!(p(&e.to_string()), e);
            let schema = crate::schema::Schema::new(
                0,
                vec![crate::schema::StructField::required(
                    1,
                    "x",
                    crate::schema::PrimitiveType::Int64,
                )],
            )
            .unwrap();
            assert!(e.bind(&schema).is_ok());
        }
        assert!(perr(&chain(terms + 1, " AND ")).contains("too long"));
        // Lists, negative numbers and keyword column names do not count.
        let list: Vec<String> = (0..10_000).map(|i| format!("-{i}")).collect();
        assert!(Expr::parse(&format!("id NOT IN ({})", list.join(", "))).is_ok());
        assert!(Expr::parse(&vec!["id = -1"; terms].join(" OR ")).is_ok());
        assert!(perr(&vec!["id = -1"; terms + 1].join(" OR ")).contains("too long"));
    }

    /// Found by the `predicate` fuzz target: `NOT NOT … NOT flag` (30 NOTs) and chains of 30+
    /// ANDs printed with a pair of parentheses per level (`NOT (NOT (…))`, `((a AND b) AND c)`),
    /// beyond the SQL parser's nesting limit, so `Display` output did not parse back.
    #[test]
    fn deeply_nested_not_and_long_and_chains_print_text_that_parses_back() {
        for text in [
            format!("{}flag", "NOT ".repeat(45)),
            vec!["x = 1"; 60].join(" AND "),
            vec!["x = 1 AND y = 2"; 30].join(" OR "),
            format!("{}a = 1 OR b = 2{}", "NOT (".repeat(15), ")".repeat(15)),
        ] {
            let e = p(&text);
            let printed = e.to_string();
            assert_eq!(Expr::parse(&printed), Ok(e), "{text}\nprinted as {printed}");
        }
    }

    /// Found by the `predicate` fuzz target: a quoted column name holding 134 dots parsed, but
    /// printed as a dotted path whose periods counted as operators, over the limit, so the
    /// printed text did not parse back.
    #[test]
    fn dotted_column_paths_do_not_count_as_operators() {
        let quoted = format!("\"{}\" IS NULL", "..u".repeat(200));
        let dotted = format!("{} = 1", vec!["select"; 300].join("."));
        for text in [quoted, dotted] {
            let e = p(&text);
            assert_eq!(Expr::parse(&e.to_string()), Ok(e), "{text}");
        }
    }
}
