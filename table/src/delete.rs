//! Row-level deletes and conditional overwrites, copy-on-write: files whose rows all match are
//! removed, files with some matching rows are rewritten without them, in one atomic commit.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::compute::{filter_record_batch, not, prep_null_mask_filter};
use futures::{Stream, StreamExt, TryStreamExt};
use strata_format::expr::{BoundExpr, Expr};
use strata_format::prune::{FileStatsView, may_match};
use strata_format::{AddFile, Metadata, Schema};

use crate::error::{Error, Result};
use crate::scan_stats::partition_bounds;
use crate::snapshot::SnapshotSelector;
use crate::table::Table;
use crate::transaction::{CommitResult, FilePredicate};
use crate::write::{PartitionedWriter, delete_files};

/// Whether a file could hold rows matching `predicate` (partition values, then statistics).
pub(crate) fn file_may_match(
    p: &BoundExpr,
    f: &AddFile,
    metadata: &Metadata,
    schema: &Schema,
) -> bool {
    if let Some(bounds) = partition_bounds(f, metadata, schema)
        && !may_match(p, &bounds)
    {
        return false;
    }
    may_match(p, &FileStatsView::from_add_file(f, schema))
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
struct Plan {
    removes: Vec<String>,
    adds: Vec<AddFile>,
    deleted_rows: u64,
}

impl Table {
    /// Deletes the rows for which `predicate` is true, as one commit (operation `DELETE`).
    pub async fn delete(&self, predicate: Expr) -> Result<CommitResult> {
        let empty: Vec<Result<RecordBatch>> = Vec::new();
        self.rewrite_where(predicate, futures::stream::iter(empty), "DELETE")
            .await
    }

    /// Replaces the rows for which `predicate` is true with `batches`, as one commit
    /// (operation `OVERWRITE`). Two such overwrites of the same rows cannot both win.
    pub async fn overwrite_where<S>(&self, predicate: Expr, batches: S) -> Result<CommitResult>
    where
        S: Stream<Item = Result<RecordBatch>> + Send,
    {
        self.rewrite_where(predicate, batches, "OVERWRITE").await
    }

    async fn rewrite_where<S>(
        &self,
        predicate: Expr,
        batches: S,
        operation: &str,
    ) -> Result<CommitResult>
    where
        S: Stream<Item = Result<RecordBatch>> + Send,
    {
        let txn = self.transaction().await?;
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

    /// Finds the files holding matching rows; rewrites the partly matching ones into `writer`.
    async fn plan_delete(
        &self,
        base: &crate::snapshot::Snapshot,
        bound: &BoundExpr,
        writer: &mut PartitionedWriter,
    ) -> Result<Plan> {
        let schema = base.schema();
        let candidates: Vec<AddFile> = base
            .files()
            .values()
            .filter(|f| file_may_match(bound, f, base.metadata(), schema))
            .cloned()
            .collect();
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
