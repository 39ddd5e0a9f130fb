//! Row rewrites with deletion vectors (SPEC §7.4): the matched rows of each file are marked in
//! its vector instead of copying the file; an update appends the new values of the matched rows
//! as new files. Files all of whose rows end up deleted are removed.

use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use strata_format::AddFile;
use strata_format::dv::DeletionVector;

use crate::delete::file_may_match;
use crate::error::{Error, Result};
use crate::rewrite::{RewriteResult, RowRewrite, evaluation};
use crate::scan::{Scan, true_indices};
use crate::table::Table;
use crate::transaction::{FilePredicate, Transaction};
use crate::write::{PartitionedWriter, delete_files};

/// What marking one file found.
struct Marked {
    file: AddFile,
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
        let candidates = crate::delete::candidate_files(&base, bound.as_ref());
        let scan = self.scan().at(base.clone()).plan().await?;
        let mut writer = PartitionedWriter::new(self, &base)?;
        let mut object = crate::vectors::new_object(self);
        let (mut removes, mut replaced) = (Vec::new(), Vec::new());
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
            if marked.vector.cardinality() >= marked.file.record_count {
                removes.push(marked.file.path);
            } else {
                replaced.push((marked.file.path, object.push(&marked.vector)));
            }
        }
        let adds = writer.finish().await?;
        if matched_rows == 0 {
            delete_files(self, &adds).await;
            return Ok(RewriteResult {
                commit: None,
                matched_rows: 0,
                copied_rows: 0,
            });
        }
        let vector_bytes = if object.is_empty() { 0 } else { object.len() };
        let written = match crate::vectors::write_object(self, object).await {
            Ok(w) => w,
            Err(e) => {
                delete_files(self, &adds).await;
                return Err(e);
            }
        };
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let (operation, matched_metric) = match rewrite.is_update() {
            true => ("UPDATE", "numUpdatedRows"),
            false => ("DELETE", "numDeletedRows"),
        };
        let added_rows: u64 = adds.iter().map(|a| a.record_count).sum();
        let mut txn = txn
            .operation(operation)
            .parameter("predicate", rewrite.description().to_string())
            .metric(matched_metric, count(matched_rows))
            .metric("numCopiedRows", 0)
            .metric("numAddedRows", count(added_rows))
            .metric("numRemovedFiles", count(removes.len() as u64))
            .metric("numAddedFiles", count(adds.len() as u64))
            .metric("numDeletionVectors", count(replaced.len() as u64))
            .metric("numDeletionVectorBytes", count(vector_bytes as u64));
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
        let result = async {
            for p in &removes {
                txn = txn.remove_file(p)?;
            }
            for (p, d) in replaced {
                txn = txn.replace_deletion_vector(&p, d)?;
            }
            for a in &adds {
                txn = txn.add_file(a.clone());
            }
            txn.commit().await
        }
        .await;
        match result {
            Ok(c) => Ok(RewriteResult {
                commit: Some(c),
                matched_rows,
                copied_rows: 0,
            }),
            Err(e) => {
                if !matches!(e, Error::CommitOutcomeUnknown { .. }) {
                    delete_files(self, &adds).await;
                    if let Some(path) = &written {
                        crate::vectors::delete_object(self, path).await;
                    }
                }
                Err(e)
            }
        }
    }
}

/// Marks the rows of `file` the rewrite matches that its vector does not already mark; maps
/// them when the rewrite is an update.
async fn mark_file(scan: &Scan, file: AddFile, rewrite: &RowRewrite) -> Result<Marked> {
    let old = scan.deletion_vector(&file).await?;
    let mut vector = old.clone().unwrap_or_default();
    let before = vector.cardinality();
    let mut mapped = Vec::new();
    scan.visit_rows(&file, |batch, at| {
        let mask = rewrite.matcher()(batch)?;
        if mask.len() != batch.num_rows() {
            return Err(evaluation(format!(
                "the row matcher returned {} values for {} rows",
                mask.len(),
                batch.num_rows()
            )));
        }
        let mut hits: Vec<u32> = Vec::new();
        for i in true_indices(&mask) {
            let position = at + i as u64;
            if old.as_ref().is_none_or(|o| !o.contains(position)) {
                vector.insert(position);
                hits.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        if let Some(mapper) = rewrite.mapper()
            && !hits.is_empty()
        {
            let hit = arrow::compute::take_record_batch(batch, &UInt32Array::from(hits))
                .map_err(|e| evaluation(e.to_string()))?;
            let new = mapper(&hit)?;
            if new.num_rows() != hit.num_rows() {
                return Err(evaluation(format!(
                    "the row mapper returned {} rows for {} matched rows",
                    new.num_rows(),
                    hit.num_rows()
                )));
            }
            mapped.push(new);
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
