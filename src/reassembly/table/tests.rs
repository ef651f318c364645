//! Flow-table behaviour through hand-built frames and a handler that records every call.

use super::*;
use crate::capture::LinkType;
use crate::config::Limits;
use crate::decode::{TcpFlags, TcpPacket};
use crate::flow::Endpoint;
use crate::reassembly::{stream, FlowSummary};
use crate::stats::Counters;
use std::net::SocketAddr;

const CLIENT: &str = "198.18.0.2:40000";
const SERVER: &str = "198.18.0.1:5190";

const SYN: u8 = TcpFlags::SYN;
const SYNACK: u8 = TcpFlags::SYN | TcpFlags::ACK;
const ACK: u8 = TcpFlags::ACK;
const FIN: u8 = TcpFlags::FIN | TcpFlags::ACK;
const RST: u8 = TcpFlags::RST;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Open { client: Endpoint, midstream: bool },
    Segment(FrameNo),
    Data(Direction, Vec<u8>),
    Gap(Direction, u64),
    Frame(FrameNo),
    Close(CloseReason),
}

/// Records every handler call as (flow id, event); flow ids count opens from 1.
#[derive(Default)]
struct Rec {
    ev: Vec<(u32, Ev)>,
    summaries: Vec<FlowSummary>,
    opened: u32,
    /// Answer of `lazy_open`.
    lazy: bool,
    /// Flow ids `protected` names.
    protect: Vec<u32>,
    /// Bytes each frame makes its flow hold (`held_cost`), held per flow id until shed.
    hold: usize,
    held: std::collections::HashMap<u32, usize>,
    /// Flow ids in the order `shed` was called.
    shed: Vec<u32>,
    /// Bytes every flow's state buffers once it saw payload (`buffered_cost`), per id.
    buffer: usize,
    buffered: std::collections::HashSet<u32>,
}

impl StreamHandler for Rec {
    type State = u32;
    fn lazy_open(&self) -> bool {
        self.lazy
    }
    fn protected(&self, st: &u32) -> bool {
        self.protect.contains(st)
    }
    fn open(&mut self, st: &mut u32, conn: &ConnMeta) {
        self.opened += 1;
        *st = self.opened;
        let ev = Ev::Open {
            client: conn.client(),
            midstream: conn.midstream,
        };
        self.ev.push((*st, ev));
    }
    fn segment(&mut self, st: &mut u32, _: &ConnMeta, seg: &SegmentMeta) {
        self.ev.push((*st, Ev::Segment(seg.frame)));
    }
    fn data(
        &mut self,
        st: &mut u32,
        _: &ConnMeta,
        dir: Direction,
        b: &[u8],
        _: Timestamp,
        _: FrameNo,
    ) {
        assert!(!b.is_empty(), "empty data call");
        self.ev.push((*st, Ev::Data(dir, b.to_vec())));
        self.buffered.insert(*st);
    }
    fn gap(&mut self, st: &mut u32, _: &ConnMeta, dir: Direction, len: u64, _: Timestamp) {
        self.ev.push((*st, Ev::Gap(dir, len)));
    }
    fn handed_out(&mut self, _: FrameNo) {}

    fn frame(&mut self, st: &mut u32, _: &ConnMeta, frame: Frame) {
        self.ev.push((*st, Ev::Frame(frame.no)));
        if self.hold > 0 {
            *self.held.entry(*st).or_default() += self.hold;
        }
    }
    fn held_cost(&self, st: &u32) -> usize {
        self.held.get(st).copied().unwrap_or(0)
    }
    fn buffered_cost(&self, st: &u32) -> usize {
        if self.buffered.contains(st) {
            self.buffer
        } else {
            0
        }
    }
    fn shed(&mut self, st: &mut u32) {
        self.held.remove(st);
        self.shed.push(*st);
    }
    fn close(&mut self, st: &mut u32, _: &ConnMeta, s: &FlowSummary, r: CloseReason, _: Timestamp) {
        self.summaries.push(*s);
        self.ev.push((*st, Ev::Close(r)));
    }
}

impl Rec {
    fn closes(&self) -> Vec<(u32, CloseReason)> {
        let f = |(id, e): &(u32, Ev)| match e {
            Ev::Close(r) => Some((*id, *r)),
            _ => None,
        };
        self.ev.iter().filter_map(f).collect()
    }
    /// The stream of one flow and direction, data concatenated, gaps as `None` runs.
    fn stream(&self, id: u32, dir: Direction) -> Vec<Option<u8>> {
        let mut out = Vec::new();
        for (i, e) in &self.ev {
            match e {
                Ev::Data(d, b) if *i == id && *d == dir => out.extend(b.iter().map(|&x| Some(x))),
                Ev::Gap(d, n) if *i == id && *d == dir => out.extend((0..*n).map(|_| None)),
                _ => {}
            }
        }
        out
    }
}

fn ep(s: &str) -> Endpoint {
    s.parse::<SocketAddr>().unwrap().into()
}

/// Drives a table with frames built by hand: the payload sits after 40 filler bytes (the
/// room IP and TCP headers would take) and the packet's range points at it.
struct Net {
    table: FlowTable<Rec>,
    rec: Rec,
    counters: Counters,
    frames: u64,
}

impl Net {
    fn new(limits: Limits) -> Net {
        Net {
            table: FlowTable::new(&limits),
            rec: Rec::default(),
            counters: Counters::default(),
            frames: 0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        from: &str,
        to: &str,
        seq: u32,
        ack: u32,
        flags: u8,
        p: &[u8],
        t: f64,
    ) -> FrameNo {
        self.frames += 1;
        let no = FrameNo(self.frames);
        let mut data = vec![0u8; 40];
        data.extend_from_slice(p);
        let frame = Frame {
            no,
            ts: Timestamp((t * 1e9) as u64),
            orig_len: data.len() as u32,
            link: LinkType::Raw,
            data: data.into(),
        };
        let pkt = TcpPacket {
            src: ep(from),
            dst: ep(to),
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 65535,
            wscale: None,
            payload: 40..40 + p.len(),
            cut: 0,
        };
        self.table
            .process(&mut self.rec, &pkt, frame, &mut self.counters);
        no
    }

    /// SYN (client ISN 1000), SYN-ACK (server ISN 5000), ACK at time `t`.
    fn handshake(&mut self, t: f64) {
        self.send(CLIENT, SERVER, 1000, 0, SYN, b"", t);
        self.send(SERVER, CLIENT, 5000, 1001, SYNACK, b"", t);
        self.send(CLIENT, SERVER, 1001, 5001, ACK, b"", t);
    }

    fn finish(&mut self) {
        self.table.finish(&mut self.rec, &mut self.counters);
    }
}

fn client_dir() -> Direction {
    FlowKey::from_segment(ep(CLIENT), ep(SERVER)).1
}

#[test]
fn calls_come_in_documented_order() {
    let mut n = Net::new(Limits::default());
    n.handshake(0.0);
    let f = n.send(CLIENT, SERVER, 1001, 5001, ACK, b"hello", 0.1);
    let c = client_dir();
    let ev: Vec<Ev> = n.rec.ev.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(
        ev[0],
        Ev::Open {
            client: ep(CLIENT),
            midstream: false
        }
    );
    assert_eq!(&ev[1..3], &[Ev::Segment(FrameNo(1)), Ev::Frame(FrameNo(1))]);
    assert_eq!(
        &ev[ev.len() - 3..],
        &[Ev::Segment(f), Ev::Data(c, b"hello".to_vec()), Ev::Frame(f)]
    );
    assert_eq!(n.counters.flows_seen, 1);
}

#[test]
fn fin_closes_after_both_sides() {
    let mut n = Net::new(Limits::default());
    n.handshake(0.0);
    n.send(CLIENT, SERVER, 1001, 5001, ACK, b"abc", 0.1);
    n.send(SERVER, CLIENT, 5001, 1004, ACK, b"xy", 0.2);
    n.send(CLIENT, SERVER, 1004, 5003, FIN, b"", 0.3);
    assert!(n.rec.closes().is_empty(), "one FIN does not close");
    n.send(SERVER, CLIENT, 5003, 1005, FIN, b"", 0.4);
    assert!(n.rec.closes().is_empty(), "server FIN not acknowledged yet");
    let last = n.send(CLIENT, SERVER, 1005, 5004, ACK, b"", 0.5);
    assert_eq!(n.rec.closes(), vec![(1, CloseReason::Fin)]);
    // The final ACK is part of the flow and reaches `frame` before `close`.
    let tail: Vec<Ev> = n.rec.ev[n.rec.ev.len() - 2..]
        .iter()
        .map(|(_, e)| e.clone())
        .collect();
    assert_eq!(tail, vec![Ev::Frame(last), Ev::Close(CloseReason::Fin)]);
    let s = n.rec.summaries[0];
    let c = client_dir();
    assert_eq!(s.dirs[c.index()].bytes, 3);
    assert_eq!(s.dirs[c.reverse().index()].bytes, 2);
    assert_eq!(s.dirs[c.index()].packets, 5);
    // A late retransmitted FIN goes to the closed flow, not to a new one.
    let late = n.send(SERVER, CLIENT, 5003, 1005, FIN, b"", 0.6);
    assert_eq!(n.rec.ev.last(), Some(&(1, Ev::Frame(late))));
    assert_eq!(n.counters.flows_seen, 1);
}

#[test]
fn both_fins_without_final_ack_close_after_linger() {
    let mut n = Net::new(Limits::default());
    n.handshake(0.0);
    n.send(CLIENT, SERVER, 1001, 5001, FIN, b"", 0.1);
    n.send(SERVER, CLIENT, 5001, 1002, FIN, b"", 0.2);
    assert!(n.rec.closes().is_empty());
    n.send("198.18.0.9:1", "198.18.0.8:2", 1, 0, ACK, b"x", 10.0);
    assert_eq!(n.rec.closes(), vec![(1, CloseReason::Fin)]);
}

#[test]
fn rst_closes_at_once_without_linger() {
    let mut n = Net::new(Limits {
        rst_linger_ms: 0,
        ..Limits::default()
    });
    n.handshake(0.0);
    n.send(CLIENT, SERVER, 1001, 5001, ACK, b"abc", 0.1);
    // Bytes after a hole are buffered; the RST gives the hole up.
    n.send(CLIENT, SERVER, 1008, 5001, ACK, b"hij", 0.2);
    n.send(SERVER, CLIENT, 5001, 1004, RST, b"", 0.3);
    assert_eq!(n.rec.closes(), vec![(1, CloseReason::Rst)]);
    let c = client_dir();
    let want: Vec<Option<u8>> = [Some(b'a'), Some(b'b'), Some(b'c'), None, None, None, None]
        .into_iter()
        .chain(b"hij".iter().map(|&x| Some(x)))
        .collect();
    assert_eq!(n.rec.stream(1, c), want);
    assert_eq!((n.counters.reassembly_gaps, n.counters.gap_bytes), (1, 4));
    assert_eq!(n.table.reassembly_mem(), 0);
    // A late segment of the reset connection is passed on as a frame only.
    let before = n.rec.ev.len();
    let late = n.send(CLIENT, SERVER, 1011, 5001, ACK, b"zz", 0.4);
    assert_eq!(&n.rec.ev[before..], &[(1, Ev::Frame(late))]);
    assert_eq!(n.counters.flows_seen, 1);
}

#[test]
fn bytes_in_flight_after_an_rst_are_delivered_until_the_linger_ends() {
    let mut n = Net::new(Limits::default());
    n.handshake(0.0);
    n.send(CLIENT, SERVER, 1001, 5001, ACK, b"abc", 0.1);
    n.send(SERVER, CLIENT, 5001, 1004, RST, b"", 0.2);
    assert!(
        n.rec.closes().is_empty(),
        "the client's segments in flight may follow"
    );
    n.send(CLIENT, SERVER, 1004, 5001, ACK, b"def", 1.0);
    // The peer resets each of them: the connection was reset already.
    n.send(SERVER, CLIENT, 5001, 1007, RST, b"", 1.0);
    assert!(n.rec.closes().is_empty());
    // Another flow's frame past the 2 s linger ends it, as reset.
    n.send("198.18.0.9:1", "198.18.0.8:2", 1, 0, ACK, b"x", 2.3);
    assert_eq!(n.rec.closes(), vec![(1, CloseReason::Rst)]);
    let c = client_dir();
    assert_eq!(n.rec.stream(1, c), b"abcdef".map(Some).to_vec());
    // Later segments only pass on as frames.
    let before = n.rec.ev.len();
    let late = n.send(CLIENT, SERVER, 1007, 5001, ACK, b"gh", 2.4);
    assert_eq!(&n.rec.ev[before..], &[(1, Ev::Frame(late))]);
}

#[test]
fn rsts_from_both_sides_close_at_once() {
    let mut n = Net::new(Limits::default());
    n.handshake(0.0);
    n.send(SERVER, CLIENT, 5001, 1001, RST, b"", 0.2);
    n.send(CLIENT, SERVER, 1001, 5001, RST, b"", 0.3);
    assert_eq!(n.rec.closes(), vec![(1, CloseReason::Rst)]);
}

#[test]
fn midstream_pickup_marks_midstream() {
    let mut n = Net::new(Limits::default());
    // First seen: the server (lower port) talking; no SYN.
    n.send(SERVER, CLIENT, 77, 1, ACK, b"data", 0.0);
    assert_eq!(
        n.rec.ev[0].1,
        Ev::Open {
            client: ep(CLIENT),
            midstream: true
        }
    );
    assert_eq!(
        n.rec.stream(1, client_dir().reverse()),
        b"data".map(Some).to_vec()
    );
}

#[test]
fn idle_timeout_in_packet_time() {
    let limits = Limits {
        idle_timeout_secs: 60,
        ..Limits::default()
    };
    let mut n = Net::new(limits);
    n.send(CLIENT, SERVER, 1, 1, ACK, b"a", 0.0);
    n.send("198.18.0.3:1000", SERVER, 1, 1, ACK, b"b", 59.0);
    n.send("198.18.0.3:1000", SERVER, 2, 1, ACK, b"c", 60.0);
    assert!(
        n.rec.closes().is_empty(),
        "60 s idle is not past the timeout"
    );
    n.send("198.18.0.3:1000", SERVER, 3, 1, ACK, b"d", 60.5);
    assert_eq!(n.rec.closes(), vec![(1, CloseReason::Timeout)]);
    assert_eq!(n.counters.flows_timed_out, 1);
    // The same 4-tuple after expiry is a new (midstream) flow.
    n.send(CLIENT, SERVER, 2, 1, ACK, b"e", 61.0);
    assert_eq!(n.counters.flows_seen, 3);
}

#[test]
fn eviction_of_longest_idle() {
    let limits = Limits {
        max_flows: 2,
        ..Limits::default()
    };
    let mut n = Net::new(limits);
    n.send("198.18.0.3:1000", SERVER, 1, 1, ACK, b"a", 1.0); // flow 1
    n.send("198.18.0.4:1000", SERVER, 1, 1, ACK, b"b", 2.0); // flow 2
    n.send("198.18.0.3:1000", SERVER, 2, 1, ACK, b"c", 3.0); // flow 1 refreshed
    n.send("198.18.0.5:1000", SERVER, 1, 1, ACK, b"d", 4.0); // flow 3 evicts flow 2
    assert_eq!(n.rec.closes(), vec![(2, CloseReason::Evicted)]);
    assert_eq!(n.counters.flows_evicted, 1);
    assert_eq!(n.table.len(), 2);
    n.finish();
    assert_eq!(
        n.rec.closes(),
        vec![
            (2, CloseReason::Evicted),
            (1, CloseReason::EndOfInput),
            (3, CloseReason::EndOfInput)
        ]
    );
    assert!(n.table.is_empty());
}

#[test]
fn syn_after_close_starts_new_flow() {
    let mut n = Net::new(Limits::default());
    n.handshake(0.0);
    n.send(CLIENT, SERVER, 1001, 5001, RST, b"", 0.1);
    n.send(CLIENT, SERVER, 90_000, 0, SYN, b"", 0.2);
    assert_eq!(n.counters.flows_seen, 2);
    assert_eq!(
        n.rec
            .ev
            .iter()
            .filter(|(id, _)| *id == 2)
            .map(|(_, e)| e.clone())
            .next(),
        Some(Ev::Open {
            client: ep(CLIENT),
            midstream: false
        })
    );
    // Likewise after both FINs, even before the final ACK closed the old flow.
    n.send(SERVER, CLIENT, 7000, 90_001, SYNACK, b"", 0.2);
    n.send(CLIENT, SERVER, 90_001, 7001, FIN, b"", 0.3);
    n.send(SERVER, CLIENT, 7001, 90_002, FIN, b"", 0.3);
    n.send(CLIENT, SERVER, 123, 0, SYN, b"", 0.4);
    assert_eq!(
        n.rec.closes(),
        vec![(1, CloseReason::Rst), (2, CloseReason::Fin)]
    );
    assert_eq!(n.counters.flows_seen, 3);
}

#[test]
fn overlap_differing_is_counted() {
    let mut n = Net::new(Limits::default());
    n.handshake(0.0);
    n.send(CLIENT, SERVER, 1004, 5001, ACK, b"def", 0.1);
    n.send(CLIENT, SERVER, 1004, 5001, ACK, b"XYZ", 0.2);
    n.send(CLIENT, SERVER, 1001, 5001, ACK, b"abc", 0.3);
    assert_eq!(n.rec.stream(1, client_dir()), b"abcdef".map(Some).to_vec());
    assert_eq!(n.counters.overlaps_differing, 1);
}

#[test]
fn ooo_limit_forces_gap_and_is_counted() {
    let limits = Limits {
        max_ooo_bytes: stream::piece_cost(100),
        ..Limits::default()
    };
    let mut n = Net::new(limits);
    n.handshake(0.0);
    n.send(CLIENT, SERVER, 1011, 5001, ACK, &[1; 100], 0.1);
    assert_eq!(n.counters.ooo_limit_gaps, 0);
    n.send(CLIENT, SERVER, 1111, 5001, ACK, &[2; 10], 0.2);
    assert_eq!(n.counters.ooo_limit_gaps, 1);
    assert_eq!((n.counters.reassembly_gaps, n.counters.gap_bytes), (1, 10));
    assert_eq!(n.rec.stream(1, client_dir()).len(), 120);
}

#[test]
fn memory_limit_flushes_largest_buffers() {
    let limits = Limits {
        max_reassembly_mem: 3 * stream::piece_cost(1000),
        ..Limits::default()
    };
    let mut n = Net::new(limits);
    // Three flows each buffer bytes behind a one-byte hole; the third has the most.
    for (i, (port, len)) in [(1001, 900usize), (1002, 1000), (1003, 1500)]
        .into_iter()
        .enumerate()
    {
        let c = format!("198.18.0.2:{port}");
        n.send(&c, SERVER, 1, 1, ACK, b"a", i as f64);
        n.send(&c, SERVER, 3, 1, ACK, &vec![7; len], i as f64);
    }
    assert_eq!(n.counters.mem_limit_flushes, 1);
    assert_eq!(
        n.rec
            .ev
            .iter()
            .filter(|(_, e)| matches!(e, Ev::Gap(_, 1)))
            .count(),
        1
    );
    assert_eq!(
        n.table.reassembly_mem(),
        stream::piece_cost(900) + stream::piece_cost(1000)
    );
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn cut(len: usize, cuts: &[usize], base: usize) -> Vec<(usize, usize, usize)> {
        let mut pts: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
        pts.extend([0, len]);
        pts.sort_unstable();
        pts.dedup();
        pts.windows(2).map(|w| (base, w[0], w[1])).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Both directions of one connection, cut, interleaved, reordered and partly sent
        /// twice, with ISNs near 2^32, reassemble to the bytes each side sent.
        #[test]
        fn both_directions_reassemble_through_table(
            up in proptest::collection::vec(any::<u8>(), 0..2000),
            down in proptest::collection::vec(any::<u8>(), 0..2000),
            cuts_up in proptest::collection::vec(any::<usize>(), 0..20),
            cuts_down in proptest::collection::vec(any::<usize>(), 0..20),
            swaps in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..60),
            dups in proptest::collection::vec(any::<usize>(), 0..10),
            isn_c in u32::MAX - 3000..=u32::MAX,
            isn_s in any::<u32>(),
        ) {
            let mut n = Net::new(Limits::default());
            n.send(CLIENT, SERVER, isn_c, 0, SYN, b"", 0.0);
            n.send(SERVER, CLIENT, isn_s, isn_c.wrapping_add(1), SYNACK, b"", 0.0);
            let mut segs = cut(up.len(), &cuts_up, 0);
            segs.extend(cut(down.len(), &cuts_down, 1));
            for d in dups {
                if !segs.is_empty() {
                    let s = segs[d % segs.len()];
                    segs.push(s);
                }
            }
            let k = segs.len();
            for (a, b) in swaps {
                if k > 1 {
                    segs.swap(a % k, b % k);
                }
            }
            for (side, a, b) in segs {
                let (from, to, isn, bytes) = if side == 0 {
                    (CLIENT, SERVER, isn_c, &up)
                } else {
                    (SERVER, CLIENT, isn_s, &down)
                };
                let seq = isn.wrapping_add(1).wrapping_add(a as u32);
                n.send(from, to, seq, 0, ACK, &bytes[a..b], 0.5);
            }
            n.finish();
            let c = client_dir();
            prop_assert_eq!(n.rec.stream(1, c), up.iter().map(|&x| Some(x)).collect::<Vec<_>>());
            prop_assert_eq!(n.rec.stream(1, c.reverse()), down.iter().map(|&x| Some(x)).collect::<Vec<_>>());
            prop_assert_eq!(n.counters.reassembly_gaps, 0);
            prop_assert_eq!(n.counters.flows_seen, 1);
            prop_assert_eq!(n.rec.closes(), vec![(1, CloseReason::EndOfInput)]);
            prop_assert_eq!(n.rec.summaries[0].dirs[c.index()].bytes, up.len() as u64);
        }
    }
}

mod budget;

/// A flow that sent no payload is its slot and map entry only: the slot must stay within
/// `FLOW_SLOT_BYTES` whatever the handler keeps (its state is boxed, made later).
#[test]
fn payload_less_flow_slot_fits_its_byte_budget() {
    use std::mem::size_of;
    let slot = size_of::<Slot<crate::session::handler::FlowState>>();
    assert!(slot <= memory::FLOW_SLOT_BYTES, "slot is {slot} bytes");
    assert_eq!(slot, size_of::<Slot<u32>>());
    assert!(
        size_of::<Conn>() <= 200,
        "conn is {} bytes",
        size_of::<Conn>()
    );
}
