//! Catalog integration tests: one binary, one module per concern. The API suite runs on
//! SQLite and, when `STRATA_TEST_POSTGRES_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod auth_matrix;
mod bad_input;
mod committer;
mod concurrency;
mod confinement;
mod fuzz;
mod harness;
mod hostile;
mod iceberg_rest;
mod property;
mod tiers;
mod tokens;
