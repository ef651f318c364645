//! Benchmark workloads: large captures of many interleaved conversations, streamed to
//! disk as they are generated so memory stays at a few megabytes whatever the size.
//! Deterministic for a seed. Addresses come from 198.18.0.0/15 (RFC 2544 benchmarking).

use super::pcap::{CaptureSummary, SegmentWriter};
use super::rng::XorShift64;
use super::tcp::{Dir, TcpConv, DEFAULT_MSS};
use oftsniff::capture::Timestamp;
use oftsniff::flow::key::Endpoint;
use oftsniff::proto::{Cookie, FileName, OftChecksum, OftHeader};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// 2024-01-01T00:00:00Z: a fixed start so reruns produce identical files.
const EPOCH: Timestamp = Timestamp(1_704_067_200 * Timestamp::NANOS_PER_SEC);

/// Long bulk transfers, client to server, all running at once.
#[derive(Clone, Debug)]
pub struct Elephants {
    pub flows: usize,
    /// Payload bytes each client sends.
    pub flow_bytes: u64,
    pub seed: u64,
}

impl Default for Elephants {
    /// ≈ 830 MB of capture: 750 flows × 1 MB in full-size segments.
    fn default() -> Self {
        Elephants {
            flows: 750,
            flow_bytes: 1_000_000,
            seed: 1,
        }
    }
}

/// Many short request/response connections, a bounded number open at a time.
#[derive(Clone, Debug)]
pub struct ManyFlows {
    pub flows: usize,
    /// Connections open at the same time.
    pub concurrent: usize,
    /// Request size range (bytes, inclusive).
    pub request: (u64, u64),
    /// Response size range (bytes, inclusive).
    pub response: (u64, u64),
    pub seed: u64,
}

impl Default for ManyFlows {
    /// ≈ 270 MB of capture, ≈ 700,000 frames.
    fn default() -> Self {
        ManyFlows {
            flows: 50_000,
            concurrent: 1_000,
            request: (1_000, 3_000),
            response: (1_000, 4_000),
            seed: 1,
        }
    }
}

/// Direct OFT2 file transfers, many at once: each a handshake, the sender's PROMPT, the
/// receiver's ACK, the file in full-size segments, DONE and FIN. The receiver is the TCP
/// client (it connects to the sender's advertised port), as in the rendezvous.
#[derive(Clone, Debug)]
pub struct OftTransfers {
    pub transfers: usize,
    /// Transfers running at the same time.
    pub concurrent: usize,
    /// Bytes of each file.
    pub file_bytes: u64,
    /// Percent of each file already sent when the capture starts: the frames before
    /// (handshake, PROMPT, ACK, the first data) are not written, as when a monitor is
    /// started during a transfer. 0: from the SYN.
    pub pickup_percent: u8,
    pub seed: u64,
}

impl Default for OftTransfers {
    /// ≈ 420 MB of capture: 400 files × 1 MB, 50 at a time.
    fn default() -> Self {
        OftTransfers {
            transfers: 400,
            concurrent: 50,
            file_bytes: 1_000_000,
            pickup_percent: 0,
            seed: 1,
        }
    }
}

pub fn elephants<W: Write>(spec: &Elephants, out: W) -> io::Result<CaptureSummary> {
    let shape = Shape {
        flows: spec.flows,
        concurrent: spec.flows,
        server_port: 5001,
        // ~10 Gbit/s of full-size frames.
        frame_gap: Duration::from_nanos(1_200),
        seed: spec.seed,
    };
    run(&shape, out, |_rng| Script::new(spec.flow_bytes, 0))
}

pub fn many_flows<W: Write>(spec: &ManyFlows, out: W) -> io::Result<CaptureSummary> {
    let shape = Shape {
        flows: spec.flows,
        concurrent: spec.concurrent,
        server_port: 443,
        frame_gap: Duration::from_micros(2),
        seed: spec.seed,
    };
    let (req, resp) = (spec.request, spec.response);
    run(&shape, out, move |rng| {
        Script::new(rng.range(req.0, req.1), rng.range(resp.0, resp.1))
    })
}

pub fn oft_transfers<W: Write>(spec: &OftTransfers, out: W) -> io::Result<CaptureSummary> {
    let shape = Shape {
        flows: spec.transfers,
        concurrent: spec.concurrent,
        server_port: 5190,
        frame_gap: Duration::from_nanos(1_200),
        seed: spec.seed,
    };
    let size = spec.file_bytes;
    let sent_before_pickup = size * u64::from(spec.pickup_percent.min(100)) / 100;
    run(&shape, out, move |_rng| Script {
        oft: Some(OftStage::Prompt),
        hidden_while_left_above: (sent_before_pickup > 0).then(|| size - sent_before_pickup),
        ..Script::new(0, size)
    })
}

struct Shape {
    flows: usize,
    concurrent: usize,
    server_port: u16,
    /// Time between consecutive frames of the whole capture.
    frame_gap: Duration,
    seed: u64,
}

/// What one connection still has to do. Each turn moves one step: the handshake, up to
/// two full segments of data (one ACK round), or the close.
struct Script {
    /// An OFT transfer: the file is the server-to-client data, framed by OFT headers.
    oft: Option<OftStage>,
    handshake_done: bool,
    c2s_left: u64,
    s2c_left: u64,
    closed: bool,
    /// Frames are not written while more than this many file bytes are still to send.
    hidden_while_left_above: Option<u64>,
}

impl Script {
    fn new(c2s: u64, s2c: u64) -> Self {
        Script {
            oft: None,
            handshake_done: false,
            c2s_left: c2s,
            s2c_left: s2c,
            closed: false,
            hidden_while_left_above: None,
        }
    }

    /// The capture has not started yet for this connection.
    fn hidden(&self) -> bool {
        self.hidden_while_left_above
            .is_some_and(|left| self.s2c_left > left && self.oft != Some(OftStage::Done))
    }
}

/// Where an OFT script stands; the PROMPT carries the file's checksum, so it is built
/// when the connection starts (see `oft_prompt`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum OftStage {
    Prompt,
    Data,
    Done,
}

struct Active {
    /// The PROMPT of an OFT script, and the cookie the receiver answers with.
    prompt: Option<OftHeader>,
    cookie: Cookie,
    conv: TcpConv,
    script: Script,
    payload: XorShift64,
}

/// Two segments per data turn: the peer's ACK follows each pair.
const TURN_BYTES: usize = 2 * DEFAULT_MSS;

fn run<W: Write>(
    shape: &Shape,
    out: W,
    mut script_for: impl FnMut(&mut XorShift64) -> Script,
) -> io::Result<CaptureSummary> {
    let mut rng = XorShift64::new(shape.seed);
    let mut w = SegmentWriter::new(out)?;
    let mut clock = EPOCH;
    let mut started = 0usize;
    let mut active: Vec<Active> = Vec::with_capacity(shape.concurrent.min(shape.flows));
    let mut buf = vec![0u8; TURN_BYTES];

    loop {
        while active.len() < shape.concurrent.max(1) && started < shape.flows {
            let (client, server) = endpoints(started, shape.server_port);
            let conv = TcpConv::new(client, server, clock).with_frame_gap(shape.frame_gap);
            let script = script_for(&mut rng);
            let payload = XorShift64::new(shape.seed ^ (started as u64).wrapping_mul(0x9e37));
            let prompt = script
                .oft
                .map(|_| oft_prompt(started, script.s2c_left, &payload, &mut buf));
            active.push(Active {
                prompt,
                cookie: Cookie((started as u64 + 1).to_be_bytes()),
                conv,
                script,
                payload,
            });
            started += 1;
        }
        if active.is_empty() {
            break;
        }
        let i = rng.below(active.len() as u64) as usize;
        let a = &mut active[i];
        a.conv.catch_up(clock);
        step(a, &mut buf);
        clock = a.conv.now();
        if a.script.hidden() {
            a.conv.take_segments();
        } else {
            w.drain(&mut a.conv)?;
        }
        if a.script.closed {
            active.swap_remove(i);
        }
    }
    let (summary, mut out) = w.finish()?;
    out.flush()?;
    Ok(summary)
}

/// The PROMPT for a file of `size` bytes that `payload` will produce turn by turn.
fn oft_prompt(i: usize, size: u64, payload: &XorShift64, buf: &mut [u8]) -> OftHeader {
    let mut rng = payload.clone();
    let mut sum = OftChecksum::new();
    let mut left = size;
    while left > 0 {
        let n = left.min(TURN_BYTES as u64) as usize;
        rng.fill(&mut buf[..n]);
        sum.update(&buf[..n]);
        left -= n as u64;
    }
    let name = FileName::utf8(&format!("file-{i:06}.bin"));
    // A file of 4 GiB or more: the header holds the low 32 bits of its size, as the
    // clients that send one write it (the full size goes in rendezvous TLV 0x2713).
    let low32 = size as u32;
    OftHeader::prompt(Cookie::default(), name, low32, sum.value(), 1, 1, low32)
}

fn step(a: &mut Active, buf: &mut [u8]) {
    let s = &mut a.script;
    let cookie = a.cookie;
    if !s.handshake_done {
        a.conv.handshake();
        s.handshake_done = true;
    } else if let (Some(OftStage::Prompt), Some(p)) = (s.oft, &a.prompt) {
        a.conv.send(Dir::ServerToClient, &p.emit());
        a.conv.send(Dir::ClientToServer, &p.ack(cookie).emit());
        s.oft = Some(OftStage::Data);
    } else if let (Some(OftStage::Data), Some(p), 0) = (s.oft, &a.prompt, s.s2c_left) {
        let done = p.done(cookie, p.size, p.checksum, true);
        a.conv.send(Dir::ClientToServer, &done.emit());
        s.oft = Some(OftStage::Done);
    } else if s.c2s_left > 0 {
        let n = s.c2s_left.min(TURN_BYTES as u64) as usize;
        a.payload.fill(&mut buf[..n]);
        a.conv.send(Dir::ClientToServer, &buf[..n]);
        s.c2s_left -= n as u64;
    } else if s.s2c_left > 0 {
        let n = s.s2c_left.min(TURN_BYTES as u64) as usize;
        a.payload.fill(&mut buf[..n]);
        a.conv.send(Dir::ServerToClient, &buf[..n]);
        s.s2c_left -= n as u64;
    } else {
        a.conv.close();
        s.closed = true;
    }
}

/// Distinct endpoints for flow `i`: clients spread over 198.18.0.0/16 (65,000 hosts, then
/// the source port moves on), servers over 250 hosts of 198.19.0.0/16.
fn endpoints(i: usize, server_port: u16) -> (Endpoint, Endpoint) {
    const HOSTS: usize = 65_000;
    let host = (i % HOSTS) as u32 + 1;
    let client_ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + host);
    let client_port = 20_000 + ((i / HOSTS) % 40_000) as u16;
    let server_ip = Ipv4Addr::new(198, 19, 0, (i % 250) as u8 + 1);
    (
        Endpoint::new(IpAddr::V4(client_ip), client_port),
        Endpoint::new(IpAddr::V4(server_ip), server_port),
    )
}
