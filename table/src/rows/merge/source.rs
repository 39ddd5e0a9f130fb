//! The source of a merge, conformed to the table's schema and indexed by key.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::{SortOptions, concat_batches, sort_to_indices};
use arrow::row::{RowConverter, SortField};
use arrow::util::display::array_value_to_string;
use roaring::RoaringBitmap;
use strata_format::datum::Datum;
use strata_format::expr::{Expr, Literal};

use crate::arrow_schema::{conform_batch, to_arrow_schema};
use crate::error::{Error, Result};
use crate::log::snapshot::Snapshot;
use crate::rows::rewrite::evaluation;
use crate::scan::stats::datum_at;
use crate::table::Table;

/// The source rows (with the table's Arrow schema) and, for each non-null key, its row.
pub(super) struct SourceIndex {
    batch: RecordBatch,
    keys: Vec<String>,
    converter: RowConverter,
    rows: HashMap<Box<[u8]>, u32>,
}

impl SourceIndex {
    /// Conforms `raw` to `snapshot`'s schema and indexes it on `keys` (top-level columns).
    /// Two rows with one non-null key are [`Error::AmbiguousMergeSource`].
    pub(super) fn build(
        table: &Table,
        snapshot: &Snapshot,
        raw: &[RecordBatch],
        keys: &[String],
    ) -> Result<Self> {
        let schema = snapshot.schema();
        let target = to_arrow_schema(schema)?;
        let conformed = raw
            .iter()
            .map(|b| conform_batch(b, schema, &target))
            .collect::<Result<Vec<_>>>()?;
        let batch = concat_batches(&target, &conformed).map_err(|e| evaluation(e.to_string()))?;
        if u32::try_from(batch.num_rows()).is_err() {
            return Err(Error::InvalidOperation {
                table: table.uri().to_string(),
                message: format!(
                    "a merge source holds at most {} rows, not {}",
                    u32::MAX,
                    batch.num_rows()
                ),
            });
        }
        let mut fields = Vec::with_capacity(keys.len());
        for k in keys {
            let field = target
                .field_with_name(k)
                .map_err(|_| Error::InvalidOperation {
                    table: table.uri().to_string(),
                    message: format!(
                        "merge key `{k}` is not a top-level column of the table (columns: {})",
                        target
                            .fields()
                            .iter()
                            .map(|f| f.name().as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?;
            fields.push(SortField::new(field.data_type().clone()));
        }
        let converter = RowConverter::new(fields).map_err(|e| evaluation(e.to_string()))?;
        let mut index = Self {
            batch,
            keys: keys.to_vec(),
            converter,
            rows: HashMap::new(),
        };
        let columns = index.key_columns(&index.batch)?;
        let converted = index
            .converter
            .convert_columns(&columns)
            .map_err(|e| evaluation(e.to_string()))?;
        let mut rows = HashMap::with_capacity(index.batch.num_rows());
        for (i, row) in converted.iter().enumerate() {
            if columns.iter().any(|c| c.is_null(i)) {
                continue;
            }
            let i = i as u32;
            match rows.entry(Box::<[u8]>::from(row.as_ref())) {
                Entry::Vacant(v) => {
                    v.insert(i);
                }
                Entry::Occupied(o) => {
                    return Err(Error::AmbiguousMergeSource {
                        table: table.uri().to_string(),
                        key: describe_key(keys, &columns, i as usize),
                        first: u64::from(*o.get()),
                        second: u64::from(i),
                    });
                }
            }
        }
        index.rows = rows;
        Ok(index)
    }

    /// The conformed source rows.
    pub(super) fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    /// Rows in the source.
    pub(super) fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn key_columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        self.keys
            .iter()
            .map(|k| {
                batch
                    .column_by_name(k)
                    .cloned()
                    .ok_or_else(|| evaluation(format!("merge key `{k}` is missing from a batch")))
            })
            .collect()
    }

    /// For each row of a target batch holding the key columns: the source row with its key.
    pub(super) fn lookup(&self, batch: &RecordBatch) -> Result<Vec<Option<u32>>> {
        let columns = self.key_columns(batch)?;
        let converted = self
            .converter
            .convert_columns(&columns)
            .map_err(|e| evaluation(e.to_string()))?;
        Ok(converted
            .iter()
            .enumerate()
            .map(|(i, row)| {
                if columns.iter().any(|c| c.is_null(i)) {
                    None
                } else {
                    self.rows.get(row.as_ref()).copied()
                }
            })
            .collect())
    }

    /// Source rows not in `matched` (rows with a NULL key never match), in source order.
    pub(super) fn unmatched(&self, matched: &RoaringBitmap) -> Vec<u32> {
        (0..self.batch.num_rows() as u32)
            .filter(|i| !matched.contains(*i))
            .collect()
    }

    /// `k >= min AND k <= max` over each key column whose source range can be stated: true
    /// for every target row a source row can match.
    pub(super) fn key_range(&self) -> KeyRange {
        if self.rows.is_empty() {
            return KeyRange::Nothing;
        }
        let Ok(columns) = self.key_columns(&self.batch) else {
            return KeyRange::Everything;
        };
        let mut out: Option<Expr> = None;
        for (name, column) in self.keys.iter().zip(&columns) {
            let Some((lo, hi)) = min_max(column) else {
                continue;
            };
            let range = Expr::column(name.clone())
                .gt_eq(Expr::lit(literal(lo)))
                .and(Expr::column(name.clone()).lt_eq(Expr::lit(literal(hi))));
            out = Some(match out {
                Some(e) => e.and(range),
                None => range,
            });
        }
        match out {
            Some(e) => KeyRange::Within(e),
            None => KeyRange::Everything,
        }
    }
}

/// Which target rows a merge source can match.
pub(super) enum KeyRange {
    /// None: every source key is NULL (or the source is empty).
    Nothing,
    /// Rows within this predicate.
    Within(Expr),
    /// Any row (no bound could be stated for the key types).
    Everything,
}

/// The smallest and largest non-null values of a column, when they are datums.
fn min_max(column: &ArrayRef) -> Option<(Datum, Datum)> {
    let options = SortOptions {
        descending: false,
        nulls_first: false,
    };
    let order = sort_to_indices(column.as_ref(), Some(options), None).ok()?;
    let non_null = column.len() - column.null_count();
    if non_null == 0 {
        return None;
    }
    let first = order.value(0) as usize;
    let last = order.value(non_null - 1) as usize;
    let lo = datum_at(column, first)?;
    let hi = datum_at(column, last)?;
    // NaN sorts last in Arrow but compares with nothing in a predicate.
    if matches!(hi, Datum::Float32(x) if x.is_nan())
        || matches!(hi, Datum::Float64(x) if x.is_nan())
    {
        return None;
    }
    Some((lo, hi))
}

/// A literal for a key bound, in the plainest form the expression text round-trips.
fn literal(d: Datum) -> Literal {
    match d {
        Datum::Int8(v) => Literal::Int(i64::from(v)),
        Datum::Int16(v) => Literal::Int(i64::from(v)),
        Datum::Int32(v) => Literal::Int(i64::from(v)),
        Datum::Int64(v) => Literal::Int(v),
        Datum::String(s) => Literal::String(s),
        other => Literal::Typed(other),
    }
}

/// `(a = 1, b = 'x')` for row `i` of the key columns.
fn describe_key(keys: &[String], columns: &[ArrayRef], i: usize) -> String {
    let parts: Vec<String> = keys
        .iter()
        .zip(columns)
        .map(|(k, c)| {
            let v = array_value_to_string(c, i).unwrap_or_else(|_| "?".into());
            format!("{k} = {v}")
        })
        .collect();
    format!("({})", parts.join(", "))
}
