//! Token lifecycle and audit across namespaces: a namespace-scoped admin sees, revokes and
//! audits only its own namespace; the principal of every write is recorded.

use strata_catalog::auth::Role;
use strata_catalog::model::CreateTokenRequest;
use strata_catalog::{Error, TableRef};

use crate::harness::{Backend, TestCatalog, add_in, token};

fn status(e: &Error) -> u16 {
    match e {
        Error::Api { status, .. } => *status,
        other => panic!("not an API error: {other}"),
    }
}

async fn suite(backend: Backend) {
    let cat = TestCatalog::start(&backend).await;
    let (ns, _) = cat.namespace_with_table("own").await;
    let (other, _) = cat.namespace_with_table("other").await;
    let admin_here = cat.client(Some(
        &token(cat.store.as_ref(), Role::Admin, Some(&ns)).await,
    ));
    let admin_there = cat.client(Some(
        &token(cat.store.as_ref(), Role::Admin, Some(&other)).await,
    ));
    let req = |namespace: &str| CreateTokenRequest {
        role: Role::Writer,
        namespace: Some(namespace.to_string()),
        description: Some(format!("writer of {namespace}")),
        expires_in_seconds: Some(3600),
    };
    let mine = admin_here.create_token(&req(&ns)).await.unwrap();
    let theirs = admin_there.create_token(&req(&other)).await.unwrap();
    assert!(mine.expires_at_ms.is_some());

    // Lists are scoped; secrets never appear.
    let listed = admin_here.list_tokens().await.unwrap();
    assert!(
        listed
            .iter()
            .all(|t| t.namespace.as_deref() == Some(ns.as_str()))
    );
    assert!(listed.iter().any(|t| t.id == mine.id));
    let everything = cat.admin.list_tokens().await.unwrap();
    assert!(everything.iter().any(|t| t.id == theirs.id));
    let text = serde_json::to_string(&everything).unwrap();
    assert!(!text.contains(&mine.token) && !text.contains(&theirs.token));

    // A scoped admin cannot revoke another namespace's token (it does not exist for it).
    assert_eq!(
        status(&admin_here.revoke_token(&theirs.id).await.unwrap_err()),
        404
    );
    let writer_there = cat.client(Some(&theirs.token));
    writer_there.list_tables(&other).await.unwrap();

    // Writes are audited with the token that made them.
    let writer_here = cat.client(Some(&mine.token));
    let t = TableRef::parse(&format!("{ns}.t")).unwrap();
    let v = writer_here
        .commit_actions(
            &t,
            0,
            &uuid::Uuid::new_v4().to_string(),
            "WRITE",
            &[strata_format::Action::from_json_line(
                &add_in(cat.warehouse.path(), &ns, "t", "a.parquet", 1).to_string(),
            )
            .unwrap()
            .unwrap()],
            Default::default(),
        )
        .await
        .unwrap();
    let audit = admin_here.audit(None, 50).await.unwrap();
    let commit = audit
        .iter()
        .find(|e| e.action == "POST /v1/commits")
        .expect("the commit is audited");
    assert_eq!(commit.token_id, mine.id);
    assert_eq!(commit.target.as_deref(), Some(format!("{ns}.t").as_str()));
    assert!(
        commit
            .detail
            .as_deref()
            .unwrap()
            .ends_with(&format!("version {v}"))
    );
    assert!(
        audit
            .iter()
            .all(|e| e.namespace.as_deref() == Some(ns.as_str()))
    );
    assert_eq!(
        status(&admin_here.audit(Some(&other), 10).await.unwrap_err()),
        403
    );
    assert_eq!(status(&writer_here.audit(None, 10).await.unwrap_err()), 403);

    // Revocation takes effect at once; a revoked token is refused with 401.
    admin_here.revoke_token(&mine.id).await.unwrap();
    let e = writer_here.list_tables(&ns).await.unwrap_err();
    assert_eq!(status(&e), 401);
    assert!(e.to_string().contains("revoked"), "{e}");
    let after = cat.admin.list_tokens().await.unwrap();
    assert!(
        after
            .iter()
            .find(|t| t.id == mine.id)
            .unwrap()
            .revoked_at_ms
            .is_some()
    );
    cat.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_audit_are_scoped_sqlite() {
    suite(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_audit_are_scoped_postgres() {
    if let Some(b) = Backend::postgres("tokens_and_audit_are_scoped_postgres") {
        suite(b).await;
    }
}
