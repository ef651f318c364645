#![no_main]
//! Fuzz target `flow`: see `oft_testkit::fuzz::flow`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    oft_testkit::fuzz::flow(data);
});
