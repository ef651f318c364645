//! Dispatch stage, on the capture thread: frames are sharded by a symmetric flow hash so
//! one worker owns each connection, gathered into per-worker batches, and sent over
//! bounded channels. Non-TCP frames are counted and dropped here, before any copy moves on.

use crate::capture::{Batch, Frame, FrameNo, Timestamp};
use crate::decode::hash::{shard, Shard};
use crate::stats::Counters;
use crossbeam_channel::TrySendError;

mod queue;
pub use queue::{work_queue, WorkReceiver, WorkSender};

/// What a worker receives.
pub enum WorkItem {
    Frames(Batch),
    /// Packet time has advanced to here (lets idle workers expire flows while live), and
    /// every frame up to this number has been handed out.
    Tick(Timestamp, FrameNo),
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
    workers: Vec<WorkSender>,
    pending: Vec<Batch>,
    batch_frames: usize,
    policy: Backpressure,
    last_tick: Timestamp,
    /// Highest frame number handed out: ticks carry it, so what a tick makes a worker
    /// report is ordered the same whichever worker it is (see `session::merge`).
    seen: FrameNo,
    /// Latest packet time pushed.
    now: Timestamp,
    /// `non_tcp` and `queue_dropped`.
    pub counters: Counters,
}

/// Packet-time interval between ticks. The event thread merges the workers' reports in
/// packet-time order, so a worker with no traffic of its own holds the others' reports
/// (and, with `-w`, their frames) for up to this long.
const TICK_NANOS: u64 = Timestamp::NANOS_PER_SEC / 10;

/// The worker, of `workers`, that owns the flows hashing to `hash`. Kept as the plain
/// remainder: which worker owns a flow decides the order of same-time records between
/// workers, so the golden outputs with two workers depend on it.
pub fn worker_of(hash: u64, workers: usize) -> usize {
    (hash % workers.max(1) as u64) as usize
}

impl Dispatcher {
    /// One queue per worker: from `work_queue`, or plain channel ends (tests).
    pub fn new<S: Into<WorkSender>>(
        workers: Vec<S>,
        batch_frames: usize,
        policy: Backpressure,
    ) -> Self {
        let workers: Vec<WorkSender> = workers.into_iter().map(Into::into).collect();
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
            seen: FrameNo(0),
            now: Timestamp(0),
            counters: Counters::default(),
        }
    }

    pub fn push(&mut self, frame: Frame) {
        let w = match shard(frame.link, &frame.data) {
            Shard::Tcp(h) => worker_of(h, self.workers.len()),
            Shard::NotTcp => {
                self.counters.non_tcp += 1;
                return;
            }
            // Let a worker decode it fully and count why it is unusable.
            Shard::Unknown => 0,
        };
        let ts = frame.ts;
        self.now = self.now.max(ts);
        self.seen = self.seen.max(frame.no);
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
                    let _ = self.workers[w].send(WorkItem::Tick(ts, self.seen));
                }
                // Live, a tick is advisory: a full queue will carry newer times soon.
                Backpressure::Drop => {
                    let _ = self.workers[w].try_send(WorkItem::Tick(ts, self.seen));
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
