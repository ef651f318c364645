//! Correlator tests of address predictions across transfers: an address a PROPOSE
//! predicted serves one connection, and transfers with different cookies never merge.

use super::tests::{file_outcome, rendezvous, step_of};
use super::*;
use crate::capture::FrameNo;
use crate::capture::{Frame, Timestamp};
use crate::flow::{Endpoint, FlowKey};
use crate::proto::Cookie;
use crate::session::event::{At, ConnEnds, Event, PhaseSeen, RvType, TransferId, TransferLabel};
use crate::session::phase::{Arrow, Phase, Role};
use crate::session::report::{ConnId, ConnRef, Report};
use std::net::{IpAddr, Ipv4Addr};

#[derive(Default)]
struct Collect(Vec<Event>);

impl CorrelatorOutput for Collect {
    fn event(&mut self, ev: Event) {
        self.0.push(ev);
    }
    fn frames(&mut self, _: TransferId, _: FlowKey, _: Vec<Frame>) {}
    fn transfer_started(&mut self, _: TransferId, _: &TransferLabel) {}
    fn transfer_ended(&mut self, _: TransferId) {}
}

const SENDER: [u8; 4] = [198, 18, 0, 1];
const RECEIVER: [u8; 4] = [198, 18, 0, 2];

fn ep(ip: [u8; 4], port: u16) -> Endpoint {
    Endpoint::new(IpAddr::from(ip), port)
}

fn propose(cookie: u8, ts: f64) -> Report {
    let mut r = rendezvous(
        RvType::Propose,
        Cookie([cookie; 8]),
        Timestamp((ts * 1e9) as u64),
    );
    r.screen_name = Some("bob".into());
    r.request_no = Some(1);
    r.ip = Some(Ipv4Addr::from(SENDER));
    r.port = Some(5190);
    r.file_name = Some("f.bin".into());
    r.file_count = Some(1);
    r.total_size = Some(10);
    Report::Rendezvous(Box::new(r))
}

/// The receiver's connection from `client_port` to the sender's listening 5190.
fn conn(id: u64, client_port: u16, cookie: Option<u8>) -> ConnRef {
    ConnRef {
        id: ConnId(id),
        client: ep(RECEIVER, client_port),
        server: ep(SENDER, 5190),
        cookie: cookie.map(|c| Cookie([c; 8])),
        token: None,
        proxied: false,
    }
}

fn phase(conn: ConnRef, phase: Phase, ts: f64) -> Report {
    Report::Phase {
        conn,
        phase: PhaseSeen {
            step: step_of(phase),
            arrow: Arrow(Role::Client, Role::Server),
            at: At {
                ts: Timestamp((ts * 1e9) as u64),
                frame: FrameNo(1),
            },
        },
    }
}

fn closed(conn: ConnRef, ts: f64) -> Report {
    let t = Timestamp((ts * 1e9) as u64);
    Report::Closed {
        conn,
        outcome: file_outcome(&conn, t, t),
    }
}

fn transfers(out: &Collect) -> Vec<(TransferId, Option<Cookie>, Vec<ConnEnds>)> {
    out.0
        .iter()
        .filter_map(|e| match e {
            Event::Transfer(t) => Some((t.transfer, t.cookie, t.legs.clone())),
            _ => None,
        })
        .collect()
}

fn phase_labels(out: &Collect, conn: &ConnRef) -> Vec<String> {
    out.0
        .iter()
        .filter_map(|e| match e {
            Event::Phase {
                transfer, conn: c, ..
            } if *c == conn.ends() => Some(transfer.to_string()),
            _ => None,
        })
        .collect()
}

/// Two offers in a row to the same listening ip:port, the second connection reported
/// before its PROPOSE (live, another worker was ahead): still two transfers.
#[test]
fn next_offer_to_the_same_address_is_a_new_transfer_even_before_its_propose() {
    let mut c = Correlator::new(false, 1024);
    let mut out = Collect::default();
    let first = conn(1, 40001, None);
    c.handle(propose(1, 10.0), &mut out);
    c.handle(phase(first, Phase::TcpHandshake, 10.1), &mut out);
    c.handle(phase(conn(1, 40001, Some(1)), Phase::Ack, 10.2), &mut out);
    c.handle(closed(first, 10.3), &mut out);
    // The second transfer, one second later, well within the first one's linger.
    let second = conn(2, 40002, None);
    c.handle(phase(second, Phase::TcpHandshake, 11.1), &mut out);
    c.handle(propose(2, 11.0), &mut out);
    c.handle(phase(conn(2, 40002, Some(2)), Phase::Ack, 11.2), &mut out);
    c.handle(closed(second, 11.3), &mut out);
    c.finish(&mut out);
    let t = transfers(&out);
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(t[0].1, Some(Cookie([1; 8])));
    assert_eq!(t[0].2, vec![first.ends()]);
    assert_eq!(t[1].1, Some(Cookie([2; 8])));
    assert_eq!(t[1].2, vec![second.ends()]);
    assert_eq!(phase_labels(&out, &second), ["T2", "T2"]);
}

/// A PROPOSE's address serves one connection: a later connection there, while the
/// first is still open, is not folded into it.
#[test]
fn a_prediction_is_used_by_one_connection() {
    let mut c = Correlator::new(false, 1024);
    let mut out = Collect::default();
    c.handle(propose(1, 10.0), &mut out);
    c.handle(
        phase(conn(1, 40001, None), Phase::TcpHandshake, 10.1),
        &mut out,
    );
    c.handle(
        phase(conn(2, 40002, None), Phase::TcpHandshake, 10.2),
        &mut out,
    );
    c.finish(&mut out);
    assert_eq!(transfers(&out).len(), 2);
}

/// The ordinary order still pairs by address: PROPOSE first, then its connection
/// without any cookie yet.
#[test]
fn connection_after_its_propose_joins_it_by_address() {
    let mut c = Correlator::new(false, 1024);
    let mut out = Collect::default();
    let first = conn(1, 40001, None);
    c.handle(propose(1, 10.0), &mut out);
    c.handle(phase(first, Phase::TcpHandshake, 10.1), &mut out);
    c.handle(closed(first, 10.3), &mut out);
    c.finish(&mut out);
    let t = transfers(&out);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].2, vec![first.ends()]);
}
