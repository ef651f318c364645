//! Live: an OFT transfer over real TCP between two network namespaces joined by a veth
//! pair, oftsniff capturing on one end with `-w` and `--extract`, stopped by SIGINT in the
//! middle of the file. The pcap must read cleanly and the file must be marked partial.
//!
//! Needs root; skipped with a loud message otherwise. Addresses are from 198.18.0.0/15,
//! names are unique per run, and everything is removed on drop, even after a panic.

mod common;

use common::*;
use oftsniff::proto::{Cookie, FileName, OftType};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SENDER: Ipv4Addr = Ipv4Addr::new(198, 18, 7, 1);
const RECEIVER: Ipv4Addr = Ipv4Addr::new(198, 18, 7, 2);
const PORT: u16 = 5190;
const FILE_BYTES: usize = 400_000;
const CHUNK: usize = 4_000;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

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

/// Two namespaces, `a` (the sender, SENDER/24 on `veth_a`) and `b` (the receiver,
/// RECEIVER/24), joined by a veth pair. Dropping it deletes both namespaces and the pair.
struct Pair {
    a: String,
    b: String,
    veth_a: String,
}

impl Pair {
    fn new() -> Pair {
        let pid = std::process::id();
        let p = Pair {
            a: format!("oftlive-{pid}-a"),
            b: format!("oftlive-{pid}-b"),
            veth_a: format!("olv{pid}a"),
        };
        let veth_b = format!("olv{pid}b");
        sh(&["ip", "netns", "add", &p.a]);
        sh(&["ip", "netns", "add", &p.b]);
        sh(&[
            "ip", "-n", &p.a, "link", "add", &p.veth_a, "type", "veth", "peer", "name", &veth_b,
            "netns", &p.b,
        ]);
        for (ns, dev, ip) in [(&p.a, &p.veth_a, SENDER), (&p.b, &veth_b, RECEIVER)] {
            let _ = Command::new("ip")
                .args(["netns", "exec", ns, "sysctl", "-qw"])
                .arg("net.ipv6.conf.all.disable_ipv6=1")
                .output();
            sh(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{ip}/24"),
                "dev",
                dev,
            ]);
            sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        p
    }

    /// Runs `f` on a thread that has entered namespace `ns`; sockets it makes live there.
    fn in_ns<T: Send + 'static>(
        ns: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/run/netns/{ns}");
        std::thread::spawn(move || {
            let fd = std::fs::File::open(&path).unwrap();
            // SAFETY: setns on a namespace file we hold open; it only changes this thread's
            // network namespace.
            assert_eq!(
                unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) },
                0
            );
            f()
        })
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Reads one OFT header (its length is at offset 4).
fn read_header(s: &mut TcpStream) -> Vec<u8> {
    let mut h = vec![0u8; 6];
    s.read_exact(&mut h).unwrap();
    let len = u16::from_be_bytes([h[4], h[5]]) as usize;
    h.resize(len, 0);
    s.read_exact(&mut h[6..]).unwrap();
    h
}

#[test]
fn sigint_mid_transfer_leaves_a_clean_pcap_and_a_partial_file() {
    if !is_root() {
        eprintln!(
            "\n*** SKIPPED live_transfer: needs root (network namespaces, packet sockets). \
             Run `sudo cargo test --test live_transfer`. ***\n"
        );
        return;
    }
    let pair = Pair::new();
    let d = TempDir::new("live");
    let out = d.join("live.pcap");
    let x = d.join("files");
    let json = d.join("events.json");
    let data: Vec<u8> = (0..FILE_BYTES).map(|i| (i * 7 % 251) as u8).collect();

    // oftsniff inside the sender's namespace, on its veth end (`ip netns exec` execs it,
    // so the child's pid is oftsniff's).
    let mut sniff = Command::new("ip")
        .args(["netns", "exec", &pair.a])
        .arg(env!("CARGO_BIN_EXE_oftsniff"))
        .args(["-i", &pair.veth_a, "-q", "--workers", "1"])
        .arg("-w")
        .arg(&out)
        .arg("--extract")
        .arg(&x)
        .arg("--json")
        .arg(&json)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The output file exists once oftsniff is set up (it opens outputs before capturing);
    // give the capture socket a moment after that.
    let t = Instant::now();
    while !out.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "oftsniff did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));

    let listening = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let sender = {
        let (listening, stop, data) = (listening.clone(), stop.clone(), data.clone());
        Pair::in_ns(&pair.a, move || {
            let l = TcpListener::bind(SocketAddrV4::new(SENDER, PORT)).unwrap();
            listening.store(true, Ordering::SeqCst);
            let (mut s, _) = l.accept().unwrap();
            let prompt = prompt_for(Cookie([0; 8]), FileName::utf8("live.bin"), &data);
            s.write_all(&prompt.emit()).unwrap();
            let ack = read_header(&mut s);
            assert_eq!(u16::from_be_bytes([ack[6], ack[7]]), OftType::Ack.code());
            // Slowly, so the signal lands in the middle of the file.
            for chunk in data.chunks(CHUNK) {
                if stop.load(Ordering::SeqCst) || s.write_all(chunk).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let t = Instant::now();
    while !listening.load(Ordering::SeqCst) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "sender did not listen"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let receiver = {
        let (stop, received) = (stop.clone(), received.clone());
        Pair::in_ns(&pair.b, move || {
            let mut s = TcpStream::connect(SocketAddrV4::new(SENDER, PORT)).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let prompt = read_header(&mut s);
            let h = oftsniff::proto::parse_oft_header(&prompt).unwrap().0;
            s.write_all(&h.ack(Cookie([9, 8, 7, 6, 5, 4, 3, 2])).emit())
                .unwrap();
            let mut buf = vec![0u8; 64 << 10];
            while !stop.load(Ordering::SeqCst) {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        received.fetch_add(n as u64, Ordering::SeqCst);
                    }
                    Err(_) => {}
                }
            }
        })
    };
    let t = Instant::now();
    while received.load(Ordering::SeqCst) < (FILE_BYTES / 4) as u64 {
        assert!(t.elapsed() < Duration::from_secs(20), "transfer stalled");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill sends SIGINT to the oftsniff we spawned.
    assert_eq!(unsafe { libc::kill(sniff.id() as i32, libc::SIGINT) }, 0);
    let t = Instant::now();
    let status = loop {
        if let Some(s) = sniff.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = sniff.kill();
            panic!("oftsniff did not stop within 20 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let at_signal = received.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    sender.join().unwrap();
    receiver.join().unwrap();
    let mut err = String::new();
    sniff
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "oftsniff exit {status:?}: {err}");
    assert!(err.contains("frames captured"), "{err}");
    assert!(
        (at_signal as usize) < FILE_BYTES,
        "the signal came after the whole file"
    );

    // The pcap: whole records, the connection from its SYN, tshark reads it cleanly.
    let frames = read_frames(&out);
    assert!(frames.len() > 10, "{} frames written", frames.len());
    assert_eq!(
        frames[0].data.get(47).map(|f| f & 0x12),
        Some(0x02),
        "starts at the SYN"
    );
    tshark_reads_clean(&out);

    // The file: cut short by the stop, so marked partial.
    let carved: Vec<_> = std::fs::read_dir(&x)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(carved.len(), 1, "{carved:?}");
    let name = carved[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("live.bin") && name.ends_with(".partial"),
        "{name}"
    );
    let got = std::fs::read(&carved[0]).unwrap();
    let have = got.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    assert!(have > 0 && have < FILE_BYTES, "{have} bytes carved");
    assert_eq!(&got[..have], &data[..have]);
    let evs = events(&json);
    let files = of_kind(&evs, "file");
    assert_eq!(files.len(), 1, "{evs:?}");
    assert_ne!(files[0]["missing"], serde_json::json!([]));
    eprintln!(
        "live: {} frames written, {have} of {FILE_BYTES} bytes carved, missing {}",
        frames.len(),
        files[0]["missing"]
    );
}
