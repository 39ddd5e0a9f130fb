//! The physical scan: Strata's pruned, bounded-memory scan split into DataFusion partitions.

use std::fmt;
use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchOptions};
use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, Statistics};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::StreamExt;
use strata_table::{Scan, ScanReport};

use crate::error::table_err;

/// What the plan shows of a scan (in `EXPLAIN`).
#[derive(Debug, Clone)]
pub(crate) struct ScanSummary {
    pub table: String,
    pub version: u64,
    pub filter: Option<String>,
    pub limit: Option<u64>,
    pub report: ScanReport,
}

/// Reads a Strata scan, one DataFusion partition per part of [`Scan::split`].
pub struct StrataScanExec {
    parts: Vec<Scan>,
    /// Batches are cut to no columns (for `count(*)`): the scan reads one column for the rows.
    count_only: bool,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    statistics: Arc<Statistics>,
    summary: ScanSummary,
}

impl fmt::Debug for StrataScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrataScanExec")
            .field("table", &self.summary.table)
            .field("version", &self.summary.version)
            .field("partitions", &self.parts.len())
            .finish()
    }
}

impl StrataScanExec {
    pub(crate) fn new(
        parts: Vec<Scan>,
        count_only: bool,
        schema: SchemaRef,
        statistics: Statistics,
        summary: ScanSummary,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(parts.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            parts,
            count_only,
            schema,
            properties: Arc::new(properties),
            statistics: Arc::new(statistics),
            summary,
        }
    }
}

impl DisplayAs for StrataScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let s = &self.summary;
        let r = &s.report;
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(
                    f,
                    "StrataScanExec: table={}, version={}, partitions={}, files={}/{} \
                     (pruned: {} by partition, {} by stats)",
                    s.table,
                    s.version,
                    self.parts.len(),
                    r.files_total - r.files_pruned_by_partition - r.files_pruned_by_stats,
                    r.files_total,
                    r.files_pruned_by_partition,
                    r.files_pruned_by_stats,
                )?;
                if let Some(filter) = &s.filter {
                    write!(f, ", filter=[{filter}]")?;
                }
                if let Some(limit) = s.limit {
                    write!(f, ", limit={limit}")?;
                }
                Ok(())
            }
            DisplayFormatType::TreeRender => {
                writeln!(f, "table={}", s.table)?;
                writeln!(f, "version={}", s.version)?;
                write!(
                    f,
                    "files={}/{}",
                    r.files_total - r.files_pruned_by_partition - r.files_pruned_by_stats,
                    r.files_total
                )
            }
        }
    }
}

impl ExecutionPlan for StrataScanExec {
    fn name(&self) -> &'static str {
        "StrataScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let schema = self.schema.clone();
        let Some(part) = self.parts.get(partition).cloned() else {
            return Ok(Box::pin(RecordBatchStreamAdapter::new(
                schema,
                futures::stream::empty(),
            )));
        };
        let count_only = self.count_only;
        let out = schema.clone();
        let stream = part.stream().map(move |b| {
            let b = b.map_err(table_err)?;
            if count_only {
                let options = RecordBatchOptions::new().with_row_count(Some(b.num_rows()));
                Ok(RecordBatch::try_new_with_options(
                    out.clone(),
                    vec![],
                    &options,
                )?)
            } else {
                Ok(b)
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }

    fn partition_statistics(&self, partition: Option<usize>) -> Result<Arc<Statistics>> {
        match partition {
            None => Ok(self.statistics.clone()),
            Some(_) => Ok(Arc::new(Statistics::new_unknown(&self.schema))),
        }
    }
}
