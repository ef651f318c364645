//! The whole live pipeline, end to end: two network namespaces made by the test, joined
//! by a veth pair, a real TCP transfer of a few MB between them, and the `oftsniff`
//! binary capturing on one end (inside its namespace) with each backend until SIGINT.
//! The flow record must count exactly the bytes sent each way, the stats record must
//! carry the kernel drop counter, and the JSON file must be complete. With the smallest
//! buffers and the sniffer stopped (SIGSTOP) during a transfer, each backend's kernel drops
//! must show up in that counter.
//!
//! Needs root (namespaces, packet sockets) and python3 (the TCP peers); skipped with a
//! loud message otherwise. Addresses are from 198.18.0.0/15 and exist only inside the
//! test's namespaces, which are removed even when the test fails.

#[path = "common/netns.rs"]
mod netns;
use netns::is_root;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_oftsniff");
const CLIENT_IP: &str = "198.18.0.1";
const SERVER_IP: &str = "198.18.0.2";
const PORT: u16 = 45_190;
/// Bytes the client sends, and the server sends back once the client is done.
const C2S_BYTES: u64 = 3 * 1024 * 1024 + 12_345;
const S2C_BYTES: u64 = 512 * 1024 + 789;

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

macro_rules! require_root {
    () => {
        if !is_root() {
            netns::record_skip("", "needs root (or python3)");
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!(
                    "\n*** SKIPPED {}: the live pipeline test needs root (network namespaces, \
                 packet sockets). Run `sudo cargo test --test live_pipeline`. ***\n",
                    std::thread::current().name().unwrap_or(module_path!())
                ),
            );
            return;
        }
    };
}

macro_rules! require_root_and_python {
    () => {
        require_root!();
        if !have("python3") {
            netns::record_skip("", "needs root (or python3)");
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!(
                    "\n*** SKIPPED {}: python3 (the TCP peers of the transfer) is not \
                 installed. ***\n",
                    std::thread::current().name().unwrap_or(module_path!())
                ),
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
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces, `client` (198.18.0.1 on `client_if`) and `server` (198.18.0.2 on
/// `server_if`), joined by a veth pair; plus every process the test started in them.
/// Dropping it — also while unwinding from a failed assertion — kills the processes and
/// deletes both namespaces, which takes the veth pair with them.
struct TwoHosts {
    client_ns: String,
    server_ns: String,
    server_if: String,
    children: Vec<Child>,
    json: PathBuf,
}

impl TwoHosts {
    fn new() -> TwoHosts {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // The guard exists before the first namespace does, so a failure halfway through
        // setting up still removes what was made.
        let hosts = TwoHosts {
            client_ns: format!("oftpipe-c-{pid}-{n}"),
            server_ns: format!("oftpipe-s-{pid}-{n}"),
            server_if: format!("ops{pid}x{n}"),
            children: Vec::new(),
            json: std::env::temp_dir().join(format!("oftsniff-live-{pid}-{n}.json")),
        };
        let client_if = format!("opc{pid}x{n}");
        let (c, s) = (hosts.client_ns.as_str(), hosts.server_ns.as_str());
        run(&["ip", "netns", "add", c]);
        run(&["ip", "netns", "add", s]);
        run(&[
            "ip",
            "link",
            "add",
            &client_if,
            "netns",
            c,
            "type",
            "veth",
            "peer",
            "name",
            &hosts.server_if,
            "netns",
            s,
        ]);
        for (ns, ifname, ip) in [
            (c, client_if.as_str(), CLIENT_IP),
            (s, hosts.server_if.as_str(), SERVER_IP),
        ] {
            // No IPv6 router solicitations or DAD on the captured link.
            run(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ]);
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{ip}/24"),
                "dev",
                ifname,
            ]);
            run(&["ip", "-n", ns, "link", "set", ifname, "up"]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        hosts
    }

    /// Starts `args` inside namespace `ns`; the guard owns the process from here on.
    fn spawn_in(&mut self, ns: &str, args: &[&str], stdout: Stdio) -> usize {
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn in namespace");
        self.children.push(child);
        self.children.len() - 1
    }

    /// Waits up to `limit` for child `i` to exit; panics (and the guard cleans up) if not.
    fn wait(&mut self, i: usize, limit: Duration, what: &str) -> (ExitStatus, String) {
        let deadline = Instant::now() + limit;
        let child = &mut self.children[i];
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return (status, err);
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not finish in {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn take_stdout(&mut self, i: usize) -> BufReader<ChildStdout> {
        BufReader::new(self.children[i].stdout.take().expect("piped stdout"))
    }

    /// Interface index of the server's veth end, as its namespace numbers it.
    fn server_ifindex(&self) -> u32 {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.server_ns, "cat"])
            .arg(format!("/sys/class/net/{}/ifindex", self.server_if))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// Waits until a packet socket in the server namespace is bound to the veth end:
    /// the backends bind last, after their buffers are set up, so capture has begun.
    /// A real TCP exchange from the client namespace to a server on `port`: C2S_BYTES one
    /// way, S2C_BYTES back. Returns what the client and the server each counted.
    fn transfer(&mut self, port: u16) -> (String, String) {
        let (c_ns, s_ns) = (self.client_ns.clone(), self.server_ns.clone());
        let port = port.to_string();
        let back = S2C_BYTES.to_string();
        let size = C2S_BYTES.to_string();
        let server = self.spawn_in(
            &s_ns,
            &["python3", "-c", SERVER_PY, SERVER_IP, &port, &back],
            Stdio::piped(),
        );
        let mut server_out = self.take_stdout(server);
        assert_eq!(read_line(&mut server_out, "server ready"), "ready");
        let client = self.spawn_in(
            &c_ns,
            &["python3", "-c", CLIENT_PY, SERVER_IP, &port, &size],
            Stdio::piped(),
        );
        let mut client_out = self.take_stdout(client);
        let (status, err) = self.wait(client, Duration::from_secs(10), "client");
        assert!(status.success(), "client: {err}");
        let (status, err) = self.wait(server, Duration::from_secs(5), "server");
        assert!(status.success(), "server: {err}");
        (
            read_line(&mut client_out, "client count"),
            read_line(&mut server_out, "server count"),
        )
    }

    fn wait_for_capture(&mut self, sniffer: usize) {
        let ifindex = self.server_ifindex().to_string();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let out = Command::new("ip")
                .args(["netns", "exec", &self.server_ns, "cat", "/proc/net/packet"])
                .output()
                .unwrap();
            let table = String::from_utf8_lossy(&out.stdout);
            // Columns: sk RefCnt Type Proto Iface R Rmem User Inode.
            if table
                .lines()
                .skip(1)
                .any(|l| l.split_whitespace().nth(4) == Some(ifindex.as_str()))
            {
                return;
            }
            if let Some(status) = self.children[sniffer].try_wait().unwrap() {
                let (_, err) = self.wait(sniffer, Duration::ZERO, "oftsniff");
                panic!("oftsniff exited before capturing ({status}): {err}");
            }
            assert!(Instant::now() < deadline, "oftsniff never bound its socket");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TwoHosts {
    fn drop(&mut self) {
        for child in &mut self.children {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        for ns in [&self.client_ns, &self.server_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = std::fs::remove_file(&self.json);
    }
}

/// Accepts one connection, reads until the client's FIN, answers with `S2C_BYTES`, then
/// waits for the client to close; prints "ready" once listening and the count it read.
const SERVER_PY: &str = r#"
import socket, sys
ip, port, back = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ip, port))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
got = 0
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    got += len(d)
block = bytes(range(256)) * 256
left = back
while left:
    n = min(left, len(block))
    c.sendall(block[:n])
    left -= n
c.shutdown(socket.SHUT_WR)
while c.recv(1 << 16):
    pass
c.close()
print(got, flush=True)
"#;

/// Connects, sends `C2S_BYTES` of a varying pattern, half-closes, reads the answer to
/// the server's FIN, and prints how much it read.
const CLIENT_PY: &str = r#"
import socket, sys
ip, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = socket.create_connection((ip, port), timeout=10)
block = bytes((i * 7) & 0xff for i in range(65521))
left = size
while left:
    n = min(left, len(block))
    c.sendall(block[:n])
    left -= n
c.shutdown(socket.SHUT_WR)
got = 0
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    got += len(d)
c.close()
print(got, flush=True)
"#;

fn read_line(r: &mut impl BufRead, what: &str) -> String {
    let mut line = String::new();
    r.read_line(&mut line).expect(what);
    line.trim().to_owned()
}

/// Reads the NDJSON file: every line complete and valid, the stats record last.
fn read_events(path: &Path) -> (Vec<Value>, Value) {
    let text = std::fs::read_to_string(path).expect("JSON file written");
    assert!(
        text.ends_with('\n'),
        "the JSON file ends with a complete line"
    );
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line ({e}): {l}")))
        .collect();
    let (last, rest) = events.split_last().expect("events");
    assert_eq!(last["event"], "stats", "stats is the last event: {last}");
    assert!(
        rest.iter().all(|e| e["event"] != "stats"),
        "one stats record"
    );
    (rest.to_vec(), last.clone())
}

fn transfer_captured_with(backend: &str, settle: Duration) {
    let mut net = TwoHosts::new();
    let json = net.json.to_str().unwrap().to_owned();
    let (s_ns, s_if) = (net.server_ns.clone(), net.server_if.clone());

    let sniffer = net.spawn_in(
        &s_ns,
        &[
            BIN,
            "-i",
            &s_if,
            "--backend",
            backend,
            "--json",
            &json,
            "-q",
            "--workers",
            "2",
        ],
        Stdio::null(),
    );
    net.wait_for_capture(sniffer);

    let (client_got, server_got) = net.transfer(PORT);
    // What each peer actually received is what was sent the other way.
    assert_eq!(client_got, S2C_BYTES.to_string());
    assert_eq!(server_got, C2S_BYTES.to_string());

    // `settle`: how long after the transfer the user presses Ctrl-C. Zero is the hard
    // case: the last frames may still sit in a ring block the kernel has not handed over.
    std::thread::sleep(settle);
    let pid = net.children[sniffer].id().to_string();
    run(&["kill", "-INT", &pid]);
    let (status, err) = net.wait(sniffer, Duration::from_secs(10), "oftsniff after SIGINT");
    assert!(status.success(), "{backend}: oftsniff exit {status}: {err}");
    assert!(!err.contains("panicked"), "{backend}: {err}");
    assert!(
        err.lines().any(|l| l.ends_with("frames dropped by kernel")),
        "{backend}: counters on stderr: {err}"
    );

    let (events, stats) = read_events(&net.json);
    let flows: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "flow" && e["server"] == format!("{SERVER_IP}:{PORT}"))
        .collect();
    assert_eq!(flows.len(), 1, "{backend}: one flow record: {events:?}");
    let flow = flows[0];
    let client_ep = flow["client"].as_str().unwrap();
    assert!(
        client_ep.starts_with(&format!("{CLIENT_IP}:")),
        "{backend}: {flow}"
    );
    assert_eq!(flow["midstream"], false, "{backend}: SYN seen: {flow}");
    assert_eq!(flow["bytes_c2s"], C2S_BYTES, "{backend}: {flow} {stats}");
    assert_eq!(flow["bytes_s2c"], S2C_BYTES, "{backend}: {flow} {stats}");
    assert_eq!(flow["gaps"], 0, "{backend}: {flow}");
    assert_eq!(flow["close"], "fin", "{backend}: {flow}");

    assert!(
        stats["kernel_dropped"].is_u64(),
        "{backend}: kernel drop counter read: {stats}"
    );
    assert_eq!(
        stats["kernel_dropped"], 0,
        "{backend}: no kernel drops at this rate: {stats}"
    );
    assert_eq!(stats["queue_dropped"], 0, "{backend}: {stats}");
    assert!(
        stats["frames_captured"].as_u64().unwrap() >= 10,
        "{backend}: {stats}"
    );
    assert!(
        stats["flows_seen"].as_u64().unwrap() >= 1,
        "{backend}: {stats}"
    );
}

#[test]
fn ring_backend_flow_record_counts_every_byte_of_a_live_transfer() {
    require_root_and_python!();
    transfer_captured_with("ring", Duration::from_millis(500));
}

/// Ctrl-C the moment the transfer ends: frames the kernel captured before the signal
/// are still read and counted (the ring's last block is handed over after the stop).
#[test]
fn ring_backend_interrupted_as_the_transfer_ends_still_counts_every_byte() {
    require_root_and_python!();
    for _ in 0..3 {
        transfer_captured_with("ring", Duration::ZERO);
    }
}

#[test]
fn pnet_backend_flow_record_counts_every_byte_of_a_live_transfer() {
    require_root_and_python!();
    transfer_captured_with("pnet", Duration::from_millis(500));
}

#[test]
fn pnet_backend_interrupted_as_the_transfer_ends_still_counts_every_byte() {
    require_root_and_python!();
    for _ in 0..3 {
        transfer_captured_with("pnet", Duration::ZERO);
    }
}

/// SIGTERM (what service managers send) ends a capture that sees no traffic at all just
/// as Ctrl-C does: exit 0, counters printed, a complete JSON file with its stats record.
#[test]
fn sigterm_ends_a_quiet_capture_cleanly_with_either_backend() {
    require_root!();
    for backend in ["ring", "pnet"] {
        let mut net = TwoHosts::new();
        let json = net.json.to_str().unwrap().to_owned();
        let (s_ns, s_if) = (net.server_ns.clone(), net.server_if.clone());
        let sniffer = net.spawn_in(
            &s_ns,
            &[
                BIN,
                "-i",
                &s_if,
                "--backend",
                backend,
                "--json",
                &json,
                "-q",
            ],
            Stdio::null(),
        );
        net.wait_for_capture(sniffer);
        let pid = net.children[sniffer].id().to_string();
        run(&["kill", "-TERM", &pid]);
        let (status, err) = net.wait(sniffer, Duration::from_secs(5), "oftsniff after SIGTERM");
        assert!(status.success(), "{backend}: exit {status}: {err}");
        assert!(
            err.lines().any(|l| l.ends_with("frames captured")),
            "{backend}: {err}"
        );
        let (flows, stats) = read_events(&net.json);
        assert!(
            flows.is_empty(),
            "{backend}: no traffic, no flows: {flows:?}"
        );
        assert!(stats["kernel_dropped"].is_u64(), "{backend}: {stats}");
    }
}

/// Frames the kernel could not queue while oftsniff was not reading reach the stats: the
/// sniffer runs with the smallest buffer its backend allows and is stopped (SIGSTOP) for
/// the whole of a few-MB transfer, then continued and stopped with SIGINT. The ring
/// (TPACKET_V3, two 4 KiB blocks) and pnet (a 64 KiB SO_RCVBUF) both overflow, and
/// PACKET_STATISTICS must say so in `kernel_dropped`.
fn kernel_drops_reach_the_stats_with(backend: &str, buffer_args: &[&str]) {
    let mut net = TwoHosts::new();
    let json = net.json.to_str().unwrap().to_owned();
    let (s_ns, s_if) = (net.server_ns.clone(), net.server_if.clone());
    let mut args = vec![
        BIN,
        "-i",
        &s_if,
        "--backend",
        backend,
        "--json",
        &json,
        "-q",
        "--workers",
        "1",
    ];
    args.extend_from_slice(buffer_args);
    let sniffer = net.spawn_in(&s_ns, &args, Stdio::null());
    net.wait_for_capture(sniffer);
    let pid = net.children[sniffer].id().to_string();
    // A stopped process is still killed by the guard (SIGKILL needs no SIGCONT), so a
    // failure below leaves nothing behind.
    run(&["kill", "-STOP", &pid]);

    net.transfer(PORT + 1);
    // The transfer happened while oftsniff was stopped for at least a second.
    std::thread::sleep(Duration::from_secs(1));

    run(&["kill", "-CONT", &pid]);
    std::thread::sleep(Duration::from_millis(500));
    run(&["kill", "-INT", &pid]);
    let (status, err) = net.wait(sniffer, Duration::from_secs(10), "oftsniff after SIGINT");
    assert!(status.success(), "{backend}: oftsniff exit {status}: {err}");
    assert!(!err.contains("panicked"), "{backend}: {err}");

    let (_, stats) = read_events(&net.json);
    eprintln!("[{backend}] stats after the stop: {stats}");
    let dropped = stats["kernel_dropped"].as_u64().expect("kernel_dropped");
    assert!(
        dropped > 0,
        "{backend}: frames the kernel could not queue are counted: {stats}"
    );
    let line = format!("{dropped} frames dropped by kernel");
    assert!(
        err.lines().any(|l| l == line),
        "{backend}: the same count on stderr ({line}): {err}"
    );
    // What was captured plus what was dropped is what the kernel offered: more than the
    // few frames that fit the buffer.
    assert!(
        stats["frames_captured"].as_u64().unwrap() + dropped >= 100,
        "{backend}: {stats}"
    );
}

#[test]
fn ring_backend_counts_kernel_drops_while_oftsniff_is_stopped() {
    require_root_and_python!();
    kernel_drops_reach_the_stats_with("ring", &["--ring-block-kb", "4", "--ring-blocks", "2"]);
}

#[test]
fn pnet_backend_counts_kernel_drops_while_oftsniff_is_stopped() {
    require_root_and_python!();
    kernel_drops_reach_the_stats_with("pnet", &["--pnet-buffer-kb", "64"]);
}
