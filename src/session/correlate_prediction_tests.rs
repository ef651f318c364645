//! Correlator tests of address predictions across transfers: an address a PROPOSE
//! predicted serves one connection, and transfers with different cookies never merge.

use super::correlate::*;
use crate::capture::FrameNo;
use crate::capture::{Frame, Timestamp};
use crate::flow::{Endpoint, FlowKey};
use crate::output::event::Event;
use crate::output::event::{PhaseDetail, RendezvousRecord};
use crate::output::transfer_files::{TransferId, TransferLabel};
use crate::proto::rendezvous::RvKind;
use crate::proto::Cookie;
use crate::session::phase::{Arrow, Phase, Role};
use crate::session::report::SessionKind;
use crate::session::report::{ConnId, ConnRef, Report};
use crate::session::report::{ConnOutcome, Prediction};
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
    let cookie = Cookie([cookie; 8]);
    Report::Rendezvous {
        record: RendezvousRecord {
            ts,
            transfer: String::new(),
            kind: "propose",
            frame: 1,
            cookie: cookie.to_string(),
            capability: "send-file".into(),
            snac: "4/6".into(),
            flap_client: "198.18.0.1:40000".into(),
            flap_server: "198.18.0.20:5190".into(),
            screen_name: Some("bob".into()),
            request_no: Some(1),
            use_proxy: false,
            ip: None,
            client_ip: None,
            verified_ip: None,
            port: Some(5190),
            file_name: Some("f.bin".into()),
            file_count: Some(1),
            total_size: Some(10),
            cancel_reason: None,
            nak_code: None,
        },
        prediction: Prediction {
            cookie,
            kind: RvKind::Propose,
            request_no: Some(1),
            use_proxy: false,
            ips: vec![Ipv4Addr::from(SENDER)],
            port: Some(5190),
            from_sender: true,
            file_name: Some("f.bin".into()),
            outgoing: true,
            screen_name: Some("bob".into()),
            direct_im: false,
            segment: None,
        },
    }
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
        phase,
        arrow: Arrow(Role::Client, Role::Server),
        ts: Timestamp((ts * 1e9) as u64),
        frame: FrameNo(1),
        detail: PhaseDetail::default(),
    }
}

fn closed(conn: ConnRef, ts: f64) -> Report {
    let t = Timestamp((ts * 1e9) as u64);
    Report::Closed {
        conn,
        outcome: ConnOutcome {
            kind: SessionKind::File,
            start: t,
            end: t,
            sender: Some(conn.server),
            receiver: Some(conn.client),
            proxy_creator: None,
            proxy_ip: None,
            screen_name: None,
            files: 1,
            bytes: 10,
            frames_lost: 0,
        },
    }
}

fn transfers(out: &Collect) -> Vec<(String, Option<String>, Vec<String>)> {
    out.0
        .iter()
        .filter_map(|e| match e {
            Event::Transfer(t) => Some((t.transfer.clone(), t.cookie.clone(), t.legs.clone())),
            _ => None,
        })
        .collect()
}

fn phase_labels(out: &Collect, conn: &ConnRef) -> Vec<String> {
    out.0
        .iter()
        .filter_map(|e| match e {
            Event::Phase(p) if p.conn == conn.label() => Some(p.transfer.clone()),
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
    assert_eq!(t[0].1.as_deref(), Some(Cookie([1; 8]).to_string().as_str()));
    assert_eq!(t[0].2, vec![first.label()]);
    assert_eq!(t[1].1.as_deref(), Some(Cookie([2; 8]).to_string().as_str()));
    assert_eq!(t[1].2, vec![second.label()]);
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
    assert_eq!(t[0].2, vec![first.label()]);
}
