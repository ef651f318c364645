#![no_main]
//! Fuzz target `proxy_frame`: see `oft_testkit::fuzz::proxy_frame`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oft_testkit::fuzz::proxy_frame(data));
