//! What the session stage knows, as typed values: the events it hands to the outputs
//! (`crate::output` alone turns them into NDJSON, log lines and the `--explain` ladder).
//! Endpoints stay `Endpoint`, times `Timestamp`, cookies `Cookie`, checksums `Checksum`.

use super::phase::{Arrow, Phase, Role};
use crate::capture::{FrameNo, Timestamp};
use crate::decode::TcpFlags;
use crate::flow::Endpoint;
use crate::proto::{Capability, Cookie};
use crate::reassembly::{CloseReason, ConnMeta, FlowSummary};
use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;

mod directim;
mod file;
mod getfile;
mod kind;
mod message;

pub use super::phase::GetFileKind;
pub use directim::{DirectImSummary, OdcCounts, OdcFlow};
pub use file::{FileEnd, FileSeen, FileStatus, LegCounts};
pub use getfile::GetFileStep;
pub use kind::SessionKind;
pub use message::{MessageRelation, MessageSeen};

/// Identity of one transfer, numbered by the correlator in the order transfers are
/// first seen; shown as `T1`, `T2`, …
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransferId(pub u64);

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T{}", self.0)
    }
}

/// What a transfer's per-transfer pcap file is named after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferLabel {
    pub start: Timestamp,
    /// Endpoints in the order the name shows them (e.g. sender first).
    pub a: Endpoint,
    pub b: Endpoint,
    /// First file name of the transfer as decoded (unsanitized).
    pub first_name: Option<String>,
}

/// An OFT checksum value (§3.4 of the protocol: the 32-bit sum a PROMPT announces and a
/// DONE or RESUME repeats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checksum(pub u32);

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08x}", self.0)
    }
}

/// SHA-256 of the file bytes seen on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sha256Digest(pub [u8; 32]);

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// MD5 of the file bytes seen on the wire (`--hash md5`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Md5Digest(pub [u8; 16]);

impl fmt::Display for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// When and in which frame something happened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct At {
    pub ts: Timestamp,
    pub frame: FrameNo,
}

/// A phase a data connection reached, with what its message said.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    TcpHandshake {
        client: Endpoint,
        server: Endpoint,
    },
    ProxyInitSend {
        screen_name: String,
        cookie: Cookie,
    },
    ProxyInitRecv {
        screen_name: String,
        token: u16,
        cookie: Cookie,
    },
    ProxyAck {
        token: u16,
        proxy_ip: Ipv4Addr,
    },
    ProxyReady,
    ProxyError {
        code: u16,
    },
    Prompt(Box<Prompt>),
    Ack {
        cookie: Cookie,
    },
    Resume {
        offset: u64,
        checksum: Checksum,
        cookie: Cookie,
    },
    ResumeAccept {
        offset: u64,
    },
    ResumeAck {
        offset: u64,
        cookie: Cookie,
    },
    DataStart {
        offset: u64,
    },
    DataEnd {
        bytes: u64,
    },
    Done {
        bytes: u64,
        checksum: Checksum,
        files_left: u16,
        cookie: Cookie,
    },
    Close {
        reason: CloseReason,
    },
    DirectIm,
    /// Get File: the listing and the requests (docs/PROTOCOL.md §3.9).
    GetFile(Box<GetFileStep>),
}

/// What a PROMPT announces.
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    pub name: String,
    pub size: u64,
    pub checksum: Checksum,
    pub files_total: u16,
    pub files_left: u16,
    /// None when the sender left it zero.
    pub cookie: Option<Cookie>,
    /// The client's identification string (`OFT_Windows ICBMFT V1.1 32`).
    pub client_id: String,
    /// The TCP ends it came from and went to, as the session handler knew them (the
    /// status area names them); not part of the event's output.
    pub ends: Option<(Endpoint, Endpoint)>,
}

impl Step {
    pub fn phase(&self) -> Phase {
        match self {
            Step::TcpHandshake { .. } => Phase::TcpHandshake,
            Step::ProxyInitSend { .. } => Phase::ProxyInitSend,
            Step::ProxyInitRecv { .. } => Phase::ProxyInitRecv,
            Step::ProxyAck { .. } => Phase::ProxyAck,
            Step::ProxyReady => Phase::ProxyReady,
            Step::ProxyError { .. } => Phase::ProxyError,
            Step::Prompt(_) => Phase::Prompt,
            Step::Ack { .. } => Phase::Ack,
            Step::Resume { .. } => Phase::Resume,
            Step::ResumeAccept { .. } => Phase::ResumeAccept,
            Step::ResumeAck { .. } => Phase::ResumeAck,
            Step::DataStart { .. } => Phase::DataStart,
            Step::DataEnd { .. } => Phase::DataEnd,
            Step::Done { .. } => Phase::Done,
            Step::Close { .. } => Phase::Close,
            Step::DirectIm => Phase::DirectIm,
            Step::GetFile(g) => Phase::GetFile(g.kind),
        }
    }

    /// The file name a step carries (only a PROMPT does).
    pub fn file_name(&self) -> Option<&str> {
        match self {
            Step::Prompt(p) => Some(&p.name),
            Step::GetFile(g) if g.kind == GetFileKind::ListingOffer => Some(&g.name),
            _ => None,
        }
    }
}

/// A phase as one connection saw it: what, who to whom, when.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseSeen {
    pub step: Step,
    pub arrow: Arrow,
    pub at: At,
}

/// A running file's progress.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressSeen {
    pub at: At,
    pub name: String,
    pub bytes: u64,
    pub size: u64,
    pub rate_bps: f64,
}

/// What a channel-2 rendezvous message (or a SNAC 4/0B about one) was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RvType {
    Propose,
    Accept,
    Cancel,
    /// SNAC 4/0B: the peer declined, or its client failed at the rendezvous.
    Decline,
    Other,
}

impl RvType {
    pub fn as_str(self) -> &'static str {
        match self {
            RvType::Propose => "propose",
            RvType::Accept => "accept",
            RvType::Cancel => "cancel",
            RvType::Decline => "decline",
            RvType::Other => "other",
        }
    }
}

/// A rendezvous message seen on an OSCAR (FLAP) connection.
#[derive(Clone, Debug, PartialEq)]
pub struct RendezvousSeen {
    pub at: At,
    pub kind: RvType,
    pub cookie: Cookie,
    /// None for a SNAC 4/0B, which names no capability.
    pub capability: Option<Capability>,
    /// SNAC family and subtype: 4/6 client to server, 4/7 server to client, 4/0x0B.
    pub snac: (u16, u16),
    /// The OSCAR client and server of the FLAP connection.
    pub flap_client: Endpoint,
    pub flap_server: Endpoint,
    /// The message went client → server.
    pub outgoing: bool,
    pub screen_name: Option<String>,
    pub request_no: Option<u16>,
    pub use_proxy: bool,
    pub ip: Option<Ipv4Addr>,
    pub client_ip: Option<Ipv4Addr>,
    pub verified_ip: Option<Ipv4Addr>,
    /// The listening port, or the proxy token when `use_proxy`.
    pub port: Option<u16>,
    /// Set when the message carried file data (0x2711): its proposer sends the file.
    pub file_name: Option<String>,
    pub file_count: Option<u16>,
    pub total_size: Option<u64>,
    pub cancel_reason: Option<u16>,
    pub nak_code: Option<u16>,
    pub direct_im: bool,
    /// TCP flags and payload length of the frame that completed the message, for the
    /// ladder; None when that frame is no longer at hand (the bytes waited behind a hole
    /// given up later).
    pub segment: Option<(TcpFlags, u32)>,
}

impl RendezvousSeen {
    /// Addresses a data connection may go to (0x0002/3/4), each once.
    pub fn addresses(&self) -> Vec<Ipv4Addr> {
        let mut ips = Vec::new();
        for ip in [self.ip, self.client_ip, self.verified_ip]
            .into_iter()
            .flatten()
        {
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        ips
    }
}

/// A data connection as (TCP client, TCP server).
pub type ConnEnds = (Endpoint, Endpoint);

/// A transfer ended: all its data connections closed (or the input ended).
#[derive(Clone, Debug)]
pub struct TransferSummary {
    pub transfer: TransferId,
    /// When it was known to be over (its linger passed, or the input ended).
    pub ts: Timestamp,
    pub start: Timestamp,
    /// When it last moved.
    pub end: Timestamp,
    pub kind: SessionKind,
    pub sender: Option<Endpoint>,
    pub receiver: Option<Endpoint>,
    pub proxy: Option<Endpoint>,
    /// Which party created the proxy session: `Role::Sender` or `Role::Receiver`.
    pub proxy_creator: Option<Role>,
    pub cookie: Option<Cookie>,
    pub sender_name: Option<String>,
    pub receiver_name: Option<String>,
    pub files: u64,
    pub bytes: u64,
    /// Sums of its files' `LegCounts`.
    pub legs_carried: LegCounts,
    /// From the start of the first file's data phase to the end of the last delivery.
    pub data_span: Option<(Timestamp, Timestamp)>,
    pub legs: Vec<ConnEnds>,
    pub cancelled: bool,
    /// Frames of its connections lost to `--max-held-frames` before they were recognized.
    pub frames_lost: u64,
    /// Connections to a predicted address that never carried data.
    pub failed_attempts: u64,
    /// Direct IM: its initiator, peer and traffic (None for a file transfer).
    pub direct_im: Option<Box<DirectImSummary>>,
}

impl TransferSummary {
    pub fn duration_s(&self) -> f64 {
        self.data_span.map_or(0.0, |(a, b)| b.secs_since(a))
    }

    pub fn rate_bps(&self) -> f64 {
        let d = self.duration_s();
        if d > 0.0 {
            self.bytes as f64 * 8.0 / d
        } else {
            0.0
        }
    }
}

/// One TCP connection, reported when it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowSeen {
    pub start: Timestamp,
    /// Its last frame.
    pub end: Timestamp,
    pub client: Endpoint,
    pub server: Endpoint,
    pub midstream: bool,
    pub packets_c2s: u64,
    pub packets_s2c: u64,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub close: CloseReason,
    /// Payload bytes delivered after the first RST (segments in flight then).
    pub bytes_after_reset: u64,
}

impl FlowSeen {
    pub fn new(conn: &ConnMeta, sum: &FlowSummary, reason: CloseReason, ts: Timestamp) -> Self {
        let c2s = &sum.dirs[conn.client_dir.index()];
        let s2c = &sum.dirs[conn.client_dir.reverse().index()];
        // The flow ends at its last frame, not when the table noticed it had ended.
        let end = if sum.last_seen.0 > 0 {
            sum.last_seen
        } else {
            ts
        };
        FlowSeen {
            start: conn.start,
            end,
            client: conn.client(),
            server: conn.server(),
            midstream: conn.midstream,
            packets_c2s: c2s.packets,
            packets_s2c: s2c.packets,
            bytes_c2s: c2s.bytes,
            bytes_s2c: s2c.bytes,
            gaps: c2s.gaps + s2c.gaps,
            gap_bytes: c2s.gap_bytes + s2c.gap_bytes,
            close: reason,
            bytes_after_reset: sum.bytes_after_reset,
        }
    }
}

/// One frame of a recognized data connection, for the ladder.
#[derive(Clone, Debug)]
pub struct LadderLine {
    pub frame: FrameNo,
    pub ts: Timestamp,
    /// True when the TCP client sent it.
    pub from_client: bool,
    pub flags: TcpFlags,
    pub payload_len: u32,
    /// The phases this frame completed, or the data phase it belongs to.
    pub notes: Vec<Phase>,
}

/// A transfer's frames and FLAP messages, for `--explain`.
#[derive(Clone, Debug)]
pub struct Ladder {
    pub transfer: TransferId,
    pub kind: SessionKind,
    pub sender: Option<Endpoint>,
    pub receiver: Option<Endpoint>,
    /// Data frames with the connection they crossed.
    pub frames: Vec<(ConnEnds, LadderLine)>,
    pub rendezvous: Vec<RendezvousSeen>,
}

/// What the session stage tells the outputs, in the order it learned it.
#[derive(Clone, Debug)]
pub enum Event {
    Phase {
        transfer: TransferId,
        conn: ConnEnds,
        /// 1-based number of the connection within the transfer (2: a proxy's second leg).
        leg: u32,
        phase: PhaseSeen,
    },
    File {
        transfer: TransferId,
        file: Box<FileSeen>,
    },
    Progress {
        transfer: TransferId,
        progress: ProgressSeen,
    },
    Rendezvous {
        transfer: TransferId,
        rv: Box<RendezvousSeen>,
    },
    Transfer(Box<TransferSummary>),
    Flow(FlowSeen),
    /// `--messages`: an IM, with the transfer between the same two people it precedes,
    /// accompanies or follows (none when there is no such transfer).
    Message {
        transfer: Option<(TransferId, MessageRelation)>,
        msg: Box<MessageSeen>,
    },
}

impl Event {
    /// Packet time of the event.
    pub fn ts(&self) -> Timestamp {
        match self {
            Event::Phase { phase, .. } => phase.at.ts,
            Event::File { file, .. } => file.end.end,
            Event::Progress { progress, .. } => progress.at.ts,
            Event::Rendezvous { rv, .. } => rv.at.ts,
            Event::Transfer(t) => t.ts,
            Event::Flow(f) => f.end,
            Event::Message { msg, .. } => msg.at.ts,
        }
    }
}
