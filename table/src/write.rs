//! Writing data: appends and full overwrites as single atomic commits.

use std::collections::{BTreeMap, HashMap};

use arrow::array::RecordBatch;
use futures::{Stream, StreamExt};
use object_store::ObjectStoreExt;
use serde_json::Value;
use strata_format::transform::{human_value, partition_path_segment};
use strata_format::{AddFile, PartitionSpec};

use crate::arrow_schema::{conform_batch, to_arrow_schema};
use crate::error::{Error, Result};
use crate::partitioning::split_by_partition;
use crate::snapshot::Snapshot;
use crate::table::Table;
use crate::transaction::CommitResult;
use crate::writer::{DataFileWriter, WriterOptions};

/// How new data relates to the table's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Add rows.
    #[default]
    Append,
    /// Replace every row of the table.
    Overwrite,
}

/// Options of [`Table::write`].
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Append or overwrite.
    pub mode: WriteMode,
    /// Exactly-once ingestion: (application id, batch number).
    pub app_transaction: Option<(String, u64)>,
    /// Parameters recorded in the commit info (e.g. the source files).
    pub parameters: BTreeMap<String, Value>,
}

impl WriteOptions {
    /// Overwrite mode.
    pub fn overwrite() -> Self {
        Self {
            mode: WriteMode::Overwrite,
            ..Self::default()
        }
    }
}

/// Data files written for one commit, one writer per partition.
pub(crate) struct PartitionedWriter {
    table: Table,
    snapshot: Snapshot,
    spec: PartitionSpec,
    target: arrow::datatypes::SchemaRef,
    options: WriterOptions,
    writers: HashMap<String, DataFileWriter>,
    rows: u64,
}

impl PartitionedWriter {
    pub(crate) fn new(table: &Table, snapshot: &Snapshot) -> Result<Self> {
        let meta = snapshot.metadata();
        let spec = meta
            .default_spec()
            .cloned()
            .ok_or_else(|| Error::InvalidOperation {
                table: table.uri().to_string(),
                message: format!("no partition spec with id {}", meta.default_spec_id),
            })?;
        Ok(Self {
            table: table.clone(),
            snapshot: snapshot.clone(),
            target: to_arrow_schema(snapshot.schema())?,
            options: WriterOptions::from_properties(&meta.properties)?,
            spec,
            writers: HashMap::new(),
            rows: 0,
        })
    }

    /// Conforms a user batch to the table schema, splits it by partition and writes it.
    pub(crate) async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let schema = self.snapshot.schema();
        let conformed = conform_batch(batch, schema, &self.target)?;
        self.write_conformed(&conformed).await
    }

    /// Writes a batch that already has the table's Arrow schema.
    pub(crate) async fn write_conformed(&mut self, batch: &RecordBatch) -> Result<()> {
        let schema = self.snapshot.schema();
        for (values, part) in split_by_partition(batch, &self.spec, schema)? {
            let key = serde_json::to_string(&values).unwrap_or_default();
            let writer = match self.writers.get_mut(&key) {
                Some(w) => w,
                None => {
                    let segments = self
                        .spec
                        .fields
                        .iter()
                        .map(|f| {
                            // Directory names are informative: human-readable values.
                            let v = values.get(&f.field_id).unwrap_or(&Value::Null);
                            let shown = match v {
                                Value::Null => Value::Null,
                                other => Value::String(human_value(Some(f.transform), other)),
                            };
                            partition_path_segment(&f.name, &shown)
                        })
                        .collect();
                    let options = &self.table.inner.options;
                    let w = DataFileWriter::builder(self.table.location().clone(), schema.clone())
                        .spec_id(self.spec.spec_id)
                        .partition(values, segments)
                        .options(self.options.clone())
                        .ids(options.ids.clone())
                        .clock(options.clock.clone())
                        .tier(self.snapshot.metadata().default_tier_name())
                        .build()?;
                    self.writers.entry(key).or_insert(w)
                }
            };
            self.rows += part.num_rows() as u64;
            writer.write(&part).await?;
        }
        Ok(())
    }

    /// Closes every file and returns their adds; on error, deletes what was written.
    pub(crate) async fn finish(self) -> Result<Vec<AddFile>> {
        let mut adds = Vec::new();
        let mut first_err = None;
        for (_, w) in self.writers {
            if first_err.is_some() {
                let _ = w.abort().await;
                continue;
            }
            match w.finish().await {
                Ok(a) => adds.extend(a),
                Err(e) => first_err = Some(e),
            }
        }
        if let Some(e) = first_err {
            delete_files(&self.table, &adds).await;
            return Err(e);
        }
        adds.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(adds)
    }

    /// Abandons everything written.
    pub(crate) async fn abort(self) {
        for (_, w) in self.writers {
            let _ = w.abort().await;
        }
    }
}

/// Best-effort removal of data files that no commit references.
pub(crate) async fn delete_files(table: &Table, adds: &[AddFile]) {
    for a in adds {
        let path = table.location().child(&a.path);
        if let Err(e) = table.location().store().delete(&path).await {
            tracing::warn!(table = table.uri(), path = %path, error = %e,
                "could not delete an uncommitted data file");
        }
    }
}

impl Table {
    /// Writes a stream of record batches (columns matched to the table schema by name) as one
    /// atomic commit. Nothing becomes visible unless the commit succeeds; on failure the data
    /// files written so far are deleted (unless the commit outcome is unknown).
    pub async fn write<S>(&self, batches: S, options: WriteOptions) -> Result<CommitResult>
    where
        S: Stream<Item = Result<RecordBatch>> + Send,
    {
        let txn = self.transaction().await?;
        let base = txn.base().clone();
        let mut writer = PartitionedWriter::new(self, &base)?;
        let mut batches = std::pin::pin!(batches);
        while let Some(batch) = batches.next().await {
            let res = match batch {
                Ok(b) => writer.write(&b).await,
                Err(e) => Err(e),
            };
            if let Err(e) = res {
                writer.abort().await;
                return Err(e);
            }
        }
        let rows = writer.rows;
        let adds = writer.finish().await?;
        let bytes: u64 = adds.iter().map(|a| a.size).sum();
        let (operation, mut txn) = match options.mode {
            WriteMode::Append => ("APPEND", txn),
            WriteMode::Overwrite => {
                let mut t = txn.read_whole_table();
                for path in base.files().keys() {
                    t = t.remove_file(path)?;
                }
                ("OVERWRITE", t)
            }
        };
        txn = txn
            .operation(operation)
            .metric(
                "numAddedFiles",
                i64::try_from(adds.len()).unwrap_or(i64::MAX),
            )
            .metric("numAddedRows", i64::try_from(rows).unwrap_or(i64::MAX))
            .metric("numAddedBytes", i64::try_from(bytes).unwrap_or(i64::MAX));
        for (k, v) in options.parameters {
            txn = txn.parameter(k, v);
        }
        if let Some((app, batch)) = options.app_transaction {
            txn = txn.app_transaction(app, batch);
        }
        for a in &adds {
            txn = txn.add_file(a.clone());
        }
        match txn.commit().await {
            Ok(c) => Ok(c),
            Err(e) => {
                if !matches!(e, Error::CommitOutcomeUnknown { .. }) {
                    delete_files(self, &adds).await;
                }
                Err(e)
            }
        }
    }

    /// Appends record batches as one commit.
    pub async fn append(
        &self,
        batches: impl IntoIterator<Item = RecordBatch>,
    ) -> Result<CommitResult> {
        let items: Vec<Result<RecordBatch>> = batches.into_iter().map(Ok).collect();
        self.write(futures::stream::iter(items), WriteOptions::default())
            .await
    }
}
