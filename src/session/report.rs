//! What a worker tells the correlator about the connections it owns. Workers know
//! connections; only the correlator (one thread) knows transfers, which span
//! connections owned by different workers.

use super::event::{
    FileSeen, FlowSeen, LadderLine, MessageSeen, OdcFlow, PhaseSeen, ProgressSeen, RendezvousSeen,
    SessionKind,
};
use crate::capture::{Frame, FrameNo, Timestamp};
use crate::flow::Endpoint;
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
    pub fn ends(&self) -> (Endpoint, Endpoint) {
        (self.client, self.server)
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
    /// Direct IM: what each direction's ODC2 frames carried.
    pub odc: Vec<OdcFlow>,
}

pub enum Report {
    Phase {
        conn: ConnRef,
        phase: PhaseSeen,
    },
    /// `primary` is false for a proxied receiver's leg, which repeats what the sender's
    /// leg reports; the correlator keeps it only when the sender's leg was not seen.
    File {
        conn: ConnRef,
        file: Box<FileSeen>,
        primary: bool,
    },
    Progress {
        conn: ConnRef,
        progress: ProgressSeen,
    },
    Rendezvous(Box<RendezvousSeen>),
    /// `--messages`: a channel-1 IM on a FLAP connection.
    Message(Box<MessageSeen>),
    Closed {
        conn: ConnRef,
        outcome: ConnOutcome,
    },
    /// Raw frames of a recognized connection, for pcap output.
    Frames {
        conn: ConnRef,
        frames: Vec<Frame>,
    },
    /// Frames of a connection that carried no payload (refused or abandoned), for pcap
    /// output if the rendezvous predicted it.
    Attempt {
        conn: ConnRef,
        frames: Vec<Frame>,
    },
    /// A FLAP frame that carried a file-transfer rendezvous (`--with-rendezvous`).
    RendezvousFrame {
        cookie: Cookie,
        frame: Frame,
    },
    /// `--explain` ladder lines of one connection.
    Ladder {
        conn: ConnRef,
        lines: Vec<LadderLine>,
    },
    Flow(FlowSeen),
    /// Worker `worker` has processed every frame up to packet time `ts`.
    Watermark {
        worker: usize,
        ts: Timestamp,
    },
    /// End of the run's counters (sent by the main thread, after the workers).
    Stats(crate::stats::RunTotals),
}

/// What a worker sends the event thread at once: its reports, each stamped with the
/// worker's packet clock when it was made (a clock that never goes back).
pub struct ReportBatch {
    pub worker: usize,
    pub reports: Vec<(Clock, Report)>,
}

/// A worker's clock: the latest packet time it has seen, then the highest frame number.
/// Frame numbers are the capture's, the same whichever worker a frame went to, so two
/// reports of one packet time are ordered by the frames that made them, not by which
/// worker made them: the output does not depend on the number of workers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Clock {
    pub ts: Timestamp,
    pub frame: FrameNo,
    /// The packet time the report is about, when that is earlier (a flow that timed
    /// out, closed at its last frame): what one frame or tick ends in several workers
    /// goes in the order it happened, as one worker closes its flows oldest first.
    pub at: Timestamp,
}

impl From<Timestamp> for Clock {
    fn from(ts: Timestamp) -> Self {
        Clock {
            ts,
            frame: FrameNo(0),
            at: ts,
        }
    }
}
