//! Pruning correctness: randomized predicates over a partitioned, multi-file table return exactly
//! the rows a brute-force row-by-row evaluation returns, while the metrics show files skipped.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use proptest::prelude::*;
use strata_format::compact::{parse_partition_spec, parse_schema};
use strata_format::datum::Datum;
use strata_format::expr::Expr;
use strata_table::arrow_schema::to_arrow_schema;
use strata_table::{CreateTable, Table};

const DAY: i64 = 86_400_000_000;

/// One row: id, ts, category, value.
type Row = (i64, i64, Option<String>, Option<f64>);

fn rows() -> Vec<Row> {
    (0..600i64)
        .map(|i| {
            let day = i / 100;
            let cat = (i % 7 != 0).then(|| format!("c{}", i % 5));
            let v = (i % 11 != 0).then_some((i % 50) as f64 - 10.0);
            (i, day * DAY + (i % 100) * (DAY / 100), cat, v)
        })
        .collect()
}

async fn build() -> Table {
    let schema = parse_schema("id:int64,ts:timestamptz,cat:string?,v:float64?").unwrap();
    let spec = parse_partition_spec("day(ts)", &schema, 0, 1000).unwrap();
    let uri = format!("memory://pruning-{}/t", uuid::Uuid::new_v4().simple());
    let t = Table::create(
        &uri,
        CreateTable::new(schema.clone()).with_partition_spec(spec),
    )
    .await
    .unwrap();
    let target = to_arrow_schema(&schema).unwrap();
    // Two appends per day so that stats differ between files of one partition.
    for chunk in rows().chunks(50) {
        let batch = RecordBatch::try_new(
            target.clone(),
            vec![
                Arc::new(Int64Array::from(
                    chunk.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                Arc::new(
                    TimestampMicrosecondArray::from(chunk.iter().map(|r| r.1).collect::<Vec<_>>())
                        .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from(
                    chunk.iter().map(|r| r.2.clone()).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    chunk.iter().map(|r| r.3).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap();
        t.append([batch]).await.unwrap();
    }
    t
}

fn leaf() -> impl Strategy<Value = String> {
    let op = prop_oneof![
        Just("="),
        Just("<>"),
        Just("<"),
        Just("<="),
        Just(">"),
        Just(">=")
    ];
    prop_oneof![
        (op.clone(), 0i64..650).prop_map(|(o, n)| format!("id {o} {n}")),
        (op.clone(), 0i64..7).prop_map(|(o, d)| format!(
            "ts {o} TIMESTAMP '1970-01-{:02} 0{}:00:00'",
            d + 1,
            d % 10
        )),
        (op.clone(), 0u8..6).prop_map(|(o, c)| format!("cat {o} 'c{c}'")),
        (op, -12i64..45).prop_map(|(o, n)| format!("v {o} {n}")),
        prop::collection::vec(0i64..650, 1..4).prop_map(|l| format!(
            "id IN ({})",
            l.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Just("cat IS NULL".to_string()),
        Just("v IS NOT NULL".to_string()),
        Just("cat LIKE 'c1%'".to_string()),
    ]
}

fn predicate() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
            inner.prop_map(|a| format!("NOT ({a})")),
        ]
    })
}

fn brute_force(pred: &Expr, table_schema: &strata_format::Schema) -> Vec<i64> {
    let bound = pred.bind(table_schema).unwrap();
    rows()
        .into_iter()
        .filter(|r| {
            let mut vals: BTreeMap<i32, Datum> = BTreeMap::new();
            vals.insert(1, Datum::Int64(r.0));
            vals.insert(2, Datum::Timestamptz(r.1));
            if let Some(c) = &r.2 {
                vals.insert(3, Datum::String(c.clone()));
            }
            if let Some(v) = r.3 {
                vals.insert(4, Datum::Float64(v));
            }
            bound.matches(&|id| vals.get(&id))
        })
        .map(|r| r.0)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn randomized_predicates_return_exactly_the_brute_force_rows(texts in prop::collection::vec(predicate(), 1..2)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let table = TABLE.with(|t| t.get_or_init(|| rt.block_on(build())).clone());
        for text in texts {
            let pred = Expr::parse(&text).unwrap();
            let schema = rt.block_on(table.latest()).unwrap().schema().clone();
            let expected = brute_force(&pred, &schema);
            let scan = rt.block_on(table.scan().filter(pred).plan()).unwrap();
            let metrics = scan.metrics();
            let batches = rt.block_on(scan.collect()).unwrap();
            let mut got: Vec<i64> = batches
                .iter()
                .flat_map(|b| b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec())
                .collect();
            got.sort_unstable();
            prop_assert_eq!(&got, &expected, "predicate: {}", text);
            let r = metrics.report();
            prop_assert_eq!(r.files_total, 12);
            prop_assert_eq!(r.rows_returned as usize, expected.len());
        }
    }
}

thread_local! {
    static TABLE: std::cell::OnceCell<Table> = const { std::cell::OnceCell::new() };
}

/// The property above is only meaningful if pruning actually happens: a selective predicate
/// must skip files.
#[tokio::test]
async fn selective_predicates_skip_files() {
    let table = build().await;
    let scan = table
        .scan()
        .filter(Expr::parse("ts < TIMESTAMP '1970-01-02 00:00:00' AND id < 20").unwrap())
        .plan()
        .await
        .unwrap();
    let r = scan.metrics().report();
    assert_eq!(r.files_total, 12);
    assert_eq!(r.files_read, 1, "{r:?}");
    assert!(r.files_pruned_by_partition >= 10, "{r:?}");
}
