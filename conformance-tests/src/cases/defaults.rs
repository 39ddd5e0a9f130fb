//! `writeDefault` (SPEC §4.1): a value the input does not provide is the default, whatever
//! the input format; an explicit null stays null.

use std::io::Write;

use arrow::util::pretty::pretty_format_batches;
use strata_format::compact::parse_schema;
use strata_format::{DataType, PrimitiveType};
use strata_table::ingest::{InputFormat, ReadOptions, read_file_with};
use strata_table::{CreateTable, SchemaChange, Table, TableOptions, WriteOptions};

use crate::backends::{CaseResult, TestBackend};
use crate::check_eq;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Appends the file `name` holding `text` to `t`.
async fn append(
    t: &Table,
    dir: &tempfile::TempDir,
    name: &str,
    text: &str,
    merge_schema: bool,
) -> Result<(), BoxError> {
    let path = dir.path().join(name);
    std::fs::File::create(&path)?.write_all(text.as_bytes())?;
    let format = InputFormat::from_path(&path).ok_or("unknown input format")?;
    let schema = t.latest().await?.schema().clone();
    let batches: Vec<_> = read_file_with(
        &path,
        format,
        &schema,
        ReadOptions {
            merge_schema,
            ..ReadOptions::default()
        },
    )?
    .map(|b| b.map_err(BoxError::from))
    .collect();
    t.write(
        futures::stream::iter(batches.into_iter().map(|b| {
            b.map_err(|e| strata_table::Error::InvalidOperation {
                table: t.uri().to_string(),
                message: e.to_string(),
            })
        })),
        WriteOptions {
            merge_schema,
            ..WriteOptions::default()
        },
    )
    .await?;
    Ok(())
}

/// Every row, sorted.
async fn rows(t: &Table) -> Result<Vec<String>, BoxError> {
    let batches = t.scan().plan().await?.collect().await?;
    let mut lines: Vec<String> = pretty_format_batches(&batches)?
        .to_string()
        .lines()
        .filter(|l| l.starts_with("| ") && !l.contains(" id "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    Ok(lines)
}

/// A column added with a default gets it from CSV without the column, NDJSON rows without
/// the key and merge-schema appends, while required and after it is made optional; an
/// explicit JSON null stays null.
pub async fn write_defaults_apply_to_every_input(b: &TestBackend) -> CaseResult {
    let dir = tempfile::tempdir()?;
    let t = Table::create_with(
        b.location("defaults")?,
        CreateTable::new(parse_schema("id:int64")?),
        TableOptions::default(),
    )
    .await?;
    t.update_schema(vec![SchemaChange::AddColumn {
        parent: None,
        name: "n".into(),
        data_type: DataType::Primitive(PrimitiveType::Int64),
        required: true,
        default: Some(serde_json::json!(5)),
        doc: None,
    }])
    .await?;
    append(
        &t,
        &dir,
        "a.ndjson",
        "{\"id\":1}\n{\"id\":2,\"n\":7}\n",
        false,
    )
    .await?;
    append(&t, &dir, "b.csv", "id\n3\n", false).await?;
    append(&t, &dir, "c.ndjson", "{\"id\":4,\"z\":\"x\"}\n", true).await?;
    t.update_schema(vec![SchemaChange::MakeOptional { path: "n".into() }])
        .await?;
    append(
        &t,
        &dir,
        "d.ndjson",
        "{\"id\":5}\n{\"id\":6,\"n\":null}\n",
        false,
    )
    .await?;
    append(&t, &dir, "e.csv", "id,z\n7,y\n", false).await?;
    check_eq!(
        rows(&t).await?,
        vec![
            "| 1 | 5 | |",
            "| 2 | 7 | |",
            "| 3 | 5 | |",
            "| 4 | 5 | x |",
            "| 5 | 5 | |",
            "| 6 | | |",
            "| 7 | 5 | y |",
        ]
    );
    Ok(())
}
