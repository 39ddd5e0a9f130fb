//! Fuzz target `log_entry`: see `strata_format::testing::fuzz::log_entry` for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = strata_format::testing::fuzz::log_entry(data) {
        panic!("invariant broken: {broken}");
    }
});
