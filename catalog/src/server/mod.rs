//! The HTTP service (axum): REST API v1, `/healthz`, `/metrics`, `/openapi.json`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::routing::{delete, get, post, put};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::error::{Error, Result};
use crate::service::Catalog;

mod audit;
mod auth;
mod commits;
pub mod error;
pub mod iceberg;
mod maintenance;
mod metrics;
mod namespaces;
pub mod openapi;
mod tables;
mod tiers;
mod tokens;

pub use metrics::Metrics;
pub use tokens::issue_token;

/// Handler result.
pub type ApiResult<T> = std::result::Result<T, error::ApiError>;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The catalog.
    pub catalog: Arc<Catalog>,
    /// This process's counters.
    pub metrics: Arc<Metrics>,
}

/// Limits of the service.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Longest time a request may take.
    pub request_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            body_limit: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// The router with every layer.
pub fn router(catalog: Arc<Catalog>, options: &ServerOptions) -> Router {
    let state = AppState {
        catalog,
        metrics: Arc::new(Metrics::default()),
    };
    let table = "/v1/namespaces/{namespace}/tables/{table}";
    let api = Router::new()
        .route("/metrics", get(metrics::metrics))
        .route("/openapi.json", get(openapi::openapi))
        .route(
            "/v1/namespaces",
            get(namespaces::list).post(namespaces::create),
        )
        .route(
            "/v1/namespaces/{namespace}",
            get(namespaces::get).delete(namespaces::drop),
        )
        .route(
            "/v1/namespaces/{namespace}/properties",
            post(namespaces::update_properties),
        )
        .route(
            "/v1/namespaces/{namespace}/tables",
            get(tables::list).post(tables::create),
        )
        .route(
            "/v1/namespaces/{namespace}/register",
            post(tables::register),
        )
        .route(table, get(tables::load).delete(tables::drop))
        .route(&format!("{table}/rename"), post(tables::rename))
        .route(&format!("{table}/history"), get(tables::history))
        .route(
            &format!("{table}/tags"),
            get(tables::tags).post(tables::create_tag),
        )
        .route(&format!("{table}/tags/{{tag}}"), delete(tables::delete_tag))
        .route(
            &format!("{table}/tiers"),
            get(tiers::report).put(tiers::set_tiers),
        )
        .route(&format!("{table}/tiers/policies"), put(tiers::set_policies))
        .route(&format!("{table}/tiers/plan"), post(tiers::plan))
        .route(&format!("{table}/tiers/apply"), post(tiers::apply))
        .route(&format!("{table}/tiers/move"), post(tiers::move_files))
        .route(&format!("{table}/tiers/restore"), post(tiers::restore))
        .route(&format!("{table}/maintenance"), post(maintenance::maintain))
        .route("/v1/commits", post(commits::commit))
        .route(
            "/v1/tokens",
            get(tokens::list_tokens).post(tokens::create_token),
        )
        .route("/v1/tokens/{id}", delete(tokens::revoke_token))
        .route("/v1/audit", get(tokens::audit))
        .route("/healthz", get(commits::health))
        .nest("/iceberg", iceberg::routes(state.clone()))
        .with_state(state.clone());
    // Router::layer wraps outermost last: request id, trace, envelope, timeout, metrics,
    // audit, body limit. Metrics sit outside the body limit and apply to the fallback too, so that 413s
    // and unmatched routes are counted.
    api.layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(options.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        .layer(axum::middleware::from_fn_with_state(state, metrics::track))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            options.request_timeout,
        ))
        .layer(axum::middleware::map_response(error::normalize))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<axum::body::Body>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", request_id = %id, method = %req.method(),
                    path = %req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// A running server.
#[derive(Debug)]
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Base URL, `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests, and waits.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task
            .await
            .map_err(|e| Error::Config(format!("server task failed: {e}")))??;
        Ok(())
    }
}

/// Binds `bind` and serves in a background task until [`RunningServer::shutdown`].
pub async fn spawn(
    catalog: Arc<Catalog>,
    bind: &str,
    options: &ServerOptions,
) -> Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let app = router(catalog, options);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    Ok(RunningServer {
        addr,
        shutdown: Some(tx),
        task,
    })
}

/// Serves on `bind` until Ctrl-C or SIGTERM, then shuts down gracefully.
pub async fn serve(catalog: Arc<Catalog>, bind: &str, options: &ServerOptions) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tracing::info!(addr = %listener.local_addr()?, store = catalog.store().kind(),
        warehouse = catalog.warehouse(), "strata catalog listening");
    axum::serve(listener, router(catalog, options))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("strata catalog stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
