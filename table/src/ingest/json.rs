//! NDJSON: lines read in chunks on one thread, decoded on several, batches in file order.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, Scalar, StructArray};
use arrow::compute::kernels::zip::zip;
use arrow::datatypes::SchemaRef;
use strata_format::{DataType, PrimitiveType, Schema};

use super::{INGEST_BATCH_ROWS, bad};
use crate::arrow_schema::default_array;
use crate::error::Result;

/// A top-level column with a `writeDefault` (SPEC §4.1): its name, type and value.
pub(super) type WriteDefault = (Vec<String>, PrimitiveType, serde_json::Value);

/// The primitive fields of `schema` that have a `writeDefault`, at any depth of structs, by
/// their path of names.
pub(super) fn write_defaults(schema: &Schema) -> Vec<WriteDefault> {
    fn walk(fields: &[strata_format::StructField], prefix: &[String], out: &mut Vec<WriteDefault>) {
        for f in fields {
            let mut path = prefix.to_vec();
            path.push(f.name.clone());
            match (&f.write_default, &f.data_type) {
                (Some(v), DataType::Primitive(p)) => out.push((path, *p, v.clone())),
                (_, DataType::Struct(s)) => walk(&s.fields, &path, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(schema.fields(), &[], &mut out);
    out
}

/// Whether `row` has an object at every step of `path` but the last, and no key for the last
/// (a value the input does not provide; under a missing or null parent, nothing to fill).
fn lacks(row: &serde_json::Map<String, serde_json::Value>, path: &[String]) -> bool {
    let Some((leaf, parents)) = path.split_last() else {
        return false;
    };
    let mut object = row;
    for p in parents {
        match object.get(p) {
            Some(serde_json::Value::Object(o)) => object = o,
            _ => return false,
        }
    }
    !object.contains_key(leaf)
}

/// `array` with the column at `path` (through struct children) replaced by `f` of it.
fn replace_at(
    array: &ArrayRef,
    path: &[String],
    f: &dyn Fn(&ArrayRef) -> std::result::Result<ArrayRef, String>,
) -> std::result::Result<ArrayRef, String> {
    let Some((head, rest)) = path.split_first() else {
        return f(array);
    };
    let s = array
        .as_any()
        .downcast_ref::<StructArray>()
        .ok_or_else(|| format!("`{head}` is not inside a struct"))?;
    let arrow::datatypes::DataType::Struct(fields) = s.data_type() else {
        return Err(format!("`{head}` is not inside a struct"));
    };
    let i = fields
        .iter()
        .position(|c| c.name() == head)
        .ok_or_else(|| format!("no field `{head}`"))?;
    let mut children = s.columns().to_vec();
    children[i] = replace_at(&children[i], rest, f)?;
    StructArray::try_new(fields.clone(), children, s.nulls().cloned())
        .map(|a| Arc::new(a) as ArrayRef)
        .map_err(|e| e.to_string())
}

/// A chunk of NDJSON: whole lines, each ending in a newline, at most [`INGEST_BATCH_ROWS`] of
/// them not blank. Blank lines stay, overwritten with spaces (JSON whitespace), so that line
/// numbers can be counted again from `first_line` when a line must be named.
struct Chunk {
    text: Vec<u8>,
    first_line: usize,
}

impl Chunk {
    /// The chunk's non-blank lines (newline included) and their line numbers.
    fn lines(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.text
            .split_inclusive(|b| *b == b'\n')
            .zip(self.first_line..)
            .filter(|(l, _)| !is_blank(l))
            .map(|(l, n)| (n, l))
    }
}

/// Whether a line holds nothing but whitespace (as `str::trim` sees it).
fn is_blank(line: &[u8]) -> bool {
    if line.iter().all(u8::is_ascii_whitespace) {
        return true;
    }
    // Only a line starting with a non-ASCII byte can be Unicode whitespace.
    line.first().is_some_and(|b| *b >= 0x80)
        && std::str::from_utf8(line).is_ok_and(|s| s.trim().is_empty())
}

/// Bytes taken from the reader's buffer at a time (and the size of that buffer): bounds what a
/// chunk reads past its end (the start of the next chunk, carried over).
pub(super) const READ_BLOCK: usize = 256 * 1024;

/// Reads a file in chunks of whole lines, at most [`INGEST_BATCH_ROWS`] non-blank ones: blocks
/// of bytes cut after the newline that completes the chunk. Bytes are not checked here: the
/// JSON decoder checks them (UTF-8 included).
struct LineChunks<R> {
    reader: R,
    path: PathBuf,
    /// Lines handed out in chunks so far.
    line: usize,
    /// The reader is exhausted.
    done: bool,
    /// Length of the last chunk's text, to size the next one.
    capacity: usize,
    /// Bytes read past the end of the last chunk: the start of the next.
    carry: Vec<u8>,
}

impl<R: BufRead> Iterator for LineChunks<R> {
    type Item = Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done && self.carry.is_empty() {
            return None;
        }
        let mut text = std::mem::take(&mut self.carry);
        text.reserve(self.capacity.saturating_sub(text.len()));
        let first_line = self.line + 1;
        let (mut rows, mut line_start) = (0, 0);
        loop {
            while let Some(end) = text
                .get(line_start..)
                .and_then(|rest| memchr::memchr(b'\n', rest))
                .map(|at| line_start + at + 1)
            {
                self.line += 1;
                if let Some(line) = text.get_mut(line_start..end - 1)
                    && is_blank(line)
                {
                    line.fill(b' ');
                } else {
                    rows += 1;
                }
                line_start = end;
                if rows == INGEST_BATCH_ROWS {
                    self.carry = text.split_off(end);
                    self.capacity = self.capacity.max(text.len());
                    return Some(Ok(Chunk { text, first_line }));
                }
            }
            if self.done {
                break;
            }
            match self.reader.fill_buf() {
                Ok([]) => {
                    self.done = true;
                    if line_start < text.len() {
                        // The last line lacks its newline.
                        text.push(b'\n');
                    }
                }
                Ok(buf) => {
                    let n = buf.len().min(READ_BLOCK);
                    text.extend_from_slice(buf.get(..n).unwrap_or_default());
                    self.reader.consume(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(bad(
                        &self.path,
                        format!("line {}: cannot read: {e}", self.line + 1),
                    )));
                }
            }
        }
        if rows == 0 {
            return None;
        }
        Some(Ok(Chunk { text, first_line }))
    }
}

/// Decodes chunks of NDJSON into batches of the target schema. A row without a key for a
/// column that has a `writeDefault` gets the default, as a CSV without that column does (an
/// explicit `null` stays null).
struct ChunkDecoder {
    schema: SchemaRef,
    path: PathBuf,
    defaults: Vec<WriteDefault>,
}

impl ChunkDecoder {
    /// The chunk's rows; on an error, the chunk is decoded line by line to name the first line
    /// that fails on its own.
    fn decode_chunk(&self, chunk: &Chunk) -> Option<Result<RecordBatch>> {
        match self.decode(&chunk.text) {
            Ok(b) => b.map(Ok),
            Err(chunk_err) => {
                let mut last = chunk.first_line;
                for (n, l) in chunk.lines() {
                    if let Err(e) = self.decode(l) {
                        return Some(Err(bad(&self.path, format!("line {n}: {e}"))));
                    }
                    last = n;
                }
                Some(Err(bad(&self.path, format!("by line {last}: {chunk_err}"))))
            }
        }
    }

    /// Fills the `writeDefault` of every column whose key a line lacks.
    fn fill_defaults(
        &self,
        text: &[u8],
        batch: RecordBatch,
    ) -> std::result::Result<RecordBatch, String> {
        if self.defaults.is_empty() {
            return Ok(batch);
        }
        let keys: Vec<serde_json::Map<String, serde_json::Value>> = text
            .split(|b| *b == b'\n')
            .filter(|l| !is_blank(l))
            .map(|l| serde_json::from_slice(l).map_err(|e| e.to_string()))
            .collect::<std::result::Result<_, _>>()?;
        let mut columns = batch.columns().to_vec();
        for (path, p, v) in &self.defaults {
            let Some((top, rest)) = path.split_first() else {
                continue;
            };
            let Ok(i) = batch.schema().index_of(top) else {
                continue;
            };
            let absent: BooleanArray = keys.iter().map(|k| Some(lacks(k, path))).collect();
            if absent.true_count() == 0 {
                continue;
            }
            let name = path.join(".");
            let fill = |column: &ArrayRef| {
                let one = default_array(p, v, column.data_type(), 1)
                    .map_err(|m| format!("column `{name}`: writeDefault {v}: {m}"))?;
                zip(&absent, &Scalar::new(one), column).map_err(|e| e.to_string())
            };
            columns[i] = replace_at(&columns[i], rest, &fill)?;
        }
        RecordBatch::try_new(batch.schema(), columns).map_err(|e| e.to_string())
    }

    /// Decodes `text`: whole lines, at most [`INGEST_BATCH_ROWS`] of them.
    fn decode(&self, text: &[u8]) -> std::result::Result<Option<RecordBatch>, String> {
        // Strict: a key the schema lacks is an error, never silently dropped.
        let mut decoder = arrow::json::ReaderBuilder::new(self.schema.clone())
            .with_batch_size(INGEST_BATCH_ROWS)
            .with_strict_mode(true)
            .build_decoder()
            .map_err(|e| e.to_string())?;
        let mut rest = text;
        while !rest.is_empty() {
            let n = decoder.decode(rest).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            rest = rest.get(n..).unwrap_or_default();
        }
        match decoder.flush().map_err(|e| e.to_string())? {
            Some(batch) => self.fill_defaults(text, batch).map(Some),
            None => Ok(None),
        }
    }
}

/// One chunk's result, received in the file's order.
type Pending = mpsc::Receiver<Option<Result<RecordBatch>>>;

/// The batches of an NDJSON file, in the file's order. One thread reads lines; chunks are
/// decoded on `threads` threads (JSON decoding, not reading, is what costs), at most
/// `2 × threads` chunks ahead of the consumer, so memory stays bounded. With one thread, the
/// chunks are decoded in the consumer's thread. The first error, in file order, ends the
/// batches; dropping the iterator stops the threads.
pub(super) fn batches<R: BufRead + Send + 'static>(
    reader: R,
    schema: SchemaRef,
    path: PathBuf,
    defaults: Vec<WriteDefault>,
    threads: usize,
) -> Box<dyn Iterator<Item = Result<RecordBatch>> + Send> {
    let chunks = LineChunks {
        reader,
        path: path.clone(),
        line: 0,
        done: false,
        capacity: 0,
        carry: Vec::new(),
    };
    let decoder = Arc::new(ChunkDecoder {
        schema,
        path,
        defaults,
    });
    if threads <= 1 {
        return Box::new(Ordered::Inline {
            chunks: Box::new(chunks),
            decoder,
            done: false,
        });
    }
    let (order_tx, order_rx) = mpsc::sync_channel::<Pending>(2 * threads);
    let (job_tx, job_rx) = mpsc::channel::<(Chunk, mpsc::SyncSender<_>)>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let mut started = 0;
    for _ in 0..threads {
        let (jobs, decoder) = (job_rx.clone(), decoder.clone());
        let worker = thread("strata-ndjson-decode").spawn(move || {
            loop {
                // The lock is held only to take the next job, not while decoding it.
                let job = match jobs.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((chunk, reply)) = job else { return };
                // A consumer that stopped early has dropped the receiver: nothing to do.
                let _ = reply.send(decoder.decode_chunk(&chunk));
            }
        });
        started += usize::from(worker.is_ok());
    }
    let reader = thread("strata-ndjson-read").spawn(move || {
        for chunk in chunks {
            let (reply, pending) = mpsc::sync_channel(1);
            if order_tx.send(pending).is_err() {
                return;
            }
            match chunk {
                Ok(chunk) => {
                    if job_tx.send((chunk, reply)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = reply.send(Some(Err(e)));
                    return;
                }
            }
        }
    });
    let failed = match reader {
        Err(e) => Some(e.to_string()),
        Ok(_) if started == 0 => Some("none started".to_string()),
        Ok(_) => None,
    };
    if let Some(e) = failed {
        // No thread to read or decode (the system's limit is reached): one error says so.
        let message = format!("cannot start the NDJSON decoding threads: {e}");
        return Box::new(std::iter::once(Err(bad(&decoder.path, message))));
    }
    Box::new(Ordered::Threads {
        pending: order_rx,
        path: decoder.path.clone(),
        done: false,
    })
}

fn thread(name: &str) -> std::thread::Builder {
    std::thread::Builder::new().name(name.to_string())
}

/// The consumer's side: results in the file's order.
enum Ordered {
    Inline {
        chunks: Box<dyn Iterator<Item = Result<Chunk>> + Send>,
        decoder: Arc<ChunkDecoder>,
        done: bool,
    },
    Threads {
        pending: mpsc::Receiver<Pending>,
        path: PathBuf,
        done: bool,
    },
}

impl Iterator for Ordered {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (result, done) = match self {
                Self::Inline { done: true, .. } | Self::Threads { done: true, .. } => return None,
                Self::Inline {
                    chunks,
                    decoder,
                    done,
                } => (
                    match chunks.next()? {
                        Ok(chunk) => decoder.decode_chunk(&chunk),
                        Err(e) => Some(Err(e)),
                    },
                    done,
                ),
                Self::Threads {
                    pending,
                    path,
                    done,
                } => {
                    // The reader has finished (or stopped at an error) when the queue closes.
                    let chunk = pending.recv().ok()?;
                    let result = chunk.recv().unwrap_or_else(|_| {
                        Some(Err(bad(
                            path,
                            "a decoding thread stopped without an answer",
                        )))
                    });
                    (result, done)
                }
            };
            match result {
                // A chunk of lines that decodes to no rows: go on to the next.
                None => continue,
                Some(Err(e)) => {
                    *done = true;
                    return Some(Err(e));
                }
                Some(Ok(b)) => return Some(Ok(b)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    use strata_format::compact::parse_schema;

    fn lines(n: usize, bad: &[usize]) -> String {
        let mut text = String::new();
        for i in 1..=n {
            if bad.contains(&i) {
                text.push_str("{\"id\": \"not a number\"}\n");
            } else if i % 1000 == 0 {
                // Blank lines count as lines but give no row.
                text.push_str("   \n");
            } else {
                text.push_str(&format!("{{\"id\": {i}, \"name\": \"n{i}\"}}\n"));
            }
        }
        text
    }

    fn decode(text: String, threads: usize) -> Vec<Result<RecordBatch>> {
        decode_bytes(text.into_bytes(), threads, READ_BLOCK)
    }

    /// Decodes `bytes` read through a buffer of `buffer` bytes.
    fn decode_bytes(bytes: Vec<u8>, threads: usize, buffer: usize) -> Vec<Result<RecordBatch>> {
        let schema = parse_schema("id:int64,name:string?").unwrap();
        let arrow = crate::arrow_schema::to_arrow_schema(&schema).unwrap();
        batches(
            std::io::BufReader::with_capacity(buffer, std::io::Cursor::new(bytes)),
            arrow,
            PathBuf::from("in.ndjson"),
            write_defaults(&schema),
            threads,
        )
        .collect()
    }

    fn ids(batches: Vec<Result<RecordBatch>>) -> Vec<i64> {
        batches
            .into_iter()
            .flat_map(|b| {
                let b = b.unwrap();
                b.column(0).as_primitive::<Int64Type>().values().to_vec()
            })
            .collect()
    }

    #[test]
    fn chunks_decoded_on_several_threads_come_back_in_file_order() {
        let n = 3 * INGEST_BATCH_ROWS + 4321;
        let expected: Vec<i64> = (1..=n as i64).filter(|i| i % 1000 != 0).collect();
        let one = ids(decode(lines(n, &[]), 1));
        assert_eq!(one, expected);
        for threads in [2, 3, 8] {
            assert_eq!(ids(decode(lines(n, &[]), threads)), expected, "{threads}");
        }
    }

    #[test]
    fn the_first_bad_line_in_file_order_is_the_error_whatever_the_threads() {
        let n = 3 * INGEST_BATCH_ROWS;
        // Lines 9,000 and 20,000 are in the second and third chunks; the third may well be
        // decoded first, yet the second's line is reported, after the first chunk's rows.
        for threads in [1, 3] {
            let out = decode(lines(n, &[9_000, 20_000]), threads);
            assert_eq!(out.len(), 2, "{threads}");
            assert_eq!(out[0].as_ref().unwrap().num_rows(), INGEST_BATCH_ROWS);
            let err = out[1].as_ref().unwrap_err().to_string();
            assert!(
                err.contains("in.ndjson") && err.contains("line 9000"),
                "{threads}: {err}"
            );
        }
    }

    #[test]
    fn lines_cut_across_reads_keep_their_rows_and_numbers() {
        // Buffers of a few bytes cut lines (and chunks) anywhere; blank lines, Unicode
        // whitespace, CRLF and a last line without its newline are all lines.
        let n = 2 * INGEST_BATCH_ROWS + 17;
        let mut text = String::new();
        for i in 1..=n {
            match i % 997 {
                0 => text.push_str("\u{a0}\t \r\n"),
                1 => text.push_str(&format!("{{\"id\": {i}}}\r\n")),
                _ => text.push_str(&format!("{{\"id\": {i}, \"name\": \"é{i}\"}}\n")),
            }
        }
        text.push_str(&format!("{{\"id\": {}}}", n + 1));
        let expected: Vec<i64> = (1..=n as i64 + 1).filter(|i| i % 997 != 0).collect();
        for (threads, buffer) in [(1, 7), (3, 64), (2, READ_BLOCK)] {
            let out = decode_bytes(text.clone().into_bytes(), threads, buffer);
            assert_eq!(ids(out), expected, "{threads} threads, buffer {buffer}");
        }
        // A bad line after the blank ones is named by its number in the file.
        let bad_line = INGEST_BATCH_ROWS + 1000;
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        lines[bad_line - 1] = "{\"id\": [1]}\n";
        let out = decode_bytes(lines.concat().into_bytes(), 1, 5);
        let err = out.last().unwrap().as_ref().unwrap_err().to_string();
        assert!(err.contains(&format!("line {bad_line}:")), "{err}");
    }

    #[test]
    fn a_line_that_is_not_utf8_is_named() {
        let mut bytes = lines(10, &[]).into_bytes();
        let mut third = b"{\"id\": 3, \"name\": \"\xff\xfe\"}\n".to_vec();
        let at = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(1)
            .unwrap()
            .0
            + 1;
        let end = at + bytes[at..].iter().position(|b| *b == b'\n').unwrap() + 1;
        bytes.splice(at..end, third.drain(..));
        for threads in [1, 2] {
            let out = decode_bytes(bytes.clone(), threads, 16);
            let err = out.last().unwrap().as_ref().unwrap_err().to_string();
            assert!(
                err.contains("in.ndjson") && err.contains("line 3:"),
                "{err}"
            );
        }
    }
}
