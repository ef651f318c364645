//! Live, through the binary: `-s SNAPLEN` with both backends (frames longer than SNAPLEN
//! arrive cut to it, their original length intact) and `-i any` (cooked frames from
//! every interface, written as LINUX_SLL). An OFT transfer runs over real TCP between two
//! network namespaces joined by a veth pair; oftsniff captures inside the sender's.
//!
//! Needs root and python3; skipped loudly otherwise. Addresses are from 198.18.0.0/15,
//! names are unique per run, and everything is removed on drop, even after a panic.

mod common;

use common::netns::VethPair;
use common::*;
use oftsniff::proto::{Cookie, FileName};
use std::io::Read;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SENDER: Ipv4Addr = Ipv4Addr::new(198, 18, 9, 1);
const RECEIVER: Ipv4Addr = Ipv4Addr::new(198, 18, 9, 2);
const PORT: u16 = 5190;
const FILE_BYTES: usize = 60_000;

/// The two TCP peers (argv: role, address, port, dir). The sender sends `prompt.bin`,
/// reads the ACK header, then `data.bin`, and closes; the receiver reads the PROMPT,
/// answers with `ack.bin`, reads to the end and then creates `done`.
const PEERS_PY: &str = r#"
import os, socket, sys
role, addr, port, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
p = lambda n: os.path.join(d, n)
def header(s):
    h = b""
    while len(h) < 6:
        h += s.recv(6 - len(h))
    n = int.from_bytes(h[4:6], "big")
    while len(h) < n:
        h += s.recv(n - len(h))
    return h
if role == "send":
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, port)); l.listen(1)
    open(p("listening"), "w").close()
    s, _ = l.accept()
    s.sendall(open(p("prompt.bin"), "rb").read())
    header(s)
    s.sendall(open(p("data.bin"), "rb").read())
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
else:
    s = socket.create_connection((addr, port))
    header(s)
    s.sendall(open(p("ack.bin"), "rb").read())
    while s.recv(65536):
        pass
    s.close()
    open(p("done"), "w").close()
"#;

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Children killed when the test ends, also while it unwinds from a failed assertion.
struct Reap(Vec<Child>);
impl Drop for Reap {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn skip() -> bool {
    let python = Command::new("python3")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !common::netns::is_root() || !python {
        common::netns::record_skip("", "needs root (or python3)");
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr(),
            format_args!(
                "\n*** SKIPPED capture_flags_live: needs root (network namespaces, packet \
                 sockets) and python3. Run `sudo cargo test --test capture_flags_live`. ***\n"
            ),
        );
        return true;
    }
    false
}

fn peer(ns: &str, role: &str, dir: &Path) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", PEERS_PY, role])
        .arg(SENDER.to_string())
        .arg(PORT.to_string())
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < limit, "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What one capture left: its stderr, events and `-w` file.
struct Run {
    stderr: String,
    events: Vec<serde_json::Value>,
    pcap: PathBuf,
}

/// oftsniff with `args` in namespace `a` while one transfer of FILE_BYTES crosses the
/// veth; stopped by SIGINT once the receiver has everything.
fn capture_transfer(pair: &VethPair, d: &TempDir, tag: &str, args: &[&str]) -> Run {
    let pcap = d.join(&format!("{tag}.pcap"));
    let json = d.join(&format!("{tag}.json"));
    let mut sniff = Command::new("ip")
        .args(["netns", "exec", &pair.a])
        .arg(env!("CARGO_BIN_EXE_oftsniff"))
        .args(["-q", "--workers", "1"])
        .args(args)
        .arg("-w")
        .arg(&pcap)
        .arg("--json")
        .arg(&json)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("oftsniff did not start", Duration::from_secs(10), || {
        pcap.exists()
    });
    std::thread::sleep(Duration::from_millis(300));

    let peers_dir = d.join(&format!("{tag}-peers"));
    std::fs::create_dir_all(&peers_dir).unwrap();
    let data: Vec<u8> = (0..FILE_BYTES).map(|i| (i * 7 % 251) as u8).collect();
    let prompt = prompt_for(Cookie([0; 8]), FileName::utf8("snap.bin"), &data);
    std::fs::write(peers_dir.join("prompt.bin"), prompt.emit()).unwrap();
    let ack = prompt.ack(Cookie([9, 8, 7, 6, 5, 4, 3, 2])).emit();
    std::fs::write(peers_dir.join("ack.bin"), ack).unwrap();
    std::fs::write(peers_dir.join("data.bin"), &data).unwrap();
    let mut peers = Reap(vec![peer(&pair.a, "send", &peers_dir)]);
    wait_for("sender did not listen", Duration::from_secs(10), || {
        peers_dir.join("listening").exists()
    });
    peers.0.push(peer(&pair.b, "recv", &peers_dir));
    wait_for("transfer did not finish", Duration::from_secs(20), || {
        peers_dir.join("done").exists()
    });
    std::thread::sleep(Duration::from_millis(300));
    let pid = sniff.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let mut stderr = String::new();
    let status = loop {
        if let Some(s) = sniff.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    sniff
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "oftsniff {args:?}: {status:?}: {stderr}");
    Run {
        stderr,
        events: events(&json),
        pcap,
    }
}

/// The link type and snapshot length in a pcap's global header.
fn header(p: &Path) -> (u32, u32) {
    let b = std::fs::read(p).unwrap();
    let word = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    (word(20), word(16))
}

#[test]
fn live_snaplen_cuts_frames_with_both_backends() {
    if skip() {
        return;
    }
    let pair = VethPair::new("oftsnap", SENDER, RECEIVER);
    let d = TempDir::new("snap-live");
    const SNAP: usize = 14 + 20 + 32 + 400;
    // With a capture filter too: the kernel cuts frames to what it returns.
    for (backend, filter) in [("ring", ""), ("pnet", ""), ("ring", "tcp"), ("pnet", "tcp")] {
        let snap = SNAP.to_string();
        let mut args = vec!["-i", &pair.veth_a, "--backend", backend, "-s", &snap];
        args.extend(filter.split_whitespace());
        let backend = &format!("{backend}{filter}");
        let run = capture_transfer(&pair, &d, backend, &args);
        let opening = format!(
            "listening on {}, link-type EN10MB (Ethernet), snapshot length {SNAP} bytes",
            pair.veth_a
        );
        assert_eq!(
            run.stderr.lines().next(),
            Some(opening.as_str()),
            "{backend}"
        );
        assert_eq!(header(&run.pcap), (1, SNAP as u32), "{backend}");
        let frames = read_frames(&run.pcap);
        assert!(frames.len() > 5, "{backend}: {} frames", frames.len());
        assert!(
            frames.iter().all(|f| f.data.len() <= SNAP),
            "{backend}: a frame longer than -s"
        );
        let cut = frames
            .iter()
            .filter(|f| f.data.len() == SNAP && f.orig_len as usize > SNAP)
            .count();
        assert!(
            cut > 0,
            "{backend}: no frame cut to SNAPLEN with its length kept"
        );
        tshark_reads_clean(&run.pcap);
        let stats = of_kind(&run.events, "stats")[0];
        assert!(
            stats["snaplen_truncated"].as_u64().unwrap() > 0,
            "{backend}: {stats}"
        );
        let files = of_kind(&run.events, "file");
        assert_eq!(files.len(), 1, "{backend}: {:?}", run.events);
        assert_ne!(files[0]["missing"], serde_json::json!([]), "{backend}");
    }
}

#[test]
fn live_any_captures_cooked_frames_of_every_interface() {
    if skip() {
        return;
    }
    let pair = VethPair::new("oftsnap", SENDER, RECEIVER);
    // A second interface in the capturing namespace, idle.
    let pid = std::process::id();
    let (x, y) = (format!("osx{pid}a"), format!("osx{pid}b"));
    sh(&[
        "ip", "-n", &pair.a, "link", "add", &x, "type", "veth", "peer", "name", &y,
    ]);
    sh(&["ip", "-n", &pair.a, "link", "set", &x, "up"]);
    sh(&["ip", "-n", &pair.a, "link", "set", &y, "up"]);
    let d = TempDir::new("any-live");
    let run = capture_transfer(&pair, &d, "any", &["-i", "any"]);
    assert_eq!(
        run.stderr.lines().next(),
        Some(
            "listening on any, link-type LINUX_SLL (Linux cooked v1), snapshot length 262144 bytes"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        of_kind(&run.events, "transfer").len(),
        1,
        "{:?}",
        run.events
    );
    let files = of_kind(&run.events, "file");
    assert_eq!(files.len(), 1, "{:?}", run.events);
    assert_eq!(files[0]["bytes"], FILE_BYTES as u64, "{}", files[0]);
    assert_eq!(header(&run.pcap), (113, 262_144));
    let frames = read_frames(&run.pcap);
    assert!(frames.len() > 5, "{} frames", frames.len());
    // Cooked: 16 bytes of SLL header, then IPv4 (protocol 0x0800 at bytes 14..16).
    assert!(frames.iter().all(|f| f.data[14..16] == [0x08, 0x00]));
    if let Some(n) = tshark_reads_clean(&run.pcap) {
        assert_eq!(n, frames.len());
    }
}
