//! Wires the stages together: opens outputs and the source (failing early, with one
//! line), starts the event thread and the workers, runs the capture loop on this thread,
//! and collects every counter at the end.

use crate::capture::{Batch, CaptureError, LiveOptions, LiveSource, OfflineSource};
use crate::cli::{Args, BackendArg};
use crate::dispatch::{Backpressure, Dispatcher, WorkItem};
use crate::output::event::{Event, StatsRecord};
use crate::output::sink::EventSink;
use crate::session::handler::SessionHandler;
use crate::stats::{CaptureCounters, WorkerCounters};
use crossbeam_channel::bounded;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

/// A failure the user must hear about: one line, exit code 2.
#[derive(Debug)]
pub struct RunError(pub String);

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<CaptureError> for RunError {
    fn from(e: CaptureError) -> Self {
        RunError(e.to_string())
    }
}

enum Source {
    Offline(OfflineSource),
    Live(LiveSource),
}

impl Source {
    fn open(args: &Args) -> Result<Source, RunError> {
        if let Some(path) = &args.read {
            return Ok(Source::Offline(OfflineSource::open(path)?));
        }
        let Some(iface) = &args.interface else {
            return Err(RunError(
                "oftsniff: nothing to read: give -i IFACE (live) or -r FILE (offline); see --help".into(),
            ));
        };
        let opts = LiveOptions {
            promisc: !args.no_promisc,
            block_size: args.ring_block_kb.saturating_mul(1024),
            block_count: args.ring_blocks,
            ..LiveOptions::default()
        };
        let backend = match args.backend {
            BackendArg::Ring => crate::capture::Backend::Ring,
            BackendArg::Pnet => crate::capture::Backend::Pnet,
        };
        Ok(Source::Live(LiveSource::open(iface, backend, &opts)?))
    }

    fn policy(&self) -> Backpressure {
        match self {
            Source::Offline(_) => Backpressure::Block,
            Source::Live(_) => Backpressure::Drop,
        }
    }
}

/// What a run leaves behind, for the exit summary.
pub struct Summary {
    pub stats: StatsRecord,
    pub warnings: Vec<String>,
}

pub fn run(args: &Args) -> Result<Summary, RunError> {
    let limits = args.limits();
    // Outputs first: an unwritable path must fail before any capture starts.
    let human = !args.quiet;
    let sink = EventSink::open(args.json.as_deref(), human, args.verbose).map_err(|e| {
        RunError(format!(
            "oftsniff: cannot write {}: {e}",
            args.json.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
        ))
    })?;
    let mut source = Source::open(args)?;

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // Ctrl-C and SIGTERM end the capture loop; everything captured is still processed
        // and flushed. Failing to install the handler only loses graceful stop.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }

    let (ev_tx, ev_rx) = bounded::<Event>(4096);
    let sink_thread = thread::Builder::new()
        .name("events".into())
        .spawn(move || sink.run(ev_rx))
        .map_err(|e| RunError(format!("oftsniff: cannot start event thread: {e}")))?;

    let n = args.worker_count();
    let mut senders = Vec::with_capacity(n);
    let mut workers = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, rx) = bounded::<WorkItem>(limits.queue_batches);
        senders.push(tx);
        let handler = SessionHandler::new(ev_tx.clone());
        let limits = limits.clone();
        let h = thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || crate::worker::run(rx, handler, &limits))
            .map_err(|e| RunError(format!("oftsniff: cannot start worker thread: {e}")))?;
        workers.push(h);
    }

    let mut dispatcher = Dispatcher::new(senders, limits.batch_frames, source.policy());
    let mut capture = CaptureCounters::default();
    let result = capture_loop(&mut source, &mut dispatcher, &mut capture, args.count, &stop, limits.batch_frames);
    let dispatched = dispatcher.finish();

    let mut totals = WorkerCounters::default();
    for w in workers {
        match w.join() {
            Ok((_handler, c)) => totals.add(&c),
            Err(_) => return Err(RunError("oftsniff: a worker thread crashed".into())),
        }
    }
    let mut warnings = Vec::new();
    match &source {
        Source::Live(l) => capture.kernel_dropped = l.kernel_drops(),
        Source::Offline(o) => warnings.extend(o.warnings().iter().map(|w| w.to_string())),
    }
    capture.queue_dropped = dispatched.queue_dropped;

    let stats = StatsRecord {
        ts: 0.0,
        frames_captured: capture.frames_captured,
        kernel_dropped: capture.kernel_dropped,
        queue_dropped: capture.queue_dropped,
        non_tcp: dispatched.non_tcp + totals.non_tcp,
        undecodable: totals.undecodable,
        ip_fragments: totals.ip_fragments,
        flows_seen: totals.flows_seen,
        flows_evicted: totals.flows_evicted,
        flows_timed_out: totals.flows_timed_out,
        reassembly_gaps: totals.gaps,
        gap_bytes: totals.gap_bytes,
        overlaps_differing: totals.overlaps_differing,
        ooo_dropped_bytes: totals.ooo_dropped_bytes,
        held_frames_dropped: totals.held_frames_dropped,
    };
    let _ = ev_tx.send(Event::Stats(stats.clone()));
    drop(ev_tx);
    match sink_thread.join() {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(RunError(format!("oftsniff: writing events failed: {e}"))),
        Err(_) => return Err(RunError("oftsniff: the event thread crashed".into())),
    }
    result?;
    Ok(Summary { stats, warnings })
}

fn capture_loop(
    source: &mut Source,
    dispatcher: &mut Dispatcher,
    counters: &mut CaptureCounters,
    count: Option<u64>,
    stop: &AtomicBool,
    batch_frames: usize,
) -> Result<(), RunError> {
    let mut batch: Batch = Vec::with_capacity(batch_frames);
    let limit = count.unwrap_or(u64::MAX);
    while !stop.load(Ordering::Relaxed) && counters.frames_captured < limit {
        batch.clear();
        let want = batch_frames.min((limit - counters.frames_captured).min(usize::MAX as u64) as usize);
        let got = match source {
            Source::Offline(o) => {
                let got = o.next_batch(&mut batch, want)?;
                if got == 0 {
                    break;
                }
                got
            }
            Source::Live(l) => l.next_batch(&mut batch, want, stop)?,
        };
        if got == 0 {
            // The source went quiet: do not let frames wait for a batch to fill.
            dispatcher.flush();
            continue;
        }
        for frame in batch.drain(..) {
            counters.frames_captured += 1;
            dispatcher.push(frame);
        }
    }
    Ok(())
}

/// tcpdump-style counters for stderr.
pub fn print_counters(s: &StatsRecord) {
    eprintln!("{} frames captured", s.frames_captured);
    eprintln!("{} frames dropped by kernel", s.kernel_dropped);
    eprintln!("{} frames dropped by oftsniff (queues full)", s.queue_dropped);
    eprintln!("{} non-TCP frames skipped", s.non_tcp);
    if s.undecodable + s.ip_fragments > 0 {
        eprintln!("{} undecodable frames, {} IP fragments skipped", s.undecodable, s.ip_fragments);
    }
    eprintln!(
        "{} flows seen, {} evicted, {} timed out",
        s.flows_seen, s.flows_evicted, s.flows_timed_out
    );
    eprintln!(
        "{} reassembly gaps ({} bytes), {} overlaps with differing bytes",
        s.reassembly_gaps, s.gap_bytes, s.overlaps_differing
    );
}
