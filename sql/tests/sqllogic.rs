//! SQL logic tests (`tests/slt/*.slt`, the sqllogictest format DataFusion uses), run over every
//! storage backend: memory, local disk and S3 (moto, when `STRATA_TEST_S3_ENDPOINT` is set).
//!
//! In the files, `$ROOT` is a fresh folder (URI) for the file's tables on the backend, and
//! `$DATA` the folder of the plain data files next to the `.slt` files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};
use strata_sql::{SqlOptions, SqlSession};

#[derive(Debug)]
struct StrataDb {
    session: SqlSession,
    root: String,
    data: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct DbError(String);

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => DefaultColumnType::Integer,
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
            DefaultColumnType::FloatingPoint
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DefaultColumnType::Text,
        _ => DefaultColumnType::Any,
    }
}

fn rows(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>, DbError> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let formatters = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DbError(e.to_string()))?;
        for r in 0..b.num_rows() {
            out.push(
                formatters
                    .iter()
                    .map(|f| {
                        let v = f.value(r).to_string();
                        if v.is_empty() {
                            "(empty)".to_string()
                        } else {
                            v
                        }
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

#[async_trait::async_trait]
impl AsyncDB for StrataDb {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let err = |e: strata_sql::SqlError| DbError(e.to_string());
        let sql = sql
            .replace("$ROOT", &self.root)
            .replace("$DATA", &self.data);
        let statements = self.session.parse(&sql).map_err(err)?;
        let is_query = statements.last().is_some_and(|s| {
            use datafusion::sql::parser::Statement as S;
            use datafusion::sql::sqlparser::ast::Statement as Q;
            match s {
                S::Statement(q) => matches!(
                    q.as_ref(),
                    Q::Query(_) | Q::ShowTables { .. } | Q::ShowColumns { .. } | Q::Explain { .. }
                ),
                S::Explain(_) => true,
                _ => false,
            }
        });
        let mut last = None;
        for s in statements {
            let df = self.session.execute(s).await.map_err(err)?;
            last = Some(df.collect().await.map_err(|e| DbError(e.to_string()))?);
        }
        let batches = last.unwrap_or_default();
        if !is_query {
            let count = batches
                .first()
                .and_then(|b| b.column_by_name("count"))
                .and_then(|c| {
                    c.as_any()
                        .downcast_ref::<arrow::array::UInt64Array>()
                        .map(|a| a.value(0))
                })
                .unwrap_or(0);
            return Ok(DBOutput::StatementComplete(count));
        }
        let types = batches
            .first()
            .map(|b| {
                b.schema()
                    .fields()
                    .iter()
                    .map(|f| column_type(f.data_type()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(DBOutput::Rows {
            types,
            rows: rows(&batches)?,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "strata"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

fn slt_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("slt")
}

fn slt_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(slt_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no .slt files in {}",
        slt_dir().display()
    );
    files
}

/// Runs every `.slt` file with `$ROOT` a fresh folder from `root(file stem)`.
async fn run_all(backend: &str, root: impl Fn(&str) -> String) {
    let mut failures = Vec::new();
    for file in slt_files() {
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        let root = root(&stem);
        let data = slt_dir().join("data").display().to_string();
        let mut runner = Runner::new(|| {
            let (root, data) = (root.clone(), data.clone());
            async move {
                Ok(StrataDb {
                    session: SqlSession::new(SqlOptions {
                        target_partitions: Some(2),
                        ..SqlOptions::default()
                    })
                    .await
                    .map_err(|e| DbError(e.to_string()))?,
                    root,
                    data,
                })
            }
        });
        runner.add_label(backend);
        if let Err(e) = runner.run_file_async(&file).await {
            failures.push(format!(
                "{backend} {} ($ROOT = {root}):\n{e}",
                file.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_over_memory() {
    let run = uuid::Uuid::new_v4();
    run_all("memory", |stem| format!("memory://slt-{run}/{stem}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_over_local_disk() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_path_buf();
    run_all("local", |stem| base.join(stem).display().to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_over_s3() {
    let Ok(endpoint) = std::env::var("STRATA_TEST_S3_ENDPOINT") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the S3 tests: STRATA_TEST_S3_ENDPOINT is not set"
        );
        eprintln!("STRATA_TEST_S3_ENDPOINT is not set: S3 SQL logic tests not run");
        return;
    };
    let bucket = std::env::var("STRATA_TEST_S3_BUCKET").unwrap_or_else(|_| "strata-test".into());
    assert!(!endpoint.is_empty());
    let run = uuid::Uuid::new_v4();
    run_all("s3", |stem| format!("s3://{bucket}/slt-{run}/{stem}")).await;
}
