//! Positions of the rows of a data file that match a scan's predicate: what a delete by
//! deletion vector marks (SPEC §7.1, §7.4).

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::compute::prep_null_mask_filter;
use futures::TryStreamExt;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use strata_format::AddFile;
use strata_format::dv::DeletionVector;

use super::Scan;
use super::units::{group_starts, parquet_err, read_footer};
use crate::error::{Error, Result};
use crate::scan::parquet_io::ObjectReader;
use crate::scan::read::project_batch;
use crate::scan::stats::row_group_selection;

/// Rows decoded at once when looking for matching positions.
const POSITION_BATCH_ROWS: usize = 65_536;

impl Scan {
    /// The deletion vector of `file` (a file of this scan's table), if it has one.
    pub(crate) async fn deletion_vector(&self, file: &AddFile) -> Result<Option<DeletionVector>> {
        super::vectors::read_vector(&self.shared.resolver, &self.shared.table_uri, file).await
    }

    /// The positions (SPEC §7.1) of the rows of `file` that match the scan's predicate,
    /// whether or not its deletion vector already marks them. Row groups the statistics rule
    /// out are not read; only the columns the scan reads are decoded.
    pub(crate) async fn matching_positions(&self, file: &AddFile) -> Result<DeletionVector> {
        let Some(predicate) = self.shared.predicate.clone() else {
            return Err(Error::InvalidOperation {
                table: self.shared.table_uri.clone(),
                message: "matching positions need a predicate".into(),
            });
        };
        let mut out = DeletionVector::new();
        self.visit_rows(file, |batch, at| {
            let mask = crate::expr_eval::evaluate(&predicate, batch)?;
            for i in true_indices(&mask) {
                out.insert(at + i as u64);
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Calls `visit` with every batch of `file` (the scan's read columns: its output columns
    /// and those of its predicate, in table order; deleted rows included, no row filtered) and the position of its first row, in file order. With a
    /// predicate, row groups its statistics rule out are skipped.
    pub(crate) async fn visit_rows(
        &self,
        file: &AddFile,
        mut visit: impl FnMut(&RecordBatch, u64) -> Result<()>,
    ) -> Result<()> {
        let shared = &self.shared;
        let footer = read_footer(shared, file, false).await?;
        let metadata = footer.reader_metadata.metadata().clone();
        let file_arrow = footer.reader_metadata.schema().clone();
        let groups = match &shared.predicate {
            Some(p) => {
                row_group_selection(
                    p,
                    &shared.schema,
                    &file_arrow,
                    metadata.file_metadata().schema_descr(),
                    &metadata,
                )
                .0
            }
            None => (0..metadata.num_row_groups()).collect(),
        };
        let starts = group_starts(&metadata);
        // One stream per row group: a batch never spans two, so positions stay exact.
        for g in groups {
            let reader = ObjectReader::new(footer.store.clone(), footer.path.clone(), file.size)
                .local(footer.local.clone())
                .counting(shared.metrics.bytes_scanned_counter.clone());
            let mut batches = ParquetRecordBatchStreamBuilder::new_with_metadata(
                reader,
                footer.reader_metadata.clone(),
            )
            .with_projection(footer.mask.clone())
            .with_row_groups(vec![g])
            .with_batch_size(POSITION_BATCH_ROWS)
            .build()
            .map_err(|e| parquet_err(shared, footer.path.as_ref(), e))?;
            let mut at = starts[g];
            while let Some(b) = batches
                .try_next()
                .await
                .map_err(|e| parquet_err(shared, footer.path.as_ref(), e))?
            {
                let rows = b.num_rows() as u64;
                let b = project_batch(&b, &shared.read_fields, &shared.read_arrow)?;
                visit(&b, at)?;
                at += rows;
            }
        }
        Ok(())
    }
}

/// Indices of the rows a mask selects; NULL (unknown) selects nothing.
pub(crate) fn true_indices(mask: &BooleanArray) -> Vec<usize> {
    let mask = if mask.nulls().is_some() {
        prep_null_mask_filter(mask)
    } else {
        mask.clone()
    };
    mask.values().set_indices().collect()
}
