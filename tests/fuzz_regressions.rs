//! The fuzz targets' inputs, replayed on stable: every input a fuzzer ever found crashing,
//! hanging or blowing memory (tests/data/fuzz/<target>/, see scripts/fuzz.sh) and every
//! committed seed (fuzz/corpus/<target>/) must run through its target without a panic.
//! Also checks that the harness reaches what it claims to: a flow input of a real
//! transfer gets through reassembly, the session machine and the correlator.

use oft_testkit::fuzz::{self, seeds, TARGETS};
use oft_testkit::gen::oft::{self as gen_oft, Kind, Variant};
use oftsniff::decode::decode_tcp;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for target in TARGETS {
        let Ok(entries) = std::fs::read_dir(dir.join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            out.push((target.to_string(), e.path()));
        }
    }
    out.sort();
    out
}

/// Runs every input under `dir`; returns how many. A hang shows as a test over its time,
/// so each input's time is bounded too (generously: debug builds are slow).
fn replay(dir: &Path) -> usize {
    let all = inputs(dir);
    for (target, path) in &all {
        let bytes = std::fs::read(path).unwrap();
        let started = Instant::now();
        assert!(fuzz::run_target(target, &bytes), "unknown target {target}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} took {:?}",
            path.display(),
            started.elapsed()
        );
    }
    all.len()
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn every_fuzz_finding_replays_without_a_panic() {
    // Directories only for targets that have had findings; none is fine.
    let dir = repo("tests/data/fuzz");
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().into_string().unwrap();
        assert!(
            !entry.path().is_dir() || TARGETS.contains(&name.as_str()),
            "tests/data/fuzz/{name} names no target"
        );
    }
    replay(&dir);
}

#[test]
fn every_committed_seed_runs_through_its_target() {
    let n = replay(&repo("fuzz/corpus"));
    // Every target has seeds: a lost corpus would make fuzzing start from nothing.
    for target in TARGETS {
        let count = std::fs::read_dir(repo("fuzz/corpus").join(target))
            .map(|d| d.count())
            .unwrap_or(0);
        assert!(count > 0, "no seeds for {target}");
    }
    assert!(n >= TARGETS.len());
}

#[test]
fn a_flow_input_round_trips_the_segments_of_a_connection() {
    let frames = gen_oft::build(Kind::Direct, 3, Variant::PLAIN)
        .pcap
        .into_frames();
    let conns = seeds::connections(&frames);
    assert!(conns.len() >= 2, "FLAP and data connections");
    for conn in &conns {
        let replayed = fuzz::flow_frames(&conn.flow_input());
        assert_eq!(replayed.len(), conn.segs.len());
        for (f, seg) in replayed.iter().zip(&conn.segs) {
            let pkt = decode_tcp(f.link, &f.data).unwrap();
            assert_eq!(pkt.src.port == conn.server.port, seg.from_server);
            assert_eq!(
                (pkt.seq, pkt.flags.syn(), pkt.flags.fin()),
                (seg.seq, seg.syn, seg.fin)
            );
            assert_eq!((pkt.flags.rst(), pkt.flags.ack()), (seg.rst, seg.ack));
            if seg.ack {
                assert_eq!(pkt.ack, seg.ack_no);
            }
            assert_eq!(&f.data[pkt.payload.clone()], &seg.payload[..]);
        }
    }
}

#[test]
fn the_flow_target_reaches_the_correlator_with_a_whole_transfer() {
    let frames = gen_oft::build(Kind::Direct, 3, Variant::PLAIN)
        .pcap
        .into_frames();
    let outcomes: Vec<_> = seeds::connections(&frames)
        .iter()
        .map(|c| fuzz::flow(&c.flow_input()))
        .collect();
    // The data connection alone makes a transfer with its file; the FLAP connection
    // alone only offers one.
    assert!(
        outcomes.iter().any(|o| o.transfers >= 1 && o.files == 1),
        "{outcomes:?}"
    );
    // Garbage gets nowhere, and says so rather than failing.
    assert_eq!(
        fuzz::flow(b"\x00\x50\x14\x46garbage"),
        fuzz::FlowOutcome::default()
    );
}
