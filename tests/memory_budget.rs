//! `--memcap` through the binary: a flood under a small budget is evicted and counted, and
//! the transfer that was running before the flood is still reported in full after it.
//! Counts and records only: the peak RSS bound is tests/memory_rss.rs, the figures of
//! every flood scripts/bench-flood.sh.

mod common;

use common::{of_kind, run_json, TempDir};
use oft_testkit::gen::flood;
use serde_json::Value;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

const FLOOD: u64 = 20_000;
const FILE_BYTES: u32 = 300_000;

fn flood_capture(dir: &TempDir) -> PathBuf {
    let p = dir.join("syn-flood.pcap");
    let w = BufWriter::new(File::create(&p).unwrap());
    flood::syn_flood(FLOOD, Some(FILE_BYTES), w).unwrap();
    p
}

fn stats(evs: &[Value]) -> &Value {
    of_kind(evs, "stats")
        .last()
        .copied()
        .expect("a stats event")
}

fn n(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

#[test]
fn transfer_before_a_syn_flood_is_reported_in_full_under_a_small_memcap() {
    let dir = TempDir::new("memcap-flood");
    let pcap = flood_capture(&dir);
    for workers in ["1", "2"] {
        // 1 MiB holds a few thousand SYN-only flows: most of the flood must go.
        let (evs, err) = run_json(&pcap, &["--memcap", "1M", "--workers", workers]);
        let st = stats(&evs);
        assert_eq!(n(st, "flows_seen"), FLOOD + 1, "{st}");
        let evicted = n(st, "memcap_flows_evicted");
        assert!(evicted > FLOOD / 2, "{workers} workers: {st}");
        assert_eq!(n(st, "memcap_protected_evicted"), 0, "{st}");
        assert!(
            err.contains(&format!("{evicted} flows evicted at --memcap")),
            "{err}"
        );
        // Every eviction is a flow record that says so.
        let flows = of_kind(&evs, "flow");
        let evicted_records = flows.iter().filter(|f| f["close"] == "evicted").count();
        assert_eq!(evicted_records as u64, evicted);
        assert_eq!(flows.len() as u64, FLOOD + 1);

        let files = of_kind(&evs, "file");
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0]["status"], "complete", "{}", files[0]);
        assert_eq!(files[0]["checksum_ok"], true, "{}", files[0]);
        assert_eq!(n(files[0], "bytes"), FILE_BYTES as u64, "{}", files[0]);
    }

    // The default budget holds the whole flood: nothing is evicted.
    let (evs, _) = run_json(&pcap, &[]);
    let st = stats(&evs);
    assert_eq!(n(st, "memcap_flows_evicted"), 0, "{st}");
    assert_eq!(n(st, "flows_evicted"), 0, "{st}");
}

/// Frames the capture holds: the transfer's plus two per flooding connection (its SYN
/// and its opening).
fn frames_of(evs: &[Value]) -> u64 {
    n(stats(evs), "frames_captured")
}

/// The file of a run (or of reading back its pcap) is the whole transfer.
fn assert_transfer_complete(evs: &[Value], what: &str) {
    let files = of_kind(evs, "file");
    assert_eq!(files.len(), 1, "{what}: {files:?}");
    assert_eq!(files[0]["status"], "complete", "{what}: {}", files[0]);
    assert_eq!(files[0]["checksum_ok"], true, "{what}: {}", files[0]);
    assert_eq!(
        n(files[0], "bytes"),
        FILE_BYTES as u64,
        "{what}: {}",
        files[0]
    );
}

#[test]
fn held_frames_of_a_flood_give_way_and_the_transfer_is_written_in_full() {
    let dir = TempDir::new("memcap-held");
    let pcap = dir.join("opening-flood.pcap");
    let w = BufWriter::new(File::create(&pcap).unwrap());
    let summary = flood::opening_flood(FLOOD, Some(FILE_BYTES), w).unwrap();
    let transfer_frames = summary.frames - 2 * FLOOD;
    let out = dir.join("written.pcap");
    let out_s = out.to_str().unwrap();
    for workers in ["1", "2"] {
        // Each flooding connection holds its SYN and its 4-byte opening for `-w`: 1 MiB
        // holds a few hundred of them.
        let (evs, err) = run_json(
            &pcap,
            &["--memcap", "1M", "--workers", workers, "-w", out_s],
        );
        let st = stats(&evs);
        assert_eq!(frames_of(&evs), summary.frames, "{st}");
        assert_eq!(n(st, "flows_seen"), FLOOD + 1, "{workers} workers: {st}");
        let shed = n(st, "memcap_held_frames_dropped");
        assert!(shed > FLOOD, "{workers} workers: {st}");
        assert!(shed <= 2 * FLOOD, "{workers} workers: {st}");
        assert_eq!(n(st, "memcap_protected_evicted"), 0, "{st}");
        assert_eq!(n(st, "held_frames_dropped"), 0, "{st}");
        assert!(
            err.contains(&format!("{shed} held frames given up at --memcap")),
            "{err}"
        );
        assert_transfer_complete(&evs, "run");
        let transfers = of_kind(&evs, "transfer");
        assert_eq!(transfers.len(), 1, "{transfers:?}");
        assert_eq!(n(transfers[0], "frames_lost"), 0, "{}", transfers[0]);

        // Every frame of the transfer is in the pcap, and nothing of the flood.
        let (back, _) = run_json(&out, &[]);
        assert_eq!(frames_of(&back), transfer_frames, "{workers} workers");
        assert_eq!(n(stats(&back), "flows_seen"), 1);
        assert_transfer_complete(&back, "written pcap");
    }

    // The default budget holds every flooding connection's frames: none given up.
    let (evs, _) = run_json(&pcap, &["-w", out_s]);
    let st = stats(&evs);
    assert_eq!(n(st, "memcap_held_frames_dropped"), 0, "{st}");
    assert_eq!(n(st, "memcap_flows_evicted"), 0, "{st}");
    assert_transfer_complete(&evs, "default budget");
    let (back, _) = run_json(&out, &[]);
    assert_eq!(frames_of(&back), transfer_frames);
}

#[test]
fn a_budget_too_small_for_the_transfer_evicts_it_and_says_so() {
    let dir = TempDir::new("memcap-tiny");
    let pcap = flood_capture(&dir);
    let (evs, _) = run_json(&pcap, &["--memcap", "1k", "--workers", "1"]);
    let st = stats(&evs);
    assert!(n(st, "memcap_protected_evicted") > 0, "{st}");
    let files = of_kind(&evs, "file");
    assert!(
        files.iter().all(|f| f["status"] != "complete"),
        "an evicted transfer cannot be complete: {files:?}"
    );
}

#[test]
fn out_of_order_bytes_over_the_memcap_become_counted_gaps() {
    let dir = TempDir::new("memcap-ooo");
    let pcap = dir.join("ooo-many.pcap");
    let w = BufWriter::new(File::create(&pcap).unwrap());
    // 40 connections holding 64 KiB each behind a hole: 2.5 MiB against a 1 MiB budget.
    flood::ooo_many(40, 64 << 10, w).unwrap();
    let (evs, err) = run_json(&pcap, &["--memcap", "1M", "--workers", "1"]);
    let st = stats(&evs);
    assert!(n(st, "memcap_ooo_flushes") > 0, "{st}");
    assert!(n(st, "gap_bytes") > 0, "{st}");
    assert!(err.contains("holes given up at --memcap"), "{err}");
    let (evs, _) = run_json(&pcap, &["--workers", "1"]);
    assert_eq!(n(stats(&evs), "memcap_ooo_flushes"), 0);
}

#[test]
fn memcap_takes_tcpdump_style_sizes_and_refuses_others() {
    let out = common::oftsniff()
        .args(["-r", "/dev/null", "--memcap", "12X"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--memcap") && err.contains("512M"), "{err}");
}
