//! Writing data: appends and full overwrites as single atomic commits.

pub(crate) mod schema_merge;
pub mod writer;

use std::collections::{BTreeMap, HashMap};

use arrow::array::RecordBatch;
use futures::{Stream, StreamExt};
use object_store::ObjectStoreExt;
use serde_json::Value;
use strata_format::evolution::{SchemaChange, apply_changes};
use strata_format::transform::{human_value, partition_path_segment};
use strata_format::{Action, AddFile, Metadata, PartitionSpec};

use crate::arrow_schema::{conform_batch, to_arrow_schema};
use crate::error::{Error, Result};
use crate::log::snapshot::Snapshot;
use crate::log::transaction::CommitResult;
use crate::partitioning::split_by_partition;
use crate::storage::TableLocation;
use crate::storage::resolve::StoreResolver;
use crate::table::Table;
use crate::write::schema_merge::merge_changes;
use crate::write::writer::{DataFileWriter, WriterOptions};

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
    /// Add the columns of the input that the table lacks (as optional columns, SPEC §4.4) in
    /// the same commit, instead of refusing the input. Files written before a batch brought a
    /// new column simply lack it and read as null.
    pub merge_schema: bool,
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
    metadata: Metadata,
    spec: PartitionSpec,
    target: arrow::datatypes::SchemaRef,
    options: WriterOptions,
    writers: HashMap<String, DataFileWriter>,
    /// When each open writer last took rows (a counter), to complete the least recently used
    /// one past `strata.write.maxOpenFiles`.
    last_used: HashMap<String, u64>,
    tick: u64,
    /// Files completed before the end of the write (writer cap, schema change).
    closed: Vec<AddFile>,
    rows: u64,
    /// The tier new files go to (the default tier unless set).
    tier: String,
    /// Input queued for the encoders of every file of the write.
    budget: writer::InputBudget,
}

impl PartitionedWriter {
    pub(crate) fn new(table: &Table, snapshot: &Snapshot) -> Result<Self> {
        Self::with_metadata(table, snapshot.metadata().clone())
    }

    fn with_metadata(table: &Table, metadata: Metadata) -> Result<Self> {
        let tier = metadata.default_tier_name().to_string();
        let spec = metadata
            .default_spec()
            .cloned()
            .ok_or_else(|| Error::InvalidOperation {
                table: table.uri().to_string(),
                message: format!("no partition spec with id {}", metadata.default_spec_id),
            })?;
        let options = WriterOptions::from_properties(&metadata.properties)?;
        let budget = writer::InputBudget::new(options.row_group_max_bytes);
        Ok(Self {
            table: table.clone(),
            target: to_arrow_schema(&metadata.schema)?,
            options,
            metadata,
            spec,
            writers: HashMap::new(),
            last_used: HashMap::new(),
            tick: 0,
            closed: Vec::new(),
            rows: 0,
            tier,
            budget,
        })
    }

    /// Writes the files into tier `tier` (its location and storage class) instead of the
    /// default tier.
    pub(crate) fn in_tier(mut self, tier: &str) -> Self {
        self.tier = tier.to_string();
        self
    }

    /// The metadata the files are written under.
    pub(crate) fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Switches to `metadata` (an evolved schema) for the batches that follow: the open files
    /// are closed first, since a Parquet file has one schema.
    async fn evolve(&mut self, metadata: Metadata) -> Result<()> {
        let mut next = Self::with_metadata(&self.table, metadata)?;
        let open = std::mem::take(&mut self.writers);
        for (_, w) in open {
            self.closed.extend(w.finish().await?);
        }
        next.closed = std::mem::take(&mut self.closed);
        next.rows = self.rows;
        next.tier = std::mem::take(&mut self.tier);
        *self = next;
        Ok(())
    }

    /// Conforms a user batch to the table schema, splits it by partition and writes it.
    pub(crate) async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let conformed = conform_batch(batch, &self.metadata.schema, &self.target)?;
        self.write_conformed(&conformed).await
    }

    /// Writes a batch that already has the table's Arrow schema.
    pub(crate) async fn write_conformed(&mut self, batch: &RecordBatch) -> Result<()> {
        let schema = &self.metadata.schema;
        for (values, part) in split_by_partition(batch, &self.spec, schema)? {
            let key = serde_json::to_string(&values).unwrap_or_default();
            if !self.writers.contains_key(&key) && self.writers.len() >= self.options.max_open_files
            {
                self.complete_least_recent().await?;
            }
            let schema = &self.metadata.schema;
            self.tick += 1;
            self.last_used.insert(key.clone(), self.tick);
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
                    let (location, tier_location, class) =
                        tier_placement(&self.table, &self.metadata, &self.tier)?;
                    let w = DataFileWriter::builder(location, schema.clone())
                        .tier_placement(tier_location, class)
                        .spec_id(self.spec.spec_id)
                        .partition(values, segments)
                        .options(self.options.clone())
                        .ids(options.ids.clone())
                        .clock(options.clock.clone())
                        .tier(&self.tier)
                        .input_budget(self.budget.clone())
                        .build()?;
                    self.writers.entry(key).or_insert(w)
                }
            };
            self.rows += part.num_rows() as u64;
            writer.write(&part).await?;
        }
        Ok(())
    }

    /// Completes the file of the partition written to least recently.
    async fn complete_least_recent(&mut self) -> Result<()> {
        let Some(key) = self
            .last_used
            .iter()
            .filter(|(k, _)| self.writers.contains_key(*k))
            .min_by_key(|(_, t)| **t)
            .map(|(k, _)| k.clone())
        else {
            return Ok(());
        };
        self.last_used.remove(&key);
        if let Some(w) = self.writers.remove(&key) {
            self.closed.extend(w.finish().await?);
        }
        Ok(())
    }

    /// Closes every file and returns their adds; on error, deletes what was written.
    pub(crate) async fn finish(self) -> Result<Vec<AddFile>> {
        let mut adds = self.closed;
        let mut first_err = None;
        // Partitions finish concurrently: on local disk each flushes its last file and folder
        // (SPEC §2.4), and those flushes overlap instead of adding up.
        let finished =
            futures::future::join_all(self.writers.into_values().map(|w| w.finish())).await;
        for result in finished {
            match result {
                Ok(a) => adds.extend(a),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
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
        delete_files(&self.table, &self.closed).await;
        for (_, w) in self.writers {
            let _ = w.abort().await;
        }
    }
}

/// Where new files of tier `name` go (SPEC §6.1): the tier's location (the table root when it
/// has none), the location to record in the adds, and the tier's storage class.
fn tier_placement(
    table: &Table,
    metadata: &Metadata,
    name: &str,
) -> Result<(TableLocation, Option<String>, Option<String>)> {
    let tier = metadata.tiers.iter().find(|t| t.name == name);
    let class = tier.and_then(|t| t.storage_class.clone());
    let location = match tier {
        Some(t) => crate::tier::checked_location(table.uri(), t)?,
        None => None,
    };
    match location {
        Some(uri) => Ok((TableLocation::parse(uri)?, Some(uri.to_string()), class)),
        None => Ok((table.location().clone(), None, class)),
    }
}

/// Best-effort removal of data files that no commit references.
pub(crate) async fn delete_files(table: &Table, adds: &[AddFile]) {
    let resolver = StoreResolver::new(table.location().clone());
    for a in adds {
        let deleted = match resolver.resolve(&a.path, a.location.as_deref()) {
            Ok((store, path)) => store.delete(&path).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = deleted {
            tracing::warn!(table = table.uri(), path = %a.path, error = %e,
                "could not delete an uncommitted data file");
        }
    }
}

/// Passes on the outcome of a commit that adds the already written `adds` (and the
/// deletion-vector object at `vectors`, if any). When the commit surely did not land, they are
/// deleted (SPEC §8.4: a writer may delete its own files once its transaction did not and will
/// not commit); after an unknown outcome they stay, since the commit may have landed.
pub(crate) async fn unless_landed(
    table: &Table,
    result: Result<CommitResult>,
    adds: &[AddFile],
    vectors: Option<&str>,
) -> Result<CommitResult> {
    if let Err(e) = &result
        && !matches!(e, Error::CommitOutcomeUnknown { .. })
    {
        delete_files(table, adds).await;
        if let Some(path) = vectors {
            crate::rows::vectors::delete_object(table, path).await;
        }
    }
    result
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
        let mut merged: Vec<SchemaChange> = Vec::new();
        let mut batches = std::pin::pin!(batches);
        while let Some(batch) = batches.next().await {
            let res = match batch {
                Ok(b) if options.merge_schema => {
                    match self.merge_into(&mut writer, &b, &mut merged).await {
                        Ok(()) => writer.write(&b).await,
                        Err(e) => Err(e),
                    }
                }
                Ok(b) => writer.write(&b).await,
                Err(e) => Err(e),
            };
            if let Err(e) = res {
                writer.abort().await;
                return Err(e);
            }
        }
        let evolved = (!merged.is_empty()).then(|| writer.metadata().clone());
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
        if let Some(metadata) = evolved {
            let changes: Vec<Value> = merged
                .iter()
                .map(|c| Value::String(c.to_string()))
                .collect();
            txn = txn
                .parameter("schemaChanges", Value::Array(changes))
                .action(Action::Metadata(Box::new(metadata)));
        }
        if let Some((app, batch)) = options.app_transaction {
            txn = txn.app_transaction(app, batch);
        }
        for a in &adds {
            txn = txn.add_file(a.clone());
        }
        unless_landed(self, txn.commit().await, &adds, None).await
    }

    /// With merge-schema: evolves the writer's schema so that it holds every column of `batch`.
    async fn merge_into(
        &self,
        writer: &mut PartitionedWriter,
        batch: &RecordBatch,
        merged: &mut Vec<SchemaChange>,
    ) -> Result<()> {
        let changes = merge_changes(&writer.metadata().schema, batch.schema_ref())?;
        if changes.is_empty() {
            return Ok(());
        }
        let mut metadata = apply_changes(writer.metadata(), &changes)?;
        if !merged.is_empty() {
            // One commit, one schema id step (SPEC §4.4): later merges of the same write keep
            // the id of the first.
            let id = writer.metadata().schema.schema_id();
            metadata.schema = metadata.schema.with_schema_id(id);
        }
        writer.evolve(metadata).await?;
        merged.extend(changes);
        Ok(())
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema as ArrowSchema};
    use arrow::util::pretty::pretty_format_batches;
    use strata_format::compact::parse_schema;

    use super::*;
    use crate::{CreateTable, SnapshotSelector};

    fn batch(columns: Vec<(&str, Arc<dyn Array>)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(ArrowSchema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    fn ids(v: &[i64]) -> Arc<dyn Array> {
        Arc::new(Int64Array::from(v.to_vec()))
    }

    async fn table(name: &str) -> Table {
        let t = Table::create(
            &format!("memory://{name}/t"),
            CreateTable::new(parse_schema("id:int64,name:string?").unwrap()),
        )
        .await
        .unwrap();
        t.append([batch(vec![("id", ids(&[1]))])]).await.unwrap();
        t
    }

    fn merging() -> WriteOptions {
        WriteOptions {
            merge_schema: true,
            ..WriteOptions::default()
        }
    }

    async fn rows(t: &Table, version: Option<u64>) -> String {
        let mut scan = t.scan();
        if let Some(v) = version {
            scan = scan.snapshot(SnapshotSelector::Version(v));
        }
        let batches = scan.plan().await.unwrap().collect().await.unwrap();
        pretty_format_batches(&batches).unwrap().to_string()
    }

    #[tokio::test]
    async fn an_extra_column_is_refused_without_merge_schema_and_nothing_is_committed() {
        let t = table("merge-refused").await;
        let extra = batch(vec![
            ("id", ids(&[2])),
            ("score", Arc::new(Float64Array::from(vec![0.5]))),
        ]);
        let err = t.append([extra]).await.unwrap_err().to_string();
        assert!(
            err.contains("score") && err.contains("merge-schema"),
            "{err}"
        );
        let latest = t.latest().await.unwrap();
        assert_eq!(latest.version(), 1);
        assert_eq!(
            latest.files().len(),
            1,
            "no file of the failed write is committed"
        );
    }

    #[tokio::test]
    async fn merge_schema_adds_the_columns_in_the_same_commit_and_old_versions_keep_their_schema() {
        let t = table("merge-one").await;
        let before = t.latest().await.unwrap().schema().clone();
        let extra = batch(vec![
            ("score", Arc::new(Float64Array::from(vec![0.5]))),
            ("id", ids(&[2])),
        ]);
        let items = vec![Ok(extra)];
        let c = t
            .write(futures::stream::iter(items), merging())
            .await
            .unwrap();
        assert_eq!(c.version, 2, "schema change and data are one commit");
        let snap = t.latest().await.unwrap();
        let field = snap.schema().field_by_name("score").unwrap();
        assert!(!field.required, "merged columns are optional");
        assert_eq!(snap.schema().schema_id(), before.schema_id() + 1);
        let info = snap.commit_info();
        assert_eq!(info.operation, "APPEND");
        assert!(info.operation_parameters.contains_key("schemaChanges"));
        let now = rows(&t, None).await;
        assert!(now.contains("| 2  |      | 0.5   |"), "{now}");
        assert!(
            now.contains("| 1  |      |       |"),
            "old rows read the new column as null: {now}"
        );
        let then = rows(&t, Some(1)).await;
        assert!(
            !then.contains("score"),
            "time travel returns the old schema: {then}"
        );
        assert_eq!(
            t.snapshot(&SnapshotSelector::Version(1))
                .await
                .unwrap()
                .schema(),
            &before
        );
    }

    #[tokio::test]
    async fn columns_new_in_a_later_batch_are_merged_and_earlier_files_read_them_as_null() {
        let t = table("merge-two").await;
        let first = batch(vec![
            ("id", ids(&[2])),
            ("a", Arc::new(StringArray::from(vec!["x"]))),
        ]);
        let second = batch(vec![
            ("id", ids(&[3])),
            ("b", Arc::new(Int64Array::from(vec![7]))),
        ]);
        let c = t
            .write(
                futures::stream::iter(vec![Ok(first), Ok(second)]),
                merging(),
            )
            .await
            .unwrap();
        let snap = t.latest().await.unwrap();
        assert_eq!(c.version, 2);
        let names: Vec<&str> = snap
            .schema()
            .fields()
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, ["id", "name", "a", "b"]);
        assert_eq!(
            snap.schema().schema_id(),
            1,
            "one commit, one schema id step"
        );
        assert_eq!(snap.files().len(), 3);
        let out = rows(&t, None).await;
        assert!(out.contains("| 2  |      | x |   |"), "{out}");
        assert!(out.contains("| 3  |      |   | 7 |"), "{out}");
    }

    #[tokio::test]
    async fn a_write_over_more_partitions_than_open_files_completes_the_least_recent_file() {
        let schema = parse_schema("id:int64,name:string?").unwrap();
        let spec = strata_format::compact::parse_partition_spec("name", &schema, 0, 1000).unwrap();
        let t = Table::create(
            "memory://max-open/t",
            CreateTable::new(schema)
                .with_partition_spec(spec)
                .with_property(crate::write::writer::PROP_MAX_OPEN_FILES, "2"),
        )
        .await
        .unwrap();
        // Partitions a, b, c, a, b, c: with two files open, every switch completes one.
        let names = ["a", "b", "c", "a", "b", "c"];
        let batches: Vec<RecordBatch> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                batch(vec![
                    ("id", ids(&[i as i64])),
                    ("name", Arc::new(StringArray::from(vec![*n]))),
                ])
            })
            .collect();
        t.append(batches).await.unwrap();
        let snap = t.latest().await.unwrap();
        assert_eq!(snap.record_count(), 6);
        assert_eq!(
            snap.files().len(),
            6,
            "each partition switch past the cap starts a file"
        );
        let per_file: Vec<u64> = snap.files().values().map(|f| f.record_count).collect();
        assert!(per_file.iter().all(|n| *n == 1), "{per_file:?}");
        let out = rows(&t, None).await;
        for i in 0..6 {
            assert!(out.contains(&format!("| {i}  |")), "{out}");
        }
    }

    #[tokio::test]
    async fn an_unordered_scan_returns_the_same_rows_as_an_ordered_one() {
        let t = table("unordered").await;
        for i in 0..6 {
            t.append([batch(vec![("id", ids(&[10 * i, 10 * i + 1]))])])
                .await
                .unwrap();
        }
        let collect = |ordered: bool| {
            let t = t.clone();
            async move {
                let batches = t
                    .scan()
                    .preserve_order(ordered)
                    .concurrency(3)
                    .plan()
                    .await
                    .unwrap()
                    .collect()
                    .await
                    .unwrap();
                let mut v: Vec<i64> = batches
                    .iter()
                    .flat_map(|b| {
                        b.column(0)
                            .as_any()
                            .downcast_ref::<Int64Array>()
                            .unwrap()
                            .values()
                            .to_vec()
                    })
                    .collect();
                v.sort_unstable();
                v
            }
        };
        let ordered = collect(true).await;
        assert_eq!(ordered.len(), 13);
        assert_eq!(collect(false).await, ordered);
    }

    #[tokio::test]
    async fn a_handle_reusing_its_state_appends_from_a_stale_base_without_losing_rows() {
        let t = table("state-reuse").await;
        let reusing = Table::open_with(
            crate::TableLocation::parse("memory://state-reuse/t").unwrap(),
            crate::TableOptions::default().with_state_reuse(std::time::Duration::from_secs(600)),
        )
        .await
        .unwrap();
        t.append([batch(vec![("id", ids(&[2]))])]).await.unwrap();
        // Within the window the reusing handle still takes version 1 for the latest ...
        assert_eq!(reusing.latest().await.unwrap().version(), 1);
        // ... and its append, from that base, finds version 2 taken and lands after it.
        let landed = reusing
            .append([batch(vec![("id", ids(&[3]))])])
            .await
            .unwrap();
        assert_eq!(landed.version, 3);
        assert_eq!(reusing.latest().await.unwrap().version(), 3);
        assert_eq!(t.latest().await.unwrap().record_count(), 3);
        let all = rows(&t, None).await;
        for id in ["| 1  |", "| 2  |", "| 3  |"] {
            assert!(all.contains(id), "{all}");
        }
        // Without a window (the default) every latest() asks the store.
        let strict = Table::open("memory://state-reuse/t").await.unwrap();
        t.append([batch(vec![("id", ids(&[4]))])]).await.unwrap();
        assert_eq!(strict.latest().await.unwrap().version(), 4);
    }

    async fn reusing(uri: &str) -> Table {
        Table::open_with(
            crate::TableLocation::parse(uri).unwrap(),
            crate::TableOptions::default().with_state_reuse(std::time::Duration::from_secs(600)),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_refused_commit_ends_the_state_reuse_window() {
        let t = table("reuse-conflict").await;
        let stale = reusing("memory://reuse-conflict/t").await;
        let other = strata_format::expr::Expr::parse("id = 1").unwrap();
        t.delete_with(other, crate::DeleteMode::CopyOnWrite)
            .await
            .unwrap();
        // The stale handle plans the same rewrite of a file that is gone: a conflict ...
        let mine = strata_format::expr::Expr::parse("id = 1").unwrap();
        let err = stale
            .delete_with(mine, crate::DeleteMode::CopyOnWrite)
            .await
            .unwrap_err();
        assert!(matches!(err, crate::Error::Conflict { .. }), "{err}");
        // ... after which the handle reads the store again.
        assert_eq!(stale.latest().await.unwrap().version(), 2);
    }

    #[tokio::test]
    async fn a_vector_delete_from_a_reused_state_replans_on_the_new_one() {
        let t = Table::create(
            "memory://reuse-vectors/t",
            CreateTable::new(parse_schema("id:int64,name:string?").unwrap())
                .with_deletion_vectors(true),
        )
        .await
        .unwrap();
        t.append([batch(vec![("id", ids(&[1, 2, 3]))])])
            .await
            .unwrap();
        let stale = reusing("memory://reuse-vectors/t").await;
        t.delete(strata_format::expr::Expr::parse("id = 1").unwrap())
            .await
            .unwrap();
        // The stale handle's vector for the same file loses the race; the re-plan must see
        // the winner's vector (not the reused state again) and land the union.
        let landed = stale
            .delete(strata_format::expr::Expr::parse("id = 2").unwrap())
            .await
            .unwrap();
        assert_eq!(landed.version, 3);
        assert_eq!(t.latest().await.unwrap().record_count(), 1);
        let left = rows(&t, None).await;
        assert!(left.contains("| 3  |") && !left.contains("| 1  |") && !left.contains("| 2  |"));
    }
}
