//! Strata catalog service and client.
//!
//! The HTTP service (namespaces, tables, catalog-arbitrated commits) is built in a later milestone;
//! this crate currently only re-exports the engine so that dependents can be wired up.

pub use strata_table as table;
