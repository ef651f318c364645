//! The dispatch stage (`oftsniff::dispatch`): back-pressure policies and the final tick, fed
//! with TCP frames from the project's generator (an integration test because the generator
//! lives in the oft-testkit crate, which depends on oftsniff).

use crossbeam_channel::{bounded, Receiver};
use oft_testkit::gen::tcp::TcpConv;
use oftsniff::capture::{Frame, FrameNo, LinkType, Timestamp};
use oftsniff::decode::hash::{shard, Shard};
use oftsniff::dispatch::{worker_of, Backpressure, Dispatcher, WorkItem};
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
            WorkItem::Tick(t, _) => Some(t),
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
            WorkItem::Tick(..) => 0,
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

/// One direction of a connection as a frame: IPv4 or IPv6, with or without a VLAN tag.
fn frame_of(src: IpAddr, dst: IpAddr, sp: u16, dp: u16, vlan: bool) -> Frame {
    use etherparse::{PacketBuilder, VlanId};
    let eth = PacketBuilder::ethernet2([1; 6], [2; 6]);
    let tag = VlanId::try_new(7).unwrap();
    let tcp = match (src, dst, vlan) {
        (IpAddr::V4(s), IpAddr::V4(d), false) => eth.ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V4(s), IpAddr::V4(d), true) => {
            eth.single_vlan(tag).ipv4(s.octets(), d.octets(), 64)
        }
        (IpAddr::V6(s), IpAddr::V6(d), false) => eth.ipv6(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d), true) => {
            eth.single_vlan(tag).ipv6(s.octets(), d.octets(), 64)
        }
        _ => unreachable!("one address family per connection"),
    }
    .tcp(sp, dp, 1, 1000);
    let mut data = Vec::new();
    tcp.write(&mut data, b"x").unwrap();
    Frame {
        no: FrameNo(1),
        ts: Timestamp(1),
        orig_len: data.len() as u32,
        link: LinkType::Ethernet,
        data: data.into(),
    }
}

#[test]
fn worker_of_stays_in_range_and_uses_every_worker() {
    for n in 1..=8usize {
        let mut used = vec![0u32; n];
        for i in 0..4096u16 {
            let f = frame_of(
                [198, 18, 0, 1].into(),
                [198, 18, 0, 2].into(),
                1024 + i,
                5190,
                false,
            );
            let Shard::Tcp(h) = shard(f.link, &f.data) else {
                panic!("a TCP frame");
            };
            used[worker_of(h, n)] += 1;
        }
        // Ports alone spread the flows: no worker gets less than half its share.
        assert!(
            used.iter().all(|&u| u as usize * n * 2 >= 4096),
            "{n} workers: {used:?}"
        );
    }
}

#[test]
fn both_directions_of_every_connection_reach_the_same_worker() {
    let (tx0, rx0) = bounded(4096);
    let (tx1, rx1) = bounded(4096);
    let (tx2, rx2) = bounded(4096);
    let mut d = Dispatcher::new(vec![tx0, tx1, tx2], 8, Backpressure::Block);
    let mut sent = 0;
    for i in 0..200u16 {
        let (a, b): (IpAddr, IpAddr) = if i % 2 == 0 {
            (
                [198, 18, (i >> 8) as u8, i as u8].into(),
                [198, 19, 0, 1].into(),
            )
        } else {
            (
                format!("2001:db8::{i:x}").parse().unwrap(),
                "2001:db8:1::1".parse().unwrap(),
            )
        };
        let vlan = i % 3 == 0;
        let (sp, dp) = (40000 + i, 5190);
        d.push(frame_of(a, b, sp, dp, vlan));
        d.push(frame_of(b, a, dp, sp, vlan));
        sent += 2;
    }
    d.finish();
    // Each worker's frames, as (sorted endpoint pair) per frame.
    let conns = |rx: &Receiver<WorkItem>| {
        let mut seen = std::collections::HashSet::new();
        let mut frames = 0;
        for item in rx.try_iter() {
            if let WorkItem::Frames(b) = item {
                for f in b {
                    let p = oftsniff::decode::decode_tcp(f.link, &f.data).unwrap();
                    let (k, _) = oftsniff::flow::FlowKey::from_segment(p.src, p.dst);
                    seen.insert(k);
                    frames += 1;
                }
            }
        }
        (seen, frames)
    };
    let per_worker = [conns(&rx0), conns(&rx1), conns(&rx2)];
    let total: usize = per_worker.iter().map(|(_, n)| n).sum();
    assert_eq!(total, sent, "every frame went to some worker");
    for (i, (a, _)) in per_worker.iter().enumerate() {
        assert!(a.len() > 20, "worker {i} owns a fair share: {}", a.len());
        for (j, (b, _)) in per_worker.iter().enumerate().skip(i + 1) {
            assert!(
                a.is_disjoint(b),
                "a connection split between workers {i} and {j}"
            );
        }
    }
    let owned: usize = per_worker.iter().map(|(s, _)| s.len()).sum();
    assert_eq!(owned, 200, "each connection has exactly one owner");
}
