//! Conformance cases: each is written once and run over every backend by the `conformance`
//! integration test (see `tests/conformance/main.rs`).

use std::sync::Arc;

use strata_format::testing::{add, sample_schema};
use strata_format::{Action, AddFile};
use strata_table::{CreateTable, Table, TableOptions};

use crate::backends::TestBackend;

/// The rows of `version` as pretty-printed lines (the header line included), sorted: equal
/// row sets compare equal whatever the file and batch order.
pub async fn sorted_rows(
    t: &Table,
    version: u64,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let batches = t
        .scan()
        .snapshot(strata_table::SnapshotSelector::Version(version))
        .plan()
        .await?
        .collect()
        .await?;
    let mut lines: Vec<String> = arrow::util::pretty::pretty_format_batches(&batches)?
        .to_string()
        .lines()
        .filter(|l| l.starts_with("| "))
        .map(str::to_string)
        .collect();
    lines.sort();
    Ok(lines)
}

pub mod checkpoints;
pub mod concurrency;
pub mod corruption;
pub mod data;
pub mod data_faults;
pub mod defaults;
pub mod evolution;
pub mod faults;
pub mod keys;
pub mod log;
pub mod maintenance;
pub mod merge;
pub mod model;
pub mod tiering;
pub mod vacuum;
pub mod vectors;
pub mod views;

/// Fails the case with a message unless the condition holds.
#[macro_export]
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

/// Fails the case unless both sides are equal.
#[macro_export]
macro_rules! check_eq {
    ($left:expr, $right:expr $(,)?) => {
        match (&$left, &$right) {
            (l, r) => {
                if l != r {
                    return Err(format!(
                        "{}:{}: `{}` = {:?}, expected {:?}",
                        file!(),
                        line!(),
                        stringify!($left),
                        l,
                        r
                    )
                    .into());
                }
            }
        }
    };
}

/// An add action for a (not materialized) data file: the log-level cases need no data.
pub fn add_file(path: &str, rows: u64) -> Result<AddFile, String> {
    match add(path, rows) {
        Action::Add(a) => Ok(*a),
        _ => Err("fixture did not build an add".into()),
    }
}

/// Creates a table named `name` with the sample schema and the given properties.
pub async fn create(
    b: &TestBackend,
    name: &str,
    properties: &[(&str, &str)],
    options: TableOptions,
) -> Result<Table, strata_table::Error> {
    let mut create = CreateTable::new(sample_schema());
    for (k, v) in properties {
        create = create.with_property(*k, *v);
    }
    Table::create_with(b.location(name)?, create, options).await
}

/// Appends one file per commit, `count` commits, named `{prefix}-{i}`.
pub async fn append_n(table: &Table, prefix: &str, count: u64) -> crate::backends::CaseResult {
    for i in 0..count {
        table
            .transaction()
            .await?
            .operation("APPEND")
            .add_file(add_file(&format!("data/{prefix}-{i}.parquet"), i + 1)?)
            .commit()
            .await?;
    }
    Ok(())
}

/// Options with a clock stepping one second per reading from a fixed start.
pub fn stepping_options(start_ms: i64) -> TableOptions {
    TableOptions::default().with_clock(Arc::new(strata_table::SteppingClock::new(start_ms, 1000)))
}
