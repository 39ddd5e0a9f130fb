//! The commit of a row-level change by deletion vectors (SPEC §7.4), shared by deletes,
//! updates and merges: files all of whose rows end up deleted are removed, the others get their
//! new vector (one vector object per transaction, §7.2), new files are added, and on failure
//! everything written for the commit is deleted again (unless its outcome is unknown).

use strata_format::AddFile;
use strata_format::dv::DeletionVector;

use crate::error::{Error, Result};
use crate::log::transaction::{CommitResult, Transaction};
use crate::table::Table;
use crate::write::{delete_files, unless_landed};

/// The changes of one row-level transaction.
#[derive(Default)]
pub(crate) struct RowChanges {
    removes: Vec<String>,
    marked: Vec<(String, DeletionVector)>,
    adds: Vec<AddFile>,
}

impl RowChanges {
    /// Records the full new vector of `file` (its old marks included).
    pub(crate) fn mark(&mut self, file: &AddFile, vector: DeletionVector) {
        if vector.cardinality() >= file.record_count {
            self.removes.push(file.path.clone());
        } else {
            self.marked.push((file.path.clone(), vector));
        }
    }

    /// Removes `path` whole (a copy-on-write rewrite).
    pub(crate) fn remove(&mut self, path: &str) {
        self.removes.push(path.to_string());
    }

    /// Adds files written for the transaction.
    pub(crate) fn add(&mut self, adds: Vec<AddFile>) {
        self.adds.extend(adds);
    }

    /// Whether the transaction would change nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.removes.is_empty() && self.marked.is_empty() && self.adds.is_empty()
    }

    /// Rows in the added files.
    pub(crate) fn added_rows(&self) -> u64 {
        self.adds.iter().map(|a| a.record_count).sum()
    }

    /// Deletes the files written for a transaction that will not be committed.
    pub(crate) async fn abandon(self, table: &Table) {
        delete_files(table, &self.adds).await;
    }

    /// Writes the vector object and commits `txn` with the changes, adding the metrics
    /// `numRemovedFiles`, `numAddedFiles`, `numDeletionVectors` and `numDeletionVectorBytes`.
    pub(crate) async fn commit(self, table: &Table, txn: Transaction) -> Result<CommitResult> {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let mut object = crate::rows::vectors::new_object(table);
        let mut replaced = Vec::with_capacity(self.marked.len());
        for (path, vector) in &self.marked {
            replaced.push((path.clone(), object.push(vector)));
        }
        let vector_bytes = if object.is_empty() { 0 } else { object.len() };
        let written = match crate::rows::vectors::write_object(table, object).await {
            Ok(w) => w,
            Err(e) => {
                delete_files(table, &self.adds).await;
                return Err(e);
            }
        };
        let mut txn = txn
            .metric("numRemovedFiles", count(self.removes.len()))
            .metric("numAddedFiles", count(self.adds.len()))
            .metric("numDeletionVectors", count(replaced.len()))
            .metric("numDeletionVectorBytes", count(vector_bytes));
        let result = async {
            for p in &self.removes {
                txn = txn.remove_file(p)?;
            }
            for (p, d) in replaced {
                txn = txn.replace_deletion_vector(&p, d)?;
            }
            for a in &self.adds {
                txn = txn.add_file(a.clone());
            }
            txn.commit().await
        }
        .await;
        unless_landed(table, result, &self.adds, written.as_deref()).await
    }
}

/// Fails with [`Error::DuplicateBatch`] when `app` already committed batch `batch` or a later one
/// in `snapshot`: exactly-once row changes find out before doing any work (the commit checks
/// again against the versions it races).
pub(crate) fn check_batch(
    table: &Table,
    snapshot: &crate::log::snapshot::Snapshot,
    app: Option<&(String, u64)>,
) -> Result<()> {
    if let Some((app_id, batch)) = app
        && let Some(prev) = snapshot.app_transactions().get(app_id)
        && *batch <= prev.version
    {
        return Err(Error::DuplicateBatch {
            table: table.uri().to_string(),
            duplicate: strata_format::conflict::DuplicateBatch {
                app_id: app_id.clone(),
                batch: *batch,
                committed: prev.version,
            },
        });
    }
    Ok(())
}
