//! [`SqlSession`]: a DataFusion session where every Strata table can be named.
//!
//! * By path or URI, without registration: `SELECT * FROM "./events"`,
//!   `SELECT * FROM 's3://bucket/events@3'` (see [`crate::names`]).
//! * With a [`Catalog`], as `namespace.table`: every namespace is a schema of the default
//!   catalog and every table of it is listed (`SHOW TABLES`, `information_schema`).
//! * Plain files by path as DataFusion reads them (`SELECT * FROM 'data.csv'`), and
//!   DataFusion's `CREATE EXTERNAL TABLE`.
//!
//! `CREATE TABLE name [PARTITION BY (transforms)] [AS SELECT …]` creates a Strata table (at the
//! path, or in the catalog namespace) and writes the query's rows as its first append.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use async_trait::async_trait;
use datafusion::catalog::{DynamicFileCatalog, SchemaProvider, TableProvider, UrlTableFactory};
use datafusion::common::TableReference;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::dynamic_file::DynamicListTableFactory;
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::logical_expr::{CreateMemoryTable, DdlStatement, LogicalPlan};
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion_session::SessionStore;
use futures::TryStreamExt;
use strata_format::PartitionSpec;
use strata_format::compact::parse_partition_spec;
use strata_format::partition::FIRST_PARTITION_FIELD_ID;
use strata_table::{
    CreateTable, DEFAULT_FOOTER_CACHE_BYTES, FooterCache, SnapshotSelector, Table, WriteOptions,
    schema_from_arrow,
};

use crate::dml::count_schema;
use crate::error::{Result, SqlError, table_err};
use crate::metadata::metadata_table;
use crate::names::TableRef;
use crate::provider::StrataTableProvider;

/// Tables named `namespace.table`, with commits arbitrated by the catalog.
#[async_trait]
pub trait Catalog: fmt::Debug + Send + Sync {
    /// Every namespace.
    async fn namespaces(&self) -> Result<Vec<String>>;
    /// The tables of `namespace`.
    async fn tables(&self, namespace: &str) -> Result<Vec<String>>;
    /// Opens a table; `None` when there is no such table.
    async fn open(&self, namespace: &str, table: &str) -> Result<Option<Table>>;
    /// Creates a table.
    async fn create(&self, namespace: &str, table: &str, create: CreateTable) -> Result<Table>;
}

/// Options of a [`SqlSession`].
#[derive(Debug, Clone, Default)]
pub struct SqlOptions {
    /// Tables by `namespace.table`.
    pub catalog: Option<Arc<dyn Catalog>>,
    /// Partitions of a scan (default: the number of CPUs).
    pub target_partitions: Option<usize>,
    /// Bytes of parsed Parquet footers the session keeps across queries (default
    /// [`DEFAULT_FOOTER_CACHE_BYTES`]; `Some(0)` keeps none). `SET strata.footer_cache =
    /// false` stops scans from using it.
    pub footer_cache_bytes: Option<usize>,
}

/// A DataFusion session over Strata tables.
pub struct SqlSession {
    ctx: SessionContext,
    catalog: Option<Arc<dyn Catalog>>,
}

impl fmt::Debug for SqlSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSession")
            .field("session_id", &self.ctx.session_id())
            .field("catalog", &self.catalog)
            .finish()
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl SqlSession {
    /// A session with `options`; a catalog's namespaces and tables are listed now.
    pub async fn new(options: SqlOptions) -> Result<Self> {
        let mut config = SessionConfig::new()
            .with_information_schema(true)
            .with_option_extension(crate::options::StrataOptions::default())
            .with_extension(Arc::new(FooterCache::new(
                options
                    .footer_cache_bytes
                    .unwrap_or(DEFAULT_FOOTER_CACHE_BYTES),
            )));
        if let Some(n) = options.target_partitions {
            config = config.with_target_partitions(n.max(1));
        }
        let ctx = SessionContext::new_with_config(config);
        if let Some(catalog) = &options.catalog {
            let default = ctx
                .catalog("datafusion")
                .ok_or_else(|| SqlError::Unsupported("no default catalog".into()))?;
            for ns in catalog.namespaces().await? {
                let tables = catalog.tables(&ns).await?;
                default.register_schema(
                    &ns,
                    Arc::new(NamespaceSchema {
                        catalog: catalog.clone(),
                        namespace: ns.clone(),
                        tables: tables.into_iter().collect(),
                    }),
                )?;
            }
        }
        let listing = Arc::new(DynamicListTableFactory::new(SessionStore::new()));
        let factory = Arc::new(StrataUrlFactory {
            listing: listing.clone(),
        });
        let list = Arc::new(DynamicFileCatalog::new(
            ctx.state().catalog_list().clone(),
            factory,
        ));
        let ctx: SessionContext = ctx
            .into_state_builder()
            .with_catalog_list(list)
            .build()
            .into();
        listing.session_store().with_state(ctx.state_weak_ref());
        Ok(Self {
            ctx,
            catalog: options.catalog,
        })
    }

    /// The footer cache the session's scans share.
    pub fn footer_cache(&self) -> Option<Arc<FooterCache>> {
        self.ctx.state().config().get_extension::<FooterCache>()
    }

    /// The DataFusion context (to register functions, tables, object stores).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Splits `text` into statements (DataFusion's SQL dialect).
    pub fn parse(&self, text: &str) -> Result<Vec<Statement>> {
        Ok(DFParser::parse_sql_with_dialect(text, &GenericDialect {})?.into())
    }

    /// Runs every statement of `text` and returns the result of each.
    pub async fn sql(&self, text: &str) -> Result<Vec<DataFrame>> {
        let mut out = Vec::new();
        for s in self.parse(text)? {
            out.push(self.execute(s).await?);
        }
        Ok(out)
    }

    /// Runs one statement and collects its rows.
    pub async fn query(&self, text: &str) -> Result<Vec<RecordBatch>> {
        let mut frames = self.sql(text).await?;
        let last = frames
            .pop()
            .ok_or_else(|| SqlError::Unsupported("no statement".into()))?;
        Ok(last.collect().await?)
    }

    /// Plans and runs one statement. Writes happen here (a DataFrame of a write holds its
    /// `count`); queries run when the DataFrame is collected or streamed.
    pub async fn execute(&self, statement: Statement) -> Result<DataFrame> {
        let mut statement = statement;
        let partition_by = take_partition_by(&mut statement);
        let state = self.ctx.state();
        let plan = state.statement_to_plan(statement).await?;
        match plan {
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(create)) => {
                self.create_table(create, partition_by.as_deref()).await
            }
            _ if partition_by.is_some() => Err(SqlError::Unsupported(
                "PARTITION BY belongs to CREATE TABLE".into(),
            )),
            LogicalPlan::Dml(_) => {
                // Run writes now, so a script's next statement sees them.
                let df = self.ctx.execute_logical_plan(plan).await?;
                let batches = df.collect().await?;
                Ok(self.ctx.read_batches(batches)?)
            }
            other => Ok(self.ctx.execute_logical_plan(other).await?),
        }
    }

    /// `CREATE TABLE … [AS SELECT]` as a new Strata table.
    async fn create_table(
        &self,
        create: CreateMemoryTable,
        partition_by: Option<&str>,
    ) -> Result<DataFrame> {
        let arrow = create.input.schema().as_arrow().clone();
        let schema = schema_from_arrow(&arrow, false)?;
        let spec = match partition_by {
            Some(text) => parse_partition_spec(text, &schema, 0, FIRST_PARTITION_FIELD_ID)
                .map_err(|e| SqlError::Table(e.into()))?,
            None => PartitionSpec::unpartitioned(),
        };
        let existing = self.open_for_create(&create.name).await?;
        let created_here = existing.is_none();
        let table = match existing {
            Some(_) if create.if_not_exists => return self.count_frame(0),
            Some(t) if create.or_replace => t,
            Some(t) => {
                return Err(SqlError::Table(strata_table::Error::TableExists {
                    uri: t.uri().to_string(),
                }));
            }
            None => {
                let c = CreateTable::new(schema).with_partition_spec(spec);
                self.create_at(&create.name, c).await?
            }
        };
        let is_empty =
            matches!(create.input.as_ref(), LogicalPlan::EmptyRelation(e) if !e.produce_one_row);
        if is_empty {
            return self.count_frame(0);
        }
        let df = self
            .ctx
            .execute_logical_plan(create.input.as_ref().clone())
            .await?;
        let stream = df.execute_stream().await?;
        let rows = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = rows.clone();
        let batches = stream.map_err(crate::error::eval_err).inspect_ok(move |b| {
            counter.fetch_add(b.num_rows() as u64, std::sync::atomic::Ordering::Relaxed);
        });
        let mut options = if create.or_replace {
            WriteOptions::overwrite()
        } else {
            WriteOptions::default()
        };
        options.parameters.insert(
            "source".into(),
            serde_json::Value::String("CREATE TABLE AS SELECT".into()),
        );
        if let Err(e) = table.write(batches, options).await {
            // Nothing half-made: a table this statement created goes with its failed load (a
            // catalog table stays registered, empty; DROP it through the catalog).
            if created_here && !self.is_catalog_name(&create.name) {
                let _ = table.discard_new().await;
            }
            return Err(table_err(e).into());
        }
        self.count_frame(rows.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn count_frame(&self, n: u64) -> Result<DataFrame> {
        let count: ArrayRef = Arc::new(UInt64Array::from(vec![n]));
        let batch =
            RecordBatch::try_new(count_schema(), vec![count]).map_err(DataFusionError::from)?;
        Ok(self.ctx.read_batch(batch)?)
    }

    /// The table `name` names, if it exists.
    async fn open_for_create(&self, name: &TableReference) -> Result<Option<Table>> {
        match (&self.catalog, name.schema()) {
            (Some(c), Some(ns)) => c.open(ns, name.table()).await,
            _ => match Table::open(name.table()).await {
                Ok(t) => Ok(Some(t)),
                Err(strata_table::Error::TableNotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }

    fn is_catalog_name(&self, name: &TableReference) -> bool {
        self.catalog.is_some() && name.schema().is_some()
    }

    async fn create_at(&self, name: &TableReference, create: CreateTable) -> Result<Table> {
        match (&self.catalog, name.schema()) {
            (Some(c), Some(ns)) => c.create(ns, name.table(), create).await,
            _ => Ok(Table::create(name.table(), create).await?),
        }
    }
}

/// Removes `PARTITION BY (…)` from a `CREATE TABLE` (DataFusion has no use for it) and
/// returns its transforms as text (`day(ts), bucket(16, id)`).
fn take_partition_by(statement: &mut Statement) -> Option<String> {
    let Statement::Statement(s) = statement else {
        return None;
    };
    let SqlStatement::CreateTable(create) = s.as_mut() else {
        return None;
    };
    let expr = create.partition_by.take()?;
    let text = expr.to_string();
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(&text);
    Some(inner.to_string())
}

/// Opens `reference` (`base[$meta][@as_of]`) given the table `base` names.
async fn provider_for(table: Table, reference: &TableRef) -> Result<Arc<dyn TableProvider>> {
    let selector = reference.as_of.clone().unwrap_or(SnapshotSelector::Latest);
    match reference.meta {
        Some(meta) => {
            let snapshot = table.snapshot(&selector).await?;
            metadata_table(&table, &snapshot, meta, now_ms()).await
        }
        None => Ok(Arc::new(
            StrataTableProvider::try_new(table, &selector).await?,
        )),
    }
}

/// Resolves table names that are paths or URIs: Strata tables first, plain files otherwise.
#[derive(Debug)]
struct StrataUrlFactory {
    listing: Arc<DynamicListTableFactory>,
}

#[async_trait]
impl UrlTableFactory for StrataUrlFactory {
    async fn try_new(
        &self,
        url: &str,
    ) -> datafusion::common::Result<Option<Arc<dyn TableProvider>>> {
        let reference = TableRef::parse(url, now_ms())?;
        let has_suffix = reference.meta.is_some() || reference.as_of.is_some();
        match Table::open(&reference.base).await {
            Ok(table) => Ok(Some(provider_for(table, &reference).await?)),
            Err(e) => {
                if !has_suffix && let Ok(Some(files)) = self.listing.try_new(url).await {
                    return Ok(Some(files));
                }
                // A missing table is DataFusion's "table not found" (and lets CREATE TABLE
                // plan); any other failure to open one is the engine's error.
                let missing = matches!(e, strata_table::Error::TableNotFound { .. });
                if has_suffix || (!missing && looks_like_table(&reference.base)) {
                    Err(table_err(e))
                } else {
                    Ok(None)
                }
            }
        }
    }
}

/// Whether a name that opened no table was meant as one: a URI, or a local folder.
fn looks_like_table(base: &str) -> bool {
    base.contains("://") || std::path::Path::new(base).is_dir()
}

/// A catalog namespace as a DataFusion schema.
#[derive(Debug)]
struct NamespaceSchema {
    catalog: Arc<dyn Catalog>,
    namespace: String,
    tables: BTreeSet<String>,
}

#[async_trait]
impl SchemaProvider for NamespaceSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables.iter().cloned().collect()
    }

    async fn table(
        &self,
        name: &str,
    ) -> datafusion::common::Result<Option<Arc<dyn TableProvider>>> {
        let reference = TableRef::parse(name, now_ms())?;
        match self.catalog.open(&self.namespace, &reference.base).await? {
            Some(table) => Ok(Some(provider_for(table, &reference).await?)),
            None => Ok(None),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        TableRef::parse(name, now_ms()).is_ok_and(|r| self.tables.contains(&r.base))
    }
}
