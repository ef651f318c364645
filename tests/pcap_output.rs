//! Issue 4 at the level of the oftsniff binary: `-w`, `--with-rendezvous`, `--pcap-dir`
//! and `--extract` on a real capture and on generated hostile ones; stopping by signal
//! and by `-c`.

mod common;

use common::*;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use oft_testkit::gen::{Dir, PcapBuilder, TcpConv};
use oftsniff::capture::{Frame, Timestamp};
use oftsniff::flow::Endpoint;
use oftsniff::proto::{Cookie, FileName, NameEncoding, OftChecksum, OftType};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SENDFILE: &str = "tests/data/gaim-sendfile-2005.pcap";
const CHAT: &str = "tests/data/gaim-chat-join-2005.pcap";

fn os<S: AsRef<OsStr> + ?Sized>(s: &S) -> &OsStr {
    s.as_ref()
}

/// Source, destination and TCP payload of an Ethernet/IPv4/TCP frame.
fn tcp(f: &Frame) -> Option<(SocketAddr, SocketAddr, Vec<u8>)> {
    let p = SlicedPacket::from_ethernet(&f.data).ok()?;
    let (src, dst) = match p.net? {
        NetSlice::Ipv4(ip) => (
            IpAddr::V4(ip.header().source_addr()),
            IpAddr::V4(ip.header().destination_addr()),
        ),
        _ => return None,
    };
    match p.transport? {
        TransportSlice::Tcp(t) => Some((
            SocketAddr::new(src, t.source_port()),
            SocketAddr::new(dst, t.destination_port()),
            t.payload().to_vec(),
        )),
        _ => None,
    }
}

/// A frame as it must reappear in the output: timestamp, original length and bytes.
type Ident = (u64, u32, Vec<u8>);

fn ident(f: &Frame) -> Ident {
    (f.ts.0, f.orig_len, f.data.to_vec())
}

fn idents(frames: &[Frame]) -> Vec<Ident> {
    let mut v: Vec<Ident> = frames.iter().map(ident).collect();
    v.sort();
    v
}

/// The input frames of the connection that carries OFT2 headers (both directions, SYN to
/// last RST/FIN) and the transfer's cookie, read from the receiver's ACK header.
fn oft_connection(input: &[Frame]) -> (Vec<Frame>, Cookie) {
    let first = input
        .iter()
        .filter_map(tcp)
        .find(|(_, _, p)| p.starts_with(b"OFT2"))
        .expect("the capture holds an OFT2 header");
    let ends: BTreeSet<SocketAddr> = [first.0, first.1].into();
    let conn: Vec<Frame> = input
        .iter()
        .filter(|f| {
            tcp(f).is_some_and(|(s, d, _)| ends.contains(&s) && ends.contains(&d) && s != d)
        })
        .cloned()
        .collect();
    let ack = conn
        .iter()
        .filter_map(tcp)
        .map(|(_, _, p)| p)
        .find(|p| p.starts_with(b"OFT2") && u16::from_be_bytes([p[6], p[7]]) == OftType::Ack.code())
        .expect("the receiver's ACK");
    (conn, Cookie::from_slice(&ack[8..16]).unwrap())
}

fn run_sendfile(d: &TempDir, extra: &[&str]) -> (PathBuf, Vec<serde_json::Value>) {
    let out = d.join("out.pcap");
    let json = d.join("events.json");
    let mut args = vec![
        os("-r"),
        os(SENDFILE),
        os("-q"),
        os("--json"),
        json.as_os_str(),
    ];
    args.extend([os("-w"), out.as_os_str()]);
    args.extend(extra.iter().map(os));
    run_ok(&args);
    (out, events(&json))
}

#[test]
fn w_writes_exactly_the_oft_connection_from_its_syn_and_no_flap() {
    let d = TempDir::new("w-exact");
    let input = read_frames(Path::new(SENDFILE));
    let (conn, _) = oft_connection(&input);
    assert!(
        conn.iter().filter_map(tcp).any(|(_, _, p)| p.is_empty())
            && conn[0].data[47] & 0x12 == 0x02,
        "the OFT connection of the input starts with its SYN"
    );
    let (out, _) = run_sendfile(&d, &[]);
    let written = read_frames(&out);
    assert_eq!(idents(&written), idents(&conn));
    // Capture order within the one connection.
    let ts: Vec<Timestamp> = written.iter().map(|f| f.ts).collect();
    assert!(
        ts.windows(2).all(|w| w[0] <= w[1]),
        "timestamps out of order"
    );
    assert_eq!(ident(&written[0]), ident(&conn[0]), "the SYN comes first");
    assert!(
        written
            .iter()
            .filter_map(tcp)
            .all(|(s, d, _)| s.port() != 4834 || d.port() != 5190),
        "no FLAP frame without --with-rendezvous"
    );
    assert_eq!(tshark_reads_clean(&out).unwrap_or(conn.len()), conn.len());
}

#[test]
fn with_rendezvous_adds_exactly_the_flap_frames_carrying_the_cookie() {
    let d = TempDir::new("w-rv");
    let input = read_frames(Path::new(SENDFILE));
    let (conn, cookie) = oft_connection(&input);
    let conn_ids = idents(&conn);
    // FLAP frames holding a channel-2 ICBM (SNAC 4/6 outgoing, 4/7 incoming) with the
    // transfer's cookie: the PROPOSE and the ACCEPT. (The server's 4/0C host ack names the
    // cookie too, but carries no rendezvous.)
    let rv: Vec<Frame> = input
        .iter()
        .filter(|f| !conn_ids.contains(&ident(f)))
        .filter(|f| {
            tcp(f).is_some_and(|(_, _, p)| {
                p.len() > 26
                    && p[0] == 0x2a
                    && p[6..8] == [0, 4]
                    && (p[8..10] == [0, 6] || p[8..10] == [0, 7])
                    && p[16..24] == cookie.0
                    && p[24..26] == [0, 2]
            })
        })
        .cloned()
        .collect();
    assert_eq!(
        rv.iter().map(|f| f.no.0).collect::<Vec<_>>(),
        [1, 12],
        "frames 1 and 12 of the input carry the PROPOSE and the ACCEPT"
    );
    let (out, evs) = run_sendfile(&d, &["--with-rendezvous"]);
    let written = read_frames(&out);
    let mut want = conn.clone();
    want.extend(rv);
    assert_eq!(idents(&written), idents(&want));
    let ts: Vec<Timestamp> = written.iter().map(|f| f.ts).collect();
    assert!(
        ts.windows(2).all(|w| w[0] <= w[1]),
        "FLAP and OFT frames merged in timestamp order"
    );
    let kinds: Vec<&str> = of_kind(&evs, "rendezvous")
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["propose", "accept"]);
    assert_eq!(tshark_reads_clean(&out).unwrap_or(want.len()), want.len());
}

#[test]
fn extract_carves_the_gaim_file_whole_and_the_event_names_its_path() {
    let d = TempDir::new("extract");
    let x = d.join("files");
    let (_, evs) = run_sendfile(&d, &["--extract", x.to_str().unwrap()]);
    let f = x.join("howdoisentfile.txt");
    let body = std::fs::read(&f).expect("howdoisentfile.txt carved");
    assert_eq!(body.len(), 44);
    assert_eq!(OftChecksum::of(&body), 0xEFCB_0000);
    let files = of_kind(&evs, "file");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["checksum_ok"], true);
    assert_eq!(
        Path::new(files[0]["path"].as_str().expect("file event has a path")),
        f
    );
    // Nothing else in the directory: no leftover .partial.
    assert_eq!(walk(&x), vec![f.canonicalize().unwrap()]);
}

#[test]
fn negative_capture_gives_a_header_only_pcap() {
    let d = TempDir::new("neg");
    let out = d.join("none.pcap");
    run_ok(&[os("-r"), os(CHAT), os("-q"), os("-w"), out.as_os_str()]);
    assert!(!read_frames(Path::new(CHAT)).is_empty());
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 24, "header only");
    assert!(read_frames(&out).is_empty());
    assert_eq!(tshark_reads_clean(&out).unwrap_or(0), 0);
}

#[test]
fn pcap_dir_gives_one_findable_file_per_transfer() {
    let d = TempDir::new("pcapdir");
    let per = d.join("per");
    let (out, _) = run_sendfile(&d, &["--pcap-dir", per.to_str().unwrap()]);
    let files = walk(&per);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    // Start time (UTC), both endpoints and the file name, so a person finds it by eye.
    for part in [
        "20051106T",
        "24.252.11.55-60792",
        "4.254.84.74-5190",
        "howdoisentfile.txt",
    ] {
        assert!(name.contains(part), "{name} lacks {part}");
    }
    assert!(name.ends_with(".pcap"), "{name}");
    assert_eq!(idents(&read_frames(&files[0])), idents(&read_frames(&out)));
    tshark_reads_clean(&files[0]);
}

/// Every regular file under `dir`, canonicalized.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            assert!(!t.is_symlink(), "symlink created: {}", e.path().display());
            if t.is_dir() {
                todo.push(e.path());
            } else {
                out.push(e.path().canonicalize().unwrap());
            }
        }
    }
    out.sort();
    out
}

// ---- generated transfers: hostile names, truncation, skip, resume ----

/// 2024-01-01T00:00:00Z, so generated captures are the same on every run.
const T0: Timestamp = Timestamp(1_704_067_200 * 1_000_000_000);

fn ep(last: u8, port: u16) -> Endpoint {
    // Test addresses from 198.18.0.0/15 only.
    Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 4, last)), port)
}

fn body(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// How the generated transfer goes after the PROMPT.
#[derive(Clone, Copy)]
enum Script {
    /// ACK, all data, DONE, FIN both ways.
    Whole,
    /// ACK, the first `n` bytes, then the sender resets the connection.
    RstAfter(usize),
    /// DONE straight after the PROMPT: the receiver declines the file.
    Skip,
    /// RESUME at `n`, RESUME_ACCEPT, RESUME_ACK, the bytes from `n`, DONE.
    ResumeAt(usize),
}

/// A direct OFT connection: the receiver (client) connects to the sender (server), which
/// prompts; the rest follows `script`. Data goes in 1000-byte segments.
fn direct_transfer(
    n: u8,
    start: Timestamp,
    name: FileName,
    data: &[u8],
    script: Script,
) -> TcpConv {
    let mut c = TcpConv::new(ep(100 + n, 40_000 + n as u16), ep(1, 5190), start).with_mss(1000);
    let cookie = Cookie([0x40, n, 1, 2, 3, 4, 5, 6]);
    let s2c = Dir::ServerToClient;
    let c2s = Dir::ClientToServer;
    c.handshake();
    let prompt = prompt_for(Cookie([0; 8]), name, data);
    c.send(s2c, &prompt.emit());
    let sum = OftChecksum::of(data);
    match script {
        Script::Whole => {
            c.send(c2s, &prompt.ack(cookie).emit());
            c.send(s2c, data);
            c.send(
                c2s,
                &prompt.done(cookie, data.len() as u32, sum, true).emit(),
            );
            c.close();
        }
        Script::RstAfter(k) => {
            c.send(c2s, &prompt.ack(cookie).emit());
            c.send(s2c, &data[..k]);
            c.rst(s2c);
        }
        Script::Skip => {
            c.send(c2s, &prompt.done(cookie, 0, 0xFFFF_0000, true).emit());
            c.close();
        }
        Script::ResumeAt(k) => {
            let prefix = OftChecksum::of(&data[..k]);
            c.send(c2s, &prompt.resume(cookie, k as u32, prefix).emit());
            let accept = with_offset(&prompt, OftType::ResumeAccept, cookie, k as u32);
            c.send(s2c, &accept.emit());
            c.send(
                c2s,
                &with_offset(&prompt, OftType::ResumeAck, cookie, k as u32).emit(),
            );
            c.send(s2c, &data[k..]);
            c.send(
                c2s,
                &prompt.done(cookie, data.len() as u32, sum, true).emit(),
            );
            c.close();
        }
    }
    c
}

fn write_pcap(path: &Path, convs: &[TcpConv]) {
    let mut b = PcapBuilder::new();
    for c in convs {
        b.add_conv(c);
    }
    b.write_file(path).unwrap();
}

/// Runs `--extract DIR` (DIR nested two levels inside the scratch dir, the working
/// directory a sibling of it; oftsniff creates DIR, its parent must exist) and returns DIR
/// and the events.
fn extract(d: &TempDir, convs: &[TcpConv]) -> (PathBuf, Vec<serde_json::Value>) {
    let pcap = d.join("in.pcap");
    write_pcap(&pcap, convs);
    let x = d.join("a/b/extract");
    std::fs::create_dir_all(x.parent().unwrap()).unwrap();
    let cwd = d.join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let json = d.join("events.json");
    let out = oftsniff()
        .current_dir(&cwd)
        .args([
            os("-r"),
            pcap.as_os_str(),
            os("-q"),
            os("--json"),
            json.as_os_str(),
        ])
        .args([os("--extract"), x.as_os_str()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (x, events(&json))
}

fn name_bytes(s: &str) -> FileName {
    FileName::utf8(s)
}

#[test]
fn hostile_names_are_carved_inside_the_directory_and_nowhere_else() {
    let d = TempDir::new("hostile");
    let abs_marker = format!("/oftsniff-abs-{}", std::process::id());
    // UTF-16BE with a lone high surrogate, a lone low surrogate and a '/' between them.
    let mut surrogates = Vec::new();
    for u in [0xD800u16, 0x002F, 0xDC00, 0x0041, 0x002E, 0x002E] {
        surrogates.extend_from_slice(&u.to_be_bytes());
    }
    let names: Vec<FileName> = vec![
        name_bytes("../../etc/passwd"),
        name_bytes(&abs_marker),
        FileName::from_components(&["a", "..", "b"]),
        name_bytes(&"n".repeat(300)),
        FileName {
            encoding: NameEncoding::Utf16Be,
            raw: surrogates,
        },
        name_bytes("CON"),
        name_bytes("..\u{1}..\u{1}..\u{1}escape"),
        name_bytes("nul.txt"),
        name_bytes(""),
    ];
    let passwd_before = std::fs::metadata("/etc/passwd")
        .and_then(|m| m.modified())
        .ok();
    let convs: Vec<TcpConv> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let start = Timestamp(T0.0 + i as u64 * 1_000_000_000);
            direct_transfer(
                i as u8,
                start,
                n.clone(),
                &body(3000, i as u8),
                Script::Whole,
            )
        })
        .collect();
    let (x, evs) = extract(&d, &convs);

    let root = x.canonicalize().unwrap();
    let written = walk(&x);
    for f in &written {
        eprintln!("carved: {}", f.strip_prefix(&root).unwrap().display());
    }
    assert_eq!(
        written.len(),
        names.len(),
        "one file per transfer: {written:?}"
    );
    for f in &written {
        assert!(
            f.starts_with(&root),
            "{} escaped {}",
            f.display(),
            root.display()
        );
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            !name.ends_with(".partial"),
            "whole file marked partial: {name}"
        );
        assert!(name.len() <= 255, "component too long: {name}");
        assert!(
            !name.chars().any(|c| c.is_control()),
            "control char in {name:?}"
        );
        assert!(
            !["con", "nul", "nul.txt"].contains(&name.to_ascii_lowercase().as_str()),
            "Windows device name kept: {name}"
        );
    }
    // Each file event names a file inside DIR holding exactly that transfer's bytes.
    let files = of_kind(&evs, "file");
    assert_eq!(files.len(), names.len());
    let mut seen = BTreeSet::new();
    for ev in &files {
        let p = PathBuf::from(ev["path"].as_str().expect("file event has a path"));
        let p = p.canonicalize().unwrap();
        assert!(p.starts_with(&root), "{}", p.display());
        let got = std::fs::read(&p).unwrap();
        assert!((0..names.len()).any(|i| got == body(3000, i as u8)));
        assert!(seen.insert(p));
    }
    // Nothing outside DIR: the scratch dir holds only the input, the events, the empty
    // working directory and DIR's parents.
    let mut outside: Vec<String> = walk(d.path())
        .into_iter()
        .filter(|p| !p.starts_with(&root))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    outside.sort();
    assert_eq!(outside, ["events.json", "in.pcap"]);
    assert!(std::fs::read_dir(d.join("cwd")).unwrap().next().is_none());
    assert!(!Path::new(&abs_marker).exists(), "{abs_marker} created");
    assert_eq!(
        std::fs::metadata("/etc/passwd")
            .and_then(|m| m.modified())
            .ok(),
        passwd_before
    );
}

#[test]
fn transfer_reset_mid_data_is_carved_partial_with_its_missing_range() {
    let d = TempDir::new("rst");
    let data = body(10_000, 7);
    let c = direct_transfer(1, T0, name_bytes("cut.bin"), &data, Script::RstAfter(4000));
    let (x, evs) = extract(&d, &[c]);
    let files = walk(&x);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with(".partial"), "{name}");
    assert!(name.starts_with("cut.bin"), "{name}");
    let got = std::fs::read(&files[0]).unwrap();
    assert_eq!(&got[..4000], &data[..4000]);
    assert!(got[4000..].iter().all(|&b| b == 0), "hole is zero-filled");
    let ev = of_kind(&evs, "file");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["status"], "truncated");
    assert_eq!(ev[0]["missing"], serde_json::json!([[4000, 10000]]));
    assert_eq!(
        Path::new(ev[0]["path"].as_str().unwrap())
            .canonicalize()
            .unwrap(),
        files[0]
    );
}

#[test]
fn skipped_file_writes_nothing() {
    let d = TempDir::new("skip");
    let c = direct_transfer(
        2,
        T0,
        name_bytes("declined.bin"),
        &body(5000, 3),
        Script::Skip,
    );
    let (x, evs) = extract(&d, &[c]);
    assert_eq!(walk(&x), Vec::<PathBuf>::new());
    let ev = of_kind(&evs, "file");
    assert_eq!(ev.len(), 1, "{evs:?}");
    assert_eq!(ev[0]["status"], "skipped");
    assert!(ev[0]["path"].is_null());
}

#[test]
fn resumed_transfer_writes_its_bytes_at_the_resume_offset() {
    let d = TempDir::new("resume");
    let data = body(9000, 11);
    let c = direct_transfer(
        3,
        T0,
        name_bytes("resumed.bin"),
        &data,
        Script::ResumeAt(2500),
    );
    let (x, evs) = extract(&d, &[c]);
    let files = walk(&x);
    assert_eq!(files.len(), 1, "{files:?}");
    let got = std::fs::read(&files[0]).unwrap();
    assert_eq!(got.len(), data.len());
    assert_eq!(
        &got[2500..],
        &data[2500..],
        "new bytes at the resume offset"
    );
    assert!(
        got[..2500].iter().all(|&b| b == 0),
        "the unseen prefix is a hole"
    );
    // The prefix was never seen here, so the file is partial and says so.
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with(".partial"), "{name}");
    let ev = of_kind(&evs, "file");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["offset"], 2500);
    assert_eq!(ev[0]["missing"], serde_json::json!([[0, 2500]]));
}

// ---- stopping: signals and -c ----

/// A capture of many concurrent OFT transfers (every frame belongs to one), in memory.
fn oft_capture(transfers: usize, file_bytes: u64) -> (Vec<u8>, u64) {
    let spec = oft_testkit::gen::workloads::OftTransfers {
        transfers,
        concurrent: 8,
        file_bytes,
        pickup_percent: 0,
        seed: 4,
    };
    let mut buf = Vec::new();
    let s = oft_testkit::gen::workloads::oft_transfers(&spec, &mut buf).unwrap();
    (buf, s.frames)
}

/// "N frames captured" from the counters on stderr.
fn frames_captured(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.strip_suffix(" frames captured"))
        .unwrap_or_else(|| panic!("no counters on stderr: {stderr}"))
        .parse()
        .unwrap()
}

/// Feeds the capture through a FIFO: the first 60 % go in, oftsniff is seen writing
/// pcap output, then `signal` arrives while the rest is still to come (so the run cannot
/// end by reaching the end of the input first).
fn stop_mid_run_with(signal: &str, tag: &str) {
    let d = TempDir::new(tag);
    let (pcap, total) = oft_capture(60, 150_000);
    let fifo = d.join("in.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = d.join("out.pcap");
    let mut child = oftsniff()
        .args([
            os("-r"),
            fifo.as_os_str(),
            os("-q"),
            os("-w"),
            out.as_os_str(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let cut = pcap.len() * 6 / 10;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        f.write_all(&pcap[..cut]).unwrap();
        let _ = rx.recv();
        // oftsniff stops reading once it has seen the signal: a broken pipe is expected.
        for chunk in pcap[cut..].chunks(64 << 10) {
            if f.write_all(chunk).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    // Frames reach the file within the writer's flush interval (1 s).
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(&out).map_or(0, |m| m.len()) <= 24 {
        assert!(Instant::now() < deadline, "no pcap output after 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(sent.success());
    tx.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("oftsniff did not stop within 20 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    feeder.join().unwrap();
    assert!(status.success(), "exit {status:?}: {stderr}");
    let captured = frames_captured(&stderr);
    assert!(
        captured < total,
        "stopped early: {captured} of {total} frames"
    );
    assert!(stderr.contains("frames written to pcap"), "{stderr}");
    // Every record whole, and every frame captured is in the file (all belong to transfers
    // whose connections were recognized at their PROMPT).
    let written = read_frames(&out);
    assert!(!written.is_empty());
    assert!(written.len() as u64 <= captured);
    tshark_reads_clean(&out);
}

#[test]
fn sigint_mid_run_leaves_a_whole_pcap_and_exits_zero_with_counters() {
    stop_mid_run_with("INT", "sigint");
}

#[test]
fn sigterm_mid_run_leaves_a_whole_pcap_and_exits_zero_with_counters() {
    stop_mid_run_with("TERM", "sigterm");
}

#[test]
fn count_stops_after_n_frames_and_leaves_a_valid_pcap() {
    let d = TempDir::new("count");
    let (pcap, total) = oft_capture(10, 50_000);
    let input = d.join("in.pcap");
    std::fs::write(&input, &pcap).unwrap();
    let out = d.join("out.pcap");
    let n = total / 2;
    let o = run_ok(&[
        os("-r"),
        input.as_os_str(),
        os("-q"),
        os("-c"),
        os(&n.to_string()),
        os("-w"),
        out.as_os_str(),
    ]);
    assert_eq!(frames_captured(&String::from_utf8_lossy(&o.stderr)), n);
    let first: Vec<Ident> = idents(&read_frames(&input)[..n as usize]);
    let written = idents(&read_frames(&out));
    assert!(!written.is_empty());
    assert!(
        written.iter().all(|f| first.binary_search(f).is_ok()),
        "only frames among the first {n}"
    );
    tshark_reads_clean(&out);
}

// ---- --pcap-dir naming when the rendezvous comes long before the connection ----

fn pcap_dir_run(d: &TempDir, frames: Vec<Frame>, convs: &[TcpConv]) -> Vec<PathBuf> {
    let input = d.join("mix.pcap");
    let mut b = PcapBuilder::new();
    b.add_frames(frames);
    for c in convs {
        b.add_conv(c);
    }
    b.write_file(&input).unwrap();
    let per = d.join("per");
    run_ok(&[
        os("-r"),
        input.as_os_str(),
        os("-q"),
        os("--with-rendezvous"),
        os("--pcap-dir"),
        per.as_os_str(),
    ]);
    walk(&per)
}

#[test]
fn pcap_dir_names_a_transfer_by_its_connection_even_when_other_traffic_runs_between() {
    let d = TempDir::new("rv-late");
    let gaim = read_frames(Path::new(SENDFILE));
    // Another transfer 2 s after the PROPOSE: its frames move the writer's reorder window
    // past the PROPOSE long before the Gaim data connection is recognized.
    let other = direct_transfer(
        9,
        Timestamp(gaim[0].ts.0 + 2_000_000_000),
        name_bytes("other.bin"),
        &body(20_000, 9),
        Script::Whole,
    );
    let files = pcap_dir_run(&d, gaim.clone(), &[other]);
    assert_eq!(files.len(), 2, "{files:?}");
    let gaim_file = files
        .iter()
        .find(|f| f.to_string_lossy().contains("howdoisentfile.txt"))
        .unwrap_or_else(|| panic!("no file named after the Gaim transfer: {files:?}"));
    let name = gaim_file.file_name().unwrap().to_string_lossy();
    assert!(
        name.contains("24.252.11.55-60792") && name.contains("4.254.84.74-5190"),
        "{name}"
    );
    let (conn, _) = oft_connection(&gaim);
    assert_eq!(
        read_frames(gaim_file).len(),
        conn.len() + 2,
        "the OFT connection and the PROPOSE and ACCEPT frames"
    );
    tshark_reads_clean(gaim_file);
    // A transfer whose rendezvous was not seen is named after its PROMPT's file.
    assert!(
        files.iter().any(|f| {
            let n = f.file_name().unwrap().to_string_lossy();
            n.contains("198.18.4.109-40009") && n.ends_with("_other.bin.pcap")
        }),
        "{files:?}"
    );
}

#[test]
fn pcap_dir_names_a_rendezvous_only_transfer_by_its_flap_connection() {
    let d = TempDir::new("rv-only");
    // The Gaim capture up to (not including) the data connection's SYN: a PROPOSE only.
    let gaim = read_frames(Path::new(SENDFILE));
    let (conn, _) = oft_connection(&gaim);
    let before: Vec<Frame> = gaim.into_iter().filter(|f| f.ts < conn[0].ts).collect();
    let files = pcap_dir_run(&d, before, &[]);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy();
    assert!(
        name.contains("4.254.84.74-4834")
            && name.contains("64.12.24.152-5190")
            && name.contains("howdoisentfile.txt"),
        "{name}"
    );
    assert_eq!(read_frames(&files[0]).len(), 1, "the PROPOSE frame");
}
