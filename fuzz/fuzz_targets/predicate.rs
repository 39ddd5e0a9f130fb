//! Fuzz target `predicate`: see `strata_format::testing::fuzz::predicate` for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = strata_format::testing::fuzz::predicate(data) {
        panic!("invariant broken: {broken}");
    }
});
