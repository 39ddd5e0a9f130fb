//! `strata catalog ...`: tokens (create, list, revoke) and the audit trail.

use std::io::Write;

use clap::{Args, Subcommand};
use strata_catalog::auth::Role;
use strata_catalog::model::CreateTokenRequest;
use strata_catalog::{open_store, server};

use super::catalog::{Connection, cerr, client};
use super::tier::parse_duration_ms;
use crate::args::OutputFormat;
use crate::error::{CliError, CliResult};
use crate::output::{TextTable, time, write_json};

/// `strata catalog ...`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Action.
    #[command(subcommand)]
    pub action: CatalogAction,
}

/// Catalog administration.
#[derive(Debug, Subcommand)]
pub enum CatalogAction {
    /// Manage tokens.
    ///
    /// Example: strata --catalog http://127.0.0.1:8181 catalog token create --role writer
    Token {
        /// Action.
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Show the audit trail: who wrote what, newest first.
    ///
    /// Example: strata catalog audit --namespace sales --limit 20
    Audit {
        /// Only this namespace.
        #[arg(long)]
        namespace: Option<String>,
        /// How many entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        conn: Connection,
    },
}

/// Token actions.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token and print it (shown once).
    ///
    /// Example: strata catalog token create --role writer --namespace sales --expires-in 30d
    /// Bootstrap the first admin directly against the store:
    /// strata catalog token create --role admin --store sqlite://strata-catalog.db
    Create {
        /// admin, writer or reader.
        #[arg(long)]
        role: String,
        /// Limit the token to one namespace.
        #[arg(long)]
        namespace: Option<String>,
        /// Free-form description.
        #[arg(long)]
        description: Option<String>,
        /// The token stops working after this long (e.g. 30d, 12h); default never.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        /// Write to this store directly instead of calling the API (bootstrap).
        #[arg(long)]
        store: Option<String>,
        #[command(flatten)]
        conn: Connection,
    },
    /// List tokens: id, role, scope, expiry, last use, revocation (never the secret).
    ///
    /// Example: strata catalog token list
    List {
        #[command(flatten)]
        conn: Connection,
    },
    /// Revoke a token by id: it is refused from now on.
    ///
    /// Example: strata catalog token revoke 6f1c...
    Revoke {
        /// Token id (from `token list`).
        id: String,
        #[command(flatten)]
        conn: Connection,
    },
}

/// `strata catalog ...`.
pub async fn catalog(args: CatalogArgs, format: OutputFormat, out: &mut impl Write) -> CliResult {
    match args.action {
        CatalogAction::Token { action } => token(action, format, out).await,
        CatalogAction::Audit {
            namespace,
            limit,
            conn,
        } => audit(&conn, namespace.as_deref(), limit, format, out).await,
    }
}

async fn token(action: TokenAction, format: OutputFormat, out: &mut impl Write) -> CliResult {
    match action {
        TokenAction::Create {
            role,
            namespace,
            description,
            expires_in,
            store,
            conn,
        } => {
            let req = CreateTokenRequest {
                role: role.parse::<Role>().map_err(cerr)?,
                namespace,
                description,
                expires_in_seconds: expires_in.as_deref().map(expiry_seconds).transpose()?,
            };
            create(req, store, &conn, format, out).await
        }
        TokenAction::List { conn } => list(&conn, format, out).await,
        TokenAction::Revoke { id, conn } => {
            client(&conn)?.revoke_token(&id).await.map_err(cerr)?;
            eprintln!("token {id} revoked");
            Ok(())
        }
    }
}

fn expiry_seconds(text: &str) -> CliResult<u64> {
    let ms = parse_duration_ms(text)?;
    match u64::try_from(ms / 1000) {
        Ok(s) if s > 0 => Ok(s),
        _ => Err(CliError::user(format!(
            "--expires-in `{text}` must be at least one second"
        ))),
    }
}

async fn create(
    req: CreateTokenRequest,
    store: Option<String>,
    conn: &Connection,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let created = match store {
        Some(url) => {
            if let Some(ns) = &req.namespace {
                strata_catalog::names::validate_namespace(ns).map_err(cerr)?;
            }
            let store = open_store(&url).await.map_err(cerr)?;
            server::issue_token(store.as_ref(), req)
                .await
                .map_err(cerr)?
        }
        None => client(conn)?.create_token(&req).await.map_err(cerr)?,
    };
    match format {
        OutputFormat::Table | OutputFormat::Csv => {
            writeln!(out, "{}", created.token)?;
            eprintln!(
                "token {} ({}{}{}) created; it is shown only once",
                created.id,
                created.role,
                created
                    .namespace
                    .as_deref()
                    .map(|n| format!(" on namespace {n}"))
                    .unwrap_or_default(),
                created
                    .expires_at_ms
                    .map(|t| format!(", expires {}", time(t)))
                    .unwrap_or_default()
            );
        }
        _ => write_json(format, &serde_json::to_value(&created)?, None, out)?,
    }
    Ok(())
}

fn opt_time(ms: Option<i64>) -> String {
    ms.map(time).unwrap_or_else(|| "-".into())
}

async fn list(conn: &Connection, format: OutputFormat, out: &mut impl Write) -> CliResult {
    let tokens = client(conn)?.list_tokens().await.map_err(cerr)?;
    if format == OutputFormat::Table {
        let mut t = TextTable::new(&[
            "id",
            "role",
            "namespace",
            "created",
            "expires",
            "last used",
            "revoked",
            "description",
        ]);
        for k in &tokens {
            t.row(vec![
                k.id.clone(),
                k.role.to_string(),
                k.namespace.clone().unwrap_or_else(|| "*".into()),
                time(k.created_at_ms),
                opt_time(k.expires_at_ms),
                opt_time(k.last_used_at_ms),
                opt_time(k.revoked_at_ms),
                k.description.clone().unwrap_or_default(),
            ]);
        }
        t.write(out)?;
    } else {
        let items: Vec<serde_json::Value> = tokens
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        let doc = serde_json::json!({ "tokens": items });
        write_json(format, &doc, Some(&items), out)?;
    }
    Ok(())
}

async fn audit(
    conn: &Connection,
    namespace: Option<&str>,
    limit: u32,
    format: OutputFormat,
    out: &mut impl Write,
) -> CliResult {
    let entries = client(conn)?.audit(namespace, limit).await.map_err(cerr)?;
    if format == OutputFormat::Table {
        let mut t = TextTable::new(&["time", "token", "action", "target", "status", "detail"]);
        for e in &entries {
            t.row(vec![
                time(e.at_ms),
                e.token_id.clone(),
                e.action.clone(),
                e.target
                    .clone()
                    .or_else(|| e.namespace.clone())
                    .unwrap_or_else(|| "-".into()),
                e.status.to_string(),
                e.detail.clone().unwrap_or_default(),
            ]);
        }
        t.write(out)?;
    } else {
        let items: Vec<serde_json::Value> = entries
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        let doc = serde_json::json!({ "entries": items });
        write_json(format, &doc, Some(&items), out)?;
    }
    Ok(())
}
