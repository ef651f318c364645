//! The test peers against each other across the namespace test bed (root only).
//!
//! Proves `oftpeer` (bos, proxy, send, recv) moves files byte for byte, independent of oftsniff.

#[path = "common/netns.rs"]
mod netns;

use netns::{skip_unless_root, Testbed};
use std::path::Path;

#[test]
fn testbed_comes_up_and_goes_away() {
    if skip_unless_root("testbed_comes_up_and_goes_away") {
        return;
    }
    let bed = Testbed::up("smoke").expect("testbed up");
    let names = [
        &bed.sender.ns,
        &bed.receiver.ns,
        &bed.proxy.ns,
        &bed.bos.ns,
        &bed.bridge_ns,
        &bed.monitor_ns,
    ];
    for ns in names {
        assert!(Path::new("/run/netns").join(ns).exists(), "{ns} missing");
    }
    let owned: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    drop(bed);
    for ns in owned {
        assert!(
            !Path::new("/run/netns").join(&ns).exists(),
            "{ns} left behind"
        );
    }
}
