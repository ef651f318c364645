use super::*;
use crate::capture::{FrameNo, Timestamp};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `recv` until the hang-up on a thread; the ticks seen, or a failure after a
/// bound (a lost wake-up would otherwise hang the test).
fn drain_on_a_thread(rx: WorkReceiver) -> mpsc::Receiver<Vec<u64>> {
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut seen = Vec::new();
        while let Some(item) = rx.recv() {
            if let WorkItem::Tick(t, _) = item {
                seen.push(t.0);
            }
        }
        let _ = done_tx.send(seen);
    });
    done_rx
}

#[test]
fn a_parked_worker_is_woken_by_each_send_and_by_the_hang_up() {
    let (tx, rx) = work_queue(4);
    let done = drain_on_a_thread(rx);
    for i in 0..20u64 {
        // Long enough apart that the worker has found the queue empty and parked.
        thread::sleep(Duration::from_millis(2));
        tx.send(WorkItem::Tick(Timestamp(i), FrameNo(0))).unwrap();
    }
    let second = tx.clone();
    drop(tx);
    second
        .try_send(WorkItem::Tick(Timestamp(20), FrameNo(0)))
        .unwrap();
    thread::sleep(Duration::from_millis(2));
    drop(second);
    let seen = done
        .recv_timeout(Duration::from_secs(10))
        .expect("the worker saw the hang-up");
    assert_eq!(seen, (0..=20).collect::<Vec<_>>());
}

#[test]
fn no_wake_up_is_lost_when_sends_race_with_the_worker_going_to_sleep() {
    let (tx, rx) = work_queue(2);
    let done = drain_on_a_thread(rx);
    let n = 20_000u64;
    for i in 0..n {
        tx.send(WorkItem::Tick(Timestamp(i), FrameNo(0))).unwrap();
        if i % 64 == 0 {
            // Let the worker catch up and head for sleep now and then.
            thread::yield_now();
        }
    }
    drop(tx);
    let seen = done
        .recv_timeout(Duration::from_secs(30))
        .expect("every item arrived and the worker ended");
    assert_eq!(seen.len() as u64, n);
    assert!(seen.windows(2).all(|w| w[0] + 1 == w[1]), "in order");
}

#[test]
fn a_plain_channel_end_still_blocks_and_ends_at_the_hang_up() {
    let (tx, rx) = bounded(1);
    let done = drain_on_a_thread(WorkReceiver::from(rx));
    let tx = WorkSender::from(tx);
    tx.send(WorkItem::Tick(Timestamp(1), FrameNo(0))).unwrap();
    drop(tx);
    assert_eq!(done.recv_timeout(Duration::from_secs(10)).unwrap(), vec![1]);
}
