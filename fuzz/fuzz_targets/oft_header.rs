#![no_main]
//! Fuzz target `oft_header`: see `oft_testkit::fuzz::oft_header`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oft_testkit::fuzz::oft_header(data));
