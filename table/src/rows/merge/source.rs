//! The source of a merge, conformed to the table's schema and indexed by key.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
use arrow::compute::cast;
use arrow::compute::{SortOptions, concat_batches, sort_to_indices};
use arrow::datatypes::{DataType, Int64Type};
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

type FastMap<K> = HashMap<K, u32, foldhash::fast::RandomState>;

/// Source rows by key: one integer key column is hashed as is; other keys as Arrow rows.
enum Keys {
    Int(FastMap<i64>),
    Rows(RowConverter, FastMap<Box<[u8]>>),
}

/// The source rows (with the table's Arrow schema) and, for each non-null key, its row.
pub(super) struct SourceIndex {
    batch: RecordBatch,
    keys: Vec<String>,
    index: Keys,
}

/// A single key column of an integer type, as `i64` values.
fn int_keys(columns: &[ArrayRef]) -> Option<Int64Array> {
    let [c] = columns else {
        return None;
    };
    match c.data_type() {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            cast(c, &DataType::Int64)
                .ok()?
                .as_primitive_opt::<Int64Type>()
                .cloned()
        }
        _ => None,
    }
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
        let columns = key_columns(keys, &batch)?;
        let duplicate = |first: u32, second: u32| Error::AmbiguousMergeSource {
            table: table.uri().to_string(),
            key: describe_key(keys, &columns, second as usize),
            first: u64::from(first),
            second: u64::from(second),
        };
        let index = if let Some(ints) = int_keys(&columns) {
            let mut map = FastMap::with_capacity_and_hasher(ints.len(), Default::default());
            for (i, v) in ints.iter().enumerate() {
                let Some(v) = v else { continue };
                let i = i as u32;
                if let Some(first) = map.insert(v, i) {
                    return Err(duplicate(first, i));
                }
            }
            Keys::Int(map)
        } else {
            let converter = RowConverter::new(fields).map_err(|e| evaluation(e.to_string()))?;
            let converted = converter
                .convert_columns(&columns)
                .map_err(|e| evaluation(e.to_string()))?;
            let mut map = FastMap::with_capacity_and_hasher(batch.num_rows(), Default::default());
            for (i, row) in converted.iter().enumerate() {
                if columns.iter().any(|c| c.is_null(i)) {
                    continue;
                }
                let i = i as u32;
                match map.entry(Box::<[u8]>::from(row.as_ref())) {
                    Entry::Vacant(v) => {
                        v.insert(i);
                    }
                    Entry::Occupied(o) => return Err(duplicate(*o.get(), i)),
                }
            }
            Keys::Rows(converter, map)
        };
        Ok(Self {
            batch,
            keys: keys.to_vec(),
            index,
        })
    }

    /// The conformed source rows.
    pub(super) fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    /// Rows in the source.
    pub(super) fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// For each row of a target batch holding the key columns: the source row with its key.
    pub(super) fn lookup(&self, batch: &RecordBatch) -> Result<Vec<Option<u32>>> {
        let columns = key_columns(&self.keys, batch)?;
        match &self.index {
            Keys::Int(map) => {
                let ints = int_keys(&columns)
                    .ok_or_else(|| evaluation("the merge key is not an integer".into()))?;
                Ok(ints
                    .iter()
                    .map(|v| v.and_then(|v| map.get(&v).copied()))
                    .collect())
            }
            Keys::Rows(converter, map) => {
                let converted = converter
                    .convert_columns(&columns)
                    .map_err(|e| evaluation(e.to_string()))?;
                Ok(converted
                    .iter()
                    .enumerate()
                    .map(|(i, row)| {
                        if columns.iter().any(|c| c.is_null(i)) {
                            None
                        } else {
                            map.get(row.as_ref()).copied()
                        }
                    })
                    .collect())
            }
        }
    }

    fn key_count(&self) -> usize {
        match &self.index {
            Keys::Int(m) => m.len(),
            Keys::Rows(_, m) => m.len(),
        }
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
        if self.key_count() == 0 {
            return KeyRange::Nothing;
        }
        let Ok(columns) = key_columns(&self.keys, &self.batch) else {
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

fn key_columns(keys: &[String], batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
    keys.iter()
        .map(|k| {
            batch
                .column_by_name(k)
                .cloned()
                .ok_or_else(|| evaluation(format!("merge key `{k}` is missing from a batch")))
        })
        .collect()
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
