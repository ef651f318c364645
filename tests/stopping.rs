//! Stopping a long run loses nothing (issue 13): a stop signal delivered twice at once
//! (GNU `timeout` signals the child and its process group) is one stop; a later repeat
//! still ends with the counters and the `stats` event; `kill -9` keeps every event
//! already written and a valid pcap; `SIGHUP` reopens `--json` and `-w` after a rename.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn gaim() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gaim-sendfile-2005.pcap")
}

/// The classic pcap header and each record of a capture, as bytes.
fn records(path: &Path) -> (Vec<u8>, Vec<Vec<u8>>) {
    let b = std::fs::read(path).unwrap();
    let mut recs = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let incl = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        recs.push(b[at..at + 16 + incl].to_vec());
        at += 16 + incl;
    }
    (b[..24].to_vec(), recs)
}

fn signal(pid: u32, sig: &str) {
    assert!(Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success());
}

fn wait_for(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("oftsniff still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    child.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

/// Every line is a whole JSON object, and the last is the `stats` event.
fn assert_ends_with_stats(json: &str, what: &str) {
    let lines: Vec<&str> = json.lines().collect();
    assert!(!lines.is_empty(), "{what}: no events at all");
    for l in &lines {
        serde_json::from_str::<serde_json::Value>(l)
            .unwrap_or_else(|e| panic!("{what}: bad JSON line {l:?}: {e}"));
    }
    let last: serde_json::Value = serde_json::from_str(lines[lines.len() - 1]).unwrap();
    assert_eq!(last["event"], "stats", "{what}: last line {last}");
    let finals = lines
        .iter()
        .filter(|l| l.contains("\"event\":\"stats\"") && !l.contains("\"interim\":true"))
        .count();
    assert_eq!(finals, 1, "{what}: one final stats event");
}

/// `oftsniff -r - -q --json FILE`, its standard input a pipe the test holds open.
fn from_pipe(json: &Path, extra: &[&str]) -> Child {
    common::oftsniff()
        .args(["-r", "-", "-q", "--workers", "1", "--json"])
        .arg(json)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn timeout_s_int_on_a_quiet_pipe_ends_with_the_stats_event() {
    // `timeout -s INT` signals oftsniff, then its own process group, oftsniff included:
    // two signals at once. Each run must end as one clean stop.
    let dir = common::TempDir::new("timeout-int");
    let (header, recs) = records(&gaim());
    for run in 0..3 {
        let json = dir.join(&format!("run{run}.ndjson"));
        let mut child = Command::new("timeout")
            .args(["--preserve-status", "-s", "INT", "1"])
            .arg(env!("CARGO_BIN_EXE_oftsniff"))
            .args(["-r", "-", "-q", "--json"])
            .arg(&json)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&header).unwrap();
        stdin.write_all(&recs[0]).unwrap();
        let status = wait_for(&mut child, Duration::from_secs(10));
        drop(stdin);
        let err = stderr_of(&mut child);
        assert_eq!(status.code(), Some(0), "run {run}: {err}");
        assert!(!err.contains("interrupted again"), "run {run}: {err}");
        assert!(err.contains("1 frames captured"), "run {run}: {err}");
        assert_ends_with_stats(&std::fs::read_to_string(&json).unwrap(), "timeout run");
    }
}

#[test]
fn an_interrupt_ends_a_read_blocked_on_an_idle_pipe() {
    let dir = common::TempDir::new("idle-pipe");
    let json = dir.join("e.ndjson");
    let mut child = from_pipe(&json, &[]);
    let mut stdin = child.stdin.take().unwrap();
    let (header, recs) = records(&gaim());
    stdin.write_all(&header).unwrap();
    stdin.write_all(&recs[0]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "-INT");
    let status = wait_for(&mut child, Duration::from_secs(5));
    drop(stdin);
    let err = stderr_of(&mut child);
    assert!(status.success(), "{err}");
    assert!(!err.contains("warning"), "a stop is no damage: {err}");
    assert_ends_with_stats(&std::fs::read_to_string(&json).unwrap(), "idle pipe");
}

#[test]
fn two_interrupts_at_once_are_one_stop() {
    let dir = common::TempDir::new("two-at-once");
    let json = dir.join("e.ndjson");
    let mut child = from_pipe(&json, &[]);
    let mut stdin = child.stdin.take().unwrap();
    let (header, recs) = records(&gaim());
    stdin.write_all(&header).unwrap();
    for r in &recs[..3] {
        stdin.write_all(r).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "-INT");
    signal(child.id(), "-INT");
    let status = wait_for(&mut child, Duration::from_secs(5));
    drop(stdin);
    let err = stderr_of(&mut child);
    assert!(status.success(), "{err}");
    assert!(!err.contains("interrupted again"), "{err}");
    assert!(err.contains("3 frames captured"), "{err}");
    assert_ends_with_stats(&std::fs::read_to_string(&json).unwrap(), "two at once");
}

#[test]
fn a_second_interrupt_two_seconds_later_still_ends_with_the_stats_event() {
    // Busy: many flows, every one a `flow` event on stdout, which nobody reads until both
    // signals are sent, so the run is still finishing when the second one arrives.
    let dir = common::TempDir::new("two-apart");
    let pcap = dir.join("many.pcap");
    let spec = oft_testkit::gen::workloads::ManyFlows {
        flows: 5_000,
        ..Default::default()
    };
    oft_testkit::gen::workloads::many_flows(&spec, std::fs::File::create(&pcap).unwrap()).unwrap();
    let mut child = common::oftsniff()
        .arg("-r")
        .arg(&pcap)
        .args(["--json", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    signal(child.id(), "-INT");
    std::thread::sleep(Duration::from_secs(2));
    assert!(child.try_wait().unwrap().is_none(), "still busy writing");
    signal(child.id(), "-INT");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = wait_for(&mut child, Duration::from_secs(20));
    let err = stderr_of(&mut child);
    assert!(status.success(), "{err}");
    assert!(err.contains("interrupted again"), "{err}");
    assert!(err.contains("frames captured"), "counters printed: {err}");
    assert_ends_with_stats(&out, "two apart");
}

#[test]
fn kill_9_after_a_transfer_keeps_its_events_and_a_valid_pcap() {
    let dir = common::TempDir::new("kill9");
    let json = dir.join("e.ndjson");
    let pcap = dir.join("t.pcap");
    let mut child = from_pipe(&json, &["-w", pcap.to_str().unwrap()]);
    let mut stdin = child.stdin.take().unwrap();
    let (header, recs) = records(&gaim());
    stdin.write_all(&header).unwrap();
    for r in &recs {
        stdin.write_all(r).unwrap();
    }
    stdin.flush().unwrap();
    // The pipe stays open: oftsniff is still running when the transfer is over.
    let start = Instant::now();
    while !std::fs::read_to_string(&json)
        .unwrap_or_default()
        .contains("\"event\":\"transfer\"")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "transfer event not written while running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The pcap writer flushes whole records every second.
    std::thread::sleep(Duration::from_millis(2500));
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(text.ends_with('\n'), "whole lines only");
    let evs = common::events(&json);
    assert_eq!(common::of_kind(&evs, "transfer").len(), 1);
    assert_eq!(common::of_kind(&evs, "file").len(), 1);
    let frames = common::read_frames(&pcap);
    assert!(frames.len() >= 10, "{} frames in the pcap", frames.len());
    if let Some(n) = common::tshark_reads_clean(&pcap) {
        assert_eq!(n, frames.len());
    }
}

/// Waits until `path` holds an event of `kind`.
fn wait_for_event(path: &Path, kind: &str) {
    let start = Instant::now();
    let needle = format!("\"event\":\"{kind}\"");
    while !std::fs::read_to_string(path)
        .unwrap_or_default()
        .contains(&needle)
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no {kind} event in {} while running",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_after_a_rename_reopens_json_and_pcap_at_their_paths() {
    let dir = common::TempDir::new("sighup");
    let json = dir.join("e.ndjson");
    let pcap = dir.join("t.pcap");
    let mut child = from_pipe(&json, &["-w", pcap.to_str().unwrap()]);
    let mut stdin = child.stdin.take().unwrap();
    let (header, recs) = records(&gaim());
    // Frames 1-7: the FLAP connection carrying the rendezvous PROPOSE; 8 on: the transfer.
    stdin.write_all(&header).unwrap();
    for r in &recs[..7] {
        stdin.write_all(r).unwrap();
    }
    stdin.flush().unwrap();
    wait_for_event(&json, "rendezvous");
    // logrotate: rename, then SIGHUP.
    let (json1, pcap1) = (dir.join("e.ndjson.1"), dir.join("t.pcap.1"));
    std::fs::rename(&json, &json1).unwrap();
    std::fs::rename(&pcap, &pcap1).unwrap();
    signal(child.id(), "-HUP");
    let start = Instant::now();
    while !(json.exists() && pcap.exists()) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "not reopened at the paths after SIGHUP"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for r in &recs[7..] {
        stdin.write_all(r).unwrap();
    }
    stdin.flush().unwrap();
    wait_for_event(&json, "transfer");
    drop(stdin); // end of input: the run ends normally
    let status = wait_for(&mut child, Duration::from_secs(10));
    let err = stderr_of(&mut child);
    assert!(status.success(), "{err}");
    let old = common::events(&json1);
    assert_eq!(common::of_kind(&old, "rendezvous").len(), 1, "{old:?}");
    assert!(common::of_kind(&old, "transfer").is_empty());
    let new = std::fs::read_to_string(&json).unwrap();
    assert_ends_with_stats(&new, "after reopen");
    let new = common::events(&json);
    assert_eq!(common::of_kind(&new, "transfer").len(), 1);
    // The transfer's frames went to the new pcap; the old one is still valid.
    let frames = common::read_frames(&pcap);
    assert!(frames.len() >= 10, "{} frames", frames.len());
    if let Some(n) = common::tshark_reads_clean(&pcap) {
        assert_eq!(n, frames.len());
        assert_eq!(
            common::tshark_reads_clean(&pcap1),
            Some(common::read_frames(&pcap1).len())
        );
    }
    assert!(err.contains("2 files"), "{err}");
}

#[test]
fn timeout_s_int_live_ends_with_the_stats_event_every_time() {
    if common::netns::skip_unless_root("timeout_s_int_live_ends_with_the_stats_event_every_time") {
        return;
    }
    let ns = common::netns::OneNs::new(950);
    let dir = common::TempDir::new("timeout-live");
    // Issue 13: 2 of 8 such runs used to leave the --json file empty.
    for run in 0..6 {
        let json = dir.join(&format!("run{run}.ndjson"));
        let out = Command::new("ip")
            .args(["netns", "exec", &ns.0])
            .args(["timeout", "--preserve-status", "-s", "INT", "1"])
            .arg(env!("CARGO_BIN_EXE_oftsniff"))
            .args(["-i", "lo", "-q", "--json"])
            .arg(&json)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "run {run}: {err}");
        assert!(err.contains("frames captured"), "run {run}: {err}");
        assert_ends_with_stats(&std::fs::read_to_string(&json).unwrap(), "live timeout run");
    }
}

#[test]
fn stats_interval_and_sigusr1_give_the_counters_so_far() {
    let dir = common::TempDir::new("interim");
    let json = dir.join("e.ndjson");
    let mut child = from_pipe(&json, &["--stats-interval", "1"]);
    let mut stdin = child.stdin.take().unwrap();
    let (header, recs) = records(&gaim());
    stdin.write_all(&header).unwrap();
    for r in &recs {
        stdin.write_all(r).unwrap();
    }
    stdin.flush().unwrap();
    wait_for_event(&json, "transfer");
    std::thread::sleep(Duration::from_millis(2200));
    signal(child.id(), "-USR1");
    std::thread::sleep(Duration::from_millis(800));
    drop(stdin);
    let status = wait_for(&mut child, Duration::from_secs(10));
    let err = stderr_of(&mut child);
    assert!(status.success(), "{err}");
    let text = std::fs::read_to_string(&json).unwrap();
    assert_ends_with_stats(&text, "interim");
    let interim: Vec<serde_json::Value> = common::events(&json)
        .into_iter()
        .filter(|e| e["event"] == "stats" && e["interim"] == true)
        .collect();
    // About three from the interval, one from SIGUSR1; all 21 frames were in by then.
    assert!(interim.len() >= 3, "{} interim stats events", interim.len());
    assert_eq!(interim.last().unwrap()["frames_captured"], 21);
    assert!(
        err.matches("oftsniff: counters so far:").count() >= 3,
        "{err}"
    );
    // As tcpdump: what is read first, and at exit what the frames held.
    assert_eq!(
        err.lines().next(),
        Some("reading from file -, link-type EN10MB (Ethernet), snapshot length 65535"),
        "{err}"
    );
    assert!(err.contains("1 transfers, 1 files reported"), "{err}");
}
