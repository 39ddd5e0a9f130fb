//! SQL writes: `INSERT` through a DataFusion sink, `DELETE` and `UPDATE` as copy-on-write row
//! rewrites. Each statement is one atomic commit; the plan returns DataFusion's usual single
//! `count` row.

use std::fmt;
use std::sync::Arc;

use crate::options::StrataOptions;
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType as ArrowType, Field, Schema as ArrowSchema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, Result};
use datafusion::datasource::sink::DataSink;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::expr_rewriter::unnormalize_col;
use datafusion::logical_expr::{Expr as DfExpr, ExprSchemable, cast};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use strata_table::{RowMapper, RowMatcher, RowRewrite, Table, WriteMode, WriteOptions};

use crate::error::{eval_err, table_err};
use crate::filters;

/// The schema of DataFusion's DML result: one non-null `count` column.
pub(crate) fn count_schema() -> SchemaRef {
    Arc::new(ArrowSchema::new(vec![Field::new(
        "count",
        ArrowType::UInt64,
        false,
    )]))
}

/// Writes the rows of an `INSERT` as one append (or overwrite) commit.
pub(crate) struct StrataSink {
    table: Table,
    schema: SchemaRef,
    op: InsertOp,
}

impl StrataSink {
    pub(crate) fn new(table: Table, schema: SchemaRef, op: InsertOp) -> Self {
        Self { table, schema, op }
    }
}

impl fmt::Debug for StrataSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrataSink")
            .field("table", &self.table.uri())
            .field("op", &self.op)
            .finish()
    }
}

impl DisplayAs for StrataSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "StrataSink: table={}, op={}", self.table.uri(), self.op)
    }
}

#[async_trait::async_trait]
impl DataSink for StrataSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        data: SendableRecordBatchStream,
        context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let mode = match self.op {
            InsertOp::Append => WriteMode::Append,
            InsertOp::Overwrite => WriteMode::Overwrite,
            InsertOp::Replace => {
                return Err(DataFusionError::NotImplemented(
                    "REPLACE INTO: Strata tables have no primary key; use INSERT OVERWRITE, or \
                     DELETE then INSERT"
                        .into(),
                ));
            }
        };
        let rows = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = rows.clone();
        let batches = data.map_err(eval_err).inspect_ok(move |b| {
            counter.fetch_add(b.num_rows() as u64, std::sync::atomic::Ordering::Relaxed);
        });
        let mut options = WriteOptions {
            mode,
            app_transaction: StrataOptions::app_transaction(context.session_config().options()),
            ..WriteOptions::default()
        };
        options
            .parameters
            .insert("source".into(), serde_json::Value::String("sql".into()));
        self.table
            .write(batches, options)
            .await
            .map_err(table_err)?;
        Ok(rows.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// A leaf plan that runs one write when executed and returns its row count.
pub(crate) struct CommitExec {
    label: String,
    run: Arc<dyn Fn() -> BoxFuture<'static, Result<u64>> + Send + Sync>,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for CommitExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommitExec")
            .field("label", &self.label)
            .finish()
    }
}

impl CommitExec {
    pub(crate) fn new(
        label: String,
        run: Arc<dyn Fn() -> BoxFuture<'static, Result<u64>> + Send + Sync>,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(count_schema()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Self {
            label,
            run,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for CommitExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "StrataCommitExec: {}", self.label)
    }
}

impl ExecutionPlan for CommitExec {
    fn name(&self) -> &'static str {
        "StrataCommitExec"
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
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let run = (self.run)();
        let stream = futures::stream::once(async move {
            let n = run.await?;
            let count: ArrayRef = Arc::new(UInt64Array::from(vec![n]));
            Ok(RecordBatch::try_new(count_schema(), vec![count])?)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            count_schema(),
            stream.boxed(),
        )))
    }
}

/// The physical form of `exprs` over batches of `schema` (qualifiers dropped).
fn physical(
    state: &dyn Session,
    exprs: &[DfExpr],
    schema: &SchemaRef,
) -> Result<Vec<Arc<dyn PhysicalExpr>>> {
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    exprs
        .iter()
        .map(|e| state.create_physical_expr(unnormalize_col(e.clone()), &df_schema))
        .collect()
}

/// `batch`, read in the table's Arrow schema, in the provider's `schema`: the same columns with
/// strings as views (the cast shares the value buffers).
fn in_provider_schema(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> strata_table::Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                arrow::compute::cast(c, f.data_type()).map_err(eval_err)
            }
        })
        .collect::<strata_table::Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(eval_err)
}

/// A row matcher evaluating the conjunction of `filters` with DataFusion (all rows when empty).
fn matcher(state: &dyn Session, filters: &[DfExpr], schema: &SchemaRef) -> Result<RowMatcher> {
    let exprs = physical(state, filters, schema)?;
    let schema = schema.clone();
    Ok(Arc::new(move |batch: &RecordBatch| {
        let batch = &in_provider_schema(batch, &schema)?;
        let mut mask = BooleanArray::from(vec![true; batch.num_rows()]);
        for e in &exprs {
            let value = e
                .evaluate(batch)
                .and_then(|v| v.into_array(batch.num_rows()))
                .map_err(eval_err)?;
            let Some(b) = value.as_boolean_opt() else {
                return Err(eval_err(format!(
                    "the WHERE clause is {} instead of boolean",
                    value.data_type()
                )));
            };
            mask = arrow::compute::and_kleene(&mask, b).map_err(eval_err)?;
        }
        Ok(mask)
    }))
}

/// A description of the filters for the commit's `predicate` parameter.
fn describe(filters: &[DfExpr]) -> String {
    filters
        .iter()
        .map(|f| unnormalize_col(f.clone()).to_string())
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The plan of `DELETE FROM table WHERE filters`.
pub(crate) fn delete(
    table: &Table,
    state: &dyn Session,
    schema: &SchemaRef,
    strata_schema: &strata_format::Schema,
    filters: Vec<DfExpr>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let mut rewrite =
        RowRewrite::delete(matcher(state, &filters, schema)?).describe(describe(&filters));
    if let Some((app, batch)) = StrataOptions::app_transaction(state.config_options()) {
        rewrite = rewrite.app_transaction(app, batch);
    }
    if let Some(p) = filters::conjunction(&filters, strata_schema) {
        rewrite = rewrite.prune(p);
    }
    Ok(Arc::new(rewrite_exec("DELETE", table.clone(), rewrite)))
}

/// The plan of `UPDATE table SET assignments WHERE filters`.
pub(crate) fn update(
    table: &Table,
    state: &dyn Session,
    schema: &SchemaRef,
    strata_schema: &strata_format::Schema,
    assignments: Vec<(String, DfExpr)>,
    filters: Vec<DfExpr>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    let mut columns: Vec<DfExpr> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let assigned = assignments.iter().find(|(name, _)| name == field.name());
        let expr = match assigned {
            Some((_, e)) => {
                let e = unnormalize_col(e.clone());
                if e.get_type(&df_schema)? == *field.data_type() {
                    e
                } else {
                    cast(e, field.data_type().clone())
                }
            }
            None => DfExpr::Column(datafusion::common::Column::new_unqualified(field.name())),
        };
        columns.push(expr);
    }
    for (name, _) in &assignments {
        if schema.field_with_name(name).is_err() {
            return Err(DataFusionError::Plan(format!("UPDATE: no column `{name}`")));
        }
    }
    let exprs = physical(state, &columns, schema)?;
    let out = schema.clone();
    let mapper: RowMapper = Arc::new(move |batch: &RecordBatch| {
        let batch = &in_provider_schema(batch, &out)?;
        let arrays = exprs
            .iter()
            .map(|e| {
                e.evaluate(batch)
                    .and_then(|v| v.into_array(batch.num_rows()))
                    .map_err(eval_err)
            })
            .collect::<strata_table::Result<Vec<ArrayRef>>>()?;
        RecordBatch::try_new(out.clone(), arrays).map_err(eval_err)
    });
    let set: Vec<String> = assignments
        .iter()
        .map(|(n, e)| format!("{n} = {e}"))
        .collect();
    let mut rewrite = RowRewrite::update(matcher(state, &filters, schema)?, mapper).describe(
        if filters.is_empty() {
            format!("SET {}", set.join(", "))
        } else {
            format!("SET {} WHERE {}", set.join(", "), describe(&filters))
        },
    );
    if let Some(p) = filters::conjunction(&filters, strata_schema) {
        rewrite = rewrite.prune(p);
    }
    if let Some((app, batch)) = StrataOptions::app_transaction(state.config_options()) {
        rewrite = rewrite.app_transaction(app, batch);
    }
    Ok(Arc::new(rewrite_exec("UPDATE", table.clone(), rewrite)))
}

fn rewrite_exec(label: &str, table: Table, rewrite: RowRewrite) -> CommitExec {
    let label = format!("{label} {}", table.uri());
    CommitExec::new(
        label,
        Arc::new(move || {
            let (table, rewrite) = (table.clone(), rewrite.clone());
            Box::pin(async move {
                let r = table.rewrite_rows(rewrite).await.map_err(table_err)?;
                Ok(r.matched_rows)
            })
        }),
    )
}
