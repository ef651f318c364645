//! What each leg carried (`bytes_sent`, `bytes_delivered`, `bytes_acked`), through the
//! built binary: a direct and a proxied transfer give the three equal to the file size;
//! a proxied transfer cancelled mid-data, the receiver's leg cut short of the sender's,
//! gives sent > delivered ≥ acked, each checked against tshark's view of its leg.
//!
//! Set OFTSNIFF_KEEP_PCAPS=DIR to keep the cut capture (leg-counts-cut.pcap).

use oft_testkit::gen::encode;
use oft_testkit::gen::oft::{self, Kind, Variant};
use oft_testkit::gen::{PcapBuilder, Segment, TcpFlags};
use oftsniff::capture::Frame;
use oftsniff::decode::decode_tcp;
use oftsniff::flow::Endpoint;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

mod common;
use common::TempDir;

fn events(pcap: &Path) -> Vec<Value> {
    let json = pcap.with_extension("json");
    let out = common::oftsniff()
        .arg("-r")
        .arg(pcap)
        .arg("--json")
        .arg(&json)
        .arg("-q")
        .output()
        .expect("run oftsniff");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn one<'a>(ev: &'a [Value], kind: &str) -> &'a Value {
    let v: Vec<_> = ev.iter().filter(|e| e["event"] == kind).collect();
    assert_eq!(v.len(), 1, "one {kind} event: {v:?}");
    v[0]
}

/// (sent, delivered, acked) of a file or transfer event.
fn legs(e: &Value) -> (u64, u64, u64) {
    let n = |k: &str| e[k].as_u64().unwrap_or_else(|| panic!("{k} in {e}"));
    (n("bytes_sent"), n("bytes_delivered"), n("bytes_acked"))
}

fn generated(kind: Kind, dir: &TempDir, name: &str) -> (Vec<Value>, u64) {
    let cap = oft::build(kind, 7, Variant::PLAIN);
    let size = cap.files[0].data.len() as u64;
    let path = dir.0.join(name);
    cap.pcap.write_file(&path).unwrap();
    (events(&path), size)
}

#[test]
fn a_complete_transfer_sent_delivered_and_acked_its_size_direct_or_proxied() {
    let dir = TempDir::new("leg-counts");
    for (kind, name) in [
        (Kind::Direct, "direct.pcap"),
        (Kind::ProxyStage1, "proxy.pcap"),
    ] {
        let (ev, size) = generated(kind, &dir, name);
        let file = one(&ev, "file");
        assert_eq!(file["status"], "complete", "{name}");
        assert_eq!(legs(file), (size, size, size), "{name}: {file}");
        assert_eq!(file["bytes"], size, "{name}");
        assert_eq!(legs(one(&ev, "transfer")), (size, size, size), "{name}");
        let (d, w) = (
            file["duration_s"].as_f64(),
            file["wire_duration_s"].as_f64(),
        );
        assert!(
            d.unwrap() >= w.unwrap(),
            "{name}: data phase holds the burst"
        );
    }
}

fn ep(s: &str) -> Endpoint {
    let a: std::net::SocketAddr = s.parse().unwrap();
    Endpoint::new(a.ip(), a.port())
}

/// Cuts a leg (`client` is its TCP client): from the frame where the `from_client`
/// direction's payload passes `cut`, the peer's frames go; from where it passes `stop`,
/// all of the leg's frames go and `client` (`rst_by_client`) or the server resets it.
fn cut_leg(
    frames: Vec<Frame>,
    client: Endpoint,
    from_client: bool,
    cut: u64,
    stop: u64,
    rst_by_client: bool,
) -> Vec<Frame> {
    let mut out = Vec::new();
    let (mut carried, mut next) = (0u64, [None::<(u32, Endpoint, Endpoint)>; 2]);
    let mut rst = None;
    for f in frames {
        let p = decode_tcp(f.link, &f.data).unwrap();
        let on_leg = p.src == client || p.dst == client;
        if !on_leg {
            out.push(f);
            continue;
        }
        if rst.is_some() {
            continue;
        }
        let data_dir = (p.src == client) == from_client;
        if data_dir {
            carried += p.payload.len() as u64;
        }
        if carried > stop {
            let who = usize::from(rst_by_client);
            let (seq, src, dst) = next[who].expect("the resetting side sent before");
            rst = Some(encode::frame(&Segment {
                ts: f.ts,
                src,
                dst,
                seq,
                ack: 0,
                flags: TcpFlags::RST,
                window: 0,
                mss_option: None,
                payload: Vec::new(),
            }));
            out.push(rst.clone().unwrap());
            continue;
        }
        if carried > cut && !data_dir {
            continue;
        }
        let d = usize::from(p.src == client);
        let len = p.payload.len() as u32 + u32::from(p.flags.syn() || p.flags.fin());
        next[d] = Some((p.seq.wrapping_add(len), p.src, p.dst));
        out.push(f);
    }
    out
}

/// tshark's payload bytes of the TCP stream with `port`: (client→server, server→client).
fn follow(pcap: &Path, port: u16) -> (u64, u64) {
    let run = |args: &[&str]| {
        let o = Command::new("tshark")
            .arg("-r")
            .arg(pcap)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    let filter = format!("tcp.port=={port}");
    let idx = run(&["-Y", &filter, "-T", "fields", "-e", "tcp.stream"]);
    let idx = idx.lines().next().expect("stream").trim().to_string();
    let text = run(&["-q", "-z", &format!("follow,tcp,raw,{idx}")]);
    let (mut a, mut b) = (0, 0);
    for l in text
        .lines()
        .filter(|l| l.trim().chars().all(|c| c.is_ascii_hexdigit()) && !l.trim().is_empty())
    {
        if l.starts_with('\t') {
            b += l.trim().len() as u64 / 2;
        } else {
            a += l.len() as u64 / 2;
        }
    }
    (a, b)
}

/// tshark's highest relative ACK number from the stream's client.
fn max_ack(pcap: &Path, client_port: u16) -> u64 {
    let filter = format!("tcp.srcport=={client_port} && tcp.flags.ack==1");
    let o = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", &filter, "-T", "fields", "-e", "tcp.ack"])
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    text.lines()
        .filter_map(|l| l.trim().parse().ok())
        .max()
        .unwrap()
}

fn write(frames: Vec<Frame>, path: &Path) {
    let mut b = PcapBuilder::new();
    b.add_frames(frames);
    b.write_file(path).unwrap();
}

#[test]
fn a_cancelled_proxied_transfer_delivered_less_than_was_sent() {
    if Command::new("tshark").arg("-v").output().is_err() {
        eprintln!("SKIPPED: no tshark");
        return;
    }
    let dir = TempDir::new("leg-counts-cut");
    let cap = oft::build(Kind::ProxyStage1, 7, Variant::PLAIN);
    let size = cap.files[0].data.len() as u64;
    let (snd, rcv) = (
        ep(cap.sender.as_deref().unwrap()),
        ep(cap.receiver.as_deref().unwrap()),
    );
    let whole = dir.0.join("whole.pcap");
    let frames = cap.pcap.into_frames();
    write(frames.clone(), &whole);
    // Leg bytes that are not file data: proxy frames and OFT headers.
    let (s_all, _) = follow(&whole, snd.port);
    let (_, r_all) = follow(&whole, rcv.port);
    let (s_over, r_over) = (s_all - size, r_all - size);
    // The receiver's leg: its ACKs stop after 6000 file bytes, the proxy's data after
    // 9000, and the receiver (gone) resets; the sender's leg carries 15000 and the proxy
    // resets it.
    let frames = cut_leg(frames, rcv, false, r_over + 6_000, r_over + 9_000, true);
    let frames = cut_leg(frames, snd, true, u64::MAX, s_over + 15_000, false);
    let cut = dir.0.join("cut.pcap");
    write(frames, &cut);

    if let Ok(keep) = std::env::var("OFTSNIFF_KEEP_PCAPS") {
        std::fs::copy(&cut, Path::new(&keep).join("leg-counts-cut.pcap")).unwrap();
    }
    let ev = events(&cut);
    let file = one(&ev, "file");
    let (sent, delivered, acked) = legs(file);
    let tshark_sent = follow(&cut, snd.port).0 - s_over;
    let tshark_delivered = follow(&cut, rcv.port).1 - r_over;
    // Relative ACK 1 is the first byte of the stream; the file starts after the overhead.
    let tshark_acked = (max_ack(&cut, rcv.port) - 1 - r_over).min(size);
    eprintln!(
        "oftsniff sent={sent} delivered={delivered} acked={acked}; tshark sent={tshark_sent} \
         delivered={tshark_delivered} acked={tshark_acked}"
    );
    assert_eq!(
        (sent, delivered, acked),
        (tshark_sent, tshark_delivered, tshark_acked)
    );
    assert!(
        sent > delivered && delivered >= acked && acked > 0,
        "{file}"
    );
    assert!(sent < size, "{file}");
    assert_eq!(file["bytes"], sent);
    assert_eq!(legs(one(&ev, "transfer")), (sent, delivered, acked));
}
