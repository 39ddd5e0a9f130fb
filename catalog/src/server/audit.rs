//! The audit trail: every authenticated write request (POST, PUT, PATCH, DELETE) is recorded
//! with the token that made it, its answer, and what it touched — refused attempts included.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::store::{AuditRecord, now_ms};

/// What the handling of one request learned for its audit record; shared between the
/// middleware, the authentication extractor and handlers through the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<Mutex<Note>>);

#[derive(Debug, Default)]
struct Note {
    token_id: Option<String>,
    namespace: Option<String>,
    target: Option<String>,
    detail: Option<String>,
}

impl AuditSlot {
    fn with<R>(&self, f: impl FnOnce(&mut Note) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The caller authenticated with token `id`.
    pub fn principal(&self, id: &str) {
        self.with(|n| n.token_id = Some(id.to_string()));
    }

    /// The request concerned table `table` of `namespace`, and what came of it.
    pub fn touched(&self, namespace: &str, table: Option<&str>, detail: Option<String>) {
        self.with(|n| {
            n.namespace = Some(namespace.to_string());
            n.target = table.map(|t| format!("{namespace}.{t}"));
            if detail.is_some() {
                n.detail = detail;
            }
        });
    }

    /// What came of the request.
    pub fn detail(&self, detail: String) {
        self.with(|n| n.detail = Some(detail));
    }
}

/// `/v1/namespaces/{ns}[/tables/{t}]...` → (ns, t).
fn scope_of(path: &str) -> (Option<String>, Option<String>) {
    let mut parts = path.trim_start_matches('/').split('/');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("v1"), Some("namespaces"), Some(ns), Some("tables"), Some(t)) => {
            (Some(ns.to_string()), Some(t.to_string()))
        }
        (Some("v1"), Some("namespaces"), Some(ns), _, _) => (Some(ns.to_string()), None),
        _ => (None, None),
    }
}

/// Middleware: records authenticated writes.
pub async fn record(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let slot = AuditSlot::default();
    req.extensions_mut().insert(slot.clone());
    let writes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let action = format!("{} {}", req.method(), req.uri().path());
    let (ns, table) = scope_of(req.uri().path());
    let resp = next.run(req).await;
    if !writes {
        return resp;
    }
    let note = slot.with(std::mem::take);
    let Some(token_id) = note.token_id else {
        return resp;
    };
    let namespace = note
        .namespace
        .or_else(|| ns.as_deref().and_then(|n| percent_decode(n).ok()));
    let target = note.target.or_else(|| {
        namespace
            .as_ref()
            .zip(table.as_deref().and_then(|t| percent_decode(t).ok()))
            .map(|(n, t)| format!("{n}.{t}"))
    });
    let entry = AuditRecord {
        at_ms: now_ms(),
        token_id,
        action,
        namespace,
        target,
        status: resp.status().as_u16(),
        detail: note.detail,
    };
    if let Err(e) = s.catalog.store().record_audit(&entry).await {
        tracing::warn!(error = %e, action = %entry.action, "recording an audit entry failed");
    }
    resp
}

fn percent_decode(s: &str) -> Result<String, String> {
    strata_format::location::decode_uri_path(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_namespace_and_table() {
        assert_eq!(
            scope_of("/v1/namespaces/ns/tables/t/tags"),
            (Some("ns".into()), Some("t".into()))
        );
        assert_eq!(scope_of("/v1/namespaces/ns"), (Some("ns".into()), None));
        assert_eq!(scope_of("/v1/commits"), (None, None));
    }
}
