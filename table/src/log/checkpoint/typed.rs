//! The typed `add` column of a checkpoint (SPEC §10.2.2): `add` actions as Arrow arrays and
//! back, without JSON for the common fields and statistics.

use std::sync::Arc;

use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Int32Builder, Int64Builder, StringBuilder,
};
use arrow_array::{Array, ArrayRef, BooleanArray, Int32Array, Int64Array, ListArray, StructArray};
use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Fields};
use strata_format::typed_checkpoint::{
    add_fields as f, bound_text, parse_bound, stats_fields as s,
};
use strata_format::{AddFile, ColumnStats, FileStats};

/// The fields of one element of `add.stats`.
fn stats_element() -> Fields {
    Fields::from(vec![
        Field::new(s::FIELD_ID, DataType::Int32, false),
        Field::new(s::MIN, DataType::Utf8, true),
        Field::new(s::MAX, DataType::Utf8, true),
        Field::new(s::NULL_COUNT, DataType::Int64, true),
        Field::new(s::NAN_COUNT, DataType::Int64, true),
    ])
}

fn stats_item() -> Arc<Field> {
    Arc::new(Field::new(
        "element",
        DataType::Struct(stats_element()),
        false,
    ))
}

/// The fields of the `add` struct, in the order of SPEC §10.2.2.
pub(super) fn add_fields() -> Fields {
    Fields::from(vec![
        Field::new(f::SIZE, DataType::Int64, false),
        Field::new(f::RECORD_COUNT, DataType::Int64, false),
        Field::new(f::MODIFICATION_TIME, DataType::Int64, false),
        Field::new(f::DATA_CHANGE, DataType::Boolean, false),
        Field::new(f::SPEC_ID, DataType::Int32, false),
        Field::new(f::SCHEMA_ID, DataType::Int32, true),
        Field::new(f::PARTITION_VALUES, DataType::Utf8, false),
        Field::new(f::STATS, DataType::List(stats_item()), false),
        Field::new(f::TIER, DataType::Utf8, false),
        Field::new(f::LOCATION, DataType::Utf8, true),
        Field::new(f::STORAGE_CLASS, DataType::Utf8, true),
        Field::new(f::RESTORE, DataType::Utf8, true),
        Field::new(f::DELETION_VECTOR, DataType::Utf8, true),
    ])
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}

/// The `add` column of rows `adds` (`None`: a row that is not a typed `add`).
pub(super) fn encode_adds(adds: &[Option<&AddFile>]) -> Result<ArrayRef, String> {
    let n = adds.len();
    let mut size = Int64Builder::with_capacity(n);
    let mut records = Int64Builder::with_capacity(n);
    let mut modified = Int64Builder::with_capacity(n);
    let mut data_change = BooleanBuilder::with_capacity(n);
    let mut spec_id = Int32Builder::with_capacity(n);
    let mut schema_id = Int32Builder::with_capacity(n);
    let mut partition = StringBuilder::with_capacity(n, n * 2);
    let mut tier = StringBuilder::with_capacity(n, n * 3);
    let mut location = StringBuilder::new();
    let mut storage_class = StringBuilder::new();
    let mut restore = StringBuilder::new();
    let mut vector = StringBuilder::new();
    let mut offsets: Vec<i32> = Vec::with_capacity(n + 1);
    offsets.push(0);
    let (mut ids, mut mins, mut maxs) = (
        Int32Builder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let (mut nulls, mut nans) = (Int64Builder::new(), Int64Builder::new());
    let mut valid = Vec::with_capacity(n);
    let signed = |v: u64, what: &str| {
        i64::try_from(v).map_err(|_| format!("{what} {v} does not fit a typed checkpoint column"))
    };
    for add in adds {
        valid.push(add.is_some());
        let Some(a) = add else {
            // Placeholders under a null struct slot: never read.
            size.append_value(0);
            records.append_value(0);
            modified.append_value(0);
            data_change.append_value(false);
            spec_id.append_value(0);
            schema_id.append_null();
            partition.append_value("");
            tier.append_value("");
            location.append_null();
            storage_class.append_null();
            restore.append_null();
            vector.append_null();
            offsets.push(*offsets.last().unwrap_or(&0));
            continue;
        };
        size.append_value(signed(a.size, "size")?);
        records.append_value(signed(a.record_count, "recordCount")?);
        modified.append_value(a.modification_time);
        data_change.append_value(a.data_change);
        spec_id.append_value(a.spec_id);
        schema_id.append_option(a.schema_id);
        if a.partition_values.is_empty() {
            partition.append_value("{}");
        } else {
            partition.append_value(json(&a.partition_values)?);
        }
        for (id, c) in a.stats.iter() {
            ids.append_value(*id);
            mins.append_option(c.min.as_ref().map(bound_text));
            maxs.append_option(c.max.as_ref().map(bound_text));
            nulls.append_option(c.null_count.map(|v| signed(v, "nullCount")).transpose()?);
            nans.append_option(c.nan_count.map(|v| signed(v, "nanCount")).transpose()?);
        }
        let len = i32::try_from(ids.len()).map_err(|_| "too many statistics in one row group")?;
        offsets.push(len);
        tier.append_value(&a.tier);
        location.append_option(a.location.as_deref());
        storage_class.append_option(a.storage_class.as_deref());
        restore.append_option(a.restore.as_ref().map(json).transpose()?);
        vector.append_option(a.deletion_vector.as_ref().map(json).transpose()?);
    }
    let element = StructArray::try_new(
        stats_element(),
        vec![
            Arc::new(ids.finish()),
            Arc::new(mins.finish()),
            Arc::new(maxs.finish()),
            Arc::new(nulls.finish()),
            Arc::new(nans.finish()),
        ],
        None,
    )
    .map_err(|e| e.to_string())?;
    let stats = ListArray::try_new(
        stats_item(),
        OffsetBuffer::new(offsets.into()),
        Arc::new(element),
        None,
    )
    .map_err(|e| e.to_string())?;
    let children: Vec<ArrayRef> = vec![
        Arc::new(size.finish()),
        Arc::new(records.finish()),
        Arc::new(modified.finish()),
        Arc::new(data_change.finish()),
        Arc::new(spec_id.finish()),
        Arc::new(schema_id.finish()),
        Arc::new(partition.finish()),
        Arc::new(stats),
        Arc::new(tier.finish()),
        Arc::new(location.finish()),
        Arc::new(storage_class.finish()),
        Arc::new(restore.finish()),
        Arc::new(vector.finish()),
    ];
    let array = StructArray::try_new(add_fields(), children, Some(NullBuffer::from(valid)))
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(array))
}

/// A column of a struct by name, cast to `to` (readers accept any Arrow encoding of the
/// Parquet type, e.g. string views).
fn child(s: &StructArray, name: &str, to: &DataType) -> Result<ArrayRef, String> {
    let c = s
        .column_by_name(name)
        .ok_or_else(|| format!("column `add.{name}` is missing"))?;
    if c.data_type() == to {
        return Ok(c.clone());
    }
    arrow::compute::cast(c, to).map_err(|e| format!("column `add.{name}`: {e}"))
}

fn typed<T: Array + Clone + 'static>(c: &ArrayRef, name: &str) -> Result<T, String> {
    c.as_any()
        .downcast_ref::<T>()
        .cloned()
        .ok_or_else(|| format!("column `{name}` has an unexpected type"))
}

/// Row `i` of a text column, if set.
fn opt_str(a: &StringArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// The JSON object of row `i` of a text column, if set.
fn object<T: serde::de::DeserializeOwned>(
    a: &StringArray,
    i: usize,
    name: &str,
) -> Result<Option<T>, String> {
    (!a.is_null(i))
        .then(|| serde_json::from_str(a.value(i)).map_err(|e| format!("`add.{name}`: {e}")))
        .transpose()
}

/// The decoded columns of a batch's `add` struct.
pub(super) struct AddColumns {
    valid: Option<NullBuffer>,
    size: Int64Array,
    records: Int64Array,
    modified: Int64Array,
    data_change: BooleanArray,
    spec_id: Int32Array,
    schema_id: Int32Array,
    partition: StringArray,
    stats: ListArray,
    ids: Int32Array,
    mins: StringArray,
    maxs: StringArray,
    nulls: Int64Array,
    nans: Int64Array,
    tier: StringArray,
    location: StringArray,
    storage_class: StringArray,
    restore: StringArray,
    vector: StringArray,
}

impl AddColumns {
    /// The `add` column of `batch`, if it has one.
    pub(super) fn of(batch: &RecordBatch) -> Result<Option<Self>, String> {
        let Some(col) = batch.column_by_name(strata_format::typed_checkpoint::ADD_COLUMN) else {
            return Ok(None);
        };
        let add = col
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or("column `add` is not a struct")?;
        let text = |name: &str| -> Result<StringArray, String> {
            typed(&child(add, name, &DataType::Utf8)?, name)
        };
        let long = |name: &str| -> Result<Int64Array, String> {
            typed(&child(add, name, &DataType::Int64)?, name)
        };
        let int = |name: &str| -> Result<Int32Array, String> {
            typed(&child(add, name, &DataType::Int32)?, name)
        };
        let stats_col = add
            .column_by_name(f::STATS)
            .ok_or("column `add.stats` is missing")?;
        let stats: ListArray = match stats_col.data_type() {
            DataType::List(_) => typed(stats_col, "add.stats")?,
            DataType::LargeList(_) | DataType::ListView(_) | DataType::LargeListView(_) => {
                let to = DataType::List(Arc::new(Field::new(
                    "element",
                    DataType::Struct(stats_element()),
                    true,
                )));
                let c = arrow::compute::cast(stats_col, &to)
                    .map_err(|e| format!("column `add.stats`: {e}"))?;
                typed(&c, "add.stats")?
            }
            other => return Err(format!("column `add.stats` is a {other}, not a list")),
        };
        let element = stats
            .values()
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or("column `add.stats` does not hold structs")?
            .clone();
        let stat_text = |name: &str| -> Result<StringArray, String> {
            typed(&child(&element, name, &DataType::Utf8)?, name)
        };
        let stat_long = |name: &str| -> Result<Int64Array, String> {
            typed(&child(&element, name, &DataType::Int64)?, name)
        };
        Ok(Some(Self {
            valid: add.nulls().cloned(),
            size: long(f::SIZE)?,
            records: long(f::RECORD_COUNT)?,
            modified: long(f::MODIFICATION_TIME)?,
            data_change: typed(
                &child(add, f::DATA_CHANGE, &DataType::Boolean)?,
                f::DATA_CHANGE,
            )?,
            spec_id: int(f::SPEC_ID)?,
            schema_id: int(f::SCHEMA_ID)?,
            partition: text(f::PARTITION_VALUES)?,
            ids: typed(
                &child(&element, s::FIELD_ID, &DataType::Int32)?,
                s::FIELD_ID,
            )?,
            mins: stat_text(s::MIN)?,
            maxs: stat_text(s::MAX)?,
            nulls: stat_long(s::NULL_COUNT)?,
            nans: stat_long(s::NAN_COUNT)?,
            stats,
            tier: text(f::TIER)?,
            location: text(f::LOCATION)?,
            storage_class: text(f::STORAGE_CLASS)?,
            restore: text(f::RESTORE)?,
            vector: text(f::DELETION_VECTOR)?,
        }))
    }

    /// Whether row `i` holds a typed `add`.
    pub(super) fn is_add(&self, i: usize) -> bool {
        self.valid.as_ref().is_none_or(|v| v.is_valid(i))
    }

    /// The `add` of row `i` (a typed row) with logical path `path`.
    pub(super) fn add(&self, i: usize, path: &str) -> Result<AddFile, String> {
        let required = |a: &dyn Array, name: &str| -> Result<(), String> {
            if a.is_null(i) {
                Err(format!("`add.{name}` is null"))
            } else {
                Ok(())
            }
        };
        let unsigned = |a: &Int64Array, name: &str| -> Result<u64, String> {
            required(a, name)?;
            u64::try_from(a.value(i)).map_err(|_| format!("`add.{name}` is negative"))
        };
        required(&self.modified, f::MODIFICATION_TIME)?;
        required(&self.data_change, f::DATA_CHANGE)?;
        required(&self.spec_id, f::SPEC_ID)?;
        required(&self.partition, f::PARTITION_VALUES)?;
        required(&self.tier, f::TIER)?;
        let partition_text = self.partition.value(i);
        let partition_values = if partition_text == "{}" {
            Default::default()
        } else {
            serde_json::from_str(partition_text)
                .map_err(|e| format!("`add.partitionValues`: {e}"))?
        };
        let mut stats = FileStats::new();
        if !self.stats.is_null(i) {
            let offsets = self.stats.value_offsets();
            let range = offsets[i] as usize..offsets[i + 1] as usize;
            // Built at its exact size: a million files' statistics are most of an open
            // table's memory.
            let mut columns = Vec::with_capacity(range.len());
            for j in range {
                if self.ids.is_null(j) {
                    return Err("`add.stats[].fieldId` is null".into());
                }
                let bound = |a: &StringArray, name: &str| -> Result<_, String> {
                    (!a.is_null(j))
                        .then(|| {
                            parse_bound(a.value(j))
                                .map_err(|e| format!("`add.stats[].{name}`: {e}"))
                        })
                        .transpose()
                };
                let count = |a: &Int64Array, name: &str| -> Result<Option<u64>, String> {
                    (!a.is_null(j))
                        .then(|| {
                            u64::try_from(a.value(j))
                                .map_err(|_| format!("`add.stats[].{name}` is negative"))
                        })
                        .transpose()
                };
                columns.push((
                    self.ids.value(j),
                    ColumnStats {
                        min: bound(&self.mins, s::MIN)?,
                        max: bound(&self.maxs, s::MAX)?,
                        null_count: count(&self.nulls, s::NULL_COUNT)?,
                        nan_count: count(&self.nans, s::NAN_COUNT)?,
                    },
                ));
            }
            if !columns.windows(2).all(|w| w[0].0 < w[1].0) {
                let mut ids: Vec<i32> = columns.iter().map(|(id, _)| *id).collect();
                ids.sort_unstable();
                if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
                    return Err(format!("`add.stats` holds field id {} twice", w[0]));
                }
            }
            stats = columns.into_iter().collect();
        }
        Ok(AddFile {
            path: path.to_string(),
            size: unsigned(&self.size, f::SIZE)?,
            record_count: unsigned(&self.records, f::RECORD_COUNT)?,
            modification_time: self.modified.value(i),
            data_change: self.data_change.value(i),
            spec_id: self.spec_id.value(i),
            schema_id: (!self.schema_id.is_null(i)).then(|| self.schema_id.value(i)),
            partition_values,
            stats,
            tier: self.tier.value(i).to_string(),
            location: opt_str(&self.location, i).map(str::to_string),
            storage_class: opt_str(&self.storage_class, i).map(str::to_string),
            restore: object(&self.restore, i, f::RESTORE)?,
            deletion_vector: object(&self.vector, i, f::DELETION_VECTOR)?,
        })
    }
}
