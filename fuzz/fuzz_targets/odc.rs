#![no_main]
//! Fuzz target `odc`: see `oft_testkit::fuzz::odc_header`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oft_testkit::fuzz::odc_header(data));
