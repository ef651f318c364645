//! Seed corpora for the fuzz targets, cut from the generated scenarios and the captures
//! under `tests/data/`: OFT2 headers, proxy frames and FLAP frames as they appear in
//! their streams, whole connections as flow inputs, and the capture files themselves.
//! ODC2 headers appear in no capture, so they are made with the emitter.

use super::{encode_flow, FlowSegment};
use crate::gen::scenarios::SCENARIOS;
use oftsniff::capture::{Frame, OfflineSource};
use oftsniff::decode::decode_tcp;
use oftsniff::flow::key::Endpoint;
use oftsniff::proto::odc::OdcHeader;
use oftsniff::proto::{flap, proxy, Cookie};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

/// A flow seed longer than this keeps only its first records: the corpus stays small,
/// and the openings (handshake, PROMPT, proxy setup, rendezvous) are what varies.
const MAX_FLOW_SEED: usize = 12 << 10;
/// Capture files larger than this are not used as seeds.
const MAX_CAPTURE_SEED: usize = 16 << 10;
/// Scenarios also written as capture seeds, cut to their first bytes (the rest is more of
/// the same records): IPv4, IPv6 and a proxied transfer.
const CAPTURE_SCENARIOS: &[&str] = &["oft-direct", "conn-v6", "oft-proxy-stage1"];
const SCENARIO_CAPTURE_BYTES: usize = 6 << 10;

/// Seeds per target, deduplicated.
#[derive(Default)]
pub struct Seeds(pub BTreeMap<&'static str, BTreeSet<Vec<u8>>>);

impl Seeds {
    fn add(&mut self, target: &'static str, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.0.entry(target).or_default().insert(bytes);
        }
    }

    /// Writes each seed to `dir/<target>/<hash of its bytes>`; returns (target, files,
    /// bytes) per target.
    pub fn write(&self, dir: &Path) -> io::Result<Vec<(&'static str, usize, usize)>> {
        let mut summary = Vec::new();
        for (target, seeds) in &self.0 {
            let sub = dir.join(target);
            std::fs::create_dir_all(&sub)?;
            for s in seeds {
                std::fs::write(sub.join(format!("seed-{:016x}", fnv1a(s))), s)?;
            }
            summary.push((*target, seeds.len(), seeds.iter().map(Vec::len).sum()));
        }
        Ok(summary)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every seed: from the scenarios (seed 1), from the captures and raw headers in
/// `data_dir` (the repository's `tests/data`), and the made ODC2 headers.
pub fn collect(data_dir: &Path) -> io::Result<Seeds> {
    let mut seeds = Seeds::default();
    for sc in SCENARIOS {
        if CAPTURE_SCENARIOS.contains(&sc.name) {
            let mut pcap = Vec::new();
            (sc.build)(1).write_to(&mut pcap)?;
            pcap.truncate(SCENARIO_CAPTURE_BYTES);
            seeds.add("capture", pcap);
        }
        let frames = (sc.build)(1).into_frames();
        from_frames(&mut seeds, &frames);
    }
    for entry in std::fs::read_dir(data_dir)? {
        let path = entry?.path();
        let bytes = std::fs::read(&path)?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("pcap" | "pcapng") => {
                if bytes.len() <= MAX_CAPTURE_SEED {
                    seeds.add("capture", bytes);
                }
                from_frames(&mut seeds, &read_frames(&path));
            }
            Some("oft2") => seeds.add("oft_header", bytes),
            _ => {}
        }
    }
    for s in odc_headers() {
        seeds.add("odc", s);
    }
    Ok(seeds)
}

fn read_frames(path: &Path) -> Vec<Frame> {
    let mut frames = Vec::new();
    if let Ok(mut src) = OfflineSource::open(path) {
        while matches!(src.next_batch(&mut frames, 256), Ok(n) if n > 0) {}
    }
    frames
}

/// One connection's segments in capture order, and its client.
pub struct Conn {
    pub client: Endpoint,
    pub server: Endpoint,
    pub segs: Vec<FlowSegment>,
}

impl Conn {
    /// The whole connection as an input of the `flow` target.
    pub fn flow_input(&self) -> Vec<u8> {
        encode_flow(self.client, self.server, &self.segs)
    }
}

fn from_frames(seeds: &mut Seeds, frames: &[Frame]) {
    for conn in connections(frames) {
        let mut flow = conn.flow_input();
        if flow.len() > MAX_FLOW_SEED {
            flow = encode_flow(conn.client, conn.server, &first_records(&conn.segs));
        }
        seeds.add("flow", flow);
        for from_server in [false, true] {
            from_stream(seeds, &in_order_stream(&conn.segs, from_server));
        }
    }
}

/// The TCP connections in `frames`, each with its segments in capture order.
pub fn connections(frames: &[Frame]) -> Vec<Conn> {
    let mut conns: BTreeMap<(Endpoint, Endpoint), Conn> = BTreeMap::new();
    for f in frames {
        let Ok(pkt) = decode_tcp(f.link, &f.data) else {
            continue;
        };
        let key = if pkt.src < pkt.dst {
            (pkt.src, pkt.dst)
        } else {
            (pkt.dst, pkt.src)
        };
        let conn = conns.entry(key).or_insert_with(|| Conn {
            // The sender of the first segment seen; a SYN-ACK first means the other end.
            client: if pkt.flags.syn() && pkt.flags.ack() {
                pkt.dst
            } else {
                pkt.src
            },
            server: if pkt.flags.syn() && pkt.flags.ack() {
                pkt.src
            } else {
                pkt.dst
            },
            segs: Vec::new(),
        });
        conn.segs.push(FlowSegment {
            from_server: pkt.src == conn.server,
            syn: pkt.flags.syn(),
            fin: pkt.flags.fin(),
            rst: pkt.flags.rst(),
            ack: pkt.flags.ack(),
            seq: pkt.seq,
            ack_no: pkt.ack,
            payload: f.data[pkt.payload.clone()].to_vec(),
        });
    }
    conns.into_values().collect()
}

/// The records of `segs` that fit `MAX_FLOW_SEED` encoded, from the first.
fn first_records(segs: &[FlowSegment]) -> Vec<FlowSegment> {
    let mut used = 4;
    segs.iter()
        .take_while(|s| {
            used += 11 + s.payload.len();
            used <= MAX_FLOW_SEED
        })
        .cloned()
        .collect()
}

/// One direction's bytes, taking each segment that continues the stream exactly (the
/// scenarios used here carry their data in order; a retransmit or a gap is left out).
fn in_order_stream(segs: &[FlowSegment], from_server: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut next: Option<u32> = None;
    for s in segs.iter().filter(|s| s.from_server == from_server) {
        let start = if s.syn { s.seq.wrapping_add(1) } else { s.seq };
        if next.is_none_or(|n| n == start) {
            out.extend_from_slice(&s.payload);
            next = Some(start.wrapping_add(s.payload.len() as u32));
        }
    }
    out
}

/// OFT2 headers wherever the magic appears, proxy frames and FLAP frames from the start of
/// a stream that begins with them.
fn from_stream(seeds: &mut Seeds, stream: &[u8]) {
    for at in (0..stream.len().saturating_sub(6)).filter(|&i| &stream[i..i + 4] == b"OFT2") {
        let len = usize::from(u16::from_be_bytes([stream[at + 4], stream[at + 5]]));
        seeds.add(
            "oft_header",
            stream[at..(at + len).min(stream.len())].to_vec(),
        );
    }
    let mut rest = stream;
    while let Ok((_, used)) = proxy::parse_proxy_frame(rest) {
        seeds.add("proxy_frame", rest[..used].to_vec());
        rest = &rest[used..];
    }
    let mut rest = stream;
    while let Ok((_, used)) = flap::parse_flap(rest) {
        seeds.add("flap", rest[..used].to_vec());
        rest = &rest[used..];
    }
}

/// ODC2 headers as Direct IM clients send them: the cookie frame, typing notices, and
/// messages with their payload, plus a longer header and one cut short.
fn odc_headers() -> Vec<Vec<u8>> {
    let cookie = Cookie(*b"\x01\x23\x45\x67\x89\xab\xcd\xef");
    let msg = b"<HTML><BODY>hello</BODY></HTML>";
    let mut out = Vec::new();
    for (flags, payload) in [
        (0x0060, &b""[..]),
        (0x0002, &b""[..]),
        (0x000e, &b""[..]),
        (0x0000, &msg[..]),
    ] {
        let mut frame = OdcHeader::message(cookie, "alice198", payload.len() as u32, flags).emit();
        frame.extend_from_slice(payload);
        out.push(frame);
    }
    let mut long = OdcHeader::message(cookie, "bob", 4, 0);
    long.length = 0x0080;
    let mut frame = long.emit();
    frame.extend_from_slice(b"abcd");
    out.push(frame);
    let mut cut = OdcHeader::message(cookie, "carol", 0, 0).emit();
    cut.truncate(40);
    out.push(cut);
    out
}
