//! Capture filters (`-f EXPR` or trailing words, tcpdump's grammar compiled by libpcap):
//! offline they select frames of a file; live the kernel drops what does not match
//! before oftsniff sees it; a bad expression is one line and exit 2.
//!
//! The live test needs root (a network namespace and a veth pair, addresses in
//! 198.18.0.0/15 only); it is skipped loudly otherwise.

mod common;

use common::netns::skip_unless_root;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Two direct transfers at once: senders 198.19.0.1 and 198.19.0.2, receivers
/// 198.18.0.1 and 198.18.0.2 (oftgen's benchmark workload, 5000-byte files).
fn two_transfers(dir: &common::TempDir) -> std::path::PathBuf {
    let pcap = dir.join("two.pcap");
    common::succeed(
        Command::new(common::bins::oftgen())
            .args(["oft-transfers", "--transfers", "2", "--concurrent", "2"])
            .args(["--file-bytes", "5000"])
            .arg(&pcap),
    );
    pcap
}

fn json_run(pcap: &Path, filter: &[&str]) -> Vec<Value> {
    let out = common::succeed(
        common::oftsniff()
            .arg("-r")
            .arg(pcap)
            .args(["--json", "-"])
            .args(filter),
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn senders(evs: &[Value]) -> Vec<String> {
    evs.iter()
        .filter(|e| e["event"] == "transfer")
        .map(|e| e["sender"].as_str().unwrap().to_string())
        .collect()
}

/// A counter of the run's final `stats` event.
fn stat(events: &[Value], name: &str) -> u64 {
    events
        .iter()
        .rfind(|e| e["event"] == "stats")
        .and_then(|e| e[name].as_u64())
        .unwrap_or_else(|| panic!("{name} in the stats event"))
}

fn frames_captured(evs: &[Value]) -> u64 {
    stat(evs, "frames_captured")
}

#[test]
fn offline_filter_selects_one_of_two_transfers() {
    let dir = common::TempDir::new("filter-offline");
    let pcap = two_transfers(&dir);
    let all = json_run(&pcap, &[]);
    assert_eq!(senders(&all), ["198.19.0.1:5190", "198.19.0.2:5190"]);

    let trailing = json_run(&pcap, &["host", "198.19.0.2"]);
    assert_eq!(senders(&trailing), ["198.19.0.2:5190"]);
    let dash_f = json_run(&pcap, &["-f", "host 198.18.0.1"]);
    assert_eq!(senders(&dash_f), ["198.19.0.1:5190"]);
    // The two transfers have the same shape: each keeps half the frames, and the other
    // half is counted as left out by the filter.
    assert_eq!(frames_captured(&trailing) * 2, frames_captured(&all));
    assert_eq!(
        stat(&trailing, "frames_filtered"),
        frames_captured(&trailing)
    );
    assert_eq!(stat(&all, "frames_filtered"), 0);
    // Frame numbers stay the file's: T2's frames are not renumbered from 1.
    let t1_frames: Vec<u64> = dash_f.iter().filter_map(|e| e["frame"].as_u64()).collect();
    let t2_frames: Vec<u64> = trailing
        .iter()
        .filter_map(|e| e["frame"].as_u64())
        .collect();
    assert!(!t1_frames.is_empty() && !t2_frames.is_empty());
    assert!(t1_frames.iter().all(|n| !t2_frames.contains(n)));
}

#[test]
fn bad_filter_is_one_line_and_exit_2() {
    let data = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gaim-sendfile-2005.pcap"
    );
    for args in [
        vec!["-r", data, "host", "and"],
        vec!["-r", data, "-f", "port 99999"],
        vec!["-i", "lo", "-f", "tcp[[["],
    ] {
        let out = common::oftsniff().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("oftsniff: bad capture filter '"),
            "{args:?}: {err}"
        );
    }
    // -f and trailing words together are ambiguous.
    let out = common::oftsniff()
        .args(["-r", data, "-f", "tcp", "udp"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespace holding the sending end of a veth pair (198.18.0.2/24); the other end
/// stays in the root namespace, up and without an address, where oftsniff captures.
struct Veth {
    ns: String,
    host: String,
}

impl Veth {
    fn new() -> Veth {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let v = Veth {
            ns: format!("oftflt-{pid}-{n}"),
            host: format!("ofa{pid}x{n}"),
        };
        let peer = format!("ofb{pid}x{n}");
        ip(&["netns", "add", &v.ns]);
        ip(&[
            "link", "add", &v.host, "type", "veth", "peer", "name", &peer, "netns", &v.ns,
        ]);
        let _ = std::fs::write(
            format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", v.host),
            "1",
        );
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                &v.ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
            ])
            .output();
        ip(&["link", "set", &v.host, "up"]);
        ip(&["-n", &v.ns, "addr", "add", "198.18.0.2/24", "dev", &peer]);
        ip(&["-n", &v.ns, "link", "set", &peer, "up"]);
        let mac = std::fs::read_to_string(format!("/sys/class/net/{}/address", v.host)).unwrap();
        ip(&[
            "-n",
            &v.ns,
            "neigh",
            "replace",
            "198.18.0.1",
            "lladdr",
            mac.trim(),
            "dev",
            &peer,
            "nud",
            "permanent",
        ]);
        v
    }

    /// `count` UDP datagrams to 198.18.0.1:`port`.
    fn send(&self, port: u16, count: usize) {
        let script =
            format!("for i in $(seq 1 {count}); do printf x > /dev/udp/198.18.0.1/{port}; done");
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "bash", "-c", &script])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host])
            .output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

#[test]
fn live_kernel_filter_drops_non_matching_frames() {
    if skip_unless_root("live_kernel_filter_drops_non_matching_frames") {
        return;
    }
    let veth = Veth::new();
    for backend in ["ring", "pnet"] {
        let child = common::oftsniff()
            .args(["-i", &veth.host, "--backend", backend, "--json", "-"])
            .args(["udp", "dst", "port", "40000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        veth.send(40001, 7);
        veth.send(40000, 3);
        veth.send(40002, 5);
        std::thread::sleep(Duration::from_millis(500));
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let evs: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // Only the kernel can have removed the other 12: live frames are not filtered
        // again in user space.
        assert_eq!(frames_captured(&evs), 3, "{backend}");
    }
}
