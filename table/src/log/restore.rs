//! Restore: a new commit that makes the table equal to an older version.

use strata_format::Action;
use strata_format::evolution::restored_metadata;

use crate::error::Result;
use crate::log::transaction::CommitResult;
use crate::table::Table;

impl Table {
    /// Commits a new version whose data equals that of `version` (SPEC §8.5): files removed
    /// since are re-added (at their current locations), files added since are removed. The
    /// schema, partitioning and properties of `version` come back on the current lineage
    /// (nothing narrows, dropped fields are reinstated with their ids); tiers, policies, tags
    /// and application batches stay as they are now. Files whose deletion vector changed
    /// since get their vector of `version` back.
    pub async fn restore(&self, version: u64) -> Result<CommitResult> {
        let target = self.snapshot_at_version(version).await?;
        let mut txn = self.transaction().await?;
        let latest = txn.base().clone();
        let mut added = 0i64;
        let mut removed = 0i64;
        let to_remove: Vec<String> = latest
            .files()
            .keys()
            .filter(|p| !target.files().contains_key(p))
            .cloned()
            .collect();
        for path in &to_remove {
            txn = txn.remove_file(path)?;
            removed += 1;
        }
        let mut revectored = 0i64;
        for (path, add) in target.files() {
            match latest.files().get(path) {
                None => {
                    txn = txn.action(Action::Add(Box::new(add.clone())));
                    added += 1;
                }
                // Rows deleted by vector since (or undeleted): the file gets its vector of
                // `version` back, where it is now (SPEC §7.4).
                Some(now) if now.deletion_vector != add.deletion_vector => {
                    txn = txn.remove_file(path)?;
                    let mut back = now.clone();
                    back.deletion_vector = add.deletion_vector.clone();
                    txn = txn.action(Action::Add(Box::new(back)));
                    revectored += 1;
                }
                Some(_) => {}
            }
        }
        if target.metadata() != latest.metadata() {
            let restored = restored_metadata(target.metadata(), latest.metadata())?;
            if &restored != latest.metadata() {
                txn = txn.action(Action::Metadata(Box::new(restored)));
            }
        }
        if revectored > 0 {
            txn = txn.metric("numRestoredDeletionVectors", revectored);
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
