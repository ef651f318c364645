//! Captures whose frames a snap length cut short (captured length below the original):
//! every cut frame is counted (`snaplen_truncated`), the bytes it carried reach the
//! stream, and the bytes it claimed but did not carry are a gap of exactly their length,
//! reported at once rather than waited for. The captures come from the project's
//! generator, cut the way `tcpdump -s` would (data shortened, original length kept).

mod common;

use common::{of_kind, TempDir};
use oft_testkit::gen::oft::{self, Kind, Variant};
use oft_testkit::gen::pcap::PcapBuilder;
use oft_testkit::gen::tcp::{Dir, TcpConv};
use oftsniff::capture::{Frame, LinkType, Timestamp};
use oftsniff::flow::Endpoint;
use oftsniff::output::pcapfile::PcapFileWriter;
use serde_json::Value;
use std::path::Path;

/// Ethernet + IPv4 + TCP headers of the generator's frames (no options).
const HEADERS: usize = 14 + 20 + 20;

fn ep(s: &str) -> Endpoint {
    s.parse::<std::net::SocketAddr>().unwrap().into()
}

/// Cuts every frame to `snap` bytes, keeping its original length; returns the frames
/// and, per frame, the payload bytes removed.
fn snap(frames: Vec<Frame>, snap: usize) -> (Vec<Frame>, Vec<usize>) {
    let mut cut = Vec::new();
    let frames = frames
        .into_iter()
        .map(|mut f| {
            assert_eq!(f.orig_len as usize, f.data.len(), "generated whole");
            cut.push(f.data.len().saturating_sub(snap));
            f.data.truncate(snap);
            f
        })
        .collect();
    (frames, cut)
}

fn write(frames: &[Frame], path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = PcapFileWriter::new(std::io::BufWriter::new(file), LinkType::Ethernet).unwrap();
    for f in frames {
        w.write_frame(f).unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn snapped_frames_are_counted_and_their_missing_bytes_are_exact_gaps() {
    let dir = TempDir::new("snaplen-tcp");
    let c2s: Vec<u8> = (0..40_000u32).map(|i| (i * 7) as u8).collect();
    let s2c: Vec<u8> = (0..3_000u32).map(|i| (i * 13) as u8).collect();
    let mut conv = TcpConv::new(
        ep("198.18.7.1:40000"),
        ep("198.18.7.2:5190"),
        Timestamp(1_000_000_000_000),
    )
    .with_mss(1460);
    conv.handshake();
    conv.send(Dir::ClientToServer, &c2s);
    conv.send(Dir::ServerToClient, &s2c);
    conv.close();
    let mut b = PcapBuilder::new();
    b.add_conv(&conv);
    const SNAP: usize = 200;
    let (frames, cut) = snap(b.into_frames(), SNAP);
    let pcap = dir.join("snapped.pcap");
    write(&frames, &pcap);

    let snapped = cut.iter().filter(|&&c| c > 0).count() as u64;
    let cut_bytes: usize = cut.iter().sum();
    assert!(snapped > 20, "the test cuts many frames: {snapped}");
    let (ev, stderr) = common::run_json(&pcap, &[]);

    let stats = of_kind(&ev, "stats")[0];
    assert_eq!(stats["snaplen_truncated"], snapped, "{stats}");
    assert!(
        stderr
            .lines()
            .any(|l| l == format!("{snapped} frames truncated by snaplen")),
        "counter on stderr: {stderr}"
    );
    let flows = of_kind(&ev, "flow");
    assert_eq!(flows.len(), 1, "{flows:?}");
    let flow = flows[0];
    let per_frame = (SNAP - HEADERS) as u64;
    let seen = |total: usize| -> u64 {
        // Every full-size segment keeps SNAP - HEADERS bytes; the last one of a send may
        // be shorter than that and whole.
        let mut left = total;
        let mut kept = 0u64;
        while left > 0 {
            let seg = left.min(1460);
            kept += (seg as u64).min(per_frame);
            left -= seg;
        }
        kept
    };
    assert_eq!(flow["bytes_c2s"], seen(c2s.len()), "{flow}");
    assert_eq!(flow["bytes_s2c"], seen(s2c.len()), "{flow}");
    assert_eq!(flow["gap_bytes"], cut_bytes as u64, "{flow}");
    assert_eq!(
        flow["bytes_c2s"].as_u64().unwrap()
            + flow["bytes_s2c"].as_u64().unwrap()
            + cut_bytes as u64,
        (c2s.len() + s2c.len()) as u64,
        "captured plus gaps is everything sent"
    );
    // One gap per cut frame: each is reported where it happened, not merged later.
    assert_eq!(flow["gaps"], snapped, "{flow}");
    // The cut bytes never held the stream up: both FINs were placed and the flow ended
    // cleanly, not at end of input.
    assert_eq!(flow["close"], "fin", "{flow}");
    assert_eq!(stats["ooo_limit_gaps"], 0, "{stats}");
}

#[test]
fn a_frame_whose_ip_length_lies_is_not_counted_as_snapped() {
    // Captured whole (caplen == original length) but the IPv4 total length claims 100
    // bytes more: a malformed frame, not a snap length, so no gap is invented.
    let dir = TempDir::new("snaplen-lie");
    let mut conv = TcpConv::new(
        ep("198.18.7.1:40001"),
        ep("198.18.7.2:5190"),
        Timestamp(1_000_000_000_000),
    );
    conv.handshake();
    conv.send_segment(Dir::ClientToServer, b"hello");
    conv.close();
    let mut b = PcapBuilder::new();
    b.add_conv(&conv);
    let mut frames = b.into_frames();
    let data_frame = frames
        .iter_mut()
        .find(|f| f.data.len() == HEADERS + 5)
        .unwrap();
    let tl = u16::from_be_bytes([data_frame.data[16], data_frame.data[17]]) + 100;
    data_frame.data[16..18].copy_from_slice(&tl.to_be_bytes());
    let pcap = dir.join("lie.pcap");
    write(&frames, &pcap);
    let (ev, _) = common::run_json(&pcap, &[]);
    assert_eq!(of_kind(&ev, "stats")[0]["snaplen_truncated"], 0);
    let flow = of_kind(&ev, "flow")[0];
    assert_eq!(flow["bytes_c2s"], 5, "{flow}");
    assert_eq!(flow["gap_bytes"], 0, "{flow}");
}

#[test]
fn a_snapped_oft_transfer_reports_the_cut_bytes_as_missing_from_the_file() {
    let dir = TempDir::new("snaplen-oft");
    let cap = oft::build(Kind::Direct, 1, Variant::PLAIN);
    let file = cap.files[0].clone();
    // Long enough for every OFT header (256 bytes) to survive whole; file data is cut.
    const SNAP: usize = HEADERS + 400;
    let (frames, cut) = snap(cap.pcap.into_frames(), SNAP);
    assert!(cut.iter().any(|&c| c > 0), "the file's data frames are cut");
    let pcap = dir.join("oft.pcap");
    write(&frames, &pcap);
    let (ev, _) = common::run_json(&pcap, &[]);

    let stats = of_kind(&ev, "stats")[0];
    assert_eq!(
        stats["snaplen_truncated"],
        cut.iter().filter(|&&c| c > 0).count() as u64,
        "{stats}"
    );
    let files = of_kind(&ev, "file");
    assert_eq!(files.len(), 1, "the transfer is still followed: {ev:?}");
    let f = files[0];
    assert_eq!(f["name"], file.name.as_str(), "{f}");
    assert_eq!(f["status"], "truncated", "{f}");
    let missing: u64 = f["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_u64().unwrap() - r[0].as_u64().unwrap())
        .sum();
    let seen = f["bytes"].as_u64().unwrap();
    assert!(missing > 0, "{f}");
    assert_eq!(
        seen + missing,
        file.data.len() as u64,
        "seen and missing bytes add up to the file, each at its offset: {f}"
    );
    assert_eq!(
        f["checksum_ok"],
        Value::Null,
        "not computable with holes: {f}"
    );
}
