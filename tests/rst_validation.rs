//! RSTs and SYNs a blind attacker could send (RFC 5961's idea): an RST whose sequence
//! number lies outside the receiver's window, or a SYN that does not repeat the
//! handshake's, is counted (`rst_out_of_window`, `syn_on_established`) and the
//! connection stays tracked; an RST inside the window still ends it, and the sender's
//! segments still in flight after it are followed for `--rst-linger-ms`
//! (`bytes_after_reset`). The captures are the generator's direct transfer with packets
//! injected in the middle of its data.

mod common;

use common::{of_kind, TempDir};
use oft_testkit::gen::encode;
use oft_testkit::gen::oft::{self, Kind, Variant};
use oft_testkit::gen::pcap::PcapBuilder;
use oft_testkit::gen::tcp::{Segment, TcpFlags};
use oftsniff::capture::{Frame, LinkType};
use oftsniff::decode::{decode_tcp, TcpPacket};
use oftsniff::flow::Endpoint;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn ep(s: &str) -> Endpoint {
    s.parse::<std::net::SocketAddr>().unwrap().into()
}

fn sha_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A packet to inject, given the middle data segment of the transfer (sender to
/// receiver) and the two endpoints.
type Inject = fn(&TcpPacket, Endpoint, Endpoint) -> Vec<(Endpoint, Endpoint, u32, TcpFlags)>;

/// The direct transfer with `inject`'s packets placed right after its middle data
/// segment; returns the capture and the file's bytes.
fn capture(dir: &TempDir, name: &str, inject: Inject) -> (PathBuf, Vec<u8>) {
    let cap = oft::build(Kind::Direct, 7, Variant::PLAIN);
    let data = cap.files[0].data.clone();
    let (sender, receiver) = (
        ep(cap.sender.as_deref().unwrap()),
        ep(cap.receiver.as_deref().unwrap()),
    );
    let mut frames = cap.pcap.into_frames();
    let data_frames: Vec<usize> = (0..frames.len())
        .filter(|&i| {
            let p = decode_tcp(LinkType::Ethernet, &frames[i].data).unwrap();
            p.src == sender && p.dst == receiver && !p.payload.is_empty()
        })
        .collect();
    assert!(data_frames.len() > 4, "a transfer of several segments");
    let k = data_frames[data_frames.len() / 2];
    let mid = decode_tcp(LinkType::Ethernet, &frames[k].data).unwrap();
    let ts = frames[k].ts;
    let extra: Vec<Frame> = inject(&mid, sender, receiver)
        .into_iter()
        .map(|(src, dst, seq, flags)| {
            encode::frame(&Segment {
                ts,
                src,
                dst,
                seq,
                ack: if src == sender { mid.ack } else { mid.seq },
                flags,
                window: 0,
                mss_option: None,
                payload: Vec::new(),
            })
        })
        .collect();
    frames.splice(k + 1..k + 1, extra);
    let path = dir.join(name);
    let mut b = PcapBuilder::new();
    b.add_frames(frames);
    b.write_file(&path).unwrap();
    (path, data)
}

const RST: TcpFlags = TcpFlags(TcpFlags::RST.0 | TcpFlags::ACK.0);

#[test]
fn blind_rsts_and_syns_mid_data_do_not_end_the_transfer() {
    let dir = TempDir::new("rst-blind");
    let (pcap, data) = capture(&dir, "blind.pcap", |mid, sender, receiver| {
        vec![
            // From the receiver, half the sequence space away from what it sent.
            (receiver, sender, mid.ack.wrapping_add(0x8000_0000), RST),
            // From the sender, past the receiver's window.
            (sender, receiver, mid.seq.wrapping_add(0x4000_0000), RST),
            // Just behind the receiver's next byte: outside the window too.
            (receiver, sender, mid.ack.wrapping_sub(1), RST),
            // A SYN from the sender that is not its handshake's.
            (
                sender,
                receiver,
                mid.seq.wrapping_add(12_345),
                TcpFlags::SYN,
            ),
        ]
    });
    let (ev, stderr) = common::run_json(&pcap, &[]);
    let stats = of_kind(&ev, "stats")[0];
    assert_eq!(stats["rst_out_of_window"], 3, "{stats}");
    assert_eq!(stats["syn_on_established"], 1, "{stats}");
    assert!(stderr.contains("3 RSTs ignored"), "{stderr}");
    let files = of_kind(&ev, "file");
    assert_eq!(files.len(), 1, "{ev:?}");
    let f = files[0];
    assert_eq!(f["status"], "complete", "{f}");
    assert_eq!(f["bytes"], data.len() as u64, "{f}");
    assert_eq!(f["sha256"], sha_hex(&data).as_str(), "{f}");
    assert_eq!(f["checksum_ok"], true, "{f}");
    let closes: Vec<_> = of_kind(&ev, "phase")
        .into_iter()
        .filter(|p| p["phase"] == "close")
        .collect();
    assert_eq!(closes.len(), 1);
    assert_eq!(closes[0]["reason"], "fin", "{:?}", closes[0]);
}

#[test]
fn an_rst_inside_the_window_still_ends_the_connection() {
    let dir = TempDir::new("rst-in-window");
    for (name, inject) in [
        // At exactly the receiver's next sequence number (what a real reset carries).
        (
            "exact.pcap",
            (|mid, sender, receiver| vec![(receiver, sender, mid.ack, RST)]) as Inject,
        ),
        // Ahead of it, but inside the sender's window.
        ("inside.pcap", |mid, sender, receiver| {
            vec![(receiver, sender, mid.ack.wrapping_add(1000), RST)]
        }),
    ] {
        let (pcap, data) = capture(&dir, name, inject);
        // Without the RST linger: the segments after it (the generator's sender goes on
        // as if nothing happened) would otherwise still be followed.
        let (ev, _) = common::run_json(&pcap, &["--rst-linger-ms", "0"]);
        let stats = of_kind(&ev, "stats")[0];
        assert_eq!(stats["rst_out_of_window"], 0, "{name}: {stats}");
        let f = of_kind(&ev, "file")[0];
        assert_eq!(f["status"], "truncated", "{name}: {f}");
        assert!(
            f["bytes"].as_u64().unwrap() < data.len() as u64,
            "{name}: {f}"
        );
        let flow = of_kind(&ev, "flow")
            .into_iter()
            .find(|fl| {
                fl["bytes_s2c"].as_u64().unwrap() > 1000 || fl["bytes_c2s"].as_u64().unwrap() > 1000
            })
            .unwrap();
        assert_eq!(flow["close"], "rst", "{name}: {flow}");
    }
}

/// The receiver resets in the middle of the data and says nothing more (its later ACKs
/// and DONE are removed); the sender's segments already in flight keep coming.
fn cancelled_mid_data(dir: &TempDir) -> (PathBuf, Vec<u8>, u64) {
    let (pcap, data) = capture(dir, "cancel.pcap", |mid, sender, receiver| {
        vec![(receiver, sender, mid.ack, RST)]
    });
    let mut frames = common::read_frames(&pcap);
    let rst = frames
        .iter()
        .position(|f| decode_tcp(LinkType::Ethernet, &f.data).unwrap().flags.rst())
        .unwrap();
    let receiver = decode_tcp(LinkType::Ethernet, &frames[rst].data)
        .unwrap()
        .src;
    let mut after = 0;
    let mut i = rst + 1;
    while i < frames.len() {
        let p = decode_tcp(LinkType::Ethernet, &frames[i].data).unwrap();
        if p.src == receiver {
            frames.remove(i);
        } else {
            after += p.payload.len() as u64;
            i += 1;
        }
    }
    let mut b = PcapBuilder::new();
    b.add_frames(frames);
    b.write_file(&pcap).unwrap();
    (pcap, data, after)
}

#[test]
fn bytes_in_flight_after_the_receivers_reset_reach_the_file() {
    let dir = TempDir::new("rst-in-flight");
    let (pcap, data, after) = cancelled_mid_data(&dir);
    assert!(after > 1000, "data follows the RST: {after}");
    let carved = dir.join("carved");
    let (ev, _) = common::run_json(&pcap, &["--extract", carved.to_str().unwrap()]);
    let f = of_kind(&ev, "file")[0];
    assert_eq!(f["bytes"], data.len() as u64, "{f}");
    assert_eq!(f["bytes_after_reset"], after, "{f}");
    assert_eq!(f["sha256"], sha_hex(&data).as_str(), "{f}");
    let path = f["path"].as_str().expect("carved");
    assert_eq!(
        std::fs::read(path).unwrap(),
        data,
        "the carve has every byte"
    );
    let flow = of_kind(&ev, "flow")
        .into_iter()
        .find(|fl| fl["close"] == "rst")
        .unwrap();
    // The OFT trailer bytes (none here) would count too: every payload byte after it.
    assert_eq!(flow["bytes_after_reset"], after, "{flow}");
    let close = of_kind(&ev, "phase")
        .into_iter()
        .find(|p| p["phase"] == "close")
        .unwrap();
    assert_eq!(close["reason"], "rst", "{close}");
    assert_eq!(close["dir"], "receiver->sender", "{close}");

    // Without the linger the RST ends it: the bytes in flight are not the file's.
    let (ev, _) = common::run_json(&pcap, &["--rst-linger-ms", "0"]);
    let f = of_kind(&ev, "file")[0];
    assert_eq!(f["bytes"], data.len() as u64 - after, "{f}");
    assert_eq!(f["bytes_after_reset"], 0, "{f}");
    assert_eq!(f["status"], "truncated", "{f}");
}
