//! A rendezvous on an OSCAR (FLAP) connection that waited behind a hole until the hole
//! was given up (here, when the connection closed) is reported with the time and frame
//! of the frame that carried it, not of the close.

mod common;

use common::{of_kind, TempDir};
use oft_testkit::gen::pcap::PcapBuilder;
use oft_testkit::gen::tcp::{Dir, TcpConv};
use oftsniff::capture::Timestamp;
use oftsniff::flow::Endpoint;
use oftsniff::proto::flap::{channel, FlapFrame};
use oftsniff::proto::rendezvous::RendezvousMsg;
use oftsniff::proto::{Capability, Cookie};
use std::time::Duration;

fn ep(s: &str) -> Endpoint {
    s.parse::<std::net::SocketAddr>().unwrap().into()
}

fn flap(channel: u8, seq: u16, data: &[u8]) -> Vec<u8> {
    FlapFrame { channel, seq, data }.emit()
}

#[test]
fn propose_behind_a_given_up_hole_keeps_its_own_time_and_frame() {
    let dir = TempDir::new("flapgap");
    let mut c = TcpConv::new(
        ep("198.18.4.1:40001"),
        ep("198.18.4.5:443"),
        Timestamp(1_000_000_000_000),
    );
    c.handshake();
    c.send_segment(
        Dir::ClientToServer,
        &flap(channel::NEW_CONNECTION, 1, &[0, 0, 0, 1]),
    );
    // 500 bytes the capture never sees: everything the client sends after them waits
    // behind the hole until the connection ends.
    c.send_segment(Dir::ClientToServer, &[0x55; 500]);
    let lost = c.segments().len() - 1;
    let mut resync = vec![0x99; 37];
    resync.extend(flap(channel::SNAC, 3, &[0, 2, 0, 1, 0, 0, 0, 0, 0, 0]));
    c.send_segment(Dir::ClientToServer, &resync);
    c.advance(Duration::from_millis(250));
    let cookie = Cookie(*b"3615474\0");
    let propose = RendezvousMsg::propose(cookie, Capability::SEND_FILE, 1).to_host("bob");
    c.send_segment(Dir::ClientToServer, &propose.emit_flap(4, 1));
    let propose_at = c.segments().len() - 1;
    for i in 0..5 {
        c.advance(Duration::from_secs(1));
        c.send_segment(Dir::ClientToServer, &flap(channel::KEEP_ALIVE, 5 + i, &[]));
    }
    c.close();
    let mut segs = c.into_segments();
    let propose_ts = segs[propose_at].ts;
    segs.remove(lost);
    // Segments are in time order, so a frame's number is its index plus one, less one
    // for the lost segment before the PROPOSE.
    let propose_frame = propose_at as u64;

    let pcap = dir.join("flap.pcap");
    let mut b = PcapBuilder::new();
    b.add_segments(&segs);
    b.write_file(&pcap).unwrap();
    let (evs, _) = common::run_json(&pcap, &[]);
    let flows = of_kind(&evs, "flow");
    assert_eq!(flows[0]["gap_bytes"], 500, "the hole is there: {flows:?}");
    let rv = of_kind(&evs, "rendezvous");
    assert_eq!(rv.len(), 1, "{rv:?}");
    assert_eq!(rv[0]["frame"], propose_frame, "{}", rv[0]);
    let ts = rv[0]["ts"].as_f64().unwrap();
    assert!((ts - propose_ts.as_f64()).abs() < 1e-6, "{}", rv[0]);
    let t = of_kind(&evs, "transfer");
    assert_eq!(t.len(), 1, "{t:?}");
    assert!(
        (t[0]["start"].as_f64().unwrap() - propose_ts.as_f64()).abs() < 1e-6,
        "{}",
        t[0]
    );
}
