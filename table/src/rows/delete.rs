//! Row-level deletes and conditional overwrites, in one atomic commit each. With deletion
//! vectors (SPEC §7) a delete marks the matching rows of each file in a vector, and removes files
//! all of whose rows are deleted; copy-on-write removes the files whose rows all match and
//! rewrites those with some matching rows without them.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::compute::{filter_record_batch, not, prep_null_mask_filter};
use futures::{Stream, StreamExt, TryStreamExt};
use rand::Rng;
use strata_format::conflict::ConflictKind;
use strata_format::dv::DeletionVector;
use strata_format::expr::{BoundExpr, Expr};
pub(crate) use strata_format::prune::file_may_match;
use strata_format::prune::plan_files;
use strata_format::{AddFile, Metadata};

use crate::error::{Error, Result};
use crate::log::snapshot::{Snapshot, SnapshotSelector};
use crate::log::transaction::{CommitResult, FilePredicate, Transaction};
use crate::rows::changes::RowChanges;
use crate::table::Table;
use crate::write::{PartitionedWriter, WriteOptions, delete_files, unless_landed};

/// The files of `snapshot` that may hold rows matching `bound` (every file without one): what a
/// row-level change reads.
pub(crate) fn candidate_files(snapshot: &Snapshot, bound: Option<&BoundExpr>) -> Vec<Arc<AddFile>> {
    plan_files(
        snapshot.files().shared_values(),
        snapshot.metadata(),
        snapshot.schema(),
        bound,
    )
    .files
    .into_iter()
    .cloned()
    .collect()
}

/// The file predicate of a read predicate given as expression text, bound to the schema of
/// `metadata`: whether a data file could hold matching rows. An arbiter (the catalog) uses it
/// to decide whether a concurrently added file conflicts with a transaction that read `text`.
pub fn read_predicate(text: &str, metadata: &Metadata) -> Result<FilePredicate> {
    let schema = metadata.schema.clone();
    let bound = Expr::parse(text)?.bind(&schema)?;
    let metadata = metadata.clone();
    Ok(Arc::new(move |f: &AddFile| {
        file_may_match(&bound, f, &metadata, &schema)
    }))
}

/// What a delete did.
#[derive(Default)]
struct Plan {
    removes: Vec<String>,
    adds: Vec<AddFile>,
    deleted_rows: u64,
}

/// How a delete changes the files holding matching rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeleteMode {
    /// Deletion vectors when the table uses them (its protocol lists `deletionVectors` and
    /// `strata.deletionVectors` is not `false`), else copy-on-write.
    #[default]
    Auto,
    /// Rewrite every file holding a matching row, whatever the table's setting.
    CopyOnWrite,
}

/// Options of [`Table::delete_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteOptions {
    /// Vectors or copy-on-write.
    pub mode: DeleteMode,
    /// Exactly-once: (application id, batch number).
    pub app_transaction: Option<(String, u64)>,
}

impl DeleteOptions {
    /// Sets the mode.
    pub fn mode(mut self, mode: DeleteMode) -> Self {
        self.mode = mode;
        self
    }

    /// Exactly-once: commit as batch `batch` of application `app_id`; the delete fails with
    /// [`Error::DuplicateBatch`] when that batch or a later one was committed.
    pub fn app_transaction(mut self, app_id: impl Into<String>, batch: u64) -> Self {
        self.app_transaction = Some((app_id.into(), batch));
        self
    }
}

impl From<DeleteMode> for DeleteOptions {
    fn from(mode: DeleteMode) -> Self {
        Self {
            mode,
            app_transaction: None,
        }
    }
}

/// A delete re-planned this many times after concurrent deletes of the same files gives up.
const MAX_REPLANS: u32 = 32;

/// Whether a row-level change that failed with `e` is re-planned: `e` is a concurrent change of
/// the deletion vector of a file it changes (SPEC §8.2: deletes commute; the new plan unions
/// them), and fewer than `MAX_REPLANS` re-plans were made. Waits a jittered backoff first.
pub(crate) async fn replan_after(e: &Error, replans: &mut u32) -> bool {
    let commutes = matches!(e, Error::Conflict { conflict, .. }
        if matches!(conflict.kind, ConflictKind::DeletionVectorChanged { .. }));
    if !commutes || *replans >= MAX_REPLANS {
        return false;
    }
    *replans += 1;
    let jitter = rand::rng().random_range(0..=(1u64 << (*replans).min(6)));
    tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
    true
}

impl Table {
    /// Deletes the rows for which `predicate` is true, as one commit (operation `DELETE`),
    /// with deletion vectors when the table uses them.
    pub async fn delete(&self, predicate: Expr) -> Result<CommitResult> {
        self.delete_with(predicate, DeleteMode::Auto).await
    }

    /// Deletes the rows for which `predicate` is true, as one commit (operation `DELETE`).
    /// By vector, a delete that loses the race to another delete of the same files is
    /// re-planned on the new snapshot (SPEC §8.2: its vector becomes the union), up to
    /// 32 times.
    pub async fn delete_with(
        &self,
        predicate: Expr,
        options: impl Into<DeleteOptions>,
    ) -> Result<CommitResult> {
        let options = options.into();
        let mut replans = 0u32;
        loop {
            let mut txn = self.transaction().await?;
            crate::rows::changes::check_batch(self, txn.base(), options.app_transaction.as_ref())?;
            if let Some((app, batch)) = &options.app_transaction {
                txn = txn.app_transaction(app.clone(), *batch);
            }
            let vectors =
                options.mode == DeleteMode::Auto && crate::rows::vectors::enabled(txn.base());
            if !vectors {
                let empty: Vec<Result<RecordBatch>> = Vec::new();
                return self
                    .rewrite_in(txn, predicate, futures::stream::iter(empty), "DELETE")
                    .await;
            }
            match self.delete_by_vectors(txn, &predicate).await {
                Err(e) if replan_after(&e, &mut replans).await => {}
                other => return other,
            }
        }
    }

    /// One attempt of a delete by vector on the transaction's snapshot.
    async fn delete_by_vectors(&self, txn: Transaction, predicate: &Expr) -> Result<CommitResult> {
        let base = txn.base().clone();
        let bound = predicate.bind(base.schema())?;
        let candidates = candidate_files(&base, Some(&bound));
        let scan = self
            .scan()
            .at(base.clone())
            .columns(Vec::<String>::new())
            .filter(predicate.clone())
            .plan()
            .await?;
        let marked: Vec<(Arc<AddFile>, DeletionVector, u64)> =
            futures::stream::iter(candidates.into_iter().map(|file| {
                let scan = &scan;
                async move {
                    let mut marked = scan.matching_positions(&file).await?;
                    let before = match scan.deletion_vector(&file).await? {
                        Some(old) => {
                            let n = old.cardinality();
                            marked.union_with(&old);
                            n
                        }
                        None => 0,
                    };
                    let new_rows = marked.cardinality() - before;
                    Ok::<_, Error>((file, marked, new_rows))
                }
            }))
            .buffer_unordered(4)
            .try_filter(|(_, _, new_rows)| futures::future::ready(*new_rows > 0))
            .try_collect()
            .await?;
        let mut changes = RowChanges::default();
        let mut deleted_rows = 0u64;
        for (file, vector, new_rows) in marked {
            deleted_rows += new_rows;
            changes.mark(&file, vector);
        }
        let metadata = base.metadata().clone();
        let schema = base.schema().clone();
        let matcher = bound.clone();
        let matches: FilePredicate =
            Arc::new(move |f: &AddFile| file_may_match(&matcher, f, &metadata, &schema));
        let txn = txn
            .operation("DELETE")
            .parameter("predicate", predicate.to_string())
            .read_where(predicate.to_string(), matches)
            .metric(
                "numDeletedRows",
                i64::try_from(deleted_rows).unwrap_or(i64::MAX),
            );
        changes.commit(self, txn).await
    }

    /// Replaces the rows for which `predicate` is true with `batches`, as one commit
    /// (operation `OVERWRITE`). Two such overwrites of the same rows cannot both win.
    pub async fn overwrite_where<S>(&self, predicate: Expr, batches: S) -> Result<CommitResult>
    where
        S: Stream<Item = Result<RecordBatch>> + Send,
    {
        self.overwrite_where_with(predicate, batches, WriteOptions::overwrite())
            .await
    }

    /// [`Table::overwrite_where`] with the exactly-once batch and commit parameters of
    /// `options` (its mode and merge-schema do not apply).
    pub async fn overwrite_where_with<S>(
        &self,
        predicate: Expr,
        batches: S,
        options: WriteOptions,
    ) -> Result<CommitResult>
    where
        S: Stream<Item = Result<RecordBatch>> + Send,
    {
        let mut txn = self.transaction().await?;
        crate::rows::changes::check_batch(self, txn.base(), options.app_transaction.as_ref())?;
        if let Some((app, batch)) = options.app_transaction {
            txn = txn.app_transaction(app, batch);
        }
        for (k, v) in options.parameters {
            txn = txn.parameter(k, v);
        }
        self.rewrite_in(txn, predicate, batches, "OVERWRITE").await
    }

    /// Copy-on-write: rewrites the files holding rows matching `predicate` without them, adds
    /// `batches`, in `txn`.
    async fn rewrite_in<S>(
        &self,
        txn: Transaction,
        predicate: Expr,
        batches: S,
        operation: &str,
    ) -> Result<CommitResult>
    where
        S: Stream<Item = Result<RecordBatch>> + Send,
    {
        let base = txn.base().clone();
        let schema = base.schema().clone();
        let bound = predicate.bind(&schema)?;
        let mut writer = PartitionedWriter::new(self, &base)?;
        let plan = match self.plan_delete(&base, &bound, &mut writer).await {
            Ok(p) => p,
            Err(e) => {
                writer.abort().await;
                return Err(e);
            }
        };
        let mut batches = std::pin::pin!(batches);
        let mut new_rows = 0u64;
        while let Some(b) = batches.next().await {
            let r = match b {
                Ok(b) => {
                    new_rows += b.num_rows() as u64;
                    writer.write(&b).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                writer.abort().await;
                delete_files(self, &plan.adds).await;
                return Err(e);
            }
        }
        let mut adds = plan.adds;
        adds.extend(writer.finish().await?);

        let metadata = base.metadata().clone();
        let matcher_expr = bound.clone();
        let matcher_schema = schema.clone();
        let matches: FilePredicate = Arc::new(move |f: &AddFile| {
            file_may_match(&matcher_expr, f, &metadata, &matcher_schema)
        });
        let mut txn = txn
            .operation(operation)
            .parameter("predicate", predicate.to_string())
            .read_where(predicate.to_string(), matches)
            .metric(
                "numDeletedRows",
                i64::try_from(plan.deleted_rows).unwrap_or(i64::MAX),
            )
            .metric("numAddedRows", i64::try_from(new_rows).unwrap_or(i64::MAX))
            .metric(
                "numRemovedFiles",
                i64::try_from(plan.removes.len()).unwrap_or(i64::MAX),
            )
            .metric(
                "numAddedFiles",
                i64::try_from(adds.len()).unwrap_or(i64::MAX),
            );
        for p in &plan.removes {
            txn = txn.remove_file(p)?;
        }
        for a in &adds {
            txn = txn.add_file(a.clone());
        }
        unless_landed(self, txn.commit().await, &adds, None).await
    }

    /// Finds the files holding matching rows; rewrites the partly matching ones into `writer`.
    async fn plan_delete(
        &self,
        base: &Snapshot,
        bound: &BoundExpr,
        writer: &mut PartitionedWriter,
    ) -> Result<Plan> {
        let candidates = candidate_files(base, Some(bound));
        let mut plan = Plan {
            removes: Vec::new(),
            adds: Vec::new(),
            deleted_rows: 0,
        };
        let scan = self
            .scan()
            .snapshot(SnapshotSelector::Version(base.version()))
            .plan()
            .await?;
        for file in candidates {
            let mut rows = scan.only(file.clone()).stream();
            let mut matched = 0u64;
            let mut kept: Vec<RecordBatch> = Vec::new();
            while let Some(batch) = rows.try_next().await? {
                let mask = crate::expr_eval::evaluate(bound, &batch)?;
                // NULL (unknown) means "not matched": keep the row.
                let mask = if mask.nulls().is_some() {
                    prep_null_mask_filter(&mask)
                } else {
                    mask
                };
                let n = mask.true_count() as u64;
                matched += n;
                if n as usize != batch.num_rows() {
                    let keep: BooleanArray = not(&mask).map_err(arrow_err)?;
                    kept.push(filter_record_batch(&batch, &keep).map_err(arrow_err)?);
                }
            }
            if matched == 0 {
                continue;
            }
            plan.deleted_rows += matched;
            plan.removes.push(file.path.clone());
            for b in kept {
                writer.write_conformed(&b).await?;
            }
        }
        Ok(plan)
    }
}

fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Format(strata_format::FormatError::Evaluation(e.to_string()))
}
