//! Error paths: one clear line, a hint, and the documented exit codes (1 user, 2 usage).
//! Exit code 3 (an unresolvable commit conflict) is provoked by
//! `concurrent::conflicting_concurrent_deletes_exit_3_and_change_nothing`; its mapping is also
//! unit-tested (`error::tests::conflicts_exit_with_code_3`).

use serde_json::Value;

use crate::common::*;

fn table(scratch: &Scratch) -> String {
    let t = scratch.file("t");
    let a = scratch.write("a.csv", CSV_A);
    ok(&["create", &t, "--schema", SCHEMA, "-q"]);
    ok(&["append", &t, &a, "-q"]);
    t
}

#[test]
fn user_errors_exit_1_with_one_line_and_a_hint() {
    let scratch = Scratch::new();
    let t = table(&scratch);

    let err = fails(&["scan", &t, "--where", "id >"], 1);
    assert!(err.starts_with("error: invalid expression"), "{err}");
    let err = fails(&["count", &t, "--where", "nope = 1"], 1);
    assert!(err.contains("nope"), "{err}");

    let missing = scratch.file("missing");
    let err = fails(&["show", &missing], 1);
    assert!(err.contains("no Strata table"), "{err}");
    assert!(err.contains("hint: create it with `strata create"), "{err}");

    let err = fails(&["show", &t, "--version", "99"], 1);
    assert!(err.contains("99"), "{err}");
    assert!(
        err.contains("hint: see the versions with `strata history"),
        "{err}"
    );
    let err = fails(&["scan", &t, "--tag", "nope"], 1);
    assert!(err.contains("hint: list tags"), "{err}");
    let err = fails(&["count", &t, "--as-of", "yesterday"], 1);
    assert!(err.contains("cannot read the time `yesterday`"), "{err}");
    let err = fails(&["count", &t, "--as-of", "2000-01-01T00:00:00Z"], 1);
    assert!(err.contains("hint: see the versions"), "{err}");
    let err = fails(&["diff", &t, "0", "no-such-tag"], 1);
    assert!(
        err.contains("`no-such-tag` is neither a version number nor a tag"),
        "{err}"
    );
    let err = fails(&["diff", &t, "0", "7"], 1);
    assert!(err.contains('7'), "{err}");

    let err = fails(&["create", &t, "--schema", SCHEMA], 1);
    assert!(err.contains("exists"), "{err}");
    let other = scratch.file("other");
    let err = fails(&["create", &other, "--schema", "id:int65"], 1);
    assert!(err.contains("int65"), "{err}");
    let err = fails(
        &[
            "create",
            &other,
            "--schema",
            SCHEMA,
            "--property",
            "novalue",
        ],
        1,
    );
    assert!(err.contains("`novalue` is not `key=value`"), "{err}");
    let err = fails(&["schema", &t, "widen", "id", "int32"], 1);
    assert!(err.contains("id"), "{err}");
    let err = fails(&["tag", &t, "delete", "never"], 1);
    assert!(err.contains("never"), "{err}");

    let weird = scratch.write("rows.txt", "id\n1\n");
    let err = fails(&["append", &t, &weird], 1);
    assert!(err.contains("hint: use --format csv|json|parquet"), "{err}");
    // Nothing was committed by the failures.
    assert_eq!(json(&["count", &t])["count"], 3);
}

#[test]
fn a_bad_csv_value_names_the_file_the_line_and_the_column() {
    let scratch = Scratch::new();
    let t = table(&scratch);
    let bad = scratch.write(
        "bad.csv",
        "id,name,ts,score\n7,x,2026-01-01T00:00:00Z,1\n8,y,notatime,2\n",
    );
    let err = fails(&["append", &t, &bad], 1);
    assert!(err.contains("bad.csv"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("`ts`"), "{err}");
    let bad = scratch.write(
        "bad.ndjson",
        "{\"id\":1,\"ts\":\"2026-01-01T00:00:00Z\"}\n{\"id\":\"x\"}\n",
    );
    let err = fails(&["append", &t, &bad], 1);
    assert!(
        err.contains("bad.ndjson") && err.contains("line 2"),
        "{err}"
    );
    let missing = scratch.file("nowhere.csv");
    let err = fails(&["append", &t, &missing], 1);
    assert!(err.contains("nowhere.csv"), "{err}");
    assert_eq!(json(&["count", &t])["count"], 3);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["scan"],
        vec!["scan", "t", "--bogus"],
        vec!["frobnicate"],
        vec!["count", "t", "--output", "xml"],
        vec!["scan", "t", "--version", "1", "--tag", "x"],
        vec!["delete", "t"],
        vec!["schema", "t", "move", "c"],
        vec!["completions", "tcsh"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("error:") || r.stderr.contains("Usage"),
            "{args:?}: {}",
            r.stderr
        );
    }
    // --help and --version are not errors.
    assert!(ok(&["--version"]).starts_with("strata "));
    assert!(ok(&["--help"]).contains("Usage"));
}

#[test]
fn verbose_shows_the_cause_chain() {
    let scratch = Scratch::new();
    let t = table(&scratch);
    let r = run(&["scan", &t, "--version", "9", "--verbose"]);
    assert_eq!(r.code, 1);
    let quiet = run(&["scan", &t, "--version", "9"]);
    assert!(r.stderr.len() >= quiet.stderr.len(), "{}", r.stderr);
    assert_eq!(quiet.stderr.lines().count(), 2, "{}", quiet.stderr);
}

#[test]
fn colors_only_when_asked_and_never_with_no_color() {
    let scratch = Scratch::new();
    let t = table(&scratch);
    let missing = scratch.file("missing");
    // Not a terminal: plain.
    let r = run(&["show", &missing]);
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);
    // Forced (CLICOLOR_FORCE): error and hint prefixes, table headers.
    let r = run_env(&["show", &missing], &[("CLICOLOR_FORCE", "1")]);
    assert!(
        r.stderr.starts_with("\x1b[1;31merror:\x1b[0m "),
        "{:?}",
        r.stderr
    );
    assert!(
        r.stderr.contains("\x1b[1;33mhint:\x1b[0m "),
        "{:?}",
        r.stderr
    );
    let r = run_env(&["history", &t], &[("CLICOLOR_FORCE", "1")]);
    assert!(r.stdout.starts_with("\x1b[1mVERSION"), "{:?}", r.stdout);
    // NO_COLOR wins over everything.
    let r = run_env(
        &["show", &missing],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    );
    assert!(r.stderr.starts_with("error: "), "{:?}", r.stderr);
    let r = run_env(
        &["history", &t],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    );
    assert!(!r.stdout.contains('\x1b'), "{:?}", r.stdout);
    // JSON never gets colors.
    let r = run_env(&["history", &t, "-o", "json"], &[("CLICOLOR_FORCE", "1")]);
    assert!(!r.stdout.contains('\x1b'));
}

#[test]
fn quiet_silences_reports_and_a_closed_pipe_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let scratch = Scratch::new();
    let t = table(&scratch);
    let r = run(&["append", &t, &scratch.file("a.csv"), "--quiet"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(json(&["count", &t])["count"], 6);

    // A demo table scanned into a reader that stops after one line (like `| head -1`).
    let demo = scratch.file("demo");
    ok(&["demo", &demo]);
    for format in ["csv", "ndjson", "json", "table"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["scan", &format!("{demo}/events"), "-o", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).expect("read");
        // The reader is dropped here: the pipe closes while strata still writes.
        assert!(!first.is_empty(), "{format}");
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{format}: {err}");
        assert!(err.is_empty(), "{format}: {err}");
    }

    // `strata completions bash | head -1`: the reader goes before the script is written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "completions: {err}");
    assert!(!err.contains("panicked"), "completions: {err}");
}

#[test]
fn json_rows_hold_every_column_with_lossless_values() {
    let scratch = Scratch::new();
    let t = scratch.file("t");
    ok(&[
        "create",
        &t,
        "--schema",
        "id:int64,name:string?,price:decimal(10,2)?,score:float64?",
    ]);
    let input = scratch.write(
        "a.ndjson",
        "{\"id\":1,\"name\":\"ann\",\"price\":\"12.50\"}\n\
         {\"id\":2,\"price\":\"0.05\",\"score\":0.1}\n",
    );
    ok(&["append", &t, &input, "-q"]);
    let rows = ndjson(&["scan", &t]);
    let all = json(&["scan", &t]);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    for (row, from_json) in rows.iter().zip(all.as_array().unwrap()) {
        assert_eq!(row, from_json);
        let keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["id", "name", "price", "score"], "{row}");
    }
    let by_id = |id: i64| rows.iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(by_id(1)["price"], "12.50");
    assert_eq!(by_id(1)["score"], Value::Null);
    assert_eq!(by_id(2)["name"], Value::Null);
    assert_eq!(by_id(2)["price"], "0.05");
    assert_eq!(by_id(2)["score"], 0.1);
}
