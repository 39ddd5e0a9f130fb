//! Token lifecycle and the audit trail through the `strata` binary: `catalog token create
//! --expires-in`, `token list` (never a secret), `token revoke`, `catalog audit`.

use serde_json::Value;

use crate::served::Served;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn token_entry<'a>(list: &'a Value, description: &str) -> &'a Value {
    list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["description"] == description)
        .unwrap_or_else(|| panic!("no token `{description}` in {list}"))
}

#[test]
fn tokens_are_listed_revoked_expire_and_writes_are_audited() {
    let cat = Served::start();
    cat.ok(&["namespace", "create", "sales"]);
    let create = |role: &str, description: &str, extra: &[&str]| {
        let mut args = vec![
            "catalog",
            "token",
            "create",
            "--role",
            role,
            "--namespace",
            "sales",
            "--description",
            description,
        ];
        args.extend(extra);
        cat.ok(&args).trim().to_string()
    };
    let writer = create("writer", "etl", &["--expires-in", "3s"]);
    let reader = create("reader", "dashboards", &[]);
    let created = std::time::Instant::now();

    // Both work; using a token records its last use.
    for t in [&writer, &reader] {
        let r = cat.run_as(t, &["table", "list", "sales"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let listed = cat.ok(&["-o", "json", "catalog", "token", "list"]);
    for secret in [&writer, &reader] {
        assert!(!listed.contains(secret.as_str()), "a secret is listed");
    }
    let list = json(&listed);
    let etl = token_entry(&list, "etl");
    assert_eq!(etl["role"], "writer");
    assert_eq!(etl["namespace"], "sales");
    assert!(etl["expiresAtMs"].as_i64().unwrap() > etl["createdAtMs"].as_i64().unwrap());
    assert!(etl["lastUsedAtMs"].is_i64(), "{etl}");
    assert!(etl.get("hash").is_none() && etl.get("token").is_none());

    // The writer's write is audited under its id.
    let r = cat.run_as(&writer, &["table", "drop", "sales.nope"]);
    assert_ne!(r.code, 0);
    let audit = json(&cat.ok(&["-o", "json", "catalog", "audit", "--namespace", "sales"]));
    let entries = audit["entries"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["tokenId"] == etl["id"]
            && e["action"] == "DELETE /v1/namespaces/sales/tables/nope"
            && e["status"] == 404
            && e["target"] == "sales.nope"),
        "{audit}"
    );

    // Revoked: refused at once, and the revocation is audited.
    let dashboards = token_entry(&list, "dashboards")["id"]
        .as_str()
        .unwrap()
        .to_string();
    cat.ok(&["catalog", "token", "revoke", &dashboards]);
    let r = cat.run_as(&reader, &["table", "list", "sales"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("revoked"), "{}", r.stderr);
    let revoked = json(&cat.ok(&["-o", "json", "catalog", "token", "list"]));
    assert!(token_entry(&revoked, "dashboards")["revokedAtMs"].is_i64());
    let r = cat.run(&["catalog", "token", "revoke", "no-such-token"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("404"), "{}", r.stderr);

    // Expired: refused once its time has passed.
    let wait = std::time::Duration::from_millis(3_200).saturating_sub(created.elapsed());
    std::thread::sleep(wait);
    let r = cat.run_as(&writer, &["table", "list", "sales"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("expired"), "{}", r.stderr);
    let r = cat.run(&[
        "catalog",
        "token",
        "create",
        "--role",
        "reader",
        "--expires-in",
        "0s",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("--expires-in"), "{}", r.stderr);
}
