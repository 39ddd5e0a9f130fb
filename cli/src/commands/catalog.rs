//! Catalog commands: `serve`, `namespace ...`, `table ...` (`catalog ...` is in `admin`).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};

use clap::{Args, Subcommand};
use strata_catalog::model::CreateTableRequest;
use strata_catalog::server::{self, ServerOptions};
use strata_catalog::{Catalog, CatalogCommitter, Client, TableRef, open_store};
use strata_format::compact::parse_partition_spec;
use strata_format::partition::FIRST_PARTITION_FIELD_ID;
use strata_format::{PartitionSpec, Schema};

use crate::args::OutputFormat;
use crate::config::ResolvedCatalog;
use crate::error::{CliError, CliResult};
use crate::output::{TextTable, write_json};

/// Default catalog URL.
pub const DEFAULT_CATALOG: &str = "http://127.0.0.1:8181";

/// `strata serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: the host and port of the settings file's catalog
    /// (--catalog NAME or default_catalog), else 127.0.0.1:8181].
    #[arg(long)]
    pub bind: Option<String>,
    /// Metadata store: `sqlite://PATH` (default `sqlite://strata-catalog.db`) or
    /// `postgres://user:pass@host/db`.
    #[arg(
        long,
        env = "STRATA_CATALOG_STORE",
        default_value = "sqlite://strata-catalog.db"
    )]
    pub store: String,
    /// Where new tables go: a folder, file://, s3://bucket/prefix [default: the `warehouse` of
    /// the settings file's catalog, else `./strata-warehouse`].
    #[arg(long)]
    pub warehouse: Option<String>,
    /// Also allow tier locations under this place (repeatable), e.g. an archive bucket:
    /// `--allow-location s3://archive/`; a table of namespace `ns` puts its tiers there under
    /// `s3://archive/ns/`. Tables themselves always live in the warehouse.
    #[arg(long = "allow-location", value_name = "URI")]
    pub allow_locations: Vec<String>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    pub body_limit: usize,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
}

/// How to authenticate (the URL is the global `--catalog`).
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// Bearer token (prefer the environment variable).
    #[arg(long, env = "STRATA_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// `strata namespace ...`.
#[derive(Debug, Args)]
pub struct NamespaceArgs {
    #[command(flatten)]
    conn: Connection,
    /// Action.
    #[command(subcommand)]
    pub action: NamespaceAction,
}

/// Namespace actions.
#[derive(Debug, Subcommand)]
pub enum NamespaceAction {
    /// Create a namespace.
    ///
    /// Example: strata --catalog http://127.0.0.1:8181 namespace create sales --property owner=bi
    Create {
        /// Name.
        name: String,
        /// Property `key=value` (repeatable).
        #[arg(long = "property", value_name = "KEY=VALUE")]
        properties: Vec<String>,
    },
    /// List namespaces.
    ///
    /// Example: strata --catalog http://127.0.0.1:8181 namespace list --output json
    List,
    /// Drop an empty namespace.
    ///
    /// Example: strata --catalog http://127.0.0.1:8181 namespace drop sales
    Drop {
        /// Name.
        name: String,
    },
}

/// `strata table ...`.
#[derive(Debug, Args)]
pub struct TableArgs {
    #[command(flatten)]
    conn: Connection,
    /// Action.
    #[command(subcommand)]
    pub action: TableAction,
}

/// Table actions.
#[derive(Debug, Subcommand)]
pub enum TableAction {
    /// List the tables of a namespace.
    ///
    /// Example: strata --catalog http://127.0.0.1:8181 table list sales
    List {
        /// Namespace.
        namespace: String,
    },
    /// Register an existing table location as `namespace.table`.
    ///
    /// Example: strata --catalog http://127.0.0.1:8181 table register sales.events s3://lake/events
    Register {
        /// `namespace.table`.
        name: String,
        /// Location (path, file://, s3://...).
        location: String,
    },
    /// Rename `namespace.table` to `namespace.table`.
    ///
    /// Example: strata --catalog http://127.0.0.1:8181 table rename sales.events sales.clicks
    Rename {
        /// Current name.
        from: String,
        /// New name.
        to: String,
    },
    /// Drop a table from the catalog (its data stays unless --purge).
    ///
    /// Example: strata --catalog http://127.0.0.1:8181 table drop sales.events --purge
    Drop {
        /// `namespace.table`.
        name: String,
        /// Also delete every object under the table's location.
        #[arg(long)]
        purge: bool,
    },
}

pub(crate) fn cerr(e: strata_catalog::Error) -> CliError {
    let hint = match &e {
        strata_catalog::Error::Api { status: 401, .. } => {
            Some("set STRATA_TOKEN to a token from `strata catalog token create`")
        }
        strata_catalog::Error::Http(_) => {
            Some("is the catalog running? (`strata serve`; --catalog or STRATA_CATALOG)")
        }
        _ => None,
    };
    let err = CliError::user(e.to_string());
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

static CATALOG: OnceLock<Option<ResolvedCatalog>> = OnceLock::new();

/// Records the catalog of this run (`--catalog`, `STRATA_CATALOG` or the settings file).
pub fn set_catalog(catalog: Option<ResolvedCatalog>) {
    let _ = CATALOG.set(catalog);
}

fn resolved_catalog() -> Option<&'static ResolvedCatalog> {
    CATALOG.get().and_then(Option::as_ref)
}

pub(crate) fn catalog_url() -> Option<String> {
    resolved_catalog().map(|c| c.uri.clone())
}

/// The catalog token: `STRATA_TOKEN`, else the named catalog's `token` or `token_command`
/// (run once).
pub(crate) fn catalog_token() -> CliResult<Option<String>> {
    if let Some(t) = std::env::var("STRATA_TOKEN").ok().filter(|t| !t.is_empty()) {
        return Ok(Some(t));
    }
    static FROM_SETTINGS: OnceLock<Option<String>> = OnceLock::new();
    if let Some(t) = FROM_SETTINGS.get() {
        return Ok(t.clone());
    }
    let token = match resolved_catalog() {
        Some(c) => c.token()?,
        None => None,
    };
    Ok(FROM_SETTINGS.get_or_init(|| token).clone())
}

pub(crate) fn client(conn: &Connection) -> CliResult<Client> {
    let url = catalog_url().unwrap_or_else(|| DEFAULT_CATALOG.to_string());
    let token = match &conn.token {
        Some(t) => Some(t.clone()),
        None => catalog_token()?,
    };
    Client::new(&url, token).map_err(cerr)
}

/// `namespace.table` shaped (not a path or a URI).
pub(crate) fn looks_qualified(name: &str) -> bool {
    !name.contains('/') && !name.contains('\\') && TableRef::parse(name).is_ok()
}

/// With a catalog configured, opens a `namespace.table` argument that is not an existing local
/// path at its location, with its commits sent to the catalog (`POST /v1/commits`), which
/// arbitrates them. `Ok(None)`: not a catalog name, open by path.
pub async fn open_table(table: &str) -> CliResult<Option<strata_table::Table>> {
    let Some(url) = catalog_url() else {
        return Ok(None);
    };
    if !looks_qualified(table) || std::path::Path::new(table).exists() {
        return Ok(None);
    }
    let c = Client::new(&url, catalog_token()?).map_err(cerr)?;
    let t = table_ref(table)?;
    let info = c.load_table(&t).await.map_err(cerr)?;
    Ok(Some(
        open_committing_through(c, t, &info.location, super::STATE_REUSE).await?,
    ))
}

/// Opens the table at `location` with its commits sent to the catalog of `client` as `table`,
/// reusing the state it read for `state_reuse` (see [`super::STATE_REUSE`]; zero for handles
/// that live longer than a command, e.g. a SQL session's).
pub async fn open_committing_through(
    client: Client,
    table: TableRef,
    location: &str,
    state_reuse: std::time::Duration,
) -> CliResult<strata_table::Table> {
    let options = strata_table::TableOptions::default()
        .with_state_reuse(state_reuse)
        .with_commit_handler(Arc::new(CatalogCommitter::new(client, table)));
    let loc = strata_table::TableLocation::parse(location)?;
    Ok(strata_table::Table::open_with(loc, options).await?)
}

fn table_ref(name: &str) -> CliResult<TableRef> {
    TableRef::parse(name).map_err(cerr)
}

/// With a catalog configured, `strata create namespace.table` creates the table through the
/// catalog (in its warehouse) and opens it, committing through the catalog. `Ok(None)`: not a
/// catalog name, create by path.
pub async fn create(
    table: &str,
    schema: &Schema,
    partition_by: Option<&str>,
    properties: &BTreeMap<String, String>,
    quiet: bool,
) -> CliResult<Option<strata_table::Table>> {
    let Some(url) = catalog_url() else {
        return Ok(None);
    };
    if !looks_qualified(table) || std::path::Path::new(table).exists() {
        return Ok(None);
    }
    let t = table_ref(table)?;
    let spec = match partition_by {
        Some(p) => parse_partition_spec(p, schema, 0, FIRST_PARTITION_FIELD_ID)
            .map_err(|e| CliError::user(e.to_string()))?,
        None => PartitionSpec::unpartitioned(),
    };
    let req = CreateTableRequest {
        name: t.table.clone(),
        schema: serde_json::to_value(schema)?,
        partition_spec: Some(serde_json::to_value(&spec)?),
        properties: properties.clone(),
        location: None,
    };
    let client = Client::new(&url, catalog_token()?).map_err(cerr)?;
    let info = client
        .create_table(&t.namespace, &req)
        .await
        .map_err(cerr)?;
    if !quiet {
        eprintln!("created table {t} at {} (version 0)", info.location);
    }
    Ok(Some(
        open_committing_through(client, t, &info.location, super::STATE_REUSE).await?,
    ))
}

/// Drops (and purges) a catalog table just created whose first load failed.
pub async fn discard(table: &str) -> CliResult {
    let Some(url) = catalog_url() else {
        return Ok(());
    };
    let t = table_ref(table)?;
    Client::new(&url, catalog_token()?)
        .map_err(cerr)?
        .drop_table(&t, true)
        .await
        .map_err(cerr)
}

/// `strata serve`.
pub async fn serve(args: ServeArgs) -> CliResult {
    let named = resolved_catalog().filter(|c| c.entry.is_some());
    let bind = match (&args.bind, named) {
        (Some(b), _) => b.clone(),
        (None, Some(c)) => bind_of(&c.uri)?,
        (None, None) => DEFAULT_CATALOG.trim_start_matches("http://").to_string(),
    };
    let warehouse = args
        .warehouse
        .clone()
        .or_else(|| named.and_then(|c| c.warehouse().map(str::to_string)))
        .unwrap_or_else(|| "strata-warehouse".to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let store = open_store(&args.store).await.map_err(cerr)?;
    let warehouse = if warehouse.starts_with("memory://") {
        return Err(CliError::user(
            "a memory:// warehouse would keep tables only in the server's RAM; use a folder or s3://",
        ));
    } else if warehouse.contains("://") {
        warehouse.clone()
    } else {
        std::fs::create_dir_all(&warehouse).map_err(|e| {
            CliError::user(format!("cannot create the warehouse `{}`: {e}", warehouse))
        })?;
        std::fs::canonicalize(&warehouse)
            .map_err(|e| CliError::user(format!("warehouse `{warehouse}`: {e}")))?
            .to_string_lossy()
            .into_owned()
    };
    let catalog = Catalog::new(store, warehouse)
        .and_then(|c| c.allow_locations(&args.allow_locations))
        .map_err(cerr)?;
    let catalog = Arc::new(catalog);
    let options = ServerOptions {
        body_limit: args.body_limit,
        request_timeout: std::time::Duration::from_secs(args.timeout_secs),
    };
    server::serve(catalog, &bind, &options).await.map_err(cerr)
}

/// `host:port` of a catalog URL, to listen on.
fn bind_of(uri: &str) -> CliResult<String> {
    let bad = || {
        CliError::user(format!(
            "cannot serve the catalog at `{uri}`: its URL needs a host and port (http://host:port)"
        ))
    };
    let rest = uri.split_once("://").map(|(_, r)| r).ok_or_else(bad)?;
    let host_port = rest.split('/').next().unwrap_or_default();
    if host_port
        .rsplit_once(':')
        .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
    {
        return Err(bad());
    }
    Ok(host_port.to_string())
}

fn parse_props(props: &[String]) -> CliResult<BTreeMap<String, String>> {
    props
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| CliError::user(format!("property `{p}` is not `key=value`")))
        })
        .collect()
}

/// `strata namespace ...`.
pub async fn namespace(
    args: NamespaceArgs,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let c = client(&args.conn)?;
    match args.action {
        NamespaceAction::Create { name, properties } => {
            c.create_namespace(&name, parse_props(&properties)?)
                .await
                .map_err(cerr)?;
            eprintln!("namespace {name} created");
        }
        NamespaceAction::Drop { name } => {
            c.drop_namespace(&name).await.map_err(cerr)?;
            eprintln!("namespace {name} dropped");
        }
        NamespaceAction::List => {
            let list = c.list_namespaces().await.map_err(cerr)?;
            if format == OutputFormat::Table {
                let mut t = TextTable::new(&["namespace", "properties"]);
                for n in &list {
                    let props: Vec<String> = n
                        .properties
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    t.row(vec![n.name.clone(), props.join(",")]);
                }
                t.write(out)?;
            } else {
                let items: Vec<serde_json::Value> = list
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<_, _>>()?;
                let doc = serde_json::json!({ "namespaces": items });
                write_json(format, &doc, Some(&items), out)?;
            }
        }
    }
    Ok(())
}

/// `strata table ...`.
pub async fn table(args: TableArgs, format: OutputFormat, out: &mut impl Write) -> CliResult {
    let c = client(&args.conn)?;
    match args.action {
        TableAction::List { namespace } => {
            let list = c.list_tables(&namespace).await.map_err(cerr)?;
            if format == OutputFormat::Table {
                let mut t = TextTable::new(&["table", "location"]);
                for e in &list {
                    t.row(vec![
                        format!("{}.{}", e.namespace, e.name),
                        e.location.clone(),
                    ]);
                }
                t.write(out)?;
            } else {
                let items: Vec<serde_json::Value> = list
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<_, _>>()?;
                let doc = serde_json::json!({ "tables": items });
                write_json(format, &doc, Some(&items), out)?;
            }
        }
        TableAction::Register { name, location } => {
            // The server resolves paths itself: send an absolute one.
            let location = if location.contains("://") {
                location
            } else {
                std::path::absolute(&location)
                    .map_err(|e| CliError::user(format!("location `{location}`: {e}")))?
                    .to_string_lossy()
                    .into_owned()
            };
            let info = c
                .register_table(&table_ref(&name)?, &location)
                .await
                .map_err(cerr)?;
            eprintln!(
                "registered {name} at {} (version {})",
                info.location, info.current_version
            );
        }
        TableAction::Rename { from, to } => {
            c.rename_table(&table_ref(&from)?, &table_ref(&to)?)
                .await
                .map_err(cerr)?;
            eprintln!("renamed {from} to {to}");
        }
        TableAction::Drop { name, purge } => {
            c.drop_table(&table_ref(&name)?, purge)
                .await
                .map_err(cerr)?;
            eprintln!(
                "dropped {name}{}",
                if purge { " and purged its data" } else { "" }
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_qualified_names_resolve_through_the_catalog() {
        assert!(looks_qualified("sales.events"));
        assert!(!looks_qualified("./events"));
        assert!(!looks_qualified("s3://b/t"));
        assert!(!looks_qualified("events"));
        assert!(!looks_qualified("a.b.c"));
        assert!(!looks_qualified("dir/sales.events"));
    }
}
