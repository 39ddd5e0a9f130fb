//! placeholder
pub(crate) mod avro;
pub mod error;
pub(crate) mod partition;
pub(crate) mod schema;
pub(crate) mod values;
