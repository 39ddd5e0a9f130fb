//! Data path cases: round trips of every type, time travel of rows, pruned scans.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, Int64Builder, ListBuilder,
    MapBuilder, RecordBatch, StringArray, StringBuilder, StructArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use arrow::compute::concat_batches;
use strata_format::expr::Expr;
use strata_format::schema::{ListType, MapType, StructType};
use strata_format::{DataType, PrimitiveType, Schema, StructField};
use strata_table::arrow_schema::to_arrow_schema;
use strata_table::{CreateTable, DeleteMode, FooterCache, SnapshotSelector, Table, TableOptions};

use crate::backends::{CaseResult, TestBackend};
use crate::{check, check_eq};

/// A schema with every primitive type and the nested types.
pub fn all_types_schema() -> Result<Schema, strata_format::FormatError> {
    use PrimitiveType as P;
    let prims = [
        ("b", P::Boolean),
        ("i8", P::Int8),
        ("i16", P::Int16),
        ("i32", P::Int32),
        ("i64", P::Int64),
        ("f32", P::Float32),
        ("f64", P::Float64),
        (
            "dec",
            P::Decimal {
                precision: 10,
                scale: 2,
            },
        ),
        ("d", P::Date),
        ("t", P::Time),
        ("ts", P::Timestamp),
        ("tstz", P::Timestamptz),
        ("s", P::String),
        ("bin", P::Binary),
    ];
    let mut fields: Vec<StructField> = prims
        .iter()
        .enumerate()
        .map(|(i, (n, p))| StructField::optional(i as i32 + 1, *n, *p))
        .collect();
    fields[0].required = true;
    fields.push(StructField::optional(
        20,
        "point",
        DataType::Struct(StructType {
            fields: vec![
                StructField::required(21, "x", P::Float64),
                StructField::optional(22, "label", P::String),
            ],
        }),
    ));
    fields.push(StructField::optional(
        23,
        "tags",
        DataType::List(ListType {
            element_id: 24,
            element_required: false,
            element: Box::new(P::String.into()),
        }),
    ));
    fields.push(StructField::optional(
        25,
        "counts",
        DataType::Map(MapType {
            key_id: 26,
            key: Box::new(P::String.into()),
            value_id: 27,
            value_required: false,
            value: Box::new(P::Int64.into()),
        }),
    ));
    Schema::new(0, fields)
}

/// `n` rows of every type, with nulls in every optional column, offset by `seed`.
pub fn all_types_batch(schema: &Schema, n: usize, seed: i64) -> Result<RecordBatch, String> {
    let target = to_arrow_schema(schema).map_err(|e| e.to_string())?;
    let opt = |i: usize| i % 5 != 3;
    let k = |i: usize| seed + i as i64;
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(BooleanArray::from(
            (0..n).map(|i| i % 2 == 0).collect::<Vec<_>>(),
        )),
        Arc::new(Int8Array::from(
            (0..n)
                .map(|i| opt(i).then_some((k(i) % 100) as i8))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Int16Array::from(
            (0..n)
                .map(|i| opt(i).then_some((k(i) % 1000) as i16))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Int32Array::from(
            (0..n)
                .map(|i| opt(i).then_some(k(i) as i32 * 7))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(
            (0..n)
                .map(|i| opt(i).then_some(k(i) * 1_000_003))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float32Array::from(
            (0..n)
                .map(|i| opt(i).then_some(k(i) as f32 * 0.5))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            (0..n)
                .map(|i| opt(i).then_some(k(i) as f64 * -1.25))
                .collect::<Vec<_>>(),
        )),
        Arc::new(
            Decimal128Array::from(
                (0..n)
                    .map(|i| opt(i).then_some(k(i) as i128 * 101))
                    .collect::<Vec<_>>(),
            )
            .with_precision_and_scale(10, 2)
            .map_err(|e| e.to_string())?,
        ),
        Arc::new(Date32Array::from(
            (0..n)
                .map(|i| opt(i).then_some(19_000 + k(i) as i32))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Time64MicrosecondArray::from(
            (0..n)
                .map(|i| opt(i).then_some(k(i) * 1_000_000 % 86_400_000_000))
                .collect::<Vec<_>>(),
        )),
        Arc::new(TimestampMicrosecondArray::from(
            (0..n)
                .map(|i| opt(i).then_some(1_700_000_000_000_000 + k(i) * 1_000))
                .collect::<Vec<_>>(),
        )),
        Arc::new(
            TimestampMicrosecondArray::from(
                (0..n)
                    .map(|i| opt(i).then_some(1_700_000_000_000_000 - k(i)))
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from(
            (0..n)
                .map(|i| opt(i).then(|| format!("s-{}-é", k(i))))
                .collect::<Vec<_>>(),
        )),
        Arc::new(BinaryArray::from(
            (0..n)
                .map(|i| opt(i).then(|| vec![(k(i) % 256) as u8, 0, 255]))
                .collect::<Vec<Option<Vec<u8>>>>()
                .iter()
                .map(|o| o.as_deref())
                .collect::<Vec<_>>(),
        )),
    ];
    // point: struct, null on some rows.
    let arrow::datatypes::DataType::Struct(point_fields) = target.field(14).data_type().clone()
    else {
        return Err("point is not a struct".into());
    };
    let xs = Float64Array::from((0..n).map(|i| k(i) as f64).collect::<Vec<_>>());
    let labels = StringArray::from(
        (0..n)
            .map(|i| (i % 3 != 0).then(|| format!("p{i}")))
            .collect::<Vec<_>>(),
    );
    let nulls = arrow::buffer::NullBuffer::from((0..n).map(|i| i % 4 != 1).collect::<Vec<_>>());
    cols.push(Arc::new(
        StructArray::try_new(
            point_fields,
            vec![Arc::new(xs), Arc::new(labels)],
            Some(nulls),
        )
        .map_err(|e| e.to_string())?,
    ));
    // tags: list<string>
    let mut lb = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        if i % 6 == 5 {
            lb.append(false);
        } else {
            for j in 0..(i % 3) {
                lb.values().append_value(format!("t{j}"));
            }
            lb.append(true);
        }
    }
    cols.push(Arc::new(lb.finish()));
    // counts: map<string, int64>
    let mut mb = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    for i in 0..n {
        if i % 7 == 6 {
            mb.append(false).map_err(|e| e.to_string())?;
        } else {
            for j in 0..(i % 2 + 1) {
                mb.keys().append_value(format!("k{j}"));
                mb.values().append_value(k(i) + j as i64);
            }
            mb.append(true).map_err(|e| e.to_string())?;
        }
    }
    cols.push(Arc::new(mb.finish()));
    // Cast every column to the exact target field type (names/metadata of nested fields).
    let cols = cols
        .into_iter()
        .zip(target.fields())
        .map(|(c, f)| {
            arrow::compute::cast(&c, f.data_type()).map_err(|e| format!("{}: {e}", f.name()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(target, cols).map_err(|e| e.to_string())
}

async fn scan_all(
    t: &Table,
    sel: SnapshotSelector,
) -> Result<Option<RecordBatch>, Box<dyn std::error::Error + Send + Sync>> {
    let scan = t.scan().snapshot(sel).plan().await?;
    let schema = scan.output_schema();
    let batches = scan.collect().await?;
    if batches.is_empty() {
        return Ok(None);
    }
    Ok(Some(concat_batches(&schema, &batches)?))
}

/// Every type of the type system, nulls and nested types survive an append and a scan.
pub async fn all_types_round_trip(b: &TestBackend) -> CaseResult {
    let schema = all_types_schema()?;
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(schema.clone()),
        TableOptions::default(),
    )
    .await?;
    let batch = all_types_batch(&schema, 300, 0)?;
    t.append([batch.clone()]).await?;
    let Some(read) = scan_all(&t, SnapshotSelector::Latest).await? else {
        return Err("the scan returned nothing".into());
    };
    check_eq!(read.num_rows(), 300);
    for (i, f) in batch.schema().fields().iter().enumerate() {
        check!(
            read.column(i).as_ref() == batch.column(i).as_ref(),
            "column {} differs after the round trip",
            f.name()
        );
    }
    Ok(())
}

/// Scans of older versions return the rows those versions had.
pub async fn scans_time_travel(b: &TestBackend) -> CaseResult {
    let schema = all_types_schema()?;
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(schema.clone()),
        TableOptions::default(),
    )
    .await?;
    t.append([all_types_batch(&schema, 10, 0)?]).await?;
    t.append([all_types_batch(&schema, 20, 100)?]).await?;
    let one = scan_all(&t, SnapshotSelector::Version(1))
        .await?
        .map(|b| b.num_rows());
    let two = scan_all(&t, SnapshotSelector::Version(2))
        .await?
        .map(|b| b.num_rows());
    check_eq!(one, Some(10));
    check_eq!(two, Some(30));
    let zero = scan_all(&t, SnapshotSelector::Version(0)).await?;
    check!(zero.is_none(), "version 0 has no rows");
    Ok(())
}

/// A day-partitioned table: a predicate on one day reads only that day's files and returns
/// exactly the rows a brute-force filter returns.
pub async fn pruned_scan_matches_brute_force(b: &TestBackend) -> CaseResult {
    let schema = strata_format::compact::parse_schema("id:int64,ts:timestamptz,v:float64?")?;
    let spec = strata_format::compact::parse_partition_spec("day(ts)", &schema, 0, 1000)?;
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(schema.clone()).with_partition_spec(spec),
        TableOptions::default(),
    )
    .await?;
    let target = to_arrow_schema(&schema)?;
    let day = 86_400_000_000i64;
    for d in 0..5i64 {
        let ids: Vec<i64> = (0..100).map(|i| d * 100 + i).collect();
        let ts: Vec<i64> = (0..100).map(|i| d * day + i * (day / 100)).collect();
        let v: Vec<Option<f64>> = (0..100).map(|i| (i % 9 != 0).then_some(i as f64)).collect();
        let batch = RecordBatch::try_new(
            target.clone(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
                Arc::new(Float64Array::from(v)),
            ],
        )?;
        t.append([batch]).await?;
    }
    let pred = Expr::parse(
        "ts >= TIMESTAMP '1970-01-03 00:00:00' AND ts < TIMESTAMP '1970-01-04 00:00:00' AND v > 50",
    )?;
    let scan = t.scan().filter(pred).plan().await?;
    let metrics = scan.metrics();
    let schema_out = scan.output_schema();
    let rows = scan.collect().await?;
    let got = concat_batches(&schema_out, &rows)?;
    let ids = got
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or("id is not int64")?;
    let mut got_ids: Vec<i64> = ids.values().to_vec();
    got_ids.sort_unstable();
    let expected: Vec<i64> = (0..100)
        .filter(|i| i % 9 != 0 && *i > 50)
        .map(|i| 200 + i)
        .collect();
    check_eq!(got_ids, expected);
    let report = metrics.report();
    check_eq!(report.files_total, 5);
    check_eq!(report.files_read, 1);
    check!(
        report.files_pruned_by_partition + report.files_pruned_by_stats == 4,
        "{report:?}"
    );
    check!(report.bytes_skipped > report.bytes_scanned, "{report:?}");
    Ok(())
}

/// The ids (first column, int64) of `batches`, in the order returned.
pub(crate) fn ids_of(batches: &[RecordBatch]) -> Result<Vec<i64>, String> {
    let mut out = Vec::new();
    for b in batches {
        let a = b
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or("id is not int64")?;
        out.extend(a.values().iter().copied());
    }
    Ok(out)
}

/// One file of four row groups is decoded in several units: ordered scans still return the
/// rows in file order, unordered ones every row once, and a predicate prunes row groups and
/// pages, each unit reading its own part of the page selection.
pub async fn row_groups_of_one_file_scan_in_order(b: &TestBackend) -> CaseResult {
    let group_rows = strata_table::UNIT_MIN_ROWS as i64;
    let n = 4 * group_rows;
    let schema = strata_format::compact::parse_schema("id:int64")?;
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(schema.clone())
            .with_property("strata.write.rowGroupRows", group_rows.to_string()),
        TableOptions::default(),
    )
    .await?;
    let batch = RecordBatch::try_new(
        to_arrow_schema(&schema)?,
        vec![Arc::new(Int64Array::from_iter_values(0..n))],
    )?;
    t.append([batch]).await?;
    check_eq!(t.latest().await?.files().len(), 1);
    let all: Vec<i64> = (0..n).collect();

    let ordered = t
        .scan()
        .batch_size(10_000)
        .preserve_order(true)
        .plan()
        .await?;
    check_eq!(ids_of(&ordered.collect().await?)?, all);

    let mut unordered = ids_of(&t.scan().concurrency(4).plan().await?.collect().await?)?;
    unordered.sort_unstable();
    check_eq!(unordered, all);

    let pred = Expr::parse("id >= 200000 AND id < 300000")?;
    let scan = t.scan().filter(pred).preserve_order(true).plan().await?;
    let metrics = scan.metrics();
    check_eq!(
        ids_of(&scan.collect().await?)?,
        (200_000..300_000).collect::<Vec<i64>>()
    );
    let report = metrics.report();
    check_eq!(report.row_groups_total, 4);
    // Groups 0 (ids below 131,072) and 3 (from 393,216) cannot match.
    check_eq!(report.row_groups_pruned, 2);
    check!(report.rows_pruned_by_page_index > 0, "{report:?}");
    check_eq!(report.rows_returned, 100_000);

    let first = t.scan().limit(1000).preserve_order(true).plan().await?;
    check_eq!(
        ids_of(&first.collect().await?)?,
        (0..1000).collect::<Vec<i64>>()
    );
    Ok(())
}

/// Three files of ids 0..30: one wholly matching, one partly, one not at all.
pub(crate) async fn three_file_table(
    b: &TestBackend,
) -> Result<(Table, arrow::datatypes::SchemaRef), Box<dyn std::error::Error + Send + Sync>> {
    let schema = strata_format::compact::parse_schema("id:int64,v:string?")?;
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(schema.clone()),
        TableOptions::default(),
    )
    .await?;
    let target = to_arrow_schema(&schema)?;
    for f in 0..3i64 {
        let ids: Vec<i64> = (f * 10..f * 10 + 10).collect();
        let v: Vec<Option<String>> = ids.iter().map(|i| Some(format!("v{i}"))).collect();
        let batch = RecordBatch::try_new(
            target.clone(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(v)),
            ],
        )?;
        t.append([batch]).await?;
    }
    Ok((t, target))
}

pub(crate) async fn ids_at(
    t: &Table,
    sel: SnapshotSelector,
) -> Result<Vec<i64>, Box<dyn std::error::Error + Send + Sync>> {
    let mut out = match scan_all(t, sel).await? {
        Some(b) => ids_of(&[b])?,
        None => Vec::new(),
    };
    out.sort_unstable();
    Ok(out)
}

/// DELETE WHERE in copy-on-write mode removes wholly matching files, rewrites partly matching
/// ones, keeps the rest; the version before still has every row.
pub async fn delete_where_is_copy_on_write(b: &TestBackend) -> CaseResult {
    let (t, _) = three_file_table(b).await?;
    let before = t.latest().await?;
    let c = t
        .delete_with(
            Expr::parse("id < 10 OR id IN (12, 13)")?,
            DeleteMode::CopyOnWrite,
        )
        .await?;
    check!(
        c.snapshot
            .files()
            .values()
            .all(|f| f.deletion_vector.is_none()),
        "copy-on-write writes no vector"
    );
    let after = c.snapshot.clone();
    check_eq!(after.files().len(), 2);
    let untouched: Vec<&String> = before
        .files()
        .keys()
        .filter(|k| after.files().contains_key(k))
        .collect();
    check_eq!(untouched.len(), 1);
    let expected: Vec<i64> = (10..30).filter(|i| *i != 12 && *i != 13).collect();
    check_eq!(ids_at(&t, SnapshotSelector::Latest).await?, expected);
    check_eq!(
        ids_at(&t, SnapshotSelector::Version(before.version())).await?,
        (0..30).collect::<Vec<_>>()
    );
    let h = &t.history(Some(1)).await?[0];
    check_eq!(h.info.operation, "DELETE");
    check_eq!(h.info.operation_metrics.get("numDeletedRows"), Some(&12));
    // A predicate matching nothing commits a version that changes no file.
    let none = t
        .delete_with(Expr::parse("id > 1000")?, DeleteMode::CopyOnWrite)
        .await?;
    check_eq!(none.snapshot.files().len(), 2);
    Ok(())
}

/// Two overwrites of the same rows from the same snapshot: exactly one wins, the other gets a
/// typed conflict; a blind append racing a delete lands and survives it (a serial order).
pub async fn concurrent_overwrites_cannot_both_win(b: &TestBackend) -> CaseResult {
    let (t, target) = three_file_table(b).await?;
    let other = Table::open(&b.table_uri("t")).await?;
    let rows = |ids: Vec<i64>| -> Result<RecordBatch, arrow::error::ArrowError> {
        let v: Vec<Option<String>> = ids.iter().map(|_| Some("new".to_string())).collect();
        RecordBatch::try_new(
            target.clone(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(v)),
            ],
        )
    };
    let a = t.overwrite_where(
        Expr::parse("id < 15")?,
        futures::stream::iter([Ok(rows(vec![100])?)]),
    );
    let bb = other.overwrite_where(
        Expr::parse("id < 12")?,
        futures::stream::iter([Ok(rows(vec![200])?)]),
    );
    let (ra, rb) = futures::future::join(a, bb).await;
    let conflicts = [&ra, &rb]
        .iter()
        .filter(|r| matches!(r, Err(strata_table::Error::Conflict { .. })))
        .count();
    let other_errors = [&ra, &rb].iter().filter(|r| r.is_err()).count() - conflicts;
    check_eq!(other_errors, 0);
    let ids = ids_at(&t, SnapshotSelector::Latest).await?;
    // The serial orders: A alone, B alone (the other conflicted), or both in either order
    // (when one read the other's commit), which give the same rows.
    let only_a: Vec<i64> = (15..30).chain([100]).collect();
    let only_b: Vec<i64> = (12..30).chain([200]).collect();
    let both: Vec<i64> = (15..30).chain([100, 200]).collect();
    let ok = match conflicts {
        0 => ids == both,
        1 => ids == only_a || ids == only_b,
        _ => false,
    };
    check!(ok, "not a serial outcome ({conflicts} conflicts): {ids:?}");
    Ok(())
}

/// pyarrow (an independent reader) reads every data file Strata wrote, sees the field id of
/// every column, nested ones included, and the row counts the log records. Needs
/// `STRATA_TEST_PYTHON` (a Python with pyarrow; `scripts/test` provides it) and a local table.
pub async fn pyarrow_reads_data_files_with_field_ids(b: &TestBackend) -> CaseResult {
    use std::io::Write;
    let Ok(python) = std::env::var("STRATA_TEST_PYTHON") else {
        let _ = writeln!(
            std::io::stderr(),
            "NOTICE: pyarrow cross-check skipped: STRATA_TEST_PYTHON is not set"
        );
        return Ok(());
    };
    if b.kind() != crate::backends::BackendKind::Local {
        return Ok(());
    }
    let schema = all_types_schema()?;
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(schema.clone()),
        TableOptions::default(),
    )
    .await?;
    t.append([all_types_batch(&schema, 50, 0)?]).await?;
    t.append([all_types_batch(&schema, 70, 9)?]).await?;
    let s = t.latest().await?;
    let mut expected_ids: Vec<i32> = schema.field_index().keys().copied().collect();
    expected_ids.sort_unstable();
    let script = r#"
import json, sys
import pyarrow.parquet as pq
def ids(field, out):
    md = field.metadata or {}
    if b"PARQUET:field_id" in md:
        out.append(int(md[b"PARQUET:field_id"]))
    t = field.type
    if hasattr(t, "value_field") and hasattr(t, "key_field"):
        ids(t.key_field, out); ids(t.item_field, out)
    elif hasattr(t, "value_field"):
        ids(t.value_field, out)
    elif hasattr(t, "num_fields"):
        for i in range(t.num_fields):
            ids(t.field(i), out)
res = []
for path in sys.argv[1:]:
    f = pq.ParquetFile(path)
    out = []
    for fld in f.schema_arrow:
        ids(fld, out)
    tbl = f.read()
    res.append({"rows": tbl.num_rows, "ids": sorted(out)})
print(json.dumps(res))
"#;
    let mut paths = Vec::new();
    let mut rows = Vec::new();
    for f in s.files().values() {
        let uri = s.physical_location(f);
        let path = url::Url::parse(&uri)?
            .to_file_path()
            .map_err(|()| format!("not a file URI: {uri}"))?;
        paths.push(path.to_string_lossy().into_owned());
        rows.push(f.record_count);
    }
    check_eq!(paths.len(), 2);
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(&paths)
        .output()?;
    check!(
        out.status.success(),
        "pyarrow failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    for (i, want_rows) in rows.iter().enumerate() {
        check_eq!(seen[i]["rows"].as_u64(), Some(*want_rows));
        let ids: Vec<i32> = seen[i]["ids"]
            .as_array()
            .ok_or("no ids")?
            .iter()
            .filter_map(|v| v.as_i64().and_then(|x| i32::try_from(x).ok()))
            .collect();
        check_eq!(ids, expected_ids);
    }
    Ok(())
}

/// A footer cache shared by scans: the second scan of a table reads no footer and returns the
/// same rows; a scan that needs the page index reads the footers again once; another table
/// (another `tableId`, other objects) never gets this table's footers.
pub async fn footer_cache_serves_repeated_scans(b: &TestBackend) -> CaseResult {
    let (t, target) = three_file_table(b).await?;
    let cache = Arc::new(FooterCache::default());
    let scan = |filter: Option<&'static str>, cache: Option<&Arc<FooterCache>>| {
        let mut s = t.scan().preserve_order(true);
        if let Some(c) = cache {
            s = s.footer_cache(c.clone());
        }
        async move {
            if let Some(f) = filter {
                s = s.filter(Expr::parse(f)?);
            }
            let scan = s.plan().await?;
            let metrics = scan.metrics();
            let mut ids = ids_of(&scan.collect().await?)?;
            // Files come in path order, and paths are random.
            ids.sort_unstable();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((ids, metrics.report()))
        }
    };
    let (plain, plain_report) = scan(None, None).await?;
    check_eq!(plain, (0..30).collect::<Vec<i64>>());

    let (first, first_report) = scan(None, Some(&cache)).await?;
    check_eq!(first, plain);
    check_eq!(first_report.bytes_scanned, plain_report.bytes_scanned);
    let s = cache.stats();
    check_eq!((s.hits, s.misses, s.entries), (0, 3, 3));
    check!(s.bytes > 0 && s.bytes <= s.capacity, "{s:?}");

    let (second, second_report) = scan(None, Some(&cache)).await?;
    check_eq!(second, plain);
    check_eq!(cache.stats().hits, 3);
    // Only the footers were left unread: the pages are fetched as before.
    check!(
        second_report.bytes_scanned < first_report.bytes_scanned,
        "{second_report:?} {first_report:?}"
    );

    // A filter reads the page index: the footers read without it do not serve; the scan
    // after does. Files pruned by their statistics are not opened at all.
    let filter = "id >= 12 AND id < 25";
    let (want, _) = scan(Some(filter), None).await?;
    check_eq!(want, (12..25).collect::<Vec<i64>>());
    let (filtered, _) = scan(Some(filter), Some(&cache)).await?;
    check_eq!(filtered, want);
    check_eq!((cache.stats().hits, cache.stats().misses), (3, 5));
    let (again, _) = scan(Some(filter), Some(&cache)).await?;
    check_eq!(again, want);
    check_eq!((cache.stats().hits, cache.stats().misses), (5, 5));
    check_eq!(cache.stats().entries, 3);

    // Another table with the same rows shares the cache but none of its entries.
    let other = Table::create_with(
        b.location("other")?,
        CreateTable::new(t.latest().await?.schema().clone()),
        TableOptions::default(),
    )
    .await?;
    let batches = t
        .scan()
        .preserve_order(true)
        .plan()
        .await?
        .collect()
        .await?;
    let batch = concat_batches(&target, &batches)?;
    other.append([batch]).await?;
    let rows = other
        .scan()
        .footer_cache(cache.clone())
        .plan()
        .await?
        .collect()
        .await?;
    let mut ids = ids_of(&rows)?;
    ids.sort_unstable();
    check_eq!(ids, plain);
    check_eq!((cache.stats().hits, cache.stats().misses), (5, 6));
    check_eq!(cache.stats().entries, 4);
    Ok(())
}
