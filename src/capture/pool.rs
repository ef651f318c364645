//! Frame buffers recycled from the pcap writer back to the capture thread.
//!
//! With `-w`, every frame of a transfer is allocated by the capture thread and freed by
//! the writer thread, after waiting in the reorder window. Handing the buffers back means
//! the allocator is not asked for ~one fresh buffer per frame, and memory once touched is
//! reused instead of being returned and faulted in again. Buffers travel in bundles so the
//! channel is crossed once per bundle, not per frame. Nothing waits on the pool: a full
//! pool frees what it is given, an empty one lets the taker allocate.

use crossbeam_channel::{bounded, Receiver, Sender};

use super::frame::FrameData;

/// Buffers per bundle crossing the channel.
const BUNDLE: usize = 256;
/// Larger buffers (jumbo frames, GRO captures) go back to the allocator: a pool of them
/// would hold on to memory no ordinary frame needs.
const MAX_POOLED_CAPACITY: usize = 16 << 10;

/// Both ends of the pool; clone it to hand one end to each thread.
#[derive(Clone, Debug)]
pub struct FramePool {
    tx: Sender<Vec<Vec<u8>>>,
    rx: Receiver<Vec<Vec<u8>>>,
}

impl FramePool {
    /// A pool holding at most `bundles` bundles of spare buffers.
    pub fn new(bundles: usize) -> Self {
        let (tx, rx) = bounded(bundles.max(1));
        FramePool { tx, rx }
    }

    /// Bundles of spare buffers waiting for a taker.
    pub fn spare_bundles(&self) -> usize {
        self.rx.len()
    }

    pub fn taker(&self) -> BufTaker {
        BufTaker {
            pool: Some(self.rx.clone()),
            small: Vec::new(),
            large: Vec::new(),
        }
    }

    pub fn returner(&self) -> BufReturner {
        BufReturner {
            tx: self.tx.clone(),
            local: Vec::with_capacity(BUNDLE),
        }
    }
}

/// The capture side: copies frame bytes into a recycled buffer when one fits.
#[derive(Default)]
pub struct BufTaker {
    pool: Option<Receiver<Vec<Vec<u8>>>>,
    /// Spare buffers by size, so a bare ACK does not take (and hold in the reorder
    /// window) a buffer made for a full-size segment.
    small: Vec<Vec<u8>>,
    large: Vec<Vec<u8>>,
}

/// Frames up to this long (ACKs, handshakes) use small buffers.
const SMALL: usize = 256;

impl BufTaker {
    /// No pool: every frame gets its own fresh buffer.
    pub fn unpooled() -> Self {
        BufTaker::default()
    }

    /// An owned copy of `bytes`.
    pub fn copy(&mut self, bytes: &[u8]) -> FrameData {
        FrameData::Owned(self.copy_vec(bytes))
    }

    fn copy_vec(&mut self, bytes: &[u8]) -> Vec<u8> {
        let small = bytes.len() <= SMALL;
        let spare = if small { &self.small } else { &self.large };
        if spare.is_empty() {
            self.refill();
        }
        let spare = if small {
            &mut self.small
        } else {
            &mut self.large
        };
        match spare.pop() {
            Some(mut v) if v.capacity() >= bytes.len() => {
                v.clear();
                v.extend_from_slice(bytes);
                v
            }
            // Growing a buffer costs the same as a new one; let it go.
            _ => bytes.to_vec(),
        }
    }

    fn refill(&mut self) {
        if let Some(Ok(bundle)) = self.pool.as_ref().map(|rx| rx.try_recv()) {
            for v in bundle {
                let spare = if v.capacity() <= SMALL {
                    &mut self.small
                } else {
                    &mut self.large
                };
                // The class not asked for only fills up to a bound; the rest is freed.
                if spare.len() < 4 * BUNDLE {
                    spare.push(v);
                }
            }
        }
    }
}

/// The writer side: gives buffers of written frames back.
pub struct BufReturner {
    tx: Sender<Vec<Vec<u8>>>,
    local: Vec<Vec<u8>>,
}

impl BufReturner {
    /// Takes back a frame's buffer; a mapped frame's bytes have none to give.
    pub fn give(&mut self, data: FrameData) {
        let FrameData::Owned(buf) = data else {
            return;
        };
        if buf.capacity() == 0 || buf.capacity() > MAX_POOLED_CAPACITY {
            return;
        }
        self.local.push(buf);
        if self.local.len() >= BUNDLE {
            let bundle = std::mem::replace(&mut self.local, Vec::with_capacity(BUNDLE));
            // A full pool means the capture side has plenty: these are simply freed.
            let _ = self.tx.try_send(bundle);
        }
    }
}

#[cfg(test)]
mod tests;
