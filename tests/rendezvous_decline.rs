//! A transfer declined on the OSCAR connection with a SNAC 4/0B client error (as Pidgin
//! declines, §3.8/§5.8 of the spec) is a cancelled transfer, and the decline is one of its
//! rendezvous events. A 4/0B about a cookie no rendezvous named (an IM, say) is not a
//! transfer at all.

mod common;

use common::{of_kind, TempDir};
use oft_testkit::gen::pcap::PcapBuilder;
use oft_testkit::gen::tcp::{Dir, TcpConv};
use oftsniff::capture::Timestamp;
use oftsniff::flow::Endpoint;
use oftsniff::proto::flap::{channel, FlapFrame};
use oftsniff::proto::rendezvous::{ClientError, RendezvousMsg};
use oftsniff::proto::{Capability, Cookie};
use std::time::Duration;

fn ep(s: &str) -> Endpoint {
    s.parse::<std::net::SocketAddr>().unwrap().into()
}

fn client_error(cookie: Cookie, seq: u16) -> Vec<u8> {
    let e = ClientError {
        cookie,
        channel: 2,
        screen_name: "alice".into(),
        reason: 3,
        code: Some(1),
    };
    FlapFrame {
        channel: channel::SNAC,
        seq,
        data: &e.emit_snac(9),
    }
    .emit()
}

/// The sender's OSCAR connection carries a PROPOSE; the receiver's carries its 4/0B
/// about `declined` (the PROPOSE's cookie, or another).
fn run(declined: Cookie) -> Vec<serde_json::Value> {
    let dir = TempDir::new("decline");
    let cookie = Cookie(*b"7733112\0");
    let mut snd = TcpConv::new(
        ep("198.18.5.1:40001"),
        ep("198.18.5.20:5190"),
        Timestamp(2_000_000_000_000),
    );
    snd.handshake();
    let propose = RendezvousMsg::propose(cookie, Capability::SEND_FILE, 1).to_host("bob");
    snd.send_segment(Dir::ClientToServer, &propose.emit_flap(1, 1));
    let mut rcv = TcpConv::new(
        ep("198.18.5.2:40002"),
        ep("198.18.5.20:5190"),
        Timestamp(2_000_100_000_000),
    );
    rcv.handshake();
    rcv.advance(Duration::from_millis(300));
    rcv.send_segment(Dir::ClientToServer, &client_error(declined, 1));
    snd.advance(Duration::from_secs(1));
    snd.close();
    rcv.advance(Duration::from_secs(1));
    rcv.close();
    let pcap = dir.join("decline.pcap");
    let mut b = PcapBuilder::new();
    b.add_conv(&snd).add_conv(&rcv);
    b.write_file(&pcap).unwrap();
    common::run_json(&pcap, &[]).0
}

#[test]
fn a_4_0b_decline_cancels_the_transfer_its_cookie_names() {
    let evs = run(Cookie(*b"7733112\0"));
    let rv = of_kind(&evs, "rendezvous");
    let types: Vec<&str> = rv.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["propose", "decline"], "{rv:?}");
    assert_eq!(rv[1]["snac"], "4/0B");
    assert_eq!(rv[1]["nak_code"], 1);
    assert_eq!(rv[1]["screen_name"], "alice");
    assert_eq!(rv[1]["transfer"], rv[0]["transfer"]);
    let t = of_kind(&evs, "transfer");
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["cancelled"], true, "{}", t[0]);
    assert_eq!(t[0]["cookie"], "3737333331313200");
}

#[test]
fn a_4_0b_about_another_cookie_is_not_a_transfer() {
    let evs = run(Cookie(*b"unrelat\0"));
    let types: Vec<String> = of_kind(&evs, "rendezvous")
        .iter()
        .map(|r| r["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["propose"]);
    let t = of_kind(&evs, "transfer");
    assert_eq!(t.len(), 1, "only the proposed transfer: {t:?}");
    assert_eq!(t[0]["cancelled"], false);
}
