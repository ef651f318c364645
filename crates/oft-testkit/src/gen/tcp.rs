//! Scripted TCP conversations: a test or workload says what each side sends, and the
//! conversation turns that into the segments two well-behaved stacks would put on the wire
//! (sequence and acknowledgement numbers, SYN/FIN/RST, delayed ACKs every second segment).
//! Segments stay logical here; `encode` turns them into frames.

use oftsniff::capture::{Frame, Timestamp};
use oftsniff::flow::key::{Endpoint, FnvHasher};
use std::hash::{Hash, Hasher};
use std::time::Duration;

/// Which way a segment travels, named from the connection's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    ClientToServer,
    ServerToClient,
}

impl Dir {
    pub fn reverse(self) -> Dir {
        match self {
            Dir::ClientToServer => Dir::ServerToClient,
            Dir::ServerToClient => Dir::ClientToServer,
        }
    }
    fn index(self) -> usize {
        match self {
            Dir::ClientToServer => 0,
            Dir::ServerToClient => 1,
        }
    }
}

/// TCP header flags, as the bits of the header's flag byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);

    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

/// One TCP segment as it will appear on the wire, before link/IP framing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub ts: Timestamp,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    /// Meaningful only when `flags` contains ACK.
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// MSS option to put in a SYN; `None` elsewhere.
    pub mss_option: Option<u16>,
    pub payload: Vec<u8>,
}

impl Segment {
    /// Sequence space the segment occupies (payload plus one each for SYN and FIN).
    pub fn seq_len(&self) -> u32 {
        let mut n = self.payload.len() as u32;
        if self.flags.contains(TcpFlags::SYN) {
            n = n.wrapping_add(1);
        }
        if self.flags.contains(TcpFlags::FIN) {
            n = n.wrapping_add(1);
        }
        n
    }
}

/// Largest payload one segment may carry: an IPv4 total length must fit 16 bits.
pub const MAX_SEGMENT_PAYLOAD: usize = 65_535 - 20 - 20;

/// Default segment size: a 1500-byte MTU less IPv4, TCP and a timestamps option.
pub const DEFAULT_MSS: usize = 1448;

/// Default spacing between consecutive segments of one conversation.
pub const DEFAULT_FRAME_GAP: Duration = Duration::from_micros(10);

const DEFAULT_WINDOW: u16 = 64_240;

#[derive(Clone, Debug)]
struct Side {
    isn: u32,
    /// Next sequence number this side will send.
    next_seq: u32,
    /// Data segments sent since the peer last acknowledged.
    unacked_segments: usize,
}

/// A scripted TCP connection between `client` and `server`. Every method appends the
/// segments it produces, stamped from the conversation's clock, which then moves on by the
/// frame gap; `advance` inserts idle time.
///
/// A conversation that is never given `handshake()` is one a sniffer picks up midstream.
#[derive(Clone, Debug)]
pub struct TcpConv {
    client: Endpoint,
    server: Endpoint,
    now: Timestamp,
    mss: usize,
    ack_every: usize,
    frame_gap: Duration,
    sides: [Side; 2],
    segments: Vec<Segment>,
}

impl TcpConv {
    /// Both endpoints must be of the same IP family (a generator bug otherwise, so this
    /// panics). Initial sequence numbers are derived from the endpoints, so distinct
    /// connections differ and a rerun gives the same numbers; `with_isns` overrides them.
    pub fn new(client: Endpoint, server: Endpoint, start: Timestamp) -> Self {
        assert_eq!(
            client.ip.is_ipv4(),
            server.ip.is_ipv4(),
            "TcpConv: client {client} and server {server} must share an IP family"
        );
        let isn = |a: Endpoint, b: Endpoint| {
            let mut h = FnvHasher::default();
            (a, b).hash(&mut h);
            h.finish() as u32
        };
        TcpConv {
            client,
            server,
            now: start,
            mss: DEFAULT_MSS,
            ack_every: 2,
            frame_gap: DEFAULT_FRAME_GAP,
            sides: [
                Side::new(isn(client, server)),
                Side::new(isn(server, client)),
            ],
            segments: Vec::new(),
        }
    }

    /// Same as `new`; names the intent of a conversation that starts without a handshake.
    pub fn midstream(client: Endpoint, server: Endpoint, start: Timestamp) -> Self {
        Self::new(client, server, start)
    }

    /// Initial sequence numbers of each side (e.g. just below 2^32 to exercise wrap).
    /// Call before sending anything.
    pub fn with_isns(mut self, client_isn: u32, server_isn: u32) -> Self {
        self.sides = [Side::new(client_isn), Side::new(server_isn)];
        self
    }

    /// Largest payload `send` puts in one segment (clamped to 1..=MAX_SEGMENT_PAYLOAD).
    pub fn with_mss(mut self, mss: usize) -> Self {
        self.mss = mss.clamp(1, MAX_SEGMENT_PAYLOAD);
        self
    }

    /// The peer acknowledges after this many data segments (at least 1).
    pub fn with_ack_every(mut self, n: usize) -> Self {
        self.ack_every = n.max(1);
        self
    }

    pub fn with_frame_gap(mut self, gap: Duration) -> Self {
        self.frame_gap = gap;
        self
    }

    pub fn client(&self) -> Endpoint {
        self.client
    }
    pub fn server(&self) -> Endpoint {
        self.server
    }
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Moves the clock to `t` if that is later (streams interleaving several conversations
    /// keep one clock this way).
    pub fn catch_up(&mut self, t: Timestamp) {
        self.now = self.now.max(t);
    }

    /// Idle time before the next segment.
    pub fn advance(&mut self, d: Duration) {
        self.now = Timestamp(self.now.0.saturating_add(d.as_nanos() as u64));
    }

    pub fn isn(&self, dir: Dir) -> u32 {
        self.sides[dir.index()].isn
    }

    /// Sequence number the next byte sent in `dir` will carry.
    pub fn next_seq(&self, dir: Dir) -> u32 {
        self.sides[dir.index()].next_seq
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self) {
        let c = self.sides[0].isn;
        let s = self.sides[1].isn;
        self.push(Dir::ClientToServer, c, 0, TcpFlags::SYN, Vec::new(), true);
        self.push(
            Dir::ServerToClient,
            s,
            c.wrapping_add(1),
            TcpFlags::SYN | TcpFlags::ACK,
            Vec::new(),
            true,
        );
        self.push(
            Dir::ClientToServer,
            c.wrapping_add(1),
            s.wrapping_add(1),
            TcpFlags::ACK,
            Vec::new(),
            false,
        );
    }

    /// Sends `bytes` in `dir`, cut into MSS-sized segments (PSH on the last); the peer
    /// acknowledges every `ack_every` segments and once more after the last.
    pub fn send(&mut self, dir: Dir, bytes: &[u8]) {
        let n = bytes.len().div_ceil(self.mss);
        for (i, chunk) in bytes.chunks(self.mss).enumerate() {
            self.data_segment(dir, chunk, i + 1 == n);
            if self.sides[dir.index()].unacked_segments >= self.ack_every {
                self.ack(dir);
            }
        }
        if self.sides[dir.index()].unacked_segments > 0 {
            self.ack(dir);
        }
    }

    /// Sends `bytes` as exactly one segment (with PSH), without an acknowledgement, so a
    /// test controls where a message is split. Panics above MAX_SEGMENT_PAYLOAD.
    pub fn send_segment(&mut self, dir: Dir, bytes: &[u8]) {
        assert!(
            bytes.len() <= MAX_SEGMENT_PAYLOAD,
            "send_segment: {} bytes do not fit one segment",
            bytes.len()
        );
        self.data_segment(dir, bytes, true);
    }

    /// The peer of `dir` acknowledges everything sent in `dir` so far.
    pub fn ack(&mut self, dir: Dir) {
        let peer = dir.reverse();
        let seq = self.sides[peer.index()].next_seq;
        let ack = self.sides[dir.index()].next_seq;
        self.sides[dir.index()].unacked_segments = 0;
        self.push(peer, seq, ack, TcpFlags::ACK, Vec::new(), false);
    }

    /// FIN from `dir`'s sender, acknowledged by the peer.
    pub fn fin(&mut self, dir: Dir) {
        let seq = self.sides[dir.index()].next_seq;
        let ack = self.sides[dir.reverse().index()].next_seq;
        self.push(
            dir,
            seq,
            ack,
            TcpFlags::FIN | TcpFlags::ACK,
            Vec::new(),
            false,
        );
        let side = &mut self.sides[dir.index()];
        side.next_seq = seq.wrapping_add(1);
        side.unacked_segments = 0;
        self.ack(dir);
    }

    /// Orderly close: client FIN, then server FIN, each acknowledged.
    pub fn close(&mut self) {
        self.fin(Dir::ClientToServer);
        self.fin(Dir::ServerToClient);
    }

    /// A lone SYN from the client: a connection attempt (answer it with `rst` to refuse).
    pub fn syn(&mut self) {
        let c = self.sides[0].isn;
        self.push(Dir::ClientToServer, c, 0, TcpFlags::SYN, Vec::new(), true);
    }

    /// RST (with ACK) from `dir`'s sender; nothing answers it.
    pub fn rst(&mut self, dir: Dir) {
        let seq = self.sides[dir.index()].next_seq;
        let ack = self.sides[dir.reverse().index()].next_seq;
        self.push(
            dir,
            seq,
            ack,
            TcpFlags::RST | TcpFlags::ACK,
            Vec::new(),
            false,
        );
    }

    /// A keep-alive from `dir`'s sender: one garbage byte at an already acknowledged
    /// sequence number, which a reassembler must not deliver.
    pub fn keepalive(&mut self, dir: Dir) {
        let seq = self.sides[dir.index()].next_seq.wrapping_sub(1);
        let ack = self.sides[dir.reverse().index()].next_seq;
        self.push(dir, seq, ack, TcpFlags::ACK, vec![0], false);
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Hands over the segments produced so far (streaming users drain after each step).
    pub fn take_segments(&mut self) -> Vec<Segment> {
        std::mem::take(&mut self.segments)
    }

    pub fn into_segments(self) -> Vec<Segment> {
        self.segments
    }

    /// The segments produced so far as Ethernet frames, numbered from 1 in order.
    pub fn frames(&self) -> Vec<Frame> {
        let mut frames: Vec<Frame> = self.segments.iter().map(super::encode::frame).collect();
        super::pcap::number(&mut frames);
        frames
    }

    fn data_segment(&mut self, dir: Dir, chunk: &[u8], last: bool) {
        let seq = self.sides[dir.index()].next_seq;
        let ack = self.sides[dir.reverse().index()].next_seq;
        let flags = if last {
            TcpFlags::ACK | TcpFlags::PSH
        } else {
            TcpFlags::ACK
        };
        self.push(dir, seq, ack, flags, chunk.to_vec(), false);
        let side = &mut self.sides[dir.index()];
        side.next_seq = seq.wrapping_add(chunk.len() as u32);
        side.unacked_segments += 1;
    }

    fn push(&mut self, dir: Dir, seq: u32, ack: u32, flags: TcpFlags, payload: Vec<u8>, syn: bool) {
        let (src, dst) = match dir {
            Dir::ClientToServer => (self.client, self.server),
            Dir::ServerToClient => (self.server, self.client),
        };
        let mss_option = syn.then_some(self.mss.min(u16::MAX as usize) as u16);
        self.segments.push(Segment {
            ts: self.now,
            src,
            dst,
            seq,
            ack,
            flags,
            window: DEFAULT_WINDOW,
            mss_option,
            payload,
        });
        self.now = Timestamp(self.now.0.saturating_add(self.frame_gap.as_nanos() as u64));
    }
}

impl Side {
    fn new(isn: u32) -> Side {
        Side {
            isn,
            next_seq: isn.wrapping_add(1),
            unacked_segments: 0,
        }
    }
}
