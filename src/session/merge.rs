//! Merges the workers' report streams into one, in packet-time order, before the
//! correlator sees them. Each worker reports its own connections in capture order, but
//! a transfer spans connections owned by different workers (the FLAP connection with
//! its PROPOSE, the data connection, two proxy legs): fed in arrival order, the
//! correlator would decide differently from run to run and with the number of workers.
//!
//! Every report carries its worker's packet clock, which never goes back, and each
//! worker's watermark says its clock has reached a time. A report can go once no
//! worker can still send one that comes before it: a k-way merge of the per-worker
//! queues, ties broken by worker index so the order is the same on every run.

use super::report::Report;
use crate::capture::Timestamp;
use std::collections::VecDeque;

pub struct ReportMerge {
    queues: Vec<VecDeque<(Timestamp, Report)>>,
    /// Each worker's clock as of its latest watermark.
    marks: Vec<Timestamp>,
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
            marks: vec![Timestamp(0); workers],
            held: 0,
            max_held: max_held.max(1),
            forced: 0,
        }
    }

    /// Takes a report stamped `clock` from `worker`; a watermark moves the worker's mark.
    pub fn push(&mut self, worker: usize, clock: Timestamp, r: Report) {
        let w = worker.min(self.queues.len() - 1);
        if let Report::Watermark { ts, .. } = r {
            self.marks[w] = self.marks[w].max(ts).max(clock);
            return;
        }
        self.queues[w].push_back((clock, r));
        self.held += 1;
    }

    /// The queue whose head comes first: lowest clock, then lowest worker index.
    fn first(&self) -> Option<(usize, Timestamp)> {
        self.queues
            .iter()
            .enumerate()
            .filter_map(|(w, q)| q.front().map(|(t, _)| (w, *t)))
            .min_by_key(|&(w, t)| (t, w))
    }

    /// Could worker `v`, whose queue is empty, still send something that goes before a
    /// report of worker `w` stamped `t`?
    fn may_precede(&self, v: usize, w: usize, t: Timestamp) -> bool {
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
        if let Some((t, r)) = self.queues[w].pop_front() {
            self.held -= 1;
            out(t, r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::event::StatsRecord;

    /// A report that carries a tag, to see the order reports come out in.
    fn rep(tag: u64) -> Report {
        let mut s = StatsRecord::default();
        s.counters.frames_captured = tag;
        Report::Stats(s)
    }

    fn tag(r: &Report) -> u64 {
        match r {
            Report::Stats(s) => s.counters.frames_captured,
            _ => u64::MAX,
        }
    }

    fn mark(m: &mut ReportMerge, w: usize, t: u64) {
        m.push(
            w,
            Timestamp(t),
            Report::Watermark {
                worker: w,
                ts: Timestamp(t),
            },
        );
    }

    fn released(m: &mut ReportMerge) -> Vec<u64> {
        let mut v = Vec::new();
        m.release(|_, r| v.push(tag(&r)));
        v
    }

    #[test]
    fn waits_for_a_quiet_worker_then_merges_by_clock() {
        let mut m = ReportMerge::new(2, 1000);
        m.push(0, Timestamp(10), rep(1));
        m.push(0, Timestamp(30), rep(2));
        assert!(released(&mut m).is_empty(), "worker 1 may report earlier");
        m.push(1, Timestamp(20), rep(3));
        // Worker 1's next report may still be stamped 20..30.
        assert_eq!(released(&mut m), vec![1, 3]);
        mark(&mut m, 1, 40);
        assert_eq!(released(&mut m), vec![2]);
    }

    #[test]
    fn equal_clocks_go_by_worker_index_whatever_the_arrival_order() {
        for first in [0usize, 1] {
            let mut m = ReportMerge::new(2, 1000);
            let (a, b) = if first == 0 { (0, 1) } else { (1, 0) };
            m.push(a, Timestamp(5), rep(a as u64 + 10));
            m.push(b, Timestamp(5), rep(b as u64 + 10));
            mark(&mut m, 0, 9);
            mark(&mut m, 1, 9);
            assert_eq!(released(&mut m), vec![10, 11]);
        }
    }

    #[test]
    fn a_worker_at_the_same_clock_holds_only_later_workers() {
        let mut m = ReportMerge::new(2, 1000);
        mark(&mut m, 0, 5);
        m.push(1, Timestamp(5), rep(1));
        assert!(
            released(&mut m).is_empty(),
            "worker 0 may still send a report stamped 5, which goes first"
        );
        let mut m = ReportMerge::new(2, 1000);
        mark(&mut m, 1, 5);
        m.push(0, Timestamp(5), rep(1));
        assert_eq!(released(&mut m), vec![1]);
    }

    #[test]
    fn one_worker_never_waits_and_the_cap_bounds_what_is_held() {
        let mut m = ReportMerge::new(1, 1000);
        m.push(0, Timestamp(3), rep(1));
        assert_eq!(released(&mut m), vec![1]);

        let mut m = ReportMerge::new(2, 2);
        for i in 0..4 {
            m.push(0, Timestamp(i + 1), rep(i));
        }
        assert_eq!(
            released(&mut m),
            vec![0, 1],
            "the excess goes, oldest first"
        );
        assert_eq!(m.forced, 2);
        let mut rest = Vec::new();
        m.drain(|_, r| rest.push(tag(&r)));
        assert_eq!(rest, vec![2, 3]);
    }
}
