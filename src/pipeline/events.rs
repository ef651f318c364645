//! The event thread: merges the workers' reports in packet-time order, correlates them
//! into transfers, writes the resulting events (log, NDJSON) as they come, and hands
//! matched frames to the pcap writer in batches.

use crate::capture::Frame;
use crate::flow::FlowKey;
use crate::output::pcap_out::{PcapSender, WriterMsg};
use crate::output::schema::StatsRecord;
use crate::output::sink::EventSink;
use crate::session::correlate::{Correlator, CorrelatorOutput};
use crate::session::event::{Event, TransferId, TransferLabel};
use crate::session::merge::ReportMerge;
use crate::session::record::RunRecord;
use crate::session::report::{Report, ReportBatch};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The event thread: correlates reports into transfers and writes events out.
pub fn event_loop(
    rx: Receiver<ReportBatch>,
    sink: EventSink,
    pcap: Option<PcapSender>,
    mut opts: EventOptions,
) -> std::io::Result<EventsDone> {
    let mut correlator = Correlator::new(opts.explain || opts.record, opts.max_transfers)
        .with_message_link(opts.message_link_secs)
        .with_max_held(opts.max_held_transfers);
    let mut out = Outputs {
        record: opts.record.then(RunRecord::default),
        pcap_pending: Vec::new(),
        sink,
        pcap,
        error: None,
        reader_gone: false,
        stop: opts.stop.clone(),
        transfers: 0,
        files: 0,
        status: opts.status.take(),
    };
    let mut merge = ReportMerge::new(opts.workers, opts.max_held_reports);
    let mut last_report = Instant::now();
    let mut asked = Requests::new(&opts);
    loop {
        asked.serve(&opts, &mut out, correlator.now().as_f64());
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(batch) => {
                for (clock, r) in batch.reports {
                    match r {
                        Report::Stats(totals) => {
                            final_stats(totals, &mut correlator, &mut merge, &mut out)
                        }
                        r => merge.push(batch.worker, clock, r),
                    }
                }
                merge.release(|c, r| correlator.handle_at(c, r, &mut out));
            }
            // Live and quiet: report transfers that have ended, and everything held,
            // rather than wait for traffic to move the packet clock.
            Err(RecvTimeoutError::Timeout) => {
                if opts.live {
                    merge.drain(|c, r| correlator.handle_at(c, r, &mut out));
                    correlator.flush_closed(&mut out);
                    out.flush_sink();
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        out.flush_pcap();
        out.name_parties(&correlator);
        if let Some(e) = out.error.take() {
            return Err(e);
        }
        if let (true, Some(live)) = (opts.live, &opts.live_report) {
            if last_report.elapsed() >= live.every {
                last_report = Instant::now();
                out.write_live_report(&live.path, &correlator);
            }
        }
    }
    merge.drain(|c, r| correlator.handle_at(c, r, &mut out));
    correlator.finish(&mut out);
    out.flush_pcap();
    out.flush_sink();
    if let Some(mut s) = out.status.take() {
        s.finish();
    }
    if let Some(e) = out.error.take() {
        return Err(e);
    }
    let mut record = out.record.take().unwrap_or_default();
    record.ladders = std::mem::take(&mut correlator.explained);
    Ok(EventsDone {
        record,
        transfers_evicted: correlator.transfers_evicted,
        transfers_reported_early: correlator.reported_early(),
        transfers_forgotten_early: correlator.forgotten_early(),
        reports_forced: merge.forced,
        transfers: out.transfers,
        files: out.files,
    })
}

/// The run is over (the main thread sent the workers' counters): everything held is
/// correlated, every transfer ended, and the `stats` event written last.
fn final_stats(
    totals: crate::stats::RunTotals,
    correlator: &mut Correlator,
    merge: &mut ReportMerge,
    out: &mut Outputs,
) {
    merge.drain(|c, r| correlator.handle_at(c, r, out));
    correlator.finish(out);
    let mut s = StatsRecord {
        ts: totals.ts.max(correlator.now().as_f64()),
        counters: totals.counters,
        pcap: None,
        interim: false,
    };
    s.counters.transfers_evicted = correlator.transfers_evicted;
    s.counters.transfers_reported_early = correlator.reported_early();
    s.counters.transfers_forgotten_early = correlator.forgotten_early();
    s.counters.reports_forced = merge.forced;
    // The writer's counters are final only once it has every frame.
    out.flush_pcap();
    s.pcap = out.pcap.as_ref().and_then(|p| p.finish_and_report());
    out.write_stats(&s);
}

/// What signals asked of the event thread, served between batches: the counters so far
/// (SIGUSR1, or every `--stats-interval`) and reopened outputs (SIGHUP).
struct Requests {
    reopen_seen: u64,
    report_seen: u64,
    last_interim: Instant,
}

impl Requests {
    fn new(opts: &EventOptions) -> Self {
        Requests {
            reopen_seen: opts.reopen.load(Ordering::SeqCst),
            report_seen: opts.report.load(Ordering::SeqCst),
            last_interim: Instant::now(),
        }
    }

    fn serve(&mut self, opts: &EventOptions, out: &mut Outputs, now: f64) {
        let asked = opts.report.load(Ordering::SeqCst);
        let due = opts
            .stats_interval
            .is_some_and(|i| self.last_interim.elapsed() >= i);
        if asked != self.report_seen || due {
            self.report_seen = asked;
            self.last_interim = Instant::now();
            out.interim_stats(&opts.board, now);
        }
        let gen = opts.reopen.load(Ordering::SeqCst);
        if gen != self.reopen_seen {
            self.reopen_seen = gen;
            if let Err(e) = out.sink.reopen() {
                out.failed(e);
            }
        }
    }
}

/// What the event thread leaves behind for the counters printed at exit.
pub struct EventsDone {
    /// Transfers, files (with `record`) and ladders (with `explain` or `record`).
    pub record: RunRecord,
    pub transfers_evicted: u64,
    pub transfers_reported_early: u64,
    pub transfers_forgotten_early: u64,
    /// Reports correlated before a slower worker caught up (the merge was full).
    pub reports_forced: u64,
    /// `transfer` and `file` events written.
    pub transfers: u64,
    pub files: u64,
}

/// `--report-interval`: the report rewritten while a live capture runs.
pub struct LiveReport {
    pub path: PathBuf,
    pub every: Duration,
}

pub struct EventOptions {
    /// Live, `--report-interval`: rewrite the report this often.
    pub live_report: Option<LiveReport>,
    /// Set to end the capture (the reader of our output went away).
    pub stop: Arc<AtomicBool>,
    /// Bumped on `SIGHUP`: reopen `--json` if it was renamed.
    pub reopen: Arc<std::sync::atomic::AtomicU64>,
    /// Bumped on `SIGUSR1`: write the counters so far.
    pub report: Arc<std::sync::atomic::AtomicU64>,
    /// `--stats-interval`.
    pub stats_interval: Option<Duration>,
    /// Where the other threads publish their counters while running.
    pub board: crate::stats::Board,
    /// The live status area under the log (stdout a terminal).
    pub status: Option<crate::output::status::Status>,
    pub explain: bool,
    /// Keep transfers, files and ladders for the views drawn after the run
    /// (`--report`, `--compare`).
    pub record: bool,
    pub live: bool,
    pub max_transfers: usize,
    /// `--max-held-transfers`.
    pub max_held_transfers: usize,
    /// `--message-link-secs`.
    pub message_link_secs: u64,
    pub workers: usize,
    /// Reports held for time ordering at most (`Limits::max_held_reports`; see
    /// `ReportMerge`).
    pub max_held_reports: usize,
}

struct Outputs {
    sink: EventSink,
    record: Option<RunRecord>,
    pcap: Option<PcapSender>,
    /// Writer messages of one report batch, sent together.
    pcap_pending: Vec<WriterMsg>,
    error: Option<std::io::Error>,
    /// Whoever read our stdout went away (`oftsniff --json - | head`): stop capturing,
    /// quietly, as tcpdump does, and keep draining reports so no worker blocks.
    reader_gone: bool,
    stop: Arc<AtomicBool>,
    /// `transfer` and `file` events reported, for the counters at exit.
    transfers: u64,
    files: u64,
    status: Option<crate::output::status::Status>,
}

impl Outputs {
    fn write_event(&mut self, ev: &Event) {
        match ev {
            Event::Transfer(_) => self.transfers += 1,
            Event::File { .. } => self.files += 1,
            _ => {}
        }
        if let Some(s) = &mut self.status {
            s.event(ev);
        }
        if self.reader_gone {
            return;
        }
        if let Err(e) = self.sink.write(ev) {
            self.failed(e);
        }
    }

    fn write_stats(&mut self, s: &StatsRecord) {
        if self.reader_gone {
            return;
        }
        if let Err(e) = self.sink.write_stats(s) {
            self.failed(e);
        }
    }

    /// The counters so far, on stderr (as at exit, marked as so far) and as an interim
    /// `stats` event.
    fn interim_stats(&mut self, board: &crate::stats::Board, ts: f64) {
        let s = StatsRecord {
            ts,
            counters: board.sum(),
            pcap: None,
            interim: true,
        };
        let print = || {
            use std::io::Write;
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "oftsniff: counters so far:");
            for (i, line) in s.counters.lines().iter().enumerate() {
                let _ = writeln!(err, "{line}");
                if i == 0 {
                    let _ = writeln!(
                        err,
                        "{} transfers, {} files reported",
                        self.transfers, self.files
                    );
                }
            }
        };
        match &self.status {
            Some(st) => st.suspend(print),
            None => print(),
        }
        self.write_stats(&s);
        self.flush_sink();
    }

    /// The status area's bars: the parties the correlator knows by now.
    fn name_parties(&mut self, correlator: &Correlator) {
        if let Some(s) = &mut self.status {
            s.fill_parties(|t| correlator.parties(t));
        }
    }

    fn flush_sink(&mut self) {
        if self.reader_gone {
            return;
        }
        if let Err(e) = self.sink.flush() {
            self.failed(e);
        }
    }

    fn failed(&mut self, e: std::io::Error) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            self.reader_gone = true;
            self.stop.store(true, Ordering::SeqCst);
        } else {
            self.error.get_or_insert(e);
        }
    }

    /// The page as things stand: transfers ended so far, no counters yet. A failed write
    /// is tried again at the next interval; the final page is written at exit.
    fn write_live_report(&mut self, path: &std::path::Path, correlator: &Correlator) {
        let Some(record) = &self.record else { return };
        let mut snapshot = record.clone();
        snapshot.ladders = correlator.explained.clone();
        let page = crate::output::report::render(&crate::output::report::ReportInput {
            records: &[&snapshot],
            stats: None,
            compare: None,
        });
        let _ = crate::output::report::write_atomic(path, &page);
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
        self.write_event(&ev);
        if let Some(r) = &mut self.record {
            match ev {
                Event::Transfer(t) => r.transfers.push(*t),
                Event::File { transfer, file } => r.files.push((transfer, *file)),
                _ => {}
            }
        }
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
