//! Many short transfers packed into a little packet time: the correlator holds only
//! `--max-held-transfers` of those that are over, reports the rest at once, and every
//! event but those transfers' time of writing is what an unbounded run writes.

mod common;

use common::{of_kind, run_json, TempDir};
use oft_testkit::gen::workloads::{oft_transfers, OftTransfers};
use serde_json::Value;
use std::fs::File;

/// The events with the `transfer` records' time of writing left out, sorted: what was
/// seen, whatever moment each transfer was reported.
fn seen(evs: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = evs
        .iter()
        .filter(|e| e["event"] != "stats")
        .map(|e| {
            let mut e = e.clone();
            if e["event"] == "transfer" {
                let o = e.as_object_mut().unwrap();
                o.remove("ts");
                o.remove("timestamp");
            }
            e.to_string()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn many_transfers_ending_together_are_reported_early_past_the_limit_and_unchanged() {
    const N: u64 = 600;
    let dir = TempDir::new("many-transfers");
    let p = dir.join("t.pcap");
    let spec = OftTransfers {
        transfers: N as usize,
        concurrent: 20,
        file_bytes: 300,
        seed: 15,
        ..OftTransfers::default()
    };
    oft_transfers(&spec, File::create(&p).unwrap()).unwrap();
    let (free, _) = run_json(&p, &["--max-held-transfers", "100000"]);
    let (tight, err) = run_json(&p, &["--max-held-transfers", "8"]);
    let stats = |evs: &[Value]| of_kind(evs, "stats")[0].clone();
    // The whole capture spans well under the 5 s linger: unbounded, every transfer waits
    // for the end of the input.
    let free_stats = stats(&free);
    assert_eq!(free_stats["transfers_reported_early"], 0, "{free_stats}");
    let transfers = of_kind(&free, "transfer");
    assert_eq!(transfers.len() as u64, N);
    let end_of_input = free_stats["ts"].as_f64().unwrap();
    assert!(transfers
        .iter()
        .all(|t| t["ts"].as_f64() == Some(end_of_input)));
    // Bounded: all but the last 8 are reported as the 9th after them closes, the
    // reported ones remembered 8 at a time.
    let s = stats(&tight);
    assert_eq!(s["transfers_reported_early"], N - 8, "{s}");
    assert_eq!(s["transfers_forgotten_early"], N - 16, "{s}");
    assert!(
        err.contains("transfers reported before their linger ended"),
        "{err}"
    );
    // Written as they go, not all after the last file.
    let at = |kind: &str| tight.iter().position(|e| e["event"] == kind).unwrap();
    let last_file = tight.iter().rposition(|e| e["event"] == "file").unwrap();
    assert!(at("transfer") < last_file);
    // Nothing else changed: the same phases, files and transfers, each file whole.
    assert_eq!(seen(&free), seen(&tight));
    let files = of_kind(&tight, "file");
    assert_eq!(files.len() as u64, N);
    assert!(files.iter().all(|f| f["status"] == "complete"));
}
