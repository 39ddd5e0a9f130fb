//! Integration tests of the `strata` binary: each test spawns the real executable.
//!
//! S3 cases run when `STRATA_TEST_S3_ENDPOINT` and `STRATA_TEST_S3_BUCKET` are set
//! (`scripts/test` starts moto and sets them); otherwise they print a notice and pass.

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod aws;
mod catalog_commits;
mod catalog_processes;
mod common;
mod concurrent;
mod crash;
mod demo;
mod durability;
mod errors;
mod golden;
mod help;
mod iceberg;
mod iceberg_rest;
mod lifecycle;
mod maintain;
mod rows;
mod served;
mod settings;
mod sql;
mod terminal;
mod tier;
mod tokens;
mod walkthrough;
