//! A screenful of rows: on a terminal, aligned-table output keeps the first and last rows of a
//! large result, elides the middle and ends with the total row count (as DuckDB's shell does).
//! Pipes and files get every row.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::{CliError, CliResult};

static SHOW_ALL: AtomicBool = AtomicBool::new(false);

/// `--all`: print every row even on a terminal.
pub fn set_show_all(all: bool) {
    SHOW_ALL.store(all, Ordering::Relaxed);
}

/// Lines of a screen that are not rows: the frame, the header, the footer and a prompt.
const CHROME_LINES: usize = 9;
/// Rows shown when the terminal's height is unknown.
const DEFAULT_ROWS: usize = 40;
/// Fewest rows a screenful shows.
const MIN_ROWS: usize = 10;

/// How many rows a screenful keeps from the start and from the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screenful {
    head: usize,
    tail: usize,
}

impl Screenful {
    /// A screenful for a terminal of `height` lines.
    pub fn for_height(height: Option<usize>) -> Self {
        let rows = height
            .filter(|h| *h > 0)
            .map(|h| h.saturating_sub(CHROME_LINES).max(MIN_ROWS))
            .unwrap_or(DEFAULT_ROWS);
        Self {
            head: rows.div_ceil(2),
            tail: rows / 2,
        }
    }

    /// The screenful of standard output, when it is a terminal and `--all` was not given.
    pub fn for_stdout() -> Option<Self> {
        if SHOW_ALL.load(Ordering::Relaxed) || !std::io::stdout().is_terminal() {
            return None;
        }
        let height = terminal_size::terminal_size().map(|(_, h)| usize::from(h.0));
        Some(Self::for_height(height))
    }
}

/// The first and last rows of a stream of batches, and how many there were.
#[derive(Debug)]
pub struct Sampler {
    screen: Screenful,
    head: Vec<RecordBatch>,
    head_rows: usize,
    tail: VecDeque<RecordBatch>,
    tail_rows: usize,
    total: u64,
}

impl Sampler {
    /// An empty sample.
    pub fn new(screen: Screenful) -> Self {
        Self {
            screen,
            head: Vec::new(),
            head_rows: 0,
            tail: VecDeque::new(),
            tail_rows: 0,
            total: 0,
        }
    }

    /// Rows seen so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Takes a batch: its first rows fill the head, the rest slide through the tail.
    pub fn push(&mut self, batch: RecordBatch) {
        self.total += batch.num_rows() as u64;
        let mut rest = batch;
        if self.head_rows < self.screen.head {
            let take = (self.screen.head - self.head_rows).min(rest.num_rows());
            self.head.push(rest.slice(0, take));
            self.head_rows += take;
            rest = rest.slice(take, rest.num_rows() - take);
        }
        if rest.num_rows() == 0 || self.screen.tail == 0 {
            return;
        }
        let keep = rest.num_rows().min(self.screen.tail);
        let rest = rest.slice(rest.num_rows() - keep, keep);
        self.tail_rows += rest.num_rows();
        self.tail.push_back(rest);
        while self.tail_rows > self.screen.tail {
            let Some(front) = self.tail.pop_front() else {
                break;
            };
            let excess = self.tail_rows - self.screen.tail;
            if front.num_rows() > excess {
                self.tail
                    .push_front(front.slice(excess, front.num_rows() - excess));
                self.tail_rows -= excess;
            } else {
                self.tail_rows -= front.num_rows();
            }
        }
    }

    /// Whether rows were left out.
    pub fn elided(&self) -> bool {
        self.total > (self.head_rows + self.tail_rows) as u64
    }

    /// The rows kept, first the head, then the tail.
    pub fn into_batches(self) -> Vec<RecordBatch> {
        self.head.into_iter().chain(self.tail).collect()
    }

    /// Writes the head, a row of `...`, the tail and a footer with the total, framed as
    /// Arrow's pretty printer frames tables.
    pub fn write_elided(&self, out: &mut impl Write) -> CliResult {
        let Some(schema) = self.head.first().map(RecordBatch::schema) else {
            return Ok(());
        };
        let header: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let head = cells(&self.head)?;
        let tail = cells(self.tail.iter().cloned().collect::<Vec<_>>().as_slice())?;
        let ellipsis = vec!["...".to_string(); header.len()];
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in head.iter().chain(&tail) {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let rule = {
            let mut s = String::from("+");
            for w in &widths {
                s.push_str(&"-".repeat(w + 2));
                s.push('+');
            }
            s
        };
        let line = |row: &[String], out: &mut dyn Write| -> std::io::Result<()> {
            let mut s = String::from("|");
            for (w, c) in widths.iter().zip(row) {
                s.push(' ');
                s.push_str(c);
                s.push_str(&" ".repeat(w - c.chars().count() + 1));
                s.push('|');
            }
            writeln!(out, "{s}")
        };
        writeln!(out, "{rule}")?;
        line(&header, out)?;
        writeln!(out, "{rule}")?;
        for row in &head {
            line(row, out)?;
        }
        line(&ellipsis, out)?;
        for row in &tail {
            line(row, out)?;
        }
        writeln!(out, "{rule}")?;
        let shown = self.head_rows + self.tail_rows;
        writeln!(
            out,
            "{} rows in total, {shown} shown (first {}, last {}). --all prints every row; \
             so does a pipe or --output csv.",
            thousands(self.total),
            self.head_rows,
            self.tail_rows
        )?;
        Ok(())
    }
}

/// Every cell of `batches` as text (null as empty, line breaks escaped), row by row.
fn cells(batches: &[RecordBatch]) -> CliResult<Vec<Vec<String>>> {
    let options = FormatOptions::default().with_display_error(true);
    let mut rows = Vec::new();
    for b in batches {
        let formatters = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CliError::user(format!("output failed: {e}")))?;
        for i in 0..b.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| f.value(i).to_string().replace('\n', "\\n"))
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(from: i64, n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let ids = Int64Array::from((from..from + n).collect::<Vec<_>>());
        RecordBatch::try_new(schema, vec![Arc::new(ids)]).unwrap()
    }

    fn ids(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                a.values().to_vec()
            })
            .collect()
    }

    #[test]
    fn the_sample_keeps_the_first_and_last_rows_across_batches() {
        let mut s = Sampler::new(Screenful { head: 3, tail: 4 });
        for start in (0..100).step_by(7) {
            s.push(batch(start, 7.min(100 - start)));
        }
        assert_eq!(s.total(), 100);
        assert!(s.elided());
        assert_eq!(ids(&s.into_batches()), vec![0, 1, 2, 96, 97, 98, 99]);
        let mut small = Sampler::new(Screenful { head: 3, tail: 4 });
        small.push(batch(0, 5));
        assert!(!small.elided());
        assert_eq!(ids(&small.into_batches()), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn an_elided_table_ends_with_the_count() {
        let mut s = Sampler::new(Screenful { head: 2, tail: 1 });
        s.push(batch(0, 1500));
        let mut out = Vec::new();
        s.write_elided(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().take(7).collect::<Vec<_>>(),
            [
                "+------+", "| id   |", "+------+", "| 0    |", "| 1    |", "| ...  |", "| 1499 |"
            ]
        );
        assert!(text.contains("1,500 rows in total, 3 shown"), "{text}");
    }

    #[test]
    fn screens_follow_the_terminal_height() {
        assert_eq!(
            Screenful::for_height(Some(50)),
            Screenful { head: 21, tail: 20 }
        );
        assert_eq!(
            Screenful::for_height(Some(5)),
            Screenful { head: 5, tail: 5 }
        );
        assert_eq!(
            Screenful::for_height(None),
            Screenful { head: 20, tail: 20 }
        );
    }
}
