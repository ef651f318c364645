//! Damage a conversation the way networks and capture points do: drops, duplicates,
//! overlapping retransmissions and reordering, all decided by a seeded PRNG so a failing
//! test replays exactly.

use super::rng::XorShift64;
use super::tcp::Segment;
use oftsniff::capture::Timestamp;
use oftsniff::flow::key::Endpoint;

/// What to do to a list of segments. Probabilities are per segment (per adjacent pair for
/// overlaps); 0 disables a mutation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mutations {
    /// Data segments lost before the capture point.
    pub drop: f64,
    /// Segments seen twice.
    pub duplicate: f64,
    /// Retransmissions that cover the second half of one data segment and the first half of
    /// the next in the same direction.
    pub overlap: f64,
    /// Overlapping retransmissions carry bytes that differ from the originals.
    pub conflicting_overlaps: bool,
    /// Segments shuffled within consecutive blocks of this many (0 or 1: keep order).
    pub reorder_window: usize,
}

/// Bytes that will never appear on the wire because their segment was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hole {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub len: u32,
}

pub struct Mutator {
    rng: XorShift64,
}

impl Mutator {
    pub fn new(seed: u64) -> Self {
        Mutator {
            rng: XorShift64::new(seed),
        }
    }

    /// Applies `m` in a fixed order: drop, overlap, duplicate, reorder. Overlaps and
    /// duplicates are made only from surviving segments, so the returned holes are exactly
    /// the bytes missing from the capture. Afterwards the timestamps are redistributed so
    /// they rise in capture order, as a real capture's do.
    pub fn apply(&mut self, segs: &mut Vec<Segment>, m: &Mutations) -> Vec<Hole> {
        let holes = self.drop_data(segs, m.drop);
        self.overlap(segs, m.overlap, m.conflicting_overlaps);
        self.duplicate(segs, m.duplicate);
        self.reorder(segs, m.reorder_window);
        restamp(segs);
        holes
    }

    fn drop_data(&mut self, segs: &mut Vec<Segment>, p: f64) -> Vec<Hole> {
        let mut holes = Vec::new();
        let rng = &mut self.rng;
        segs.retain(|s| {
            if s.payload.is_empty() || !rng.chance(p) {
                return true;
            }
            holes.push(Hole {
                src: s.src,
                dst: s.dst,
                seq: s.seq,
                len: s.payload.len() as u32,
            });
            false
        });
        holes
    }

    fn overlap(&mut self, segs: &mut Vec<Segment>, p: f64, conflicting: bool) {
        if p <= 0.0 {
            return;
        }
        let mut out = Vec::with_capacity(segs.len());
        // Index in `out` of the last data segment per direction (keyed by source).
        let mut last: Vec<(Endpoint, usize)> = Vec::new();
        for seg in segs.drain(..) {
            let prev = last
                .iter()
                .find(|(src, _)| *src == seg.src)
                .map(|&(_, i)| i);
            let mut extra = None;
            if let Some(i) = prev {
                let a: &Segment = &out[i];
                let contiguous = a.seq.wrapping_add(a.payload.len() as u32) == seg.seq;
                if !seg.payload.is_empty() && contiguous && self.rng.chance(p) {
                    extra = Some(spanning_retransmit(a, &seg, conflicting));
                }
            }
            let has_data = !seg.payload.is_empty();
            let src = seg.src;
            out.push(seg);
            if has_data {
                let idx = out.len() - 1;
                match last.iter_mut().find(|(s, _)| *s == src) {
                    Some(e) => e.1 = idx,
                    None => last.push((src, idx)),
                }
            }
            if let Some(x) = extra {
                out.push(x);
            }
        }
        *segs = out;
    }

    fn duplicate(&mut self, segs: &mut Vec<Segment>, p: f64) {
        if p <= 0.0 {
            return;
        }
        let mut out = Vec::with_capacity(segs.len());
        for seg in segs.drain(..) {
            let dup = self.rng.chance(p).then(|| seg.clone());
            out.push(seg);
            out.extend(dup);
        }
        *segs = out;
    }

    fn reorder(&mut self, segs: &mut [Segment], window: usize) {
        if window < 2 {
            return;
        }
        for block in segs.chunks_mut(window) {
            // Fisher–Yates within the block: no segment moves further than the window.
            for i in (1..block.len()).rev() {
                let j = self.rng.below(i as u64 + 1) as usize;
                block.swap(i, j);
            }
        }
    }
}

/// A retransmission from the middle of `a` to the middle of `b` (contiguous segments of one
/// direction), carrying the same bytes unless `conflicting`.
fn spanning_retransmit(a: &Segment, b: &Segment, conflicting: bool) -> Segment {
    let from_a = &a.payload[a.payload.len() / 2..];
    let from_b = &b.payload[..b.payload.len().div_ceil(2)];
    let mut payload = Vec::with_capacity(from_a.len() + from_b.len());
    payload.extend_from_slice(from_a);
    payload.extend_from_slice(from_b);
    if conflicting {
        for x in &mut payload {
            *x ^= 0xff;
        }
    }
    Segment {
        seq: a.seq.wrapping_add((a.payload.len() / 2) as u32),
        payload,
        ..b.clone()
    }
}

/// Gives the segments, in their current order, the original timestamps sorted ascending.
fn restamp(segs: &mut [Segment]) {
    let mut ts: Vec<Timestamp> = segs.iter().map(|s| s.ts).collect();
    ts.sort_unstable();
    for (s, t) in segs.iter_mut().zip(ts) {
        s.ts = t;
    }
}
