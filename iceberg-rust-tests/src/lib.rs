//! Test-only crate: apache/iceberg-rust (`iceberg` and `iceberg-catalog-rest` 0.8) reads Strata
//! tables through the catalog server's Iceberg REST endpoints, as a third independent client
//! next to pyiceberg and DuckDB (see `tests/iceberg_rust.rs`).
//!
//! It exists as a separate crate because `iceberg` 0.8 builds on arrow 57 (and parquet 57),
//! while the workspace is on arrow 59: the second arrow stays a dev-dependency of this crate,
//! so no product crate (and no binary) ever carries two arrows. There is no library code.
