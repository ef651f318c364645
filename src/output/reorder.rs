//! Bounded reordering of frames that reach the writer from several workers.
//!
//! Each connection (any key the caller picks) has its own FIFO queue, so its frames leave
//! in the order they arrived — capture order — even if their timestamps step backwards.
//! Across connections the queue whose head is oldest goes first, which merges them into
//! timestamp order. A frame is held until one of these is true:
//! - the newest timestamp seen is at least `window` later than the frame's (packet time);
//! - more than `max_frames` frames or `max_bytes` bytes are held (the oldest leaves);
//! - the caller drains the buffer (idle writer, end of run).
//!
//! A frame that reaches the buffer later than `window` behind the newest one (e.g. frames
//! held by a worker until their connection was recognized) leaves at once and may land
//! after newer frames of other connections; the writer counts those.

use crate::capture::{Frame, Timestamp};
use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, HashMap, VecDeque};

/// The writer hashes a key per batch of frames; FNV is several times cheaper than SipHash and
/// the keys come from our own flow table, not from an attacker choosing hash inputs.
type FastHash = std::hash::BuildHasherDefault<crate::flow::key::FnvHasher>;
use std::hash::Hash;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReorderLimits {
    /// Packet time a frame waits for older frames of other connections.
    pub window: Duration,
    pub max_frames: usize,
    pub max_bytes: usize,
}

impl Default for ReorderLimits {
    fn default() -> Self {
        ReorderLimits {
            window: Duration::from_millis(500),
            max_frames: 32_768,
            max_bytes: 32 << 20,
        }
    }
}

struct Held<T> {
    seq: u64,
    frame: Frame,
    tag: T,
}

/// One connection's frames. Slots are reused once empty, keeping their capacity.
struct Queue<K, T> {
    key: K,
    frames: VecDeque<Held<T>>,
}

pub struct ReorderBuffer<K, T> {
    limits: ReorderLimits,
    /// Key to slot in `queues`: hashed once per `push_many`, never per frame.
    slots: HashMap<K, usize, FastHash>,
    queues: Vec<Queue<K, T>>,
    free: Vec<usize>,
    /// One entry per non-empty queue: its head's timestamp, arrival number and slot.
    heads: BinaryHeap<Reverse<(Timestamp, u64, usize)>>,
    newest: Timestamp,
    seq: u64,
    frames: usize,
    bytes: usize,
}

impl<K: Hash + Eq + Clone, T: Clone> ReorderBuffer<K, T> {
    pub fn new(limits: ReorderLimits) -> Self {
        ReorderBuffer {
            limits,
            slots: HashMap::default(),
            queues: Vec::new(),
            free: Vec::new(),
            heads: BinaryHeap::new(),
            newest: Timestamp(0),
            seq: 0,
            frames: 0,
            bytes: 0,
        }
    }

    /// Queues a frame of connection `key`, carrying `tag` along to the output.
    pub fn push(&mut self, key: K, tag: T, frame: Frame) {
        self.push_many(key, tag, std::iter::once(frame));
    }

    /// Queues frames of connection `key` in the order given, each carrying `tag`.
    pub fn push_many(&mut self, key: K, tag: T, frames: impl IntoIterator<Item = Frame>) {
        let mut frames = frames.into_iter().peekable();
        if frames.peek().is_none() {
            return;
        }
        let slot = match self.slots.get(&key) {
            Some(&s) => s,
            None => {
                let s = match self.free.pop() {
                    Some(s) => {
                        self.queues[s].key = key.clone();
                        s
                    }
                    None => {
                        self.queues.push(Queue {
                            key: key.clone(),
                            frames: VecDeque::new(),
                        });
                        self.queues.len() - 1
                    }
                };
                self.slots.insert(key, s);
                s
            }
        };
        let q = &mut self.queues[slot].frames;
        for frame in frames {
            self.seq += 1;
            self.newest = self.newest.max(frame.ts);
            self.frames += 1;
            self.bytes += frame.data.len();
            if q.is_empty() {
                self.heads.push(Reverse((frame.ts, self.seq, slot)));
            }
            q.push_back(Held {
                seq: self.seq,
                frame,
                tag: tag.clone(),
            });
        }
    }

    fn over_limits(&self) -> bool {
        self.frames > self.limits.max_frames || self.bytes > self.limits.max_bytes
    }

    /// The next frame that may leave now, or with `drain` the next one regardless.
    pub fn pop(&mut self, drain: bool) -> Option<(K, T, Frame)> {
        let Reverse((ts, _, _)) = *self.heads.peek()?;
        let waited = Duration::from_nanos(self.newest.0.saturating_sub(ts.0));
        if !(drain || self.over_limits() || waited >= self.limits.window) {
            return None;
        }
        let mut top = self.heads.peek_mut()?;
        let slot = top.0 .2;
        let q = &mut self.queues[slot];
        let held = q.frames.pop_front()?;
        match q.frames.front() {
            // Replacing the top in place sifts once instead of a pop and a push.
            Some(next) => *top = Reverse((next.frame.ts, next.seq, slot)),
            None => {
                PeekMut::pop(top);
                self.slots.remove(&q.key);
                self.free.push(slot);
            }
        }
        self.frames -= 1;
        self.bytes -= held.frame.data.len();
        Some((q.key.clone(), held.tag, held.frame))
    }

    pub fn len(&self) -> usize {
        self.frames
    }

    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }
}

#[cfg(test)]
mod tests;
