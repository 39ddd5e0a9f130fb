//! Fuzz target `schema`: see `strata_format::testing::fuzz::schema` for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = strata_format::testing::fuzz::schema(data) {
        panic!("invariant broken: {broken}");
    }
});
