//! # strata-catalog
//!
//! The Strata catalog: namespaces and tables in a metadata store (SQLite embedded, or
//! PostgreSQL shared by several catalog processes), served over HTTP (REST API v1 with a
//! generated OpenAPI document), with commits arbitrated by the catalog. Each table's log in
//! object storage stays the source of truth: any reader opens a table by its location without
//! the catalog.
//!
//! [`Client`] is the Rust client of the API.

pub mod auth;
mod client;
mod commit;
mod committer;
mod error;
mod iceberg_view;
pub mod locations;
pub mod maintenance;
pub mod model;
pub mod names;
pub mod server;
mod service;
pub mod store;
pub mod tiering;

pub use client::{Client, TableRef};
pub use commit::ENGINE;
pub use committer::CatalogCommitter;
pub use error::{Error, Result};
pub use iceberg_view::IcebergView;
pub use service::Catalog;
pub use store::{Store, open_store};

pub use strata_table as table;
