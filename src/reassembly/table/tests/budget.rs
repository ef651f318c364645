//! Lazily made flow state and the process-wide memory budget (`Limits::memcap`).

use super::*;

fn opens(n: &Net) -> usize {
    n.rec
        .ev
        .iter()
        .filter(|(_, e)| matches!(e, Ev::Open { .. }))
        .count()
}

fn client(i: u32) -> String {
    format!("198.18.1.{}:{}", i % 250 + 1, 40_000 + i)
}

#[test]
fn syn_only_flows_wait_without_handler_state() {
    let mut n = Net::new(Limits::default());
    n.rec.lazy = true;
    for i in 0..3 {
        n.send(&client(i), SERVER, 1000, 0, SYN, b"", 0.0);
    }
    assert_eq!(
        opens(&n),
        0,
        "no handler call for a lone SYN: {:?}",
        n.rec.ev
    );
    assert!(n.rec.ev.is_empty());
    let pending = n.table.charged() / 3;
    assert_eq!(n.table.charged(), 3 * pending);
    // The slot and its share of the index (map and slab at their worst), nothing else.
    let index = memory::INDEX_BYTES;
    assert!(pending <= memory::FLOW_SLOT_BYTES + memory::ALLOC_OVERHEAD + index);
    assert!(index >= 3 * (std::mem::size_of::<(FlowKey, u32)>() + 1));

    // The second segment opens the flow: the SYN's calls first, in order, then its own
    // (the SYN's frame call is the one skipped).
    let synack = n.send(SERVER, &client(0), 5000, 1001, SYNACK, b"", 0.1);
    let ev: Vec<Ev> = n.rec.ev.iter().map(|(_, e)| e.clone()).collect();
    assert!(
        matches!(
            ev[0],
            Ev::Open {
                midstream: false,
                ..
            }
        ),
        "{ev:?}"
    );
    assert_eq!(
        &ev[1..],
        &[
            Ev::Segment(FrameNo(1)),
            Ev::Segment(synack),
            Ev::Frame(synack)
        ]
    );
    assert!(
        n.table.charged() > 3 * pending,
        "the opened flow's state is charged"
    );

    // Data after the handshake is delivered from the SYN's start point.
    n.send(&client(0), SERVER, 1001, 5001, ACK, b"", 0.2);
    n.send(&client(0), SERVER, 1004, 5001, ACK, b"def", 0.2);
    n.send(&client(0), SERVER, 1001, 5001, ACK, b"abc", 0.3);
    let c = FlowKey::from_segment(ep(&client(0)), ep(SERVER)).1;
    assert_eq!(n.rec.stream(1, c), b"abcdef".map(Some).to_vec());

    // At the end every flow is opened (for its close) and closed; nothing stays charged.
    n.finish();
    assert_eq!(opens(&n), 3);
    assert_eq!(n.rec.closes().len(), 3);
    assert_eq!(n.table.charged(), 0);
}

/// What one open flow costs in a `Rec` table with no bytes buffered.
fn open_flow_cost() -> usize {
    let mut n = Net::new(Limits::default());
    n.send(&client(0), SERVER, 1000, 0, SYN, b"", 0.0);
    n.table.charged()
}

#[test]
fn memcap_evicts_the_longest_idle_unprotected_flow() {
    let cost = open_flow_cost();
    let limits = Limits {
        memcap: 3 * cost,
        ..Limits::default()
    };
    let mut n = Net::new(limits);
    n.rec.protect = vec![1];
    for i in 0..3 {
        n.send(&client(i), SERVER, 1000, 0, SYN, b"", i as f64);
    }
    assert!(n.rec.closes().is_empty());
    // A fourth flow passes the budget: flow 1 is the longest idle but protected, so
    // flow 2 goes.
    n.send(&client(3), SERVER, 1000, 0, SYN, b"", 3.0);
    assert_eq!(n.rec.closes(), vec![(2, CloseReason::Evicted)]);
    assert_eq!(n.counters.memcap_flows_evicted, 1);
    assert_eq!(n.counters.memcap_protected_evicted, 0);
    assert_eq!(n.table.charged(), 3 * cost);

    // With every other flow protected too, the protected longest idle goes, counted apart.
    n.rec.protect = vec![1, 3, 4, 5];
    n.send(&client(4), SERVER, 1000, 0, SYN, b"", 4.0);
    assert_eq!(n.rec.closes()[1], (1, CloseReason::Evicted));
    assert_eq!(n.counters.memcap_protected_evicted, 1);
    assert_eq!(n.counters.memcap_flows_evicted, 1);
}

#[test]
fn buffers_a_flow_takes_are_charged_until_it_ends_and_never_shed() {
    let mut n = Net::new(Limits::default());
    n.rec.buffer = 100_000;
    n.handshake(0.0);
    let before = n.table.charged();
    n.send(CLIENT, SERVER, 1001, 5001, ACK, b"abc", 0.1);
    let with = n.table.charged();
    assert!(with >= before + 100_000, "{before} -> {with}");

    // A budget the buffer passes evicts the flow (there is nothing to shed) and the
    // charge goes with it.
    let limits = Limits {
        memcap: with - 50_000,
        ..Limits::default()
    };
    let mut n = Net::new(limits);
    n.rec.buffer = 100_000;
    n.handshake(0.0);
    n.send(CLIENT, SERVER, 1001, 5001, ACK, b"abc", 0.1);
    assert!(n.rec.shed.is_empty());
    assert_eq!(n.rec.closes(), vec![(1, CloseReason::Evicted)]);
    assert_eq!(
        n.counters.memcap_protected_evicted + n.counters.memcap_flows_evicted,
        1
    );
    assert_eq!(n.table.charged(), 0);
}

#[test]
fn memcap_gives_up_holes_before_evicting_flows() {
    let cost = open_flow_cost();
    let limits = Limits {
        memcap: 2 * cost + 4096,
        ..Limits::default()
    };
    let mut n = Net::new(limits);
    n.handshake(0.0);
    // 8 KiB behind a one-byte hole: over the budget, so the hole is given up.
    let big = vec![7u8; 8192];
    n.send(CLIENT, SERVER, 1002, 5001, ACK, &big, 0.1);
    assert_eq!(n.counters.memcap_ooo_flushes, 1);
    assert_eq!(n.counters.memcap_flows_evicted, 0);
    assert!(n.rec.closes().is_empty());
    let c = client_dir();
    let stream = n.rec.stream(1, c);
    assert_eq!(stream.len(), 8193);
    assert_eq!(stream[0], None);
    assert_eq!(n.table.reassembly_mem(), 0);
}

#[test]
fn memcap_gives_up_held_frames_of_idle_unprotected_flows_before_anything_else() {
    let cost = open_flow_cost();
    // Each flow holds one frame of `held` bytes; just too little room for three.
    let held = 4096;
    assert!(
        held > cost,
        "a flow's held frame must outweigh its state here"
    );
    let limits = Limits {
        memcap: 3 * (cost + held) - 1,
        ..Limits::default()
    };
    let mut n = Net::new(limits);
    n.rec.hold = held;
    n.rec.protect = vec![1];
    for i in 0..3 {
        n.send(&client(i), SERVER, 1000, 0, SYN, b"", i as f64);
    }
    // Flow 1 is the longest idle but protected: flow 2's frame goes, and that is enough.
    assert_eq!(n.rec.shed, vec![2]);
    assert!(n.rec.closes().is_empty());
    assert_eq!(n.counters.memcap_flows_evicted, 0);
    assert_eq!(n.table.charged(), 3 * cost + 2 * held);

    // A fourth flow: the next idle flow holding something is flow 3.
    n.send(&client(3), SERVER, 1000, 0, SYN, b"", 3.0);
    assert_eq!(n.rec.shed, vec![2, 3]);
    assert!(n.rec.closes().is_empty());
    assert_eq!(n.table.charged(), 4 * cost + 2 * held);

    // What is still held is given back with its flows.
    n.finish();
    assert_eq!(n.table.charged(), 0);
}

#[test]
fn memcap_leaves_a_worker_within_its_share_alone() {
    let cost = open_flow_cost();
    let limits = Limits {
        memcap: 4 * cost,
        ..Limits::default()
    };
    let mut n = Net::new(limits.clone());
    // Another worker's table on the same account: two holders, a share of 2 flows each.
    let mut mine = Net::new(limits.clone());
    mine.table = FlowTable::with_budget(&limits, n.table.budget.clone());
    for i in 0..4 {
        mine.send(&client(i), SERVER, 1000, 0, SYN, b"", i as f64);
    }
    // The account is full. One more flow in the table within its share (one flow):
    // nothing of it goes; the excess is the other table's, which evicts on its next frame.
    n.send(&client(10), SERVER, 1000, 0, SYN, b"", 5.0);
    assert!(n.rec.closes().is_empty(), "{:?}", n.rec.closes());
    assert_eq!(n.counters.memcap_flows_evicted, 0);
    mine.send(&client(11), SERVER, 1000, 0, SYN, b"", 6.0);
    assert_eq!(mine.counters.memcap_flows_evicted, 2);
    assert_eq!(n.table.budget.used(), 4 * cost);
}

#[test]
fn max_flows_spares_protected_flows_too() {
    let limits = Limits {
        max_flows: 2,
        ..Limits::default()
    };
    let mut n = Net::new(limits);
    n.rec.protect = vec![1];
    for i in 0..3 {
        n.send(&client(i), SERVER, 1000, 0, SYN, b"", i as f64);
    }
    assert_eq!(n.rec.closes(), vec![(2, CloseReason::Evicted)]);
    assert_eq!(n.counters.flows_evicted, 1);
    assert_eq!(n.counters.memcap_flows_evicted, 0);
}

#[test]
fn a_closed_flow_lingers_without_its_reassemblers() {
    let mut n = Net::new(Limits::default());
    n.handshake(0.0);
    n.send(CLIENT, SERVER, 1001, 5001, ACK, b"abc", 0.1);
    let open = n.table.charged();
    n.send(CLIENT, SERVER, 1004, 5001, FIN, b"", 0.2);
    n.send(SERVER, CLIENT, 5001, 1005, FIN, b"", 0.3);
    n.send(CLIENT, SERVER, 1005, 5002, ACK, b"", 0.4);
    assert_eq!(n.rec.closes(), vec![(1, CloseReason::Fin)]);
    assert_eq!(n.table.len(), 1, "the flow lingers for late frames");
    assert_eq!(
        n.table.charged(),
        open - crate::reassembly::conn::STREAMS_COST
    );
    // Late frames still reach the flow's handler.
    let late = n.send(SERVER, CLIENT, 5001, 1005, FIN, b"", 0.5);
    assert_eq!(n.rec.ev.last(), Some(&(1, Ev::Frame(late))));
}
