//! The threads and their wiring. `run` takes the `Config` built once from the command
//! line, opens the source and every output (failing early, with one line), starts the
//! threads, and collects every counter at the end:
//!
//! capture threads (`capture`: read, shard by flow, batch) → workers (`worker`: decode,
//! reassemble, classify, session) → event thread (`events`: merge by packet time,
//! correlate, log and NDJSON) → pcap writer thread (`output::pcap_out`).

pub mod capture;
pub mod compare;
pub mod events;
mod privs;
mod queued;
mod recycle;
pub mod signals;
mod summary;
pub mod worker;

pub use summary::print_counters;

use self::capture::{capture_thread, CaptureDone, CaptureShared, Source};
use self::events::{event_loop, EventOptions, EventsDone, LiveReport};
use crate::capture::{CaptureError, FramePool, Timestamp};
use crate::config::Config;
use crate::dispatch::{work_queue, Dispatcher, WorkSender};
use crate::output::carve::Carver;
use crate::output::explain;
use crate::output::pcap_out::{PcapOut, PcapOutConfig, PcapOutHandle};
use crate::output::report::{self, ReportInput};
use crate::output::schema::StatsRecord;
use crate::output::sink::EventSink;
use crate::output::status::Status;
use crate::passthrough::PassThrough;
use crate::session::handler::{SessionHandler, SessionOptions};
use crate::session::record::RunRecord;
use crate::session::report::{Report, ReportBatch};
use crate::session::store::FileStore;
use crate::stats::{Board, Counters, RunTotals};
use crossbeam_channel::{bounded, Sender};
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

/// A failure the user must hear about: one line, and the exit code.
#[derive(Debug)]
pub struct RunError {
    pub line: String,
    /// [`EXIT_INPUT`] or [`EXIT_OUTPUT`].
    pub code: u8,
}

/// Exit code: bad usage or input (an unknown flag, interface or file, a damaged or
/// truncated capture, an output that cannot be opened before the run).
pub const EXIT_INPUT: u8 = 2;
/// Exit code: an output failed during the run (a write error), or a thread crashed.
pub const EXIT_OUTPUT: u8 = 1;

impl RunError {
    pub(crate) fn input(line: String) -> RunError {
        RunError {
            line,
            code: EXIT_INPUT,
        }
    }

    fn mid_run(line: String) -> RunError {
        RunError {
            line,
            code: EXIT_OUTPUT,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

impl From<CaptureError> for RunError {
    fn from(e: CaptureError) -> Self {
        RunError::input(e.to_string())
    }
}

/// What a run leaves behind, for the exit summary.
pub struct Summary {
    /// Every counter (and the pcap writer's), as the `stats` event had them.
    pub stats: StatsRecord,
    pub warnings: Vec<String>,
    /// The capture was damaged (a truncated last record): everything before the damage
    /// was processed, and the exit code says so ([`EXIT_INPUT`]).
    pub input_damaged: bool,
    /// `--explain` ladders, one text block per transfer.
    pub explained: Vec<String>,
    /// Transfers, files and ladders, kept for `--report` and `--compare`.
    pub record: RunRecord,
    /// Transfers and files reported (`transfer` and `file` events).
    pub transfers: u64,
    pub files: u64,
    /// An output failed during the run (a carved file could not be written): the other
    /// outputs went on, but the run must not look successful.
    pub output_failed: bool,
}

fn one_line(e: impl fmt::Display) -> RunError {
    let s = e.to_string();
    if s.starts_with("oftsniff:") {
        RunError::input(s)
    } else {
        RunError::input(format!("oftsniff: {s}"))
    }
}

/// The session layer's options, from the run's configuration.
pub fn session_options(cfg: &Config) -> SessionOptions {
    let out = &cfg.outputs;
    SessionOptions {
        progress_secs: out.progress_secs,
        explain: out.ladders() || !cfg.compare.is_empty(),
        pcap: out.pcap(),
        with_rendezvous: out.with_rendezvous,
        max_held_frames: cfg.limits.max_held_frames,
        midstream_scan_bytes: cfg.limits.midstream_scan_bytes,
        max_ladder_lines: cfg.limits.max_ladder_lines,
        flow_records: out.flow_records(),
        messages: out.messages,
        hash: out.hash,
    }
}

/// What the event thread is told: its outputs' settings and where signals reach it.
fn event_options(
    cfg: &Config,
    signals: &signals::RunSignals,
    board: &Board,
    live: bool,
) -> EventOptions {
    let live_report = match (&cfg.outputs.report, cfg.outputs.report_interval_secs) {
        (Some(path), secs) if secs > 0 && live => Some(LiveReport {
            path: path.clone(),
            every: std::time::Duration::from_secs(secs),
        }),
        _ => None,
    };
    EventOptions {
        live_report,
        stop: signals.stop.clone(),
        reopen: signals.reopen.clone(),
        report: signals.report.clone(),
        stats_interval: cfg.outputs.stats_interval,
        board: board.clone(),
        explain: cfg.outputs.explain,
        record: cfg.outputs.record() || !cfg.compare.is_empty(),
        live,
        max_transfers: cfg.limits.max_transfers,
        max_held_transfers: cfg.limits.max_held_transfers,
        message_link_secs: cfg.limits.message_link_secs,
        workers: cfg.workers,
        max_held_reports: cfg.limits.max_held_reports,
        status: None,
    }
}

/// The live status area, when the readable log goes to a terminal and `--no-status`
/// was not given: the log then goes through it.
fn status_area(cfg: &Config, sink: &mut EventSink, board: &Board) -> Option<Status> {
    if !cfg.outputs.status || !sink.has_human() {
        return None;
    }
    let status = Status::on_terminal(board.clone())?;
    sink.route_human(Box::new(status.log()));
    Some(status)
}

/// `--report`: the page, written at exit.
fn write_report(cfg: &Config, record: &RunRecord, stats: &StatsRecord) -> Result<(), RunError> {
    if let Some(path) = &cfg.outputs.report {
        let page = report::render(&ReportInput {
            records: &[record],
            stats: Some(stats),
            compare: None,
        });
        report::write_atomic(path, &page).map_err(one_line)?;
    }
    Ok(())
}

pub fn run(cfg: &Config) -> Result<Summary, RunError> {
    // Signals first (a stop must also end a read from a pipe that is still opening), then
    // the source (a bad interface or file is the likeliest mistake), then every output:
    // an unwritable path must fail before any capture starts.
    let signals = signals::install();
    let _uninstall = Uninstall;
    let stop = signals.stop.clone();
    let mut sources = Source::open(&cfg.input, cfg.filter.as_ref(), cfg.snaplen, &stop)?;
    let outputs = open_outputs(cfg, &mut sources, &signals)?;
    say_what_is_read(cfg, &sources);
    privs::drop_privileges(cfg)?;
    privs::confine(cfg);
    let live = sources[0].is_live_like();
    let board = Board::default();
    let (rep_tx, rep_rx) = bounded::<ReportBatch>(cfg.limits.report_queue_batches);
    let mut event_opts = event_options(cfg, &signals, &board, live);
    let pcap_sender = outputs.pcap.as_ref().map(PcapOutHandle::sender);
    let mut sink = outputs.sink;
    event_opts.status = status_area(cfg, &mut sink, &board);
    let event_thread = spawn("events".into(), "event", move || {
        event_loop(rep_rx, sink, pcap_sender, event_opts)
    })?;
    let carver = outputs.carver.clone();
    let recycle = recycle::recycle_pool(cfg, &mut sources);
    let workers = spawn_workers(cfg, &rep_tx, outputs.carver, &board, recycle)?;
    let captures = spawn_capture(
        cfg,
        sources,
        workers.senders,
        workers.queued,
        &signals,
        &board,
    )?;
    let captured = join_capture(captures)?;
    let mut counters = join_workers(workers.threads)?;
    counters.add(&captured.counters);
    let stats = StatsRecord {
        // The run ends at its last frame; the event thread moves this later only if
        // transfers were reported past it.
        ts: captured.last_ts.as_f64(),
        counters,
        pcap: None,
        interim: false,
    };
    let (stats, done) = finish(stats, rep_tx, event_thread, outputs.pcap)?;
    let record = done.record;
    captured.result?;
    let explained = if cfg.outputs.explain {
        record.ladders.iter().map(explain::render).collect()
    } else {
        Vec::new()
    };
    write_report(cfg, &record, &stats)?;
    let output_failed = carver.is_some_and(|c| c.failed())
        || stats.pcap.as_ref().is_some_and(|p| p.error.is_some());
    Ok(Summary {
        stats,
        input_damaged: !captured.warnings.is_empty(),
        warnings: captured.warnings,
        explained,
        record,
        transfers: done.transfers,
        files: done.files,
        output_failed,
    })
}

/// As tcpdump, once everything is open: what is read, and its link type.
fn say_what_is_read(cfg: &Config, sources: &[Source]) {
    let link = sources[0].link_type().describe();
    match &cfg.input {
        crate::config::Input::File(p) => {
            let snap = match &sources[0] {
                Source::Offline(o) => o
                    .snaplen()
                    .map(|n| format!(", snapshot length {n}"))
                    .unwrap_or_default(),
                Source::Live(_) | Source::Files(_) => String::new(),
            };
            eprintln!("reading from file {}, link-type {link}{snap}", p.display())
        }
        crate::config::Input::Files(ps) => {
            let names: Vec<String> = ps.iter().map(|p| p.display().to_string()).collect();
            eprintln!("reading from {}, link-type {link}", names.join(", "))
        }
        crate::config::Input::Live(l) => {
            eprintln!(
                "listening on {}, link-type {link}, snapshot length {} bytes",
                l.interface, cfg.snaplen
            )
        }
    }
}

/// Outputs opened before any capture starts.
struct OpenOutputs {
    sink: EventSink,
    pcap: Option<PcapOutHandle>,
    carver: Option<Arc<dyn FileStore>>,
}

fn open_outputs(
    cfg: &Config,
    sources: &mut [Source],
    signals: &signals::RunSignals,
) -> Result<OpenOutputs, RunError> {
    let out = &cfg.outputs;
    let sink = EventSink::open(out.json.as_deref(), out.human, out.verbose).map_err(|e| {
        RunError::input(format!(
            "oftsniff: cannot write {}: {e}",
            out.json
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ))
    })?;
    let pcap = if out.pcap() {
        let mut pcap = PcapOutConfig::new(sources[0].link_type());
        pcap.snaplen = cfg.snaplen;
        pcap.write = out.write.clone();
        pcap.rotate_mb = out.rotate_mb;
        pcap.rotate_files = out.rotate_files;
        pcap.pcap_dir = out.pcap_dir.clone();
        pcap.channel_capacity = cfg.limits.pcap_queue_batches;
        pcap.reorder.max_bytes = cfg.limits.pcap_window_bytes;
        pcap.reopen = Some(signals.reopen.clone());
        for s in sources.iter_mut() {
            s.use_pool(&pcap.pool);
        }
        Some(PcapOut::open(pcap).map_err(one_line)?)
    } else {
        None
    };
    if let Some(path) = &out.report {
        // Fail now, not after the capture: the page is written beside it at exit.
        report::check_writable(path).map_err(|e| {
            RunError::input(format!("oftsniff: cannot write {}: {e}", path.display()))
        })?;
    }
    let carver = match &out.extract {
        Some(dir) => {
            let store: Arc<dyn FileStore> = Arc::new(Carver::new(dir).map_err(one_line)?);
            Some(store)
        }
        None => None,
    };
    Ok(OpenOutputs { sink, pcap, carver })
}

/// Ends the run's hold on the signals, however `run` returns.
struct Uninstall;

impl Drop for Uninstall {
    fn drop(&mut self) {
        signals::uninstall();
    }
}

/// Starts a named thread; `what` names it in the error.
fn spawn<T: Send + 'static>(
    name: String,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, RunError> {
    thread::Builder::new()
        .name(name)
        .spawn(f)
        .map_err(|e| RunError::input(format!("oftsniff: cannot start {what} thread: {e}")))
}

/// The worker threads, which end with their counters, and the senders of their
/// channels (for the dispatchers).
struct Workers {
    senders: Vec<WorkSender>,
    /// Frame bytes in their queues, when a file is read (`Limits::queue_bytes`).
    queued: Option<queued::QueuedBytes>,
    threads: Vec<JoinHandle<Counters>>,
}

/// One worker per `cfg.workers`, each owning the flows its channel brings; each hands
/// frame buffers back through `recycle` when there is one.
fn spawn_workers(
    cfg: &Config,
    rep_tx: &Sender<ReportBatch>,
    carver: Option<Arc<dyn FileStore>>,
    board: &Board,
    recycle: Option<FramePool>,
) -> Result<Workers, RunError> {
    let opts = Arc::new(session_options(cfg));
    let mut senders = Vec::with_capacity(cfg.workers);
    let mut threads = Vec::with_capacity(cfg.workers);
    let budget = crate::reassembly::MemBudget::new(cfg.limits.flow_budget(cfg.outputs.pcap()));
    let queued = match cfg.input {
        crate::config::Input::Live(_) => None,
        _ => Some(queued::QueuedBytes::new(cfg.limits.queue_bytes)),
    };
    for i in 0..cfg.workers {
        let budget = budget.clone();
        let q = queued.clone();
        let (tx, rx) = work_queue(cfg.limits.queue_batches);
        senders.push(tx);
        let limits = cfg.limits.clone();
        let name = format!("worker-{i}");
        let slot = board.slot();
        let bufs = recycle.as_ref().map(FramePool::returner);
        let slot = Some(slot);
        let h = if cfg.no_classify {
            let handler = PassThrough::new(i, rep_tx.clone(), opts.flow_records);
            spawn(name, "worker", move || {
                let (h, mut c) = match bufs {
                    Some(b) => worker::run_recycling(rx, handler, b, &limits, budget, q, slot),
                    None => worker::run(rx, handler, &limits, budget, q, slot),
                };
                c.add(&h.counters);
                c
            })?
        } else {
            let handler = SessionHandler::new(i, rep_tx.clone(), opts.clone(), carver.clone());
            spawn(name, "worker", move || {
                let (h, mut c) = match bufs {
                    Some(b) => worker::run_recycling(rx, handler, b, &limits, budget, q, slot),
                    None => worker::run(rx, handler, &limits, budget, q, slot),
                };
                c.add(&h.counters);
                c
            })?
        };
        threads.push(h);
    }
    Ok(Workers {
        senders,
        queued,
        threads,
    })
}

/// One capture thread per source, each with a dispatcher onto every worker's channel.
/// The workers end when every dispatcher (the only senders) has hung up.
fn spawn_capture(
    cfg: &Config,
    sources: Vec<Source>,
    senders: Vec<WorkSender>,
    queued: Option<queued::QueuedBytes>,
    signals: &signals::RunSignals,
    board: &Board,
) -> Result<Vec<JoinHandle<CaptureDone>>, RunError> {
    let shared = Arc::new(CaptureShared {
        renumber: sources.len() > 1,
        next_frame: AtomicU64::new(1),
        captured: AtomicU64::new(0),
        limit: cfg.count,
        stop: signals.stop.clone(),
        hurry: signals.hurry.clone(),
        queued,
    });
    let batch = cfg.limits.batch_frames;
    let mut threads = Vec::with_capacity(sources.len());
    for (i, source) in sources.into_iter().enumerate() {
        let dispatcher = Dispatcher::new(senders.clone(), batch, source.policy());
        let shared = shared.clone();
        let slot = board.slot();
        threads.push(spawn(format!("capture-{i}"), "capture", move || {
            capture_thread(source, dispatcher, &shared, batch, slot)
        })?);
    }
    Ok(threads)
}

/// What the capture threads leave, together.
struct Captured {
    counters: Counters,
    warnings: Vec<String>,
    last_ts: Timestamp,
    /// The first capture error; reported once everything captured before it is out.
    result: Result<(), CaptureError>,
}

fn join_capture(threads: Vec<JoinHandle<CaptureDone>>) -> Result<Captured, RunError> {
    let mut all = Captured {
        counters: Counters::default(),
        warnings: Vec::new(),
        last_ts: Timestamp(0),
        result: Ok(()),
    };
    for h in threads {
        let done = h
            .join()
            .map_err(|_| RunError::mid_run("oftsniff: a capture thread crashed".into()))?;
        all.counters.add(&done.counters);
        all.warnings.extend(done.warnings);
        all.last_ts = all.last_ts.max(done.last_ts);
        if let (Ok(()), Err(e)) = (&all.result, done.result) {
            all.result = Err(e);
        }
    }
    Ok(all)
}

fn join_workers(workers: Vec<JoinHandle<Counters>>) -> Result<Counters, RunError> {
    let mut counters = Counters::default();
    for w in workers {
        let c = w
            .join()
            .map_err(|_| RunError::mid_run("oftsniff: a worker thread crashed".into()))?;
        counters.add(&c);
    }
    Ok(counters)
}

/// Every worker is done: hands the counters to the event thread (which adds its own and
/// the pcap writer's and writes the `stats` event last), waits for it, then closes the
/// pcap writer. Returns the final counters and what the run recorded.
fn finish(
    stats: StatsRecord,
    rep_tx: Sender<ReportBatch>,
    event_thread: JoinHandle<std::io::Result<EventsDone>>,
    pcap: Option<PcapOutHandle>,
) -> Result<(StatsRecord, EventsDone), RunError> {
    let _ = rep_tx.send(ReportBatch {
        worker: 0,
        reports: vec![(
            Timestamp(u64::MAX).into(),
            Report::Stats(RunTotals {
                ts: stats.ts,
                counters: stats.counters,
            }),
        )],
    });
    drop(rep_tx);
    let mut stats = stats;
    let done = match event_thread.join() {
        Ok(Ok(done)) => {
            stats.counters.transfers_evicted = done.transfers_evicted;
            stats.counters.transfers_reported_early = done.transfers_reported_early;
            stats.counters.transfers_forgotten_early = done.transfers_forgotten_early;
            stats.counters.reports_forced = done.reports_forced;
            done
        }
        Ok(Err(e)) => {
            return Err(RunError::mid_run(format!(
                "oftsniff: writing events failed: {e}"
            )))
        }
        Err(_) => {
            return Err(RunError::mid_run(
                "oftsniff: the event thread crashed".into(),
            ))
        }
    };
    let pcap = pcap.map(PcapOutHandle::finish);
    if let Some(e) = pcap.as_ref().and_then(|p| p.error.as_ref()) {
        // The other outputs went on; the run ends in failure (exit 1), said here once.
        eprintln!("{}", one_line(e).line);
    }
    stats.pcap = pcap;
    Ok((stats, done))
}

#[cfg(test)]
mod tests;
