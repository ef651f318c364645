//! What a worker tells the correlator about the connections it owns. Workers know
//! connections; only the correlator (one thread) knows transfers, which span
//! connections owned by different workers.

use super::phase::{Arrow, Phase};
use crate::capture::{FrameNo, Timestamp};
use crate::flow::Endpoint;
use crate::output::event::{FileRecord, FlowRecord, PhaseDetail, ProgressRecord, RendezvousRecord};
use crate::proto::Cookie;
use std::net::Ipv4Addr;

/// A connection number unique across workers (worker index in the top byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// What a report knows about its connection, enough to find its transfer.
#[derive(Clone, Copy, Debug)]
pub struct ConnRef {
    pub id: ConnId,
    pub client: Endpoint,
    pub server: Endpoint,
    /// The rendezvous cookie, once a frame on the connection carried it.
    pub cookie: Option<Cookie>,
    /// Proxy token (INIT_RECV, ACK), for pairing proxy legs.
    pub token: Option<u16>,
    /// The connection runs through the ARS proxy (the server side is the proxy).
    pub proxied: bool,
}

impl ConnRef {
    pub fn label(&self) -> String {
        format!("{}-{}", self.client, self.server)
    }
}

/// Kind of peer session a data connection carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    File,
    DirectIm,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::File => "file",
            SessionKind::DirectIm => "directim",
        }
    }
}

/// How a data connection ended, for the transfer record.
#[derive(Clone, Debug)]
pub struct ConnOutcome {
    pub kind: SessionKind,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Endpoints on this connection of the file sender and receiver, when known.
    pub sender: Option<Endpoint>,
    pub receiver: Option<Endpoint>,
    /// Proxied legs: did the TCP client create (INIT_SEND) or join (INIT_RECV)?
    pub proxy_creator: Option<bool>,
    pub proxy_ip: Option<Ipv4Addr>,
    pub screen_name: Option<String>,
    pub files: u64,
    pub bytes: u64,
    pub frames_lost: u64,
}

/// The rendezvous content the correlator uses to predict data connections.
#[derive(Clone, Debug)]
pub struct Prediction {
    pub cookie: Cookie,
    pub kind: crate::proto::rendezvous::RvKind,
    pub request_no: Option<u16>,
    pub use_proxy: bool,
    /// Addresses the data connection may go to (0x0002/3/4).
    pub ips: Vec<Ipv4Addr>,
    pub port: Option<u16>,
    /// The PROPOSE carried file data (0x2711): its proposer is the file sender.
    pub from_sender: bool,
    pub file_name: Option<String>,
    /// True when the message went client → server on FLAP (SNAC 4/6).
    pub outgoing: bool,
    pub screen_name: Option<String>,
    pub direct_im: bool,
    /// TCP flags and payload length of the frame that completed the message, for the
    /// `--explain` ladder; None when that frame is no longer at hand (the bytes waited
    /// behind a hole given up later).
    pub segment: Option<(crate::decode::TcpFlags, u32)>,
}

pub enum Report {
    Phase {
        conn: ConnRef,
        phase: Phase,
        arrow: Arrow,
        ts: Timestamp,
        frame: FrameNo,
        detail: PhaseDetail,
    },
    /// `primary` is false for a proxied receiver's leg, which repeats what the sender's
    /// leg reports; the correlator keeps it only when the sender's leg was not seen.
    File {
        conn: ConnRef,
        file: FileRecord,
        primary: bool,
    },
    Progress {
        conn: ConnRef,
        progress: ProgressRecord,
    },
    Rendezvous {
        record: RendezvousRecord,
        prediction: Prediction,
    },
    Closed {
        conn: ConnRef,
        outcome: ConnOutcome,
    },
    /// Raw frames of a recognized connection, for pcap output.
    Frames {
        conn: ConnRef,
        frames: Vec<crate::capture::Frame>,
    },
    /// Frames of a connection that carried no payload (refused or abandoned), for pcap
    /// output if the rendezvous predicted it.
    Attempt {
        conn: ConnRef,
        frames: Vec<crate::capture::Frame>,
    },
    /// A FLAP frame that carried a file-transfer rendezvous (`--with-rendezvous`).
    RendezvousFrame {
        cookie: Cookie,
        frame: crate::capture::Frame,
    },
    /// `--explain` ladder lines of one connection.
    Ladder {
        conn: ConnRef,
        lines: Vec<LadderLine>,
    },
    Flow(FlowRecord),
    /// Worker `worker` has processed every frame up to packet time `ts`.
    Watermark {
        worker: usize,
        ts: Timestamp,
    },
    /// End of the run's counters (sent by the main thread, after the workers).
    Stats(crate::output::event::StatsRecord),
}

/// What a worker sends the event thread at once: its reports, each stamped with the
/// worker's packet clock when it was made (a clock that never goes back).
pub struct ReportBatch {
    pub worker: usize,
    pub reports: Vec<(Timestamp, Report)>,
}

/// One frame of a recognized connection, for `--explain`.
#[derive(Clone, Debug)]
pub struct LadderLine {
    pub frame: FrameNo,
    pub ts: Timestamp,
    /// True when the TCP client sent it.
    pub from_client: bool,
    pub flags: crate::decode::TcpFlags,
    pub payload_len: u32,
    /// The phase this frame completed, or the data phase it belongs to.
    pub note: String,
}
