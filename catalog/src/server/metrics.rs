//! Prometheus metrics, rendered in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiResult, AppState};
use crate::auth::{Principal, Role};

#[derive(Debug, Default)]
struct Counters {
    /// (method, route, status) -> (count, seconds)
    requests: BTreeMap<(String, String, u16), (u64, f64)>,
    /// outcome -> count
    commits: BTreeMap<&'static str, u64>,
}

/// Request and commit counters of this process.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a commit outcome.
    pub fn commit(&self, outcome: &'static str) {
        *self.lock().commits.entry(outcome).or_default() += 1;
    }

    fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut c = self.lock();
        let e = c
            .requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        e.0 += 1;
        e.1 += seconds;
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let c = self.lock();
        let mut out = String::new();
        out.push_str("# HELP strata_http_requests_total HTTP requests served.\n");
        out.push_str("# TYPE strata_http_requests_total counter\n");
        for ((m, r, s), (n, _)) in &c.requests {
            let _ = writeln!(
                out,
                "strata_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP strata_http_request_duration_seconds_sum Time spent serving requests.\n",
        );
        out.push_str("# TYPE strata_http_request_duration_seconds_sum counter\n");
        for ((m, r, s), (_, secs)) in &c.requests {
            let _ = writeln!(
                out,
                "strata_http_request_duration_seconds_sum{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {secs}"
            );
        }
        out.push_str("# HELP strata_commits_total Commits through the catalog by outcome.\n");
        out.push_str("# TYPE strata_commits_total counter\n");
        for (outcome, n) in &c.commits {
            let _ = writeln!(out, "strata_commits_total{{outcome=\"{outcome}\"}} {n}");
        }
        out
    }
}

/// Middleware: counts requests by route template (`unmatched` for no route) and status.
pub async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    s.metrics.request(
        &method,
        &route,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

/// Prometheus metrics (any valid token).
#[utoipa::path(get, operation_id = "metrics", path = "/metrics", tag = "service",
    responses((status = 200, body = String, content_type = "text/plain"),
        (status = 401, body = crate::model::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn metrics(p: Principal, State(s): State<AppState>) -> ApiResult<Response> {
    p.require(Role::Reader, p.namespace.as_deref())?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters() {
        let m = Metrics::default();
        m.request("GET", "/v1/namespaces", 200, 0.5);
        m.request("GET", "/v1/namespaces", 200, 0.25);
        m.commit("committed");
        let text = m.render();
        assert!(text.contains(
            "strata_http_requests_total{method=\"GET\",route=\"/v1/namespaces\",status=\"200\"} 2"
        ));
        assert!(text.contains("strata_commits_total{outcome=\"committed\"} 1"));
    }
}
