//! Helpers: run the real `strata` binary, sample input files, places to create tables in.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Environment variable naming the S3 endpoint (scripts/test starts moto and sets it).
pub const S3_ENDPOINT_VAR: &str = "STRATA_TEST_S3_ENDPOINT";
/// Environment variable naming the S3 bucket.
pub const S3_BUCKET_VAR: &str = "STRATA_TEST_S3_BUCKET";

/// The schema of the sample tables.
pub const SCHEMA: &str = "id:int64,name:string?,ts:timestamptz,score:float64?";

/// Three rows on two days.
pub const CSV_A: &str = "id,name,ts,score\n\
1,ann,2026-01-01T10:00:00Z,1.5\n\
2,bob,2026-01-02T10:00:00Z,\n\
3,,2026-01-02T11:00:00Z,3.0\n";

/// Two rows on a third day.
pub const NDJSON_B: &str = "{\"id\":4,\"name\":\"dan\",\"ts\":\"2026-01-03T00:00:00Z\",\"score\":4.0}\n\
{\"id\":5,\"name\":\"eve\",\"ts\":\"2026-01-03T01:00:00Z\"}\n";

/// The `strata` binary with a clean environment for styling, catalogs and settings.
pub fn strata() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_strata"));
    for var in ["NO_COLOR", "CLICOLOR_FORCE", "STRATA_CATALOG", "RUST_LOG"] {
        c.env_remove(var);
    }
    // No settings file of the machine's user (an empty one).
    c.env("STRATA_CONFIG", "/dev/null");
    c
}

/// What a run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `strata ARGS` with extra environment variables.
pub fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = strata();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    finish(c)
}

/// Runs a prepared `strata` command to its end.
pub fn finish(mut c: assert_cmd::Command) -> Run {
    let out = c.output().expect("spawn strata");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `strata ARGS`.
pub fn run(args: &[&str]) -> Run {
    run_env(args, &[])
}

/// Runs `strata ARGS`, expects success, returns stdout.
pub fn ok(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(
        r.code, 0,
        "strata {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    r.stdout
}

/// Runs `strata ARGS`, expects success, returns stderr (where write commands report).
pub fn ok_stderr(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(r.code, 0, "strata {args:?} failed\nstderr:\n{}", r.stderr);
    r.stderr
}

/// Runs `strata ARGS`, expects exit code `code`, returns stderr.
pub fn fails(args: &[&str], code: i32) -> String {
    let r = run(args);
    assert_eq!(
        r.code, code,
        "strata {args:?}: expected exit code {code}\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    assert!(r.stderr.contains("error"), "no error message: {}", r.stderr);
    r.stderr
}

/// Runs `strata ARGS --output json` and parses the document.
pub fn json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--output", "json"]);
    let out = ok(&a);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("strata {a:?}: bad JSON ({e}):\n{out}"))
}

/// Runs `strata ARGS --output ndjson` and parses every line.
pub fn ndjson(args: &[&str]) -> Vec<Value> {
    let mut a = args.to_vec();
    a.extend(["--output", "ndjson"]);
    ok(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad NDJSON line ({e}): {l}")))
        .collect()
}

/// Runs `strata ARGS --output csv` and splits lines and cells (the sample data has no commas
/// inside values).
pub fn csv(args: &[&str]) -> Vec<Vec<String>> {
    let mut a = args.to_vec();
    a.extend(["--output", "csv"]);
    ok(&a)
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// A temporary folder for input files (and local tables).
#[derive(Debug)]
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// A new empty folder.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `name` inside the folder, as a string.
    pub fn file(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    /// Writes `content` to `name` and returns its path.
    pub fn write(&self, name: &str, content: &str) -> String {
        let p = self.file(name);
        std::fs::write(&p, content).expect("write input file");
        p
    }

    /// A Parquet input file with the rows of [`CSV_A`] (written by strata into a local table).
    pub fn parquet_input(&self) -> String {
        let src = self.file("parquet-source");
        let csv = self.write("parquet-source.csv", CSV_A);
        ok(&["create", &src, "--schema", SCHEMA, "-q"]);
        ok(&["append", &src, &csv, "-q"]);
        let data = find_files(&Path::new(&src).join("data"), "parquet");
        assert_eq!(data.len(), 1, "one data file expected: {data:?}");
        let dest = self.file("input.parquet");
        std::fs::copy(&data[0], &dest).expect("copy parquet");
        dest
    }
}

/// Every file under `dir` with extension `ext`.
pub fn find_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(find_files(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A fresh S3 prefix in the test bucket, or `None` (after a notice) when no S3 endpoint is
/// configured.
pub fn s3_base(test: &str) -> Option<String> {
    let (Ok(_), Ok(bucket)) = (std::env::var(S3_ENDPOINT_VAR), std::env::var(S3_BUCKET_VAR)) else {
        // Written to the stderr handle, not with eprintln!, so the harness does not capture it.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "NOTICE: S3 CLI test `{test}` skipped: set {S3_ENDPOINT_VAR} and {S3_BUCKET_VAR} \
             (scripts/test starts a moto server and sets them)"
        );
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Some(format!(
        "s3://{bucket}/cli-{test}-{}-{nanos}",
        std::process::id()
    ))
}

/// Field names of a JSON object.
pub fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// The `id` column of scan rows.
pub fn ids(rows: &[Value]) -> Vec<i64> {
    rows.iter().map(|r| r["id"].as_i64().expect("id")).collect()
}
