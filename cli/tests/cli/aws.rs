//! The first hour on S3: credentials from the AWS CLI's chain (profiles in config files, the
//! `--profile` flag, `AWS_PROFILE`, the settings file's default) and storage errors that read
//! as one actionable line, each as a spawned `strata` against moto or a closed port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Variables through which credentials or a profile could leak into a test from outside.
const AWS_IDENTITY_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// An AWS home of its own: config and credentials files in a temporary folder, no identity
/// from the environment, and instance metadata switched off (never reached from a test).
struct AwsHome {
    dir: Scratch,
}

impl AwsHome {
    fn new() -> Self {
        Self {
            dir: Scratch::new(),
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("aws-config")
    }

    fn credentials(&self) -> PathBuf {
        self.dir.path().join("aws-credentials")
    }

    fn write_profiles(&self, credentials: &str, config: &str) {
        std::fs::write(self.credentials(), credentials).unwrap();
        std::fs::write(self.config(), config).unwrap();
    }

    /// `strata ARGS` with only this home's identity, talking to `endpoint`.
    fn run(&self, args: &[&str], endpoint: &str, env: &[(&str, &str)]) -> Run {
        let mut c = strata();
        for v in AWS_IDENTITY_VARS {
            c.env_remove(v);
        }
        c.env("AWS_CONFIG_FILE", self.config())
            .env("AWS_SHARED_CREDENTIALS_FILE", self.credentials())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_REGION", "us-east-1")
            .args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        finish(c)
    }
}

/// The moto endpoint and a fresh table URI in the test bucket, or `None` without S3.
fn moto(test: &str) -> Option<(String, String)> {
    let table = s3_base(test)?;
    Some((std::env::var(S3_ENDPOINT_VAR).ok()?, table))
}

/// Asserts that a failed run printed one error line and one hint line, and nothing of the
/// raw request (no XML body, no instance-metadata address).
fn one_actionable_line(r: &Run, says: &str, hint: &str) {
    assert_eq!(r.code, 1, "{r:?}");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "one error and one hint: {}", r.stderr);
    assert!(lines[0].starts_with("error: "), "{}", r.stderr);
    assert!(lines[0].contains(says), "`{says}` missing: {}", r.stderr);
    assert!(lines[1].starts_with("hint: "), "{}", r.stderr);
    assert!(lines[1].contains(hint), "`{hint}` missing: {}", r.stderr);
    for raw in ["<?xml", "<Error>", "169.254.169.254", "Generic S3 error"] {
        assert!(!r.stderr.contains(raw), "raw `{raw}` printed: {}", r.stderr);
    }
}

#[test]
fn no_credentials_says_where_it_looked_without_touching_the_network() {
    let home = AwsHome::new();
    home.write_profiles("", "");
    // A closed port: had anything been sent, the error would be "unreachable" instead.
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let r = home.run(
        &["scan", "s3://some-bucket/t"],
        &endpoint,
        &[("AWS_PROFILE", "analyst")],
    );
    one_actionable_line(
        &r,
        "no AWS credentials found: profile `analyst` is defined in neither",
        "--profile",
    );
    let line = r.stderr.lines().next().unwrap_or_default();
    assert!(line.starts_with("error: s3://some-bucket/t: "), "{line}");
    for place in [
        home.credentials().display().to_string(),
        home.config().display().to_string(),
        "AWS_ACCESS_KEY_ID".to_string(),
        "disabled by AWS_EC2_METADATA_DISABLED".to_string(),
    ] {
        assert!(line.contains(&place), "{place} missing: {line}");
    }
    // With -v the raw chain follows.
    let verbose = home.run(
        &["-v", "scan", "s3://some-bucket/t"],
        &endpoint,
        &[("AWS_PROFILE", "analyst"), ("RUST_LOG", "off")],
    );
    assert!(verbose.stderr.contains("caused by:"), "{}", verbose.stderr);
}

#[test]
fn profiles_from_the_aws_files_reach_s3_by_flag_variable_or_settings() {
    let Some((endpoint, table)) = moto("aws-profiles") else {
        return;
    };
    let home = AwsHome::new();
    // Moto accepts any key: what is checked is that the chain found one in profile `lake`
    // (its region from the config file) and none elsewhere.
    home.write_profiles(
        "[lake]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
        "[profile lake]\nregion = us-east-1\n",
    );
    let settings = home.dir.write("strata.toml", "aws_profile = \"lake\"\n");
    let no_region = [("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "")];
    let by_flag = home.run(
        &[
            "--profile",
            "lake",
            "create",
            &table,
            "--schema",
            "id:int64",
        ],
        &endpoint,
        &no_region,
    );
    assert_eq!(by_flag.code, 0, "{by_flag:?}");
    let by_var = home.run(&["count", &table], &endpoint, &[("AWS_PROFILE", "lake")]);
    assert_eq!(by_var.code, 0, "{by_var:?}");
    assert_eq!(by_var.stdout.trim(), "0");
    let by_settings = home.run(
        &["config", "show"],
        &endpoint,
        &[("STRATA_CONFIG", settings.as_str())],
    );
    assert!(
        by_settings.stdout.contains("lake") && by_settings.stdout.contains("settings file"),
        "{by_settings:?}"
    );
    let scan = home.run(
        &["count", &table],
        &endpoint,
        &[("STRATA_CONFIG", settings.as_str())],
    );
    assert_eq!(scan.code, 0, "{scan:?}");
    // Without a profile nothing is found; an unknown profile is named.
    let none = home.run(&["count", &table], &endpoint, &[]);
    one_actionable_line(
        &none,
        "no AWS credentials found for profile `default`",
        "aws",
    );
    let unknown = home.run(&["--profile", "nope", "count", &table], &endpoint, &[]);
    assert!(
        unknown
            .stderr
            .contains("profile `nope` is defined in neither"),
        "{}",
        unknown.stderr
    );
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(
        unknown.stderr.contains("profile `nope`") && unknown.stderr.lines().count() == 2,
        "{}",
        unknown.stderr
    );
}

#[test]
fn a_missing_bucket_is_one_line_whatever_the_command() {
    let Some((endpoint, _)) = moto("aws-no-bucket") else {
        return;
    };
    let home = AwsHome::new();
    home.write_profiles(
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
        "",
    );
    let bucket = format!("strata-missing-{}", std::process::id());
    let table = format!("s3://{bucket}/t");
    for args in [
        vec!["scan", table.as_str()],
        vec!["create", table.as_str(), "--schema", "id:int64"],
        vec!["history", table.as_str()],
    ] {
        let r = home.run(&args, &endpoint, &[]);
        one_actionable_line(
            &r,
            &format!("bucket `{bucket}` does not exist"),
            &format!("aws s3 mb s3://{bucket}"),
        );
    }
}

#[test]
fn an_unreachable_endpoint_is_named_after_a_few_retries() {
    let home = AwsHome::new();
    home.write_profiles(
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
        "",
    );
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let r = home.run(&["scan", "s3://b/t"], &endpoint, &[]);
    one_actionable_line(
        &r,
        &format!("endpoint {endpoint} is unreachable"),
        "AWS_ENDPOINT_URL",
    );
    assert!(r.stderr.contains("reading `t/_strata_log"), "{}", r.stderr);
}

#[test]
fn a_wrong_region_names_the_buckets_region() {
    let (Some((endpoint, table)), Ok(python)) =
        (moto("aws-region"), std::env::var("STRATA_TEST_PYTHON"))
    else {
        return;
    };
    // moto accepts any region; the proxy adds S3's check (a bucket in eu-west-1).
    let (proxy, port) = spawn_server(
        &python,
        "s3_proxy.py",
        &[&endpoint, "--region", "eu-west-1"],
    );
    let via_proxy = format!("http://127.0.0.1:{port}");
    let home = AwsHome::new();
    home.write_profiles(
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
        "",
    );
    let wrong = home.run(
        &["create", &table, "--schema", "id:int64"],
        &via_proxy,
        &[("AWS_REGION", "us-east-1")],
    );
    let right = home.run(
        &["create", &table, "--schema", "id:int64"],
        &via_proxy,
        &[("AWS_REGION", "eu-west-1")],
    );
    drop(proxy);
    one_actionable_line(
        &wrong,
        "wrong region: the bucket is in `eu-west-1`",
        "AWS_REGION=eu-west-1",
    );
    assert_eq!(right.code, 0, "{right:?}");
}

/// One request to the proxy's accounting (`/__proxy/stats` or `/__proxy/reset`).
fn proxy_stats(port: u16, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let method = if path.ends_with("reset") {
        "POST"
    } else {
        "GET"
    };
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap()
}

/// The latency proxy (scripts/s3_proxy.py `--delay-ms`, for the latency benchmarks) forwards
/// every request, answers unchanged, and counts requests and the round trips that could not
/// overlap.
#[test]
fn the_latency_proxy_forwards_and_counts_round_trips() {
    let (Some((endpoint, table)), Ok(python)) =
        (moto("aws-latency"), std::env::var("STRATA_TEST_PYTHON"))
    else {
        return;
    };
    // 40 ms per request: requests issued together overlap even on a loaded machine, so the
    // sequential count is the operation's chain of round trips.
    let (proxy, port) = spawn_server(&python, "s3_proxy.py", &[&endpoint, "--delay-ms", "40"]);
    let via_proxy = format!("http://127.0.0.1:{port}");
    let home = AwsHome::new();
    home.write_profiles(
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
        "",
    );
    let scratch = Scratch::new();
    let csv = scratch.write("a.csv", "id\n1\n2\n3\n");
    let created = home.run(&["create", &table, "--schema", "id:int64"], &via_proxy, &[]);
    assert_eq!(created.code, 0, "{created:?}");
    let after_create = proxy_stats(port, "/__proxy/stats");
    let requests = after_create["requests"].as_u64().unwrap();
    let sequential = after_create["sequential"].as_u64().unwrap();
    // Creating a table is one request: the put-if-absent of commit 0.
    assert_eq!(requests, 1, "{after_create}");
    assert!((1..=requests).contains(&sequential), "{after_create}");
    assert!(
        after_create["byMethod"]["PUT"].as_u64().unwrap() >= 1,
        "{after_create}"
    );
    assert_eq!(proxy_stats(port, "/__proxy/reset")["requests"], 0);
    let appended = home.run(&["append", &table, &csv, "-q"], &via_proxy, &[]);
    assert_eq!(appended.code, 0, "{appended:?}");
    // Issue 17's targets: opening the latest version takes at most 3 sequential round trips
    // (pointer, listing, then the commits at once) and a commit 2 (data file, commit file).
    let stats = proxy_stats(port, "/__proxy/stats");
    proxy_stats(port, "/__proxy/reset");
    assert!(
        stats["sequential"].as_u64().unwrap() <= 5,
        "append: {stats}"
    );
    assert_eq!(
        stats["byMethod"]["PUT"].as_u64(),
        Some(2),
        "append: {stats}"
    );
    let scanned = home.run(&["scan", &table, "-o", "json"], &via_proxy, &[]);
    assert_eq!(scanned.code, 0, "{scanned:?}");
    // A file smaller than the footer read is fetched whole with its footer: open (3) + 1.
    let stats = proxy_stats(port, "/__proxy/stats");
    proxy_stats(port, "/__proxy/reset");
    assert!(stats["sequential"].as_u64().unwrap() <= 4, "scan: {stats}");
    let counted = home.run(&["count", &table, "-o", "json"], &via_proxy, &[]);
    assert!(counted.stdout.contains("\"count\":3"), "{counted:?}");
    let stats = proxy_stats(port, "/__proxy/stats");
    // Opening reads commit 0 and commit 1 at once: fewer round trips than requests.
    let requests = stats["requests"].as_u64().unwrap();
    assert!(requests >= 3, "{stats}");
    assert!(
        stats["sequential"].as_u64().unwrap() < requests,
        "nothing was read concurrently: {stats}"
    );
    assert!(stats["sequential"].as_u64().unwrap() <= 3, "count: {stats}");
    drop(proxy);
}

#[test]
fn identities_s3_refuses_are_access_denied_and_the_flag_beats_the_environment() {
    let Some(auth) = AuthMoto::start() else {
        return;
    };
    let home = AwsHome::new();
    home.write_profiles(
        &format!(
            "[writer]\naws_access_key_id = {}\naws_secret_access_key = {}\n\
             [denied]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            auth.writer.0, auth.writer.1, auth.denied.0, auth.denied.1
        ),
        "",
    );
    let table = format!("s3://{}/t", AuthMoto::BUCKET);
    let created = home.run(
        &[
            "--profile",
            "writer",
            "create",
            &table,
            "--schema",
            "id:int64",
        ],
        &auth.endpoint,
        &[],
    );
    assert_eq!(created.code, 0, "{created:?}");
    let denied = home.run(
        &["--profile", "denied", "count", &table],
        &auth.endpoint,
        &[],
    );
    one_actionable_line(
        &denied,
        "access denied (AccessDenied)",
        "get-caller-identity",
    );
    // A key S3 does not know is refused the same way.
    let unknown_key = [
        ("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN000000000"),
        ("AWS_SECRET_ACCESS_KEY", "nope"),
    ];
    let bogus = home.run(&["count", &table], &auth.endpoint, &unknown_key);
    one_actionable_line(
        &bogus,
        "access denied (InvalidAccessKeyId)",
        "get-caller-identity",
    );
    // As in the AWS CLI, --profile wins over keys in the environment.
    let flag = home.run(
        &["--profile", "writer", "count", &table],
        &auth.endpoint,
        &unknown_key,
    );
    assert_eq!(flag.code, 0, "{flag:?}");
    assert_eq!(flag.stdout.trim(), "0");
}

/// The repository's scripts folder.
fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}

/// Starts `python scripts/SCRIPT PORT_FILE ARGS... --exit-with-pid <this process>` and waits
/// for the port it reports.
fn spawn_server(python: &str, script: &str, args: &[&str]) -> (Helper, u16) {
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let helper = Helper(
        Process::new(python)
            .arg(scripts().join(script))
            .arg(&port_file)
            .args(args)
            .arg("--exit-with-pid")
            .arg(std::process::id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(p) = std::fs::read_to_string(&port_file)
            && let Ok(port) = p.trim().parse()
        {
            return (helper, port);
        }
        assert!(Instant::now() < deadline, "{script} did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A helper server process, killed and reaped when dropped (also when a test fails).
struct Helper(Child);

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A moto server of its own that checks identities (scripts/s3_auth_setup.py), with a
/// bucket and two users: one allowed everything on S3, one allowed nothing.
struct AuthMoto {
    _server: Helper,
    endpoint: String,
    writer: (String, String),
    denied: (String, String),
}

impl AuthMoto {
    const BUCKET: &'static str = "strata-auth";

    /// `None` (after a notice) without `STRATA_TEST_PYTHON`.
    fn start() -> Option<Self> {
        let Ok(python) = std::env::var("STRATA_TEST_PYTHON") else {
            eprintln!("NOTICE: access-denied test skipped: set STRATA_TEST_PYTHON (scripts/test)");
            return None;
        };
        let (server, port) = spawn_server(
            &python,
            "moto_server.py",
            &["--host", "127.0.0.1", "--port", "0"],
        );
        let mut this = Self {
            _server: server,
            endpoint: String::new(),
            writer: Default::default(),
            denied: Default::default(),
        };
        this.endpoint = format!("http://127.0.0.1:{port}");
        let out = Process::new(&python)
            .arg(scripts().join("s3_auth_setup.py"))
            .args([&this.endpoint, Self::BUCKET])
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let pair = |who: &str| {
            (
                keys[who]["id"].as_str().unwrap().to_string(),
                keys[who]["secret"].as_str().unwrap().to_string(),
            )
        };
        this.writer = pair("writer");
        this.denied = pair("denied");
        Some(this)
    }
}
