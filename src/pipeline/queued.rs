//! Frame bytes between a capture thread and the workers (`Limits::queue_bytes`).
//!
//! The worker channels are bounded in batches, and a batch of full-size frames weighs
//! two hundred times one of SYNs: counted in frames, the queues could hold tens of
//! megabytes beside `--memcap`. Reading a file, the capture thread adds each frame's
//! bytes as it hands it on and waits while the queues hold more than the limit; a worker
//! takes a batch's bytes off once it has run them through its table (frames a flow
//! keeps are charged to the memory budget there). Live capture never waits: its queues
//! stay bounded by the batch counts, and the kernel ring drops what does not fit.

use crate::capture::Frame;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a queued frame costs: its bytes, its own struct, the allocator's bookkeeping.
pub fn frame_cost(frame: &Frame) -> usize {
    frame.data.len() + std::mem::size_of::<Frame>() + 16
}

/// The shared count of queued frame bytes, with its limit.
#[derive(Clone, Debug)]
pub struct QueuedBytes {
    used: Arc<AtomicUsize>,
    limit: usize,
}

/// How long a waiting capture thread sleeps between looks: a worker takes a batch off
/// in well under a millisecond, and sleeping leaves the core to it.
const WAIT_STEP: Duration = Duration::from_micros(200);

impl QueuedBytes {
    pub fn new(limit: usize) -> Self {
        QueuedBytes {
            used: Arc::new(AtomicUsize::new(0)),
            limit: limit.max(1),
        }
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    pub fn add(&self, n: usize) {
        self.used.fetch_add(n, Ordering::Relaxed);
    }

    pub fn sub(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::Relaxed);
    }

    /// Whether `more` bytes would take the queues past the limit.
    pub fn would_pass(&self, more: usize) -> bool {
        self.used().saturating_add(more) > self.limit
    }

    /// Waits until the queues hold no more than half the limit. The caller must have
    /// sent everything it counted (the dispatcher flushed), or no worker could take it.
    pub fn wait_for_room(&self) {
        while self.used() > self.limit / 2 {
            std::thread::sleep(WAIT_STEP);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_sender_resumes_once_workers_took_bytes_off() {
        let q = QueuedBytes::new(1000);
        q.add(900);
        assert!(!q.would_pass(100));
        assert!(q.would_pass(101));
        let worker = q.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            worker.sub(600);
        });
        q.wait_for_room();
        assert_eq!(q.used(), 300);
        t.join().unwrap();
    }
}
