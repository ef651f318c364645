//! The queue from a capture thread to one worker: a bounded crossbeam channel with a
//! doorbell beside it.
//!
//! Why not the channel's own blocking `recv`: on an empty channel it spins and then calls
//! `sched_yield` four times before it parks. A worker finds its queue empty after nearly
//! every batch, and on a machine with fewer cores than busy threads each yield is a
//! context switch: a third of a worker's CPU went to those yields in the live benchmark.
//! Here an idle worker says it is about to sleep and parks at once; the sender unparks it
//! only when it said so, so a busy worker costs the sender one atomic swap per batch.

use super::WorkItem;
use crossbeam_channel::{bounded, Receiver, SendError, Sender, TryRecvError, TrySendError};
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, Thread};

/// Shared by both ends of one queue.
#[derive(Default)]
struct Doorbell {
    /// The worker found the queue empty and is parking (or parked).
    sleeping: AtomicBool,
    /// The worker's thread, known from its first wait on.
    worker: OnceLock<Thread>,
}

impl Doorbell {
    /// Called after every send and hang-up: wakes the worker if it is asleep.
    fn ring(&self) {
        // Pairs with the fence in `WorkReceiver::recv`: either the worker's second look
        // sees what was just sent, or this swap sees that it is going to sleep.
        fence(Ordering::SeqCst);
        if self.sleeping.swap(false, Ordering::SeqCst) {
            if let Some(t) = self.worker.get() {
                t.unpark();
            }
        }
    }
}

/// The capture thread's end of a worker queue.
pub struct WorkSender {
    /// `None` only while being dropped.
    tx: Option<Sender<WorkItem>>,
    bell: Option<Arc<Doorbell>>,
}

/// A worker's end of its queue.
pub struct WorkReceiver {
    rx: Receiver<WorkItem>,
    /// Without one (a plain channel end), receiving blocks in the channel itself.
    bell: Option<Arc<Doorbell>>,
}

/// A queue holding at most `batches` items.
pub fn work_queue(batches: usize) -> (WorkSender, WorkReceiver) {
    let (tx, rx) = bounded(batches);
    let bell = Arc::new(Doorbell::default());
    (
        WorkSender {
            tx: Some(tx),
            bell: Some(bell.clone()),
        },
        WorkReceiver {
            rx,
            bell: Some(bell),
        },
    )
}

impl From<Sender<WorkItem>> for WorkSender {
    fn from(tx: Sender<WorkItem>) -> Self {
        WorkSender {
            tx: Some(tx),
            bell: None,
        }
    }
}

impl From<Receiver<WorkItem>> for WorkReceiver {
    fn from(rx: Receiver<WorkItem>) -> Self {
        WorkReceiver { rx, bell: None }
    }
}

impl WorkSender {
    fn channel(&self) -> &Sender<WorkItem> {
        self.tx.as_ref().expect("only taken in drop")
    }

    /// Waits while the queue is full.
    pub fn send(&self, item: WorkItem) -> Result<(), SendError<WorkItem>> {
        let r = self.channel().send(item);
        self.ring();
        r
    }

    pub fn try_send(&self, item: WorkItem) -> Result<(), TrySendError<WorkItem>> {
        let r = self.channel().try_send(item);
        if r.is_ok() {
            self.ring();
        }
        r
    }

    fn ring(&self) {
        if let Some(b) = &self.bell {
            b.ring();
        }
    }
}

impl Clone for WorkSender {
    fn clone(&self) -> Self {
        WorkSender {
            tx: self.tx.clone(),
            bell: self.bell.clone(),
        }
    }
}

impl Drop for WorkSender {
    fn drop(&mut self) {
        // Hang up first, then wake the worker so it sees the hang-up.
        drop(self.tx.take());
        self.ring();
    }
}

impl WorkReceiver {
    /// The next item; `None` once every sender has hung up and the queue is drained.
    pub fn recv(&self) -> Option<WorkItem> {
        let Some(bell) = &self.bell else {
            return self.rx.recv().ok();
        };
        loop {
            match self.rx.try_recv() {
                Ok(item) => return Some(item),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {}
            }
            bell.worker.get_or_init(thread::current);
            bell.sleeping.store(true, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            match self.rx.try_recv() {
                Ok(item) => {
                    bell.sleeping.store(false, Ordering::Relaxed);
                    return Some(item);
                }
                Err(TryRecvError::Disconnected) => return None,
                // A wake-up that comes for an item already taken only makes a later
                // park return early; the loop looks again either way.
                Err(TryRecvError::Empty) => thread::park(),
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }
}

#[cfg(test)]
mod tests;
