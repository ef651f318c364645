//! What the session stage keeps per connection, inside the flow table.

use super::super::event::{At, LadderLine};
use super::super::flap::FlapConn;
use super::super::framer::DataConn;
use super::super::phase::Phase;
use super::super::report::ConnId;
use super::super::store::StoredFile;
use super::reports::Out;
use crate::capture::{Frame, FrameNo};
use crate::classify::Classifier;
use crate::flow::Direction;
use crate::proto::Cookie;
use crate::reassembly::SegmentMeta;

pub enum Class {
    /// Not named yet: the classify stage's state.
    Unknown(Classifier),
    Data(Box<DataConn>),
    Flap(Box<FlapConn>),
    Other,
}

impl Class {
    /// What a recognized connection's reader took beside the flow state: the boxed
    /// reader and the partial messages it holds (at most `MAX_PENDING` per direction
    /// for a data connection, a FLAP frame for an OSCAR one).
    pub fn buffer_cost(&self) -> usize {
        // The allocator's bookkeeping per allocation, as the flow table counts it.
        const ALLOC: usize = 16;
        match self {
            Class::Data(d) => std::mem::size_of::<DataConn>() + ALLOC + d.buffer_capacity(),
            Class::Flap(f) => std::mem::size_of::<FlapConn>() + ALLOC + f.buffer_capacity(),
            Class::Unknown(_) | Class::Other => 0,
        }
    }
}

/// Frames kept while a connection is not recognized, so its pcap can start at the SYN.
#[derive(Default)]
pub struct Held {
    frames: Vec<Frame>,
    /// Captured bytes of `frames`, kept so the cost is known without walking them.
    bytes: usize,
    /// Frames that did not fit (`max_held_frames`) or were given up (`--memcap`).
    pub lost: u64,
}

impl Held {
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn push(&mut self, frame: Frame) {
        self.bytes += frame.data.capacity();
        self.frames.push(frame);
    }

    /// Every frame held, in order; nothing is held after.
    pub fn take(&mut self) -> Vec<Frame> {
        self.bytes = 0;
        std::mem::take(&mut self.frames)
    }

    /// Gives every frame up (counted as lost); returns how many there were.
    pub fn give_up(&mut self) -> usize {
        let n = self.take().len();
        self.lost += n as u64;
        n
    }

    /// Heap bytes the held frames take: each frame's buffer and its place in the vector,
    /// with the allocator's bookkeeping.
    pub fn cost(&self) -> usize {
        const ALLOC_OVERHEAD: usize = 16;
        if self.frames.capacity() == 0 {
            return 0;
        }
        self.bytes
            + self.frames.len() * ALLOC_OVERHEAD
            + self.frames.capacity() * std::mem::size_of::<Frame>()
            + ALLOC_OVERHEAD
    }
}

/// The `--explain` lines of a data connection.
#[derive(Default)]
pub struct LadderRec {
    pub lines: Vec<LadderLine>,
    /// Phases completed by the frame being processed, for its ladder line.
    pub notes: Vec<Phase>,
}

impl LadderRec {
    /// Puts `note` first among the notes of an already-recorded frame.
    pub fn note_frame(&mut self, frame: FrameNo, note: Phase) {
        if let Some(l) = self.lines.iter_mut().find(|l| l.frame == frame) {
            l.notes.insert(0, note);
        }
    }
}

/// The file being carved from this connection.
pub struct Carve {
    /// Boxed: only transfers being carved have one, while this state lives in every
    /// flow-table slot.
    pub file: Option<Box<dyn StoredFile>>,
    /// A proxied receiver's leg repeats the sender's leg: only the sender's is carved.
    pub primary: bool,
}

impl Default for Carve {
    fn default() -> Self {
        Carve {
            file: None,
            primary: true,
        }
    }
}

/// Per-connection state.
pub struct FlowState {
    pub id: ConnId,
    pub class: Class,
    pub syn_ack: Option<At>,
    pub handshake: Option<At>,
    pub held: Held,
    /// The connection produced a phase: its frames go on.
    pub recognized: bool,
    pub outs: Vec<Out>,
    pub ladder: LadderRec,
    /// The segment being processed.
    pub seg: Option<SegmentMeta>,
    /// The frame being processed completed a file-transfer rendezvous message.
    pub rv_frame: Option<Cookie>,
    pub carve: Carve,
    /// Last frame of the connection, and the direction that first sent FIN or RST.
    pub last: At,
    pub closer: Option<Direction>,
    /// The first RST: where a reset connection closed, whatever was still in flight.
    pub reset: Option<At>,
    /// Per direction: stream bytes so far (gaps included), the sequence number of its
    /// stream offset 0, and the stream offset the peer has acknowledged.
    pub stream: [u64; 2],
    pub seq0: [Option<u32>; 2],
    pub acked: [Option<u64>; 2],
}

impl Default for FlowState {
    fn default() -> Self {
        FlowState {
            id: ConnId(0),
            class: Class::Unknown(Classifier::default()),
            syn_ack: None,
            handshake: None,
            held: Held::default(),
            recognized: false,
            outs: Vec::new(),
            ladder: LadderRec::default(),
            seg: None,
            rv_frame: None,
            carve: Carve::default(),
            last: At::default(),
            closer: None,
            reset: None,
            stream: [0; 2],
            seq0: [None; 2],
            acked: [None; 2],
        }
    }
}

impl FlowState {
    /// TCP flags and payload length of the frame that completed a message at `at`, for
    /// the ladder.
    pub fn segment_at(&self, at: At) -> Option<(crate::decode::TcpFlags, u32)> {
        self.seg
            .filter(|s| s.frame == at.frame)
            .map(|s| (s.flags, s.payload_len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{LinkType, Timestamp};

    fn frame(no: u64, len: usize) -> Frame {
        Frame {
            no: FrameNo(no),
            ts: Timestamp(no),
            orig_len: len as u32,
            link: LinkType::Ethernet,
            data: vec![0; len].into(),
        }
    }

    #[test]
    fn held_frames_cost_their_buffers_and_places_until_taken_or_given_up() {
        let mut h = Held::default();
        assert_eq!(h.cost(), 0);
        h.push(frame(1, 100));
        let one = h.cost();
        assert!(one >= 100 + std::mem::size_of::<Frame>(), "{one}");
        h.push(frame(2, 1000));
        assert!(h.cost() >= one + 1000, "{}", h.cost());
        let taken = h.take();
        assert_eq!(taken.iter().map(|f| f.no.0).collect::<Vec<_>>(), [1, 2]);
        assert_eq!((h.cost(), h.lost), (0, 0));

        h.push(frame(3, 60));
        h.push(frame(4, 60));
        assert_eq!(h.give_up(), 2);
        assert_eq!((h.cost(), h.len(), h.lost), (0, 0, 2));
        // The README's table gives a held frame's place as 56 bytes and 16 of bookkeeping.
        assert!(std::mem::size_of::<Frame>() <= 56);
    }
}
