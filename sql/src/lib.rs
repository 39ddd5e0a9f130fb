//! # strata-sql
//!
//! SQL over Strata tables with [DataFusion](https://datafusion.apache.org): a
//! [`TableProvider`](datafusion::catalog::TableProvider) with projection, filter and limit
//! pushdown, statistics, parallel partitions and time travel; metadata tables; and SQL writes
//! (`INSERT`, `CREATE TABLE … AS SELECT`, `DELETE`, `UPDATE`), each one atomic commit.
//!
//! ## Versions: one Arrow for the whole workspace
//!
//! DataFusion 55 is built on arrow/parquet 59 and object_store 0.13. The workspace uses the
//! same versions (it moved from arrow 60 / object_store 0.14 when this crate was added), so
//! record batches cross from Strata's scan to DataFusion as they are. The alternatives were
//! worse: two Arrow versions bridged by the Arrow C data interface compile arrow and parquet
//! twice (minutes of every cold build) and need `unsafe` FFI at every batch and schema, in
//! both directions for writes; waiting for a DataFusion on arrow 60 leaves analysts without
//! SQL. What the move cost: parquet 59 has no NaN counts in its column statistics, so the
//! writer counts NaNs in the Arrow data it encodes. DataFusion stays in this crate; the
//! engine (`strata-table`) does not depend on it.
//!
//! ## Table references
//!
//! See [`names`]: `"events@3"`, `"events$files"`, `"sales.events@tag:prod"`.

mod dml;
pub mod error;
pub mod filters;
pub mod metadata;
pub mod names;
mod options;
mod provider;
mod scan_exec;
mod session;
pub mod stats;

pub use error::{Result, SqlError, find_table_error};
pub use names::{MetaTable, TableRef};
pub use options::StrataOptions;
pub use provider::{SCAN_CONCURRENCY, StrataTableProvider};
pub use scan_exec::StrataScanExec;
pub use session::{Catalog, SqlOptions, SqlSession};
