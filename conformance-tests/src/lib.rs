//! # strata-conformance
//!
//! The conformance and reliability suite of Strata: cases written once and run over every
//! storage backend (memory, local disk, S3), store wrappers that count requests and inject
//! faults, and golden tables that later versions must keep reading identically.

pub mod backends;
pub mod cases;
pub mod counting;
pub mod faults;
pub mod golden;
