//! Fuzz target `checkpoint`: Parquet bytes -> checkpoint actions, with the decoder and its check
//! compiled from `table/src/log/checkpoint/mod.rs` (`fuzz_check`), the same code strata-table runs and
//! its replay unit test calls.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unreachable_pub)]
#[path = "../../table/src/log/checkpoint/mod.rs"]
mod checkpoint;

fuzz_target!(
    init: {
        // libfuzzer-sys's panic hook aborts on every panic, even one `checkpoint::decode`
        // catches (it guards against panics inside the Parquet reader). A silent hook lets caught
        // panics pass; a panic that escapes still aborts (libfuzzer-sys catches it and aborts).
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        if let Err(broken) = checkpoint::fuzz_check(data) {
            eprintln!("invariant broken: {broken}");
            std::process::abort();
        }
    }
);
