//! `OPTIMIZE`: small files of a partition and tier are rewritten into files of about the target
//! size, and files with deletion vectors are rewritten without their deleted rows, in one
//! commit whose actions all have `dataChange` false (SPEC §8.5). The plan is
//! [`strata_format::compaction`]'s. Optimize reads nothing but its input files, so concurrent
//! appends never conflict with it; a concurrent removal of an input is a conflict, and a
//! concurrent delete by vector of an input is re-planned (like deletes, SPEC §8.2).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use strata_format::AddFile;
use strata_format::compaction::{
    Bin, CompactionOptions, CompactionPlan, minimum_storage_days, plan_compaction,
};
use strata_format::expr::Expr;
use strata_format::prune::plan_files;

use crate::error::{Error, Result};
use crate::log::snapshot::Snapshot;
use crate::log::transaction::{CommitResult, Transaction};
use crate::rows::delete::replan_after;
use crate::rows::rewrite::evaluation;
use crate::storage::resolve::StoreResolver;
use crate::table::Table;
use crate::write::{PartitionedWriter, delete_files, unless_landed};
use crate::writer::WriterOptions;

/// Options of [`Table::optimize`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct OptimizeOptions {
    /// Only files that may hold rows matching this predicate (partition values, statistics).
    pub filter: Option<Expr>,
    /// Target output file size in bytes (default: `strata.write.targetFileSizeBytes`).
    pub target_size: Option<u64>,
    /// Sort the rows of each output file by these top-level columns.
    pub sort_by: Vec<String>,
    /// Plan only: report the bins without writing or committing.
    pub dry_run: bool,
    /// Rewrite files still inside their storage class's minimum storage duration too.
    pub force: bool,
    /// Only these files (a tier policy packing the files it moves).
    pub(crate) only: Option<std::collections::BTreeSet<String>>,
    /// Write the output in this tier instead of the inputs' (and name the policy).
    pub(crate) to_tier: Option<(String, String)>,
}

impl OptimizeOptions {
    /// Only files that may hold rows matching `filter`.
    pub fn filter(mut self, filter: Expr) -> Self {
        self.filter = Some(filter);
        self
    }
    /// The target output file size in bytes.
    pub fn target_size(mut self, bytes: u64) -> Self {
        self.target_size = Some(bytes);
        self
    }
    /// Sorts the rows of each output file by `columns`.
    pub fn sort_by(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.sort_by = columns.into_iter().map(Into::into).collect();
        self
    }
    /// Plans without writing.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
    /// Rewrites files inside their minimum storage duration too.
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }
}

/// One group of input files rewritten together.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OptimizeBin {
    /// Tier of the output: that of the inputs, or the tier a policy packs into.
    pub tier: String,
    /// Partition values of the inputs, keyed by partition field id (JSON text).
    pub partition: String,
    /// Input files.
    pub files: usize,
    /// Input bytes.
    pub bytes: u64,
    /// Rows written (the inputs' live rows).
    pub rows: u64,
    /// Rows dropped because deletion vectors marked them.
    pub purged_rows: u64,
}

/// What [`Table::optimize`] planned and did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct OptimizeReport {
    /// The commit; `None` for a dry run or when there is nothing to rewrite.
    pub commit: Option<CommitResult>,
    /// The groups rewritten (or, for a dry run, that would be).
    pub bins: Vec<OptimizeBin>,
    /// Target size used, in bytes.
    pub target_size: u64,
    /// Files in archive storage classes left alone.
    pub skipped_archived: usize,
    /// Files inside their class's minimum storage duration left alone (see `force`).
    pub skipped_minimum_duration: usize,
    /// Files written.
    pub files_added: usize,
    /// Bytes written.
    pub bytes_added: u64,
}

impl OptimizeReport {
    /// Input files of all bins.
    pub fn files_removed(&self) -> usize {
        self.bins.iter().map(|b| b.files).sum()
    }
    /// Input bytes of all bins.
    pub fn bytes_removed(&self) -> u64 {
        self.bins.iter().map(|b| b.bytes).sum()
    }
}

fn describe(bin: &Bin<'_>, to_tier: Option<&str>) -> OptimizeBin {
    let rows = bin.live_rows();
    let all: u64 = bin.files.iter().map(|f| f.record_count).sum();
    OptimizeBin {
        tier: to_tier.unwrap_or(&bin.tier).to_string(),
        partition: serde_json::to_string(&bin.partition_values).unwrap_or_default(),
        files: bin.files.len(),
        bytes: bin.bytes(),
        rows,
        purged_rows: all - rows,
    }
}

impl Table {
    /// Compacts the table (operation `OPTIMIZE`, metrics `numRemovedFiles`, `numAddedFiles`,
    /// `numRemovedBytes`, `numAddedBytes`, `numDeletionVectorsPurged`, `numPurgedRows`), as
    /// described in the module documentation. Rows never change: every version reads the
    /// same rows before and after.
    pub async fn optimize(&self, options: OptimizeOptions) -> Result<OptimizeReport> {
        let mut replans = 0u32;
        loop {
            let txn = self.transaction().await?;
            match self.optimize_once(txn, &options).await {
                Err(e) if replan_after(&e, &mut replans).await => {}
                other => return other,
            }
        }
    }

    async fn optimize_once(
        &self,
        txn: Transaction,
        options: &OptimizeOptions,
    ) -> Result<OptimizeReport> {
        let base = txn.base().clone();
        for c in &options.sort_by {
            if base.schema().fields().iter().all(|f| &f.name != c) {
                return Err(Error::InvalidOperation {
                    table: self.uri().to_string(),
                    message: format!("cannot sort by `{c}`: it is not a top-level column"),
                });
            }
        }
        let bound = match &options.filter {
            Some(f) => Some(f.bind(base.schema())?),
            None => None,
        };
        let only = options.only.as_ref();
        let candidates: Vec<&AddFile> = plan_files(
            base.files()
                .values()
                .filter(|f| only.is_none_or(|o| o.contains(&f.path))),
            base.metadata(),
            base.schema(),
            bound.as_ref(),
        )
        .files;
        let target_size = match options.target_size {
            Some(t) => t.max(1),
            None => {
                WriterOptions::from_properties(&base.metadata().properties)?.target_file_size_bytes
            }
        };
        let since = if options.force {
            BTreeMap::new()
        } else {
            self.in_class_since(&candidates).await?
        };
        let plan: CompactionPlan<'_> = plan_compaction(
            candidates,
            &since,
            CompactionOptions {
                target_size,
                now_ms: self.inner.options.clock.now_ms(),
                force: options.force,
            },
        );
        let mut report = OptimizeReport {
            bins: plan
                .bins
                .iter()
                .map(|b| describe(b, options.to_tier.as_ref().map(|t| t.0.as_str())))
                .collect(),
            target_size,
            skipped_archived: plan.skipped_archived.len(),
            skipped_minimum_duration: plan.skipped_minimum_duration.len(),
            ..OptimizeReport::default()
        };
        if options.dry_run || plan.bins.is_empty() {
            return Ok(report);
        }
        let mut adds = Vec::new();
        for bin in &plan.bins {
            let tier = options.to_tier.as_ref().map_or(&bin.tier, |t| &t.0);
            match self.rewrite_bin(&base, bin, tier, &options.sort_by).await {
                Ok(mut a) => {
                    // The rows' age, not the rewrite's: commit-age policies keep counting
                    // from when they were committed (SPEC §3.5).
                    let newest = bin.files.iter().map(|f| f.modification_time).max();
                    for f in &mut a {
                        f.modification_time = newest.unwrap_or(f.modification_time);
                    }
                    adds.extend(a);
                }
                Err(e) => {
                    delete_files(self, &adds).await;
                    return Err(e);
                }
            }
        }
        for a in &mut adds {
            a.data_change = false;
        }
        report.files_added = adds.len();
        report.bytes_added = adds.iter().map(|a| a.size).sum();
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let purged_vectors = plan
            .bins
            .iter()
            .flat_map(|b| &b.files)
            .filter(|f| f.deletion_vector.is_some())
            .count();
        let mut txn = txn
            .operation("OPTIMIZE")
            .parameter("targetSize", target_size)
            .metric("numRemovedFiles", count(report.files_removed() as u64))
            .metric("numAddedFiles", count(adds.len() as u64))
            .metric("numRemovedBytes", count(report.bytes_removed()))
            .metric("numAddedBytes", count(report.bytes_added))
            .metric("numDeletionVectorsPurged", count(purged_vectors as u64))
            .metric(
                "numPurgedRows",
                count(report.bins.iter().map(|b| b.purged_rows).sum()),
            );
        if let Some(f) = &options.filter {
            txn = txn.parameter("predicate", f.to_string());
        }
        if !options.sort_by.is_empty() {
            txn = txn.parameter("sortBy", options.sort_by.join(", "));
        }
        if let Some((tier, policy)) = &options.to_tier {
            txn = txn
                .parameter("tier", tier.clone())
                .parameter("policy", policy.clone());
        }
        let result = async {
            for f in plan.bins.iter().flat_map(|b| &b.files) {
                txn = txn.remove_rewritten_file(&f.path)?;
            }
            for a in &adds {
                txn = txn.add_file(a.clone());
            }
            txn.commit().await
        }
        .await;
        report.commit = Some(unless_landed(self, result, &adds, None).await?);
        Ok(report)
    }

    /// When each candidate whose storage class has a minimum storage duration entered that
    /// class: its object's last modification (a tier move writes a new object).
    async fn in_class_since(&self, files: &[&AddFile]) -> Result<BTreeMap<String, i64>> {
        let resolver = StoreResolver::new(self.location().clone());
        let mut out = BTreeMap::new();
        for f in files {
            if f.storage_class
                .as_deref()
                .and_then(minimum_storage_days)
                .is_none()
            {
                continue;
            }
            let (store, path) = resolver.resolve(&f.path, f.location.as_deref())?;
            let meta = store.head(&path).await.map_err(|e| Error::Storage {
                table: self.uri().to_string(),
                path: f.path.clone(),
                source: Box::new(e),
            })?;
            out.insert(f.path.clone(), meta.last_modified.timestamp_millis());
        }
        Ok(out)
    }

    /// Writes the live rows of a bin's files into new files of `tier`.
    async fn rewrite_bin(
        &self,
        base: &Snapshot,
        bin: &Bin<'_>,
        tier: &str,
        sort_by: &[String],
    ) -> Result<Vec<AddFile>> {
        let files: Vec<Arc<AddFile>> = bin
            .files
            .iter()
            .map(|f| match base.files().get_shared(&f.path) {
                Some(shared) => shared.clone(),
                None => Arc::new((*f).clone()),
            })
            .collect();
        // Small inputs are read many at once, so that decoding keeps a core busy while the
        // writer encodes: the bytes in flight stay about IN_FLIGHT_BYTES.
        let mean = files.iter().map(|f| f.size).sum::<u64>() / (files.len() as u64).max(1);
        let concurrency = (IN_FLIGHT_BYTES / mean.max(1)).clamp(4, 32) as usize;
        let scan = self
            .scan()
            .at(base.clone())
            .plan()
            .await?
            .of(files)
            .with_concurrency(concurrency);
        let mut writer = PartitionedWriter::new(self, base)?.in_tier(tier);
        let written = async {
            let mut rows = scan.stream();
            if sort_by.is_empty() {
                while let Some(b) = rows.try_next().await? {
                    writer.write_conformed(&b).await?;
                }
            } else {
                let batches: Vec<RecordBatch> = rows.try_collect().await?;
                if let Some(sorted) = sorted(&batches, sort_by)? {
                    writer.write_conformed(&sorted).await?;
                }
            }
            Ok::<_, Error>(())
        }
        .await;
        match written {
            Ok(()) => writer.finish().await,
            Err(e) => {
                writer.abort().await;
                Err(e)
            }
        }
    }
}

/// Bytes of input files a rewrite reads at once (at least 4 and at most 32 files).
const IN_FLIGHT_BYTES: u64 = 64 * 1024 * 1024;

/// The rows of `batches` in one batch sorted by `columns` (nulls last); `None` without rows.
fn sorted(batches: &[RecordBatch], columns: &[String]) -> Result<Option<RecordBatch>> {
    let Some(first) = batches.first() else {
        return Ok(None);
    };
    let all = concat_batches(&first.schema(), batches).map_err(|e| evaluation(e.to_string()))?;
    let mut keys = Vec::with_capacity(columns.len());
    for c in columns {
        let values = all.column_by_name(c).ok_or_else(|| {
            evaluation(format!(
                "cannot sort by `{c}`: it is not a top-level column"
            ))
        })?;
        keys.push(SortColumn {
            values: values.clone(),
            options: Some(arrow::compute::SortOptions {
                descending: false,
                nulls_first: false,
            }),
        });
    }
    let order = lexsort_to_indices(&keys, None).map_err(|e| evaluation(e.to_string()))?;
    Ok(Some(
        take_record_batch(&all, &order).map_err(|e| evaluation(e.to_string()))?,
    ))
}
