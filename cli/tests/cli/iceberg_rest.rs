//! Iceberg engines reading Strata tables through the Iceberg REST catalog of `strata serve`
//! (`/iceberg`), configured with nothing but the catalog's URL and a token: pyiceberg's
//! `RestCatalog` and DuckDB's `ATTACH ... (TYPE iceberg)`. At every retained version, after
//! appends, a delete, schema and partition evolution, a tag and a tier move, the rows they
//! read equal `strata scan`'s; a token scoped to one namespace lists only that namespace's
//! tables. Locally and on S3 (moto).

use serde_json::Value;

use crate::common::{Scratch, s3_base};
use crate::iceberg::{build_history, move_to_cold, read, readers, strata_rows};
use crate::served::Served;

/// Reads `lake.events` through the REST catalog at every version up to `latest` with both
/// engines and compares with `strata scan` of the table at `t`; the metadata location
/// pyiceberg was given.
fn check_every_version(
    readers: &(String, String),
    rest: &str,
    token: &str,
    t: &str,
    latest: u64,
) -> String {
    let ids: Vec<String> = (0..=latest).map(|v| (v + 1).to_string()).collect();
    let ids = ids.join(",");
    let args = ["--rest", rest, "--token", token];
    let py = read(
        readers,
        "pyiceberg",
        "lake.events",
        &[&[ids.as_str()], &args[..]].concat(),
    );
    let duck = read(
        readers,
        "duckdb",
        "lake.events",
        &[&[ids.as_str()], &args[..]].concat(),
    );
    // The scoped token lists its namespace's table only.
    for (engine, out) in [("pyiceberg", &py), ("DuckDB", &duck)] {
        assert_eq!(
            out["tables"],
            serde_json::json!(["lake.events"]),
            "{engine}"
        );
    }
    for v in 0..=latest {
        let want = strata_rows(t, v, None);
        assert!(want["rows"].is_array(), "{want}");
        let key = (v + 1).to_string();
        assert_eq!(py[&key], want, "pyiceberg at version {v}");
        assert_eq!(duck[&key]["rows"], want["rows"], "DuckDB at version {v}");
    }
    py["metadata-location"]
        .as_str()
        .expect("metadata location")
        .to_string()
}

fn scenario(readers: &(String, String), served: &Served, cold_uri: &str) {
    served.ok(&["namespace", "create", "lake"]);
    served.ok(&["namespace", "create", "other"]);
    served.ok(&["create", "other.hidden", "--schema", "id:int64", "-q"]);
    let t = format!("{}/lake/events", served.warehouse());
    let scratch = Scratch::new();
    build_history(&scratch, &t);
    served.ok(&["table", "register", "lake.events", &t]);
    let created: Value = serde_json::from_str(&served.ok(&[
        "catalog",
        "token",
        "create",
        "--role",
        "reader",
        "--namespace",
        "lake",
        "-o",
        "json",
    ]))
    .expect("token JSON");
    let token = created["token"].as_str().expect("token").to_string();
    let rest = format!("{}/iceberg", served.url());

    let first = check_every_version(readers, &rest, &token, &t, 11);
    assert!(first.contains("/_strata_iceberg/v11-"), "{first}");
    // Time travel by tag (version 5 is snapshot 6).
    let tag = read(
        readers,
        "pyiceberg",
        "lake.events",
        &["", "--tag", "release", "--rest", &rest, "--token", &token],
    );
    assert_eq!(tag["tag"], 6);
    assert_eq!(tag["6"], strata_rows(&t, 5, None));
    // The admin token sees every namespace.
    let all = read(
        readers,
        "pyiceberg",
        "lake.events",
        &["", "--rest", &rest, "--token", served.token()],
    );
    assert_eq!(
        all["tables"],
        serde_json::json!(["lake.events", "other.hidden"])
    );

    // A tier move: the next load serves new metadata naming the new locations, and every
    // version still reads the same.
    move_to_cold(&t, cold_uri);
    let moved = check_every_version(readers, &rest, &token, &t, 13);
    assert_ne!(moved, first);
    assert!(moved.contains("/_strata_iceberg/v13-"), "{moved}");
}

#[test]
fn iceberg_rest_catalog_serves_every_version_to_real_engines() {
    let Some(readers) = readers() else { return };
    let served = Served::start_in(None);
    let cold = format!("file://{}", served.archive("cold"));
    scenario(&readers, &served, &cold);
}

#[test]
fn iceberg_rest_catalog_serves_an_s3_warehouse() {
    let Some(readers) = readers() else { return };
    let Some(base) = s3_base("iceberg-rest") else {
        return;
    };
    let served = Served::start_in(Some(&format!("{base}/warehouse")));
    scenario(&readers, &served, &format!("{base}/cold"));
}
