//! The dispatch stage (`oftsniff::dispatch`): back-pressure policies and the final tick, fed
//! with TCP frames from the project's generator (an integration test because the generator
//! lives in the oft-testkit crate, which depends on oftsniff).

use crossbeam_channel::{bounded, Receiver};
use oft_testkit::gen::tcp::TcpConv;
use oftsniff::capture::{Frame, FrameNo, LinkType, Timestamp};
use oftsniff::dispatch::{Backpressure, Dispatcher, WorkItem};
use oftsniff::flow::Endpoint;
use std::net::IpAddr;

fn tcp_frame(ts: u64, sport: u16) -> Frame {
    let ep = |last: u8, port| Endpoint::new(IpAddr::from([198, 18, 0, last]), port);
    let mut conv = TcpConv::new(ep(1, sport), ep(2, 80), Timestamp(ts));
    conv.handshake();
    let mut f = oft_testkit::gen::encode::frame(&conv.segments()[0]);
    f.no = FrameNo(1);
    assert_eq!(f.link, LinkType::Ethernet);
    f
}

fn items(rx: &Receiver<WorkItem>) -> Vec<Option<Timestamp>> {
    rx.try_iter()
        .map(|i| match i {
            WorkItem::Frames(_) => None,
            WorkItem::Tick(t) => Some(t),
        })
        .collect()
}

#[test]
fn live_drops_what_a_full_queue_cannot_take_and_counts_it_without_blocking() {
    // One batch of room, no worker reading: the first batch fits, every later one
    // finds the queue full.
    let (tx, rx) = bounded(1);
    let (done_tx, done_rx) = bounded(1);
    // On a thread, so a capture side that blocked would fail the test instead of
    // hanging it.
    let pusher = std::thread::spawn(move || {
        let mut d = Dispatcher::new(vec![tx], 4, Backpressure::Drop);
        for i in 0..40u64 {
            // Ten batches of four frames, spread over several seconds of packet
            // time so ticks (which must not block either) are due as well.
            d.push(tcp_frame(i * 250_000_000, 40000 + i as u16));
        }
        let partial_tail = tcp_frame(10_000_000_000, 50000);
        d.push(partial_tail);
        d.flush();
        let counters = d.finish();
        done_tx.send(()).unwrap();
        counters
    });
    done_rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the capture side never waits for a full queue");
    let counters = pusher.join().unwrap();
    let queued: Vec<WorkItem> = rx.try_iter().collect();
    assert_eq!(queued.len(), 1, "the queue held one batch");
    let delivered: u64 = queued
        .iter()
        .map(|i| match i {
            WorkItem::Frames(b) => b.len() as u64,
            WorkItem::Tick(_) => 0,
        })
        .sum();
    // A due tick sends a partial batch early, so the one that fits may be short.
    assert!(
        (1..=4).contains(&delivered),
        "the first batch went through: {delivered}"
    );
    assert_eq!(
        counters.queue_dropped,
        41 - delivered,
        "every other frame is counted as dropped"
    );
    assert_eq!(counters.non_tcp, 0);
}

#[test]
fn offline_blocks_until_the_worker_takes_the_batch() {
    let (tx, rx) = bounded(1);
    let pusher = std::thread::spawn(move || {
        let mut d = Dispatcher::new(vec![tx], 1, Backpressure::Block);
        for i in 0..20u64 {
            d.push(tcp_frame(i, 40000));
        }
        d.finish()
    });
    let mut frames = 0;
    for item in rx.iter() {
        if let WorkItem::Frames(b) = item {
            frames += b.len();
        }
    }
    assert_eq!(frames, 20, "no frame lost");
    assert_eq!(pusher.join().unwrap().queue_dropped, 0);
}

#[test]
fn finish_brings_every_worker_to_the_last_frame_time() {
    let (tx0, rx0) = bounded(16);
    let (tx1, rx1) = bounded(16);
    let mut d = Dispatcher::new(vec![tx0, tx1], 64, Backpressure::Block);
    d.push(tcp_frame(5, 40000));
    d.push(tcp_frame(7, 40001));
    d.finish();
    for rx in [&rx0, &rx1] {
        let got = items(rx);
        assert_eq!(got.last(), Some(&Some(Timestamp(7))), "{got:?}");
    }
}
