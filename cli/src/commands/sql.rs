//! `strata sql`: SQL over Strata tables (DataFusion), a query, a script or an interactive shell.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use futures::TryStreamExt;
use strata_catalog::model::CreateTableRequest;
use strata_catalog::{Client, TableRef};
use strata_sql::{Catalog, SqlError, SqlOptions, SqlSession, find_table_error};
use strata_table::{CreateTable, Table};

use super::catalog::{catalog_token, catalog_url, cerr, open_committing_through};
use super::data::write_rows;
use crate::args::OutputFormat;
use crate::error::{CliError, CliResult};

/// Arguments of `strata sql`.
#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// Statements to run (`;`-separated). Without them (and without --file), an interactive
    /// shell starts.
    pub query: Option<String>,
    /// Run the statements of a file.
    #[arg(long, short = 'f', conflicts_with = "query")]
    pub file: Option<PathBuf>,
    /// Print the time each statement took (to stderr).
    #[arg(long)]
    pub timing: bool,
    /// On a terminal, print every row of a result (by default a screenful: the first and last
    /// rows and the total; pipes and files always get every row).
    #[arg(long)]
    pub all: bool,
}

impl From<SqlError> for CliError {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::Table(t) => t.into(),
            SqlError::DataFusion(d) => match find_table_error(&d) {
                // The engine's own error, with its hint, without DataFusion's wrapping.
                Some(t) => CliError::from_table_error(t),
                None => {
                    let message = d.to_string();
                    let missing = message.contains("table '") && message.contains("' not found");
                    let e = CliError::user(message);
                    if missing {
                        e.with_hint(
                            "name a Strata table by its path or URI in double quotes \
                             (\"./events\", \"s3://bucket/events\") or, with --catalog, as \
                             namespace.table",
                        )
                    } else {
                        e
                    }
                }
            },
            other => CliError::user(other.to_string()),
        }
    }
}

/// The catalog (`--catalog`) as SQL schemas: `namespace.table`.
#[derive(Debug)]
struct ServedCatalog {
    client: Client,
}

fn sql_err(e: CliError) -> SqlError {
    SqlError::Unsupported(e.to_string())
}

#[async_trait::async_trait]
impl Catalog for ServedCatalog {
    async fn namespaces(&self) -> strata_sql::Result<Vec<String>> {
        let list = self
            .client
            .list_namespaces()
            .await
            .map_err(|e| sql_err(cerr(e)))?;
        Ok(list.into_iter().map(|n| n.name).collect())
    }

    async fn tables(&self, namespace: &str) -> strata_sql::Result<Vec<String>> {
        let list = self
            .client
            .list_tables(namespace)
            .await
            .map_err(|e| sql_err(cerr(e)))?;
        Ok(list.into_iter().map(|t| t.name).collect())
    }

    async fn open(&self, namespace: &str, table: &str) -> strata_sql::Result<Option<Table>> {
        let t = TableRef {
            namespace: namespace.to_string(),
            table: table.to_string(),
        };
        match self.client.load_table(&t).await {
            Ok(info) => open_committing_through(
                self.client.clone(),
                t,
                &info.location,
                std::time::Duration::ZERO,
            )
            .await
            .map(Some)
            .map_err(sql_err),
            Err(strata_catalog::Error::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(sql_err(cerr(e))),
        }
    }

    async fn create(
        &self,
        namespace: &str,
        table: &str,
        create: CreateTable,
    ) -> strata_sql::Result<Table> {
        let to_json = |v: serde_json::Result<serde_json::Value>| {
            v.map_err(|e| SqlError::Unsupported(e.to_string()))
        };
        let req = CreateTableRequest {
            name: table.to_string(),
            schema: to_json(serde_json::to_value(&create.schema))?,
            partition_spec: Some(to_json(serde_json::to_value(&create.partition_spec))?),
            properties: create.properties.clone(),
            location: None,
        };
        let info = self
            .client
            .create_table(namespace, &req)
            .await
            .map_err(|e| sql_err(cerr(e)))?;
        let t = TableRef {
            namespace: namespace.to_string(),
            table: table.to_string(),
        };
        open_committing_through(
            self.client.clone(),
            t,
            &info.location,
            std::time::Duration::ZERO,
        )
        .await
        .map_err(sql_err)
    }
}

/// A session over paths, and over the catalog's tables when `--catalog` is set.
pub(crate) async fn session() -> CliResult<SqlSession> {
    let catalog: Option<Arc<dyn Catalog>> = match catalog_url() {
        Some(url) => Some(Arc::new(ServedCatalog {
            client: Client::new(&url, catalog_token()?).map_err(cerr)?,
        })),
        None => None,
    };
    Ok(SqlSession::new(SqlOptions {
        catalog,
        ..SqlOptions::default()
    })
    .await?)
}

/// `strata sql`.
pub async fn sql(
    args: SqlArgs,
    format: OutputFormat,
    quiet: bool,
    out: &mut impl Write,
) -> CliResult {
    let text = match (&args.query, &args.file) {
        (Some(q), _) => Some(q.clone()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| CliError::user(format!("cannot read `{}`: {e}", f.display())))?,
        ),
        (None, None) => None,
    };
    let session = session().await?;
    match text {
        Some(text) => run_text(&session, &text, format, quiet, args.timing, out).await,
        None => super::shell::run(session, format, quiet).await,
    }
}

/// Runs every statement of `text`, printing each result.
pub(crate) async fn run_text(
    session: &SqlSession,
    text: &str,
    format: OutputFormat,
    quiet: bool,
    timing: bool,
    out: &mut impl Write,
) -> CliResult {
    for statement in session.parse(text)? {
        let start = Instant::now();
        let progress = crate::style::spinner("running", quiet);
        let df = session.execute(statement).await;
        let df = match df {
            Ok(df) => df,
            Err(e) => {
                progress.finish_and_clear();
                return Err(e.into());
            }
        };
        let schema = Arc::new(df.schema().as_arrow().clone());
        let stream = df.execute_stream().await.map_err(SqlError::from)?;
        let rows = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = rows.clone();
        let bar = progress.clone();
        let mut stream = stream
            .map_err(|e| CliError::from(SqlError::from(e)))
            .inspect_ok(move |b| {
                let n = counter
                    .fetch_add(b.num_rows() as u64, std::sync::atomic::Ordering::Relaxed)
                    + b.num_rows() as u64;
                bar.set_message(format!("{n} rows"));
            });
        let written = write_rows(&mut stream, schema, format, out).await;
        progress.finish_and_clear();
        let n = written?;
        out.flush()?;
        if timing {
            eprintln!(
                "{n} row{} in {:.3} s",
                if n == 1 { "" } else { "s" },
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
