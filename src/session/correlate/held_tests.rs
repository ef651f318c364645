//! Transfers that are over are held for late reports only up to `--max-held-transfers`:
//! many short transfers ending within the linger no longer pile up until the end of the
//! input, and the indexes leading to them shrink with them.

use super::tests::{file_outcome, step_of, Out};
use super::*;
use crate::capture::FrameNo;
use crate::session::event::{At, Event, PhaseSeen};
use crate::session::phase::{Arrow, Phase, Role};
use crate::session::report::{ConnId, ConnRef, Report};

fn conn(i: u64) -> ConnRef {
    let ip = std::net::Ipv4Addr::new(198, 18, (i >> 8) as u8, i as u8);
    ConnRef {
        id: ConnId(i),
        client: Endpoint::new(ip.into(), 40_000),
        server: Endpoint::new(std::net::Ipv4Addr::new(198, 19, 0, 1).into(), 5190),
        cookie: Some(Cookie((i + 1).to_be_bytes())),
        token: None,
        proxied: false,
    }
}

/// A whole direct transfer on connection `i`: its PROMPT at `ts`, its close 1 ms later.
fn one_transfer(c: &mut Correlator, i: u64, ts: Timestamp, out: &mut Out) {
    let phase = PhaseSeen {
        step: step_of(Phase::Prompt),
        arrow: Arrow(Role::Sender, Role::Receiver),
        at: At {
            ts,
            frame: FrameNo(i + 1),
        },
    };
    let end = Timestamp(ts.0 + 1_000_000);
    c.handle(
        Report::Phase {
            conn: conn(i),
            phase,
        },
        out,
    );
    let outcome = file_outcome(&conn(i), ts, end);
    c.handle(
        Report::Closed {
            conn: conn(i),
            outcome,
        },
        out,
    );
}

fn reported(out: &Out) -> Vec<TransferId> {
    out.0
        .iter()
        .filter_map(|e| match e {
            Event::Transfer(t) => Some(t.transfer),
            _ => None,
        })
        .collect()
}

#[test]
fn transfers_ending_within_the_linger_are_held_only_up_to_the_limit() {
    // 2,000 transfers in 0.2 s of packet time: all would still be lingering at the end
    // of the input without the bound.
    const N: u64 = 2_000;
    const MAX: usize = 16;
    let mut c = Correlator::new(false, 65_536).with_max_held(MAX);
    let mut out = Out::default();
    for i in 0..N {
        one_transfer(&mut c, i, Timestamp(1_000_000_000 + i * 100_000), &mut out);
        // Lingering and remembered, at most MAX of each.
        assert!(
            c.held() <= 2 * MAX,
            "{} held after {} transfers",
            c.held(),
            i + 1
        );
        assert!(c.conns.len() <= 2 * MAX && c.by_cookie.len() <= 2 * MAX);
    }
    let early = reported(&out).len();
    assert_eq!(
        early as u64,
        N - MAX as u64,
        "all but the last MAX reported early"
    );
    assert_eq!(c.reported_early(), N - MAX as u64);
    assert_eq!(c.forgotten_early(), N - 2 * MAX as u64);
    c.finish(&mut out);
    // Each reported once, whole, in the order they ended.
    let ids = reported(&out);
    assert_eq!(ids, (1..=N).map(TransferId).collect::<Vec<_>>());
    for e in &out.0 {
        if let Event::Transfer(t) = e {
            assert_eq!(t.legs.len(), 1, "{:?}", t.transfer);
            assert!(t.sender.is_some() && t.cookie.is_some());
        }
    }
}

#[test]
fn without_pressure_a_transfer_waits_out_its_linger_and_is_forgotten_later() {
    // One transfer every 2 s of packet time: each is reported after its 5 s linger and
    // forgotten 60 s later, none early, and what is held stays what those spans hold.
    let mut c = Correlator::new(false, 65_536).with_max_held(1_024);
    let mut out = Out::default();
    for i in 0..300u64 {
        let ts = Timestamp((10 + 2 * i) * 1_000_000_000);
        one_transfer(&mut c, i, ts, &mut out);
        // About (5 + 60) / 2: a sweep a second, so up to 2 s more of each.
        assert!(c.held() <= 40, "{} held at {i}", c.held());
        if i > 10 {
            // Reported 5 to 7 s after its close (the sweep runs once a second).
            assert!(reported(&out).len() as u64 >= i - 3);
        }
    }
    assert_eq!((c.reported_early(), c.forgotten_early()), (0, 0));
    assert!(c.conns.len() <= 40 && c.by_cookie.len() <= 40);
}
