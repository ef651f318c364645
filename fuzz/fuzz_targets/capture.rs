#![no_main]
//! Fuzz target `capture`: see `oft_testkit::fuzz::capture_file`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oft_testkit::fuzz::capture_file(data));
