use super::*;
use crate::stats::RunTotals;

/// A report that carries a tag, to see the order reports come out in.
fn rep(tag: u64) -> Report {
    let mut s = RunTotals::default();
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
