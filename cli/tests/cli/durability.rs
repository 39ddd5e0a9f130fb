//! Durable commits on local disk (SPEC §2.4), seen from outside: each writing command runs as a
//! spawned `strata` under `strace`, and the system calls it made show that every object got its
//! final name only after its bytes were flushed, that a commit file was linked only after every
//! data file it names was durable, and that each new name's folder was flushed before the
//! process printed its success line. `.ci/run` installs strace when it is missing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// System calls that write, flush, name and print.
const TRACED: &str = "trace=write,pwrite64,writev,copy_file_range,sendfile,fsync,fdatasync,\
link,linkat,rename,renameat,renameat2,mkdir,mkdirat";

/// One traced system call that succeeded, in the order the calls returned.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    /// Bytes written into the file `path`.
    Write(PathBuf),
    /// Bytes written to standard output or error.
    Print(String),
    /// `fsync`/`fdatasync` of a file or folder.
    Flush(PathBuf),
    Link(PathBuf, PathBuf),
    Rename(PathBuf, PathBuf),
    Mkdir(PathBuf),
}

/// The `<...>` annotations `strace -y` gives file descriptors, in order.
fn fd_paths(args: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut rest = args;
    while let Some(open) = rest.find('<') {
        let fd: String = rest[..open]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        out.push((fd, PathBuf::from(&rest[open + 1..open + close])));
        rest = &rest[open + close + 1..];
    }
    out
}

/// The quoted strings of a call's arguments, unescaped (enough for the paths used here).
fn quoted(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = args.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        s.push(match n {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    }
                }
                '"' => break,
                other => s.push(other),
            }
        }
        out.push(s);
    }
    out
}

/// Parses `strace -f -y -o` output; calls split by other threads (`<unfinished ...>` and
/// `<... resumed>`) are joined and placed where they returned. Failed calls are dropped.
fn parse_trace(text: &str) -> Vec<Call> {
    let mut pending: std::collections::HashMap<String, String> = Default::default();
    let mut calls = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some((pid, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let rest = rest.trim_start();
        let whole = if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            pending.insert(pid.to_string(), head.to_string());
            continue;
        } else if let Some(tail) = rest.strip_prefix("<... ") {
            let Some((_, after)) = tail.split_once(" resumed>") else {
                continue;
            };
            match pending.remove(pid) {
                Some(head) => format!("{head}{after}"),
                None => continue,
            }
        } else {
            rest.to_string()
        };
        let Some((call, result)) = whole.rsplit_once(" = ") else {
            continue;
        };
        if result.trim_start().starts_with('-') {
            continue; // failed
        }
        let Some((name, args)) = call.split_once('(') else {
            continue;
        };
        let fds = fd_paths(args);
        let strings = quoted(args);
        let path = |i: usize| strings.get(i).map(PathBuf::from);
        let parsed = match name {
            "write" | "pwrite64" | "writev" => match fds.first() {
                Some((fd, _)) if fd == "1" || fd == "2" => {
                    Some(Call::Print(strings.first().cloned().unwrap_or_default()))
                }
                Some((_, p)) => Some(Call::Write(p.clone())),
                None => None,
            },
            "copy_file_range" | "sendfile" => {
                // copy_file_range(in, off, out, ...); sendfile(out, in, ...)
                let out = if name == "sendfile" {
                    fds.first()
                } else {
                    fds.get(1)
                };
                out.map(|(_, p)| Call::Write(p.clone()))
            }
            "fsync" | "fdatasync" => fds.first().map(|(_, p)| Call::Flush(p.clone())),
            "link" | "linkat" | "rename" | "renameat" | "renameat2" => match (path(0), path(1)) {
                (Some(a), Some(b)) if name.starts_with("link") => Some(Call::Link(a, b)),
                (Some(a), Some(b)) => Some(Call::Rename(a, b)),
                _ => None,
            },
            "mkdir" | "mkdirat" => path(0).map(Call::Mkdir),
            _ => None,
        };
        calls.extend(parsed);
    }
    calls
}

fn is_staged(p: &Path) -> bool {
    let s = p.to_string_lossy();
    s.rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks the calls of one command whose files live under `scratch`; returns the breaches.
fn breaches(calls: &[Call], scratch: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut clean: HashSet<PathBuf> = HashSet::new();
    // (index, final name) of everything published under the scratch folder.
    let mut published: Vec<(usize, PathBuf)> = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        match c {
            Call::Write(p) => {
                clean.remove(p);
            }
            Call::Flush(p) => {
                clean.insert(p.clone());
            }
            Call::Link(a, b) | Call::Rename(a, b) => {
                let was_clean = if matches!(c, Call::Rename(..)) {
                    clean.remove(a)
                } else {
                    clean.contains(a)
                };
                if was_clean {
                    clean.insert(b.clone());
                } else {
                    clean.remove(b);
                }
                if !b.starts_with(scratch) {
                    continue;
                }
                if !was_clean {
                    problems.push(format!(
                        "{} became {} before its bytes were flushed",
                        a.display(),
                        b.display()
                    ));
                }
                if !is_staged(b) {
                    published.push((i, b.clone()));
                }
            }
            Call::Mkdir(d) if d.starts_with(scratch) => published.push((i, d.clone())),
            Call::Mkdir(_) | Call::Print(_) => {}
        }
    }
    // The success line: the first thing printed after the last name was given.
    let last_named = published.iter().map(|(i, _)| *i).max().unwrap_or(0);
    let last_print = calls
        .iter()
        .enumerate()
        .position(|(i, c)| i > last_named && matches!(c, Call::Print(_)))
        .unwrap_or(calls.len());
    let durable_at = |i: usize, name: &Path| {
        let dir = name.parent()?;
        calls[i..]
            .iter()
            .position(|c| matches!(c, Call::Flush(p) if p == dir))
            .map(|j| i + j)
    };
    for (i, name) in &published {
        match durable_at(*i, name) {
            Some(j) if j < last_print => {}
            Some(_) => problems.push(format!(
                "the folder of {} was flushed only after the success line",
                name.display()
            )),
            None => problems.push(format!(
                "the folder of {} was never flushed",
                name.display()
            )),
        }
    }
    // A commit file is linked only after every file it names is durable.
    for (i, name) in &published {
        let log_entry = name.parent().is_some_and(|d| d.ends_with("_strata_log"))
            && name.extension().is_some_and(|e| e == "json");
        if !log_entry {
            continue;
        }
        let Some(root) = name.parent().and_then(Path::parent) else {
            continue;
        };
        let text = std::fs::read_to_string(name).unwrap_or_default();
        for (j, data) in &published {
            if data.extension().is_none_or(|e| e != "parquet") {
                continue;
            }
            // Named by its path under the root, or by its location in another tier.
            let rel = data.strip_prefix(root).unwrap_or(data).to_string_lossy();
            let named =
                text.contains(&format!("\"{rel}\"")) || text.contains(&*data.to_string_lossy());
            if !named {
                continue;
            }
            match durable_at(*j, data) {
                Some(k) if k < *i => {}
                _ => problems.push(format!(
                    "{} was linked before {}, which it names, was durable",
                    name.display(),
                    data.display()
                )),
            }
        }
    }
    problems
}

fn strace_available() -> bool {
    let found = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "strace is missing: .ci/run installs it"
        );
        eprintln!("notice: strace is not installed; the durability trace test is skipped");
    }
    found
}

/// Runs `strata ARGS` under strace; returns the calls and what it printed on stderr.
fn traced(scratch: &Scratch, args: &[&str], env: &[(&str, &str)]) -> (Vec<Call>, String) {
    let out_file = scratch.path().join("trace.txt");
    let mut c = Command::new("strace");
    c.args(["-f", "-y", "-qq", "-e", "signal=none", "-e", TRACED, "-o"])
        .arg(&out_file)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_strata"))
        .args(args);
    for var in ["NO_COLOR", "CLICOLOR_FORCE", "STRATA_CATALOG", "RUST_LOG"] {
        c.env_remove(var);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("spawn strace");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "strata {args:?} under strace failed:\n{stderr}"
    );
    let text = std::fs::read_to_string(&out_file).expect("strace output");
    (parse_trace(&text), stderr)
}

#[test]
fn every_writing_command_flushes_before_naming_and_before_reporting() {
    if !strace_available() {
        return;
    }
    let scratch = Scratch::new();
    let t = scratch.file("t");
    let a = scratch.write("a.csv", CSV_A);
    let b = scratch.write("b.ndjson", NDJSON_B);
    let cold = scratch.file("cold");
    let root = scratch.path().to_path_buf();
    let commands: Vec<(&str, Vec<String>)> = vec![
        (
            "create",
            vec![
                "create".into(),
                t.clone(),
                "--schema".into(),
                SCHEMA.into(),
                "--partition-by".into(),
                "day(ts)".into(),
            ],
        ),
        ("append", vec!["append".into(), t.clone(), a.clone()]),
        ("overwrite", vec!["overwrite".into(), t.clone(), b.clone()]),
        ("append", vec!["append".into(), t.clone(), a.clone()]),
        (
            "delete",
            vec![
                "delete".into(),
                t.clone(),
                "--where".into(),
                "id = 2".into(),
            ],
        ),
        ("checkpoint", vec!["checkpoint".into(), t.clone()]),
        (
            "tier set",
            vec![
                "tier".into(),
                "set".into(),
                t.clone(),
                "--tier".into(),
                "hot".into(),
                "--tier".into(),
                format!("cold={cold}"),
            ],
        ),
        (
            "tier move",
            vec![
                "tier".into(),
                "move".into(),
                t.clone(),
                "--where".into(),
                "id >= 1".into(),
                "--to".into(),
                "cold".into(),
            ],
        ),
    ];
    for (name, args) in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (calls, stderr) = traced(&scratch, &args, &[]);
        let problems = breaches(&calls, &root);
        assert!(
            problems.is_empty(),
            "{name}: {}\n(stderr: {stderr})",
            problems.join("\n")
        );
        let flushes = calls.iter().filter(|c| matches!(c, Call::Flush(_))).count();
        let named = calls
            .iter()
            .filter(|c| matches!(c, Call::Link(_, b) | Call::Rename(_, b) if b.starts_with(&root)))
            .count();
        assert!(
            flushes > 0 && named > 0,
            "{name}: nothing was written and flushed ({calls:?})"
        );
    }
    assert_eq!(ok(&["count", &t]).trim(), "4");
    assert!(
        std::fs::read_dir(&cold).is_ok(),
        "the move wrote into the cold tier"
    );

    // The same checks see the breaches of a run with flushing turned off.
    let (calls, _) = traced(
        &scratch,
        &["append", &t, &a],
        &[("STRATA_UNSAFE_NO_FSYNC", "1")],
    );
    let problems = breaches(&calls, &root);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("before its bytes were flushed"))
            && problems.iter().any(|p| p.contains("never flushed")),
        "{problems:?}"
    );
}

#[test]
fn strace_lines_split_by_threads_are_joined() {
    let text = "\
10 fdatasync(5</tmp/s/t/data/x.parquet#1> <unfinished ...>
11 write(2<pipe:[1]>, \"hi\\n\", 3) = 3
10 <... fdatasync resumed>) = 0
10 linkat(AT_FDCWD</tmp/s>, \"/tmp/s/t/data/x.parquet#1\", AT_FDCWD</tmp/s>, \"/tmp/s/t/data/x.parquet\", 0) = 0
10 linkat(AT_FDCWD</tmp/s>, \"/tmp/s/a\", AT_FDCWD</tmp/s>, \"/tmp/s/b\", 0) = -1 EEXIST (File exists)
10 fsync(6</tmp/s/t/data>) = 0
";
    assert_eq!(
        parse_trace(text),
        vec![
            Call::Print("hi\n".into()),
            Call::Flush("/tmp/s/t/data/x.parquet#1".into()),
            Call::Link(
                "/tmp/s/t/data/x.parquet#1".into(),
                "/tmp/s/t/data/x.parquet".into()
            ),
            Call::Flush("/tmp/s/t/data".into()),
        ]
    );
    // Printed before the folder flush: a breach.
    let calls = parse_trace(text);
    let mut reordered = calls[1..].to_vec();
    reordered.insert(2, Call::Print("done".into()));
    let problems = breaches(&reordered, Path::new("/tmp/s"));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("after the success line")),
        "{problems:?}"
    );
    assert!(breaches(&calls[1..], Path::new("/tmp/s")).is_empty());
}
