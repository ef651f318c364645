//! Dispatch stage, on the capture thread: frames are sharded by a symmetric flow hash so
//! one worker owns each connection, gathered into per-worker batches, and sent over
//! bounded channels. Non-TCP frames are counted and dropped here, before any copy moves on.

use crate::capture::{Batch, Frame, Timestamp};
use crate::decode::hash::{shard, Shard};
use crate::stats::Counters;
use crossbeam_channel::{Sender, TrySendError};

/// What a worker receives.
pub enum WorkItem {
    Frames(Batch),
    /// Packet time has advanced to here (lets idle workers expire flows while live).
    Tick(Timestamp),
}

/// What to do when a worker's queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backpressure {
    /// Offline: wait, so no frame is ever lost.
    Block,
    /// Live: never stall the capture thread; drop the batch and count it.
    Drop,
}

pub struct Dispatcher {
    workers: Vec<Sender<WorkItem>>,
    pending: Vec<Batch>,
    batch_frames: usize,
    policy: Backpressure,
    last_tick: Timestamp,
    /// Latest packet time pushed.
    now: Timestamp,
    /// `non_tcp` and `queue_dropped`.
    pub counters: Counters,
}

/// Packet-time interval between ticks. The event thread merges the workers' reports in
/// packet-time order, so a worker with no traffic of its own holds the others' reports
/// (and, with `-w`, their frames) for up to this long.
const TICK_NANOS: u64 = Timestamp::NANOS_PER_SEC / 10;

impl Dispatcher {
    pub fn new(workers: Vec<Sender<WorkItem>>, batch_frames: usize, policy: Backpressure) -> Self {
        let pending = workers
            .iter()
            .map(|_| Vec::with_capacity(batch_frames))
            .collect();
        Dispatcher {
            workers,
            pending,
            batch_frames: batch_frames.max(1),
            policy,
            last_tick: Timestamp(0),
            now: Timestamp(0),
            counters: Counters::default(),
        }
    }

    pub fn push(&mut self, frame: Frame) {
        let n = self.workers.len() as u64;
        let w = match shard(frame.link, &frame.data) {
            Shard::Tcp(h) => (h % n) as usize,
            Shard::NotTcp => {
                self.counters.non_tcp += 1;
                return;
            }
            // Let a worker decode it fully and count why it is unusable.
            Shard::Unknown => 0,
        };
        let ts = frame.ts;
        self.now = self.now.max(ts);
        self.pending[w].push(frame);
        if self.pending[w].len() >= self.batch_frames {
            self.send(w);
        }
        if ts.0 >= self.last_tick.0.saturating_add(TICK_NANOS) {
            self.tick(ts);
        }
    }

    /// Sends every partial batch: called when the source goes quiet so live frames do
    /// not wait for a batch to fill.
    pub fn flush(&mut self) {
        for w in 0..self.workers.len() {
            if !self.pending[w].is_empty() {
                self.send(w);
            }
        }
    }

    /// Tells every worker that packet time reached `ts`.
    pub fn tick(&mut self, ts: Timestamp) {
        self.last_tick = ts;
        for w in 0..self.workers.len() {
            if !self.pending[w].is_empty() {
                self.send(w);
            }
            match self.policy {
                // Offline, every worker's clock must move exactly as the file's does, or
                // idle expiry (and so the output) would depend on thread timing.
                Backpressure::Block => {
                    let _ = self.workers[w].send(WorkItem::Tick(ts));
                }
                // Live, a tick is advisory: a full queue will carry newer times soon.
                Backpressure::Drop => {
                    let _ = self.workers[w].try_send(WorkItem::Tick(ts));
                }
            }
        }
    }

    fn send(&mut self, w: usize) {
        let batch = std::mem::replace(&mut self.pending[w], Vec::with_capacity(self.batch_frames));
        match self.policy {
            Backpressure::Block => {
                // A closed channel means the worker died; its panic surfaces at join.
                let _ = self.workers[w].send(WorkItem::Frames(batch));
            }
            Backpressure::Drop => match self.workers[w].try_send(WorkItem::Frames(batch)) {
                Ok(()) => {}
                Err(TrySendError::Full(WorkItem::Frames(b))) => {
                    self.counters.queue_dropped += b.len() as u64
                }
                Err(_) => {}
            },
        }
    }

    /// Flushes, brings every worker's clock to the last frame's time (so flows idle
    /// past their timeout end as `timeout` whichever worker owns them), and hangs up,
    /// which ends the workers' loops.
    pub fn finish(mut self) -> Counters {
        let now = self.now;
        self.tick(now);
        self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{FrameNo, LinkType};
    use crate::flow::Endpoint;
    use crate::gen::tcp::TcpConv;
    use crossbeam_channel::{bounded, Receiver};
    use std::net::IpAddr;

    fn tcp_frame(ts: u64, sport: u16) -> Frame {
        let ep = |last: u8, port| Endpoint::new(IpAddr::from([198, 18, 0, last]), port);
        let mut conv = TcpConv::new(ep(1, sport), ep(2, 80), Timestamp(ts));
        conv.handshake();
        let mut f = crate::gen::encode::frame(&conv.segments()[0]);
        f.no = FrameNo(1);
        assert_eq!(f.link, LinkType::Ethernet);
        f
    }

    fn items(rx: &Receiver<WorkItem>) -> Vec<Option<Timestamp>> {
        rx.try_iter()
            .map(|i| match i {
                WorkItem::Frames(_) => None,
                WorkItem::Tick(t) => Some(t),
            })
            .collect()
    }

    #[test]
    fn live_drops_what_a_full_queue_cannot_take_and_counts_it_without_blocking() {
        // One batch of room, no worker reading: the first batch fits, every later one
        // finds the queue full.
        let (tx, rx) = bounded(1);
        let (done_tx, done_rx) = bounded(1);
        // On a thread, so a capture side that blocked would fail the test instead of
        // hanging it.
        let pusher = std::thread::spawn(move || {
            let mut d = Dispatcher::new(vec![tx], 4, Backpressure::Drop);
            for i in 0..40u64 {
                // Ten batches of four frames, spread over several seconds of packet
                // time so ticks (which must not block either) are due as well.
                d.push(tcp_frame(i * 250_000_000, 40000 + i as u16));
            }
            let partial_tail = tcp_frame(10_000_000_000, 50000);
            d.push(partial_tail);
            d.flush();
            let counters = d.finish();
            done_tx.send(()).unwrap();
            counters
        });
        done_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the capture side never waits for a full queue");
        let counters = pusher.join().unwrap();
        let queued: Vec<WorkItem> = rx.try_iter().collect();
        assert_eq!(queued.len(), 1, "the queue held one batch");
        let delivered: u64 = queued
            .iter()
            .map(|i| match i {
                WorkItem::Frames(b) => b.len() as u64,
                WorkItem::Tick(_) => 0,
            })
            .sum();
        // A due tick sends a partial batch early, so the one that fits may be short.
        assert!(
            (1..=4).contains(&delivered),
            "the first batch went through: {delivered}"
        );
        assert_eq!(
            counters.queue_dropped,
            41 - delivered,
            "every other frame is counted as dropped"
        );
        assert_eq!(counters.non_tcp, 0);
    }

    #[test]
    fn offline_blocks_until_the_worker_takes_the_batch() {
        let (tx, rx) = bounded(1);
        let pusher = std::thread::spawn(move || {
            let mut d = Dispatcher::new(vec![tx], 1, Backpressure::Block);
            for i in 0..20u64 {
                d.push(tcp_frame(i, 40000));
            }
            d.finish()
        });
        let mut frames = 0;
        for item in rx.iter() {
            if let WorkItem::Frames(b) = item {
                frames += b.len();
            }
        }
        assert_eq!(frames, 20, "no frame lost");
        assert_eq!(pusher.join().unwrap().queue_dropped, 0);
    }

    #[test]
    fn finish_brings_every_worker_to_the_last_frame_time() {
        let (tx0, rx0) = bounded(16);
        let (tx1, rx1) = bounded(16);
        let mut d = Dispatcher::new(vec![tx0, tx1], 64, Backpressure::Block);
        d.push(tcp_frame(5, 40000));
        d.push(tcp_frame(7, 40001));
        d.finish();
        for rx in [&rx0, &rx1] {
            let got = items(rx);
            assert_eq!(got.last(), Some(&Some(Timestamp(7))), "{got:?}");
        }
    }
}
