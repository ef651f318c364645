//! The output must not depend on the number of workers or on how their threads were
//! scheduled: a transfer spans connections owned by different workers (its FLAP
//! PROPOSE/ACCEPT, its data connection, two proxy legs), and the event thread must piece
//! them together the same way every time. One capture holds every OFT scenario, one after
//! another on the same addresses (so cookies, listeners and 4-tuples repeat, as with real
//! clients), and it is read with 1, 2 and 3 workers, several times each: every run must
//! print the same events, in the same order.

use oft_testkit::gen::oft::{self, Variant, KINDS};
use oft_testkit::gen::pcap::PcapBuilder;
use oftsniff::capture::{Frame, Timestamp};
use serde_json::Value;
use std::path::Path;

mod common;
use common::{oftsniff, TempDir};

/// Every OFT scenario, `gap_secs` of packet time apart; returns the transfers it holds.
fn all_scenarios(path: &Path, gap_secs: u64) -> usize {
    let mut pcap = PcapBuilder::new();
    let mut transfers = 0;
    let mut start = 0u64;
    for (i, (name, kind)) in KINDS.iter().enumerate() {
        if name.starts_with("nearmiss") {
            continue;
        }
        transfers += 1;
        let frames: Vec<Frame> = oft::build(*kind, 7 + i as u64, Variant::PLAIN)
            .pcap
            .into_frames();
        let first = frames.first().map_or(0, |f| f.ts.0);
        let last = frames.last().map_or(0, |f| f.ts.0);
        pcap.add_frames(frames.into_iter().map(|mut f| {
            f.ts = Timestamp(f.ts.0 - first + start);
            f
        }));
        start += last - first + gap_secs * Timestamp::NANOS_PER_SEC;
    }
    pcap.write_file(path).expect("write capture");
    if let Some(keep) = std::env::var_os("OFTSNIFF_KEEP_PCAPS") {
        let name = format!("determinism-gap{gap_secs}.pcap");
        let _ = std::fs::copy(path, Path::new(&keep).join(name));
    }
    transfers
}

fn events(pcap: &Path, workers: usize, extra: &[&str], dir: &TempDir) -> Vec<Value> {
    let json = dir.join(&format!("w{workers}.json"));
    let out = oftsniff()
        .arg("-r")
        .arg(pcap)
        .args(extra)
        .args(["-q", "--workers", &workers.to_string(), "--json"])
        .arg(&json)
        .output()
        .expect("run oftsniff");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        // The counters say how the frames were spread; everything else must not.
        .filter(|e: &Value| e["event"] != "stats")
        .collect()
}

fn check(gap_secs: u64, extra: &[&str]) {
    let dir = TempDir::new(&format!("determinism-{gap_secs}-{}", extra.len()));
    let pcap = dir.join("all.pcap");
    let expected_transfers = all_scenarios(&pcap, gap_secs);
    check_file(&pcap, expected_transfers, extra, &dir);
}

/// Reads `pcap` with 1, then 2 and 3 workers (4 runs each): every run must print what
/// the one-worker run did, in the same order.
fn check_file(pcap: &Path, expected_transfers: usize, extra: &[&str], dir: &TempDir) {
    let (pcap, dir) = (pcap.to_path_buf(), dir);
    let one = events(&pcap, 1, extra, dir);
    let transfers = one.iter().filter(|e| e["event"] == "transfer").count();
    assert_eq!(transfers, expected_transfers, "one transfer per scenario");
    for workers in [2, 3] {
        for run in 0..4 {
            let other = events(&pcap, workers, extra, dir);
            if let Some(i) = (0..one.len().max(other.len())).find(|&i| one.get(i) != other.get(i)) {
                panic!(
                    "--workers {workers} (run {run}) differs from --workers 1 at event {i}:\n  1: {}\n  {workers}: {}",
                    one.get(i).map_or("(none)".into(), |v| v.to_string()),
                    other.get(i).map_or("(none)".into(), |v| v.to_string()),
                );
            }
        }
    }
}

#[test]
fn transfers_a_minute_apart_are_told_the_same_way_by_any_number_of_workers() {
    check(60, &[]);
}

#[test]
fn transfers_close_together_are_told_the_same_way_by_any_number_of_workers() {
    // Closer than the correlator's linger: a transfer ends while the next one starts.
    check(2, &[]);
}

#[test]
fn frames_sharing_a_timestamp_are_told_the_same_way_by_any_number_of_workers() {
    // A capture with a coarse clock (here every time cut to 100 ms) gives frames of
    // different connections, owned by different workers, the same time: their events
    // must still come in the capture's frame order, whichever worker had them.
    let dir = TempDir::new("determinism-ties");
    let fine = dir.join("fine.pcap");
    let expected_transfers = all_scenarios(&fine, 2);
    let step = Timestamp::NANOS_PER_SEC / 10;
    let mut pcap = PcapBuilder::new();
    pcap.add_frames(common::read_frames(&fine).into_iter().map(|mut f| {
        f.ts = Timestamp(f.ts.0 / step * step);
        f
    }));
    let coarse = dir.join("coarse.pcap");
    pcap.write_file(&coarse).expect("write capture");
    check_file(&coarse, expected_transfers, &[], &dir);
}

#[test]
fn idle_expiry_is_the_same_whichever_worker_owns_a_flow() {
    // Connections left open (the FLAP sessions) time out between scenarios and at the
    // end of input: every worker's clock must follow the file's, not its own last frame.
    let dir = TempDir::new("determinism-idle");
    let pcap = dir.join("all.pcap");
    all_scenarios(&pcap, 3);
    let one = events(&pcap, 1, &["--idle-timeout", "1"], &dir);
    let timeouts = one
        .iter()
        .filter(|e| e["event"] == "flow" && e["close"] == "timeout")
        .count();
    assert!(timeouts > 0, "some connections time out");
    check(3, &["--idle-timeout", "1"]);
}

#[test]
fn pcap_output_with_rendezvous_frames_is_the_same_and_in_time_order_for_any_workers() {
    // The FLAP frames of one transfer come from two connections (sender's and
    // receiver's) that different workers own; they must still come out in time order.
    let dir = TempDir::new("determinism-pcap");
    let pcap = dir.join("all.pcap");
    all_scenarios(&pcap, 2);
    let write = |workers: usize| {
        let out_path = dir.join(&format!("w{workers}.pcap"));
        let out = oftsniff()
            .arg("-r")
            .arg(&pcap)
            .args(["-q", "--with-rendezvous", "--workers", &workers.to_string()])
            .arg("-w")
            .arg(&out_path)
            .output()
            .expect("run oftsniff");
        assert!(out.status.success());
        std::fs::read(&out_path).unwrap()
    };
    let one = write(1);
    let frames = common::read_frames(&dir.join("w1.pcap"));
    assert!(frames.len() > 500, "the transfers' frames were written");
    assert!(
        frames.windows(2).all(|w| w[0].ts <= w[1].ts),
        "frames in time order"
    );
    for workers in [2, 3] {
        for _ in 0..3 {
            assert!(
                write(workers) == one,
                "--workers {workers} wrote a different pcap"
            );
        }
    }
}
