#![no_main]
//! Fuzz target `flap`: see `oft_testkit::fuzz::flap_stream`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oft_testkit::fuzz::flap_stream(data));
