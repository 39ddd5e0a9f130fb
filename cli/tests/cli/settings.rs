//! The settings file (`STRATA_CONFIG`): named catalogs picked by name, tokens from commands,
//! defaults, `strata config show` with secrets hidden, and `strata serve` of a named catalog.

use std::io::{BufRead, BufReader};
use std::process::{Command as Process, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;
use crate::served::Served;

/// `strata ARGS` with the settings file `settings` and no token in the environment.
fn with_settings(settings: &str, args: &[&str]) -> Run {
    let mut c = strata();
    c.env("STRATA_CONFIG", settings)
        .env_remove("STRATA_TOKEN")
        .args(args);
    finish(c)
}

#[test]
fn catalogs_are_picked_by_name_and_secrets_never_shown() {
    let served = Served::start();
    let dir = Scratch::new();
    let settings = dir.write(
        "strata.toml",
        &format!(
            "default_catalog = \"local\"\n\
             [catalogs.local]\nuri = \"{}\"\ntoken_command = \"printf %s {}\"\n\
             [catalogs.unused]\nuri = \"http://127.0.0.1:9\"\ntoken = \"s3cr3t-never-shown\"\n",
            served.url(),
            served.token()
        ),
    );
    // By name, with the token the command printed.
    let created = with_settings(
        &settings,
        &["--catalog", "local", "namespace", "create", "sales"],
    );
    assert_eq!(created.code, 0, "{created:?}");
    // The default catalog, without --catalog.
    let listed = with_settings(&settings, &["namespace", "list", "--output", "json"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(listed.stdout.contains("sales"), "{}", listed.stdout);
    let table = with_settings(
        &settings,
        &["create", "sales.orders", "--schema", "id:int64"],
    );
    assert_eq!(table.code, 0, "{table:?}");
    // An unknown name lists the known ones.
    let unknown = with_settings(&settings, &["--catalog", "prod", "namespace", "list"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(
        unknown.stderr.contains("`--catalog prod`")
            && unknown.stderr.contains("known catalogs: local, unused"),
        "{}",
        unknown.stderr
    );
    // `config show` says what applies and where from, secrets hidden.
    let shown = with_settings(&settings, &["config", "show"]);
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(!shown.stdout.contains("s3cr3t"), "{}", shown.stdout);
    assert!(!shown.stdout.contains(served.token()), "{}", shown.stdout);
    assert!(shown.stdout.contains("set (hidden)"), "{}", shown.stdout);
    assert!(
        shown.stdout.contains("from the command `printf ...`"),
        "{}",
        shown.stdout
    );
    let doc = with_settings(&settings, &["config", "show", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&doc.stdout).unwrap();
    assert_eq!(v["catalog"]["name"], "local");
    assert_eq!(v["catalog"]["source"], "default_catalog (settings file)");
    assert_eq!(v["settings_file"]["path"], settings.as_str());
    assert_eq!(v["output"]["source"], "--output");
    assert!(!doc.stdout.contains("s3cr3t"), "{}", doc.stdout);
}

#[test]
fn the_default_output_comes_from_the_settings_and_flags_win() {
    let dir = Scratch::new();
    let settings = dir.write("strata.toml", "output = \"json\"\n");
    let table = dir.file("t");
    ok(&["create", &table, "--schema", "id:int64"]);
    let history = with_settings(&settings, &["history", &table]);
    assert_eq!(history.code, 0, "{history:?}");
    let v: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    assert!(v.is_array() || v.is_object(), "{v}");
    let csv = with_settings(&settings, &["--output", "csv", "history", &table]);
    assert!(
        serde_json::from_str::<serde_json::Value>(&csv.stdout).is_err(),
        "{}",
        csv.stdout
    );
    let shown = with_settings(&settings, &["config", "show", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(v["aws_profile"]["source"], "default");
}

#[test]
fn a_bad_settings_file_is_named_with_the_line() {
    let dir = Scratch::new();
    let bad = dir.write("bad.toml", "output = \"table\"\n[catalogs.x]\nuri = \n");
    let r = with_settings(&bad, &["config", "show"]);
    assert_eq!(r.code, 1, "{r:?}");
    let first = r.stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains(&format!("settings file `{bad}`")) && first.contains("line 3"),
        "{}",
        r.stderr
    );
    let missing = dir.file("missing.toml");
    let r = with_settings(&missing, &["config", "show"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
}

#[test]
fn serve_serves_the_named_catalog_at_its_address_and_warehouse() {
    let dir = Scratch::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let warehouse = dir.path().join("lake");
    let settings = dir.write(
        "strata.toml",
        &format!(
            "default_catalog = \"here\"\n[catalogs.here]\nuri = \"http://127.0.0.1:{port}\"\n\
             warehouse = \"{}\"\n",
            warehouse.display()
        ),
    );
    let store = format!("sqlite://{}", dir.path().join("catalog.db").display());
    let token_out = strata()
        .args([
            "catalog", "token", "create", "--role", "admin", "--store", &store,
        ])
        .output()
        .unwrap();
    assert!(token_out.status.success(), "{token_out:?}");
    let token = String::from_utf8(token_out.stdout)
        .unwrap()
        .trim()
        .to_string();
    let mut child = Process::new(env!("CARGO_BIN_EXE_strata"))
        .args(["serve", "--store", &store])
        .env("STRATA_CONFIG", &settings)
        .env_remove("STRATA_CATALOG")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("listening") {
                let _ = tx.send(line);
            }
        }
    });
    let listening = rx.recv_timeout(Duration::from_secs(60));
    let run = |args: &[&str]| {
        let mut c = strata();
        c.env("STRATA_CONFIG", &settings)
            .env("STRATA_TOKEN", &token)
            .args(args);
        c.output().unwrap()
    };
    let ns = run(&["namespace", "create", "ops"]);
    let created = run(&["create", "ops.jobs", "--schema", "id:int64"]);
    let _ = child.kill();
    let _ = child.wait();
    let listening = listening.expect("strata serve did not report listening");
    assert!(
        listening.contains(&format!("127.0.0.1:{port}")),
        "{listening}"
    );
    assert!(ns.status.success(), "{ns:?}");
    assert!(created.status.success(), "{created:?}");
    let log = find_files(&warehouse, "json");
    assert!(
        log.iter().any(|p| p.to_string_lossy().contains("jobs")),
        "the table is not in the named catalog's warehouse: {log:?}"
    );
}
