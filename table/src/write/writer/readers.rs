//! Floating-point columns are written with `BYTE_STREAM_SPLIT` (SPEC §4.6): the files say so in
//! their metadata, and parquet-rs, pyarrow and DuckDB read back every value (NaN, infinities,
//! -0.0, nulls, inside lists too).

use super::fixtures::*;
use super::*;
use arrow::array::{ArrayRef, Float32Array, Float64Array, Int64Array, ListArray};
use arrow::datatypes::Float64Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Encoding;
use strata_format::schema::{DataType, ListType, PrimitiveType as P, StructField};

/// More distinct values than a 1 MiB dictionary page holds, so the writer falls back from the
/// dictionary to byte stream split within the first row group.
const ROWS: usize = 400_000;

fn schema() -> Schema {
    Schema::new(
        0,
        vec![
            StructField::required(1, "id", P::Int64),
            StructField::optional(2, "f32", P::Float32),
            StructField::optional(3, "f64", P::Float64),
            StructField::optional(
                4,
                "lst",
                DataType::List(ListType {
                    element_id: 5,
                    element: Box::new(DataType::Primitive(P::Float64)),
                    element_required: false,
                }),
            ),
        ],
    )
    .unwrap()
}

/// Row `i`'s value before the float type: null every 13th row, NaN, +inf, -inf and -0.0 at
/// 7, 8, 9 and 10 modulo 1,000; the same rule the Python check applies.
fn special(i: usize) -> Option<Option<f64>> {
    if i.is_multiple_of(13) {
        return Some(None);
    }
    match i % 1000 {
        7 => Some(Some(f64::NAN)),
        8 => Some(Some(f64::INFINITY)),
        9 => Some(Some(f64::NEG_INFINITY)),
        10 => Some(Some(-0.0)),
        _ => None,
    }
}

fn input() -> RecordBatch {
    let f64s: Float64Array = (0..ROWS)
        .map(|i| special(i).unwrap_or(Some(i as f64 * 1.1 + 0.3)))
        .collect();
    let f32s: Float32Array = (0..ROWS)
        .map(|i| match special(i) {
            Some(v) => v.map(|v| v as f32),
            None => Some(i as f32 * 0.7f32),
        })
        .collect();
    let lists = ListArray::from_iter_primitive::<Float64Type, _, _>(
        (0..ROWS).map(|i| Some(vec![Some(i as f64 / 3.0), None, Some(-(i as f64))])),
    );
    RecordBatch::try_from_iter(vec![
        (
            "id",
            Arc::new(Int64Array::from_iter_values(0..ROWS as i64)) as ArrayRef,
        ),
        ("f32", Arc::new(f32s)),
        ("f64", Arc::new(f64s)),
        ("lst", Arc::new(lists)),
    ])
    .unwrap()
}

/// Column path -> encodings of its chunks, over every row group.
fn encodings(bytes: bytes::Bytes) -> BTreeMap<String, Vec<Encoding>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    let mut out: BTreeMap<String, Vec<Encoding>> = BTreeMap::new();
    for rg in builder.metadata().row_groups() {
        for c in rg.columns() {
            out.entry(c.column_path().string())
                .or_default()
                .extend(c.encodings());
        }
    }
    out
}

#[tokio::test]
async fn float_columns_are_byte_stream_split_and_round_trip() {
    let loc = memory_location();
    let schema = schema();
    let input = input();
    let adds = write_all(
        &loc,
        &schema,
        WriterOptions::default(),
        std::slice::from_ref(&input),
    )
    .await;
    let (bytes, read) = read_back(&loc, &adds[0]).await;
    let enc = encodings(bytes);
    for col in ["f32", "f64", "lst.list.element"] {
        assert!(
            enc[col].contains(&Encoding::BYTE_STREAM_SPLIT),
            "{col}: {:?}",
            enc[col]
        );
    }
    assert!(!enc["id"].contains(&Encoding::BYTE_STREAM_SPLIT), "{enc:?}");
    let target = to_arrow_schema(&schema).unwrap();
    let expected = crate::arrow_schema::conform_batch(&input, &schema, &target).unwrap();
    for (i, name) in ["id", "f32", "f64", "lst"].iter().enumerate() {
        // Compared as array data: bit for bit, so NaN equals NaN.
        assert!(
            read.column(i).to_data() == expected.column(i).to_data(),
            "column {name} differs"
        );
    }
}

/// Reads the file with pyarrow and DuckDB and checks every value against the rule above.
const CHECK: &str = r#"
import math, struct, sys
import duckdb
import pyarrow.parquet as pq

path, rows = sys.argv[1], int(sys.argv[2])
def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]
def special(i):
    if i % 13 == 0:
        return ("null",)
    return {7: ("v", math.nan), 8: ("v", math.inf), 9: ("v", -math.inf), 10: ("v", -0.0)}.get(i % 1000)
def same(got, want):
    if want is None or got is None:
        return got is None and want is None
    if math.isnan(want):
        return math.isnan(got)
    return got == want and math.copysign(1.0, got) == math.copysign(1.0, want)
def check(reader, rows_read):
    n = 0
    for (i, a, b, lst) in rows_read:
        s = special(i)
        want64 = None if s == ("null",) else (s[1] if s else i * 1.1 + 0.3)
        want32 = None if s == ("null",) else (f32(s[1]) if s else f32(f32(i) * f32(0.7)))
        lst_want = [i / 3.0, None, -float(i)]
        if not (same(a, want32) and same(b, want64)) or len(lst) != 3 or not all(
            same(g, w) for g, w in zip(lst, lst_want)
        ):
            sys.exit(f"{reader}: row {i}: got {a!r} {b!r} {lst!r}, expected {want32!r} {want64!r} {lst_want!r}")
        n += 1
    if n != rows:
        sys.exit(f"{reader}: {n} rows, expected {rows}")
    print(reader, n)

md = pq.ParquetFile(path).metadata
encodings = {md.row_group(0).column(c).path_in_schema: md.row_group(0).column(c).encodings
             for c in range(md.num_columns)}
print("row groups", md.num_row_groups, "encodings", encodings, file=sys.stderr)
print("f64 encodings", "BYTE_STREAM_SPLIT" in encodings["f64"])
t = pq.read_table(path)
check("pyarrow", zip(*(t.column(c).to_pylist() for c in ("id", "f32", "f64", "lst"))))
rel = duckdb.sql(f"SELECT id, f32, f64, lst FROM read_parquet('{path}') ORDER BY id")
check("duckdb", rel.fetchall())
"#;

#[tokio::test]
async fn pyarrow_and_duckdb_read_byte_stream_split() {
    let Some(python) = std::env::var_os("STRATA_TEST_PYTHON") else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipping pyarrow_and_duckdb_read_byte_stream_split: STRATA_TEST_PYTHON is not set"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    let loc = TableLocation::new(Arc::new(store), Path::default(), "file:///tmp/t");
    let adds = write_all(&loc, &schema(), WriterOptions::default(), &[input()]).await;
    let file = dir.path().join(&adds[0].path);
    let out = tokio::process::Command::new(python)
        .arg("-c")
        .arg(CHECK)
        .arg(&file)
        .arg(ROWS.to_string())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "f64 encodings True".to_string(),
            format!("pyarrow {ROWS}"),
            format!("duckdb {ROWS}"),
        ],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
