//! Every command and subcommand has `--help` with an example.

use crate::common::*;

/// Subcommand names listed under `Commands:` in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

/// Walks the command tree from `path`, returning every command path without an example.
fn walk(path: &mut Vec<String>, seen: &mut Vec<String>) -> Vec<String> {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let help = ok(&args);
    seen.push(path.join(" "));
    let mut missing = Vec::new();
    if !help.contains("Example: strata ") {
        missing.push(format!("strata {}", path.join(" ")));
    }
    for sub in subcommands(&help) {
        // Subcommands of table commands come after the TABLE argument; a placeholder works.
        let needs_table =
            path.len() == 1 && ["tag", "schema", "partition"].contains(&path[0].as_str());
        if needs_table {
            path.push("TABLE".into());
        }
        path.push(sub);
        missing.extend(walk(path, seen));
        path.pop();
        if needs_table {
            path.pop();
        }
    }
    missing
}

#[test]
fn every_command_has_help_with_an_example() {
    let mut seen = Vec::new();
    let missing = walk(&mut Vec::new(), &mut seen);
    for cmd in [
        "create",
        "append",
        "overwrite",
        "delete",
        "scan",
        "count",
        "show",
        "history",
        "files",
        "diff",
        "tag",
        "tag TABLE create",
        "tag TABLE list",
        "tag TABLE delete",
        "restore",
        "checkpoint",
        "schema",
        "schema TABLE add",
        "schema TABLE drop",
        "schema TABLE rename",
        "schema TABLE move",
        "schema TABLE widen",
        "schema TABLE optional",
        "partition",
        "partition TABLE set",
        "demo",
        "config",
        "config show",
        "completions",
    ] {
        assert!(
            seen.iter().any(|s| s == cmd),
            "`{cmd}` not reached; seen: {seen:?}"
        );
    }
    assert!(
        missing.is_empty(),
        "without an example in --help: {missing:?}"
    );
}

#[test]
fn read_commands_document_their_json_fields() {
    for cmd in ["show", "history", "files", "diff"] {
        let help = ok(&[cmd, "--help"]);
        assert!(help.contains("JSON fields"), "{cmd}: {help}");
    }
    assert!(ok(&["tag", "t", "list", "--help"]).contains("JSON fields"));
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete"),
        ("zsh", "#compdef strata"),
        ("fish", "complete -c strata"),
    ] {
        let out = ok(&["completions", shell]);
        assert!(out.contains(marker), "{shell}");
        assert!(
            out.contains("diff"),
            "{shell}: the diff command is completed"
        );
    }
}
