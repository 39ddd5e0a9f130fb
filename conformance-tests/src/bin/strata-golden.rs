//! Golden tables of Strata (see `conformance-tests/golden/README.md`):
//!
//! * `strata-golden generate [--force] [DIR]` writes the golden tables of this version, with
//!   their `expected.json` and `CHECKSUMS`, into a fresh temporary directory and then copies them
//!   into DIR — only when DIR holds no golden table yet, or with `--force`, which replaces them.
//! * `strata-golden verify [DIR]` checks the golden tables in DIR.
//!
//! DIR defaults to the `golden` directory of this crate.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use strata_conformance::golden::{self, GOLDEN_TABLES};

const USAGE: &str =
    "usage: strata-golden generate [--force] [DIR]\n       strata-golden verify [DIR]";

fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

async fn generate(dir: &Path, force: bool) -> Result<(), String> {
    let existing: Vec<&str> = GOLDEN_TABLES
        .iter()
        .copied()
        .filter(|n| dir.join(n).exists())
        .collect();
    if !existing.is_empty() && !force {
        return Err(format!(
            "`{}` already holds golden tables ({}); golden tables must never change. \
             Pass --force only to replace tables that were never released.",
            dir.display(),
            existing.join(", ")
        ));
    }
    let tmp = tempfile::tempdir().map_err(|e| format!("cannot create a temporary dir: {e}"))?;
    golden::write_golden(tmp.path())
        .await
        .map_err(|e| format!("generation failed: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    for name in GOLDEN_TABLES {
        let target = dir.join(name);
        if target.exists() {
            std::fs::remove_dir_all(&target)
                .map_err(|e| format!("cannot remove `{}`: {e}", target.display()))?;
        }
        golden::copy_dir(&tmp.path().join(name), &target)
            .map_err(|e| format!("cannot write `{}`: {e}", target.display()))?;
    }
    golden::verify(dir)
        .await
        .map_err(|e| format!("the tables just written do not verify:\n{e}"))?;
    println!(
        "wrote golden tables {} into {}",
        GOLDEN_TABLES.join(", "),
        dir.display()
    );
    Ok(())
}

/// What the command line asks for.
enum Command {
    Generate { dir: PathBuf, force: bool },
    Verify { dir: PathBuf },
}

fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    let mut force = false;
    let mut dir = None;
    for arg in rest {
        match arg.as_str() {
            "--force" if command == "generate" => force = true,
            a if a.starts_with('-') => return Err(format!("unknown option `{a}`")),
            a if dir.is_none() => dir = Some(PathBuf::from(a)),
            a => return Err(format!("unexpected argument `{a}`")),
        }
    }
    let dir = dir.unwrap_or_else(default_dir);
    match command.as_str() {
        "generate" => Ok(Command::Generate { dir, force }),
        "verify" => Ok(Command::Verify { dir }),
        other => Err(format!("unknown command `{other}`")),
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Generate { dir, force } => generate(&dir, force).await,
        Command::Verify { dir } => {
            golden::verify(&dir).await.map_err(|e| {
                format!(
                    "{e}\nA golden table no longer reads as it did: this is a compatibility \
                     break of the reader, not a golden table to regenerate."
                )
            })?;
            println!("golden tables in {} read as expected", dir.display());
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("strata-golden: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strata-golden: {e}");
            ExitCode::FAILURE
        }
    }
}
