//! One direction of a TCP connection: turns segments, in whatever order they arrive, into
//! the sender's byte stream, delivered in order to a [`StreamSink`].
//!
//! Positions are kept as 64-bit offsets from the start of the stream, so the 32-bit
//! sequence space may wrap any number of times; a segment's place is found from the
//! signed 32-bit distance between its sequence number and the next expected one.
//!
//! Policies:
//! - bytes already delivered are never delivered again (retransmissions, keep-alives and
//!   the probe byte at `next_seq - 1` fall here and are ignored);
//! - where segments overlap, the first copy wins; an overlap whose bytes differ is
//!   reported (`Push::overlap_differing`). Buffered bytes are always compared; delivered
//!   bytes only as far back as the optional window of recently delivered bytes reaches
//!   (`set_recent_window`, off by default: older ones are gone and cannot be compared);
//! - a hole that will never be filled (buffer over its limit, or the caller gives up at
//!   close) becomes a gap of exactly the missing length, and delivery goes on after it;
//! - bytes a segment claimed but the capture cut off (snap length, `push_cut`) are known
//!   lost: when delivery reaches them they become a gap at once instead of waiting for a
//!   copy that would have been cut alike. A copy that did arrive still fills its part.

use crate::capture::{FrameNo, Timestamp};
use std::collections::{BTreeMap, VecDeque};

mod buffer;
mod recent;

/// The frame that carried some bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub ts: Timestamp,
    pub frame: FrameNo,
}

/// Receiver of one direction's reassembled stream.
pub trait StreamSink {
    /// The next bytes of the stream, in order, made deliverable by the segment being pushed.
    fn data(&mut self, bytes: &[u8]);
    /// Buffered bytes delivered because the hole before them was given up: no segment
    /// being pushed completed them, the one that carried them (`origin`) did.
    fn data_from(&mut self, bytes: &[u8], origin: Origin) {
        let _ = origin;
        self.data(bytes)
    }
    /// `len` bytes of the stream will never arrive; `data` continues after them.
    fn gap(&mut self, len: u64);
}

/// Accounting cost of one buffered piece beyond its bytes (allocation header, map node),
/// so a flood of tiny out-of-order segments is bounded as well as a few large ones.
pub const PIECE_OVERHEAD: usize = 64;

/// What a buffered piece of `len` bytes is charged: its buffer as the allocator sizes it
/// (mimalloc rounds a block up to one of four size classes per power of two: a
/// full-size 1,448-byte segment takes 1,536) and `PIECE_OVERHEAD`. Charging the bytes
/// alone left a flood of out-of-order segments ~6 % over what it was charged.
pub fn piece_cost(len: usize) -> usize {
    let class = if len <= 64 {
        len.div_ceil(8) * 8
    } else {
        let step = (1usize << (usize::BITS - 1 - len.leading_zeros())) / 4;
        len.div_ceil(step) * step
    };
    class + PIECE_OVERHEAD
}

/// No sender retransmits from further back than its largest possible window (2^30 with
/// window scaling); a segment ending further behind is not a retransmission but a jump
/// the stream cannot follow, and its bytes are counted as dropped.
pub const FAR_BEHIND: i64 = 1 << 30;

/// What one segment did that the caller counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Push {
    /// The segment overlapped buffered bytes with different content (first copy kept).
    pub overlap_differing: bool,
    /// Payload bytes thrown away: beyond the direction's FIN, or so far behind the next
    /// expected byte (more than `FAR_BEHIND`) that no retransmission explains them.
    pub dropped_bytes: u64,
    /// The per-direction buffer limit forced at least one hole to be given up.
    pub forced_gap: bool,
}

/// Per-direction reassembler. A pure data structure: no clock, no flow identity.
#[derive(Debug, Default)]
pub struct StreamReassembler {
    started: bool,
    /// Sequence number of stream offset 0 (the byte after the SYN, or the first byte seen).
    base_seq: u32,
    /// Offset of the next byte to deliver.
    next: u64,
    /// Offset just past the last byte, once a FIN said where the stream ends.
    fin_at: Option<u64>,
    /// Out-of-order pieces by offset, with the frame that carried each; never overlapping
    /// each other, all at or beyond `next`.
    ooo: BTreeMap<u64, (Vec<u8>, Origin)>,
    /// Ranges `start -> end` beyond `next` whose bytes the capture cut off (snap length):
    /// no copy is coming, so delivery turns them into a gap as soon as it reaches them.
    lost: BTreeMap<u64, u64>,
    /// Accounted size of `ooo` and `lost`: bytes plus `PIECE_OVERHEAD` per entry.
    ooo_cost: usize,
    /// The last delivered bytes, ending at `next`, up to `window` of them; compared with
    /// retransmissions of delivered bytes.
    recent: VecDeque<u8>,
    window: usize,
    delivered: u64,
    gaps: u64,
    gap_bytes: u64,
}

impl StreamReassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// A start point has been fixed (by a SYN or the first segment carrying data or FIN).
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Sequence number of the next byte to deliver (meaningful once started).
    pub fn next_seq(&self) -> u32 {
        self.base_seq.wrapping_add(self.next as u32)
    }

    /// Offset of the next byte to deliver, counted from the start of the stream.
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// Accounted bytes held out of order (what the memory limits are measured against).
    pub fn buffered_cost(&self) -> usize {
        self.ooo_cost
    }

    /// The FIN has been seen and every byte before it delivered or given up as a gap.
    pub fn is_complete(&self) -> bool {
        self.fin_at == Some(self.next) && self.ooo.is_empty() && self.lost.is_empty()
    }

    pub fn fin_seen(&self) -> bool {
        self.fin_at.is_some()
    }

    /// Bytes delivered in order so far.
    pub fn delivered_bytes(&self) -> u64 {
        self.delivered
    }
    pub fn gaps(&self) -> u64 {
        self.gaps
    }
    pub fn gap_bytes(&self) -> u64 {
        self.gap_bytes
    }

    /// Fixes the stream's first byte at `seq` (the byte after a SYN seen earlier).
    pub fn start_at(&mut self, seq: u32) {
        self.started = true;
        self.base_seq = seq;
        self.next = 0;
    }

    /// Takes one segment of this direction, carried by `origin`. `max_ooo` bounds the
    /// accounted out-of-order buffer; past it the oldest holes are given up as gaps until
    /// it fits again.
    #[allow(clippy::too_many_arguments)]
    pub fn push<S: StreamSink>(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        origin: Origin,
        max_ooo: usize,
        sink: &mut S,
    ) -> Push {
        self.push_cut(seq, syn, fin, payload, 0, origin, max_ooo, sink)
    }

    /// As [`push`](Self::push), for a segment whose last `cut` payload bytes the capture
    /// did not keep (snap length): `payload` is what was captured, and the `cut` bytes
    /// after it become a gap when delivery reaches them.
    #[allow(clippy::too_many_arguments)]
    pub fn push_cut<S: StreamSink>(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        cut: u32,
        origin: Origin,
        max_ooo: usize,
        sink: &mut S,
    ) -> Push {
        let mut out = Push::default();
        // The SYN occupies one sequence number; any payload starts after it.
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        if !self.started {
            if syn || fin || !payload.is_empty() || cut > 0 {
                self.start_at(data_seq);
            } else {
                // A bare ACK fixes nothing: it may be a keep-alive one byte early.
                return out;
            }
        }

        let rel = data_seq.wrapping_sub(self.next_seq()) as i32 as i64;
        if rel + (payload.len() as i64) + (cut as i64) < -FAR_BEHIND {
            out.dropped_bytes = payload.len() as u64;
            return out;
        }
        let seg_start = self.next as i64 + rel;
        // Where the captured bytes end and where the segment really ended; positions
        // before the stream's first byte are clipped to it.
        let mut lost_start = (seg_start + payload.len() as i64).max(0) as u64;
        let mut lost_end = (seg_start + payload.len() as i64 + cut as i64).max(0) as u64;
        let mut start = seg_start;
        let mut payload = payload;
        if start < 0 {
            // Before the stream's first byte (midstream pickup): those bytes are lost history.
            let skip = (-start) as usize;
            payload = payload.get(skip..).unwrap_or(&[]);
            start = 0;
        }
        let start = start as u64;
        let mut end = start + payload.len() as u64;
        // A one-byte segment just behind `next` is a keep-alive probe whose byte is
        // garbage by design, not a retransmission to compare.
        let keepalive = cut == 0 && payload.len() == 1 && end == self.next;

        if fin && self.fin_at.is_none() && lost_end.max(end) >= self.next {
            self.fin_at = Some(lost_end.max(end));
        }
        if let Some(f) = self.fin_at {
            if end > f {
                let keep = f.saturating_sub(start);
                out.dropped_bytes = end - start.max(f);
                payload = &payload[..keep as usize];
                end = start + keep;
            }
            lost_end = lost_end.min(f);
        }
        lost_start = lost_start.max(self.next);
        if lost_end > lost_start {
            let e = self.lost.entry(lost_start).or_insert_with(|| {
                self.ooo_cost += PIECE_OVERHEAD;
                lost_start
            });
            *e = (*e).max(lost_end);
        }

        out.overlap_differing = self.insert(start, end, payload, !keepalive, origin, sink);
        self.drain(false, sink);

        if self.ooo_cost > max_ooo {
            out.forced_gap = true;
            while self.ooo_cost > max_ooo && self.skip_first_hole(sink) {}
        }
        out
    }
}

#[cfg(test)]
mod tests;
