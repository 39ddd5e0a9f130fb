//! Copy-on-write row rewrites driven by the caller: a row matcher decides which rows change, an
//! optional row mapper gives their new values (UPDATE) or they are dropped (DELETE). Query
//! engines use it when their predicates are not Strata expressions ([`Table::delete`] covers
//! those); every file holding a matched row is replaced, in one atomic commit.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::compute::{filter_record_batch, not, prep_null_mask_filter};
use futures::TryStreamExt;
use strata_format::AddFile;
use strata_format::expr::Expr;

use crate::error::{Error, Result};
use crate::log::snapshot::SnapshotSelector;
use crate::log::transaction::{CommitResult, FilePredicate, Transaction};
use crate::rows::delete::file_may_match;
use crate::table::Table;
use crate::write::{PartitionedWriter, delete_files, unless_landed};

/// Which rows of a batch (with the table's Arrow schema) are matched; a NULL is not a match.
pub type RowMatcher = Arc<dyn Fn(&RecordBatch) -> Result<BooleanArray> + Send + Sync>;
/// The new values of matched rows: a batch of the same rows with the table's columns (by name).
pub type RowMapper = Arc<dyn Fn(&RecordBatch) -> Result<RecordBatch> + Send + Sync>;

/// A row rewrite for [`Table::rewrite_rows`].
#[derive(Clone)]
#[must_use = "a row rewrite does nothing until passed to Table::rewrite_rows"]
pub struct RowRewrite {
    matcher: RowMatcher,
    mapper: Option<RowMapper>,
    prune: Option<Expr>,
    description: String,
    app_transaction: Option<(String, u64)>,
}

impl std::fmt::Debug for RowRewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowRewrite")
            .field("update", &self.mapper.is_some())
            .field("prune", &self.prune.as_ref().map(ToString::to_string))
            .field("description", &self.description)
            .finish()
    }
}

impl RowRewrite {
    /// Deletes the matched rows (operation `DELETE`).
    pub fn delete(matcher: RowMatcher) -> Self {
        Self {
            matcher,
            mapper: None,
            prune: None,
            description: String::new(),
            app_transaction: None,
        }
    }

    /// Replaces the matched rows with `mapper`'s rows (operation `UPDATE`).
    pub fn update(matcher: RowMatcher, mapper: RowMapper) -> Self {
        Self {
            matcher,
            mapper: Some(mapper),
            prune: None,
            description: String::new(),
            app_transaction: None,
        }
    }

    /// A Strata predicate true for every row the matcher can match: files it rules out (on
    /// partition values and statistics) are not read, and the commit only conflicts with
    /// concurrent files it could match. Without it every file is read and the commit reads
    /// the whole table.
    pub fn prune(mut self, predicate: Expr) -> Self {
        self.prune = Some(predicate);
        self
    }

    /// The predicate as the user wrote it, recorded as the commit's `predicate` parameter.
    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Exactly-once: commit as batch `batch` of application `app_id`; the rewrite fails with
    /// [`Error::DuplicateBatch`] (before reading anything) when that batch or a later one was
    /// committed.
    pub fn app_transaction(mut self, app_id: impl Into<String>, batch: u64) -> Self {
        self.app_transaction = Some((app_id.into(), batch));
        self
    }

    pub(crate) fn app(&self) -> Option<&(String, u64)> {
        self.app_transaction.as_ref()
    }

    /// The matcher's mask for `batch`, NULL read as no match.
    pub(crate) fn matches(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let mask = (self.matcher)(batch)?;
        if mask.len() != batch.num_rows() {
            return Err(evaluation(format!(
                "the row matcher returned {} values for {} rows",
                mask.len(),
                batch.num_rows()
            )));
        }
        Ok(if mask.nulls().is_some() {
            prep_null_mask_filter(&mask)
        } else {
            mask
        })
    }

    /// The new values of the matched rows `hit` (an update), or `None` for a delete.
    pub(crate) fn map(&self, hit: &RecordBatch) -> Result<Option<RecordBatch>> {
        let Some(mapper) = &self.mapper else {
            return Ok(None);
        };
        let new = mapper(hit)?;
        if new.num_rows() != hit.num_rows() {
            return Err(evaluation(format!(
                "the row mapper returned {} rows for {} matched rows",
                new.num_rows(),
                hit.num_rows()
            )));
        }
        Ok(Some(new))
    }

    pub(crate) fn prune_predicate(&self) -> Option<&Expr> {
        self.prune.as_ref()
    }
    pub(crate) fn description(&self) -> &str {
        &self.description
    }
    pub(crate) fn is_update(&self) -> bool {
        self.mapper.is_some()
    }
}

/// What [`Table::rewrite_rows`] did.
#[derive(Debug, Clone)]
pub struct RewriteResult {
    /// The commit; `None` when no row matched (nothing is committed).
    pub commit: Option<CommitResult>,
    /// Rows matched (deleted or updated).
    pub matched_rows: u64,
    /// Unmatched rows copied from the rewritten files.
    pub copied_rows: u64,
}

impl Table {
    /// Rewrites the rows `rewrite` matches as one commit (operation `DELETE` or `UPDATE`,
    /// metrics `numDeletedRows`/`numUpdatedRows`, `numCopiedRows`, `numAddedRows`,
    /// `numRemovedFiles`, `numAddedFiles`, and with vectors `numDeletionVectors`,
    /// `numDeletionVectorBytes`). Tables that use deletion vectors (SPEC §7) get the matched rows
    /// marked in vectors (and, for an update, their new values appended); others get every
    /// file holding a matched row rewritten. Nothing is committed when no row matches. On
    /// failure the files written are deleted (unless the commit outcome is unknown).
    pub async fn rewrite_rows(&self, rewrite: RowRewrite) -> Result<RewriteResult> {
        let mut replans = 0u32;
        loop {
            let txn = self.transaction().await?;
            crate::rows::changes::check_batch(self, txn.base(), rewrite.app())?;
            if !crate::rows::vectors::enabled(txn.base()) {
                return self.rewrite_rows_cow(txn, &rewrite).await;
            }
            match self.rewrite_rows_by_vectors(txn, &rewrite).await {
                Err(e) if crate::rows::delete::replan_after(&e, &mut replans).await => {}
                other => return other,
            }
        }
    }

    /// One copy-on-write attempt of [`Table::rewrite_rows`].
    async fn rewrite_rows_cow(
        &self,
        txn: Transaction,
        rewrite: &RowRewrite,
    ) -> Result<RewriteResult> {
        let base = txn.base().clone();
        let schema = base.schema().clone();
        let bound = match &rewrite.prune {
            Some(p) => Some(p.bind(&schema)?),
            None => None,
        };
        let candidates = crate::rows::delete::candidate_files(&base, bound.as_ref());
        let scan = self
            .scan()
            .snapshot(SnapshotSelector::Version(base.version()))
            .plan()
            .await?;
        let mut writer = PartitionedWriter::new(self, &base)?;
        let mut removes = Vec::new();
        let (mut matched_rows, mut copied_rows) = (0u64, 0u64);
        for file in candidates {
            let outcome = rewrite_file(rewrite, scan.only(file.clone()), &mut writer).await;
            match outcome {
                Ok((0, _)) => {}
                Ok((matched, copied)) => {
                    matched_rows += matched;
                    copied_rows += copied;
                    removes.push(file.path.clone());
                }
                Err(e) => {
                    writer.abort().await;
                    return Err(e);
                }
            }
        }
        let adds = writer.finish().await?;
        if removes.is_empty() {
            delete_files(self, &adds).await;
            return Ok(RewriteResult {
                commit: None,
                matched_rows: 0,
                copied_rows: 0,
            });
        }
        let added_rows: u64 = adds.iter().map(|a| a.record_count).sum();
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let (operation, matched_metric) = match rewrite.mapper {
            Some(_) => ("UPDATE", "numUpdatedRows"),
            None => ("DELETE", "numDeletedRows"),
        };
        let mut txn = txn
            .operation(operation)
            .parameter("predicate", rewrite.description.clone())
            .metric(matched_metric, count(matched_rows))
            .metric("numCopiedRows", count(copied_rows))
            .metric("numAddedRows", count(added_rows))
            .metric("numRemovedFiles", count(removes.len() as u64))
            .metric("numAddedFiles", count(adds.len() as u64));
        if let Some((app, batch)) = rewrite.app() {
            txn = txn.app_transaction(app.clone(), *batch);
        }
        txn = match (&rewrite.prune, bound) {
            (Some(p), Some(b)) => {
                let metadata = base.metadata().clone();
                let schema = schema.clone();
                let matches: FilePredicate =
                    Arc::new(move |f: &AddFile| file_may_match(&b, f, &metadata, &schema));
                txn.read_where(p.to_string(), matches)
            }
            _ => txn.read_whole_table(),
        };
        for p in &removes {
            txn = txn.remove_file(p)?;
        }
        for a in &adds {
            txn = txn.add_file(a.clone());
        }
        let c = unless_landed(self, txn.commit().await, &adds, None).await?;
        Ok(RewriteResult {
            commit: Some(c),
            matched_rows,
            copied_rows,
        })
    }
}

/// Reads one file; when some row matches, writes its unmatched rows and the mapped matched rows
/// to `writer`. Returns (matched, copied) rows; nothing is written when none matched.
async fn rewrite_file(
    rewrite: &RowRewrite,
    scan: crate::scan::Scan,
    writer: &mut PartitionedWriter,
) -> Result<(u64, u64)> {
    let mut rows = scan.stream();
    let mut kept: Vec<RecordBatch> = Vec::new();
    let mut mapped: Vec<RecordBatch> = Vec::new();
    let (mut matched, mut copied) = (0u64, 0u64);
    while let Some(batch) = rows.try_next().await? {
        let mask = rewrite.matches(&batch)?;
        let n = mask.true_count();
        matched += n as u64;
        copied += (batch.num_rows() - n) as u64;
        if n < batch.num_rows() {
            let keep = not(&mask).map_err(|e| evaluation(e.to_string()))?;
            kept.push(filter_record_batch(&batch, &keep).map_err(|e| evaluation(e.to_string()))?);
        }
        if n > 0 && rewrite.is_update() {
            let hit = filter_record_batch(&batch, &mask).map_err(|e| evaluation(e.to_string()))?;
            mapped.extend(rewrite.map(&hit)?);
        }
    }
    if matched == 0 {
        return Ok((0, 0));
    }
    for b in &kept {
        writer.write_conformed(b).await?;
    }
    for b in &mapped {
        writer.write(b).await?;
    }
    Ok((matched, copied))
}

pub(crate) fn evaluation(message: String) -> Error {
    Error::Format(strata_format::FormatError::Evaluation(message))
}
