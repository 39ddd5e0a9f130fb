//! Data skipping: deciding from column statistics that no row of a file (or row group) can match
//! a [`BoundExpr`].
//!
//! [`may_match`] is **sound**: it returns `false` only when it is certain that no row makes the
//! predicate TRUE; whenever a statistic is missing, undecodable or not conclusive it returns
//! `true`. It relies on the statistics contract of SPEC §4.8:
//!
//! * `min`/`max` bound the non-null, non-NaN values (they need not be attained; string and binary
//!   bounds may be truncated — a truncated `min` is still a lower bound and a truncated `max`
//!   still an upper bound, which is all that is used here);
//! * `nullCount` counts nulls (including values under a null struct), `nanCount` NaNs;
//! * a missing statistic is unknown.
//!
//! Per leaf (see [`BoundExpr`] for the leaf semantics), with `n` rows, `nulls`, `nans`:
//!
//! * any leaf other than `IS NULL` is never TRUE when `nulls == n` (all values null);
//! * `=`: prunes when the literal is outside `[min, max]`; `<`, `<=`, `>`, `>=` when `min`/`max`
//!   shows no value can satisfy them; NaN rows never satisfy these, so they need no care;
//! * `<>`: prunes only when `min == max == literal` and there is no NaN (`nans == 0` known for
//!   float columns), since NaN `<>` anything is TRUE;
//! * `IN`: prunes when every value is outside `[min, max]`; `NOT IN` like `<>` with `min == max`
//!   in the list;
//! * `IS NULL` prunes when `nulls == 0`; `IS NOT NULL` when `nulls == n`;
//! * `isnan` prunes when `nans == 0`;
//! * `starts_with(p)`: prunes when `max < p`, or when `min > p` and `min` does not start with `p`
//!   (the strings starting with `p` form a contiguous range beginning at `p`); `NOT
//!   starts_with(p)` prunes when both `min` and `max` start with `p`;
//! * `AND` prunes when either side prunes, `OR` when both do; a file with no rows is pruned.
//!
//! Engines adapt Parquet row-group statistics into the same [`FileStatsView`] (built from a plain
//! map of [`ColumnBounds`]), so the same function serves row-group skipping.

mod files;

pub use files::{FilePlan, FileVerdict, file_may_match, judge_file, partition_bounds, plan_files};

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::actions::AddFile;
use crate::datum::Datum;
use crate::expr::{BoundExpr, BoundReference, CompareOp};
use crate::schema::{DataType, FieldId, PrimitiveType, Schema};

/// What is known about one column of a file or row group. `None` means unknown.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnBounds {
    /// A lower bound of the non-null, non-NaN values, in the column's type.
    pub min: Option<Datum>,
    /// An upper bound of the non-null, non-NaN values, in the column's type.
    pub max: Option<Datum>,
    /// Number of null values.
    pub null_count: Option<u64>,
    /// Number of NaN values (floating-point columns).
    pub nan_count: Option<u64>,
}

/// Statistics of a file or row group, by field id, plus its row count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileStatsView {
    columns: BTreeMap<FieldId, ColumnBounds>,
    record_count: u64,
}

impl FileStatsView {
    /// A view over already-decoded bounds (e.g. adapted from Parquet row-group statistics).
    pub fn new(columns: BTreeMap<FieldId, ColumnBounds>, record_count: u64) -> Self {
        Self {
            columns,
            record_count,
        }
    }

    /// The statistics of an `add`, decoded with the types of `schema` (the schema in force for
    /// the snapshot, SPEC §3.5). Entries whose field id is not a primitive field of the schema,
    /// and bounds that do not decode ([`Datum::from_json`]), are treated as unknown — never as
    /// an error, never used for pruning.
    pub fn from_add_file(add: &AddFile, schema: &Schema) -> Self {
        Self::decode(add, &schema.field_index(), |_| true)
    }

    /// [`FileStatsView::from_add_file`] with the schema's field index at hand, decoding only
    /// the statistics of `fields` (those a predicate reads).
    pub fn from_add_file_fields(
        add: &AddFile,
        index: &BTreeMap<FieldId, crate::schema::FieldInfo<'_>>,
        fields: &std::collections::BTreeSet<FieldId>,
    ) -> Self {
        Self::decode(add, index, |id| fields.contains(&id))
    }

    fn decode(
        add: &AddFile,
        index: &BTreeMap<FieldId, crate::schema::FieldInfo<'_>>,
        wanted: impl Fn(FieldId) -> bool,
    ) -> Self {
        let columns = add
            .stats
            .iter()
            .filter(|(id, _)| wanted(**id))
            .filter_map(|(id, s)| {
                let DataType::Primitive(ty) = index.get(id)?.data_type else {
                    return None;
                };
                let decode = |v: &Option<crate::StatValue>| {
                    v.as_ref().and_then(|v| Datum::from_stat(ty, v).ok())
                };
                Some((
                    *id,
                    ColumnBounds {
                        min: decode(&s.min),
                        max: decode(&s.max),
                        null_count: s.null_count,
                        nan_count: s.nan_count,
                    },
                ))
            })
            .collect();
        Self {
            columns,
            record_count: add.record_count,
        }
    }

    /// Bounds of a column, if any statistics exist for it.
    pub fn column(&self, field_id: FieldId) -> Option<&ColumnBounds> {
        self.columns.get(&field_id)
    }

    /// Number of rows.
    pub fn record_count(&self) -> u64 {
        self.record_count
    }
}

/// Whether some row of the file described by `stats` may match `expr`. `false` only when it is
/// certain that none can (see the module documentation).
pub fn may_match(expr: &BoundExpr, stats: &FileStatsView) -> bool {
    stats.record_count > 0 && Pruner { stats }.may(expr)
}

struct Pruner<'a> {
    stats: &'a FileStatsView,
}

const UNKNOWN: ColumnBounds = ColumnBounds {
    min: None,
    max: None,
    null_count: None,
    nan_count: None,
};

fn is_float(col: &BoundReference) -> bool {
    matches!(
        col.data_type,
        PrimitiveType::Float32 | PrimitiveType::Float64
    )
}

fn cmp(a: &Datum, b: &Datum) -> Option<Ordering> {
    a.partial_cmp_datum(b)
}

fn bytes(d: &Datum) -> Option<&[u8]> {
    match d {
        Datum::String(s) => Some(s.as_bytes()),
        Datum::Binary(b) => Some(b),
        _ => None,
    }
}

impl Pruner<'_> {
    fn bounds(&self, col: &BoundReference) -> &ColumnBounds {
        self.stats.column(col.field_id).unwrap_or(&UNKNOWN)
    }

    fn all_null(&self, b: &ColumnBounds) -> bool {
        b.null_count == Some(self.stats.record_count)
    }

    /// Whether the column may hold a NaN.
    fn may_have_nan(col: &BoundReference, b: &ColumnBounds) -> bool {
        is_float(col) && b.nan_count != Some(0)
    }

    fn may(&self, e: &BoundExpr) -> bool {
        match e {
            BoundExpr::AlwaysTrue => true,
            BoundExpr::AlwaysFalse => false,
            BoundExpr::And(a, b) => self.may(a) && self.may(b),
            BoundExpr::Or(a, b) => self.may(a) || self.may(b),
            BoundExpr::IsNull { column, negated } => {
                let b = self.bounds(column);
                if *negated {
                    !self.all_null(b)
                } else {
                    b.null_count != Some(0)
                }
            }
            BoundExpr::IsNan { column } => {
                let b = self.bounds(column);
                !self.all_null(b) && b.nan_count != Some(0)
            }
            BoundExpr::Compare { column, op, value } => {
                let b = self.bounds(column);
                !self.all_null(b) && Self::compare_may(column, b, *op, value)
            }
            BoundExpr::In {
                column,
                values,
                negated,
            } => {
                let b = self.bounds(column);
                if self.all_null(b) {
                    return false;
                }
                if *negated {
                    values
                        .iter()
                        .all(|v| Self::compare_may(column, b, CompareOp::NotEq, v))
                } else {
                    values
                        .iter()
                        .any(|v| Self::compare_may(column, b, CompareOp::Eq, v))
                }
            }
            BoundExpr::StartsWith {
                column,
                prefix,
                negated,
            } => {
                let b = self.bounds(column);
                !self.all_null(b) && Self::starts_with_may(b, prefix, *negated)
            }
        }
    }

    /// Whether some non-null value of the column may satisfy `column op value`.
    fn compare_may(col: &BoundReference, b: &ColumnBounds, op: CompareOp, value: &Datum) -> bool {
        use Ordering::*;
        if value.is_nan() {
            // Bound expressions never hold NaN literals; stay conservative if one does.
            return true;
        }
        let vs_min = b.min.as_ref().and_then(|m| cmp(value, m));
        let vs_max = b.max.as_ref().and_then(|m| cmp(value, m));
        match op {
            // Some x with min <= x <= max and x = v needs min <= v <= max.
            CompareOp::Eq => vs_min != Some(Less) && vs_max != Some(Greater),
            // x < v for some x >= min needs min < v.
            CompareOp::Lt => !matches!(vs_min, Some(Less | Equal)),
            CompareOp::LtEq => vs_min != Some(Less),
            // x > v for some x <= max needs max > v.
            CompareOp::Gt => !matches!(vs_max, Some(Greater | Equal)),
            CompareOp::GtEq => vs_max != Some(Greater),
            // Only when every non-null value equals v (min = max = v) and none is NaN.
            CompareOp::NotEq => {
                !(vs_min == Some(Equal) && vs_max == Some(Equal)) || Self::may_have_nan(col, b)
            }
        }
    }

    fn starts_with_may(b: &ColumnBounds, prefix: &Datum, negated: bool) -> bool {
        let Some(p) = bytes(prefix) else {
            return true;
        };
        let min = b.min.as_ref().and_then(bytes);
        let max = b.max.as_ref().and_then(bytes);
        if negated {
            // Values between two strings that both start with p start with p as well.
            return !(min.is_some_and(|m| m.starts_with(p))
                && max.is_some_and(|m| m.starts_with(p)));
        }
        // Every value <= max < p: none starts with p (those are >= p).
        if max.is_some_and(|m| m < p) {
            return false;
        }
        // Every value >= min, and min is above every string starting with p.
        if min.is_some_and(|m| m > p && !m.starts_with(p)) {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::ColumnStats;
    use crate::expr::Expr;
    use crate::expr::testing::{eval3, predicate, small_schema};
    use proptest::prelude::*;
    use serde_json::json;

    fn add_with(stats: BTreeMap<FieldId, ColumnStats>, record_count: u64) -> AddFile {
        AddFile {
            path: "data/f.parquet".into(),
            size: 1,
            record_count,
            modification_time: 0,
            data_change: true,
            spec_id: 0,
            schema_id: None,
            partition_values: BTreeMap::new(),
            stats: stats.into(),
            tier: "hot".into(),
            location: None,
            storage_class: None,
            restore: None,
            deletion_vector: None,
        }
    }

    fn st(min: serde_json::Value, max: serde_json::Value, nulls: u64) -> ColumnStats {
        ColumnStats {
            min: Some(min.into()),
            max: Some(max.into()),
            null_count: Some(nulls),
            nan_count: None,
        }
    }

    /// i in [10, 20] with 2 nulls, s in ["b", "d"] no nulls, f in [0, 1] 1 NaN; 10 rows.
    fn view() -> FileStatsView {
        let mut f = st(json!(0.0), json!(1.0), 0);
        f.nan_count = Some(1);
        let stats = BTreeMap::from([
            (1, st(json!(10), json!(20), 2)),
            (2, st(json!("b"), json!("d"), 0)),
            (3, f),
        ]);
        FileStatsView::from_add_file(&add_with(stats, 10), &small_schema())
    }

    fn may(text: &str) -> bool {
        let e = Expr::parse(text).unwrap().bind(&small_schema()).unwrap();
        may_match(&e, &view())
    }

    #[test]
    fn comparisons_prune_outside_the_bounds() {
        assert!(!may("i = 9"));
        assert!(may("i = 10"));
        assert!(may("i = 20"));
        assert!(!may("i = 21"));
        assert!(!may("i < 10"));
        assert!(may("i < 11"));
        assert!(!may("i <= 9"));
        assert!(may("i <= 10"));
        assert!(!may("i > 20"));
        assert!(may("i > 19"));
        assert!(!may("i >= 21"));
        assert!(may("i >= 20"));
        assert!(!may("5 > i"), "flipped comparisons prune too");
        assert!(!may("s < 'b'"));
        assert!(!may("s > 'd'"));
        assert!(may("s > 'c'"));
    }

    #[test]
    fn not_equal_prunes_only_a_constant_column_without_nan() {
        let stats = BTreeMap::from([
            (1, st(json!(7), json!(7), 0)),
            (
                3,
                ColumnStats {
                    nan_count: Some(0),
                    ..st(json!(1.0), json!(1.0), 0)
                },
            ),
        ]);
        let v = FileStatsView::from_add_file(&add_with(stats, 3), &small_schema());
        let m = |t: &str| may_match(&Expr::parse(t).unwrap().bind(&small_schema()).unwrap(), &v);
        assert!(!m("i <> 7"));
        assert!(m("i <> 8"));
        assert!(!m("i NOT IN (7, 8)"));
        assert!(!m("f <> 1"));
        assert!(!m("NOT f = 1"));
        // With NaNs unknown, <> may match: NaN <> 1 is TRUE.
        let stats = BTreeMap::from([(3, st(json!(1.0), json!(1.0), 0))]);
        let v = FileStatsView::from_add_file(&add_with(stats, 3), &small_schema());
        assert!(may_match(
            &Expr::parse("f <> 1")
                .unwrap()
                .bind(&small_schema())
                .unwrap(),
            &v
        ));
    }

    #[test]
    fn nan_rows_are_considered() {
        assert!(may("NOT f < 5"), "NaN rows satisfy NOT (f < 5)");
        assert!(!may("f > 5"), "NaN rows never satisfy f > 5");
        assert!(may("f <> 0.5"));
    }

    #[test]
    fn null_tests_use_null_count_and_record_count() {
        assert!(may("i IS NULL"));
        assert!(!may("s IS NULL"));
        assert!(may("s IS NOT NULL"));
        let stats = BTreeMap::from([(
            1,
            ColumnStats {
                null_count: Some(4),
                ..Default::default()
            },
        )]);
        let v = FileStatsView::from_add_file(&add_with(stats, 4), &small_schema());
        let m = |t: &str| may_match(&Expr::parse(t).unwrap().bind(&small_schema()).unwrap(), &v);
        assert!(!m("i IS NOT NULL"));
        assert!(!m("i = 1"), "an all-null column matches no comparison");
        assert!(!m("i NOT IN (1, 2)"));
        assert!(m("i IS NULL"));
        assert!(m("NOT i IS NOT NULL"));
    }

    #[test]
    fn in_lists_prune_when_every_value_is_outside() {
        assert!(!may("i IN (1, 2, 30)"));
        assert!(may("i IN (1, 15)"));
        assert!(may("i NOT IN (10, 20)"));
    }

    #[test]
    fn starts_with_uses_both_bounds() {
        assert!(
            !may("s LIKE 'a%'"),
            "min 'b' is above every string starting with 'a'"
        );
        assert!(may("s LIKE 'b%'"));
        assert!(may("s LIKE 'c%'"));
        assert!(may("s LIKE 'd%'"));
        assert!(!may("s LIKE 'da%'"), "max d < da");
        assert!(!may("s LIKE 'e%'"));
        assert!(may("s NOT LIKE 'b%'"));
        let stats = BTreeMap::from([(2, st(json!("abc"), json!("abd"), 0))]);
        let v = FileStatsView::from_add_file(&add_with(stats, 3), &small_schema());
        let m = |t: &str| may_match(&Expr::parse(t).unwrap().bind(&small_schema()).unwrap(), &v);
        assert!(!m("s NOT LIKE 'ab%'"));
        assert!(m("s NOT LIKE 'abc%'"));
        assert!(m("s LIKE 'abc%'"));
        assert!(!m("s LIKE 'abe%'"));
        assert!(!m("s LIKE 'aa%'"));
    }

    #[test]
    fn missing_or_undecodable_stats_never_prune() {
        let stats = BTreeMap::from([
            (1, st(json!("ten"), json!(20), 0)),
            (2, ColumnStats::default()),
            (99, st(json!(1), json!(1), 0)),
        ]);
        let v = FileStatsView::from_add_file(&add_with(stats, 3), &small_schema());
        assert_eq!(v.column(1).unwrap().min, None);
        assert_eq!(v.column(1).unwrap().max, Some(Datum::Int64(20)));
        assert!(v.column(99).is_none());
        let m = |t: &str| may_match(&Expr::parse(t).unwrap().bind(&small_schema()).unwrap(), &v);
        assert!(m("i < 0"), "undecodable min is unknown");
        assert!(!m("i > 20"));
        assert!(m("s = 'x'"));
        assert!(m("s IS NULL"));
        assert!(m("f = 1"));
    }

    #[test]
    fn empty_files_and_constants() {
        let empty = FileStatsView::new(BTreeMap::new(), 0);
        assert!(!may_match(&BoundExpr::AlwaysTrue, &empty));
        let one = FileStatsView::new(BTreeMap::new(), 1);
        assert!(may_match(&BoundExpr::AlwaysTrue, &one));
        assert!(!may_match(&BoundExpr::AlwaysFalse, &one));
        assert!(!may("i = NULL"));
        assert!(!may("i = 30 AND s = 'c'"));
        assert!(may("i = 30 OR s = 'c'"));
        assert!(!may("NOT (i <= 20 OR s = 'c')"));
    }

    // ---- soundness --------------------------------------------------------------------------

    type Row = BTreeMap<&'static str, Datum>;

    /// Random rows, or one row repeated plus one other (near-constant columns, so that
    /// `min == max` cases and single NaN/NULL outliers are common).
    fn rows() -> impl Strategy<Value = Vec<Row>> {
        use crate::expr::testing::row;
        prop_oneof![
            prop::collection::vec(row(), 1..6),
            (row(), 1..4usize, prop::option::of(row())).prop_map(|(a, n, b)| {
                let mut v = vec![a; n];
                v.extend(b);
                v
            }),
        ]
    }

    /// Truncates a string lower bound to a prefix (still a lower bound).
    fn truncate_min(s: &str, n: usize) -> String {
        s.chars().take(n).collect()
    }

    /// Truncates a string upper bound per SPEC §4.8: a prefix whose last code point is
    /// incremented; `None` when nothing remains.
    fn truncate_max(s: &str, n: usize) -> Option<String> {
        let mut chars: Vec<char> = s.chars().collect();
        if chars.len() <= n {
            return Some(s.to_owned());
        }
        chars.truncate(n);
        while let Some(last) = chars.pop() {
            let mut c = u32::from(last) + 1;
            if (0xD800..=0xDFFF).contains(&c) {
                c = 0xE000;
            }
            if let Some(ch) = char::from_u32(c) {
                chars.push(ch);
                return Some(chars.into_iter().collect());
            }
        }
        None
    }

    /// Exact statistics of the rows, then randomly weakened: bounds truncated (strings),
    /// widened, or dropped; counts dropped.
    fn stats_of(rows: &[Row], knobs: &[u8; 8]) -> FileStatsView {
        let s = small_schema();
        let mut cols = BTreeMap::new();
        for (k, name) in ["i", "s", "f", "b"].into_iter().enumerate() {
            let vals: Vec<&Datum> = rows.iter().filter_map(|r| r.get(name)).collect();
            let non_nan: Vec<&Datum> = vals.iter().copied().filter(|d| !d.is_nan()).collect();
            let lt = |a: &&Datum, b: &&Datum| a.partial_cmp_datum(b).unwrap();
            let mut min = non_nan.iter().copied().min_by(lt).cloned();
            let mut max = non_nan.iter().copied().max_by(lt).cloned();
            let knob = knobs[k];
            if knob & 1 != 0 {
                min = None;
            }
            if knob & 2 != 0 {
                max = None;
            }
            if knob & 4 != 0 {
                // Widen or truncate the bounds.
                min = min.map(|d| match d {
                    Datum::Int64(i) => Datum::Int64(i - 1),
                    Datum::String(x) => Datum::String(truncate_min(&x, 1)),
                    Datum::Float64(f) => Datum::Float64(f - 0.5),
                    other => other,
                });
                max = max.and_then(|d| match d {
                    Datum::Int64(i) => Some(Datum::Int64(i + 2)),
                    Datum::String(x) => truncate_max(&x, 1).map(Datum::String),
                    Datum::Float64(f) => Some(Datum::Float64(f + 0.5)),
                    other => Some(other),
                });
            }
            let nulls = (rows.len() - vals.len()) as u64;
            let nans = (vals.len() - non_nan.len()) as u64;
            cols.insert(
                s.field_by_name(name).unwrap().id,
                ColumnBounds {
                    min,
                    max,
                    null_count: (knob & 8 == 0).then_some(nulls),
                    nan_count: (name == "f" && knob & 16 == 0).then_some(nans),
                },
            );
        }
        FileStatsView::new(cols, rows.len() as u64)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn pruning_never_skips_a_file_with_a_matching_row(
            e in predicate(),
            rows in rows(),
            knobs in any::<[u8; 8]>(),
        ) {
            let s = small_schema();
            let bound = e.bind(&s).unwrap();
            let stats = stats_of(&rows, &knobs);
            let any_row = rows.iter().any(|r| eval3(&e, r, &s) == Some(true));
            if any_row {
                prop_assert!(may_match(&bound, &stats), "{} / {} pruned {:?}", e, bound, stats);
            }
        }

        #[test]
        fn pruning_also_works_from_add_file_json_stats(
            e in predicate(),
            rows in rows(),
            knobs in any::<[u8; 8]>(),
        ) {
            // The same statistics through their JSON encoding.
            let s = small_schema();
            let view = stats_of(&rows, &knobs);
            let stats = view
                .columns
                .iter()
                .map(|(id, b)| {
                    (*id, ColumnStats {
                        min: b.min.as_ref().and_then(|d| d.to_json().ok()).map(Into::into),
                        max: b.max.as_ref().and_then(|d| d.to_json().ok()).map(Into::into),
                        null_count: b.null_count,
                        nan_count: b.nan_count,
                    })
                })
                .collect();
            let from_json = FileStatsView::from_add_file(&add_with(stats, rows.len() as u64), &s);
            let bound = e.bind(&s).unwrap();
            let any_row = rows.iter().any(|r| eval3(&e, r, &s) == Some(true));
            if any_row {
                prop_assert!(may_match(&bound, &from_json));
            }
        }
    }

    #[test]
    fn pruning_is_not_trivially_conservative() {
        // The proptest above would pass with `may_match = true`; make sure real pruning happens
        // on a spread of predicates.
        let v = view();
        let pruned = [
            "i = 1",
            "i > 100",
            "s = 'a'",
            "s LIKE 'z%'",
            "s IS NULL",
            "i IN (1, 2)",
            "f > 3",
            "NOT i >= 10",
        ]
        .iter()
        .filter(|t| !may_match(&Expr::parse(t).unwrap().bind(&small_schema()).unwrap(), &v))
        .count();
        assert_eq!(pruned, 8);
    }
}
