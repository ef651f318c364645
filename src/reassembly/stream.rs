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

    /// Keeps the last `bytes` delivered bytes so a retransmission of them whose content
    /// differs is counted (0: keep none). Memory grows with what is delivered, to at most
    /// `bytes`.
    pub fn set_recent_window(&mut self, bytes: usize) {
        self.window = bytes;
        self.recent.clear();
        self.recent.shrink_to(bytes);
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

    fn start_at(&mut self, seq: u32) {
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

    /// Places `payload` (covering `[start, end)`) against the buffer: fresh bytes at `next`
    /// are delivered straight from `payload`, later fresh bytes are copied into the buffer,
    /// bytes already buffered (and, with `compare_delivered`, delivered bytes still in the
    /// recent window) are only compared. Returns whether any compared bytes differed.
    fn insert<S: StreamSink>(
        &mut self,
        start: u64,
        end: u64,
        payload: &[u8],
        compare_delivered: bool,
        origin: Origin,
        sink: &mut S,
    ) -> bool {
        let mut differing = false;
        let mut pos = start;
        while pos < end {
            if pos < self.next {
                if compare_delivered {
                    let upto = end.min(self.next);
                    let old = &payload[(pos - start) as usize..(upto - start) as usize];
                    differing |= self.differs_from_recent(pos, old);
                }
                pos = self.next;
                continue;
            }
            let covering = self
                .ooo
                .range(..=pos)
                .next_back()
                .map(|(&k, v)| (k, k + v.0.len() as u64))
                .filter(|&(_, kend)| kend > pos);
            if let Some((k, kend)) = covering {
                let oend = kend.min(end);
                let old = &self.ooo[&k].0[(pos - k) as usize..(oend - k) as usize];
                let new = &payload[(pos - start) as usize..(oend - start) as usize];
                differing |= old != new;
                if k == self.next {
                    // Deliver only this piece: the next one must still be compared.
                    self.deliver_first(false, sink);
                }
                pos = oend;
                continue;
            }
            let lim = self
                .ooo
                .range(pos..)
                .next()
                .map_or(end, |(&k, _)| k)
                .min(end);
            let piece = &payload[(pos - start) as usize..(lim - start) as usize];
            if pos == self.next {
                self.deliver(piece, None, sink);
            } else {
                self.ooo_cost += piece.len() + PIECE_OVERHEAD;
                self.ooo.insert(pos, (piece.to_vec(), origin));
            }
            pos = lim;
        }
        differing
    }

    /// Whether `bytes`, a copy of the delivered stream from offset `at`, differ from what
    /// the recent window still holds of those offsets.
    fn differs_from_recent(&self, at: u64, bytes: &[u8]) -> bool {
        let win_start = self.next - self.recent.len() as u64;
        let from = at.max(win_start);
        let to = at + bytes.len() as u64;
        if from >= to {
            return false;
        }
        let new = &bytes[(from - at) as usize..];
        self.recent
            .range((from - win_start) as usize..(to - win_start) as usize)
            .zip(new)
            .any(|(a, b)| a != b)
    }

    fn remember<'b>(&mut self, bytes: &'b [u8]) {
        if self.window == 0 {
            return;
        }
        let tail: &'b [u8] = &bytes[bytes.len().saturating_sub(self.window)..];
        if self.recent.capacity() == 0 {
            // Allocated on first delivery, once and to size: growth by doubling could
            // leave twice the window allocated in every direction.
            self.recent.reserve_exact(self.window);
        }
        let excess = (self.recent.len() + tail.len()).saturating_sub(self.window);
        self.recent.drain(..excess);
        self.recent.extend(tail);
    }

    fn deliver<S: StreamSink>(&mut self, bytes: &[u8], given_up: Option<Origin>, sink: &mut S) {
        if bytes.is_empty() {
            return;
        }
        self.remember(bytes);
        self.next += bytes.len() as u64;
        self.delivered += bytes.len() as u64;
        match given_up {
            Some(o) => sink.data_from(bytes, o),
            None => sink.data(bytes),
        }
    }

    /// Delivers the first buffered piece if it starts at or before `next`; `given_up`
    /// when a hole before it was abandoned rather than filled.
    fn deliver_first<S: StreamSink>(&mut self, given_up: bool, sink: &mut S) -> bool {
        let Some(entry) = self.ooo.first_entry() else {
            return false;
        };
        let k = *entry.key();
        if k > self.next {
            return false;
        }
        let (piece, origin) = entry.remove();
        self.ooo_cost -= piece.len() + PIECE_OVERHEAD;
        let skip = (self.next - k) as usize;
        if let Some(rest) = piece.get(skip..) {
            self.deliver(rest, given_up.then_some(origin), sink);
        }
        true
    }

    /// Delivers every buffered piece now contiguous with `next`, and turns bytes known to
    /// be cut off at `next` into a gap.
    fn drain<S: StreamSink>(&mut self, given_up: bool, sink: &mut S) {
        while self.deliver_first(given_up, sink) || self.skip_lost(sink) {}
    }

    /// A range cut off by the capture that delivery has reached becomes a gap, up to the
    /// first buffered copy of any of its bytes (that copy is delivered instead). Ranges
    /// already passed are forgotten. Returns whether a gap was emitted.
    fn skip_lost<S: StreamSink>(&mut self, sink: &mut S) -> bool {
        while let Some(entry) = self.lost.first_entry() {
            let (s, e) = (*entry.key(), *entry.get());
            if e <= self.next {
                entry.remove();
                self.ooo_cost -= PIECE_OVERHEAD;
                continue;
            }
            if s > self.next {
                return false;
            }
            // `deliver_first` ran before: any buffered piece starts beyond `next`.
            let stop = self.ooo.first_key_value().map_or(e, |(&k, _)| k.min(e));
            self.emit_gap(stop - self.next, sink);
            return true;
        }
        false
    }

    fn emit_gap<S: StreamSink>(&mut self, len: u64, sink: &mut S) {
        // The window must end at `next` without holes to line up with retransmissions.
        self.recent.clear();
        self.next += len;
        self.gaps += 1;
        self.gap_bytes += len;
        sink.gap(len);
    }

    /// Gives up the hole before the first buffered piece (or range known cut off) and
    /// delivers what follows it. Returns false when nothing is buffered.
    pub fn skip_first_hole<S: StreamSink>(&mut self, sink: &mut S) -> bool {
        let first_piece = self.ooo.first_key_value().map(|(&k, _)| k);
        let first_lost = self.lost.first_key_value().map(|(&k, _)| k);
        let Some(k) = first_piece.into_iter().chain(first_lost).min() else {
            return false;
        };
        if k > self.next {
            self.emit_gap(k - self.next, sink);
        }
        self.drain(true, sink);
        true
    }

    /// Gives up every hole: delivers all that is buffered, with gaps between, and when the
    /// FIN is known, a final gap for missing bytes before it. Used when the direction will
    /// receive nothing more (close, RST, timeout, memory pressure).
    pub fn flush<S: StreamSink>(&mut self, sink: &mut S) {
        while self.skip_first_hole(sink) {}
        if let Some(f) = self.fin_at {
            if f > self.next {
                self.emit_gap(f - self.next, sink);
            }
        }
    }

    /// Gives up the buffered holes without assuming the stream ended (memory pressure).
    pub fn flush_buffered<S: StreamSink>(&mut self, sink: &mut S) {
        while self.skip_first_hole(sink) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Data(Vec<u8>),
        Gap(u64),
    }

    /// Records the stream, merging adjacent data so layouts compare independent of cuts.
    #[derive(Default)]
    struct Rec(Vec<Ev>);

    impl StreamSink for Rec {
        fn data(&mut self, bytes: &[u8]) {
            assert!(!bytes.is_empty(), "empty data call");
            if let Some(Ev::Data(d)) = self.0.last_mut() {
                d.extend_from_slice(bytes);
            } else {
                self.0.push(Ev::Data(bytes.to_vec()));
            }
        }
        fn gap(&mut self, len: u64) {
            assert!(len > 0, "empty gap");
            self.0.push(Ev::Gap(len));
        }
    }

    const BIG: usize = usize::MAX;

    #[test]
    fn in_order_delivery_after_syn() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(99, true, false, b"", Origin::default(), BIG, &mut r);
        s.push(100, false, false, b"hello ", Origin::default(), BIG, &mut r);
        s.push(106, false, true, b"world", Origin::default(), BIG, &mut r);
        assert_eq!(r.0, vec![Ev::Data(b"hello world".to_vec())]);
        assert!(s.is_complete());
        assert_eq!(s.delivered_bytes(), 11);
    }

    #[test]
    fn overlap_keeps_first_copy() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(0, true, false, b"", Origin::default(), BIG, &mut r);
        // bytes 4..8 arrive first, then a differing copy of 2..10, then the start.
        assert!(
            !s.push(5, false, false, b"EFGH", Origin::default(), BIG, &mut r)
                .overlap_differing
        );
        assert!(
            s.push(3, false, false, b"cdxxxxij", Origin::default(), BIG, &mut r)
                .overlap_differing
        );
        assert!(
            !s.push(1, false, false, b"ab", Origin::default(), BIG, &mut r)
                .overlap_differing
        );
        assert_eq!(r.0, vec![Ev::Data(b"abcdEFGHij".to_vec())]);
        // An identical overlapping copy is not counted.
        let mut s = StreamReassembler::new();
        s.push(0, true, false, b"", Origin::default(), BIG, &mut r);
        s.push(5, false, false, b"EFGH", Origin::default(), BIG, &mut r);
        assert!(
            !s.push(3, false, false, b"cdEFGHij", Origin::default(), BIG, &mut r)
                .overlap_differing
        );
    }

    #[test]
    fn keepalive_not_a_gap() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(1000, true, false, b"", Origin::default(), BIG, &mut r);
        s.push(1001, false, false, b"abc", Origin::default(), BIG, &mut r);
        // Keep-alives: zero or one garbage byte at next_seq - 1.
        let p = s.push(1003, false, false, b"", Origin::default(), BIG, &mut r);
        let q = s.push(1003, false, false, b"\0", Origin::default(), BIG, &mut r);
        assert_eq!(p, Push::default());
        assert_eq!(q, Push::default());
        s.push(1004, false, true, b"def", Origin::default(), BIG, &mut r);
        s.flush(&mut r);
        assert_eq!(r.0, vec![Ev::Data(b"abcdef".to_vec())]);
        assert_eq!(s.gaps(), 0);
    }

    #[test]
    fn sequence_wraps_at_2_pow_32() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(
            u32::MAX - 2,
            true,
            false,
            b"",
            Origin::default(),
            BIG,
            &mut r,
        );
        s.push(1, false, false, b"DEF", Origin::default(), BIG, &mut r); // after the wrap, out of order
        s.push(
            u32::MAX - 1,
            false,
            false,
            b"ABC",
            Origin::default(),
            BIG,
            &mut r,
        );
        assert_eq!(r.0, vec![Ev::Data(b"ABCDEF".to_vec())]);
        assert_eq!(s.next_seq(), 4);
    }

    #[test]
    fn far_backward_jump_is_dropped_and_counted() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(0, true, false, b"", Origin::default(), BIG, &mut r);
        s.push(1, false, false, b"ab", Origin::default(), BIG, &mut r);
        let p = s.push(
            3u32.wrapping_sub((1 << 30) + 10),
            false,
            false,
            b"zzz",
            Origin::default(),
            BIG,
            &mut r,
        );
        assert_eq!(p.dropped_bytes, 3);
        // An ordinary retransmission is dropped silently.
        assert_eq!(
            s.push(1, false, false, b"ab", Origin::default(), BIG, &mut r),
            Push::default()
        );
        assert_eq!(r.0, vec![Ev::Data(b"ab".to_vec())]);
    }

    #[test]
    fn midstream_starts_at_first_segment() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(500, false, false, b"", Origin::default(), BIG, &mut r); // bare ACK fixes nothing
        assert!(!s.is_started());
        s.push(600, false, false, b"xyz", Origin::default(), BIG, &mut r);
        s.push(597, false, false, b"abcxyz", Origin::default(), BIG, &mut r); // older bytes: lost history
        assert_eq!(r.0, vec![Ev::Data(b"xyz".to_vec())]);
    }

    #[test]
    fn ooo_limit_forces_gap() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        let limit = 2 * (10 + PIECE_OVERHEAD);
        s.push(0, true, false, b"", Origin::default(), limit, &mut r);
        s.push(
            1,
            false,
            false,
            b"0123456789",
            Origin::default(),
            limit,
            &mut r,
        );
        // hole at 10..20; three pieces buffered behind it exceed the limit.
        assert!(
            !s.push(
                21,
                false,
                false,
                b"bbbbbbbbbb",
                Origin::default(),
                limit,
                &mut r
            )
            .forced_gap
        );
        assert!(
            !s.push(
                41,
                false,
                false,
                b"dddddddddd",
                Origin::default(),
                limit,
                &mut r
            )
            .forced_gap
        );
        assert!(
            s.push(
                61,
                false,
                false,
                b"ffffffffff",
                Origin::default(),
                limit,
                &mut r
            )
            .forced_gap
        );
        assert_eq!(
            r.0,
            vec![
                Ev::Data(b"0123456789".to_vec()),
                Ev::Gap(10),
                Ev::Data(b"bbbbbbbbbb".to_vec())
            ]
        );
        assert!(s.buffered_cost() <= limit);
        // The late hole filler is now history and ignored.
        s.push(
            11,
            false,
            false,
            b"aaaaaaaaaa",
            Origin::default(),
            limit,
            &mut r,
        );
        s.flush(&mut r);
        assert_eq!(s.gaps(), 3);
        assert_eq!(s.gap_bytes(), 30);
        assert_eq!(s.delivered_bytes(), 40);
    }

    /// Names the frame each delivery is attributed to: the pushing one, or (given-up
    /// holes) the one that carried the bytes.
    #[derive(Default)]
    struct Origins(Vec<(Vec<u8>, Option<u64>)>);

    impl StreamSink for Origins {
        fn data(&mut self, bytes: &[u8]) {
            self.0.push((bytes.to_vec(), None));
        }
        fn data_from(&mut self, bytes: &[u8], origin: Origin) {
            self.0.push((bytes.to_vec(), Some(origin.frame.0)));
        }
        fn gap(&mut self, _: u64) {}
    }

    fn from(frame: u64) -> Origin {
        Origin {
            ts: crate::capture::Timestamp(frame * 1_000),
            frame: crate::capture::FrameNo(frame),
        }
    }

    #[test]
    fn bytes_behind_a_given_up_hole_keep_the_frame_that_carried_them() {
        let mut s = StreamReassembler::new();
        let mut r = Origins::default();
        s.push(0, true, false, b"", from(1), BIG, &mut r);
        s.push(1, false, false, b"ab", from(2), BIG, &mut r);
        s.push(5, false, false, b"ef", from(3), BIG, &mut r);
        s.push(7, false, false, b"gh", from(4), BIG, &mut r);
        s.flush(&mut r);
        assert_eq!(
            r.0,
            vec![
                (b"ab".to_vec(), None),
                (b"ef".to_vec(), Some(3)),
                (b"gh".to_vec(), Some(4))
            ]
        );
        // A hole that is filled: the filling frame completed what waited behind it.
        let mut s = StreamReassembler::new();
        let mut r = Origins::default();
        s.push(0, true, false, b"", from(1), BIG, &mut r);
        s.push(3, false, false, b"cd", from(2), BIG, &mut r);
        s.push(1, false, false, b"ab", from(3), BIG, &mut r);
        assert_eq!(r.0, vec![(b"ab".to_vec(), None), (b"cd".to_vec(), None)]);
    }

    #[test]
    fn data_beyond_fin_is_dropped() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(0, true, false, b"", Origin::default(), BIG, &mut r);
        s.push(1, false, true, b"ab", Origin::default(), BIG, &mut r);
        let p = s.push(2, false, false, b"bcd", Origin::default(), BIG, &mut r);
        assert_eq!(p.dropped_bytes, 2);
        assert_eq!(r.0, vec![Ev::Data(b"ab".to_vec())]);
        assert!(s.is_complete());
    }

    #[test]
    fn flush_gaps_up_to_fin() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(0, true, false, b"", Origin::default(), BIG, &mut r);
        s.push(1, false, false, b"ab", Origin::default(), BIG, &mut r);
        s.push(5, false, false, b"ef", Origin::default(), BIG, &mut r);
        s.push(9, false, true, b"", Origin::default(), BIG, &mut r);
        s.flush(&mut r);
        assert_eq!(
            r.0,
            vec![
                Ev::Data(b"ab".to_vec()),
                Ev::Gap(2),
                Ev::Data(b"ef".to_vec()),
                Ev::Gap(2)
            ]
        );
        assert!(s.is_complete());
        assert_eq!(s.buffered_cost(), 0);
    }

    const O: Origin = Origin {
        ts: Timestamp(0),
        frame: FrameNo(0),
    };

    #[test]
    fn snapped_segment_in_order_delivers_what_was_captured_then_a_gap_at_once() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(0, true, false, b"", O, BIG, &mut r);
        // 10 bytes on the wire, 4 captured.
        s.push_cut(1, false, false, b"abcd", 6, O, BIG, &mut r);
        assert_eq!(r.0, vec![Ev::Data(b"abcd".to_vec()), Ev::Gap(6)]);
        assert_eq!(s.next_offset(), 10, "the stream moved past the cut bytes");
        assert_eq!(s.buffered_cost(), 0, "nothing waits");
        s.push(11, false, true, b"klm", O, BIG, &mut r);
        assert!(s.is_complete());
        assert_eq!(
            r.0,
            vec![
                Ev::Data(b"abcd".to_vec()),
                Ev::Gap(6),
                Ev::Data(b"klm".to_vec())
            ]
        );
        assert_eq!((s.gaps(), s.gap_bytes(), s.delivered_bytes()), (1, 6, 7));
    }

    #[test]
    fn snapped_segment_out_of_order_gaps_when_delivery_reaches_it() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(0, true, false, b"", O, BIG, &mut r);
        s.push(15, false, false, b"opq", O, BIG, &mut r);
        s.push_cut(5, false, false, b"ef", 8, O, BIG, &mut r);
        assert!(r.0.is_empty(), "everything waits behind 0..4: {:?}", r.0);
        s.push(1, false, false, b"abcd", O, BIG, &mut r);
        assert_eq!(
            r.0,
            vec![
                Ev::Data(b"abcdef".to_vec()),
                Ev::Gap(8),
                Ev::Data(b"opq".to_vec())
            ]
        );
        assert_eq!(s.buffered_cost(), 0);
    }

    #[test]
    fn a_whole_copy_of_snapped_bytes_that_arrived_still_fills_them() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(0, true, false, b"", O, BIG, &mut r);
        // Out of order: a whole retransmission of 7..9 arrives before the snapped
        // segment 5..14 and the filler of 0..4.
        s.push(7, false, false, b"ghi", O, BIG, &mut r);
        s.push_cut(5, false, false, b"ef", 8, O, BIG, &mut r);
        s.push(1, false, false, b"abcd", O, BIG, &mut r);
        assert_eq!(r.0, vec![Ev::Data(b"abcdefghi".to_vec()), Ev::Gap(5)]);
        assert_eq!(s.next_offset(), 14);
    }

    #[test]
    fn a_fully_snapped_payload_and_a_fin_on_a_snapped_segment_end_the_stream() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        // Midstream: the first segment seen carries no captured payload at all.
        s.push_cut(500, false, false, b"", 100, O, BIG, &mut r);
        assert!(s.is_started());
        s.push_cut(600, false, true, b"xy", 3, O, BIG, &mut r);
        assert!(s.is_complete(), "FIN placed after the cut bytes");
        assert_eq!(
            r.0,
            vec![Ev::Gap(100), Ev::Data(b"xy".to_vec()), Ev::Gap(3)]
        );
    }

    #[test]
    fn snapped_ranges_count_against_the_buffer_limit_and_flush() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(0, true, false, b"", O, BIG, &mut r);
        s.push_cut(11, false, false, b"k", 9, O, BIG, &mut r);
        assert_eq!(s.buffered_cost(), 1 + 2 * PIECE_OVERHEAD);
        s.flush(&mut r);
        assert_eq!(r.0, vec![Ev::Gap(10), Ev::Data(b"k".to_vec()), Ev::Gap(9)]);
        assert_eq!(s.buffered_cost(), 0);
        // Over a tight limit, the hole before a snapped range is given up like any other.
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(0, true, false, b"", O, 0, &mut r);
        let p = s.push_cut(11, false, false, b"", 9, O, 0, &mut r);
        assert!(p.forced_gap);
        assert_eq!(r.0, vec![Ev::Gap(10), Ev::Gap(9)]);
        assert_eq!(s.buffered_cost(), 0);
    }

    #[test]
    fn differing_retransmission_of_delivered_bytes_is_counted_within_the_window() {
        let mut s = StreamReassembler::new();
        s.set_recent_window(8);
        let mut r = Rec::default();
        s.push(0, true, false, b"", O, BIG, &mut r);
        s.push(1, false, false, b"0123456789", O, BIG, &mut r);
        // Identical copies, whole or partly new, are not counted.
        assert!(
            !s.push(5, false, false, b"456789ab", O, BIG, &mut r)
                .overlap_differing
        );
        assert!(
            !s.push(5, false, false, b"4567", O, BIG, &mut r)
                .overlap_differing
        );
        // Different content over delivered bytes is.
        assert!(
            s.push(7, false, false, b"6X", O, BIG, &mut r)
                .overlap_differing
        );
        assert!(
            s.push(10, false, false, b"9Abc", O, BIG, &mut r)
                .overlap_differing
        );
        // Bytes older than the window cannot be compared, so are not counted.
        assert!(
            !s.push(1, false, false, b"XX", O, BIG, &mut r)
                .overlap_differing
        );
        // A keep-alive's garbage byte at next - 1 is no retransmission.
        let ka = s.push(
            s.next_seq().wrapping_sub(1),
            false,
            false,
            b"\0",
            O,
            BIG,
            &mut r,
        );
        assert_eq!(ka, Push::default());
        // The first copy still wins.
        assert_eq!(r.0, vec![Ev::Data(b"0123456789abc".to_vec())]);
        // A gap breaks the window: bytes before it are not compared with what follows.
        s.push(20, false, false, b"tu", O, BIG, &mut r);
        s.flush_buffered(&mut r);
        assert!(
            !s.push(13, false, false, b"c", O, BIG, &mut r)
                .overlap_differing
        );
        assert!(
            s.push(20, false, false, b"Tu", O, BIG, &mut r)
                .overlap_differing
        );
    }

    #[test]
    fn without_a_window_delivered_bytes_are_not_compared() {
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(0, true, false, b"", O, BIG, &mut r);
        s.push(1, false, false, b"0123456789", O, BIG, &mut r);
        assert!(
            !s.push(1, false, false, b"XXXX", O, BIG, &mut r)
                .overlap_differing
        );
    }

    #[test]
    fn the_window_keeps_at_most_its_size() {
        let mut s = StreamReassembler::new();
        s.set_recent_window(4);
        let mut r = Rec::default();
        s.push(0, true, false, b"", O, BIG, &mut r);
        s.push(1, false, false, &[7u8; 1000], O, BIG, &mut r);
        for i in 0..10u32 {
            s.push(1001 + i, false, false, b"z", O, BIG, &mut r);
        }
        assert_eq!(s.recent.len(), 4);
        assert!(
            s.push(1007, false, false, b"zzzy", O, BIG, &mut r)
                .overlap_differing
        );
        assert!(
            !s.push(1006, false, false, b"7zzz", O, BIG, &mut r)
                .overlap_differing
        );
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        /// A stream cut at random points, one segment per piece.
        fn segments(len: usize, cuts: &[usize]) -> Vec<(usize, usize)> {
            let mut pts: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
            pts.push(0);
            pts.push(len);
            pts.sort_unstable();
            pts.dedup();
            pts.windows(2).map(|w| (w[0], w[1])).collect()
        }

        /// Layout the reassembler must produce when the bytes in `covered` arrived:
        /// the original with each maximal missing run replaced by one gap of its length.
        fn expected(data: &[u8], covered: &[bool]) -> Vec<Ev> {
            let mut r = Rec::default();
            let mut i = 0;
            while i < data.len() {
                let mut j = i;
                while j < data.len() && covered[j] == covered[i] {
                    j += 1;
                }
                if covered[i] {
                    r.data(&data[i..j]);
                } else {
                    r.gap((j - i) as u64);
                }
                i = j;
            }
            r.0
        }

        #[derive(Debug, Clone)]
        struct Case {
            data: Vec<u8>,
            isn: u32,
            cuts: Vec<usize>,
            order: Vec<usize>,
            dups: Vec<(usize, usize, usize)>,
            drop: Vec<bool>,
        }

        fn case() -> impl Strategy<Value = Case> {
            (
                proptest::collection::vec(any::<u8>(), 0..3000),
                prop_oneof![Just(u32::MAX), u32::MAX - 4000..=u32::MAX, any::<u32>()],
                proptest::collection::vec(any::<usize>(), 0..40),
                proptest::collection::vec(any::<usize>(), 0..80),
                proptest::collection::vec((any::<usize>(), any::<usize>(), any::<usize>()), 0..20),
                proptest::collection::vec(any::<bool>(), 0..40),
            )
                .prop_map(|(data, isn, cuts, order, dups, drop)| Case {
                    data,
                    isn,
                    cuts,
                    order,
                    dups,
                    drop,
                })
        }

        /// Segments as sent: the cut pieces plus overlapping retransmits (identical bytes)
        /// spanning random ranges, shuffled by `order`.
        fn schedule(c: &Case, with_drops: bool) -> (Vec<(usize, usize)>, Vec<bool>) {
            let len = c.data.len();
            let mut segs = segments(len, &c.cuts);
            if with_drops {
                segs = segs
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !c.drop.get(*i).copied().unwrap_or(false))
                    .map(|(_, s)| s)
                    .collect();
            }
            let mut covered = vec![false; len];
            for &(a, b) in &segs {
                covered[a..b].iter_mut().for_each(|x| *x = true);
            }
            // Retransmits cover only bytes that were sent, so drops stay holes.
            for &(x, y, _) in &c.dups {
                if len == 0 {
                    break;
                }
                let (a, b) = (x % len, y % len);
                let (a, b) = (a.min(b), a.max(b) + 1);
                if covered[a..b].iter().all(|&v| v) {
                    segs.push((a, b));
                }
            }
            // Reorder: swap by the random list (a permutation applied as swaps).
            let n = segs.len();
            for (i, &o) in c.order.iter().enumerate() {
                if n > 1 {
                    segs.swap(i % n, o % n);
                }
            }
            (segs, covered)
        }

        fn run(c: &Case, segs: &[(usize, usize)], max_ooo: usize) -> (Rec, StreamReassembler) {
            let mut s = StreamReassembler::new();
            let mut r = Rec::default();
            s.push(c.isn, true, false, b"", Origin::default(), max_ooo, &mut r);
            let base = c.isn.wrapping_add(1);
            for &(a, b) in segs {
                let seq = base.wrapping_add(a as u32);
                s.push(
                    seq,
                    false,
                    false,
                    &c.data[a..b],
                    Origin::default(),
                    max_ooo,
                    &mut r,
                );
            }
            // A bare FIN, never lost, marks where the stream ends.
            let fin_seq = base.wrapping_add(c.data.len() as u32);
            s.push(
                fin_seq,
                false,
                true,
                b"",
                Origin::default(),
                max_ooo,
                &mut r,
            );
            s.flush(&mut r);
            (r, s)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn reassembles_original_bytes(c in case()) {
                let (segs, _) = schedule(&c, false);
                let (r, s) = run(&c, &segs, BIG);
                let want = if c.data.is_empty() { vec![] } else { vec![Ev::Data(c.data.clone())] };
                prop_assert_eq!(r.0, want);
                prop_assert_eq!(s.gaps(), 0);
                prop_assert_eq!(s.buffered_cost(), 0);
                prop_assert!(s.is_complete());
            }

            #[test]
            fn dropped_segments_become_exact_gaps(c in case()) {
                let (segs, covered) = schedule(&c, true);
                let (r, s) = run(&c, &segs, BIG);
                let want = expected(&c.data, &covered);
                let missing = covered.iter().filter(|&&v| !v).count() as u64;
                prop_assert_eq!(r.0, want);
                prop_assert_eq!(s.gap_bytes(), missing);
                prop_assert_eq!(s.delivered_bytes(), c.data.len() as u64 - missing);
            }

            #[test]
            fn snapped_segments_deliver_what_was_captured_and_gap_the_rest(
                c in case(),
                snaps in proptest::collection::vec(any::<Option<usize>>(), 0..40),
            ) {
                // Each segment may have been cut by a snap length, keeping a prefix; in any
                // order, with some segments lost, every captured byte is delivered at its
                // offset and every other byte is in a gap of the right length.
                let (segs, mut covered) = schedule(&Case { dups: vec![], ..c.clone() }, true);
                let mut s = StreamReassembler::new();
                let mut r = Rec::default();
                s.push(c.isn, true, false, b"", Origin::default(), BIG, &mut r);
                let base = c.isn.wrapping_add(1);
                for (i, &(a, b)) in segs.iter().enumerate() {
                    let keep = match snaps.get(i).copied().flatten() {
                        Some(k) => k % (b - a + 1),
                        None => b - a,
                    };
                    covered[a + keep..b].iter_mut().for_each(|x| *x = false);
                    let seq = base.wrapping_add(a as u32);
                    let cut = (b - a - keep) as u32;
                    s.push_cut(seq, false, false, &c.data[a..a + keep], cut, Origin::default(), BIG, &mut r);
                }
                let fin_seq = base.wrapping_add(c.data.len() as u32);
                s.push(fin_seq, false, true, b"", Origin::default(), BIG, &mut r);
                s.flush(&mut r);
                // A snapped tail next to a lost segment is reported as two gaps: merge them
                // to compare with the layout.
                let mut got: Vec<Ev> = Vec::new();
                for ev in r.0 {
                    match (got.last_mut(), ev) {
                        (Some(Ev::Gap(g)), Ev::Gap(h)) => *g += h,
                        (_, ev) => got.push(ev),
                    }
                }
                let missing = covered.iter().filter(|&&v| !v).count() as u64;
                prop_assert_eq!(got, expected(&c.data, &covered));
                prop_assert_eq!(s.gap_bytes(), missing);
                prop_assert_eq!(s.buffered_cost(), 0);
                prop_assert!(s.is_complete());
            }

            #[test]
            fn small_buffer_keeps_layout(c in case(), lim in 0usize..600) {
                // Under a tight limit holes may widen, but every delivered byte sits at its
                // true offset and data plus gaps add up to the whole stream.
                let (segs, _) = schedule(&c, true);
                let (r, s) = run(&c, &segs, lim);
                let mut off = 0usize;
                for ev in &r.0 {
                    match ev {
                        Ev::Data(d) => {
                            prop_assert_eq!(&d[..], &c.data[off..off + d.len()]);
                            off += d.len();
                        }
                        Ev::Gap(g) => off += *g as usize,
                    }
                }
                prop_assert_eq!(off, c.data.len());
                prop_assert_eq!(s.buffered_cost(), 0);
            }
        }
    }
}
