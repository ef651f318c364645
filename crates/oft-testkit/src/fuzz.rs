//! What the fuzz targets (`fuzz/`) and their regression tests (`tests/fuzz_regressions.rs`)
//! share: how a fuzzer's bytes become the input of each stage, and the seed corpora.
//!
//! Every function here drives the product's own public entry points (the parsers, the
//! capture reader, the worker and event loops of `oftsniff::pipeline`), so a finding
//! replays on stable exactly as the fuzzer saw it.

pub mod seeds;

use crate::gen::encode;
use crate::gen::tcp::{Segment, TcpFlags};
use oftsniff::capture::{Frame, FrameNo, OfflineSource, Timestamp};
use oftsniff::config::Limits;
use oftsniff::dispatch::WorkItem;
use oftsniff::flow::key::Endpoint;
use oftsniff::output::sink::EventSink;
use oftsniff::pipeline::events::{event_loop, EventOptions};
use oftsniff::pipeline::worker;
use oftsniff::proto::{flap, odc, oft, proxy, rendezvous};
use oftsniff::session::handler::{SessionHandler, SessionOptions};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The fuzz targets, by the name of their directory under `fuzz/corpus/` and
/// `tests/data/fuzz/`.
pub const TARGETS: &[&str] = &[
    "oft_header",
    "proxy_frame",
    "flap",
    "odc",
    "capture",
    "flow",
];

/// Runs `input` through the target named `target`; false for an unknown name.
pub fn run_target(target: &str, input: &[u8]) -> bool {
    match target {
        "oft_header" => oft_header(input),
        "proxy_frame" => proxy_frame(input),
        "flap" => flap_stream(input),
        "odc" => odc_header(input),
        "capture" => capture_file(input),
        "flow" => {
            flow(input);
        }
        _ => return false,
    }
    true
}

/// The OFT2 header parser, and the emitter on what it accepted: a parsed header must emit
/// and parse again to the same header.
pub fn oft_header(input: &[u8]) {
    let _ = oft::probe_oft(input);
    if let Ok((h, used)) = oft::parse_oft_header(input) {
        assert!(used <= input.len());
        let again = oft::parse_oft_header(&h.emit()).expect("an emitted header parses");
        assert_eq!(again.0.kind, h.kind);
        assert_eq!(again.0.cookie, h.cookie);
    }
}

/// The proxy frame parser on a stream of frames, both probes, and the emitter.
pub fn proxy_frame(input: &[u8]) {
    let _ = proxy::probe_proxy_client(input);
    let _ = proxy::probe_proxy_server(input);
    let mut rest = input;
    while let Ok((frame, used)) = proxy::parse_proxy_frame(rest) {
        assert!(used > 0 && used <= rest.len());
        let _ = proxy::parse_proxy_frame(&frame.emit());
        rest = &rest[used..];
    }
}

/// FLAP frames, their SNACs and the rendezvous (ICBM channel 2) messages inside, as the
/// session's FLAP reader takes them: frame after frame, resynchronising on garbage.
pub fn flap_stream(input: &[u8]) {
    let _ = flap::probe_flap(input);
    let mut rest = input;
    // Each round consumes at least one byte, so this ends.
    while !rest.is_empty() {
        match flap::parse_flap(rest) {
            Ok((frame, used)) => {
                assert!(used > 0 && used <= rest.len());
                if let Ok((_snac, body)) = flap::parse_snac(frame.data) {
                    let _ = rendezvous::parse_icbm(body);
                    let _ = rendezvous::parse_block(body);
                }
                let _ = rendezvous::parse_flap_icbm(rest);
                rest = &rest[used..];
            }
            Err(_) => match flap::resync(&rest[1..]) {
                Some(at) => rest = &rest[1 + at..],
                None => break,
            },
        }
    }
}

/// The ODC2 (Direct IM) header parser and probe.
pub fn odc_header(input: &[u8]) {
    let _ = odc::probe_odc(input);
    if let Ok((h, used)) = odc::parse_odc_header(input) {
        assert!(used <= input.len());
        let _ = h.frame_len();
        let _ = odc::parse_odc_header(&h.emit());
    }
}

/// The pcap/pcapng reader on `input` as a capture file, read to its end or first error.
pub fn capture_file(input: &[u8]) {
    let path = scratch_file();
    if std::fs::write(&path, input).is_err() {
        return;
    }
    if let Ok(mut src) = OfflineSource::open(&path) {
        let mut batch = Vec::new();
        while let Ok(n) = src.next_batch(&mut batch, 64) {
            if n == 0 {
                break;
            }
            batch.clear();
        }
        let _ = src.link_type();
        let _ = src.snaplen();
    }
}

/// One scratch file per process (fuzzers run inputs one after another in a process).
fn scratch_file() -> PathBuf {
    std::env::temp_dir().join(format!("oftsniff-fuzz-capture-{}.bin", std::process::id()))
}

/// The whole per-flow path: `input` read as segments of one TCP connection
/// ([`flow_frames`]) through a worker (decode, reassembly, classification, session
/// machine) and the event loop (time merge, correlator, NDJSON and the readable log with
/// `--explain`), as an offline run with one worker does.
pub fn flow(input: &[u8]) -> FlowOutcome {
    run_frames(flow_frames(input))
}

/// What the event loop reported of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowOutcome {
    /// `transfer` events written.
    pub transfers: u64,
    /// `file` events written.
    pub files: u64,
}

/// Runs `frames` through one worker and the event thread's loop, on this thread.
pub fn run_frames(frames: Vec<Frame>) -> FlowOutcome {
    let limits = Limits::default();
    let opts = SessionOptions {
        explain: true,
        pcap: true,
        with_rendezvous: true,
        ..SessionOptions::default()
    };
    let (work_tx, work_rx) = crossbeam_channel::unbounded();
    let (report_tx, report_rx) = crossbeam_channel::unbounded();
    let _ = work_tx.send(WorkItem::Frames(frames));
    drop(work_tx);
    let handler = SessionHandler::new(0, report_tx, Arc::new(opts), None);
    // The handler (and with it the report sender) is dropped on return, which is how the
    // event loop learns the worker is done.
    let budget = oftsniff::reassembly::MemBudget::new(limits.memcap);
    let _ = worker::run(work_rx, handler, &limits, budget, None, None);
    let Ok(mut sink) = EventSink::open(Some(Path::new("/dev/null")), false, true) else {
        return FlowOutcome::default();
    };
    sink.route_human(Box::new(std::io::sink()));
    let opts = EventOptions {
        live_report: None,
        stop: Default::default(),
        reopen: Default::default(),
        report: Default::default(),
        stats_interval: None,
        board: Default::default(),
        status: None,
        explain: true,
        record: true,
        live: false,
        max_transfers: limits.max_transfers,
        max_held_transfers: limits.max_held_transfers,
        workers: 1,
        max_held_reports: limits.max_held_reports,
        message_link_secs: limits.message_link_secs,
    };
    let done = event_loop(report_rx, sink, None, opts).expect("writing to /dev/null and a sink");
    FlowOutcome {
        transfers: done.transfers,
        files: done.files,
    }
}

/// Bytes of the header of a flow input: client port, server port (big-endian).
const FLOW_HEADER: usize = 4;
/// Bytes of a segment record before its payload: control, seq, ack, payload length.
const RECORD_HEADER: usize = 11;

/// Control bits of a segment record.
mod ctl {
    pub const FROM_SERVER: u8 = 1;
    pub const SYN: u8 = 2;
    pub const FIN: u8 = 4;
    pub const RST: u8 = 8;
    pub const ACK: u8 = 16;
    pub const PSH: u8 = 32;
    /// 61 s of silence before this segment: past the idle and linger timeouts.
    pub const IDLE: u8 = 64;
}

/// The two ends of every fuzzed connection (198.18.0.0/15, the benchmarking range).
fn endpoints(client_port: u16, server_port: u16) -> (Endpoint, Endpoint) {
    (
        Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), client_port),
        Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)), server_port),
    )
}

/// Decodes a flow input: a 4-byte header (client port, server port, big-endian), then
/// records of control (bits: from server, SYN, FIN, RST, ACK, PSH, idle gap), sequence
/// and acknowledgment numbers (u32 LE), payload length (u16 LE) and the payload (cut
/// short at the end of the input). Frames are 1 ms apart unless a record asks for a gap.
pub fn flow_frames(input: &[u8]) -> Vec<Frame> {
    let Some((head, mut rest)) = input.split_at_checked(FLOW_HEADER) else {
        return Vec::new();
    };
    let (client, server) = endpoints(
        u16::from_be_bytes([head[0], head[1]]),
        u16::from_be_bytes([head[2], head[3]]),
    );
    let mut ts = crate::gen::scenarios::START;
    let mut frames = Vec::new();
    while let Some((rec, after)) = rest.split_at_checked(RECORD_HEADER) {
        let c = rec[0];
        let seq = u32::from_le_bytes([rec[1], rec[2], rec[3], rec[4]]);
        let ack = u32::from_le_bytes([rec[5], rec[6], rec[7], rec[8]]);
        let len = usize::from(u16::from_le_bytes([rec[9], rec[10]])).min(after.len());
        let (payload, after) = after.split_at(len);
        rest = after;
        ts = Timestamp(
            ts.0 + if c & ctl::IDLE != 0 {
                61_000_000_000
            } else {
                1_000_000
            },
        );
        let (src, dst) = if c & ctl::FROM_SERVER != 0 {
            (server, client)
        } else {
            (client, server)
        };
        let mut flags = TcpFlags(0);
        for (bit, flag) in [
            (ctl::SYN, TcpFlags::SYN),
            (ctl::FIN, TcpFlags::FIN),
            (ctl::RST, TcpFlags::RST),
            (ctl::ACK, TcpFlags::ACK),
            (ctl::PSH, TcpFlags::PSH),
        ] {
            if c & bit != 0 {
                flags = flags | flag;
            }
        }
        let seg = Segment {
            ts,
            src,
            dst,
            seq,
            ack,
            flags,
            window: 65_535,
            mss_option: None,
            payload: payload.to_vec(),
        };
        let mut frame = encode::frame(&seg);
        frame.no = FrameNo(frames.len() as u64 + 1);
        frames.push(frame);
    }
    frames
}

/// Encodes the segments of one connection as a flow input (the inverse of
/// [`flow_frames`] up to addresses and timing); `client` is the side whose segments are
/// marked as the client's.
pub fn encode_flow(client: Endpoint, server: Endpoint, segs: &[FlowSegment]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&client.port.to_be_bytes());
    out.extend_from_slice(&server.port.to_be_bytes());
    for s in segs {
        let mut c = if s.from_server { ctl::FROM_SERVER } else { 0 };
        for (on, bit) in [
            (s.syn, ctl::SYN),
            (s.fin, ctl::FIN),
            (s.rst, ctl::RST),
            (s.ack, ctl::ACK),
        ] {
            if on {
                c |= bit;
            }
        }
        let len = s.payload.len().min(usize::from(u16::MAX));
        out.push(c);
        out.extend_from_slice(&s.seq.to_le_bytes());
        out.extend_from_slice(&s.ack_no.to_le_bytes());
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&s.payload[..len]);
    }
    out
}

/// One segment of a flow input, as `encode_flow` writes it.
#[derive(Clone, Debug, Default)]
pub struct FlowSegment {
    pub from_server: bool,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub ack: bool,
    pub seq: u32,
    pub ack_no: u32,
    pub payload: Vec<u8>,
}
