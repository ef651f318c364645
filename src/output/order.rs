//! Puts the events of all workers in time order before they are written. Each worker
//! reports in its own capture order and says how far its packet clock has come (a
//! watermark); an event is written once every worker has passed its time, so the log
//! reads in time order whatever the number of workers.

use super::event::Event;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

struct Held {
    /// `ts` as ordered bits (timestamps are never negative), then arrival order.
    key: (u64, u64),
    ev: Event,
}

impl PartialEq for Held {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Held {
    fn cmp(&self, o: &Self) -> Ordering {
        self.key.cmp(&o.key)
    }
}

pub struct EventOrder {
    heap: BinaryHeap<Reverse<Held>>,
    seq: u64,
    /// Latest packet time each worker has passed.
    marks: Vec<f64>,
    /// Events held at most; past it the oldest go out regardless (a stalled worker must
    /// not hold the log, or memory, hostage).
    max_held: usize,
}

impl EventOrder {
    pub fn new(workers: usize, max_held: usize) -> Self {
        EventOrder {
            heap: BinaryHeap::new(),
            seq: 0,
            marks: vec![0.0; workers.max(1)],
            max_held: max_held.max(1),
        }
    }

    pub fn push(&mut self, ev: Event) {
        self.seq += 1;
        let key = (ev.ts().max(0.0).to_bits(), self.seq);
        self.heap.push(Reverse(Held { key, ev }));
    }

    pub fn mark(&mut self, worker: usize, ts: f64) {
        if let Some(m) = self.marks.get_mut(worker) {
            *m = m.max(ts);
        }
    }

    /// Hands over every event no worker can still precede.
    pub fn release(&mut self, mut out: impl FnMut(Event)) {
        let horizon = self.marks.iter().copied().fold(f64::INFINITY, f64::min);
        while let Some(Reverse(top)) = self.heap.peek() {
            let due = f64::from_bits(top.key.0) <= horizon || self.heap.len() > self.max_held;
            if !due {
                break;
            }
            if let Some(Reverse(h)) = self.heap.pop() {
                out(h.ev);
            }
        }
    }

    /// Hands over everything (end of input, or a live capture gone quiet).
    pub fn drain(&mut self, mut out: impl FnMut(Event)) {
        while let Some(Reverse(h)) = self.heap.pop() {
            out(h.ev);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::event::StatsRecord;

    fn ev(ts: f64) -> Event {
        Event::Stats(StatsRecord {
            ts,
            ..StatsRecord::default()
        })
    }

    fn release(o: &mut EventOrder) -> Vec<f64> {
        let mut v = Vec::new();
        o.release(|e| v.push(e.ts()));
        v
    }

    #[test]
    fn waits_for_the_slowest_worker_then_writes_in_time_order() {
        let mut o = EventOrder::new(2, 1000);
        o.push(ev(5.0));
        o.push(ev(3.0));
        o.mark(0, 6.0);
        assert!(
            release(&mut o).is_empty(),
            "worker 1 may still report something older"
        );
        o.push(ev(4.0));
        o.mark(1, 4.5);
        assert_eq!(release(&mut o), vec![3.0, 4.0]);
        o.mark(1, 9.0);
        assert_eq!(release(&mut o), vec![5.0]);
    }

    #[test]
    fn equal_times_keep_arrival_order_and_the_cap_bounds_what_is_held() {
        let mut o = EventOrder::new(1, 2);
        for t in [1.0, 1.0, 1.0, 2.0] {
            o.push(ev(t));
        }
        // Nothing marked: only the excess over the cap goes out, oldest first.
        assert_eq!(release(&mut o).len(), 2);
        let mut rest = Vec::new();
        o.drain(|e| rest.push(e.ts()));
        assert_eq!(rest, vec![1.0, 2.0]);
    }
}
