//! Restore: a new commit that makes the table equal to an older version.

use strata_format::{Action, Metadata};

use crate::error::Result;
use crate::table::Table;
use crate::transaction::CommitResult;

impl Table {
    /// Commits a new version whose data and metadata equal those of `version`. Files that
    /// were removed since are re-added (at their current locations), files added since are
    /// removed. Field and partition ids stay monotonic; tags and application batches are kept.
    pub async fn restore(&self, version: u64) -> Result<CommitResult> {
        let target = self.snapshot_at_version(version).await?;
        let mut txn = self.transaction().await?;
        let latest = txn.base().clone();
        let mut added = 0i64;
        let mut removed = 0i64;
        let to_remove: Vec<String> = latest
            .files()
            .keys()
            .filter(|p| !target.files().contains_key(*p))
            .cloned()
            .collect();
        for path in &to_remove {
            txn = txn.remove_file(path)?;
            removed += 1;
        }
        for (path, add) in target.files() {
            if !latest.files().contains_key(path) {
                txn = txn.action(Action::Add(Box::new(add.clone())));
                added += 1;
            }
        }
        if target.metadata() != latest.metadata() {
            txn = txn.action(Action::Metadata(Box::new(restored_metadata(
                target.metadata(),
                latest.metadata(),
            ))));
        }
        txn.operation("RESTORE")
            .parameter("version", version)
            .metric("numRestoredFiles", added)
            .metric("numRemovedFiles", removed)
            .read_whole_table()
            .commit()
            .await
    }
}

/// The target's metadata, with id counters and the list of partition specs kept from `latest`
/// so that ids are never reused and files written under newer specs stay interpretable.
fn restored_metadata(target: &Metadata, latest: &Metadata) -> Metadata {
    let mut m = target.clone();
    m.last_column_id = m.last_column_id.max(latest.last_column_id);
    m.last_partition_id = m.last_partition_id.max(latest.last_partition_id);
    for spec in &latest.partition_specs {
        if m.spec(spec.spec_id).is_none() {
            m.partition_specs.push(spec.clone());
        }
    }
    m
}
