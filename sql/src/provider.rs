//! [`StrataTableProvider`]: a Strata table (one snapshot of it) as a DataFusion table.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{Schema as ArrowSchema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Result, Statistics};
use datafusion::datasource::sink::DataSinkExec;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr as DfExpr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use strata_table::arrow_schema::{to_arrow_schema, with_string_views};
use strata_table::{FooterCache, Snapshot, SnapshotSelector, Table};

use crate::dml::{self, StrataSink};
use crate::error::table_err;
use crate::filters;
use crate::options::StrataOptions;
use crate::scan_exec::{ScanSummary, StrataScanExec};
use crate::stats::statistics;

/// Units of work one query keeps in flight over all its partitions (Strata's memory bound:
/// this many row-group runs being decoded at once, whatever the table size).
pub const SCAN_CONCURRENCY: usize = 8;

/// One snapshot of a Strata table, readable (and, for the latest snapshot, writable) by
/// DataFusion.
///
/// Scans push projections, filters (see [`crate::filters`]) and limits into Strata's scan,
/// which prunes partitions, files, row groups and pages; files are spread over
/// `target_partitions` partitions. Writes (`INSERT`, `DELETE`, `UPDATE`) commit to the table
/// as it is when they run, one commit per statement; a provider reading an older snapshot
/// refuses them.
#[derive(Clone)]
pub struct StrataTableProvider {
    table: Table,
    snapshot: Snapshot,
    time_travel: bool,
    schema: SchemaRef,
}

impl fmt::Debug for StrataTableProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrataTableProvider")
            .field("table", &self.table.uri())
            .field("version", &self.snapshot.version())
            .field("time_travel", &self.time_travel)
            .finish()
    }
}

impl StrataTableProvider {
    /// The snapshot `selector` picks (`Latest` for a writable provider).
    pub async fn try_new(table: Table, selector: &SnapshotSelector) -> strata_table::Result<Self> {
        let snapshot = table.snapshot(selector).await?;
        // Strings as views: decoded without a copy per value, and the form DataFusion's own
        // Parquet reader produces (`schema_force_view_types`), so grouping and joins run on
        // the same kernels as over a listing table.
        let schema = with_string_views(to_arrow_schema(snapshot.schema())?.as_ref());
        Ok(Self {
            time_travel: !matches!(selector, SnapshotSelector::Latest),
            table,
            snapshot,
            schema,
        })
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The snapshot read.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    fn writable(&self, what: &str) -> Result<()> {
        if self.time_travel {
            return Err(DataFusionError::Plan(format!(
                "{what}: `{}` is read at version {} (time travel); writes go to the latest \
                 version: name the table without `@`",
                self.table.uri(),
                self.snapshot.version()
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl TableProvider for StrataTableProvider {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&DfExpr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| filters::pushdown(f, self.snapshot.schema()))
            .collect())
    }

    fn statistics(&self) -> Option<Statistics> {
        let files: Vec<_> = self.snapshot.files().shared_values().cloned().collect();
        Some(statistics(
            &files,
            self.snapshot.schema(),
            &self.schema,
            true,
        ))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[DfExpr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let strata_schema = self.snapshot.schema();
        let output: SchemaRef = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let count_only = output.fields().is_empty();
        let columns: Vec<String> = if count_only {
            // No column is needed, only rows: read the narrowest-looking one.
            self.schema
                .fields()
                .iter()
                .find(|f| f.data_type().is_primitive())
                .or_else(|| self.schema.fields().first())
                .map(|f| vec![f.name().clone()])
                .unwrap_or_default()
        } else {
            output.fields().iter().map(|f| f.name().clone()).collect()
        };
        let pushed = filters::conjunction(filters, strata_schema);
        let exact = filters
            .iter()
            .all(|f| filters::to_strata(f, strata_schema).is_some());
        let mut builder = self
            .table
            .scan()
            .at(self.snapshot.clone())
            .columns(columns)
            .concurrency(
                StrataOptions::scan_concurrency(state.config_options()).unwrap_or(SCAN_CONCURRENCY),
            )
            .string_views(true);
        if StrataOptions::footer_cache(state.config_options())
            && let Some(cache) = state.config().get_extension::<FooterCache>()
        {
            builder = builder.footer_cache(cache);
        }
        if let Some(rows) = StrataOptions::scan_batch_rows(state.config_options()) {
            builder = builder.batch_size(rows);
        }
        if let Some(p) = &pushed {
            builder = builder.filter(p.clone());
        }
        let limit = limit.filter(|_| exact).map(|l| l as u64);
        if let Some(l) = limit {
            builder = builder.limit(l);
        }
        let scan = builder.plan().await.map_err(table_err)?;
        let whole = pushed.is_none() && limit.is_none();
        let stats = statistics(scan.files(), strata_schema, &output, whole);
        let summary = ScanSummary {
            table: self.table.uri().to_string(),
            version: self.snapshot.version(),
            filter: pushed.as_ref().map(ToString::to_string),
            limit,
            report: scan.metrics().report(),
        };
        let parts = scan.split(state.config().target_partitions());
        let schema = if count_only {
            Arc::new(ArrowSchema::empty())
        } else {
            output
        };
        Ok(Arc::new(StrataScanExec::new(
            parts, count_only, schema, stats, summary,
        )))
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.writable("INSERT")?;
        let sink = StrataSink::new(self.table.clone(), self.schema.clone(), insert_op);
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }

    async fn delete_from(
        &self,
        state: &dyn Session,
        filters: Vec<DfExpr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.writable("DELETE")?;
        dml::delete(
            &self.table,
            state,
            &self.schema,
            self.snapshot.schema(),
            filters,
        )
    }

    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, DfExpr)>,
        filters: Vec<DfExpr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.writable("UPDATE")?;
        dml::update(
            &self.table,
            state,
            &self.schema,
            self.snapshot.schema(),
            assignments,
            filters,
        )
    }
}
