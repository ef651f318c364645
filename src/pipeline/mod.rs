//! Wires the stages together: opens outputs and the source (failing early, with one
//! line), starts the event thread, the workers and the capture threads, and collects
//! every counter at the end.

pub mod capture;
pub mod events;
pub mod worker;

use self::capture::{capture_thread, CaptureShared, Source};
use self::events::{event_loop, EventOptions};
use crate::capture::CaptureError;
use crate::capture::Timestamp;
use crate::cli::Args;
use crate::dispatch::{Dispatcher, WorkItem};
use crate::output::carve::Carver;
use crate::output::event::StatsRecord;
use crate::output::pcap_out::{PcapOut, PcapOutConfig, PcapOutHandle, PcapOutStats};
use crate::output::sink::EventSink;
use crate::passthrough::PassThrough;
use crate::session::handler::{SessionCounters, SessionHandler, SessionOptions};
use crate::session::report::{Report, ReportBatch};
use crate::stats::{CaptureCounters, WorkerCounters};
use crossbeam_channel::bounded;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// What a run leaves behind, for the exit summary.
pub struct Summary {
    pub stats: StatsRecord,
    pub warnings: Vec<String>,
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
    let mut sources = Source::open(args)?;
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
        for s in sources.iter_mut() {
            if let Source::Offline(o) = s {
                o.use_pool(&cfg.pool);
            }
        }
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
        // and flushed. A second one ends the process at once (a read from an idle pipe
        // cannot see the first); pcap files still hold only whole records. Failing to
        // install the handler only loses graceful stop.
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                eprintln!("oftsniff: interrupted again, exiting without finishing");
                std::process::exit(130);
            }
        });
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
    let (rep_tx, rep_rx) = bounded::<ReportBatch>(64);
    let pcap_sender = pcap.as_ref().map(PcapOutHandle::sender);
    let event_opts = EventOptions {
        stop: stop.clone(),
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
        let limits = limits.clone();
        let builder = thread::Builder::new().name(format!("worker-{i}"));
        let spawned = if args.no_classify {
            let handler = PassThrough::new(i, rep_tx.clone(), opts.flow_records);
            builder.spawn(move || {
                let (_, c) = worker::run(rx, handler, &limits);
                (SessionCounters::default(), c)
            })
        } else {
            let handler = SessionHandler::new(i, rep_tx.clone(), opts.clone(), carver.clone());
            builder.spawn(move || {
                let (h, c) = worker::run(rx, handler, &limits);
                (h.counters, c)
            })
        };
        let h =
            spawned.map_err(|e| RunError(format!("oftsniff: cannot start worker thread: {e}")))?;
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
            Ok((counters, c)) => {
                totals.add(&c);
                session.add(&counters);
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
        ooo_limit_gaps: totals.ooo_limit_gaps,
        mem_limit_flushes: totals.mem_limit_flushes,
        held_frames_dropped: session.held_frames_dropped,
        transfers_evicted: 0,
        reports_forced: 0,
        pcap: None,
        snaplen_truncated: totals.snaplen_truncated,
    };
    let _ = rep_tx.send(ReportBatch {
        worker: 0,
        reports: vec![(Timestamp(u64::MAX), Report::Stats(stats.clone()))],
    });
    drop(rep_tx);
    let mut stats = stats;
    let explained = match event_thread.join() {
        Ok(Ok(done)) => {
            stats.transfers_evicted = done.transfers_evicted;
            stats.reports_forced = done.reports_forced;
            done.explained
        }
        Ok(Err(e)) => return Err(RunError(format!("oftsniff: writing events failed: {e}"))),
        Err(_) => return Err(RunError("oftsniff: the event thread crashed".into())),
    };
    let pcap = pcap.map(PcapOutHandle::finish);
    if let Some(e) = pcap.as_ref().and_then(|p| p.error.as_ref()) {
        return Err(one_line(e));
    }
    stats.pcap = pcap;
    result?;
    Ok(Summary {
        stats,
        warnings,
        session,
        explained,
    })
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
    eprintln!("{} frames truncated by snaplen", s.snaplen_truncated);
    if let Some(p) = &s.pcap {
        print_pcap_counters(p);
    }
    if s.ooo_limit_gaps + s.mem_limit_flushes + s.ooo_dropped_bytes > 0 {
        eprintln!(
            "{} holes given up at --max-ooo-bytes, {} at --max-reassembly-mem, {} out-of-order bytes dropped",
            s.ooo_limit_gaps, s.mem_limit_flushes, s.ooo_dropped_bytes
        );
    }
    say_if_any(
        s.transfers_evicted,
        "transfers ended early (--max-transfers)",
    );
    say_if_any(
        s.reports_forced,
        "reports correlated before every worker had caught up (too many held)",
    );
    say_if_any(
        s.held_frames_dropped,
        "frames not held for pcap output (--max-held-frames)",
    );
}

/// A counter line printed only when something was counted.
fn say_if_any(n: u64, what: &str) {
    if n > 0 {
        eprintln!("{n} {what}");
    }
}

/// The same, for counts of things that belong in the output but are not there.
fn warn_if_any(n: u64, what: &str) {
    if n > 0 {
        eprintln!("oftsniff: warning: {n} {what}");
    }
}

fn print_pcap_counters(p: &PcapOutStats) {
    eprintln!(
        "{} frames written to pcap ({} bytes, {} files, {} per-transfer files with {} frames), writer fell behind {} times",
        p.frames_written,
        p.bytes_written,
        p.files,
        p.transfer_files,
        p.transfer_frames_written,
        p.writer_stalls
    );
    if p.written_out_of_order + p.late_frames > 0 {
        eprintln!(
            "{} frames written out of timestamp order (after the reorder window), {} frames after their transfer ended (-w only)",
            p.written_out_of_order, p.late_frames
        );
    }
    say_if_any(
        p.transfers_evicted,
        "transfers' per-transfer files closed early (too many followed at once)",
    );
    // Frames that belong in the output but are not there: say so loudly.
    warn_if_any(p.link_mismatch, "frames not written to -w: their link type differs from the file's (a pcapng mixing link types; --pcap-dir keeps them)");
    warn_if_any(p.transfer_link_mismatch, "frames not written to their --pcap-dir file: their link type differs from the transfer's first frame");
    warn_if_any(
        p.frames_not_written,
        "frames not written to -w after a write error",
    );
}
