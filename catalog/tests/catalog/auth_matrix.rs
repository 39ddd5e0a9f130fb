//! Every endpoint x every kind of caller: the expected status each time.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};
use strata_catalog::auth::Role;

use crate::harness::{Backend, TestCatalog, add_in, create_request, token, unique};

/// What an endpoint needs.
#[derive(Debug, Clone, Copy)]
enum Needs {
    /// Nothing (health).
    Nothing,
    /// Any valid token.
    AnyToken,
    /// A role catalog-wide.
    Global(Role),
    /// A role on the namespace under test.
    OnNs(Role),
    /// A role on a namespace no token is scoped to.
    OnOtherNs(Role),
    /// A role, catalog-wide or on any namespace (the answer is limited to the scope).
    AnyScope(Role),
}

/// Method, path and body of one request.
type Req = (Method, String, Option<Value>);
/// Builds a request for the namespace under test.
type Build = Box<dyn Fn(&str) -> Req>;

struct Endpoint {
    name: &'static str,
    needs: Needs,
    /// Status when allowed.
    ok: u16,
    /// Builds the request (fresh names each call).
    build: Build,
}

#[derive(Debug, Clone)]
enum Caller {
    NoToken,
    Invalid,
    Malformed,
    Token {
        label: String,
        token: String,
        role: Role,
        scoped: bool,
    },
}

fn expected(e: &Endpoint, caller: &Caller) -> u16 {
    let (role, scoped) = match caller {
        _ if matches!(e.needs, Needs::Nothing) => return e.ok,
        Caller::NoToken | Caller::Invalid | Caller::Malformed => return 401,
        Caller::Token { role, scoped, .. } => (*role, *scoped),
    };
    let allowed = match e.needs {
        Needs::Nothing | Needs::AnyToken => true,
        Needs::Global(r) => !scoped && role >= r,
        Needs::OnNs(r) => role >= r,
        Needs::OnOtherNs(r) => !scoped && role >= r,
        Needs::AnyScope(r) => role >= r,
    };
    if allowed { e.ok } else { 403 }
}

fn endpoints(warehouse: &std::path::Path) -> Vec<Endpoint> {
    let wh = warehouse.to_path_buf();
    let t = |ns: &str| format!("/v1/namespaces/{ns}/tables/t");
    let create = |ns: &str| {
        let _ = ns;
        Some(serde_json::to_value(create_request(&unique("t"))).unwrap())
    };
    let e = |name, needs, ok, build: Build| Endpoint {
        name,
        needs,
        ok,
        build,
    };
    vec![
        e(
            "health",
            Needs::Nothing,
            200,
            Box::new(|_| (Method::GET, "/healthz".into(), None)),
        ),
        e(
            "metrics",
            Needs::AnyToken,
            200,
            Box::new(|_| (Method::GET, "/metrics".into(), None)),
        ),
        e(
            "openapi",
            Needs::AnyToken,
            200,
            Box::new(|_| (Method::GET, "/openapi.json".into(), None)),
        ),
        e(
            "list namespaces",
            Needs::AnyToken,
            200,
            Box::new(|_| (Method::GET, "/v1/namespaces".into(), None)),
        ),
        e(
            "create namespace",
            Needs::Global(Role::Admin),
            201,
            Box::new(|_| {
                (
                    Method::POST,
                    "/v1/namespaces".into(),
                    Some(json!({"name": unique("n")})),
                )
            }),
        ),
        e(
            "get namespace",
            Needs::OnNs(Role::Reader),
            200,
            Box::new(|ns| (Method::GET, format!("/v1/namespaces/{ns}"), None)),
        ),
        e(
            "update properties",
            Needs::OnNs(Role::Admin),
            200,
            Box::new(|ns| {
                (
                    Method::POST,
                    format!("/v1/namespaces/{ns}/properties"),
                    Some(json!({"set": {"k": "v"}})),
                )
            }),
        ),
        e(
            "drop namespace",
            Needs::OnOtherNs(Role::Admin),
            404,
            Box::new(|_| {
                (
                    Method::DELETE,
                    format!("/v1/namespaces/{}", unique("gone")),
                    None,
                )
            }),
        ),
        e(
            "list tables",
            Needs::OnNs(Role::Reader),
            200,
            Box::new(|ns| (Method::GET, format!("/v1/namespaces/{ns}/tables"), None)),
        ),
        e(
            "create table",
            Needs::OnNs(Role::Writer),
            201,
            Box::new(move |ns| {
                (
                    Method::POST,
                    format!("/v1/namespaces/{ns}/tables"),
                    create(ns),
                )
            }),
        ),
        e(
            "register table",
            Needs::OnNs(Role::Writer),
            400,
            Box::new(|ns| {
                (
                    Method::POST,
                    format!("/v1/namespaces/{ns}/register"),
                    Some(json!({"name": unique("r"), "location": "memory://authmatrix/none"})),
                )
            }),
        ),
        e(
            "load table",
            Needs::OnNs(Role::Reader),
            200,
            Box::new(move |ns| (Method::GET, t(ns), None)),
        ),
        e(
            "drop table",
            Needs::OnNs(Role::Writer),
            404,
            Box::new(|ns| {
                (
                    Method::DELETE,
                    format!("/v1/namespaces/{ns}/tables/{}", unique("x")),
                    None,
                )
            }),
        ),
        e(
            "rename table",
            Needs::OnNs(Role::Writer),
            404,
            Box::new(|ns| {
                (
                    Method::POST,
                    format!("/v1/namespaces/{ns}/tables/{}/rename", unique("x")),
                    Some(json!({"name": unique("y")})),
                )
            }),
        ),
        e(
            "history",
            Needs::OnNs(Role::Reader),
            200,
            Box::new(move |ns| (Method::GET, format!("{}/history", t(ns)), None)),
        ),
        e(
            "list tags",
            Needs::OnNs(Role::Reader),
            200,
            Box::new(move |ns| (Method::GET, format!("{}/tags", t(ns)), None)),
        ),
        e(
            "create tag",
            Needs::OnNs(Role::Writer),
            201,
            Box::new(move |ns| {
                (
                    Method::POST,
                    format!("{}/tags", t(ns)),
                    Some(json!({"name": unique("tag"), "version": 0})),
                )
            }),
        ),
        e(
            "delete tag",
            Needs::OnNs(Role::Writer),
            404,
            Box::new(move |ns| (Method::DELETE, format!("{}/tags/nope", t(ns)), None)),
        ),
        e(
            "commit",
            Needs::OnNs(Role::Writer),
            200,
            Box::new(move |ns| {
                (
                    Method::POST,
                    "/v1/commits".into(),
                    Some(json!({
                        "txnId": uuid::Uuid::new_v4().to_string(),
                        "changes": [{"namespace": ns, "table": "t", "baseVersion": 0,
                            "actions": [add_in(&wh, ns, "t", &format!("{}.parquet", unique("f")), 1)]}]
                    })),
                )
            }),
        ),
        e(
            "create token",
            Needs::Global(Role::Admin),
            201,
            Box::new(|_| {
                (
                    Method::POST,
                    "/v1/tokens".into(),
                    Some(json!({"role": "reader"})),
                )
            }),
        ),
        e(
            "create scoped token",
            Needs::OnNs(Role::Admin),
            201,
            Box::new(|ns| {
                (
                    Method::POST,
                    "/v1/tokens".into(),
                    Some(json!({"role": "reader", "namespace": ns})),
                )
            }),
        ),
        e(
            "list tokens",
            Needs::AnyScope(Role::Admin),
            200,
            Box::new(|_| (Method::GET, "/v1/tokens".into(), None)),
        ),
        e(
            "revoke an unknown token",
            Needs::AnyScope(Role::Admin),
            404,
            Box::new(|_| (Method::DELETE, "/v1/tokens/no-such-token".into(), None)),
        ),
        e(
            "audit of the namespace",
            Needs::OnNs(Role::Admin),
            200,
            Box::new(|ns| (Method::GET, format!("/v1/audit?namespace={ns}"), None)),
        ),
        e(
            "audit of the catalog",
            Needs::AnyScope(Role::Admin),
            200,
            Box::new(|_| (Method::GET, "/v1/audit".into(), None)),
        ),
        // Tier endpoints last: their metadata commits would make the commit check above stale.
        e(
            "tier report",
            Needs::OnNs(Role::Reader),
            200,
            Box::new(move |ns| (Method::GET, format!("{}/tiers", t(ns)), None)),
        ),
        e(
            "tier plan",
            Needs::OnNs(Role::Reader),
            200,
            Box::new(move |ns| {
                (
                    Method::POST,
                    format!("{}/tiers/plan", t(ns)),
                    Some(json!({})),
                )
            }),
        ),
        e(
            "set tiers",
            Needs::OnNs(Role::Writer),
            200,
            Box::new(move |ns| {
                (
                    Method::PUT,
                    format!("{}/tiers", t(ns)),
                    Some(json!({"tiers": [{"name": "hot"}, {"name": "cold"}]})),
                )
            }),
        ),
        e(
            "set tier policies",
            Needs::OnNs(Role::Writer),
            200,
            Box::new(move |ns| {
                (
                    Method::PUT,
                    format!("{}/tiers/policies", t(ns)),
                    Some(json!({"policies": []})),
                )
            }),
        ),
        e(
            "tier apply",
            Needs::OnNs(Role::Writer),
            200,
            Box::new(move |ns| {
                (
                    Method::POST,
                    format!("{}/tiers/apply", t(ns)),
                    Some(json!({"graceSeconds": 0})),
                )
            }),
        ),
        e(
            "tier move",
            Needs::OnNs(Role::Writer),
            200,
            Box::new(move |ns| {
                (
                    Method::POST,
                    format!("{}/tiers/move", t(ns)),
                    Some(json!({"filter": "id >= 0", "to": "hot", "graceSeconds": 0})),
                )
            }),
        ),
        e(
            "maintenance",
            Needs::OnNs(Role::Writer),
            200,
            Box::new(move |ns| {
                (
                    Method::POST,
                    format!("{}/maintenance", t(ns)),
                    Some(json!({"dryRun": true})),
                )
            }),
        ),
        e(
            "tier restore",
            Needs::OnNs(Role::Writer),
            200,
            Box::new(move |ns| {
                (
                    Method::POST,
                    format!("{}/tiers/restore", t(ns)),
                    Some(json!({})),
                )
            }),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_matrix_every_endpoint_role_and_token() {
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let ns = unique("m");
    cat.admin
        .create_namespace(&ns, BTreeMap::new())
        .await
        .unwrap();
    cat.admin
        .create_table(&ns, &create_request("t"))
        .await
        .unwrap();
    let other = unique("other");
    cat.admin
        .create_namespace(&other, BTreeMap::new())
        .await
        .unwrap();

    let mut callers = vec![Caller::NoToken, Caller::Invalid, Caller::Malformed];
    for role in [Role::Reader, Role::Writer, Role::Admin] {
        callers.push(Caller::Token {
            label: format!("{role}"),
            token: token(cat.store.as_ref(), role, None).await,
            role,
            scoped: false,
        });
        callers.push(Caller::Token {
            label: format!("{role} on the namespace"),
            token: token(cat.store.as_ref(), role, Some(&ns)).await,
            role,
            scoped: true,
        });
    }
    // A token scoped to another namespace is refused like a missing role.
    let foreign = token(cat.store.as_ref(), Role::Admin, Some(&other)).await;

    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for e in endpoints(cat.warehouse.path()) {
        for caller in &callers {
            let (method, path, body) = (e.build)(&ns);
            let mut req = http.request(method, format!("{}{path}", cat.url()));
            req = match caller {
                Caller::NoToken => req,
                Caller::Invalid => req.bearer_auth("strata_0000"),
                Caller::Malformed => req.header("authorization", "Basic Zm9vOmJhcg=="),
                Caller::Token { token, .. } => req.bearer_auth(token),
            };
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let got = resp.status().as_u16();
            let want = expected(&e, caller);
            if got != want {
                let text = resp.text().await.unwrap_or_default();
                failures.push(format!(
                    "{} as {caller:?}: got {got}, want {want}: {text}",
                    e.name
                ));
            } else if got >= 400 {
                let v: Value = resp.json().await.unwrap();
                assert!(v["error"]["code"].is_string(), "{}: {v}", e.name);
            }
            checked += 1;
        }
        // The foreign-scoped admin.
        if matches!(e.needs, Needs::OnNs(_)) {
            let (method, path, body) = (e.build)(&ns);
            let mut req = http
                .request(method, format!("{}{path}", cat.url()))
                .bearer_auth(&foreign);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let got = req.send().await.unwrap().status().as_u16();
            if got != 403 {
                failures.push(format!(
                    "{} as an admin of another namespace: got {got}",
                    e.name
                ));
            }
            checked += 1;
        }
    }
    for c in &callers {
        if let Caller::Token { label, .. } = c {
            assert!(!label.is_empty());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // A namespace-scoped token only lists its namespace.
    let scoped = token(cat.store.as_ref(), Role::Reader, Some(&ns)).await;
    let names: Vec<String> = cat
        .client(Some(&scoped))
        .list_namespaces()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, vec![ns.clone()]);
    cat.stop().await;
}

/// Tokens are stored only as hashes and work once created through the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_created_through_the_api_work_and_are_hashed() {
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let created = cat
        .admin
        .create_token(&strata_catalog::model::CreateTokenRequest {
            role: Role::Reader,
            namespace: None,
            description: None,
            expires_in_seconds: None,
        })
        .await
        .unwrap();
    assert!(created.token.starts_with("strata_"));
    assert!(
        cat.store
            .find_token(&created.token)
            .await
            .unwrap()
            .is_none()
    );
    let rec = cat
        .store
        .find_token(&strata_catalog::auth::hash_token(&created.token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.role, Role::Reader);
    cat.client(Some(&created.token))
        .list_namespaces()
        .await
        .unwrap();
    cat.stop().await;
}
