//! Wires the stages together: opens outputs and the source (failing early, with one
//! line), starts the event thread and the workers, runs the capture loop on this thread,
//! and collects every counter at the end.

use crate::capture::{
    Batch, CaptureError, Frame, LinkType, LiveOptions, LiveSource, OfflineSource, Timestamp,
};
use crate::cli::{Args, BackendArg};
use crate::dispatch::{Backpressure, Dispatcher, WorkItem};
use crate::flow::FlowKey;
use crate::output::carve::Carver;
use crate::output::event::{Event, StatsRecord};
use crate::output::order::EventOrder;
use crate::output::pcap_out::{
    PcapOut, PcapOutConfig, PcapOutHandle, PcapOutStats, PcapSender, WriterMsg,
};
use crate::output::sink::EventSink;
use crate::output::transfer_files::{TransferId, TransferLabel};
use crate::session::correlate::{Correlator, CorrelatorOutput};
use crate::session::handler::{SessionCounters, SessionHandler, SessionOptions};
use crate::session::report::Report;
use crate::stats::{CaptureCounters, WorkerCounters};
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

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
    /// The frame sources: one file, or one live socket per capture thread (joined in a
    /// PACKET_FANOUT hash group when there are several).
    fn open(args: &Args) -> Result<Vec<Source>, RunError> {
        if let Some(path) = &args.read {
            return Ok(vec![Source::Offline(OfflineSource::open(path)?)]);
        }
        let Some(iface) = &args.interface else {
            return Err(RunError(
                "oftsniff: nothing to read: give -i IFACE (live) or -r FILE (offline); see --help"
                    .into(),
            ));
        };
        let threads = args.capture_threads.clamp(1, 64);
        let opts = LiveOptions {
            promisc: !args.no_promisc,
            ring_block_size: (args.ring_block_kb as usize).saturating_mul(1024),
            ring_block_count: args.ring_blocks as usize,
            // Fanout groups are per network namespace; the pid keeps two instances apart.
            fanout_group: (threads > 1).then(|| (std::process::id() & 0xffff) as u16),
            ..LiveOptions::default()
        };
        let backend = match args.backend {
            BackendArg::Ring => crate::capture::Backend::Ring,
            BackendArg::Pnet => crate::capture::Backend::Pnet,
        };
        (0..threads)
            .map(|_| Ok(Source::Live(LiveSource::open(iface, backend, &opts)?)))
            .collect()
    }

    fn link_type(&self) -> LinkType {
        match self {
            Source::Offline(o) => o.link_type(),
            Source::Live(l) => l.link_type(),
        }
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
    pub pcap: Option<PcapOutStats>,
    pub session: SessionCounters,
    /// `--explain` ladders, one text block per transfer.
    pub explained: Vec<String>,
}

fn one_line(e: impl fmt::Display) -> RunError {
    let s = e.to_string();
    if s.starts_with("oftsniff:") {
        RunError(s)
    } else {
        RunError(format!("oftsniff: {s}"))
    }
}

pub fn run(args: &Args) -> Result<Summary, RunError> {
    let limits = args.limits();
    // The source first (a bad interface or file is the likeliest mistake), then every
    // output: an unwritable path must fail before any capture starts.
    let sources = Source::open(args)?;
    let human = !args.quiet;
    let sink = EventSink::open(args.json.as_deref(), human, args.verbose).map_err(|e| {
        RunError(format!(
            "oftsniff: cannot write {}: {e}",
            args.json
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ))
    })?;
    let pcap = if args.write.is_some() || args.pcap_dir.is_some() {
        let mut cfg = PcapOutConfig::new(sources[0].link_type());
        cfg.write = args.write.clone();
        cfg.rotate_mb = args.rotate_mb;
        cfg.rotate_files = args.rotate_files;
        cfg.pcap_dir = args.pcap_dir.clone();
        // Messages are whole report batches (up to a frame batch each): a short queue
        // bounds the memory they hold and pushes back on the workers early.
        cfg.channel_capacity = 64;
        Some(PcapOut::open(cfg).map_err(one_line)?)
    } else {
        None
    };
    let carver = match &args.extract {
        Some(dir) => Some(Arc::new(Carver::new(dir).map_err(one_line)?)),
        None => None,
    };

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // Ctrl-C and SIGTERM end the capture loop; everything captured is still processed
        // and flushed. Failing to install the handler only loses graceful stop.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }

    let opts = Arc::new(SessionOptions {
        progress_secs: args.progress,
        explain: args.explain,
        pcap: pcap.is_some(),
        with_rendezvous: args.with_rendezvous,
        max_held_frames: limits.max_held_frames,
        midstream_scan_bytes: limits.midstream_scan_bytes,
        // Flow records only where they can be seen.
        flow_records: args.json.is_some() || args.verbose,
        ..SessionOptions::default()
    });
    let live = matches!(sources[0], Source::Live(_));
    let (rep_tx, rep_rx) = bounded::<Vec<Report>>(64);
    let pcap_sender = pcap.as_ref().map(PcapOutHandle::sender);
    let event_opts = EventOptions {
        explain: args.explain,
        live,
        max_transfers: limits.max_transfers,
        workers: args.worker_count(),
    };
    let event_thread = thread::Builder::new()
        .name("events".into())
        .spawn(move || event_loop(rep_rx, sink, pcap_sender, event_opts))
        .map_err(|e| RunError(format!("oftsniff: cannot start event thread: {e}")))?;

    let n = args.worker_count();
    let mut senders = Vec::with_capacity(n);
    let mut workers = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, rx) = bounded::<WorkItem>(limits.queue_batches);
        senders.push(tx);
        let handler = SessionHandler::new(i, rep_tx.clone(), opts.clone(), carver.clone());
        let limits = limits.clone();
        let h = thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || crate::worker::run(rx, handler, &limits))
            .map_err(|e| RunError(format!("oftsniff: cannot start worker thread: {e}")))?;
        workers.push(h);
    }

    let shared = Arc::new(CaptureShared {
        renumber: sources.len() > 1,
        next_frame: AtomicU64::new(1),
        captured: AtomicU64::new(0),
        limit: args.count.unwrap_or(u64::MAX),
        stop: stop.clone(),
    });
    let mut capture_threads = Vec::with_capacity(sources.len());
    for (i, source) in sources.into_iter().enumerate() {
        let dispatcher = Dispatcher::new(senders.clone(), limits.batch_frames, source.policy());
        let shared = shared.clone();
        let batch = limits.batch_frames;
        let h = thread::Builder::new()
            .name(format!("capture-{i}"))
            .spawn(move || capture_thread(source, dispatcher, &shared, batch))
            .map_err(|e| RunError(format!("oftsniff: cannot start capture thread: {e}")))?;
        capture_threads.push(h);
    }
    // The workers end when every dispatcher (the only senders) has hung up.
    drop(senders);
    let mut capture = CaptureCounters::default();
    let mut dispatched = crate::dispatch::DispatchCounters::default();
    let mut warnings = Vec::new();
    let mut last_ts = Timestamp(0);
    let mut result = Ok(());
    for h in capture_threads {
        match h.join() {
            Ok(done) => {
                capture.frames_captured += done.counters.frames_captured;
                capture.kernel_dropped += done.counters.kernel_dropped;
                dispatched.non_tcp += done.dispatched.non_tcp;
                dispatched.queue_dropped += done.dispatched.queue_dropped;
                warnings.extend(done.warnings);
                last_ts = last_ts.max(done.last_ts);
                if let (Ok(()), Err(e)) = (&result, done.result) {
                    result = Err(e);
                }
            }
            Err(_) => return Err(RunError("oftsniff: a capture thread crashed".into())),
        }
    }

    let mut totals = WorkerCounters::default();
    let mut session = SessionCounters::default();
    for w in workers {
        match w.join() {
            Ok((handler, c)) => {
                totals.add(&c);
                session.add(&handler.counters);
            }
            Err(_) => return Err(RunError("oftsniff: a worker thread crashed".into())),
        }
    }
    capture.queue_dropped = dispatched.queue_dropped;

    let stats = StatsRecord {
        // The run ends at its last frame; the event thread moves this later only if
        // transfers were reported past it.
        ts: last_ts.as_f64(),
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
        held_frames_dropped: session.held_frames_dropped,
        transfers_evicted: 0,
    };
    let _ = rep_tx.send(vec![Report::Stats(stats.clone())]);
    drop(rep_tx);
    let mut stats = stats;
    let explained = match event_thread.join() {
        Ok(Ok((explained, evicted))) => {
            stats.transfers_evicted = evicted;
            explained
        }
        Ok(Err(e)) => return Err(RunError(format!("oftsniff: writing events failed: {e}"))),
        Err(_) => return Err(RunError("oftsniff: the event thread crashed".into())),
    };
    let pcap = pcap.map(PcapOutHandle::finish);
    if let Some(e) = pcap.as_ref().and_then(|p| p.error.as_ref()) {
        return Err(one_line(e));
    }
    result?;
    Ok(Summary {
        stats,
        warnings,
        pcap,
        session,
        explained,
    })
}

/// The event thread: correlates reports into transfers and writes events out.
fn event_loop(
    rx: Receiver<Vec<Report>>,
    sink: EventSink,
    pcap: Option<PcapSender>,
    opts: EventOptions,
) -> std::io::Result<(Vec<String>, u64)> {
    let mut correlator = Correlator::new(opts.explain, opts.max_transfers);
    let mut out = Outputs {
        pcap_pending: Vec::new(),
        sink,
        pcap,
        order: EventOrder::new(opts.workers, MAX_HELD_EVENTS),
        error: None,
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(batch) => {
                for r in batch {
                    match r {
                        Report::Stats(mut s) => {
                            correlator.finish(&mut out);
                            out.drain_events();
                            s.ts = s.ts.max(correlator.now());
                            s.transfers_evicted = correlator.transfers_evicted;
                            out.write_event(&Event::Stats(s));
                        }
                        Report::Watermark { worker, ts } => out.order.mark(worker, ts.as_f64()),
                        r => correlator.handle(r, &mut out),
                    }
                }
                out.release_events();
            }
            // Live and quiet: report transfers that have ended, and everything held,
            // rather than wait for traffic to move the packet clock.
            Err(RecvTimeoutError::Timeout) => {
                if opts.live {
                    correlator.flush_closed(&mut out);
                    out.drain_events();
                    out.sink.flush()?;
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        out.flush_pcap();
        if let Some(e) = out.error.take() {
            return Err(e);
        }
    }
    correlator.finish(&mut out);
    out.drain_events();
    out.flush_pcap();
    out.sink.flush()?;
    if let Some(e) = out.error.take() {
        return Err(e);
    }
    Ok((
        std::mem::take(&mut correlator.explained),
        correlator.transfers_evicted,
    ))
}

/// Events held for time ordering at most (see `EventOrder`).
const MAX_HELD_EVENTS: usize = 100_000;

struct EventOptions {
    explain: bool,
    live: bool,
    max_transfers: usize,
    workers: usize,
}

struct Outputs {
    sink: EventSink,
    order: EventOrder,
    pcap: Option<PcapSender>,
    /// Writer messages of one report batch, sent together.
    pcap_pending: Vec<WriterMsg>,
    error: Option<std::io::Error>,
}

impl Outputs {
    fn write_event(&mut self, ev: &Event) {
        if let Err(e) = self.sink.write(ev) {
            self.error.get_or_insert(e);
        }
    }

    fn release_events(&mut self) {
        let mut ready = Vec::new();
        self.order.release(|e| ready.push(e));
        for e in ready {
            self.write_event(&e);
        }
    }

    fn drain_events(&mut self) {
        let mut ready = Vec::new();
        self.order.drain(|e| ready.push(e));
        for e in ready {
            self.write_event(&e);
        }
    }

    fn flush_pcap(&mut self) {
        if let (Some(p), false) = (&self.pcap, self.pcap_pending.is_empty()) {
            // A failed writer reports its own error at exit.
            let _ = p.send(WriterMsg::Batch(std::mem::take(&mut self.pcap_pending)));
        }
    }
}

impl CorrelatorOutput for Outputs {
    fn event(&mut self, ev: Event) {
        self.order.push(ev);
    }
    fn frames(&mut self, transfer: TransferId, conn: FlowKey, frames: Vec<Frame>) {
        if self.pcap.is_some() {
            self.pcap_pending.push(WriterMsg::Frames {
                transfer,
                conn,
                frames,
            });
        }
    }
    fn transfer_started(&mut self, transfer: TransferId, label: &TransferLabel) {
        if self.pcap.is_some() {
            let label = label.clone();
            self.pcap_pending
                .push(WriterMsg::TransferInfo { transfer, label });
        }
    }
    fn transfer_ended(&mut self, transfer: TransferId) {
        if self.pcap.is_some() {
            self.pcap_pending.push(WriterMsg::TransferEnd { transfer });
        }
    }
}

/// What the capture threads share.
struct CaptureShared {
    /// Several threads: number frames from one counter so numbers stay unique.
    renumber: bool,
    next_frame: AtomicU64,
    captured: AtomicU64,
    /// `-c`: frames to capture over all threads.
    limit: u64,
    stop: Arc<AtomicBool>,
}

/// What one capture thread leaves behind.
struct CaptureDone {
    counters: CaptureCounters,
    /// Time of the newest frame read.
    last_ts: Timestamp,
    dispatched: crate::dispatch::DispatchCounters,
    warnings: Vec<String>,
    result: Result<(), RunError>,
}

/// A capture thread: reads batches, hands them to the dispatcher, does nothing else.
fn capture_thread(
    mut source: Source,
    mut dispatcher: Dispatcher,
    shared: &CaptureShared,
    batch_frames: usize,
) -> CaptureDone {
    let mut counters = CaptureCounters::default();
    let mut last_ts = Timestamp(0);
    let result = capture_loop(
        &mut source,
        &mut dispatcher,
        &mut counters,
        &mut last_ts,
        shared,
        batch_frames,
    );
    let dispatched = dispatcher.finish();
    let mut warnings = Vec::new();
    match &mut source {
        Source::Live(l) => counters.kernel_dropped = l.kernel_drops(),
        Source::Offline(o) => warnings.extend(o.warnings().iter().map(|w| w.to_string())),
    }
    CaptureDone {
        counters,
        last_ts,
        dispatched,
        warnings,
        result,
    }
}

fn capture_loop(
    source: &mut Source,
    dispatcher: &mut Dispatcher,
    counters: &mut CaptureCounters,
    last_ts: &mut Timestamp,
    shared: &CaptureShared,
    batch_frames: usize,
) -> Result<(), RunError> {
    let mut batch: Batch = Vec::with_capacity(batch_frames);
    let stop = &*shared.stop;
    while !stop.load(Ordering::Relaxed) {
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
                got
            }
            Source::Live(l) => l.next_batch(&mut batch, want, stop)?,
        };
        if got == 0 {
            // The source went quiet: do not let frames wait for a batch to fill.
            dispatcher.flush();
            continue;
        }
        // Claim frames against `-c` (other capture threads claim too).
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
            dispatcher.push(frame);
        }
    }
    Ok(())
}

/// tcpdump-style counters for stderr.
pub fn print_counters(summary: &Summary) {
    let s = &summary.stats;
    eprintln!("{} frames captured", s.frames_captured);
    eprintln!("{} frames dropped by kernel", s.kernel_dropped);
    eprintln!(
        "{} frames dropped by oftsniff (queues full)",
        s.queue_dropped
    );
    eprintln!("{} non-TCP frames skipped", s.non_tcp);
    if s.undecodable + s.ip_fragments > 0 {
        eprintln!(
            "{} undecodable frames, {} IP fragments skipped",
            s.undecodable, s.ip_fragments
        );
    }
    eprintln!(
        "{} flows seen, {} evicted, {} timed out",
        s.flows_seen, s.flows_evicted, s.flows_timed_out
    );
    eprintln!(
        "{} reassembly gaps ({} bytes), {} overlaps with differing bytes",
        s.reassembly_gaps, s.gap_bytes, s.overlaps_differing
    );
    if let Some(p) = &summary.pcap {
        eprintln!(
            "{} frames written to pcap ({} bytes, {} files, {} per-transfer files), writer fell behind {} times",
            p.frames_written, p.bytes_written, p.files, p.transfer_files, p.writer_stalls
        );
    }
    if s.transfers_evicted > 0 {
        eprintln!(
            "{} transfers ended early (--max-transfers)",
            s.transfers_evicted
        );
    }
    if s.held_frames_dropped > 0 {
        eprintln!(
            "{} frames not held for pcap output (--max-held-frames)",
            s.held_frames_dropped
        );
    }
}
