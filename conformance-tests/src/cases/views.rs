//! Scans with string views (`ScanBuilder::string_views`): the same rows as a plain scan, with
//! top-level strings and binaries as `Utf8View`/`BinaryView`, over files written before and
//! after a string column with a default was added, filtered on strings and pruned by them.

use std::sync::Arc;

use arrow::array::{BinaryArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::DataType as ArrowType;
use arrow::util::pretty::pretty_format_batches;
use strata_format::compact::parse_schema;
use strata_format::expr::Expr;
use strata_format::{DataType, PrimitiveType};
use strata_table::arrow_schema::{to_arrow_schema, with_string_views};
use strata_table::{CreateTable, SchemaChange, Table, TableOptions};

use crate::backends::{CaseResult, TestBackend};
use crate::{check, check_eq};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The rows of a scan of `t` (views or not, optionally filtered) as sorted text lines, and the
/// scan's output types.
async fn read(
    t: &Table,
    views: bool,
    filter: Option<&str>,
) -> Result<(Vec<String>, Vec<ArrowType>), BoxError> {
    let mut scan = t.scan().string_views(views);
    if let Some(f) = filter {
        scan = scan.filter(Expr::parse(f)?);
    }
    let scan = scan.plan().await?;
    let types = scan
        .output_schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    let batches = scan.collect().await?;
    for b in &batches {
        let got: Vec<&ArrowType> = b
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.data_type())
            .collect();
        let want: Vec<&ArrowType> = b.columns().iter().map(|c| c.data_type()).collect();
        check_eq!(got, want);
    }
    let mut lines: Vec<String> = pretty_format_batches(&batches)?
        .to_string()
        .lines()
        .filter(|l| l.starts_with("| ") && !l.contains(" id "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    Ok((lines, types))
}

/// String views read exactly the rows a plain scan reads, including defaults of a column added
/// later, and string filters select and prune the same way.
pub async fn string_views_read_the_same_rows(b: &TestBackend) -> CaseResult {
    let t = Table::create_with(
        b.location("views")?,
        CreateTable::new(parse_schema("id:int64,name:string?,blob:binary?")?),
        TableOptions::default(),
    )
    .await?;
    let batch = |schema: &strata_format::Schema, from: i64, extra: bool| {
        let target = to_arrow_schema(schema)?;
        let ids: Vec<i64> = (from..from + 50).collect();
        let names: Vec<Option<String>> = ids
            .iter()
            .map(|i| (i % 7 != 0).then(|| format!("name-{}", i % 5)))
            .collect();
        let blobs: Vec<Option<Vec<u8>>> = ids
            .iter()
            .map(|i| (i % 4 != 0).then(|| i.to_le_bytes().to_vec()))
            .collect();
        let mut columns: Vec<arrow::array::ArrayRef> = vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from(names)),
            Arc::new(BinaryArray::from_iter(blobs)),
        ];
        if extra {
            columns.push(Arc::new(StringArray::from(
                ids.iter()
                    .map(|i| format!("tag-{}", i % 3))
                    .collect::<Vec<_>>(),
            )));
        }
        RecordBatch::try_new(target, columns).map_err(BoxError::from)
    };
    let schema = t.latest().await?.schema().clone();
    t.append([batch(&schema, 0, false)?]).await?;
    t.update_schema(vec![SchemaChange::AddColumn {
        parent: None,
        name: "tag".into(),
        data_type: DataType::Primitive(PrimitiveType::String),
        required: false,
        default: Some(serde_json::json!("old")),
        doc: None,
    }])
    .await?;
    let schema = t.latest().await?.schema().clone();
    t.append([batch(&schema, 50, true)?]).await?;

    let views_types = with_string_views(to_arrow_schema(&schema)?.as_ref())
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect::<Vec<_>>();
    check_eq!(
        views_types,
        vec![
            ArrowType::Int64,
            ArrowType::Utf8View,
            ArrowType::BinaryView,
            ArrowType::Utf8View
        ]
    );
    for filter in [
        None,
        Some("name = 'name-3'"),
        Some("tag = 'old'"),
        Some("tag >= 'tag-1' AND name IS NOT NULL"),
        Some("name IS NULL OR id < 3"),
    ] {
        let (plain, plain_types) = read(&t, false, filter).await?;
        let (views, types) = read(&t, true, filter).await?;
        check_eq!(types, views_types);
        check!(
            plain_types != views_types,
            "a plain scan returned views: {plain_types:?}"
        );
        check!(!plain.is_empty(), "filter {filter:?} selected no rows");
        check_eq!(views, plain);
    }
    // `tag = 'old'` holds for every row of the first file (the default) and none of the second.
    let (old, _) = read(&t, true, Some("tag = 'old'")).await?;
    check_eq!(old.len(), 50);
    Ok(())
}
