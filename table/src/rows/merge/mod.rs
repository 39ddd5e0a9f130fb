//! MERGE (upsert) of a source into a table on key columns, in one atomic commit: matched target
//! rows are updated (replaced by their source row), deleted or kept; unmatched source rows are
//! inserted or ignored; target rows no source row matches may be deleted. With deletion
//! vectors (SPEC §7) changed rows are marked and new values appended; otherwise the files
//! holding changed rows are rewritten. Only the key columns of the table are read to match.

mod source;

use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use futures::{Stream, StreamExt, TryStreamExt};
use roaring::RoaringBitmap;
use strata_format::AddFile;
use strata_format::dv::DeletionVector;

use crate::error::{Error, Result};
use crate::log::transaction::{CommitResult, FilePredicate, Transaction};
use crate::rows::changes::{RowChanges, check_batch};
use crate::rows::delete::{candidate_files, file_may_match, replan_after};
use crate::rows::rewrite::evaluation;
use crate::scan::Scan;
use crate::table::Table;
use crate::write::PartitionedWriter;
use source::{KeyRange, SourceIndex};

/// What happens to a target row that a source row matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenMatched {
    /// Replace it with the source row.
    #[default]
    Update,
    /// Delete it.
    Delete,
    /// Keep it as it is.
    Ignore,
}

/// What happens to a source row that matches no target row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenNotMatched {
    /// Insert it.
    #[default]
    Insert,
    /// Drop it.
    Ignore,
}

/// What happens to a target row that no source row matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenNotMatchedBySource {
    /// Keep it.
    #[default]
    Keep,
    /// Delete it (the source is the whole new state of the table).
    Delete,
}

impl WhenMatched {
    fn name(self) -> &'static str {
        match self {
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Ignore => "ignore",
        }
    }
}

/// A merge for [`Table::merge`]: key columns and what happens to matched and unmatched rows.
#[derive(Debug, Clone)]
#[must_use = "a merge does nothing until passed to Table::merge"]
pub struct Merge {
    on: Vec<String>,
    when_matched: WhenMatched,
    when_not_matched: WhenNotMatched,
    by_source: WhenNotMatchedBySource,
    app_transaction: Option<(String, u64)>,
    parameters: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Merge {
    /// A merge on these top-level key columns: a source row matches the target rows whose
    /// keys are all equal to its own (a NULL key matches nothing). By default matched rows
    /// are updated, unmatched source rows inserted, and other target rows kept (an upsert).
    pub fn on(keys: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            on: keys.into_iter().map(Into::into).collect(),
            when_matched: WhenMatched::default(),
            when_not_matched: WhenNotMatched::default(),
            by_source: WhenNotMatchedBySource::default(),
            app_transaction: None,
            parameters: std::collections::BTreeMap::new(),
        }
    }

    /// What happens to matched target rows.
    pub fn when_matched(mut self, action: WhenMatched) -> Self {
        self.when_matched = action;
        self
    }

    /// What happens to source rows that match nothing.
    pub fn when_not_matched(mut self, action: WhenNotMatched) -> Self {
        self.when_not_matched = action;
        self
    }

    /// What happens to target rows that no source row matches.
    pub fn when_not_matched_by_source(mut self, action: WhenNotMatchedBySource) -> Self {
        self.by_source = action;
        self
    }

    /// Exactly-once: commit as batch `batch` of application `app_id`; the merge fails with
    /// [`Error::DuplicateBatch`] (before reading the table) when that batch or a later one
    /// was committed.
    pub fn app_transaction(mut self, app_id: impl Into<String>, batch: u64) -> Self {
        self.app_transaction = Some((app_id.into(), batch));
        self
    }
}

impl Merge {
    /// Records a parameter in the commit info (e.g. the source files).
    pub fn parameter(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.parameters.insert(key.into(), value.into());
        self
    }
}

/// What [`Table::merge`] did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MergeResult {
    /// The commit; `None` when nothing changed (nothing is committed).
    pub commit: Option<CommitResult>,
    /// Rows of the source.
    pub source_rows: u64,
    /// Target rows replaced by their source row.
    pub updated_rows: u64,
    /// Target rows deleted (matched, or not matched by the source).
    pub deleted_rows: u64,
    /// Source rows inserted.
    pub inserted_rows: u64,
    /// Unchanged rows copied from rewritten files (copy-on-write only).
    pub copied_rows: u64,
}

/// What matching one target file found.
struct FileMatch {
    file: Arc<AddFile>,
    /// Old marks plus the rows this merge deletes or updates.
    vector: DeletionVector,
    /// Rows newly marked.
    new_rows: u64,
    /// Source rows replacing updated target rows, one per updated row.
    updates: Vec<u32>,
    /// Target rows deleted.
    deleted: u64,
    /// Source rows that matched some live row of the file.
    matched: RoaringBitmap,
}

impl Table {
    /// Merges `source` into the table as one commit (operation `MERGE`; metrics
    /// `numSourceRows`, `numTargetRowsUpdated`, `numTargetRowsDeleted`,
    /// `numTargetRowsInserted`, `numTargetRowsCopied`, `numAddedRows`, files added and
    /// removed, vectors written). The source is read into memory first; two source rows with
    /// one key are an error ([`Error::AmbiguousMergeSource`]) since they would both claim the
    /// same target rows. A merge that loses a race to a delete of the same files is re-planned
    /// on the new snapshot (SPEC §8.2). Nothing is committed when nothing changes.
    pub async fn merge<S>(&self, source: S, merge: Merge) -> Result<MergeResult>
    where
        S: Stream<Item = Result<RecordBatch>> + Send,
    {
        if merge.on.is_empty() {
            return Err(Error::InvalidOperation {
                table: self.uri().to_string(),
                message: "a merge needs at least one key column".into(),
            });
        }
        let raw: Vec<RecordBatch> = source.try_collect().await?;
        let mut replans = 0u32;
        loop {
            let txn = self.transaction().await?;
            check_batch(self, txn.base(), merge.app_transaction.as_ref())?;
            match self.merge_once(txn, &raw, &merge).await {
                Err(e) if replan_after(&e, &mut replans).await => {}
                other => return other,
            }
        }
    }

    /// One attempt of [`Table::merge`] on `txn`'s snapshot.
    async fn merge_once(
        &self,
        txn: Transaction,
        raw: &[RecordBatch],
        merge: &Merge,
    ) -> Result<MergeResult> {
        let base = txn.base().clone();
        let index = SourceIndex::build(self, &base, raw, &merge.on)?;
        let by_source = merge.by_source == WhenNotMatchedBySource::Delete;
        // Without deletes by source, only files whose key range meets the source's are read.
        let (prune, read_any) = match (by_source, index.key_range()) {
            (true, _) | (false, KeyRange::Everything) => (None, true),
            (false, KeyRange::Within(p)) => (Some(p), true),
            (false, KeyRange::Nothing) => (None, false),
        };
        let bound = match &prune {
            Some(p) => Some(p.bind(base.schema())?),
            None => None,
        };
        let candidates = if read_any {
            candidate_files(&base, bound.as_ref())
        } else {
            Vec::new()
        };
        let mut keys = self.scan().at(base.clone()).columns(merge.on.clone());
        if let Some(p) = &prune {
            keys = keys.filter(p.clone());
        }
        let keys = keys.plan().await?;
        let matches: Vec<FileMatch> = futures::stream::iter(candidates.into_iter().map(|file| {
            let (keys, index) = (&keys, &index);
            async move { match_file(keys, index, file, merge).await }
        }))
        .buffer_unordered(4)
        .try_collect()
        .await?;

        let vectors = crate::rows::vectors::enabled(&base);
        let mut writer = PartitionedWriter::new(self, &base)?;
        let mut changes = RowChanges::default();
        let mut result = MergeResult {
            source_rows: index.rows() as u64,
            ..MergeResult::default()
        };
        let mut matched = RoaringBitmap::new();
        let written = self
            .write_merge(&matches, &index, merge, vectors, &base, &mut writer)
            .await;
        let copied = match written {
            Ok(c) => c,
            Err(e) => {
                writer.abort().await;
                return Err(e);
            }
        };
        result.copied_rows = copied;
        for m in matches {
            matched |= &m.matched;
            result.updated_rows += m.updates.len() as u64;
            result.deleted_rows += m.deleted;
            if m.new_rows == 0 {
                continue;
            }
            if vectors {
                changes.mark(&m.file, m.vector);
            } else {
                changes.remove(&m.file.path);
            }
        }
        if merge.when_not_matched == WhenNotMatched::Insert {
            let inserts = index.unmatched(&matched);
            result.inserted_rows = inserts.len() as u64;
            if let Err(e) = write_rows(&mut writer, index.batch(), inserts).await {
                writer.abort().await;
                return Err(e);
            }
        }
        changes.add(writer.finish().await?);
        if changes.is_empty() {
            return Ok(result);
        }
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut txn = txn;
        for (k, v) in &merge.parameters {
            txn = txn.parameter(k.clone(), v.clone());
        }
        let mut txn = txn
            .operation("MERGE")
            .parameter("on", merge.on.join(", "))
            .parameter("whenMatched", merge.when_matched.name())
            .parameter(
                "whenNotMatched",
                match merge.when_not_matched {
                    WhenNotMatched::Insert => "insert",
                    WhenNotMatched::Ignore => "ignore",
                },
            )
            .parameter(
                "whenNotMatchedBySource",
                if by_source { "delete" } else { "keep" },
            )
            .metric("numSourceRows", count(result.source_rows))
            .metric("numTargetRowsUpdated", count(result.updated_rows))
            .metric("numTargetRowsDeleted", count(result.deleted_rows))
            .metric("numTargetRowsInserted", count(result.inserted_rows))
            .metric("numTargetRowsCopied", count(result.copied_rows))
            .metric("numAddedRows", count(changes.added_rows()));
        if let Some((app, batch)) = &merge.app_transaction {
            txn = txn.app_transaction(app.clone(), *batch);
        }
        txn = match (prune, bound) {
            (Some(p), Some(b)) => {
                let metadata = base.metadata().clone();
                let schema = base.schema().clone();
                let matches: FilePredicate =
                    Arc::new(move |f: &AddFile| file_may_match(&b, f, &metadata, &schema));
                txn.read_where(p.to_string(), matches)
            }
            // A source without keys matches nothing: its inserts read nothing.
            _ if read_any => txn.read_whole_table(),
            _ => txn,
        };
        result.commit = Some(changes.commit(self, txn).await?);
        Ok(result)
    }

    /// Writes the new values of updated rows and, without vectors, the unchanged rows of the
    /// files being rewritten. Returns the rows copied.
    async fn write_merge(
        &self,
        matches: &[FileMatch],
        index: &SourceIndex,
        merge: &Merge,
        vectors: bool,
        base: &crate::log::snapshot::Snapshot,
        writer: &mut PartitionedWriter,
    ) -> Result<u64> {
        let mut copied = 0u64;
        let all = if vectors || matches.iter().all(|m| m.new_rows == 0) {
            None
        } else {
            Some(self.scan().at(base.clone()).plan().await?)
        };
        for m in matches.iter().filter(|m| m.new_rows > 0) {
            if merge.when_matched == WhenMatched::Update {
                write_rows(writer, index.batch(), m.updates.clone()).await?;
            }
            if let Some(all) = &all {
                copied += copy_unmarked(all, m, writer).await?;
            }
        }
        Ok(copied)
    }
}

/// Matches the live rows of `file` against the source.
async fn match_file(
    keys: &Scan,
    index: &SourceIndex,
    file: Arc<AddFile>,
    merge: &Merge,
) -> Result<FileMatch> {
    let old = keys.deletion_vector(&file).await?;
    let mut vector = old.clone().unwrap_or_default();
    let before = vector.cardinality();
    let mut updates = Vec::new();
    let mut deleted = 0u64;
    let mut matched = RoaringBitmap::new();
    let by_source = merge.by_source == WhenNotMatchedBySource::Delete;
    keys.visit_rows(&file, |batch, at| {
        let found = index.lookup(batch)?;
        for (i, hit) in found.into_iter().enumerate() {
            let position = at + i as u64;
            if old.as_ref().is_some_and(|o| o.contains(position)) {
                continue;
            }
            match hit {
                Some(s) => {
                    matched.insert(s);
                    match merge.when_matched {
                        WhenMatched::Update => {
                            vector.insert(position);
                            updates.push(s);
                        }
                        WhenMatched::Delete => {
                            vector.insert(position);
                            deleted += 1;
                        }
                        WhenMatched::Ignore => {}
                    }
                }
                None if by_source => {
                    vector.insert(position);
                    deleted += 1;
                }
                None => {}
            }
        }
        Ok(())
    })
    .await?;
    let new_rows = vector.cardinality() - before;
    Ok(FileMatch {
        file,
        vector,
        new_rows,
        updates,
        deleted,
        matched,
    })
}

/// Writes rows `rows` of the (conformed) source batch.
async fn write_rows(
    writer: &mut PartitionedWriter,
    batch: &RecordBatch,
    rows: Vec<u32>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let taken = take_record_batch(batch, &UInt32Array::from(rows))
        .map_err(|e| evaluation(e.to_string()))?;
    writer.write_conformed(&taken).await
}

/// Copies the rows of a file being rewritten that its new vector does not mark.
async fn copy_unmarked(all: &Scan, m: &FileMatch, writer: &mut PartitionedWriter) -> Result<u64> {
    let mut kept: Vec<RecordBatch> = Vec::new();
    all.visit_rows(&m.file, |batch, at| {
        let keep: Vec<u32> = (0..batch.num_rows())
            .filter(|i| !m.vector.contains(at + *i as u64))
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        if !keep.is_empty() {
            kept.push(
                take_record_batch(batch, &UInt32Array::from(keep))
                    .map_err(|e| evaluation(e.to_string()))?,
            );
        }
        Ok(())
    })
    .await?;
    let mut copied = 0u64;
    for b in &kept {
        copied += b.num_rows() as u64;
        writer.write_conformed(b).await?;
    }
    Ok(copied)
}
