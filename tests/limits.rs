//! The named limits cut what they promise to cut, and every cut is counted in the
//! `stats` event and on stderr.

mod common;

use serde_json::Value;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn stats(args: &[&str]) -> (Value, String) {
    let out = common::oftsniff()
        .args(args)
        .args(["-q", "--json", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let last = text.lines().last().unwrap();
    let v: Value = serde_json::from_str(last).unwrap();
    assert_eq!(v["event"], "stats");
    (v, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn out_of_order_limit_gives_holes_up_early_and_counts_them() {
    let f = data("ndpi-icq-flap-2015.pcapng");
    let f = f.to_str().unwrap();
    let (free, _) = stats(&["-r", f]);
    assert_eq!(free["ooo_limit_gaps"], 0);
    let (tight, err) = stats(&["-r", f, "--max-ooo-bytes", "100"]);
    // The two holes of this capture are given up as soon as data piles up behind them;
    // the bytes lost are the same 71,091 either way.
    assert_eq!(tight["ooo_limit_gaps"], 2, "{tight}");
    assert_eq!(tight["gap_bytes"], free["gap_bytes"]);
    assert!(err.contains("2 holes given up at --max-ooo-bytes"), "{err}");
}

#[test]
fn flow_limit_evicts_and_counts() {
    let f = data("gaim-chat-join-2005.pcap");
    let f = f.to_str().unwrap();
    let (free, _) = stats(&["-r", f, "--workers", "1"]);
    assert_eq!(free["flows_evicted"], 0);
    assert_eq!(free["flows_seen"], 3);
    let (one, err) = stats(&["-r", f, "--workers", "1", "--max-flows", "1"]);
    // Three interleaved connections in a table of one: each return of an evicted
    // connection is picked up again, midstream, and evicts another.
    let evicted = one["flows_evicted"].as_u64().unwrap();
    assert!(evicted >= 2, "{one}");
    assert_eq!(
        one["flows_seen"].as_u64().unwrap(),
        evicted + 1,
        "every flow seen but the last was evicted"
    );
    assert!(err.contains(&format!("{evicted} evicted")), "{err}");
}
