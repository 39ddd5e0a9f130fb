//! Writing data files: Parquet files under `data/`, described by [`AddFile`] actions with
//! per-field statistics.
//!
//! A [`DataFileWriter`] streams batches (already made to fit the table schema with
//! [`crate::arrow_schema::conform_batch`]) into Parquet files through a buffered multipart
//! upload, so memory stays bounded by the two row groups being encoded (one taking input, one
//! closing; see the `encode` module), the input queued for the encoders (up to the row-group
//! byte limit, shared by the files of one write) and the upload buffer.
//!
//! **File rolling.** Input batches are fed to the encoder in slices of at most
//! [`WRITE_SLICE_ROWS`] rows. After each slice, when the bytes already written plus the encoded
//! size of the row group in progress reach [`WriterOptions::target_file_size_bytes`], the file is
//! closed and the next slice starts a new one. A file therefore ends up near the target (larger
//! by at most one slice plus the footer, smaller when the estimate overshot the compressed
//! size); only the last file may be much smaller.
//!
//! **Row groups** are closed at [`WriterOptions::row_group_max_rows`] rows or when their
//! estimated encoded size reaches [`WriterOptions::row_group_max_bytes`], whichever comes first;
//! the byte limit is what bounds the writer's memory.
//!
//! **Statistics.** Page-level statistics, the column index and the offset index are written
//! (unless [`WriterOptions::page_index`] is off) so scans can prune pages. The file-level stats of
//! each [`AddFile`] come from the row-group statistics in the footer; see the `stats` module.

mod encode;
pub(crate) use encode::InputBudget;
#[cfg(test)]
mod fixtures;
mod options;
#[cfg(test)]
mod readers;
mod stats;

pub use options::{
    Codec, PROP_COMPRESSION, PROP_COMPRESSION_LEVEL, PROP_MAX_OPEN_FILES, PROP_PAGE_INDEX,
    PROP_ROW_GROUP_BYTES, PROP_ROW_GROUP_ROWS, PROP_STATS_TRUNCATE_LENGTH, PROP_TARGET_FILE_SIZE,
    WRITE_SLICE_ROWS, WriterOptions,
};

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use strata_format::actions::DEFAULT_TIER;
use strata_format::{AddFile, Schema};

use crate::arrow_schema::to_arrow_schema;
use crate::error::{Error, Result};
use crate::options::{Clock, IdSource, RandomIds, SystemClock};
use crate::storage::TableLocation;

/// Builds a [`DataFileWriter`]; see [`DataFileWriter::builder`].
#[derive(Debug)]
pub struct DataFileWriterBuilder {
    location: TableLocation,
    schema: Schema,
    spec_id: i32,
    partition_values: BTreeMap<i32, Value>,
    partition_path: Vec<String>,
    options: WriterOptions,
    ids: Arc<dyn IdSource>,
    clock: Arc<dyn Clock>,
    tier: String,
    tier_location: Option<String>,
    storage_class: Option<String>,
    budget: Option<encode::InputBudget>,
}

impl DataFileWriterBuilder {
    /// The input budget shared with the other files of the same write (default: one of the
    /// row-group byte limit for this writer alone).
    pub(crate) fn input_budget(mut self, budget: encode::InputBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Partition spec the files are written with (default 0).
    pub fn spec_id(mut self, spec_id: i32) -> Self {
        self.spec_id = spec_id;
        self
    }

    /// Partition the files belong to: values keyed by partition field id, and the directory
    /// segments (e.g. `["day=2024-01-01"]`) the files go in under `data/`.
    pub fn partition(mut self, values: BTreeMap<i32, Value>, path_segments: Vec<String>) -> Self {
        self.partition_values = values;
        self.partition_path = path_segments;
        self
    }

    /// Writer options (default [`WriterOptions::default`]).
    pub fn options(mut self, options: WriterOptions) -> Self {
        self.options = options;
        self
    }

    /// Source of file names (default random UUIDs).
    pub fn ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = ids;
        self
    }

    /// Clock for `modificationTime` (default the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Tier recorded in the adds (default `hot`). Files are written under the builder's
    /// location whatever the tier.
    pub fn tier(mut self, tier: impl Into<String>) -> Self {
        self.tier = tier.into();
        self
    }

    /// Where the tier keeps files (SPEC §6.1): the builder's location is then the tier's, and
    /// each add records `location = <tier_location>/<path>` and the tier's storage class (also
    /// set on the objects written to S3).
    pub fn tier_placement(
        mut self,
        tier_location: Option<String>,
        storage_class: Option<String>,
    ) -> Self {
        self.tier_location = tier_location;
        self.storage_class = storage_class;
        self
    }

    /// Validates the options and partition path and builds the writer.
    pub fn build(self) -> Result<DataFileWriter> {
        self.options.validate()?;
        for seg in &self.partition_path {
            if seg.is_empty() || seg == "." || seg == ".." || seg.contains('/') {
                return Err(Error::InvalidOperation {
                    table: self.location.uri().to_string(),
                    message: format!(
                        "partition path segment `{seg}` is empty, `.`/`..` or contains `/`"
                    ),
                });
            }
        }
        let arrow_schema = to_arrow_schema(&self.schema)?;
        let props = self.options.writer_properties(&arrow_schema)?;
        let mut dir = String::from("data");
        for seg in &self.partition_path {
            dir.push('/');
            dir.push_str(seg);
        }
        let budget = self
            .budget
            .unwrap_or_else(|| encode::InputBudget::new(self.options.row_group_max_bytes));
        Ok(DataFileWriter {
            location: self.location,
            schema: self.schema,
            arrow_schema,
            props,
            dir,
            spec_id: self.spec_id,
            partition_values: self.partition_values,
            options: self.options,
            ids: self.ids,
            clock: self.clock,
            tier: self.tier,
            tier_location: self.tier_location,
            storage_class: self.storage_class,
            budget,
            current: None,
            done: Vec::new(),
        })
    }
}

struct OpenFile {
    writer: encode::FileEncoder,
    relative: String,
    object: Path,
    rows: u64,
    nans: BTreeMap<i32, u64>,
}

/// Writes conformed batches of one partition into Parquet data files and describes them as
/// [`AddFile`]s.
///
/// ```no_run
/// # async fn demo(loc: strata_table::TableLocation, schema: strata_table::format::Schema,
/// #               batch: arrow::array::RecordBatch) -> strata_table::Result<()> {
/// use strata_table::arrow_schema::{conform_batch, to_arrow_schema};
/// use strata_table::writer::DataFileWriter;
/// let target = to_arrow_schema(&schema)?;
/// let mut w = DataFileWriter::builder(loc, schema.clone()).build()?;
/// w.write(&conform_batch(&batch, &schema, &target)?).await?;
/// let adds = w.finish().await?;
/// # Ok(()) }
/// ```
///
/// Dropping the writer without [`finish`](Self::finish) or [`abort`](Self::abort) leaves the
/// file in progress unwritten (its multipart upload is not completed) and completed files in
/// place, unreferenced.
pub struct DataFileWriter {
    location: TableLocation,
    schema: Schema,
    arrow_schema: SchemaRef,
    props: WriterProperties,
    dir: String,
    spec_id: i32,
    partition_values: BTreeMap<i32, Value>,
    options: WriterOptions,
    ids: Arc<dyn IdSource>,
    clock: Arc<dyn Clock>,
    tier: String,
    tier_location: Option<String>,
    storage_class: Option<String>,
    /// Input queued for the encoders, shared with the other files of the write.
    budget: encode::InputBudget,
    current: Option<OpenFile>,
    done: Vec<AddFile>,
}

impl std::fmt::Debug for DataFileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataFileWriter")
            .field("table", &self.location.uri())
            .field("dir", &self.dir)
            .field("options", &self.options)
            .field("current", &self.current.as_ref().map(|c| &c.relative))
            .field("files_done", &self.done.len())
            .finish()
    }
}

impl DataFileWriter {
    /// A builder for a writer of `schema`'s data under `location`.
    pub fn builder(location: TableLocation, schema: Schema) -> DataFileWriterBuilder {
        DataFileWriterBuilder {
            location,
            schema,
            spec_id: 0,
            partition_values: BTreeMap::new(),
            partition_path: Vec::new(),
            options: WriterOptions::default(),
            ids: Arc::new(RandomIds),
            clock: Arc::new(SystemClock),
            tier: DEFAULT_TIER.to_string(),
            tier_location: None,
            storage_class: None,
            budget: None,
        }
    }

    /// The Arrow schema batches must have (the table schema with field ids).
    pub fn arrow_schema(&self) -> &SchemaRef {
        &self.arrow_schema
    }

    /// Appends a batch, which must already have [`Self::arrow_schema`] (see
    /// [`crate::arrow_schema::conform_batch`]). Rolls over to a new file at the target size.
    /// After an error the file in progress is abandoned; [`abort`](Self::abort) the writer.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.schema_ref().fields() != self.arrow_schema.fields() {
            return Err(Error::SchemaMismatch {
                column: String::new(),
                message: "the batch does not have the table's Arrow schema; make it conform with \
                          arrow_schema::conform_batch first"
                    .into(),
            });
        }
        let rows = batch.num_rows();
        let mut offset = 0;
        while offset < rows {
            let n = WRITE_SLICE_ROWS.min(rows - offset);
            let slice = batch.slice(offset, n);
            offset += n;
            let file = match self.current.take() {
                Some(f) => f,
                None => self.open()?,
            };
            let file = self.current.insert(file);
            if let Err(e) = file.writer.write(&slice).await {
                let err = parquet_error(&self.location, &file.object, e);
                self.abandon_current().await;
                return Err(err);
            }
            file.rows += n as u64;
            stats::count_nans(&slice, &mut file.nans);
            let size = file.writer.bytes_written() + file.writer.in_progress_size();
            if size as u64 >= self.options.target_file_size_bytes {
                self.close_current().await?;
            }
        }
        Ok(())
    }

    /// Closes the file in progress and returns the adds of every file written, in order.
    pub async fn finish(mut self) -> Result<Vec<AddFile>> {
        self.close_current().await?;
        Ok(std::mem::take(&mut self.done))
    }

    /// Abandons the file in progress and deletes the files already completed.
    pub async fn abort(mut self) -> Result<()> {
        self.abandon_current().await;
        for add in std::mem::take(&mut self.done) {
            let path = self.location.child(&add.path);
            match self.location.store().delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    return Err(Error::Storage {
                        table: self.location.uri().to_string(),
                        path: path.to_string(),
                        source: Box::new(e),
                    });
                }
            }
        }
        Ok(())
    }

    fn open(&self) -> Result<OpenFile> {
        let relative = format!("{}/{}.parquet", self.dir, self.ids.next_id());
        let object = self.location.child(&relative);
        let mut sink = BufWriter::new(self.location.store().clone(), object.clone());
        if let Some(class) = &self.storage_class
            && self.location.uri().starts_with("s3")
        {
            let mut attributes = object_store::Attributes::new();
            attributes.insert(
                object_store::Attribute::StorageClass,
                object_store::AttributeValue::from(class.clone()),
            );
            sink = sink.with_attributes(attributes);
        }
        let writer = encode::FileEncoder::try_new(
            sink,
            self.arrow_schema.clone(),
            self.props.clone(),
            self.budget.clone(),
        )
        .map_err(|e| parquet_error(&self.location, &object, e))?;
        Ok(OpenFile {
            writer,
            relative,
            object,
            rows: 0,
            nans: BTreeMap::new(),
        })
    }

    async fn abandon_current(&mut self) {
        if let Some(file) = self.current.take() {
            // Best effort: an unfinished multipart upload is also reaped by store lifecycles.
            let _ = file.writer.abort().await;
        }
    }

    async fn close_current(&mut self) -> Result<()> {
        let Some(mut file) = self.current.take() else {
            return Ok(());
        };
        if file.rows == 0 {
            let _ = file.writer.abort().await;
            return Ok(());
        }
        let metadata = match file.writer.finish().await {
            Ok(m) => m,
            Err(e) => {
                let err = parquet_error(&self.location, &file.object, e);
                let _ = file.writer.abort().await;
                return Err(err);
            }
        };
        let size = file.writer.bytes_written() as u64;
        let stats = stats::file_stats(
            &metadata,
            &self.schema,
            self.options.stats_truncate_length,
            &file.nans,
        );
        let location = self
            .tier_location
            .as_ref()
            .map(|l| strata_format::location::location_uri(l, &file.relative));
        self.done.push(AddFile {
            path: file.relative,
            size,
            record_count: file.rows,
            modification_time: self.clock.now_ms(),
            data_change: true,
            spec_id: self.spec_id,
            schema_id: Some(self.schema.schema_id()),
            partition_values: self.partition_values.clone(),
            stats: stats.into(),
            location,
            tier: self.tier.clone(),
            storage_class: self.storage_class.clone(),
            restore: None,
            deletion_vector: None,
        });
        Ok(())
    }
}

fn parquet_error(location: &TableLocation, object: &Path, e: ParquetError) -> Error {
    Error::Parquet {
        table: location.uri().to_string(),
        path: object.to_string(),
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::arrow_schema::{conform_batch, field_id};
    use crate::options::SequentialIds;
    use arrow::array::{ArrayRef, Int32Array, Int64Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::schema::types::Type as ParquetType;
    use serde_json::json;
    use strata_format::schema::{PrimitiveType as P, StructField};

    #[tokio::test]
    async fn every_type_round_trips_through_parquet() {
        let loc = memory_location();
        let schema = all_types_schema();
        let input = all_types_input();
        let target = to_arrow_schema(&schema).unwrap();
        let expected = conform_batch(&input, &schema, &target).unwrap();
        let adds = write_all(&loc, &schema, WriterOptions::default(), &[input]).await;
        assert_eq!(adds.len(), 1);
        let add = &adds[0];
        assert_eq!(add.record_count, 3);
        assert_eq!(add.schema_id, Some(7));
        assert_eq!(add.modification_time, 1_000);
        assert!(add.data_change);
        assert!(
            add.path.starts_with("data/") && add.path.ends_with(".parquet"),
            "{}",
            add.path
        );
        let (bytes, read) = read_back(&loc, add).await;
        assert_eq!(add.size, bytes.len() as u64);
        assert_eq!(read.num_columns(), expected.num_columns());
        for (i, f) in target.fields().iter().enumerate() {
            assert_eq!(
                read.column(i).as_ref(),
                expected.column(i).as_ref(),
                "column {}",
                f.name()
            );
        }
        assert_eq!(read.schema(), target);
    }

    fn parquet_ids(t: &ParquetType, out: &mut Vec<(String, i32)>) {
        for f in t.get_fields() {
            let info = f.get_basic_info();
            // The repeated middle groups of LIST/MAP (`list`, `key_value`) carry no id.
            if info.has_id() {
                out.push((f.name().to_string(), info.id()));
            } else {
                assert!(
                    matches!(f.name(), "list" | "key_value"),
                    "`{}` has no field id",
                    f.name()
                );
            }
            if f.is_group() {
                parquet_ids(f, out);
            }
        }
    }

    fn expected_ids() -> Vec<(String, i32)> {
        [
            ("b", 1),
            ("i8", 2),
            ("i16", 3),
            ("i32", 4),
            ("i64", 5),
            ("f32", 6),
            ("f64", 7),
            ("d9", 8),
            ("d18", 9),
            ("d38", 10),
            ("date", 11),
            ("time", 12),
            ("ts", 13),
            ("tstz", 14),
            ("s", 15),
            ("bin", 16),
            ("st", 17),
            ("a", 18),
            ("b", 19),
            ("inner", 20),
            ("x", 21),
            ("lst", 22),
            ("element", 23),
            ("m", 24),
            ("key", 25),
            ("value", 26),
            ("ls", 27),
            ("element", 28),
            ("q", 29),
        ]
        .iter()
        .map(|(n, i)| (n.to_string(), *i))
        .collect()
    }

    #[tokio::test]
    async fn parquet_schema_carries_field_ids_on_every_column() {
        let loc = memory_location();
        let schema = all_types_schema();
        let adds = write_all(
            &loc,
            &schema,
            WriterOptions::default(),
            &[all_types_input()],
        )
        .await;
        let (bytes, _) = read_back(&loc, &adds[0]).await;
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
        let mut got = Vec::new();
        parquet_ids(
            builder
                .metadata()
                .file_metadata()
                .schema_descr()
                .root_schema(),
            &mut got,
        );
        assert_eq!(got, expected_ids());
        // And the Arrow schema read back has them too.
        assert_eq!(field_id(builder.schema().field(16)), Some(17));
    }

    #[tokio::test]
    async fn files_roll_over_at_the_target_size() {
        let loc = memory_location();
        let schema = Schema::new(
            0,
            vec![
                StructField::required(1, "id", P::Int64),
                StructField::optional(2, "payload", P::String),
            ],
        )
        .unwrap();
        let rows = 100_000i64;
        // Incompressible-ish payloads so the size grows with the rows.
        let payload: Vec<String> = (0..rows)
            .map(|i| format!("{:016x}", (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        let input = RecordBatch::try_from_iter(vec![
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef,
            ),
            ("payload", Arc::new(StringArray::from_iter_values(payload))),
        ])
        .unwrap();
        let target = 256 * 1024;
        let options = WriterOptions {
            target_file_size_bytes: target,
            ..WriterOptions::default()
        };
        let adds = write_all(&loc, &schema, options, &[input]).await;
        assert!(adds.len() >= 4, "{} files", adds.len());
        assert_eq!(
            adds.iter().map(|a| a.record_count).sum::<u64>(),
            rows as u64
        );
        let mut next_id = 0;
        for (i, add) in adds.iter().enumerate() {
            let head = loc.store().head(&loc.child(&add.path)).await.unwrap();
            assert_eq!(head.size, add.size);
            if i + 1 < adds.len() {
                assert!(
                    add.size >= target / 2 && add.size <= target * 3 / 2,
                    "file {i}: {} bytes for a {target} byte target",
                    add.size
                );
            }
            // Ids follow row order across files.
            let ids = &add.stats[&1];
            assert_eq!(ids.min, Some(json!(next_id).into()));
            next_id = ids.max.as_ref().and_then(|v| v.as_i64()).unwrap() + 1;
        }
        assert_eq!(next_id, rows);
    }

    #[tokio::test]
    async fn partition_info_lands_in_paths_and_adds() {
        let loc = memory_location();
        let schema = Schema::new(0, vec![StructField::optional(1, "n", P::Int32)]).unwrap();
        let mut w = DataFileWriter::builder(loc.clone(), schema.clone())
            .spec_id(3)
            .partition(
                BTreeMap::from([(1000, json!("2024-01-01"))]),
                vec!["day=2024-01-01".into()],
            )
            .tier("warm")
            .ids(Arc::new(SequentialIds::default()))
            .build()
            .unwrap();
        let batch = conform_batch(
            &RecordBatch::try_from_iter(vec![(
                "n",
                Arc::new(Int32Array::from(vec![1])) as ArrayRef,
            )])
            .unwrap(),
            &schema,
            w.arrow_schema(),
        )
        .unwrap();
        w.write(&batch).await.unwrap();
        let adds = w.finish().await.unwrap();
        assert_eq!(
            adds[0].path,
            "data/day=2024-01-01/00000000-0000-4000-8000-000000000000.parquet"
        );
        assert_eq!(adds[0].spec_id, 3);
        assert_eq!(adds[0].tier, "warm");
        assert_eq!(adds[0].partition_values[&1000], json!("2024-01-01"));
        assert!(loc.store().head(&loc.child(&adds[0].path)).await.is_ok());
        assert!(loc.child(&adds[0].path).as_ref().starts_with("t/data/"));

        let bad = DataFileWriter::builder(loc.clone(), schema.clone())
            .partition(BTreeMap::new(), vec!["a/b".into()])
            .build()
            .unwrap_err()
            .to_string();
        assert!(bad.contains("`a/b`"), "{bad}");
    }

    #[tokio::test]
    async fn no_rows_no_files_and_unconformed_batches_are_refused() {
        let loc = memory_location();
        let schema = Schema::new(0, vec![StructField::optional(1, "n", P::Int64)]).unwrap();
        let mut w = DataFileWriter::builder(loc.clone(), schema.clone())
            .build()
            .unwrap();
        let raw = RecordBatch::try_from_iter(vec![(
            "n",
            Arc::new(Int32Array::from(vec![1])) as ArrayRef,
        )])
        .unwrap();
        let err = w.write(&raw).await.unwrap_err().to_string();
        assert!(err.contains("conform_batch"), "{err}");
        let empty = RecordBatch::new_empty(w.arrow_schema().clone());
        w.write(&empty).await.unwrap();
        assert!(w.finish().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn abort_deletes_completed_files() {
        let loc = memory_location();
        let schema = Schema::new(0, vec![StructField::optional(1, "n", P::Int64)]).unwrap();
        let mut w = DataFileWriter::builder(loc.clone(), schema.clone())
            .options(WriterOptions {
                target_file_size_bytes: 1,
                ..WriterOptions::default()
            })
            .build()
            .unwrap();
        let batch = RecordBatch::try_new(
            w.arrow_schema().clone(),
            vec![Arc::new(Int64Array::from_iter_values(0..20_000))],
        )
        .unwrap();
        w.write(&batch).await.unwrap();
        w.abort().await.unwrap();
        let listed: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(loc.store().list(None))
            .await
            .unwrap();
        assert!(listed.is_empty(), "{listed:?}");
    }

    #[test]
    fn options_come_from_table_properties() {
        let props = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            WriterOptions::from_properties(&BTreeMap::new()).unwrap(),
            WriterOptions::default()
        );
        let o = WriterOptions::from_properties(&props(&[
            (PROP_COMPRESSION, "zstd"),
            (PROP_COMPRESSION_LEVEL, "9"),
            (PROP_TARGET_FILE_SIZE, "1048576"),
            (PROP_ROW_GROUP_ROWS, "1000"),
            ("strata.other", "x"),
        ]))
        .unwrap();
        assert_eq!(o.compression, Codec::Zstd(9));
        assert_eq!(o.target_file_size_bytes, 1 << 20);
        assert_eq!(o.row_group_max_rows, 1000);
        let o = WriterOptions::from_properties(&props(&[(PROP_COMPRESSION, "LZ4")])).unwrap();
        assert_eq!(o.compression, Codec::Lz4);

        let err = |kv: &[(&str, &str)]| {
            WriterOptions::from_properties(&props(kv))
                .unwrap_err()
                .to_string()
        };
        let e = err(&[(PROP_COMPRESSION, "gzip")]);
        assert!(
            e.contains("strata.write.compression")
                && e.contains("`gzip`")
                && e.contains("zstd, lz4, snappy, none"),
            "{e}"
        );
        let e = err(&[(PROP_COMPRESSION, "snappy"), (PROP_COMPRESSION_LEVEL, "3")]);
        assert!(e.contains("only applies to zstd"), "{e}");
        let e = err(&[(PROP_COMPRESSION_LEVEL, "99")]);
        assert!(e.contains("not a zstd level"), "{e}");
        let e = err(&[(PROP_TARGET_FILE_SIZE, "0")]);
        assert!(
            e.contains("targetFileSizeBytes") && e.contains("positive"),
            "{e}"
        );
        let e = err(&[(PROP_ROW_GROUP_ROWS, "many")]);
        assert!(e.contains("rowGroupRows"), "{e}");
    }

    #[tokio::test]
    async fn pyarrow_sees_the_field_ids() {
        let Some(python) = std::env::var_os("STRATA_TEST_PYTHON") else {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipping pyarrow_sees_the_field_ids: STRATA_TEST_PYTHON is not set"
            );
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let loc = TableLocation::new(Arc::new(store), Path::default(), "file:///tmp/t");
        let schema = all_types_schema();
        let adds = write_all(
            &loc,
            &schema,
            WriterOptions::default(),
            &[all_types_input()],
        )
        .await;
        let file = dir.path().join(&adds[0].path);
        let script = r#"
import sys
import pyarrow as pa
import pyarrow.parquet as pq

def walk(field):
    fid = (field.metadata or {}).get(b"PARQUET:field_id")
    print(f"{field.name}={fid.decode() if fid else None}")
    t = field.type
    if pa.types.is_struct(t):
        for i in range(t.num_fields):
            walk(t.field(i))
    elif pa.types.is_map(t):
        walk(t.key_field)
        walk(t.item_field)
    elif pa.types.is_list(t):
        walk(t.value_field)

for f in pq.read_schema(sys.argv[1]):
    walk(f)
print("rows", pq.read_table(sys.argv[1]).num_rows)
"#;
        let out = tokio::process::Command::new(python)
            .arg("-c")
            .arg(script)
            .arg(&file)
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut expected: Vec<String> = expected_ids()
            .iter()
            .map(|(n, i)| format!("{n}={i}"))
            .collect();
        expected.push("rows 3".into());
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    }
}
