//! The generator is only useful if what it writes is real TCP: these tests parse its frames
//! back with an independent decoder (etherparse slicing, tshark) and check checksums,
//! sequence continuity and that the payload reassembles to what was scripted.

use super::mutate::{Mutations, Mutator};
use super::pcap::PcapBuilder;
use super::rng::XorShift64;
use super::tcp::{Dir, Segment, TcpConv, TcpFlags};
use super::workloads;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use oftsniff::capture::{Frame, Timestamp};
use oftsniff::flow::key::Endpoint;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;

fn v4(last: u8, port: u16) -> Endpoint {
    Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, last)), port)
}
fn v6(last: u16, port: u16) -> Endpoint {
    Endpoint::new(
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)),
        port,
    )
}
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    XorShift64::new(seed).fill(&mut v);
    v
}

/// A frame decoded by etherparse, its checksums verified.
struct Parsed {
    src: Endpoint,
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    fin: bool,
    rst: bool,
    payload: Vec<u8>,
}

fn parse(f: &Frame) -> Parsed {
    let p = SlicedPacket::from_ethernet(&f.data).expect("frame slices as Ethernet");
    let Some(TransportSlice::Tcp(tcp)) = &p.transport else {
        panic!("frame {} carries no TCP", f.no)
    };
    let (src_ip, computed) = match &p.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header();
            assert_eq!(
                h.header_checksum(),
                h.to_header().calc_header_checksum(),
                "IPv4 header checksum of frame {}",
                f.no
            );
            let c = tcp.calc_checksum_ipv4(h.source(), h.destination()).unwrap();
            (IpAddr::V4(h.source_addr()), c)
        }
        Some(NetSlice::Ipv6(ip)) => {
            let h = ip.header();
            let c = tcp.calc_checksum_ipv6(h.source(), h.destination()).unwrap();
            (IpAddr::V6(h.source_addr()), c)
        }
        _ => panic!("frame {} carries no IP", f.no),
    };
    assert_eq!(tcp.checksum(), computed, "TCP checksum of frame {}", f.no);
    assert_eq!(f.orig_len as usize, f.data.len());
    Parsed {
        src: Endpoint::new(src_ip, tcp.source_port()),
        seq: tcp.sequence_number(),
        ack: tcp.ack().then(|| tcp.acknowledgment_number()),
        syn: tcp.syn(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload: tcp.payload().to_vec(),
    }
}

/// Walks the frames of one unmutated conversation in order, asserting that each side's
/// sequence numbers run on without gap or overlap; returns each side's payload stream.
fn stream_of(frames: &[Frame], client: Endpoint) -> [Vec<u8>; 2] {
    let mut next: [Option<u32>; 2] = [None, None];
    let mut out = [Vec::new(), Vec::new()];
    for f in frames {
        let p = parse(f);
        let d = usize::from(p.src != client);
        if let Some(n) = next[d] {
            assert_eq!(p.seq, n, "frame {}: sequence continues", f.no);
        }
        let mut len = p.payload.len() as u32;
        if p.syn || p.fin {
            len += 1;
        }
        next[d] = Some(p.seq.wrapping_add(len));
        out[d].extend_from_slice(&p.payload);
    }
    out
}

fn scripted(client: Endpoint, server: Endpoint, isns: (u32, u32)) -> (TcpConv, Vec<u8>, Vec<u8>) {
    let req = bytes(1, 5_000);
    let resp = bytes(2, 30_001);
    let mut c =
        TcpConv::new(client, server, Timestamp::from_parts(1_000, 0)).with_isns(isns.0, isns.1);
    c.handshake();
    c.send(Dir::ClientToServer, &req);
    c.send(Dir::ServerToClient, &resp);
    c.close();
    (c, req, resp)
}

#[test]
fn ipv4_frames_parse_with_valid_checksums_and_reassemble_across_seq_wrap() {
    let (c, req, resp) = scripted(v4(1, 40_000), v4(2, 80), (u32::MAX - 2_000, u32::MAX - 1));
    let [c2s, s2c] = stream_of(&c.frames(), c.client());
    assert_eq!(c2s, req);
    assert_eq!(s2c, resp);
    // Both directions really did cross 2^32.
    assert!(c.next_seq(Dir::ClientToServer) < 10_000);
    assert!(c.next_seq(Dir::ServerToClient) < 40_000);
}

#[test]
fn ipv6_frames_parse_with_valid_checksums_and_reassemble() {
    let (c, req, resp) = scripted(v6(1, 40_000), v6(2, 80), (7, 1_000_000));
    let [c2s, s2c] = stream_of(&c.frames(), c.client());
    assert_eq!(c2s, req);
    assert_eq!(s2c, resp);
}

#[test]
fn handshake_and_close_follow_tcp_numbering() {
    let mut c = TcpConv::new(v4(1, 1), v4(2, 2), Timestamp(0)).with_isns(100, 500);
    c.handshake();
    c.close();
    let p: Vec<Parsed> = c.frames().iter().map(parse).collect();
    let shape: Vec<(bool, u32, Option<u32>, bool, bool)> = p
        .iter()
        .map(|p| (p.src == c.client(), p.seq, p.ack, p.syn, p.fin))
        .collect();
    assert_eq!(
        shape,
        vec![
            (true, 100, None, true, false),       // SYN
            (false, 500, Some(101), true, false), // SYN-ACK
            (true, 101, Some(501), false, false), // ACK
            (true, 101, Some(501), false, true),  // client FIN
            (false, 501, Some(102), false, false),
            (false, 501, Some(102), false, true), // server FIN
            (true, 102, Some(502), false, false),
        ]
    );
}

#[test]
fn send_cuts_at_mss_and_the_peer_acks_every_second_segment() {
    let mut c = TcpConv::new(v4(1, 1), v4(2, 2), Timestamp(0)).with_mss(1000);
    c.send(Dir::ClientToServer, &bytes(3, 4_500));
    let lens: Vec<(bool, usize)> = c
        .segments()
        .iter()
        .map(|s| (s.src == c.client(), s.payload.len()))
        .collect();
    assert_eq!(
        lens,
        vec![
            (true, 1000),
            (true, 1000),
            (false, 0),
            (true, 1000),
            (true, 1000),
            (false, 0),
            (true, 500),
            (false, 0),
        ]
    );
    let last = &c.segments()[7];
    assert_eq!(last.ack, c.next_seq(Dir::ClientToServer));
    assert!(c.segments()[6].flags.contains(TcpFlags::PSH));
}

#[test]
fn send_segment_keeps_a_split_exactly_where_asked() {
    let header = bytes(4, 256);
    let mut c = TcpConv::midstream(v4(1, 1), v4(2, 2), Timestamp(0));
    c.send_segment(Dir::ServerToClient, &header[..100]);
    c.send_segment(Dir::ServerToClient, &header[100..]);
    let frames = c.frames();
    assert_eq!(frames.len(), 2);
    let [_, s2c] = stream_of(&frames, c.client());
    assert_eq!(s2c, header);
    assert_eq!(parse(&frames[0]).payload.len(), 100);
    assert_eq!(parse(&frames[1]).payload.len(), 156);
}

#[test]
fn rst_and_keepalive_sit_where_a_stack_puts_them() {
    let mut c = TcpConv::new(v4(1, 1), v4(2, 2), Timestamp(0)).with_isns(10, 20);
    c.send(Dir::ClientToServer, b"abc");
    c.keepalive(Dir::ClientToServer);
    c.rst(Dir::ServerToClient);
    let p: Vec<Parsed> = c.frames().iter().map(parse).collect();
    // data, ACK, keep-alive one byte below the next sequence number, RST.
    assert_eq!(p[2].seq, 11 + 3 - 1);
    assert_eq!(p[2].payload.len(), 1);
    assert!(p[3].rst);
    assert_eq!(p[3].seq, 21);
}

#[test]
fn timestamps_advance_and_idle_time_is_inserted() {
    let mut c = TcpConv::new(v4(1, 1), v4(2, 2), Timestamp(1_000));
    c.handshake();
    c.advance(std::time::Duration::from_secs(5));
    c.send(Dir::ClientToServer, b"x");
    let ts: Vec<u64> = c.segments().iter().map(|s| s.ts.0).collect();
    assert!(ts.windows(2).all(|w| w[0] < w[1]));
    assert!(ts[3] - ts[2] >= 5_000_000_000);
}

fn mutated(seed: u64, m: &Mutations) -> (Vec<Segment>, Vec<super::Hole>, TcpConv, Vec<u8>) {
    let (c, req, _) = scripted(v4(1, 40_000), v4(2, 80), (u32::MAX - 5_000, 77));
    let mut segs = c.segments().to_vec();
    let holes = Mutator::new(seed).apply(&mut segs, m);
    (segs, holes, c, req)
}

fn heavy() -> Mutations {
    Mutations {
        drop: 0.1,
        duplicate: 0.2,
        overlap: 0.3,
        conflicting_overlaps: false,
        reorder_window: 5,
    }
}

#[test]
fn mutation_with_the_same_seed_is_deterministic() {
    let (a, ha, _, _) = mutated(42, &heavy());
    let (b, hb, _, _) = mutated(42, &heavy());
    let (c, _, _, _) = mutated(43, &heavy());
    assert_eq!(a, b);
    assert_eq!(ha, hb);
    assert_ne!(a, c);
}

#[test]
fn mutated_stream_holds_every_byte_but_the_holes_and_only_original_bytes() {
    for seed in 0..20 {
        let (segs, holes, conv, req) = mutated(seed, &heavy());
        let isn = conv.isn(Dir::ClientToServer);
        let offset = |seq: u32| seq.wrapping_sub(isn.wrapping_add(1)) as usize;
        let mut seen: BTreeMap<usize, u8> = BTreeMap::new();
        let frames = PcapBuilder::new().add_segments(&segs).len();
        assert_eq!(frames, segs.len());
        for s in segs.iter().filter(|s| s.src == conv.client()) {
            for (i, &b) in s.payload.iter().enumerate() {
                let at = offset(s.seq) + i;
                assert_eq!(
                    b, req[at],
                    "seed {seed}: byte {at} differs from the original"
                );
                seen.insert(at, b);
            }
        }
        let mut missing = vec![false; req.len()];
        for h in holes.iter().filter(|h| h.src == conv.client()) {
            for m in &mut missing[offset(h.seq)..offset(h.seq) + h.len as usize] {
                *m = true;
            }
        }
        for (at, m) in missing.iter().enumerate() {
            assert_eq!(seen.contains_key(&at), !m, "seed {seed}: byte {at}");
        }
        let ts: Vec<Timestamp> = segs.iter().map(|s| s.ts).collect();
        assert!(
            ts.windows(2).all(|w| w[0] <= w[1]),
            "capture order is time order"
        );
    }
}

#[test]
fn mutations_actually_happen_at_these_rates() {
    let (segs, holes, conv, _) = mutated(9, &heavy());
    assert!(!holes.is_empty());
    assert!(segs.len() > conv.segments().len() - holes.len());
    let in_order = segs
        .iter()
        .filter(|s| s.src == conv.client() && !s.payload.is_empty())
        .map(|s| s.seq.wrapping_sub(conv.isn(Dir::ClientToServer)))
        .collect::<Vec<_>>()
        .windows(2)
        .all(|w| w[0] < w[1]);
    assert!(
        !in_order,
        "reordering, duplicates or overlaps break sequence order"
    );
}

#[test]
fn conflicting_overlaps_carry_different_bytes() {
    let m = Mutations {
        overlap: 1.0,
        conflicting_overlaps: true,
        ..Mutations::default()
    };
    let (segs, holes, conv, req) = mutated(1, &m);
    assert!(holes.is_empty());
    let isn = conv.isn(Dir::ClientToServer);
    let differing = segs
        .iter()
        .filter(|s| s.src == conv.client() && !s.payload.is_empty())
        .filter(|s| {
            let at = s.seq.wrapping_sub(isn.wrapping_add(1)) as usize;
            s.payload != req[at..at + s.payload.len()]
        })
        .count();
    assert!(differing > 0);
}

#[test]
fn pcap_builder_merges_conversations_in_time_order() {
    let mut a = TcpConv::new(v4(1, 1), v4(2, 2), Timestamp(1_000));
    let mut b = TcpConv::new(v4(3, 3), v4(4, 4), Timestamp(1_005));
    a.handshake();
    b.handshake();
    let mut pb = PcapBuilder::new();
    pb.add_conv(&a).add_conv(&b);
    let frames = pb.into_frames();
    assert_eq!(frames.len(), 6);
    assert!(frames.windows(2).all(|w| w[0].ts <= w[1].ts));
    assert!(frames
        .iter()
        .enumerate()
        .all(|(i, f)| f.no.0 == i as u64 + 1));
    let (first, second) = (parse(&frames[0]), parse(&frames[1]));
    assert_ne!(first.src, second.src, "the two conversations interleave");
}

/// Records of a classic pcap stream: (timestamp nanos, frame bytes).
fn records(pcap: &[u8]) -> Vec<(u64, &[u8])> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let u = |o: usize| u32::from_le_bytes(pcap[at + o..at + o + 4].try_into().unwrap());
        let ts = u(0) as u64 * 1_000_000_000 + u(4) as u64;
        let len = u(8) as usize;
        out.push((ts, &pcap[at + 16..at + 16 + len]));
        at += 16 + len;
    }
    assert_eq!(at, pcap.len(), "no trailing partial record");
    out
}

fn in_benchmark_net(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(a) if a.octets()[0] == 198 && (a.octets()[1] & 0xfe) == 18)
}

#[test]
fn elephants_stream_valid_deterministic_frames_and_the_scripted_bytes() {
    let spec = workloads::Elephants {
        flows: 6,
        flow_bytes: 50_001,
        seed: 5,
    };
    let mut out = Vec::new();
    let sum = workloads::elephants(&spec, &mut out).unwrap();
    assert_eq!(sum.bytes as usize, out.len());
    let recs = records(&out);
    assert_eq!(recs.len() as u64, sum.frames);
    assert!(recs.windows(2).all(|w| w[0].0 <= w[1].0));
    let mut per_client: BTreeMap<Endpoint, usize> = BTreeMap::new();
    let mut fins = 0;
    for (ts, data) in &recs {
        let f = Frame {
            no: oftsniff::capture::FrameNo(0),
            ts: Timestamp(*ts),
            orig_len: data.len() as u32,
            link: oftsniff::capture::LinkType::Ethernet,
            data: data.to_vec().into(),
        };
        let p = parse(&f);
        assert!(in_benchmark_net(p.src.ip));
        assert!(p.payload.len() <= super::tcp::DEFAULT_MSS);
        if p.src.port != 5001 {
            *per_client.entry(p.src).or_default() += p.payload.len();
        }
        fins += usize::from(p.fin);
    }
    assert_eq!(per_client.len(), 6);
    assert!(per_client.values().all(|&n| n == 50_001));
    assert_eq!(fins, 12);
    let mut again = Vec::new();
    workloads::elephants(&spec, &mut again).unwrap();
    assert_eq!(out, again, "same seed, same file");
}

#[test]
fn many_flows_opens_and_closes_every_flow() {
    let spec = workloads::ManyFlows {
        flows: 300,
        concurrent: 20,
        seed: 3,
        ..workloads::ManyFlows::default()
    };
    let mut out = Vec::new();
    workloads::many_flows(&spec, &mut out).unwrap();
    let (mut syns, mut fins) = (0, 0);
    for (_, data) in records(&out) {
        let p = SlicedPacket::from_ethernet(data).unwrap();
        let Some(TransportSlice::Tcp(t)) = p.transport else {
            panic!("not TCP")
        };
        syns += usize::from(t.syn() && !t.ack());
        fins += usize::from(t.fin());
    }
    assert_eq!(syns, 300);
    assert_eq!(fins, 600);
}

fn tshark() -> Option<&'static str> {
    let ok = Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: tshark not installed (apt-get install tshark)");
    }
    ok.then_some("tshark")
}

#[test]
fn tshark_reads_the_pcap_and_finds_nothing_wrong() {
    let Some(tshark) = tshark() else { return };
    let dir = TempDir::new("tshark");
    let path = dir.0.join("conv.pcap");
    let (a, _, _) = scripted(v4(1, 40_000), v4(2, 80), (u32::MAX - 100, 5));
    let (b, _, _) = scripted(v6(1, 40_001), v6(2, 443), (1, 2));
    let mut pb = PcapBuilder::new();
    pb.add_conv(&a).add_conv(&b);
    let n = pb.write_file(&path).unwrap();

    let q = Command::new(tshark)
        .arg("-r")
        .arg(&path)
        .arg("-q")
        .output()
        .unwrap();
    assert!(q.status.success(), "{}", String::from_utf8_lossy(&q.stderr));
    let count = |filter: &str| {
        let o = Command::new(tshark)
            .args([
                "-o",
                "tcp.check_checksum:TRUE",
                "-o",
                "ip.check_checksum:TRUE",
            ])
            .arg("-r")
            .arg(&path)
            .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).lines().count() as u64
    };
    assert_eq!(count("frame"), n);
    assert_eq!(count("tcp"), n);
    let complaints = "tcp.checksum.status == 2 || ip.checksum.status == 2 || \
                      tcp.analysis.lost_segment || tcp.analysis.retransmission || \
                      tcp.analysis.out_of_order || tcp.analysis.ack_lost_segment || \
                      tcp.analysis.flags || _ws.malformed";
    // Application dissectors may grumble about the random payload; the TCP/IP layers must not.
    assert_eq!(
        count(complaints),
        0,
        "tshark flags nothing in a clean conversation"
    );
}

/// A scratch directory removed even when the test fails.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("oftgen-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

#[test]
fn every_scenario_writes_a_pcap_tshark_reads_in_full() {
    let Some(tshark) = tshark() else { return };
    let dir = TempDir::new("scenarios");
    for sc in super::scenarios::SCENARIOS {
        let path = dir.0.join(format!("{}.pcap", sc.name));
        let n = (sc.build)(1).write_file(&path).unwrap();
        assert!(n > 0, "{}", sc.name);
        let o = Command::new(tshark)
            .arg("-r")
            .arg(&path)
            .args(["-T", "fields", "-e", "frame.number"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            sc.name,
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).lines().count() as u64,
            n,
            "{}",
            sc.name
        );
    }
}
