//! One TCP connection: who is the client, how far the handshake and teardown went, and
//! the two directions' reassemblers.

use super::stream::{Origin, Push, StreamReassembler, StreamSink};
use super::{ConnMeta, DirSummary, FlowSummary, SegmentMeta};
use crate::capture::{FrameNo, Timestamp};
use crate::decode::TcpFlags;
use crate::flow::{Direction, FlowKey};

mod window;

use window::Windows;

/// A segment the connection does not take (see [`window`]): counted, passed on to pcap
/// output as any frame, but it changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ignored {
    /// An RST whose sequence number lies outside the receiver's window.
    RstOutOfWindow,
    /// A SYN on a connection under way that does not repeat the handshake's.
    SynOnEstablished,
}

/// How far the three-way handshake has been seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshake {
    /// No SYN seen (midstream pickup, or the SYN was lost).
    None,
    SynSeen,
    SynAckSeen,
    Established,
}

/// Connection state as far as closing is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Teardown {
    Open,
    /// Both sides sent FIN; waiting for the last bytes and the final ACK.
    BothFin,
    /// An RST was seen.
    Reset,
}

/// Per-connection TCP state plus both directions' streams.
#[derive(Debug)]
pub struct Conn {
    pub meta: ConnMeta,
    handshake: Handshake,
    /// Both directions' reassemblers, made when a segment first carries payload or FIN:
    /// until then a connection (a SYN flood's, a scan's) needs none of their ~300 bytes.
    /// A SYN's start point waits in `windows` (its ISN) and is applied when they are made.
    streams: Option<Box<[StreamReassembler; 2]>>,
    /// `Limits::overlap_window_bytes`, for the reassemblers once they are made.
    recent_window: u32,
    packets: [u64; 2],
    /// Sequence number just past each direction's FIN (what the peer's ACK must reach).
    fin_end: [Option<u32>; 2],
    fin_acked: [bool; 2],
    /// Who sent the first accepted RST, and each direction's delivered bytes then.
    rst: Option<(Direction, [u64; 2])>,
    /// The other side sent an RST as well: nothing more can come.
    rst_both: bool,
    windows: Windows,
    pub last_seen: Timestamp,
    pub last_frame: FrameNo,
}

impl Conn {
    /// A connection whose first seen segment went in `dir` with `flags`.
    pub fn new(
        key: FlowKey,
        dir: Direction,
        flags: TcpFlags,
        ts: Timestamp,
        frame: FrameNo,
    ) -> Conn {
        let (client_dir, midstream) = if flags.syn() && !flags.ack() {
            (dir, false)
        } else if flags.syn() {
            // A SYN-ACK names the server just as well as a SYN names the client.
            (dir.reverse(), false)
        } else {
            (midstream_client_dir(&key), true)
        };
        Conn {
            meta: ConnMeta {
                key,
                client_dir,
                midstream,
                start: ts,
                first_frame: frame,
            },
            handshake: Handshake::None,
            streams: None,
            recent_window: 0,
            packets: [0; 2],
            fin_end: [None; 2],
            fin_acked: [false; 2],
            rst: None,
            rst_both: false,
            windows: Windows::default(),
            last_seen: ts,
            last_frame: frame,
        }
    }

    /// After an RST, whether the other side may still have bytes in flight: it was
    /// sending (bytes delivered), has not finished its stream (FIN and every byte before
    /// it), and has not reset too. A refused SYN, or a side done sending, closes at once.
    pub fn reset_may_linger(&self) -> bool {
        let Some((dir, _)) = self.rst else {
            return false;
        };
        let Some(peer) = self.stream(dir.reverse()) else {
            return false;
        };
        !self.rst_both && peer.delivered_bytes() > 0 && !peer.is_complete()
    }

    pub fn handshake(&self) -> Handshake {
        self.handshake
    }

    pub fn teardown(&self) -> Teardown {
        if self.rst.is_some() {
            Teardown::Reset
        } else if self.fin_end[0].is_some() && self.fin_end[1].is_some() {
            Teardown::BothFin
        } else {
            Teardown::Open
        }
    }

    /// Both FINs were sent and acknowledged and every byte before them is accounted for:
    /// nothing more belongs to this connection.
    pub fn fin_done(&self) -> bool {
        let Some(s) = &self.streams else {
            return false;
        };
        self.fin_acked[0] && self.fin_acked[1] && s[0].is_complete() && s[1].is_complete()
    }

    /// The reassembler of `dir`, once payload or a FIN made them (see `streams`).
    pub fn stream(&self, dir: Direction) -> Option<&StreamReassembler> {
        self.streams.as_ref().map(|s| &s[dir.index()])
    }

    /// Accounted out-of-order bytes of both directions.
    pub fn buffered_cost(&self) -> usize {
        self.streams
            .as_ref()
            .map_or(0, |s| s[0].buffered_cost() + s[1].buffered_cost())
    }

    /// Heap bytes the connection holds beyond its own size: its reassemblers once made,
    /// and their out-of-order buffers (for the memory budget).
    pub fn heap_cost(&self) -> usize {
        match &self.streams {
            Some(_) => STREAMS_COST + self.buffered_cost(),
            None => 0,
        }
    }

    /// Frees both reassemblers of a connection that is over: a closed flow lingers only
    /// to pass late frames on to the handler, which needs no stream. Their out-of-order
    /// bytes, if any, go with them; returns that cost.
    pub fn drop_streams(&mut self) -> usize {
        let buffered = self.buffered_cost();
        self.streams = None;
        buffered
    }

    /// Keeps the last `bytes` delivered bytes of each direction to compare retransmissions
    /// with (`Limits::overlap_window_bytes`).
    pub fn set_recent_window(&mut self, bytes: usize) {
        self.recent_window = u32::try_from(bytes).unwrap_or(u32::MAX);
        if let Some(streams) = &mut self.streams {
            for s in streams.iter_mut() {
                s.set_recent_window(bytes);
            }
        }
    }

    /// Whether direction `i` has a start point: a SYN seen, or its stream begun.
    fn started(&self, i: usize) -> bool {
        self.windows.isn(i).is_some() || self.streams.as_ref().is_some_and(|s| s[i].is_started())
    }

    /// Sequence number of the next byte of direction `i` to deliver, once started.
    fn next_seq(&self, i: usize) -> Option<u32> {
        match &self.streams {
            Some(s) => s[i].is_started().then(|| s[i].next_seq()),
            None => self.windows.isn(i).map(|isn| isn.wrapping_add(1)),
        }
    }

    /// The reassemblers, made on first use and started where a SYN was seen.
    fn streams_mut(&mut self) -> &mut [StreamReassembler; 2] {
        let (windows, window) = (&self.windows, self.recent_window as usize);
        self.streams.get_or_insert_with(|| {
            let mut s: Box<[StreamReassembler; 2]> = Box::default();
            for (i, st) in s.iter_mut().enumerate() {
                st.set_recent_window(window);
                if let Some(isn) = windows.isn(i) {
                    st.start_at(isn.wrapping_add(1));
                }
            }
            s
        })
    }

    /// Whether the connection must ignore `seg` (a blind RST or SYN); `None` to take it.
    pub fn screen(&self, seg: &SegmentMeta) -> Option<Ignored> {
        let i = seg.dir.index();
        if seg.flags.rst() {
            if !self.windows.rst_acceptable(i, seg.seq, self.next_seq(i)) {
                return Some(Ignored::RstOutOfWindow);
            }
        } else if seg.flags.syn() && !self.windows.syn_acceptable(i, seg.seq, self.started(i)) {
            return Some(Ignored::SynOnEstablished);
        }
        None
    }

    /// Counts a frame of this connection whose segment was ignored (see [`Conn::screen`]).
    pub fn note_ignored(&mut self, seg: &SegmentMeta) {
        self.last_seen = self.last_seen.max(seg.ts);
        self.last_frame = seg.frame;
        self.packets[seg.dir.index()] += 1;
    }

    /// Takes one segment sent in `dir` (one [`Conn::screen`] let through); in-order payload goes to `sink` at once. `cut`
    /// payload bytes followed `payload` on the wire but were not captured (snap length).
    pub fn on_segment<S: StreamSink>(
        &mut self,
        seg: &SegmentMeta,
        payload: &[u8],
        cut: u32,
        max_ooo: usize,
        sink: &mut S,
    ) -> Push {
        let SegmentMeta {
            dir,
            seq,
            ack,
            flags,
            ..
        } = *seg;
        self.last_seen = self.last_seen.max(seg.ts);
        self.last_frame = seg.frame;
        let i = dir.index();
        self.packets[i] += 1;
        self.track_handshake(dir, flags);
        self.windows
            .note(i, flags, seq, ack, seg.window, seg.wscale);
        if flags.rst() {
            match self.rst {
                None => {
                    let at = [0, 1].map(|i| self.delivered(i));
                    self.rst = Some((dir, at));
                }
                Some((first, _)) if first != dir => self.rst_both = true,
                Some(_) => {}
            }
            return Push::default();
        }
        if flags.ack() {
            let peer = dir.reverse().index();
            if let Some(end) = self.fin_end[peer] {
                // Wrap-aware "ack >= end".
                if ack.wrapping_sub(end) as i32 >= 0 {
                    self.fin_acked[peer] = true;
                }
            }
        }
        if self.streams.is_none() && payload.is_empty() && cut == 0 && !flags.fin() {
            // No reassembler needed yet: a SYN's start point is in `windows`, a bare
            // ACK's sequence number fixes nothing (see `StreamReassembler::push_cut`).
            return Push::default();
        }
        let s = &mut self.streams_mut()[i];
        let origin = Origin {
            ts: seg.ts,
            frame: seg.frame,
        };
        let push = s.push_cut(
            seq,
            flags.syn(),
            flags.fin(),
            payload,
            cut,
            origin,
            max_ooo,
            sink,
        );
        let fin_seen = s.fin_seen();
        if flags.fin() && self.fin_end[i].is_none() && fin_seen {
            let data_seq = if flags.syn() {
                seq.wrapping_add(1)
            } else {
                seq
            };
            self.fin_end[i] = Some(
                data_seq
                    .wrapping_add(payload.len() as u32)
                    .wrapping_add(cut)
                    .wrapping_add(1),
            );
        }
        push
    }

    fn track_handshake(&mut self, dir: Direction, flags: TcpFlags) {
        let from_client = dir == self.meta.client_dir;
        self.handshake = match (self.handshake, flags.syn(), flags.ack()) {
            (Handshake::None, true, false) if from_client => Handshake::SynSeen,
            (Handshake::None | Handshake::SynSeen, true, true) if !from_client => {
                Handshake::SynAckSeen
            }
            (Handshake::SynAckSeen, false, true) if from_client => Handshake::Established,
            (h, _, _) => h,
        };
    }

    /// Gives up every hole of `dir` (the direction will receive nothing more).
    pub fn flush<S: StreamSink>(&mut self, dir: Direction, sink: &mut S) {
        if let Some(s) = &mut self.streams {
            s[dir.index()].flush(sink);
        }
    }

    /// Gives up buffered holes of `dir` under memory pressure; the stream goes on.
    pub fn flush_buffered<S: StreamSink>(&mut self, dir: Direction, sink: &mut S) {
        if let Some(s) = &mut self.streams {
            s[dir.index()].flush_buffered(sink);
        }
    }

    fn delivered(&self, i: usize) -> u64 {
        self.streams.as_ref().map_or(0, |s| s[i].delivered_bytes())
    }

    pub fn summary(&self) -> FlowSummary {
        let dir = |i: usize| {
            let s = self.streams.as_ref().map(|s| &s[i]);
            DirSummary {
                packets: self.packets[i],
                bytes: self.delivered(i),
                gaps: s.map_or(0, |s| s.gaps()),
                gap_bytes: s.map_or(0, |s| s.gap_bytes()),
            }
        };
        let after_reset = match self.rst {
            Some((_, at)) => (0..2).map(|i| self.delivered(i) - at[i]).sum(),
            None => 0,
        };
        FlowSummary {
            dirs: [dir(0), dir(1)],
            bytes_after_reset: after_reset,
            last_seen: self.last_seen,
        }
    }
}

/// Heap bytes of a connection's two reassemblers (without their buffers' contents).
pub const STREAMS_COST: usize = std::mem::size_of::<[StreamReassembler; 2]>() + 16;

/// Without a SYN, the lower port is taken as the server's (well-known or listening port),
/// so the client sends from the other side. Equal ports: the key's `a` side is the client.
fn midstream_client_dir(key: &FlowKey) -> Direction {
    if key.a.port < key.b.port {
        Direction::BtoA
    } else {
        Direction::AtoB
    }
}

#[cfg(test)]
mod tests;
