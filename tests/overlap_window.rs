//! `--overlap-window-bytes`: a retransmission of bytes already delivered is compared with
//! them only while they are kept, and counted in `overlaps_differing` when it differs.

mod common;

use common::{of_kind, TempDir};
use oft_testkit::gen::pcap::PcapBuilder;
use oft_testkit::gen::tcp::{Dir, TcpConv};
use oftsniff::capture::Timestamp;
use oftsniff::flow::Endpoint;
use std::time::Duration;

fn ep(s: &str) -> Endpoint {
    s.parse::<std::net::SocketAddr>().unwrap().into()
}

/// A connection whose second data segment is retransmitted after the third was
/// delivered, with its content flipped when `differ`.
fn capture(dir: &TempDir, differ: bool) -> std::path::PathBuf {
    let mut c = TcpConv::new(
        ep("198.18.9.1:40000"),
        ep("198.18.9.2:5190"),
        Timestamp(1_000_000_000_000),
    );
    c.handshake();
    c.send_segment(Dir::ClientToServer, &[b'a'; 300]);
    c.send_segment(Dir::ClientToServer, &[b'b'; 300]);
    let second = c.segments().len() - 1;
    c.send_segment(Dir::ClientToServer, &[b'c'; 300]);
    c.advance(Duration::from_millis(200));
    c.close();
    let mut segs = c.into_segments();
    // Before the FINs (and their ACKs), so the flow is still open when the copy comes.
    let at = segs.len() - 4;
    let mut again = segs[second].clone();
    again.ts = segs[at - 1].ts;
    if differ {
        again.payload[100] = b'X';
    }
    segs.insert(at, again);
    let path = dir.join(if differ { "differ.pcap" } else { "same.pcap" });
    let mut b = PcapBuilder::new();
    b.add_segments(&segs);
    b.write_file(&path).unwrap();
    path
}

fn overlaps(pcap: &std::path::Path, extra: &[&str]) -> u64 {
    let (ev, _) = common::run_json(pcap, extra);
    let flow = of_kind(&ev, "flow")[0];
    assert_eq!(flow["bytes_c2s"], 900, "first copy kept: {flow}");
    of_kind(&ev, "stats")[0]["overlaps_differing"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_differing_retransmission_of_delivered_bytes_counts_only_with_a_window() {
    let dir = TempDir::new("overlap-window");
    let differ = capture(&dir, true);
    let same = capture(&dir, false);
    let window = ["--overlap-window-bytes", "4096"];
    assert_eq!(overlaps(&differ, &window), 1);
    assert_eq!(overlaps(&same, &window), 0, "identical copy");
    // Default: delivered bytes are not kept, as README and --help say.
    assert_eq!(overlaps(&differ, &[]), 0);
    // A window too short to reach back to the copied bytes cannot compare them.
    assert_eq!(overlaps(&differ, &["--overlap-window-bytes", "100"]), 0);
}
