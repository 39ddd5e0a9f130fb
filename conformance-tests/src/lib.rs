//! x
pub mod counting;
pub mod faults;
