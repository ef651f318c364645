//! oftsniff live on the namespace LAN of `scripts/testbed.sh`, end to end (root only; skipped
//! with a loud message otherwise; CI runs as root).
//!
//! `live_lan_ring` / `live_lan_pnet`: one bed each (they run side by side), `oftpeer bos` and
//! `oftpeer proxy` on their hosts, `oftsniff -i <monitor> --json -w --extract` live with one
//! backend, and `tcpdump` on the same monitor port as the oracle. Seven transfers run one after
//! another (direct 20 MB, proxy stage 1, proxy stage 2, proxied skip, resume, a folder of three
//! files, a reset halfway), then oftsniff is stopped with SIGINT and its events, carved files
//! and pcap are checked against what the peers sent and what tcpdump saw.
//!
//! `replayed_captures_match_offline_events`: each capture of tests/data is replayed with
//! `tcpreplay` onto a veth while oftsniff listens on its peer; the live events must equal those
//! of `oftsniff -r` on the same file, apart from times and frame numbers.
//!
//! Every namespace, process and scratch file is removed by guards, also when a test fails.

#[path = "common/bins.rs"]
mod bins;
#[path = "common/netns.rs"]
mod netns;

use bins::oftpeer;
use netns::{skip_unless_root, stop, wait_for_capturers, Lan, NsChild};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use oftsniff::capture::{Batch, OfflineSource};

const OFTSNIFF: &str = env!("CARGO_BIN_EXE_oftsniff");
/// Time for the last frames of a run to reach both capturers before they are stopped: the
/// capture loops stop on SIGINT without draining what the kernel still holds, and tcpdump
/// (libpcap's TPACKET_V3 ring) sees a partly filled block only after its 1 s timeout.
/// (`--immediate-mode` would avoid the wait but makes tcpdump drop frames at this rate.)
const SETTLE: Duration = Duration::from_millis(1300);

fn have_tool(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Skips (loudly) unless root, `ip` and every tool in `tools` are there.
fn skip(test: &str, tools: &[&str]) -> bool {
    if skip_unless_root(test) {
        return true;
    }
    for t in tools {
        if !have_tool(t) {
            eprintln!("\n************************************************************");
            eprintln!("** SKIPPED {test}: `{t}` is not installed (.ci/run installs it)");
            eprintln!("************************************************************\n");
            return true;
        }
    }
    false
}

fn read_events(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad NDJSON line {l}: {e}")))
        .collect()
}

fn sha_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string {key} in {v}"))
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no integer {key} in {v}"))
}

fn ip_of(endpoint: &str) -> Ipv4Addr {
    endpoint
        .parse::<SocketAddrV4>()
        .unwrap_or_else(|e| panic!("bad endpoint {endpoint}: {e}"))
        .ip()
        .to_owned()
}

/// A TCP connection regardless of direction.
type ConnKey = (SocketAddrV4, SocketAddrV4);

fn conn_key(a: SocketAddrV4, b: SocketAddrV4) -> ConnKey {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// `client_ip:port-server_ip:port` as written in `conn` and `legs`.
fn parse_conn(text: &str) -> ConnKey {
    let (a, b) = text
        .split_once('-')
        .unwrap_or_else(|| panic!("bad conn {text}"));
    conn_key(a.parse().unwrap(), b.parse().unwrap())
}

/// Every frame of a capture file, with its TCP/IPv4 source and destination (None otherwise).
fn frames_by_conn(path: &Path) -> Vec<(Option<ConnKey>, Vec<u8>)> {
    let mut src =
        OfflineSource::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut out = Vec::new();
    let mut batch: Batch = Vec::new();
    loop {
        batch.clear();
        let got = src.next_batch(&mut batch, 1024).expect("read capture");
        if got == 0 {
            break;
        }
        for f in batch.drain(..) {
            let key = match etherparse::SlicedPacket::from_ethernet(&f.data) {
                Ok(p) => match (p.net, p.transport) {
                    (
                        Some(etherparse::NetSlice::Ipv4(ip)),
                        Some(etherparse::TransportSlice::Tcp(tcp)),
                    ) => Some((
                        SocketAddrV4::new(ip.header().source_addr(), tcp.source_port()),
                        SocketAddrV4::new(ip.header().destination_addr(), tcp.destination_port()),
                    )),
                    _ => None,
                },
                Err(_) => None,
            };
            out.push((key, f.data.into_vec()));
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Complete,
    Skipped,
    Resumed { offset: usize },
    Truncated { at_most: usize },
}

struct SentFile {
    /// Name as the OFT header carries it (folder separators shown as `/`).
    name: String,
    data: Vec<u8>,
    status: Status,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Creator {
    Sender,
    Receiver,
}

/// One transfer of the run and what oftsniff must report about it.
struct Case {
    n: usize,
    what: &'static str,
    cookie: String,
    /// Who created the proxy session; None for a direct connection.
    proxy_creator: Option<Creator>,
    files: Vec<SentFile>,
    /// Phases of each leg between its setup (handshake, proxy negotiation) and `close`.
    oft_phases: Vec<&'static str>,
    close_reason: &'static str,
}

impl Case {
    fn sender_sn(&self) -> String {
        format!("alice{}", self.n)
    }
    fn receiver_sn(&self) -> String {
        format!("bob{}", self.n)
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const ONE_FILE: &[&str] = &["prompt", "ack", "data_start", "data_end", "done"];

/// Runs the seven transfers one after another; returns what each should have produced.
fn run_transfers(lan: &Lan) -> Vec<Case> {
    let proxy = lan.proxy();
    let mut cases = Vec::new();
    let cookie = |n: usize| format!("4c4956454c414e{n:02x}");
    let path = |p: &Path| p.to_str().unwrap().to_string();

    // 1. Direct, 20 MB.
    let (p, data) = lan.file("big.bin", 20_000_000);
    let (send, recv) = lan.transfer(1, &cookie(1), &[path(&p)], &[]);
    assert!(send.success() && recv.success(), "transfer 1 failed");
    cases.push(Case {
        n: 1,
        what: "direct 20 MB",
        cookie: cookie(1),
        proxy_creator: None,
        files: vec![SentFile {
            name: "big.bin".into(),
            data,
            status: Status::Complete,
        }],
        oft_phases: ONE_FILE.to_vec(),
        close_reason: "fin",
    });

    // 2. Proxied, the sender creates the session (stage 1).
    let (p, data) = lan.file("stage1.bin", 1_000_001);
    let (send, recv) = lan.transfer(
        2,
        &cookie(2),
        &strings(&["--proxy", &proxy, &path(&p)]),
        &[],
    );
    assert!(send.success() && recv.success(), "transfer 2 failed");
    cases.push(Case {
        n: 2,
        what: "proxy stage 1",
        cookie: cookie(2),
        proxy_creator: Some(Creator::Sender),
        files: vec![SentFile {
            name: "stage1.bin".into(),
            data,
            status: Status::Complete,
        }],
        oft_phases: ONE_FILE.to_vec(),
        close_reason: "fin",
    });

    // 3. Proxied, the receiver creates the session (stage 2).
    let (p, data) = lan.file("stage2.bin", 654_321);
    let (send, recv) = lan.transfer(3, &cookie(3), &[path(&p)], &strings(&["--proxy", &proxy]));
    assert!(send.success() && recv.success(), "transfer 3 failed");
    cases.push(Case {
        n: 3,
        what: "proxy stage 2",
        cookie: cookie(3),
        proxy_creator: Some(Creator::Receiver),
        files: vec![SentFile {
            name: "stage2.bin".into(),
            data,
            status: Status::Complete,
        }],
        oft_phases: ONE_FILE.to_vec(),
        close_reason: "fin",
    });

    // 4. Proxied; the receiver already has the file and answers the PROMPT with DONE.
    let (p, data) = lan.file("already-here.bin", 300_000);
    let (send, recv) = lan.transfer(
        4,
        &cookie(4),
        &strings(&["--proxy", &proxy, &path(&p)]),
        &strings(&["--have", &path(&p)]),
    );
    assert!(send.success() && recv.success(), "transfer 4 failed");
    cases.push(Case {
        n: 4,
        what: "proxied skip",
        cookie: cookie(4),
        proxy_creator: Some(Creator::Sender),
        files: vec![SentFile {
            name: "already-here.bin".into(),
            data,
            status: Status::Skipped,
        }],
        oft_phases: vec!["prompt", "done"],
        close_reason: "fin",
    });

    // 5. Resume from the middle of a partial file (an odd offset, so the checksum has to
    // continue with the right byte parity).
    let offset = 700_001;
    let (p, data) = lan.file("resumed.bin", 1_500_000);
    let partial = lan.path("partial.bin");
    std::fs::write(&partial, &data[..offset]).unwrap();
    let (send, recv) = lan.transfer(
        5,
        &cookie(5),
        &[path(&p)],
        &strings(&["--resume-from", &path(&partial)]),
    );
    assert!(send.success() && recv.success(), "transfer 5 failed");
    cases.push(Case {
        n: 5,
        what: "resume",
        cookie: cookie(5),
        proxy_creator: None,
        files: vec![SentFile {
            name: "resumed.bin".into(),
            data,
            status: Status::Resumed { offset },
        }],
        oft_phases: vec![
            "prompt",
            "resume",
            "resume_accept",
            "resume_ack",
            "data_start",
            "data_end",
            "done",
        ],
        close_reason: "fin",
    });

    // 6. A folder of three files over one connection.
    let parts = [("a.txt", 1_000), ("b.dat", 77_777), ("c.bin", 300_001)];
    let mut args = strings(&["--folder", "trip"]);
    let mut files = Vec::new();
    for (name, len) in parts {
        let (p, data) = lan.file(&format!("trip/{name}"), len);
        args.push(path(&p));
        files.push(SentFile {
            name: format!("trip/{name}"),
            data,
            status: Status::Complete,
        });
    }
    let (send, recv) = lan.transfer(6, &cookie(6), &args, &[]);
    assert!(send.success() && recv.success(), "transfer 6 failed");
    cases.push(Case {
        n: 6,
        what: "folder of three",
        cookie: cookie(6),
        proxy_creator: None,
        files,
        oft_phases: ONE_FILE.repeat(3),
        close_reason: "fin",
    });

    // 7. The sender resets the connection partway through.
    let cut = 600_000;
    let (p, data) = lan.file("cut.bin", 2_000_000);
    let (send, recv) = lan.transfer(
        7,
        &cookie(7),
        &strings(&["--abort-after", &cut.to_string(), &path(&p)]),
        &[],
    );
    assert!(
        send.success(),
        "transfer 7: the sender should succeed at aborting"
    );
    assert!(
        !recv.success(),
        "transfer 7: the receiver should see the reset"
    );
    cases.push(Case {
        n: 7,
        what: "reset halfway",
        cookie: cookie(7),
        proxy_creator: None,
        files: vec![SentFile {
            name: "cut.bin".into(),
            data,
            status: Status::Truncated { at_most: cut },
        }],
        oft_phases: vec!["prompt", "ack", "data_start"],
        close_reason: "rst",
    });
    cases
}

/// The direction every phase must have, given which leg it is on.
fn expected_dir(phase: &str, leg_role: Option<&str>) -> Option<&'static str> {
    Some(match phase {
        "tcp_handshake" => "client->server",
        "proxy_init_send" => "creator->proxy",
        "proxy_ack" => "proxy->creator",
        "proxy_init_recv" => "joiner->proxy",
        "proxy_ready" if leg_role == Some("creator") => "proxy->creator",
        "proxy_ready" => "proxy->joiner",
        "prompt" | "resume_accept" | "data_start" | "data_end" => "sender->receiver",
        "ack" | "resume" | "resume_ack" | "done" => "receiver->sender",
        _ => return None,
    })
}

/// Checks oftsniff's report of one case; returns its data connections.
fn check_case(case: &Case, events: &[Value], lan: &Lan, extract: &Path) -> BTreeSet<ConnKey> {
    let ctx = format!("transfer {} ({})", case.n, case.what);
    let sender_ip = lan.bed.sender.ip;
    let receiver_ip = lan.bed.receiver.ip;
    let proxy_ep = lan.proxy();

    let transfers: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "transfer" && e["cookie"] == case.cookie.as_str())
        .collect();
    assert_eq!(transfers.len(), 1, "{ctx}: one transfer event expected");
    let t = transfers[0];
    let tid = s(t, "transfer");
    assert_eq!(s(t, "kind"), "file", "{ctx}");
    // Screen names come from the FLAP rendezvous (and, when proxied, the INIT frames).
    assert_eq!(s(t, "sender_name"), case.sender_sn(), "{ctx}: sender_name");
    assert_eq!(
        s(t, "receiver_name"),
        case.receiver_sn(),
        "{ctx}: receiver_name"
    );
    assert_eq!(ip_of(s(t, "sender")), sender_ip, "{ctx}: sender end");
    assert_eq!(ip_of(s(t, "receiver")), receiver_ip, "{ctx}: receiver end");
    assert_eq!(t["cancelled"], false, "{ctx}");
    assert_eq!(u(t, "frames_lost"), 0, "{ctx}");
    assert_eq!(u(t, "files"), case.files.len() as u64, "{ctx}: files");
    let legs: Vec<String> = t["legs"]
        .as_array()
        .unwrap_or_else(|| panic!("{ctx}: no legs"))
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    match case.proxy_creator {
        None => {
            assert_eq!(t["proxied"], false, "{ctx}");
            assert_eq!(
                legs.len(),
                1,
                "{ctx}: one data connection expected: {legs:?}"
            );
        }
        Some(creator) => {
            // The two legs paired into one transfer.
            assert_eq!(t["proxied"], true, "{ctx}");
            assert_eq!(s(t, "proxy"), proxy_ep, "{ctx}");
            let want = match creator {
                Creator::Sender => "sender",
                Creator::Receiver => "receiver",
            };
            assert_eq!(s(t, "proxy_creator"), want, "{ctx}: proxy_creator");
            assert_eq!(legs.len(), 2, "{ctx}: two proxy legs expected: {legs:?}");
        }
    }

    // The FLAP negotiation: the sender's PROPOSE names the receiver, its delivery names the
    // sender.
    let proposes: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["event"] == "rendezvous"
                && e["type"] == "propose"
                && e["cookie"] == case.cookie.as_str()
        })
        .collect();
    assert!(
        proposes.iter().any(|p| p["snac"] == "4/6"
            && ip_of(s(p, "flap_client")) == sender_ip
            && s(p, "screen_name") == case.receiver_sn()),
        "{ctx}: no PROPOSE from the sender naming {}: {proposes:?}",
        case.receiver_sn()
    );
    assert!(
        proposes.iter().any(|p| p["snac"] == "4/7"
            && ip_of(s(p, "flap_client")) == receiver_ip
            && s(p, "screen_name") == case.sender_sn()),
        "{ctx}: no PROPOSE delivered to the receiver naming {}",
        case.sender_sn()
    );
    for r in events
        .iter()
        .filter(|e| e["event"] == "rendezvous" && e["cookie"] == case.cookie.as_str())
    {
        assert_eq!(
            s(r, "transfer"),
            tid,
            "{ctx}: rendezvous in another transfer: {r}"
        );
    }

    // Phases, leg by leg, in capture order.
    let mut conns = BTreeSet::new();
    for leg in &legs {
        let key = parse_conn(leg);
        conns.insert(key);
        let client_ip = ip_of(leg.split('-').next().unwrap());
        let role = case.proxy_creator.map(|c| {
            let creator_ip = match c {
                Creator::Sender => sender_ip,
                Creator::Receiver => receiver_ip,
            };
            if client_ip == creator_ip {
                "creator"
            } else {
                "joiner"
            }
        });
        let phases: Vec<&Value> = events
            .iter()
            .filter(|e| e["event"] == "phase" && e["conn"] == leg.as_str())
            .collect();
        for p in &phases {
            assert_eq!(
                s(p, "transfer"),
                tid,
                "{ctx}: phase of {leg} in another transfer"
            );
            if let Some(dir) = expected_dir(s(p, "phase"), role) {
                assert_eq!(s(p, "dir"), dir, "{ctx}: direction of {p}");
            }
        }
        let mut names: Vec<&str> = phases.iter().map(|p| s(p, "phase")).collect();
        if case.close_reason == "rst" {
            // Whether the last byte before a reset counts as `data_end` is left open; the
            // rest of the sequence is not.
            names.retain(|n| *n != "data_end");
        }
        let mut want = vec!["tcp_handshake"];
        match role {
            Some("creator") => want.extend(["proxy_init_send", "proxy_ack", "proxy_ready"]),
            Some(_) => want.extend(["proxy_init_recv", "proxy_ready"]),
            None => {}
        }
        want.extend(case.oft_phases.iter().copied());
        want.push("close");
        assert_eq!(names, want, "{ctx}: phases of {leg} ({role:?})");
        let close = phases.last().unwrap();
        assert_eq!(
            s(close, "reason"),
            case.close_reason,
            "{ctx}: close of {leg}"
        );
        if let (Some(role), Some(creator)) = (role, case.proxy_creator) {
            let creator_sn = match creator {
                Creator::Sender => case.sender_sn(),
                Creator::Receiver => case.receiver_sn(),
            };
            let (phase, sn) = if role == "creator" {
                ("proxy_init_send", creator_sn)
            } else if creator_sn == case.sender_sn() {
                ("proxy_init_recv", case.receiver_sn())
            } else {
                ("proxy_init_recv", case.sender_sn())
            };
            let init = phases.iter().find(|p| p["phase"] == phase).unwrap();
            assert_eq!(s(init, "screen_name"), sn, "{ctx}: {phase} on {leg}");
        }
    }
    // Nothing of this transfer on any other connection.
    for e in events
        .iter()
        .filter(|e| e["event"] == "phase" && e["transfer"] == tid)
    {
        assert!(
            legs.iter().any(|l| e["conn"] == l.as_str()),
            "{ctx}: phase off its legs: {e}"
        );
    }

    // Files: one event each, in order, once (a proxied file is reported once, not per leg).
    let files: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "file" && e["transfer"] == tid)
        .collect();
    assert_eq!(
        files.len(),
        case.files.len(),
        "{ctx}: file events {files:?}"
    );
    let mut total = 0;
    for (f, sent) in files.iter().zip(&case.files) {
        let fctx = format!("{ctx}, file {}", sent.name);
        let len = sent.data.len();
        assert_eq!(s(f, "name"), sent.name, "{fctx}");
        assert_eq!(u(f, "size"), len as u64, "{fctx}: size");
        let carved = |f: &Value| -> Vec<u8> {
            let p = PathBuf::from(s(f, "path"));
            assert!(
                p.starts_with(extract),
                "{fctx}: carved outside --extract: {}",
                p.display()
            );
            std::fs::read(&p).unwrap_or_else(|e| panic!("{fctx}: carved file {}: {e}", p.display()))
        };
        match sent.status {
            Status::Complete => {
                assert_eq!(s(f, "status"), "complete", "{fctx}");
                assert_eq!(u(f, "bytes"), len as u64, "{fctx}: bytes");
                assert_eq!(u(f, "offset"), 0, "{fctx}");
                assert_eq!(f["checksum_ok"], true, "{fctx}: checksum_ok");
                assert_eq!(s(f, "sha256"), sha_hex(&sent.data), "{fctx}: sha256");
                assert_eq!(f["missing"], serde_json::json!([]), "{fctx}");
                let c = carved(f);
                assert_eq!(c.len(), len, "{fctx}: carved size");
                assert_eq!(sha_hex(&c), sha_hex(&sent.data), "{fctx}: carved sha256");
                total += len;
            }
            Status::Skipped => {
                assert_eq!(s(f, "status"), "skipped", "{fctx}");
                assert_eq!(u(f, "bytes"), 0, "{fctx}: bytes");
                assert!(f["sha256"].is_null(), "{fctx}: sha256 of nothing");
                assert!(f["path"].is_null(), "{fctx}: nothing to carve");
                assert!(!extract.join(&sent.name).exists(), "{fctx}: carved anyway");
            }
            Status::Resumed { offset } => {
                assert_eq!(s(f, "status"), "resumed", "{fctx}");
                assert_eq!(u(f, "offset"), offset as u64, "{fctx}: offset");
                assert_eq!(u(f, "bytes"), (len - offset) as u64, "{fctx}: bytes");
                assert_eq!(f["checksum_ok"], true, "{fctx}: checksum_ok");
                assert_eq!(
                    s(f, "sha256"),
                    sha_hex(&sent.data[offset..]),
                    "{fctx}: sha256"
                );
                // The prefix is the receiver's own copy, agreed in the RESUME exchange: it
                // never crossed the wire, so it is what is missing from what was seen.
                assert_eq!(f["missing"], serde_json::json!([[0, offset]]), "{fctx}");
                let c = carved(f);
                assert_eq!(c.len(), len, "{fctx}: carved size");
                assert!(
                    c[offset..] == sent.data[offset..],
                    "{fctx}: carved bytes differ"
                );
                total += len - offset;
            }
            Status::Truncated { at_most } => {
                assert_eq!(s(f, "status"), "truncated", "{fctx}");
                let got = u(f, "bytes") as usize;
                assert!(got > 0 && got <= at_most, "{fctx}: {got} bytes seen");
                assert!(f["checksum_ok"].is_null(), "{fctx}: checksum_ok of a part");
                assert_eq!(s(f, "sha256"), sha_hex(&sent.data[..got]), "{fctx}: sha256");
                assert_eq!(f["missing"], serde_json::json!([[got, len]]), "{fctx}");
                assert!(
                    s(f, "path").ends_with(".partial"),
                    "{fctx}: {}",
                    s(f, "path")
                );
                let c = carved(f);
                assert!(
                    c.len() >= got && c[..got] == sent.data[..got],
                    "{fctx}: carved bytes"
                );
                total += got;
            }
        }
    }
    assert_eq!(u(t, "bytes"), total as u64, "{ctx}: transfer bytes");
    conns
}

/// Runs the whole set against one capture backend.
fn live_lan(backend: &str) {
    let lan = Lan::up(&format!("live-{backend}"), oftpeer());
    let json = lan.path("events.ndjson");
    let pcap = lan.path("oft.pcap");
    let oracle = lan.path("tcpdump.pcap");
    let extract = lan.path("carved");
    let mon_ns = lan.bed.monitor_ns.clone();
    let mon_if = lan.bed.monitor_if.clone();
    let started = Instant::now();

    let mut sniff = lan
        .bed
        .spawn(
            &mon_ns,
            OFTSNIFF,
            [
                "--backend",
                backend,
                "-i",
                &mon_if,
                "--json",
                json.to_str().unwrap(),
                "-w",
                pcap.to_str().unwrap(),
                "--extract",
                extract.to_str().unwrap(),
            ],
        )
        .expect("start oftsniff");
    // -B: a kernel buffer big enough that the oracle drops nothing either; -Z root: keep
    // writing into the root-owned scratch directory.
    let mut dump = lan
        .bed
        .spawn(
            &mon_ns,
            "tcpdump",
            [
                "-i",
                &mon_if,
                "-n",
                "-B",
                "65536",
                "-Z",
                "root",
                "-w",
                oracle.to_str().unwrap(),
            ],
        )
        .expect("start tcpdump");
    wait_for_capturers(&mon_ns, &mon_if, 2, &mut [&mut sniff, &mut dump]);

    let cases = run_transfers(&lan);
    std::thread::sleep(SETTLE);
    let sniffed = stop(sniff, "oftsniff");
    let dumped = stop(dump, "tcpdump");
    eprintln!(
        "---- oftsniff ({backend}) log ----\n{}---- stderr ----\n{}---- tcpdump ----\n{}",
        sniffed.stdout, sniffed.stderr, dumped.stderr
    );
    eprintln!(
        "[live {backend}] capture and transfers took {:?}",
        started.elapsed()
    );
    assert!(
        dumped
            .stderr
            .lines()
            .any(|l| l.trim() == "0 packets dropped by kernel"),
        "the oracle lost frames: {}",
        dumped.stderr
    );

    let events = read_events(&json);
    let transfers = events.iter().filter(|e| e["event"] == "transfer").count();
    assert_eq!(
        transfers,
        cases.len(),
        "one transfer event per transfer run"
    );
    let mut conns = BTreeSet::new();
    for case in &cases {
        conns.extend(check_case(case, &events, &lan, &extract));
    }

    // Kernel drops are reported, and none happen at this rate.
    let stats: Vec<&Value> = events.iter().filter(|e| e["event"] == "stats").collect();
    assert_eq!(stats.len(), 1, "one stats event");
    assert_eq!(u(stats[0], "kernel_dropped"), 0, "kernel drops");
    assert_eq!(u(stats[0], "queue_dropped"), 0, "queue drops");
    assert!(
        sniffed.stderr.contains("0 frames dropped by kernel"),
        "no drop line on stderr"
    );

    // The -w pcap holds exactly the frames of these transfers' data connections, byte for byte
    // as tcpdump saw them, direction by direction. Compared as sets per direction: frames
    // reach the monitor port on several CPUs, each delivering to both capturing sockets in
    // turn, so two sockets may see neighbouring frames in a different order.
    let written = frames_by_conn(&pcap);
    let seen = frames_by_conn(&oracle);
    let ours = |dir: &Option<ConnKey>| dir.is_some_and(|(a, b)| conns.contains(&conn_key(a, b)));
    let per_dir = |frames: &[(Option<ConnKey>, Vec<u8>)]| {
        let mut m: BTreeMap<ConnKey, Vec<Vec<u8>>> = BTreeMap::new();
        for (dir, data) in frames.iter().filter(|(d, _)| ours(d)) {
            m.entry(dir.unwrap()).or_default().push(data.clone());
        }
        m
    };
    let foreign = written.iter().filter(|(d, _)| !ours(d)).count();
    assert_eq!(foreign, 0, "frames of other connections in the -w pcap");
    let (w, o) = (per_dir(&written), per_dir(&seen));
    let w_conns: BTreeSet<ConnKey> = w.keys().map(|(a, b)| conn_key(*a, *b)).collect();
    assert_eq!(w_conns, conns, "connections in the -w pcap");
    assert_eq!(
        w.keys().collect::<Vec<_>>(),
        o.keys().collect::<Vec<_>>(),
        "directions in the -w pcap and in tcpdump's"
    );
    for (dir, frames) in &o {
        let mut got = w[dir].clone();
        let mut want = frames.clone();
        assert_eq!(
            got.len(),
            want.len(),
            "frame count {dir:?} (pcap vs tcpdump)"
        );
        got.sort();
        want.sort();
        let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "frames {dir:?} differ from tcpdump's");
    }
    eprintln!(
        "[live {backend}] {} frames of {} connections match tcpdump; total {:?}",
        written.len(),
        conns.len(),
        started.elapsed()
    );
}

#[test]
fn live_lan_ring() {
    if skip("live_lan_ring", &["tcpdump"]) {
        return;
    }
    live_lan("ring");
}

#[test]
fn live_lan_pnet() {
    if skip("live_lan_pnet", &["tcpdump"]) {
        return;
    }
    live_lan("pnet");
}

/// A namespace holding a veth pair and nothing else (no address, IPv6 off, so nothing but the
/// replayed frames crosses it): tcpreplay writes to `rpa`, oftsniff listens on `rpb`. Named
/// like a bed's monitor namespace so the harness's sweep of beds left by killed test
/// processes removes it too; deleted on drop.
struct ReplayLink {
    ns: String,
}

impl ReplayLink {
    const SEND_IF: &'static str = "rpa";
    const LISTEN_IF: &'static str = "rpb";

    fn up() -> ReplayLink {
        let link = ReplayLink {
            ns: format!("oftt{}xrp-mon", std::process::id()),
        };
        let ns = link.ns.as_str();
        let run = |args: &[&str]| {
            let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
            assert!(
                o.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        };
        let _ = Command::new("ip").args(["netns", "del", ns]).output();
        run(&["ip", "netns", "add", ns]);
        run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        // Through /proc rather than sysctl(8), which minimal systems lack (and not at all
        // without IPv6). Set before the veth pair exists, so both ends inherit it.
        for key in ["all", "default"] {
            run(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sh",
                "-c",
                &format!(
                    "[ ! -d /proc/sys/net/ipv6 ] || echo 1 > /proc/sys/net/ipv6/conf/{key}/disable_ipv6"
                ),
            ]);
        }
        run(&[
            "ip",
            "-n",
            ns,
            "link",
            "add",
            Self::SEND_IF,
            "type",
            "veth",
            "peer",
            "name",
            Self::LISTEN_IF,
        ]);
        for dev in [Self::SEND_IF, Self::LISTEN_IF] {
            run(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        link
    }
}

impl Drop for ReplayLink {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

/// Events that must not depend on how the frames arrived: phases, files, rendezvous,
/// transfers and flows, without times and frame numbers, as sorted canonical JSON.
fn comparable(events: &[Value]) -> Vec<String> {
    const TIMING: &[&str] = &[
        "ts",
        "timestamp",
        "frame",
        "start",
        "end",
        "duration_s",
        "rate_bps",
        "first_data_ts",
        "last_data_ts",
    ];
    let mut out: Vec<String> = events
        .iter()
        .filter(|e| {
            matches!(
                e["event"].as_str(),
                Some("phase" | "file" | "rendezvous" | "transfer" | "flow")
            )
        })
        .map(|e| {
            let mut e = e.clone();
            let m = e.as_object_mut().unwrap();
            for k in TIMING {
                m.remove(*k);
            }
            // serde_json's map is ordered by key, so this text is canonical.
            e.to_string()
        })
        .collect();
    out.sort();
    out
}

/// The counters that say what was decoded, which must not depend on timing either.
fn decode_counters(events: &[Value]) -> Vec<(String, u64)> {
    let stats = events
        .iter()
        .find(|e| e["event"] == "stats")
        .expect("a stats event");
    [
        "frames_captured",
        "non_tcp",
        "undecodable",
        "ip_fragments",
        "flows_seen",
        "reassembly_gaps",
        "gap_bytes",
        "overlaps_differing",
    ]
    .iter()
    .map(|k| (k.to_string(), u(stats, k)))
    .collect()
}

#[test]
fn replayed_captures_match_offline_events() {
    if skip("replayed_captures_match_offline_events", &["tcpreplay"]) {
        return;
    }
    let link = ReplayLink::up();
    let dir = std::env::temp_dir().join(format!("oftlive-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(dir.clone());
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for name in [
        "gaim-sendfile-2005.pcap",
        "gaim-chat-join-2005.pcap",
        "ndpi-icq-flap-2015.pcapng",
    ] {
        let capture = data.join(name);
        let offline_json = dir.join(format!("{name}.offline.ndjson"));
        let live_json = dir.join(format!("{name}.live.ndjson"));
        let o = Command::new(OFTSNIFF)
            .arg("-r")
            .arg(&capture)
            .arg("--json")
            .arg(&offline_json)
            .arg("-q")
            .output()
            .unwrap();
        assert!(o.status.success(), "oftsniff -r {name}: {o:?}");

        let mut sniff = NsChild::spawn(
            &link.ns,
            OFTSNIFF,
            [
                "-i",
                ReplayLink::LISTEN_IF,
                "--json",
                live_json.to_str().unwrap(),
                "-q",
            ],
        )
        .expect("start oftsniff");
        wait_for_capturers(&link.ns, ReplayLink::LISTEN_IF, 1, &mut [&mut sniff]);
        // At top speed: the packet-time waits (flow idle timeout, transfer linger) are
        // longer than any gap in these captures, so compressing time changes no outcome.
        let replay = NsChild::spawn(
            &link.ns,
            "tcpreplay",
            [
                "-q",
                "--topspeed",
                "-i",
                ReplayLink::SEND_IF,
                capture.to_str().unwrap(),
            ],
        )
        .unwrap()
        .wait_timeout(Duration::from_secs(30))
        .unwrap();
        assert!(replay.success(), "tcpreplay {name}: {}", replay.stderr);
        std::thread::sleep(Duration::from_millis(300));
        let sniffed = stop(sniff, "oftsniff");

        let offline = read_events(&offline_json);
        let live = read_events(&live_json);
        eprintln!(
            "[replay {name}] offline {} events, live {} events; live stderr:\n{}",
            offline.len(),
            live.len(),
            sniffed.stderr
        );
        let stats = live.iter().find(|e| e["event"] == "stats").unwrap();
        assert_eq!(u(stats, "kernel_dropped"), 0, "{name}: kernel drops");
        assert_eq!(
            decode_counters(&live),
            decode_counters(&offline),
            "{name}: counters"
        );
        let (l, off) = (comparable(&live), comparable(&offline));
        assert!(!off.is_empty(), "{name}: nothing to compare offline");
        assert_eq!(l, off, "{name}: live events differ from offline ones");
    }
}
