//! Capturing on loopback: the kernel hands packet sockets every loopback frame twice (once
//! leaving, once arriving). tcpdump keeps one copy; so must oftsniff, with each backend and
//! on `-i any`. A direct transfer between `oftpeer`s on one namespace's loopback (address
//! 198.18.9.1) is captured by oftsniff and tcpdump at once: oftsniff must count exactly the
//! frames tcpdump counts, write no frame twice, and see the file's bytes once. With a capture
//! filter on `-i any`, it must keep exactly what tcpdump's same filter keeps.
//!
//! Root only (skipped with a loud message otherwise); tcpdump is installed by `.ci/run`.

#[path = "common/bins.rs"]
mod bins;
#[path = "common/netns.rs"]
mod netns;

use netns::{skip_unless_root, stop, wait_for_capturers, NsChild, OneNs, WAIT};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use oftsniff::capture::{Batch, OfflineSource};

const OFTSNIFF: &str = env!("CARGO_BIN_EXE_oftsniff");
const ADDR: &str = "198.18.9.1";
const FILE_BYTES: usize = 300_000;

fn frames(pcap: &Path) -> Vec<Vec<u8>> {
    let mut src = OfflineSource::open(pcap).expect("open pcap");
    let mut out = Vec::new();
    let mut batch: Batch = Vec::new();
    loop {
        batch.clear();
        if src.next_batch(&mut batch, 256).expect("read pcap") == 0 {
            return out;
        }
        out.extend(batch.drain(..).map(|f| f.data.into_vec()));
    }
}

fn run_in(ns: &str, args: &[&str]) {
    let o = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .output()
        .expect("ip netns exec");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn loopback(backend: &str, iface: &str, filter: &[&str]) {
    static SEQ: AtomicU32 = AtomicU32::new(900);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let ns = OneNs::new(seq);
    run_in(
        &ns.0,
        &["ip", "addr", "add", &format!("{ADDR}/32"), "dev", "lo"],
    );
    let dir = std::env::temp_dir().join(format!("oftlo-{}-{seq}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let (ours, theirs, json) = (
        dir.join("oft.pcap"),
        dir.join("tcpdump.pcap"),
        dir.join("ev.json"),
    );
    let src = dir.join("file.bin");
    std::fs::write(
        &src,
        (0..FILE_BYTES)
            .map(|i| (i * 31 % 253) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();

    let mut sniff = NsChild::spawn(
        &ns.0,
        OFTSNIFF,
        ["--backend", backend, "-i", iface, "-q", "-w"]
            .into_iter()
            .chain([ours.to_str().unwrap(), "--json", json.to_str().unwrap()])
            .chain(filter.iter().copied()),
    )
    .expect("start oftsniff");
    let mut dump = NsChild::spawn(
        &ns.0,
        "tcpdump",
        [
            "-i",
            "lo",
            "-n",
            "-B",
            "65536",
            "-Z",
            "root",
            "-w",
            theirs.to_str().unwrap(),
        ]
        .into_iter()
        .chain(filter.iter().copied()),
    )
    .expect("start tcpdump");
    // `-i any` binds to no one interface; oftsniff's socket shows under index 0 then.
    if iface == "lo" {
        wait_for_capturers(&ns.0, "lo", 2, &mut [&mut sniff, &mut dump]);
    } else {
        wait_for_capturers(&ns.0, "lo", 1, &mut [&mut dump]);
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    let bos = format!("{ADDR}:5190");
    let peer = bins::oftpeer();
    let _bos = NsChild::spawn(&ns.0, peer, ["bos", "--listen", &bos]).expect("bos");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let out = dir.join("out");
    let recv = NsChild::spawn(
        &ns.0,
        peer,
        [
            "recv",
            "--bos",
            &bos,
            "--sn",
            "bob",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .expect("recv");
    let send = NsChild::spawn(
        &ns.0,
        peer,
        [
            "send",
            "--bos",
            &bos,
            "--sn",
            "alice",
            "--to",
            "bob",
            "--data-port",
            "5191",
        ]
        .into_iter()
        .chain([src.to_str().unwrap()]),
    )
    .expect("send")
    .wait_timeout(WAIT)
    .expect("wait send");
    let recv = recv.wait_timeout(WAIT).expect("wait recv");
    assert!(
        send.success() && recv.success(),
        "{}\n{}",
        send.stderr,
        recv.stderr
    );
    drop(_bos);
    std::thread::sleep(std::time::Duration::from_millis(1300));
    let sniffed = stop(sniff, "oftsniff");
    stop(dump, "tcpdump");

    let (w, t) = (frames(&ours), frames(&theirs));
    let distinct: BTreeSet<&Vec<u8>> = w.iter().collect();
    assert_eq!(distinct.len(), w.len(), "a frame written twice to -w");
    let events: Vec<Value> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stats = events
        .iter()
        .find(|e| e["event"] == "stats")
        .expect("stats");
    let file = events.iter().find(|e| e["event"] == "file").expect("file");
    eprintln!(
        "[{backend} -i {iface}] oftsniff captured {} frames, wrote {}; tcpdump {}; {}",
        stats["frames_captured"],
        w.len(),
        t.len(),
        sniffed.stderr.lines().last().unwrap_or("")
    );
    assert_eq!(
        stats["frames_captured"].as_u64(),
        Some(t.len() as u64),
        "frames vs tcpdump"
    );
    assert_eq!(file["status"], "complete");
    assert_eq!(file["bytes"].as_u64(), Some(FILE_BYTES as u64));
    // Every frame written is one tcpdump saw (the cooked header of `-i any` aside).
    if iface == "lo" {
        let seen: BTreeSet<&Vec<u8>> = t.iter().collect();
        assert!(
            w.iter().all(|f| seen.contains(f)),
            "-w frames tcpdump did not see"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn loopback_ring_keeps_one_copy_of_each_frame() {
    if !skip_unless_root("loopback_ring_keeps_one_copy_of_each_frame") {
        loopback("ring", "lo", &[]);
    }
}

#[test]
fn loopback_pnet_keeps_one_copy_of_each_frame() {
    if !skip_unless_root("loopback_pnet_keeps_one_copy_of_each_frame") {
        loopback("pnet", "lo", &[]);
    }
}

#[test]
fn any_interface_keeps_one_copy_of_loopback_frames() {
    if !skip_unless_root("any_interface_keeps_one_copy_of_loopback_frames") {
        loopback("ring", "any", &[]);
    }
}

/// On `-i any` the filter runs in user space on each cooked frame (the kernel would run it
/// without the cooked header): only the data connection's frames, as many as tcpdump's.
#[test]
fn any_interface_applies_a_capture_filter() {
    if !skip_unless_root("any_interface_applies_a_capture_filter") {
        loopback("ring", "any", &["tcp", "port", "5191"]);
    }
}
