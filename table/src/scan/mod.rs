//! Scans: pruned, streaming reads of a snapshot as Arrow record batches.
//!
//! Pruning happens at three levels (SPEC §4.8): partition values, file statistics, then Parquet
//! row-group statistics and the page index. Files are opened concurrently, and their row groups
//! decoded in units by separate tasks, each feeding a small bounded channel, so memory stays
//! bounded by `concurrency` x (a unit's column chunks + a few batches) whatever the table size.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use strata_format::expr::Expr;
use strata_format::prune::plan_files;
use strata_format::schema::{FieldId, StructField};
use strata_format::tiering::needs_restore;
use strata_format::{AddFile, Schema};

use crate::arrow_schema::{to_arrow_schema, with_string_views};
use crate::error::{Error, Result};
use crate::log::snapshot::{Snapshot, SnapshotSelector};
use crate::storage::resolve::StoreResolver;
use crate::table::Table;
use crate::tier::RestoreOptions;

mod footer_cache;
pub(crate) mod parquet_io;
mod positions;
pub mod read;
pub(crate) mod stats;
pub use footer_cache::{DEFAULT_FOOTER_CACHE_BYTES, FooterCache, FooterCacheStats};
pub(crate) use positions::true_indices;
mod units;
mod vectors;

use units::{Shared, Unit};

/// Counters of a scan (readable while it runs and after).
#[derive(Debug, Default)]
pub struct ScanMetrics {
    pub(crate) files_total: AtomicU64,
    pub(crate) files_pruned_by_partition: AtomicU64,
    pub(crate) files_pruned_by_stats: AtomicU64,
    pub(crate) row_groups_total: AtomicU64,
    pub(crate) row_groups_pruned: AtomicU64,
    pub(crate) pages_pruned_rows: AtomicU64,
    pub(crate) rows_deleted_by_vectors: AtomicU64,
    pub(crate) bytes_total: AtomicU64,
    pub(crate) bytes_scanned_counter: Arc<AtomicU64>,
    pub(crate) rows_scanned: AtomicU64,
    pub(crate) rows_returned: AtomicU64,
}

/// A copy of a scan's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanReport {
    /// Files in the snapshot.
    pub files_total: u64,
    /// Files skipped on their partition values.
    pub files_pruned_by_partition: u64,
    /// Files skipped on their column statistics.
    pub files_pruned_by_stats: u64,
    /// Files opened.
    pub files_read: u64,
    /// Row groups in the files opened.
    pub row_groups_total: u64,
    /// Row groups skipped on their statistics.
    pub row_groups_pruned: u64,
    /// Rows skipped inside read row groups thanks to the page index.
    pub rows_pruned_by_page_index: u64,
    /// Rows of the row groups read that deletion vectors mark deleted (SPEC §7), skipped.
    pub rows_deleted_by_vectors: u64,
    /// Bytes of all files of the snapshot.
    pub bytes_total: u64,
    /// Bytes requested from storage: footers, page indexes and the pages read (row groups
    /// and pages pruned are not fetched).
    pub bytes_scanned: u64,
    /// Bytes not fetched (`bytes_total - bytes_scanned`).
    pub bytes_skipped: u64,
    /// Rows decoded.
    pub rows_scanned: u64,
    /// Rows returned after filtering.
    pub rows_returned: u64,
}

impl ScanMetrics {
    /// A copy of the counters.
    pub fn report(&self) -> ScanReport {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let total = get(&self.files_total);
        let pruned = get(&self.files_pruned_by_partition) + get(&self.files_pruned_by_stats);
        ScanReport {
            files_total: total,
            files_pruned_by_partition: get(&self.files_pruned_by_partition),
            files_pruned_by_stats: get(&self.files_pruned_by_stats),
            files_read: total.saturating_sub(pruned),
            row_groups_total: get(&self.row_groups_total),
            row_groups_pruned: get(&self.row_groups_pruned),
            rows_pruned_by_page_index: get(&self.pages_pruned_rows),
            rows_deleted_by_vectors: get(&self.rows_deleted_by_vectors),
            bytes_total: get(&self.bytes_total),
            bytes_scanned: get(&self.bytes_scanned_counter),
            bytes_skipped: get(&self.bytes_total).saturating_sub(get(&self.bytes_scanned_counter)),
            rows_scanned: get(&self.rows_scanned),
            rows_returned: get(&self.rows_returned),
        }
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// What a scan does with files in an archive storage class that have no completed, unexpired
/// restore (SPEC §6.4). Only the files left after pruning count.
#[derive(Debug, Clone, Default)]
pub enum OnArchived {
    /// Fail the plan with [`Error::ArchivedFiles`] naming them (the default).
    #[default]
    Fail,
    /// Restore them first ([`Table::restore_files`]); with `wait` off the plan still fails
    /// while restores are in progress.
    Restore(RestoreOptions),
    /// Plan them anyway: for commands that select files without reading them (moves,
    /// restores). Reading them fails at the store.
    Include,
}

/// Row groups of a file are decoded by separate tasks in units of at least this many rows
/// (consecutive row groups are grouped until they reach it; a row group is never split).
pub const UNIT_MIN_ROWS: usize = 131_072;

/// Builds a scan; see [`Table::scan`].
#[derive(Debug)]
#[must_use = "a scan builder does nothing until planned"]
pub struct ScanBuilder {
    table: Table,
    selector: SnapshotSelector,
    pinned: Option<Snapshot>,
    columns: Option<Vec<String>>,
    filter: Option<Expr>,
    batch_size: Option<usize>,
    concurrency: usize,
    limit: Option<u64>,
    preserve_order: bool,
    on_archived: OnArchived,
    string_views: bool,
    footer_cache: Option<Arc<FooterCache>>,
}

impl Table {
    /// A scan of the latest snapshot, every column, no filter.
    pub fn scan(&self) -> ScanBuilder {
        ScanBuilder {
            table: self.clone(),
            selector: SnapshotSelector::Latest,
            pinned: None,
            columns: None,
            filter: None,
            batch_size: None,
            concurrency: 4,
            limit: None,
            preserve_order: false,
            on_archived: OnArchived::Fail,
            string_views: false,
            footer_cache: None,
        }
    }
}

impl ScanBuilder {
    /// Which version to read.
    pub fn snapshot(mut self, selector: SnapshotSelector) -> Self {
        self.selector = selector;
        self
    }
    /// Reads this snapshot (of this table), already resolved: no second lookup of the log.
    pub fn at(mut self, snapshot: Snapshot) -> Self {
        self.pinned = Some(snapshot);
        self
    }
    /// Top-level columns to return, in this order (default: all).
    pub fn columns(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }
    /// Only rows for which the predicate is true.
    pub fn filter(mut self, predicate: Expr) -> Self {
        self.filter = Some(predicate);
        self
    }
    /// Rows per batch. By default it is chosen per file so that a batch holds about 1 MiB of
    /// the projected columns (estimated from the file's column chunk sizes), between 8,192
    /// and 65,536 rows: a scan of one narrow column gets fewer, larger batches.
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = Some(rows.max(1));
        self
    }
    /// Units of work in flight at once (default 4): footers read ahead, and runs of row
    /// groups ([`UNIT_MIN_ROWS`]) being decoded, each by its own task.
    pub fn concurrency(mut self, units: usize) -> Self {
        self.concurrency = units.max(1);
        self
    }
    /// At most this many rows.
    pub fn limit(mut self, rows: u64) -> Self {
        self.limit = Some(rows);
        self
    }
    /// Whether batches come file by file in path order (default false: each batch is returned
    /// as soon as any of the files being read, up to the concurrency, has one, so files decode
    /// in parallel). `true` gives a deterministic order at the cost of that parallelism. Rows
    /// within a file keep their order either way.
    pub fn preserve_order(mut self, yes: bool) -> Self {
        self.preserve_order = yes;
        self
    }

    /// Whether top-level string and binary columns come as `Utf8View` and `BinaryView`
    /// (default false: `Utf8` and `Binary`, the types of
    /// [`to_arrow_schema`](crate::arrow_schema::to_arrow_schema)). Views are decoded straight
    /// from the pages, without copying each value: faster to read, group and hash, and the
    /// form DataFusion works in. See [`with_string_views`](crate::arrow_schema::with_string_views).
    pub fn string_views(mut self, yes: bool) -> Self {
        self.string_views = yes;
        self
    }

    /// Takes parsed footers from `cache` and keeps there the ones it reads (default: none,
    /// every footer is read from its file). One cache can serve any number of scans of any
    /// tables at once: a query engine running many queries over the same tables reads each
    /// footer once.
    pub fn footer_cache(mut self, cache: Arc<FooterCache>) -> Self {
        self.footer_cache = Some(cache);
        self
    }

    /// What to do with archived files the scan needs (default: fail naming them).
    pub fn on_archived(mut self, what: OnArchived) -> Self {
        self.on_archived = what;
        self
    }

    /// Resolves the snapshot, binds the filter and prunes files.
    pub async fn plan(mut self) -> Result<Scan> {
        let snapshot = match self.pinned.take() {
            Some(s) => s,
            None => self.table.snapshot(&self.selector).await?,
        };
        let schema = snapshot.schema().clone();
        let predicate = match &self.filter {
            Some(e) => Some(e.bind(&schema)?),
            None => None,
        };
        let output_fields: Vec<StructField> = match &self.columns {
            None => schema.fields().to_vec(),
            Some(cols) => cols
                .iter()
                .map(|c| {
                    schema
                        .field_by_name(c)
                        .cloned()
                        .ok_or_else(|| Error::InvalidOperation {
                            table: self.table.uri().to_string(),
                            message: format!(
                                "no column `{c}` (columns: {})",
                                schema
                                    .fields()
                                    .iter()
                                    .map(|f| f.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        })
                })
                .collect::<Result<_>>()?,
        };
        // Read the output columns plus the top-level columns the predicate needs.
        let mut read_ids: BTreeSet<FieldId> = output_fields.iter().map(|f| f.id).collect();
        if let Some(p) = &predicate {
            let index = schema.field_index();
            for id in p.field_ids() {
                if let Some(top) = top_level_of(&schema, &index, id) {
                    read_ids.insert(top);
                }
            }
        }
        let read_fields: Vec<StructField> = schema
            .fields()
            .iter()
            .filter(|f| read_ids.contains(&f.id))
            .cloned()
            .collect();
        let read_schema = Schema::new(schema.schema_id(), read_fields.clone())?;
        let mut read_arrow = to_arrow_schema(&read_schema)?;
        let mut output_arrow =
            to_arrow_schema(&Schema::new(schema.schema_id(), output_fields.clone())?)?;
        if self.string_views {
            read_arrow = with_string_views(&read_arrow);
            output_arrow = with_string_views(&output_arrow);
        }
        let output_indices = output_fields
            .iter()
            .filter_map(|o| read_fields.iter().position(|r| r.id == o.id))
            .collect();

        let metrics = Arc::new(ScanMetrics::default());
        for f in snapshot.files().values() {
            add(&metrics.files_total, 1);
            add(&metrics.bytes_total, f.size);
        }
        let plan = plan_files(
            snapshot.files().shared_values(),
            snapshot.metadata(),
            &schema,
            predicate.as_ref(),
        );
        add(&metrics.files_pruned_by_partition, plan.pruned_by_partition);
        add(&metrics.files_pruned_by_stats, plan.pruned_by_stats);
        // The planned files share the snapshot's entries: a plan of a million files holds a
        // million pointers, not a copy of every file's statistics.
        let files: Vec<Arc<AddFile>> = plan.files.into_iter().cloned().collect();
        // SPEC §6.4: archived files are never skipped silently; only the files left after
        // pruning matter, so a scan that prunes the archive away never touches it.
        let now = self.table.inner.options.clock.now_ms();
        let mut archived: Vec<&Arc<AddFile>> = files
            .iter()
            .filter(|f| needs_restore(f.storage_class.as_deref(), f.restore.as_ref(), now))
            .collect();
        if let OnArchived::Restore(options) = &self.on_archived
            && !archived.is_empty()
        {
            let paths: Vec<String> = archived.iter().map(|f| f.path.clone()).collect();
            let report = self.table.restore_files(&paths, options).await?;
            let pending: std::collections::BTreeSet<&str> =
                report.pending().map(|f| f.path.as_str()).collect();
            archived.retain(|f| pending.contains(f.path.as_str()));
        }
        if !archived.is_empty() && !matches!(self.on_archived, OnArchived::Include) {
            return Err(Error::ArchivedFiles {
                table: self.table.uri().to_string(),
                files: archived
                    .iter()
                    .map(|f| {
                        format!(
                            "{} ({}, {})",
                            f.path,
                            snapshot.physical_location(f),
                            f.storage_class.as_deref().unwrap_or_default()
                        )
                    })
                    .collect(),
            });
        }
        Ok(Scan {
            shared: Arc::new(Shared {
                resolver: StoreResolver::new(self.table.location().clone()),
                table_uri: self.table.uri().to_string(),
                table_id: snapshot.metadata().table_id.clone(),
                footer_cache: self.footer_cache.take(),
                schema,
                read_fields,
                read_arrow,
                output_arrow,
                output_indices,
                predicate,
                batch_size: self.batch_size,
                string_views: self.string_views,
                metrics,
                read_buffers: Default::default(),
            }),
            snapshot,
            files,
            concurrency: self.concurrency,
            limit: self.limit,
            preserve_order: self.preserve_order,
        })
    }
}

/// The top-level field containing field `id`.
fn top_level_of(
    schema: &Schema,
    index: &BTreeMap<FieldId, strata_format::schema::FieldInfo<'_>>,
    id: FieldId,
) -> Option<FieldId> {
    let path = &index.get(&id)?.path;
    let top = path.split('.').next()?;
    schema.field_by_name(top).map(|f| f.id)
}

/// A planned scan.
#[derive(Clone)]
pub struct Scan {
    shared: Arc<Shared>,
    snapshot: Snapshot,
    files: Vec<Arc<AddFile>>,
    concurrency: usize,
    limit: Option<u64>,
    preserve_order: bool,
}

impl std::fmt::Debug for Scan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scan")
            .field("table", &self.shared.table_uri)
            .field("version", &self.snapshot.version())
            .field("files", &self.files.len())
            .finish()
    }
}

/// Decodes `unit` in its own task, at most two batches ahead of the consumer; the task stops
/// when the consumer drops the stream.
fn spawn_unit(shared: Arc<Shared>, unit: Unit) -> BoxStream<'static, Result<RecordBatch>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
    tokio::spawn(async move {
        match units::decode_unit(shared, unit) {
            Ok(mut batches) => {
                while let Some(b) = batches.next().await {
                    let stop = b.is_err();
                    if tx.send(b).await.is_err() || stop {
                        break;
                    }
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e)).await;
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) }).boxed()
}

impl Scan {
    /// The snapshot scanned.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }
    /// The files that survived file-level pruning.
    pub fn files(&self) -> &[Arc<AddFile>] {
        &self.files
    }
    /// Schema of the batches returned.
    pub fn output_schema(&self) -> SchemaRef {
        self.shared.output_arrow.clone()
    }
    /// The scan's counters (live).
    pub fn metrics(&self) -> Arc<ScanMetrics> {
        self.shared.metrics.clone()
    }

    /// Streams the matching rows. Each file's footer is read by its own task (up to
    /// `concurrency` at once); its row groups are then decoded in units of at least
    /// [`UNIT_MIN_ROWS`] rows, each by its own task feeding a channel of two batches, up to
    /// `concurrency` units at once. With `preserve_order` the units are returned in file
    /// (path) then row-group order; otherwise batches come as units produce them.
    pub fn stream(self) -> BoxStream<'static, Result<RecordBatch>> {
        let shared = self.shared;
        let concurrency = self.concurrency;
        let open_shared = shared.clone();
        let units = futures::stream::iter(self.files)
            .map(move |file| {
                let (table, path) = (open_shared.table_uri.clone(), file.path.clone());
                let task = tokio::spawn(units::open_file(open_shared.clone(), file, UNIT_MIN_ROWS));
                async move {
                    task.await.unwrap_or_else(|e| {
                        Err(Error::Parquet {
                            table,
                            path,
                            source: Box::new(parquet::errors::ParquetError::General(format!(
                                "the task reading the footer failed: {e}"
                            ))),
                        })
                    })
                }
            })
            .buffered(concurrency)
            .flat_map(|opened| match opened {
                Ok(units) => futures::stream::iter(units.into_iter().map(Ok)).boxed(),
                Err(e) => futures::stream::once(futures::future::ready(Err(e))).boxed(),
            });
        let streams = units.map(move |unit| match unit {
            Ok(unit) => spawn_unit(shared.clone(), unit),
            Err(e) => futures::stream::once(futures::future::ready(Err(e))).boxed(),
        });
        let per_file: BoxStream<'static, Result<RecordBatch>> = if self.preserve_order {
            streams
                .map(futures::future::ready)
                .buffered(concurrency)
                .flatten()
                .boxed()
        } else {
            streams.flatten_unordered(concurrency).boxed()
        };
        match self.limit {
            None => per_file.boxed(),
            Some(limit) => {
                let mut left = limit;
                per_file
                    .try_filter_map(move |b| {
                        let out = if left == 0 {
                            None
                        } else {
                            let n = (b.num_rows() as u64).min(left);
                            left -= n;
                            Some(b.slice(0, n as usize))
                        };
                        futures::future::ready(Ok(out))
                    })
                    .take_while(|r| {
                        futures::future::ready(!matches!(r, Ok(b) if b.num_rows() == 0))
                    })
                    .boxed()
            }
        }
    }

    /// Splits the scan into at most `parts` scans over disjoint sets of its files, balanced by
    /// size (largest file first, each to the lightest part), for engines that read partitions
    /// in parallel. Each part keeps the limit and gets `concurrency / parts` (at least 1) units
    /// in flight, so the memory bound of the whole stays that of this scan. Empty parts are
    /// dropped; a scan without files gives one empty part.
    pub fn split(self, parts: usize) -> Vec<Scan> {
        let parts = parts.clamp(1, self.files.len().max(1));
        let mut files = self.files;
        files.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
        let mut buckets: Vec<(u64, Vec<Arc<AddFile>>)> = vec![(0, Vec::new()); parts];
        for f in files {
            if let Some(lightest) = buckets.iter_mut().min_by_key(|(size, _)| *size) {
                lightest.0 += f.size;
                lightest.1.push(f);
            }
        }
        let concurrency = (self.concurrency / parts).max(1);
        buckets
            .into_iter()
            .map(|(_, mut files)| {
                files.sort_by(|a, b| a.path.cmp(&b.path));
                Scan {
                    shared: self.shared.clone(),
                    snapshot: self.snapshot.clone(),
                    files,
                    concurrency,
                    limit: self.limit,
                    preserve_order: self.preserve_order,
                }
            })
            .collect()
    }

    /// The same scan over one file of the snapshot only (used by copy-on-write rewrites).
    pub(crate) fn only(&self, file: Arc<AddFile>) -> Scan {
        self.of(vec![file])
    }

    /// This scan of `files` only (files of its snapshot), in their order.
    pub(crate) fn of(&self, files: Vec<Arc<AddFile>>) -> Scan {
        Scan {
            shared: self.shared.clone(),
            snapshot: self.snapshot.clone(),
            files,
            concurrency: 1,
            limit: None,
            preserve_order: true,
        }
    }

    /// This scan with up to `units` files or row-group runs read at once.
    pub(crate) fn with_concurrency(mut self, units: usize) -> Scan {
        self.concurrency = units.max(1);
        self
    }

    /// Collects every matching row.
    pub async fn collect(self) -> Result<Vec<RecordBatch>> {
        self.stream().try_collect().await
    }
}
