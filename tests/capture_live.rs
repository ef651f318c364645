//! Live capture with both backends on a veth pair: one end in a network namespace made by
//! the test, which sends a known set of UDP datagrams; the other end in the root namespace
//! (without any address, so nothing else routes through it), where the capture runs.
//!
//! Needs root; skipped with a loud message otherwise. Addresses are from 198.18.0.0/15 and
//! live only inside the test's namespace; everything is removed even when a test fails.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use oftsniff::capture::{Backend, CaptureError, Frame, LinkType, LiveOptions, LiveSource};

const SENDER_IP: &str = "198.18.0.2";
const TARGET_IP: [u8; 4] = [198, 18, 0, 1];
const PORT: u16 = 40_000;
const MARK: &[u8] = b"oftsniff-capture-test-";

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!(
                "\n*** SKIPPED {}: live capture tests need root (network namespaces, packet \
                 sockets). Run `sudo cargo test --test capture_live`. ***\n",
                module_path!()
            );
            return;
        }
    };
}

fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespace holding one veth end (`peer`, 198.18.0.2/24) and the other end (`host`)
/// in the root namespace, up, without addresses. Dropping it deletes both.
struct VethNs {
    ns: String,
    host: String,
}

impl VethNs {
    fn new() -> VethNs {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let guard = VethNs {
            ns: format!("oftcap-{pid}-{n}"),
            host: format!("oca{pid}x{n}"),
        };
        let peer = format!("ocb{pid}x{n}");
        let (ns, host) = (guard.ns.as_str(), guard.host.as_str());
        run(&["ip", "netns", "add", ns]);
        run(&[
            "ip", "link", "add", host, "type", "veth", "peer", "name", &peer, "netns", ns,
        ]);
        // No IPv6 autoconfiguration chatter on the captured link.
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{host}/disable_ipv6"), "1");
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
            ])
            .output();
        run(&["ip", "link", "set", host, "up"]);
        run(&[
            "ip",
            "-n",
            ns,
            "addr",
            "add",
            &format!("{SENDER_IP}/24"),
            "dev",
            &peer,
        ]);
        run(&["ip", "-n", ns, "link", "set", &peer, "up"]);
        // The host end has no address to answer ARP with; a static entry lets datagrams
        // leave without any ARP traffic.
        let mac = std::fs::read_to_string(format!("/sys/class/net/{host}/address")).unwrap();
        let target = format!(
            "{}.{}.{}.{}",
            TARGET_IP[0], TARGET_IP[1], TARGET_IP[2], TARGET_IP[3]
        );
        run(&[
            "ip",
            "-n",
            ns,
            "neigh",
            "replace",
            &target,
            "lladdr",
            mac.trim(),
            "dev",
            &peer,
            "nud",
            "permanent",
        ]);
        guard
    }

    /// Sends `count` datagrams, each from a fresh socket (so from different source ports,
    /// i.e. different flows), with payload MARK followed by the datagram's number.
    fn send_udp(&self, count: usize) {
        let script = format!(
            "for i in $(seq 0 {}); do printf '{}%d' $i > /dev/udp/{}.{}.{}.{}/{PORT}; done",
            count - 1,
            std::str::from_utf8(MARK).unwrap(),
            TARGET_IP[0],
            TARGET_IP[1],
            TARGET_IP[2],
            TARGET_IP[3]
        );
        run(&["ip", "netns", "exec", &self.ns, "bash", "-c", &script]);
    }

    fn host_promisc(&self) -> bool {
        let flags = std::fs::read_to_string(format!("/sys/class/net/{}/flags", self.host)).unwrap();
        let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap();
        flags & 0x100 != 0 // IFF_PROMISC
    }
}

impl Drop for VethNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host])
            .output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

/// The datagram number if `f` is one of the test's datagrams (Ethernet, IPv4, UDP to PORT).
fn test_datagram(f: &Frame) -> Option<usize> {
    let d = &f.data;
    if d.len() < 14 + 20 + 8 || d[12..14] != [0x08, 0x00] || d[23] != 17 || d[30..34] != TARGET_IP {
        return None;
    }
    let udp = 14 + (d[14] & 0x0f) as usize * 4;
    if d.get(udp + 2..udp + 4)? != PORT.to_be_bytes() {
        return None;
    }
    let payload = d.get(udp + 8..)?;
    let n = payload.strip_prefix(MARK)?;
    std::str::from_utf8(n).ok()?.parse().ok()
}

/// Reads from all `sources` until `count` test datagrams arrived or 10 s passed; returns
/// the datagram numbers seen per source.
fn collect(sources: &mut [LiveSource], count: usize) -> Vec<Vec<usize>> {
    let stop = AtomicBool::new(false);
    let mut seen = vec![Vec::new(); sources.len()];
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.iter().map(Vec::len).sum::<usize>() < count && Instant::now() < deadline {
        for (src, seen) in sources.iter_mut().zip(&mut seen) {
            let mut batch = Vec::new();
            src.next_batch(&mut batch, 64, &stop)
                .expect("capture error");
            let mut last_no = 0;
            for f in &batch {
                assert!(f.no.0 > last_no, "frame numbers increase");
                last_no = f.no.0;
                assert_eq!(f.orig_len as usize, f.data.len());
                seen.extend(test_datagram(f));
            }
        }
    }
    seen
}

fn capture_udp_with(backend: Backend) {
    let net = VethNs::new();
    let mut src = LiveSource::open(&net.host, backend, &LiveOptions::default())
        .unwrap_or_else(|e| panic!("{backend}: {e}"));
    assert_eq!(src.link_type(), LinkType::Ethernet);
    assert!(
        net.host_promisc(),
        "{backend}: promiscuous mode is on while capturing"
    );

    const N: usize = 300;
    net.send_udp(N);
    let seen = collect(std::slice::from_mut(&mut src), N);
    let got: BTreeSet<usize> = seen[0].iter().copied().collect();
    assert_eq!(seen[0].len(), N, "{backend}: each datagram exactly once");
    assert_eq!(got, (0..N).collect(), "{backend}");

    let stats = src.kernel_stats().expect("PACKET_STATISTICS readable");
    assert!(
        stats.packets >= N as u64,
        "{backend}: kernel counted {stats:?}"
    );
    assert!(stats.drops <= stats.packets);
    let _ = src.kernel_drops();

    // With stop set and nothing pending, next_batch returns without frames.
    let stop = AtomicBool::new(true);
    let mut batch = Vec::new();
    let t = Instant::now();
    assert_eq!(src.next_batch(&mut batch, 64, &stop).unwrap(), 0);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "{backend}: stop flag honoured"
    );

    drop(src);
    assert!(
        !net.host_promisc(),
        "{backend}: promiscuous mode ends with the capture"
    );
}

#[test]
fn ring_backend_captures_every_datagram_and_reads_kernel_counters() {
    require_root!();
    capture_udp_with(Backend::Ring);
}

#[test]
fn pnet_backend_captures_every_datagram_and_reads_kernel_counters() {
    require_root!();
    capture_udp_with(Backend::Pnet);
}

#[test]
fn no_promisc_leaves_the_interface_alone() {
    require_root!();
    let net = VethNs::new();
    for backend in [Backend::Ring, Backend::Pnet] {
        let opts = LiveOptions {
            promisc: false,
            ..LiveOptions::default()
        };
        let _src = LiveSource::open(&net.host, backend, &opts).unwrap();
        assert!(!net.host_promisc(), "{backend}");
    }
}

#[test]
fn fanout_group_members_share_the_traffic_without_duplicates() {
    require_root!();
    let net = VethNs::new();
    let group = (std::process::id() & 0xffff) as u16;
    let opts = LiveOptions {
        fanout_group: Some(group),
        ..LiveOptions::default()
    };
    let mut sources: Vec<LiveSource> = (0..2)
        .map(|_| LiveSource::open(&net.host, Backend::Ring, &opts).expect("join fanout group"))
        .collect();
    const N: usize = 200;
    net.send_udp(N);
    let seen = collect(&mut sources, N);
    let all: BTreeSet<usize> = seen.iter().flatten().copied().collect();
    assert_eq!(
        seen.iter().map(Vec::len).sum::<usize>(),
        N,
        "no datagram twice"
    );
    assert_eq!(all, (0..N).collect());
    // 200 flows hashed over two members: both get a share.
    assert!(
        seen.iter().all(|s| !s.is_empty()),
        "shares {:?}",
        seen.iter().map(Vec::len).collect::<Vec<_>>()
    );
}

#[test]
fn unknown_interface_is_reported_by_both_backends() {
    require_root!();
    for backend in [Backend::Ring, Backend::Pnet] {
        let e = LiveSource::open("oftsniff-nope0", backend, &LiveOptions::default())
            .err()
            .expect("no such interface");
        assert!(
            matches!(e, CaptureError::NoSuchInterface { .. }),
            "{backend}: {e}"
        );
        assert_eq!(
            e.to_string(),
            "oftsniff: no such interface 'oftsniff-nope0' (see oftsniff -D)"
        );
    }
}
