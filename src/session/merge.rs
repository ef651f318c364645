//! Merges the workers' report streams into one, in packet-time order, before the
//! correlator sees them. Each worker reports its own connections in capture order, but
//! a transfer spans connections owned by different workers (the FLAP connection with
//! its PROPOSE, the data connection, two proxy legs): fed in arrival order, the
//! correlator would decide differently from run to run and with the number of workers.
//!
//! Every report carries its worker's clock (packet time, then the highest frame number
//! handed out, then the time the report is about), which never goes back, and each
//! worker's watermark says its clock has reached a point. A report can go once no
//! worker can still send one that comes before it: a k-way merge of the per-worker
//! queues. Frame numbers are the capture's, whichever worker a frame went to, so reports
//! of one packet time go in the same order with any number of workers; what is left
//! equal goes by worker index, so the order is the same on every run.

use super::report::{Clock, Report};
use crate::capture::Timestamp;
use std::collections::VecDeque;

pub struct ReportMerge {
    queues: Vec<VecDeque<(Clock, Report)>>,
    /// Each worker's clock as of its latest watermark.
    marks: Vec<Clock>,
    held: usize,
    /// Reports held at most; past it the oldest go regardless (a worker that has
    /// stalled must not hold the correlator, or memory, hostage).
    max_held: usize,
    /// Reports that went before their time because of `max_held`.
    pub forced: u64,
}

impl ReportMerge {
    pub fn new(workers: usize, max_held: usize) -> Self {
        let workers = workers.max(1);
        ReportMerge {
            queues: (0..workers).map(|_| VecDeque::new()).collect(),
            marks: vec![Clock::default(); workers],
            held: 0,
            max_held: max_held.max(1),
            forced: 0,
        }
    }

    /// Takes a report stamped `clock` from `worker`; a watermark moves the worker's mark.
    pub fn push(&mut self, worker: usize, clock: impl Into<Clock>, r: Report) {
        let w = worker.min(self.queues.len() - 1);
        let clock = clock.into();
        if let Report::Watermark { ts, .. } = r {
            self.marks[w] = self.marks[w].max(clock).max(ts.into());
            return;
        }
        self.queues[w].push_back((clock, r));
        self.held += 1;
    }

    /// The queue whose head comes first: lowest clock, then lowest worker index.
    fn first(&self) -> Option<(usize, Clock)> {
        self.queues
            .iter()
            .enumerate()
            .filter_map(|(w, q)| q.front().map(|(t, _)| (w, *t)))
            .min_by_key(|&(w, t)| (t, w))
    }

    /// Could worker `v`, whose queue is empty, still send something that goes before a
    /// report of worker `w` stamped `t`?
    fn may_precede(&self, v: usize, w: usize, t: Clock) -> bool {
        self.marks[v] < t || (self.marks[v] == t && v < w)
    }

    /// Hands over, in order, every report no worker can still precede.
    pub fn release(&mut self, mut out: impl FnMut(Timestamp, Report)) {
        while let Some((w, t)) = self.first() {
            let blocked = (0..self.queues.len())
                .any(|v| v != w && self.queues[v].is_empty() && self.may_precede(v, w, t));
            if blocked {
                if self.held <= self.max_held {
                    break;
                }
                self.forced += 1;
            }
            self.pop(w, &mut out);
        }
    }

    /// Hands over everything held, in order (end of input, or a live capture gone quiet).
    pub fn drain(&mut self, mut out: impl FnMut(Timestamp, Report)) {
        while let Some((w, _)) = self.first() {
            self.pop(w, &mut out);
        }
    }

    fn pop(&mut self, w: usize, out: &mut impl FnMut(Timestamp, Report)) {
        if let Some((c, r)) = self.queues[w].pop_front() {
            self.held -= 1;
            out(c.ts, r);
        }
    }
}

#[cfg(test)]
mod tests;
