//! Capture threads: each reads batches from its source (a file, or one live socket of a
//! fanout group) and hands them to its dispatcher; nothing else happens here.

use crate::capture::{
    Batch, CaptureError, FilterExpr, Frame, FramePool, LinkType, LiveOptions, LiveSource,
    OfflineSet, OfflineSource, Timestamp,
};
use crate::config::Input;
use crate::dispatch::{Backpressure, Dispatcher};
use crate::stats::{Counters, Slot};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

pub enum Source {
    Offline(Box<OfflineSource>),
    /// Several files merged in time order.
    Files(Box<OfflineSet>),
    Live(LiveSource),
}

impl Source {
    /// The frame sources: one file, or one live socket per capture thread (joined in a
    /// PACKET_FANOUT hash group when there are several).
    /// `filter` is compiled for each source's link type: attached to live sockets,
    /// applied frame by frame to a file. A pipe read (`-r -`) ends early once `stop` is set.
    pub fn open(
        input: &Input,
        filter: Option<&FilterExpr>,
        snaplen: u32,
        stop: &Arc<AtomicBool>,
    ) -> Result<Vec<Source>, CaptureError> {
        match input {
            Input::File(path) => {
                let mut src = OfflineSource::open_until(path, Some(stop.clone()))?;
                src.set_snaplen(snaplen);
                if let Some(f) = filter {
                    src.set_filter(f.clone());
                }
                Ok(vec![Source::Offline(Box::new(src))])
            }
            Input::Files(paths) => Ok(vec![Source::Files(Box::new(OfflineSet::open(
                paths, filter, snaplen,
            )?))]),
            Input::Live(live) => (0..live.threads)
                .map(|_| {
                    let options = LiveOptions {
                        filter: filter.cloned(),
                        snaplen,
                        ..live.options.clone()
                    };
                    let s = LiveSource::open(&live.interface, live.backend, &options)?;
                    Ok(Source::Live(s))
                })
                .collect(),
        }
    }

    /// Frame buffers come from `pool` when it has any. Several files merged read each
    /// file with its own buffers.
    pub fn use_pool(&mut self, pool: &FramePool) {
        match self {
            Source::Offline(o) => o.use_pool(pool),
            Source::Files(_) => {}
            Source::Live(l) => l.use_pool(pool),
        }
    }

    pub fn link_type(&self) -> LinkType {
        match self {
            Source::Offline(o) => o.link_type(),
            Source::Files(s) => s.link_type(),
            Source::Live(l) => l.link_type(),
        }
    }

    /// Live, or a pipe whose writer may go quiet: events are flushed when nothing comes.
    pub fn is_live_like(&self) -> bool {
        match self {
            Source::Offline(o) => o.is_pipe(),
            Source::Files(_) => false,
            Source::Live(_) => true,
        }
    }

    pub fn policy(&self) -> Backpressure {
        match self {
            Source::Offline(_) | Source::Files(_) => Backpressure::Block,
            Source::Live(_) => Backpressure::Drop,
        }
    }
}

/// What the capture threads share.
pub struct CaptureShared {
    /// Several threads: number frames from one counter so numbers stay unique.
    pub renumber: bool,
    pub next_frame: AtomicU64,
    pub captured: AtomicU64,
    /// `-c`: frames to capture over all threads.
    pub limit: u64,
    pub stop: Arc<AtomicBool>,
    /// Stop asked for again: no waiting for what the kernel still holds.
    pub hurry: Arc<AtomicBool>,
    /// Reading files: frame bytes queued to the workers, which the reader waits at.
    pub queued: Option<super::queued::QueuedBytes>,
}

/// What one capture thread leaves behind.
pub struct CaptureDone {
    /// `frames_captured`, `kernel_dropped`, and the dispatcher's `non_tcp` and
    /// `queue_dropped`.
    pub counters: Counters,
    /// Time of the newest frame read.
    pub last_ts: Timestamp,
    pub warnings: Vec<String>,
    pub result: Result<(), CaptureError>,
}

/// A capture thread: reads batches, hands them to the dispatcher, does nothing else.
pub fn capture_thread(
    mut source: Source,
    mut dispatcher: Dispatcher,
    shared: &CaptureShared,
    batch_frames: usize,
    slot: Slot,
) -> CaptureDone {
    let mut counters = Counters::default();
    let mut last_ts = Timestamp(0);
    let result = capture_loop(
        &mut source,
        &mut dispatcher,
        &mut counters,
        &mut last_ts,
        shared,
        batch_frames,
        slot,
    );
    counters.add(&dispatcher.finish());
    let mut warnings = Vec::new();
    match &mut source {
        Source::Live(l) => counters.kernel_dropped = l.kernel_drops(),
        Source::Offline(o) => {
            counters.frames_filtered = o.frames_filtered();
            warnings.extend(o.warnings().iter().map(|w| w.to_string()));
        }
        Source::Files(s) => {
            counters.files_skipped = s.files_skipped();
            counters.frames_filtered = s.frames_filtered();
            warnings.extend(s.notes().iter().cloned());
        }
    }
    CaptureDone {
        counters,
        last_ts,
        warnings,
        result,
    }
}

fn capture_loop(
    source: &mut Source,
    dispatcher: &mut Dispatcher,
    counters: &mut Counters,
    last_ts: &mut Timestamp,
    shared: &CaptureShared,
    batch_frames: usize,
    mut slot: Slot,
) -> Result<(), CaptureError> {
    let mut batch: Batch = Vec::with_capacity(batch_frames);
    let stop = &*shared.stop;
    let mut quiet = false;
    while !stop.load(Ordering::Relaxed) {
        if slot.due(quiet) {
            let mut snap = *counters;
            snap.add(&dispatcher.counters);
            slot.publish(snap);
        }
        let taken = shared.captured.load(Ordering::Relaxed);
        if taken >= shared.limit {
            stop.store(true, Ordering::SeqCst);
            break;
        }
        batch.clear();
        let want = batch_frames.min((shared.limit - taken).min(usize::MAX as u64) as usize);
        let got = match source {
            Source::Offline(o) => {
                let got = o.next_batch(&mut batch, want)?;
                if got == 0 {
                    break;
                }
                if o.is_pipe() && got < want {
                    // The pipe has no more for now: the next read may wait.
                    hand_on(&mut batch, got, dispatcher, counters, last_ts, shared);
                    dispatcher.flush();
                    quiet = true;
                    continue;
                }
                got
            }
            Source::Files(s) => match s.next_batch(&mut batch, want)? {
                0 => break,
                got => got,
            },
            Source::Live(l) => l.next_batch(&mut batch, want, stop)?,
        };
        quiet = got == 0;
        if got == 0 {
            // The source went quiet: do not let frames wait for a batch to fill.
            dispatcher.flush();
            continue;
        }
        hand_on(&mut batch, got, dispatcher, counters, last_ts, shared);
    }
    // Stopped by a signal: what the kernel already captured is still ours to report.
    if let Source::Live(l) = source {
        if shared.captured.load(Ordering::Relaxed) < shared.limit
            && !shared.hurry.load(Ordering::Relaxed)
        {
            drain_after_stop(l, &mut batch, dispatcher, counters, last_ts, shared)?;
        }
    }
    Ok(())
}

/// How long frames captured before a stop are still read: the kernel hands the ring's
/// current block over after its retire timeout (10 ms by default), and a busy link
/// keeps filling it, so the wait is bounded rather than "until empty".
const DRAIN_AFTER_STOP: std::time::Duration = std::time::Duration::from_millis(150);

fn drain_after_stop(
    l: &mut LiveSource,
    batch: &mut Batch,
    dispatcher: &mut Dispatcher,
    counters: &mut Counters,
    last_ts: &mut Timestamp,
    shared: &CaptureShared,
) -> Result<(), CaptureError> {
    let started = std::time::Instant::now();
    // Never waits: with `stop` set, a source returns what is ready, or 0.
    let stopped = AtomicBool::new(true);
    let mut quiet = 0;
    while started.elapsed() < DRAIN_AFTER_STOP {
        let taken = shared.captured.load(Ordering::Relaxed);
        if taken >= shared.limit {
            break;
        }
        batch.clear();
        let want = batch
            .capacity()
            .max(1)
            .min((shared.limit - taken).min(usize::MAX as u64) as usize);
        let got = l.next_batch(batch, want, &stopped)?;
        if got == 0 {
            // Twice empty, a retire timeout apart: the frames from before the stop are in.
            quiet += 1;
            if quiet >= 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        quiet = 0;
        hand_on(batch, got, dispatcher, counters, last_ts, shared);
    }
    Ok(())
}

/// Claims a batch's frames against `-c` (other capture threads claim too), numbers them
/// when several threads capture, and hands them to the dispatcher.
fn hand_on(
    batch: &mut Batch,
    got: usize,
    dispatcher: &mut Dispatcher,
    counters: &mut Counters,
    last_ts: &mut Timestamp,
    shared: &CaptureShared,
) {
    let before = shared.captured.fetch_add(got as u64, Ordering::Relaxed);
    let keep = (shared.limit.saturating_sub(before)).min(got as u64) as usize;
    batch.truncate(keep);
    if shared.renumber {
        let first = shared.next_frame.fetch_add(keep as u64, Ordering::Relaxed);
        for (i, f) in batch.iter_mut().enumerate() {
            f.no = crate::capture::FrameNo(first + i as u64);
        }
    }
    for frame in batch.drain(..) {
        counters.frames_captured += 1;
        *last_ts = (*last_ts).max(frame.ts);
        match &shared.queued {
            Some(q) => push_counted(dispatcher, q, frame),
            None => dispatcher.push(frame),
        }
    }
}

/// Hands a frame on and counts its bytes as queued, first waiting for room while the
/// queues are full (`Limits::queue_bytes`). A frame the dispatcher drops as not TCP
/// never reaches a worker, so its bytes come off here.
fn push_counted(dispatcher: &mut Dispatcher, q: &super::queued::QueuedBytes, frame: Frame) {
    let cost = super::queued::frame_cost(&frame);
    if q.would_pass(cost) {
        dispatcher.flush();
        q.wait_for_room();
    }
    q.add(cost);
    let non_tcp = dispatcher.counters.non_tcp;
    dispatcher.push(frame);
    if dispatcher.counters.non_tcp != non_tcp {
        q.sub(cost);
    }
}
