use super::*;
use crate::flow::Endpoint;

struct Null;
impl StreamSink for Null {
    fn data(&mut self, _: &[u8]) {}
    fn gap(&mut self, _: u64) {}
}

fn key() -> FlowKey {
    let a = Endpoint::new("198.18.0.1".parse().unwrap(), 5190);
    let b = Endpoint::new("198.18.0.2".parse().unwrap(), 40000);
    FlowKey::from_segment(a, b).0
}

const SYN: TcpFlags = TcpFlags(TcpFlags::SYN);
const SYNACK: TcpFlags = TcpFlags(TcpFlags::SYN | TcpFlags::ACK);
const ACK: TcpFlags = TcpFlags(TcpFlags::ACK);
const FINACK: TcpFlags = TcpFlags(TcpFlags::FIN | TcpFlags::ACK);

fn seg(conn: &mut Conn, dir: Direction, seq: u32, ack: u32, flags: TcpFlags, p: &[u8]) {
    let m = SegmentMeta {
        dir,
        seq,
        ack,
        flags,
        window: 65535,
        wscale: None,
        payload_len: p.len() as u32,
        ts: Timestamp(0),
        frame: FrameNo(0),
    };
    conn.on_segment(&m, p, 0, 1 << 20, &mut Null);
}

#[test]
fn handshake_and_fin_teardown() {
    let (c, s) = (Direction::BtoA, Direction::AtoB);
    let mut conn = Conn::new(key(), c, SYN, Timestamp(0), FrameNo(1));
    assert!(!conn.meta.midstream);
    assert_eq!(conn.meta.client_dir, c);
    seg(&mut conn, c, 100, 0, SYN, b"");
    seg(&mut conn, s, 500, 101, SYNACK, b"");
    seg(&mut conn, c, 101, 501, ACK, b"");
    assert_eq!(conn.handshake(), Handshake::Established);
    seg(&mut conn, c, 101, 501, FINACK, b"hi");
    assert_eq!(conn.teardown(), Teardown::Open);
    seg(&mut conn, s, 501, 104, FINACK, b"");
    assert_eq!(conn.teardown(), Teardown::BothFin);
    assert!(!conn.fin_done(), "server FIN not yet acknowledged");
    seg(&mut conn, c, 104, 502, ACK, b"");
    assert!(conn.fin_done());
    let sum = conn.summary();
    assert_eq!(sum.dirs[c.index()].bytes, 2);
    assert_eq!(sum.dirs[c.index()].packets, 3 + 1);
    assert_eq!(sum.dirs[s.index()].packets, 2);
}

#[test]
fn midstream_client_is_peer_of_lower_port() {
    // 198.18.0.1:5190 is the lower port, so the client is 198.18.0.2:40000.
    let conn = Conn::new(key(), Direction::AtoB, ACK, Timestamp(0), FrameNo(1));
    assert!(conn.meta.midstream);
    assert_eq!(conn.meta.client().port, 40000);
    assert_eq!(conn.meta.server().port, 5190);
}

#[test]
fn first_seen_syn_ack_names_server() {
    let conn = Conn::new(key(), Direction::AtoB, SYNACK, Timestamp(0), FrameNo(1));
    assert!(!conn.meta.midstream);
    assert_eq!(conn.meta.server(), key().a);
}

fn meta(
    dir: Direction,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    wscale: Option<u8>,
) -> SegmentMeta {
    SegmentMeta {
        dir,
        seq,
        ack,
        flags,
        window,
        wscale,
        payload_len: 0,
        ts: Timestamp(0),
        frame: FrameNo(0),
    }
}

#[test]
fn rst_is_judged_against_the_scaled_window_of_its_receiver() {
    let (c, s) = (Direction::BtoA, Direction::AtoB);
    let mut conn = Conn::new(key(), c, SYN, Timestamp(0), FrameNo(1));
    for m in [
        meta(c, 100, 0, SYN, 65535, Some(7)),
        meta(s, 500, 101, SYNACK, 65535, Some(2)),
        // The client offers 100 << 7 = 12,800 bytes past the server's byte 501.
        meta(c, 101, 501, ACK, 100, None),
    ] {
        assert_eq!(conn.screen(&m), None);
        conn.on_segment(&m, b"", 0, 1 << 20, &mut Null);
    }
    let rst = |seq| meta(s, seq, 101, TcpFlags(TcpFlags::RST), 0, None);
    assert_eq!(conn.screen(&rst(501)), None, "at RCV.NXT");
    assert_eq!(
        conn.screen(&rst(501 + 12_799)),
        None,
        "last byte of the window"
    );
    assert_eq!(
        conn.screen(&rst(501 + 12_800)),
        Some(Ignored::RstOutOfWindow)
    );
    assert_eq!(conn.screen(&rst(500)), Some(Ignored::RstOutOfWindow));
    // The client's SYN again is a retransmission; another ISN is not this connection's.
    assert_eq!(conn.screen(&meta(c, 100, 0, SYN, 65535, Some(7))), None);
    assert_eq!(
        conn.screen(&meta(c, 7777, 0, SYN, 65535, Some(7))),
        Some(Ignored::SynOnEstablished)
    );
}

#[test]
fn rst_answering_a_syn_is_taken() {
    let (c, s) = (Direction::BtoA, Direction::AtoB);
    let mut conn = Conn::new(key(), c, SYN, Timestamp(0), FrameNo(1));
    let syn = meta(c, 100, 0, SYN, 65535, None);
    conn.on_segment(&syn, b"", 0, 1 << 20, &mut Null);
    let rst = meta(s, 0, 101, TcpFlags(TcpFlags::RST | TcpFlags::ACK), 0, None);
    assert_eq!(conn.screen(&rst), None, "nothing known to judge it by");
}
