//! Row rewrites with deletion vectors (SPEC §7.4): the matched rows of each file are marked in
//! its vector instead of copying the file; an update appends the new values of the matched rows
//! as new files. Files all of whose rows end up deleted are removed.

use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use strata_format::AddFile;
use strata_format::dv::DeletionVector;

use crate::error::Result;
use crate::log::transaction::{FilePredicate, Transaction};
use crate::rows::changes::RowChanges;
use crate::rows::delete::file_may_match;
use crate::rows::rewrite::{RewriteResult, RowRewrite, evaluation};
use crate::scan::{Scan, true_indices};
use crate::table::Table;
use crate::write::PartitionedWriter;

/// What marking one file found.
struct Marked {
    file: Arc<AddFile>,
    vector: DeletionVector,
    new_rows: u64,
    mapped: Vec<RecordBatch>,
}

impl Table {
    /// One attempt of [`Table::rewrite_rows`] by deletion vectors on `txn`'s snapshot.
    pub(crate) async fn rewrite_rows_by_vectors(
        &self,
        txn: Transaction,
        rewrite: &RowRewrite,
    ) -> Result<RewriteResult> {
        let base = txn.base().clone();
        let schema = base.schema().clone();
        let bound = match rewrite.prune_predicate() {
            Some(p) => Some(p.bind(&schema)?),
            None => None,
        };
        let candidates = crate::rows::delete::candidate_files(&base, bound.as_ref());
        let scan = self.scan().at(base.clone()).plan().await?;
        let mut writer = PartitionedWriter::new(self, &base)?;
        let mut changes = RowChanges::default();
        let mut matched_rows = 0u64;
        for file in candidates {
            let marked = match mark_file(&scan, file, rewrite).await {
                Ok(m) => m,
                Err(e) => {
                    writer.abort().await;
                    return Err(e);
                }
            };
            if marked.new_rows == 0 {
                continue;
            }
            matched_rows += marked.new_rows;
            for b in &marked.mapped {
                if let Err(e) = writer.write(b).await {
                    writer.abort().await;
                    return Err(e);
                }
            }
            changes.mark(&marked.file, marked.vector);
        }
        changes.add(writer.finish().await?);
        if matched_rows == 0 {
            changes.abandon(self).await;
            return Ok(RewriteResult {
                commit: None,
                matched_rows: 0,
                copied_rows: 0,
            });
        }
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let (operation, matched_metric) = match rewrite.is_update() {
            true => ("UPDATE", "numUpdatedRows"),
            false => ("DELETE", "numDeletedRows"),
        };
        let mut txn = txn
            .operation(operation)
            .parameter("predicate", rewrite.description().to_string())
            .metric(matched_metric, count(matched_rows))
            .metric("numCopiedRows", 0)
            .metric("numAddedRows", count(changes.added_rows()));
        if let Some((app, batch)) = rewrite.app() {
            txn = txn.app_transaction(app.clone(), *batch);
        }
        txn = match (rewrite.prune_predicate(), bound) {
            (Some(p), Some(b)) => {
                let metadata = base.metadata().clone();
                let schema = schema.clone();
                let matches: FilePredicate =
                    Arc::new(move |f: &AddFile| file_may_match(&b, f, &metadata, &schema));
                txn.read_where(p.to_string(), matches)
            }
            _ => txn.read_whole_table(),
        };
        let commit = changes.commit(self, txn).await?;
        Ok(RewriteResult {
            commit: Some(commit),
            matched_rows,
            copied_rows: 0,
        })
    }
}

/// Marks the rows of `file` the rewrite matches that its vector does not already mark; maps
/// them when the rewrite is an update.
async fn mark_file(scan: &Scan, file: Arc<AddFile>, rewrite: &RowRewrite) -> Result<Marked> {
    let old = scan.deletion_vector(&file).await?;
    let mut vector = old.clone().unwrap_or_default();
    let before = vector.cardinality();
    let mut mapped = Vec::new();
    scan.visit_rows(&file, |batch, at| {
        let mask = rewrite.matches(batch)?;
        let mut hits: Vec<u32> = Vec::new();
        for i in true_indices(&mask) {
            let position = at + i as u64;
            if old.as_ref().is_none_or(|o| !o.contains(position)) {
                vector.insert(position);
                hits.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        if rewrite.is_update() && !hits.is_empty() {
            let hit = arrow::compute::take_record_batch(batch, &UInt32Array::from(hits))
                .map_err(|e| evaluation(e.to_string()))?;
            mapped.extend(rewrite.map(&hit)?);
        }
        Ok(())
    })
    .await?;
    let new_rows = vector.cardinality() - before;
    Ok(Marked {
        file,
        vector,
        new_rows,
        mapped,
    })
}
