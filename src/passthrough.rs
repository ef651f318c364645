//! `--no-classify`: the capture-to-stream pipeline without OFT recognition.
//!
//! A stream consumer that looks at nothing: reassembled bytes are only counted, frames
//! are dropped, and each connection still ends in a flow record. It exists to measure
//! what OFT recognition costs on top of the pipeline (`scripts/bench-offline.sh`), with
//! the same threads, channels and report merging as a normal run.

use crate::capture::{Frame, FrameNo, Timestamp};
use crate::flow::Direction;
use crate::reassembly::{CloseReason, ConnMeta, FlowSummary, SegmentMeta, StreamHandler};
use crate::session::event::FlowSeen;
use crate::session::report::{Clock, Report, ReportBatch};
use crate::stats::Counters;
use crossbeam_channel::Sender;

pub struct PassThrough {
    reports: Sender<ReportBatch>,
    pending: Vec<(Clock, Report)>,
    /// Latest packet time seen, which stamps reports as the session handler's do.
    clock: Timestamp,
    /// Highest frame number seen: orders reports of one packet time as in a normal run.
    frame: FrameNo,
    /// The packet time of the latest report (see `Clock::at`).
    at: Timestamp,
    worker: usize,
    flow_records: bool,
    /// `no_classify_bytes`: payload bytes delivered in order, all flows together.
    pub counters: Counters,
}

impl PassThrough {
    fn now(&self) -> Clock {
        Clock {
            ts: self.clock,
            frame: self.frame,
            at: self.at,
        }
    }

    pub fn new(worker: usize, reports: Sender<ReportBatch>, flow_records: bool) -> Self {
        PassThrough {
            reports,
            pending: Vec::new(),
            clock: Timestamp(0),
            frame: FrameNo(0),
            at: Timestamp(0),
            worker,
            flow_records,
            counters: Counters::default(),
        }
    }
}

impl StreamHandler for PassThrough {
    type State = ();

    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }

    fn open(&mut self, _: &mut (), _: &ConnMeta) {}

    fn segment(&mut self, _: &mut (), _: &ConnMeta, seg: &SegmentMeta) {
        self.frame = self.frame.max(seg.frame);
    }

    fn data(&mut self, _: &mut (), _: &ConnMeta, _: Direction, b: &[u8], _: Timestamp, _: FrameNo) {
        self.counters.no_classify_bytes += b.len() as u64;
    }

    fn gap(&mut self, _: &mut (), _: &ConnMeta, _: Direction, _: u64, _: Timestamp) {}

    fn frame(&mut self, _: &mut (), _: &ConnMeta, frame: Frame) {
        self.frame = self.frame.max(frame.no);
    }

    fn close(
        &mut self,
        _: &mut (),
        conn: &ConnMeta,
        summary: &FlowSummary,
        reason: CloseReason,
        ts: Timestamp,
    ) {
        self.clock = self.clock.max(ts);
        self.at = ts;
        if self.flow_records {
            let r = Report::Flow(FlowSeen::new(conn, summary, reason, ts));
            self.pending.push((self.now(), r));
        }
    }

    fn handed_out(&mut self, frame: FrameNo) {
        self.frame = self.frame.max(frame);
    }

    fn batch_end(&mut self, now: Timestamp) {
        // The same watermark protocol as the session handler, so the event thread
        // merges flow records exactly as in a normal run.
        self.clock = self.clock.max(now);
        self.at = now;
        let mark = Report::Watermark {
            worker: self.worker,
            ts: now,
        };
        self.pending.push((self.now(), mark));
        let _ = self.reports.send(ReportBatch {
            worker: self.worker,
            reports: std::mem::take(&mut self.pending),
        });
    }
}
