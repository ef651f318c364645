//! TCP reassembly: per-direction in-order delivery, connection state, the flow table.
//!
//! The flow table owns each connection and the per-flow state of the layer above
//! (`StreamHandler::State`), so the layer above needs no map of its own and no lock.

pub mod budget;
pub mod conn;
pub mod stream;
pub mod table;

pub use budget::MemBudget;
pub use conn::Conn;
pub use stream::{StreamReassembler, StreamSink};
pub use table::FlowTable;

use crate::capture::{Frame, FrameNo, Timestamp};
use crate::flow::{Direction, Endpoint, FlowKey};

/// Why a connection's record ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    Fin,
    Rst,
    Timeout,
    Evicted,
    EndOfInput,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Fin => "fin",
            CloseReason::Rst => "rst",
            CloseReason::Timeout => "timeout",
            CloseReason::Evicted => "evicted",
            CloseReason::EndOfInput => "end_of_input",
        }
    }
}

/// What is known of a connection when it is opened.
#[derive(Clone, Copy, Debug)]
pub struct ConnMeta {
    pub key: FlowKey,
    /// Direction whose sender is the client (the SYN sender; when picked up midstream,
    /// the peer of the lower-port side).
    pub client_dir: Direction,
    pub midstream: bool,
    pub start: Timestamp,
    pub first_frame: FrameNo,
}

impl ConnMeta {
    pub fn client(&self) -> Endpoint {
        self.key.src(self.client_dir)
    }
    pub fn server(&self) -> Endpoint {
        self.key.dst(self.client_dir)
    }
}

/// Per-direction totals, kept by the reassembler.
#[derive(Clone, Copy, Debug, Default)]
pub struct DirSummary {
    pub packets: u64,
    /// Payload bytes delivered in order.
    pub bytes: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
}

/// Totals of a connection, handed over when it closes.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowSummary {
    /// Indexed by `Direction::index()`.
    pub dirs: [DirSummary; 2],
    /// Payload bytes delivered after the first RST (in flight when it was sent).
    pub bytes_after_reset: u64,
    pub last_seen: Timestamp,
}

/// TCP header fields a consumer may want for a frame (the `--explain` ladder, phases).
#[derive(Clone, Copy, Debug)]
pub struct SegmentMeta {
    pub dir: Direction,
    pub seq: u32,
    pub ack: u32,
    pub flags: crate::decode::TcpFlags,
    /// Advertised window, unscaled as on the wire.
    pub window: u16,
    /// Window scale option, on a SYN that carried one.
    pub wscale: Option<u8>,
    pub payload_len: u32,
    pub ts: Timestamp,
    pub frame: FrameNo,
}

/// Consumer of reassembled streams. Calls for one frame come in this order:
/// `open` (first frame of a flow) → `segment` → any `data`/`gap` the frame made
/// deliverable → `frame` (which takes ownership of the raw frame) → `close` if it ended
/// the flow.
///
/// Other flows' calls may precede a frame's: expiry (`gap`/`data` flushes then `close`
/// with `Timeout`), eviction to make room, or memory-pressure flushes (`gap`/`data`).
/// After `close`, the flow lingers for `Limits::close_linger_secs` of packet time: its late
/// frames (a final ACK, retransmissions after an RST) still reach `frame`, with no
/// `segment` before them, instead of opening a new flow; a new SYN ends the linger.
pub trait StreamHandler {
    /// Per-flow state of the consumer, kept (boxed) with the flow table entry.
    type State: Default;

    /// The handler takes no interest in a flow's frames before it carries data (no pcap
    /// output, no ladder): the table may then put off `open` and the `segment` of a
    /// flow's first pure SYN until the flow's next segment, its close or its eviction,
    /// and skips that SYN's `frame`. A SYN flood then costs no handler state.
    fn lazy_open(&self) -> bool {
        false
    }

    /// The flow is one to keep under memory pressure (a recognized transfer or the
    /// connection carrying its negotiation): evicted only when no other flow is left.
    fn protected(&self, _st: &Self::State) -> bool {
        false
    }

    /// Heap bytes a flow's state holds that the handler can give up under memory
    /// pressure (`shed`), charged to the budget with the flow.
    fn held_cost(&self, _st: &Self::State) -> usize {
        0
    }

    /// Heap bytes a flow's state took as the connection went on that it cannot give up
    /// (parsers' buffers of partial messages), charged to the budget with the flow and
    /// returned only when the flow ends.
    fn buffered_cost(&self, _st: &Self::State) -> usize {
        0
    }

    /// The process is over `--memcap`: give up what `held_cost` counts (and count it).
    /// Called only for flows that are not `protected`.
    fn shed(&mut self, _st: &mut Self::State) {}

    /// The handler's own counters so far, for the counters published while running.
    fn counters(&self) -> Option<&crate::stats::Counters> {
        None
    }

    fn open(&mut self, st: &mut Self::State, conn: &ConnMeta);
    fn segment(&mut self, st: &mut Self::State, conn: &ConnMeta, seg: &SegmentMeta);
    /// In-order payload bytes of `dir`. `frame` (and `ts`) is the frame whose arrival made
    /// them deliverable or, for bytes that waited behind a hole given up later (at close,
    /// at a buffer limit), the frame that carried them: never a later, unrelated frame.
    fn data(
        &mut self,
        st: &mut Self::State,
        conn: &ConnMeta,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
        frame: FrameNo,
    );
    /// `len` bytes of `dir` will never arrive; the stream continues after them.
    fn gap(
        &mut self,
        st: &mut Self::State,
        conn: &ConnMeta,
        dir: Direction,
        len: u64,
        ts: Timestamp,
    );
    /// The raw frame, after its bytes were delivered: hold it, write it, or drop it.
    fn frame(&mut self, st: &mut Self::State, conn: &ConnMeta, frame: Frame);
    fn close(
        &mut self,
        st: &mut Self::State,
        conn: &ConnMeta,
        summary: &FlowSummary,
        reason: CloseReason,
        ts: Timestamp,
    );
    /// Every frame up to `frame` has been handed out to the workers: the frame being
    /// processed, or the dispatcher's tick, before the expiry either brings. No default:
    /// a wrapper that did not pass it on would put reports out of order (see
    /// `session::merge`).
    fn handed_out(&mut self, frame: FrameNo);
    /// The worker finished a batch of frames (or a tick) with its packet clock at `now`:
    /// a good moment to hand on what was gathered.
    fn batch_end(&mut self, _now: Timestamp) {}
}
