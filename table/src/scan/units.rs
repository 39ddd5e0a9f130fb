//! The read side of a scan: opening a data file (footer, row-group and page pruning) and
//! splitting what is left into units of work, each a run of row groups that one task decodes.
//!
//! Splitting a file by row groups lets a scan of few large files use every core: a table of
//! two files of five row groups each gives ten units, not two.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use object_store::path::Path;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, RowSelection, RowSelector,
};
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
use strata_format::dv::DeletionVector;
use strata_format::expr::BoundExpr;
use strata_format::schema::{FieldId, StructField};
use strata_format::{AddFile, Schema};

use super::footer_cache::{FooterCache, FooterKey};
use super::{ScanMetrics, add};
use crate::arrow_schema::{field_id, with_string_views};
use crate::error::{Error, Result};
use crate::scan::parquet_io::{ObjectReader, ReadBuffers};
use crate::scan::read::project_batch;
use crate::scan::stats::row_group_selection;
use crate::storage::resolve::StoreResolver;

/// Rows per batch when the caller sets none: enough for about this many decoded bytes of the
/// projected columns, estimated per file from its column chunk sizes.
const AUTO_BATCH_BYTES: usize = 1 << 20;
/// Bounds of the automatic batch size, in rows. 8,192 (the usual engine default) suits wide
/// rows; narrow projections go up to 65,536, which cuts the per-batch costs (hand-offs between
/// threads, array allocations) of a scan of one or two columns by a factor of eight.
const AUTO_BATCH_MIN_ROWS: usize = 8192;
const AUTO_BATCH_MAX_ROWS: usize = 65536;

/// What every task of one scan shares.
pub(super) struct Shared {
    pub(super) resolver: StoreResolver,
    pub(super) table_uri: String,
    /// The table's `tableId`, part of a footer's cache key.
    pub(super) table_id: String,
    /// Parsed footers shared with other scans ([`crate::ScanBuilder::footer_cache`]).
    pub(super) footer_cache: Option<Arc<FooterCache>>,
    pub(super) schema: Schema,
    pub(super) read_fields: Vec<StructField>,
    pub(super) read_arrow: SchemaRef,
    pub(super) output_arrow: SchemaRef,
    pub(super) output_indices: Vec<usize>,
    pub(super) predicate: Option<BoundExpr>,
    /// Rows per batch; `None` picks it per file ([`auto_batch_rows`]).
    pub(super) batch_size: Option<usize>,
    /// Top-level strings and binaries decoded as views ([`crate::ScanBuilder::string_views`]).
    pub(super) string_views: bool,
    pub(super) metrics: Arc<ScanMetrics>,
    /// Buffers for reads of local files, reused across row groups.
    pub(super) read_buffers: Arc<ReadBuffers>,
}

/// A data file whose footer has been read, shared by its units.
struct OpenedFile {
    file: Arc<AddFile>,
    store: Arc<dyn ObjectStore>,
    path: Path,
    local: Option<Arc<ReadBuffers>>,
    /// The end of the object fetched with the footer (see [`ObjectReader::tail`]).
    tail: Option<(u64, bytes::Bytes)>,
    reader_metadata: ArrowReaderMetadata,
    mask: ProjectionMask,
    batch_size: usize,
}

/// A run of consecutive selected row groups of one file, decoded by one task.
pub(super) struct Unit {
    file: Arc<OpenedFile>,
    groups: Vec<usize>,
    /// The page-index selection over exactly the rows of `groups`.
    selection: Option<RowSelection>,
}

pub(super) fn parquet_err(shared: &Shared, path: &str, e: parquet::errors::ParquetError) -> Error {
    Error::Parquet {
        table: shared.table_uri.clone(),
        path: path.to_string(),
        source: Box::new(e),
    }
}

/// A read the store refused because the object is archived (S3 `InvalidObjectState`: the log
/// said it was readable, but its class or restore is not what the log records) is reported as
/// archived (SPEC §6.4), not as a broken file.
fn archived_or_parquet_err(
    shared: &Shared,
    file: &AddFile,
    path: &str,
    e: parquet::errors::ParquetError,
) -> Error {
    if format!("{e:?}").contains("InvalidObjectState") {
        return Error::ArchivedFiles {
            table: shared.table_uri.clone(),
            files: vec![format!(
                "{} ({path}, recorded as {}; the store refuses to read it: InvalidObjectState)",
                file.path,
                file.storage_class.as_deref().unwrap_or("STANDARD")
            )],
        };
    }
    parquet_err(shared, path, e)
}

/// A data file's footer and what reading it needs.
pub(super) struct Footer {
    pub(super) store: Arc<dyn ObjectStore>,
    pub(super) path: Path,
    pub(super) local: Option<Arc<ReadBuffers>>,
    /// The end of the object fetched with the footer (see [`ObjectReader::tail`]).
    pub(super) tail: Option<(u64, bytes::Bytes)>,
    pub(super) reader_metadata: ArrowReaderMetadata,
    /// The scan's read columns in this file.
    pub(super) mask: ProjectionMask,
}

/// Reads the footer of `file` (with its page index if asked and present).
pub(super) async fn read_footer(
    shared: &Shared,
    file: &AddFile,
    page_index: bool,
) -> Result<Footer> {
    let (identity, store, path) = shared
        .resolver
        .resolve_with_identity(&file.path, file.location.as_deref())?;
    let local = shared
        .resolver
        .is_local(file.location.as_deref())
        .then(|| shared.read_buffers.clone());
    let key = shared
        .footer_cache
        .as_ref()
        .map(|_| footer_key(shared, file, identity, &path));
    let cached = shared
        .footer_cache
        .as_ref()
        .zip(key.as_ref())
        .and_then(|(cache, key)| cache.get(key, page_index));
    let (reader_metadata, tail) = match cached {
        Some(m) => (m, None),
        None => {
            // Bytes scanned = bytes actually requested: footer, page index and the selected
            // pages.
            let mut reader = ObjectReader::new(store.clone(), path.clone(), file.size)
                .local(local.clone())
                .counting(shared.metrics.bytes_scanned_counter.clone());
            let options = ArrowReaderOptions::new().with_page_index_policy(if page_index {
                PageIndexPolicy::Optional
            } else {
                PageIndexPolicy::Skip
            });
            let m = ArrowReaderMetadata::load_async(&mut reader, options)
                .await
                .map_err(|e| archived_or_parquet_err(shared, file, path.as_ref(), e))?;
            if let (Some(cache), Some(key)) = (&shared.footer_cache, key) {
                cache.insert(key, m.clone(), page_index);
            }
            (m, reader.tail())
        }
    };
    let file_arrow = reader_metadata.schema();
    let parquet_schema = reader_metadata.metadata().file_metadata().schema_descr();
    let read_ids: BTreeSet<FieldId> = shared.read_fields.iter().map(|f| f.id).collect();
    let roots: Vec<usize> = file_arrow
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| field_id(f).is_some_and(|id| read_ids.contains(&id)))
        .map(|(i, _)| i)
        .collect();
    let mask = ProjectionMask::roots(parquet_schema, roots.iter().copied());
    Ok(Footer {
        store,
        path,
        local,
        tail,
        reader_metadata,
        mask,
    })
}

/// The cache key of `file`'s object, in the store of `identity` under `key`: two locations
/// naming the same object get the same key.
fn footer_key(shared: &Shared, file: &AddFile, identity: String, key: &Path) -> FooterKey {
    FooterKey {
        table_id: shared.table_id.clone(),
        store: if identity.is_empty() {
            shared.table_uri.clone()
        } else {
            identity
        },
        key: key.to_string(),
        size: file.size,
    }
}

/// Reads one file's footer, prunes its row groups and pages, and splits the rest into units
/// of at least `unit_rows` rows each (a row group is never split).
pub(super) async fn open_file(
    shared: Arc<Shared>,
    file: Arc<AddFile>,
    unit_rows: usize,
) -> Result<Vec<Unit>> {
    let page_index = shared.predicate.is_some();
    let (footer, deleted) = futures::try_join!(
        read_footer(&shared, &file, page_index),
        super::vectors::read_vector(&shared.resolver, &shared.table_uri, &file),
    )?;
    let Footer {
        store,
        path,
        local,
        tail,
        reader_metadata,
        mask,
    } = footer;
    let file_arrow = reader_metadata.schema().clone();
    let metadata = reader_metadata.metadata().clone();
    let parquet_schema = metadata.file_metadata().schema_descr();
    let num_groups = metadata.num_row_groups();
    add(&shared.metrics.row_groups_total, num_groups as u64);
    let (groups, selection) = match &shared.predicate {
        Some(p) => row_group_selection(p, &shared.schema, &file_arrow, parquet_schema, &metadata),
        None => ((0..num_groups).collect(), None),
    };
    add(
        &shared.metrics.row_groups_pruned,
        (num_groups - groups.len()) as u64,
    );
    let mut selection = selection.map(|(sel, skipped)| {
        add(&shared.metrics.pages_pruned_rows, skipped);
        sel
    });
    // SPEC §7.3: rows of the file's deletion vector are never returned; they are skipped by
    // the reader like pruned pages.
    if let Some(deleted) = deleted {
        let live = deletion_selection(&deleted, &metadata, &groups);
        add(
            &shared.metrics.rows_deleted_by_vectors,
            live.skipped_row_count() as u64,
        );
        selection = Some(match selection {
            Some(pages) => pages.intersection(&live),
            None => live,
        });
    }
    // Pruning above reads the statistics in the file's own types; decoding may use views.
    let reader_metadata = if shared.string_views {
        let views = with_string_views(&file_arrow);
        ArrowReaderMetadata::try_new(
            metadata.clone(),
            ArrowReaderOptions::new().with_schema(views),
        )
        .map_err(|e| parquet_err(&shared, path.as_ref(), e))?
    } else {
        reader_metadata
    };
    let batch_size = shared
        .batch_size
        .unwrap_or_else(|| auto_batch_rows(&metadata, &groups, &mask));
    let opened = Arc::new(OpenedFile {
        file,
        store,
        path,
        local,
        tail,
        reader_metadata,
        mask,
        batch_size,
    });
    let sized: Vec<(usize, usize)> = groups
        .iter()
        .map(|&g| {
            let rows = usize::try_from(metadata.row_group(g).num_rows()).unwrap_or(0);
            (g, rows)
        })
        .collect();
    Ok(split_units(&sized, unit_rows, selection)
        .into_iter()
        .map(|(groups, selection)| Unit {
            file: opened.clone(),
            groups,
            selection,
        })
        .collect())
}

/// The selection over the rows of `groups` (in order) that skips the deleted positions.
pub(super) fn deletion_selection(
    deleted: &DeletionVector,
    metadata: &ParquetMetaData,
    groups: &[usize],
) -> RowSelection {
    let starts = group_starts(metadata);
    let mut positions = deleted.iter().peekable();
    let mut selectors = Vec::new();
    for &g in groups {
        let start = starts[g];
        let end = starts[g + 1];
        let mut at = start;
        while let Some(&p) = positions.peek() {
            if p >= end {
                break;
            }
            positions.next();
            if p < start {
                continue;
            }
            if p > at {
                selectors.push(RowSelector::select(usize::try_from(p - at).unwrap_or(0)));
            }
            selectors.push(RowSelector::skip(1));
            at = p + 1;
        }
        if at < end {
            selectors.push(RowSelector::select(usize::try_from(end - at).unwrap_or(0)));
        }
    }
    RowSelection::from(selectors)
}

/// The position of the first row of each row group, and the file's row count last.
pub(super) fn group_starts(metadata: &ParquetMetaData) -> Vec<u64> {
    let mut starts = Vec::with_capacity(metadata.num_row_groups() + 1);
    let mut at = 0u64;
    for rg in metadata.row_groups() {
        starts.push(at);
        at += u64::try_from(rg.num_rows()).unwrap_or(0);
    }
    starts.push(at);
    starts
}

/// Splits row groups `(index, rows)` into runs of consecutive groups of at least `unit_rows`
/// rows (the last run may be smaller), giving each run its part of `selection`, a selection
/// over the rows of all the groups in order.
fn split_units(
    groups: &[(usize, usize)],
    unit_rows: usize,
    mut selection: Option<RowSelection>,
) -> Vec<(Vec<usize>, Option<RowSelection>)> {
    let mut units = Vec::new();
    let mut current = Vec::new();
    let mut rows = 0usize;
    for (i, &(g, n)) in groups.iter().enumerate() {
        current.push(g);
        rows += n;
        if rows >= unit_rows || i + 1 == groups.len() {
            let part = selection.as_mut().map(|s| s.split_off(rows));
            units.push((std::mem::take(&mut current), part));
            rows = 0;
        }
    }
    units
}

/// Rows per batch for `AUTO_BATCH_BYTES` of the projected columns, from the uncompressed sizes
/// of their column chunks in the row groups read.
fn auto_batch_rows(metadata: &ParquetMetaData, groups: &[usize], mask: &ProjectionMask) -> usize {
    let mut bytes = 0u64;
    let mut rows = 0u64;
    for &g in groups {
        let rg = metadata.row_group(g);
        rows += u64::try_from(rg.num_rows()).unwrap_or(0);
        bytes += rg
            .columns()
            .iter()
            .enumerate()
            .filter(|(i, _)| mask.leaf_included(*i))
            .map(|(_, c)| u64::try_from(c.uncompressed_size()).unwrap_or(0))
            .sum::<u64>();
    }
    if rows == 0 || bytes == 0 {
        return AUTO_BATCH_MIN_ROWS;
    }
    let per_row = bytes.div_ceil(rows).max(1);
    usize::try_from(AUTO_BATCH_BYTES as u64 / per_row)
        .unwrap_or(AUTO_BATCH_MAX_ROWS)
        .clamp(AUTO_BATCH_MIN_ROWS, AUTO_BATCH_MAX_ROWS)
}

/// Decodes one unit: its matching rows in the scan's output schema.
pub(super) fn decode_unit(
    shared: Arc<Shared>,
    unit: Unit,
) -> Result<BoxStream<'static, Result<RecordBatch>>> {
    let f = &unit.file;
    let reader = ObjectReader::new(f.store.clone(), f.path.clone(), f.file.size)
        .local(f.local.clone())
        .with_tail(f.tail.clone())
        .counting(shared.metrics.bytes_scanned_counter.clone());
    let mut builder =
        ParquetRecordBatchStreamBuilder::new_with_metadata(reader, f.reader_metadata.clone())
            .with_projection(f.mask.clone())
            .with_row_groups(unit.groups)
            .with_batch_size(f.batch_size);
    if let Some(sel) = unit.selection {
        builder = builder.with_row_selection(sel);
    }
    let stream = builder
        .build()
        .map_err(|e| parquet_err(&shared, f.path.as_ref(), e))?;
    let file = f.clone();
    Ok(stream
        .map(move |b| {
            let b =
                b.map_err(|e| archived_or_parquet_err(&shared, &file.file, file.path.as_ref(), e))?;
            add(&shared.metrics.rows_scanned, b.num_rows() as u64);
            let b = project_batch(&b, &shared.read_fields, &shared.read_arrow)?;
            let b = match &shared.predicate {
                Some(p) => crate::expr_eval::filter_batch(p, &b)?,
                None => b,
            };
            let out = b
                .project(&shared.output_indices)
                .and_then(|o| o.with_schema(shared.output_arrow.clone()))
                .map_err(|e| Error::SchemaMismatch {
                    column: String::new(),
                    message: e.to_string(),
                })?;
            add(&shared.metrics.rows_returned, out.num_rows() as u64);
            Ok(out)
        })
        .try_filter(|b| futures::future::ready(b.num_rows() > 0))
        .boxed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Float64Array, StringArray};
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::RowSelector;
    use parquet::file::metadata::ParquetMetaDataReader;

    fn selected_rows(s: &RowSelection) -> usize {
        s.iter().filter(|r| !r.skip).map(|r| r.row_count).sum()
    }

    #[test]
    fn units_group_consecutive_row_groups_until_the_minimum() {
        let groups = [(0, 100), (1, 100), (2, 250), (3, 10), (4, 10)];
        let units = split_units(&groups, 200, None);
        let runs: Vec<Vec<usize>> = units.iter().map(|(g, _)| g.clone()).collect();
        assert_eq!(runs, vec![vec![0, 1], vec![2], vec![3, 4]]);
        assert!(units.iter().all(|(_, s)| s.is_none()));
        // Every row group is its own unit when each reaches the minimum.
        assert_eq!(split_units(&groups, 1, None).len(), groups.len());
        assert!(split_units(&[], 1, None).is_empty());
    }

    #[test]
    fn each_unit_gets_exactly_its_rows_of_the_page_selection() {
        // Groups 0..3 of 100 rows; the selection keeps rows 50..150 and 290..300.
        let selection = RowSelection::from(vec![
            RowSelector::skip(50),
            RowSelector::select(100),
            RowSelector::skip(140),
            RowSelector::select(10),
        ]);
        let groups = [(0, 100), (1, 100), (2, 100)];
        let units = split_units(&groups, 100, Some(selection));
        assert_eq!(units.len(), 3);
        let parts: Vec<RowSelection> = units.into_iter().filter_map(|(_, s)| s).collect();
        assert_eq!(parts.len(), 3);
        for p in &parts {
            assert_eq!(p.row_count() + p.skipped_row_count(), 100, "{p:?}");
        }
        let selected: Vec<usize> = parts.iter().map(selected_rows).collect();
        assert_eq!(selected, vec![50, 50, 10]);
    }

    fn metadata_of(columns: Vec<(&str, ArrayRef)>) -> ParquetMetaData {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        ParquetMetaDataReader::new()
            .parse_and_finish(&bytes::Bytes::from(buf))
            .unwrap()
    }

    #[test]
    fn automatic_batch_size_follows_the_width_of_the_projected_columns() {
        let rows = 20_000;
        let narrow: ArrayRef = Arc::new(Float64Array::from_iter_values(
            (0..rows).map(|i| i as f64 * 1.5),
        ));
        let medium: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..rows).map(|i| format!("{i:040}")),
        ));
        let wide: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..rows).map(|i| format!("{i:0400}")),
        ));
        let md = metadata_of(vec![("narrow", narrow), ("medium", medium), ("wide", wide)]);
        let schema = md.file_metadata().schema_descr();
        let groups: Vec<usize> = (0..md.num_row_groups()).collect();
        let of = |leaves: &[usize]| {
            auto_batch_rows(
                &md,
                &groups,
                &ProjectionMask::leaves(schema, leaves.iter().copied()),
            )
        };
        // 8 bytes a row: capped at the maximum.
        assert_eq!(of(&[0]), AUTO_BATCH_MAX_ROWS);
        // About 44 bytes a row: 1 MiB / 44 rows, between the bounds.
        let medium_rows = of(&[1]);
        assert!(
            medium_rows > AUTO_BATCH_MIN_ROWS && medium_rows < AUTO_BATCH_MAX_ROWS,
            "{medium_rows}"
        );
        // About 400 bytes a row: held at the minimum.
        assert_eq!(of(&[2]), AUTO_BATCH_MIN_ROWS);
        assert_eq!(of(&[0, 2]), AUTO_BATCH_MIN_ROWS);
        // No row groups read: the minimum.
        assert_eq!(
            auto_batch_rows(&md, &[], &ProjectionMask::leaves(schema, [0])),
            AUTO_BATCH_MIN_ROWS
        );
    }
}
