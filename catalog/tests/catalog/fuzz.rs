//! A property-based fuzz of the API from its OpenAPI document (schemathesis): no 5xx.
//!
//! Runs with the Python of the test harness (`STRATA_TEST_PYTHON`, set by scripts/test, which
//! installs schemathesis); without it, prints a notice and passes.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::harness::{Backend, TestCatalog, create_request};

fn python() -> Option<String> {
    match std::env::var("STRATA_TEST_PYTHON") {
        Ok(p) if !p.trim().is_empty() => Some(p),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors() {
    let Some(python) = python() else {
        eprintln!("notice: STRATA_TEST_PYTHON is not set; skipping the schemathesis fuzz");
        return;
    };
    let probe = tokio::process::Command::new(&python)
        .args(["-c", "import schemathesis"])
        .output()
        .await;
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("notice: schemathesis is not installed for {python}; skipping the fuzz");
        return;
    }
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    // Something real to find, next to the random names.
    cat.admin
        .create_namespace("fuzz", BTreeMap::new())
        .await
        .unwrap();
    cat.admin
        .create_table("fuzz", &create_request("t"))
        .await
        .unwrap();
    // schemathesis and hypothesis keep caches in the working directory: not in the repository.
    let scratch = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new(&python)
        .args([
            "-c",
            "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'st'; sys.exit(schemathesis())",
            "run",
            &format!("{}/openapi.json", cat.url()),
            "--header",
            &format!("Authorization: Bearer {}", cat.admin_token),
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--workers",
            "2",
            "--seed",
            "20261130",
        ])
        .env("NO_COLOR", "1")
        .current_dir(scratch.path())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("schemathesis took over 10 minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{stderr}"
    );
    cat.stop().await;
}

/// The generated OpenAPI document validates (openapi-spec-validator, in the harness's venv).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_valid() {
    let Some(python) = python() else {
        eprintln!("notice: STRATA_TEST_PYTHON is not set; skipping the OpenAPI validation");
        return;
    };
    let cat = TestCatalog::start(&Backend::sqlite()).await;
    let doc = cat.admin.openapi().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = tokio::process::Command::new(&python)
        .args([
            "-c",
            "import json, sys\n\
             try:\n    from openapi_spec_validator import validate\n\
             except ImportError:\n    print('openapi-spec-validator missing'); sys.exit(0)\n\
             validate(json.load(open(sys.argv[1])))",
            path.to_str().unwrap(),
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "invalid OpenAPI document: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    cat.stop().await;
}
