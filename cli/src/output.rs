//! Rendering: aligned tables for people, JSON for programs.

use std::io::Write;

use crate::args::OutputFormat;
use crate::error::CliResult;

/// Bytes as a human size (`1.5 MiB`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Milliseconds since the epoch as RFC 3339 (UTC, milliseconds).
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// A table of strings rendered with aligned columns.
#[derive(Debug, Default)]
pub struct TextTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    bold_header: bool,
}

impl TextTable {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            bold_header: crate::style::stdout_colors(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Writes the table.
    pub fn write(&self, out: &mut impl Write) -> CliResult {
        let cols = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String], out: &mut dyn Write, bold: bool| -> std::io::Result<()> {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate().take(cols) {
                if i > 0 {
                    s.push_str("  ");
                }
                s.push_str(c);
                if i + 1 < cols {
                    s.push_str(&" ".repeat(widths[i] - c.chars().count()));
                }
            }
            let s = crate::style::paint(s.trim_end(), crate::style::Style::Header, bold);
            writeln!(out, "{s}")
        };
        line(&self.header, out, self.bold_header)?;
        for r in &self.rows {
            line(r, out, false)?;
        }
        Ok(())
    }
}

/// Writes a JSON document or, for `ndjson`, one line per element of `items`.
pub fn write_json(
    format: OutputFormat,
    doc: &serde_json::Value,
    items: Option<&[serde_json::Value]>,
    out: &mut impl Write,
) -> CliResult {
    match (format, items) {
        (OutputFormat::Ndjson, Some(items)) => {
            for i in items {
                serde_json::to_writer(&mut *out, i)?;
                writeln!(out)?;
            }
        }
        (OutputFormat::Ndjson, None) => {
            serde_json::to_writer(&mut *out, doc)?;
            writeln!(out)?;
        }
        _ => {
            serde_json::to_writer_pretty(&mut *out, doc)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Writes rows of cells as CSV (RFC 4180 quoting).
pub fn write_csv(header: &[&str], rows: &[Vec<String>], out: &mut impl Write) -> CliResult {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    writeln!(
        out,
        "{}",
        header
            .iter()
            .map(|h| quote(h))
            .collect::<Vec<_>>()
            .join(",")
    )?;
    for r in rows {
        writeln!(
            out,
            "{}",
            r.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_size(10), "10 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }

    #[test]
    fn tables_align_columns() {
        let mut t = TextTable::new(&["a", "long header"]);
        t.bold_header = false;
        t.row(vec!["xyz".into(), "1".into()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a    long header\nxyz  1\n"
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut out = Vec::new();
        write_csv(&["x"], &[vec!["a,b".into()], vec!["q\"".into()]], &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "x\n\"a,b\"\n\"q\"\"\"\n");
    }
}
