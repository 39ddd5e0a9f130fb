//! `strata`: the command-line tool. Thin: parse, call the library, print.

use std::process::ExitCode;

use clap::Parser;

mod args;
mod commands;
mod config;
mod error;
mod json_rows;
mod output;
mod screen;
mod style;

use args::Cli;
use error::EXIT_USAGE;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let verbose = cli.verbose;
    if verbose {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug")),
            )
            .with_writer(std::io::stderr)
            .try_init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(error::EXIT_USER);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let color = style::stderr_colors();
            eprintln!("{} {e}", style::paint("error:", style::Style::Error, color));
            if verbose {
                for cause in e.causes() {
                    eprintln!("  caused by: {cause}");
                }
            }
            if let Some(h) = e.hint() {
                eprintln!("{} {h}", style::paint("hint:", style::Style::Hint, color));
            }
            ExitCode::from(e.code())
        }
    }
}
