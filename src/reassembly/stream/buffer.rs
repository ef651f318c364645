//! The out-of-order buffer and in-order delivery: where a segment's bytes go, what becomes
//! deliverable, and which holes are given up as gaps.

use super::{piece_cost, Origin, StreamReassembler, StreamSink, PIECE_OVERHEAD};

impl StreamReassembler {
    /// Places `payload` (covering `[start, end)`) against the buffer: fresh bytes at `next`
    /// are delivered straight from `payload`, later fresh bytes are copied into the buffer,
    /// bytes already buffered (and, with `compare_delivered`, delivered bytes still in the
    /// recent window) are only compared. Returns whether any compared bytes differed.
    pub(super) fn insert<S: StreamSink>(
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
                self.ooo_cost += piece_cost(piece.len());
                self.ooo.insert(pos, (piece.to_vec(), origin));
            }
            pos = lim;
        }
        differing
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
        self.ooo_cost -= piece_cost(piece.len());
        let skip = (self.next - k) as usize;
        if let Some(rest) = piece.get(skip..) {
            self.deliver(rest, given_up.then_some(origin), sink);
        }
        true
    }

    /// Delivers every buffered piece now contiguous with `next`, and turns bytes known to
    /// be cut off at `next` into a gap.
    pub(super) fn drain<S: StreamSink>(&mut self, given_up: bool, sink: &mut S) {
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
