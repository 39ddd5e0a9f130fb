//! The interactive shell of `strata sql`: line editing and history (rustyline), statements
//! over several lines (they end with `;`), dot commands, timing.

use std::io::Write;
use std::path::{Path, PathBuf};

use rustyline::error::ReadlineError;
use strata_sql::SqlSession;

use super::sql::run_text;
use crate::args::OutputFormat;
use crate::error::{CliError, CliResult};
use crate::style;

const HELP: &str = "\
statements end with `;` and may span lines; Ctrl-C clears the statement, Ctrl-D quits
  .tables              tables: the catalog's (--catalog), Strata tables under this folder, registered ones
  .schema TABLE        the columns of a table (field ids, types) 
  .timing on|off       time each statement (on by default)
  .output FORMAT       table, json, ndjson or csv
  .help                this help
  .quit                leave (also .exit, Ctrl-D)
tables: \"./path\" or 's3://bucket/table'; \"t@3\", \"t@tag:prod\", \"t@2h ago\" time travel;
        \"t$files\", \"t$history\", \"t$snapshots\", \"t$partitions\", \"t$tags\", \"t$schemas\",
        \"t$tiers\", \"t$tier_policies\" metadata tables";

/// Where the shell keeps its history: `STRATA_HISTORY`, else `~/.strata_history`.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("STRATA_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".strata_history"))
}

/// Whether `text` ends a statement: its last character outside quotes and comments is `;`.
pub(crate) fn statement_complete(text: &str) -> bool {
    let mut last = None;
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    last = Some(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    for n in chars.by_ref() {
                        if n == '\n' {
                            break;
                        }
                    }
                }
                c if c.is_whitespace() => {}
                c => last = Some(c),
            },
        }
    }
    quote.is_none() && last == Some(';')
}

/// Runs the shell until Ctrl-D or `.quit`.
pub async fn run(session: SqlSession, format: OutputFormat, quiet: bool) -> CliResult {
    let mut editor = rustyline::DefaultEditor::new()
        .map_err(|e| CliError::user(format!("cannot start the shell: {e}")))?;
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let mut shell = Shell {
        session,
        format,
        quiet,
        timing: true,
    };
    eprintln!("strata sql: statements end with `;`; .help for help, Ctrl-D to quit");
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "strata> "
        } else {
            "   ...> "
        };
        let line = tokio::task::block_in_place(|| editor.readline(prompt));
        match line {
            Ok(line) => {
                if buffer.is_empty() && line.trim_start().starts_with('.') {
                    let _ = editor.add_history_entry(line.trim());
                    if !shell.dot(line.trim()).await {
                        break;
                    }
                    continue;
                }
                if buffer.is_empty() && line.trim().is_empty() {
                    continue;
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if statement_complete(&buffer) {
                    let text = std::mem::take(&mut buffer);
                    let _ = editor.add_history_entry(text.trim());
                    shell.statements(&text).await;
                }
            }
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(CliError::user(format!("the shell cannot read a line: {e}"))),
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}

struct Shell {
    session: SqlSession,
    format: OutputFormat,
    quiet: bool,
    timing: bool,
}

impl Shell {
    /// Runs statements, printing an error (and its hint) instead of leaving.
    async fn statements(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        let result = run_text(
            &self.session,
            text,
            self.format,
            self.quiet,
            self.timing,
            &mut out,
        )
        .await;
        drop(out);
        if let Err(e) = result {
            report(&e);
        }
    }

    /// Runs a dot command; `false` to leave.
    async fn dot(&mut self, line: &str) -> bool {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or_default();
        let arg = words.collect::<Vec<_>>().join(" ");
        match command {
            ".quit" | ".exit" => return false,
            ".help" => eprintln!("{HELP}"),
            ".timing" => match arg.as_str() {
                "on" => self.timing = true,
                "off" => self.timing = false,
                _ => eprintln!("usage: .timing on|off"),
            },
            ".output" | ".mode" => match arg.as_str() {
                "table" => self.format = OutputFormat::Table,
                "json" => self.format = OutputFormat::Json,
                "ndjson" => self.format = OutputFormat::Ndjson,
                "csv" => self.format = OutputFormat::Csv,
                _ => eprintln!("usage: .output table|json|ndjson|csv"),
            },
            ".tables" => self.tables().await,
            ".schema" if !arg.is_empty() => {
                let name = arg.trim_matches('"').replace('"', "\"\"");
                // `namespace.table` (a catalog table) is a schema and a table; a path is one name.
                let metadata = match name.split_once('.') {
                    Some((ns, table))
                        if !name.contains(['/', '\\'])
                            && !ns.is_empty()
                            && !Path::new(&name).exists() =>
                    {
                        format!("\"{ns}\".\"{table}$schemas\"")
                    }
                    _ => format!("\"{name}$schemas\""),
                };
                let query = format!(
                    "SELECT field_id, path AS column, type, required, partition_transforms \
                     FROM {metadata} ORDER BY field_id;"
                );
                let mut out = std::io::stdout().lock();
                let strata =
                    run_text(&self.session, &query, self.format, true, false, &mut out).await;
                if strata.is_err() {
                    // Not a Strata table: DataFusion's description.
                    let describe = format!("DESCRIBE {};", metadata.replace("$schemas", ""));
                    if let Err(e) =
                        run_text(&self.session, &describe, self.format, true, false, &mut out).await
                    {
                        drop(out);
                        report(&e);
                    }
                }
            }
            ".schema" => eprintln!("usage: .schema TABLE"),
            other => eprintln!("unknown command `{other}` (.help lists them)"),
        }
        true
    }

    async fn tables(&mut self) {
        let mut names: Vec<String> = Vec::new();
        let listed = self
            .session
            .query(
                "SELECT table_schema, table_name FROM information_schema.tables \
                 WHERE table_schema <> 'information_schema' ORDER BY 1, 2",
            )
            .await;
        match listed {
            Ok(batches) => {
                for b in batches {
                    let (Some(schemas), Some(tables)) = (
                        b.column(0)
                            .as_any()
                            .downcast_ref::<arrow::array::StringArray>(),
                        b.column(1)
                            .as_any()
                            .downcast_ref::<arrow::array::StringArray>(),
                    ) else {
                        continue;
                    };
                    for i in 0..b.num_rows() {
                        let (s, t) = (schemas.value(i), tables.value(i));
                        names.push(if s == "public" {
                            t.to_string()
                        } else {
                            format!("{s}.{t}")
                        });
                    }
                }
            }
            Err(e) => report(&e.into()),
        }
        find_local_tables(Path::new("."), 3, &mut names);
        let mut out = std::io::stdout().lock();
        for n in names {
            let _ = writeln!(out, "{n}");
        }
    }
}

/// Strata tables (folders with `_strata_log/`) under `dir`, `depth` levels down, as quoted
/// SQL names.
fn find_local_tables(dir: &Path, depth: usize, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        if d.join("_strata_log").is_dir() {
            out.push(format!("\"{}\"", d.display()));
        } else if depth > 1 {
            find_local_tables(&d, depth - 1, out);
        }
    }
}

fn report(e: &CliError) {
    let color = style::stderr_colors();
    eprintln!("{} {e}", style::paint("error:", style::Style::Error, color));
    if let Some(h) = e.hint() {
        eprintln!("{} {h}", style::paint("hint:", style::Style::Hint, color));
    }
}

#[cfg(test)]
mod tests {
    use super::statement_complete;

    #[test]
    fn statements_end_with_a_semicolon_outside_quotes_and_comments() {
        assert!(statement_complete("SELECT 1;"));
        assert!(statement_complete("SELECT 1\n  ;  \n"));
        assert!(!statement_complete("SELECT 1"));
        assert!(!statement_complete("SELECT ';'"));
        assert!(statement_complete("SELECT ';';"));
        assert!(!statement_complete("SELECT \"a;"));
        assert!(!statement_complete("SELECT 1 -- done;"));
        assert!(statement_complete("SELECT 1; -- done"));
    }
}
