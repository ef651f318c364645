//! Peak RSS under a flood stays within `--memcap` plus the fixed base that README
//! (Memory) states: a memory bound, not a timing one, read from the child's rusage.
//!
//! A file of its own, with one test: Linux carries a process's peak RSS across exec,
//! and a child spawned from a test process that shares its memory (posix_spawn) starts
//! with the parent's peak, which other tests of the same binary would raise.

mod common;

use common::TempDir;
use oft_testkit::gen::flood;
use std::fs::File;
use std::io::BufWriter;

const FILE_BYTES: u32 = 300_000;

/// The fixed base beside `--memcap` that README (Memory) states: the process, the
/// allocator's slack, what is not charged. A debug build measured 20-25 MiB over.
const FIXED_BASE_MIB: u64 = 48;

/// Runs oftsniff on `args` and returns its peak RSS in KiB, as GNU time reads it.
// The child is reaped by wait4, which alone returns its rusage; `Child::wait` cannot.
#[allow(clippy::zombie_processes)]
fn peak_rss_kib(args: &[&str]) -> u64 {
    let child = common::oftsniff()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in; the pid is our own child, which
    // nothing else waits for (the `Child` handle is dropped unused afterwards).
    let (pid, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        (pid, usage)
    };
    assert_eq!(pid, child.id() as libc::pid_t);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "oftsniff {args:?}: status {status:#x}"
    );
    usage.ru_maxrss as u64
}

#[test]
fn peak_rss_of_a_syn_flood_stays_within_memcap_and_the_fixed_base() {
    let dir = TempDir::new("memcap-rss");
    let pcap = dir.join("syn-flood.pcap");
    let w = BufWriter::new(File::create(&pcap).unwrap());
    // Unbounded, 300,000 connections cost well over 100 MB of flows alone.
    flood::syn_flood(300_000, Some(FILE_BYTES), w).unwrap();
    let out = dir.join("written.pcap");
    let (pcap_s, out_s) = (pcap.to_str().unwrap(), out.to_str().unwrap());
    let memcap_mib = 16;
    let cap = format!("{memcap_mib}M");
    let bound = (memcap_mib + FIXED_BASE_MIB) << 10;
    for workers in ["1", "2"] {
        for write in [false, true] {
            let mut args = vec!["-r", pcap_s, "-q", "--memcap", &cap, "--workers", workers];
            if write {
                args.extend(["-w", out_s]);
            }
            let rss = peak_rss_kib(&args);
            eprintln!("{args:?}: peak RSS {rss} KiB");
            assert!(
                rss <= bound,
                "{args:?}: peak RSS {rss} KiB > {bound} KiB (this test process: {})",
                own_peak()
            );
        }
    }
}

/// This process's own peak, which a child starts from (see the top of the file).
fn own_peak() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM unknown")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
