//! Direct IM roles and traffic (issue 11 §4): the initiator is whoever proposed the
//! session (the PROPOSE on the FLAP connection and, through the proxy, the INIT_SEND),
//! the peer the one asked; each one's endpoint, and per direction the ODC2 messages,
//! typing notifications and payload / attachment bytes. Never a file.

mod common;

use common::{of_kind, run_json, TempDir};
use oft_testkit::gen::pcap::PcapBuilder;
use oft_testkit::gen::tcp::{Dir, TcpConv};
use oftsniff::capture::Timestamp;
use oftsniff::flow::Endpoint;
use oftsniff::proto::odc::OdcHeader;
use oftsniff::proto::rendezvous::RendezvousMsg;
use oftsniff::proto::{Capability, Cookie, ProxyBody, ProxyFrame};
use serde_json::{json, Value};

const COOKIE: Cookie = Cookie(*b"dim-ck-7");
const ROS: &str = "Rosalind_F";
const WAT: &str = "watson.j";

fn ep(s: &str) -> Endpoint {
    s.parse::<std::net::SocketAddr>().unwrap().into()
}

/// One ODC2 frame: header and payload.
fn odc(from: &str, payload: &[u8], flags: u16) -> Vec<u8> {
    let mut b = OdcHeader::message(COOKIE, from, payload.len() as u32, flags).emit();
    b.extend_from_slice(payload);
    b
}

const HI: &[u8] = b"<HTML><BODY>hi Watson</BODY></HTML>";
const IMG: &[u8] = b"<HTML>look</HTML><BINARY><DATA ID=\"1\" SIZE=\"6\">GIF89a</DATA></BINARY>";
const REPLY: &[u8] = b"<HTML>nice</HTML>";
/// What follows the `<BINARY>` tag: the image and its markup.
const IMG_ATTACHED: usize = IMG.len() - "<HTML>look</HTML><BINARY>".len();

/// Rosalind's frames (after the connection's cookie frame): a typing notification, a
/// message, a message with an image; Watson answers with one message.
fn rosalind_says() -> Vec<Vec<u8>> {
    vec![odc(ROS, b"", 0x000A), odc(ROS, HI, 0), odc(ROS, IMG, 0)]
}

/// Rosalind's FLAP connection carrying her PROPOSE to Watson (4/6).
fn flap_propose(start: Timestamp, proxied: bool) -> TcpConv {
    let mut f = TcpConv::new(ep("198.18.4.1:40001"), ep("198.18.4.100:5190"), start);
    f.handshake();
    let mut rv = RendezvousMsg::propose(COOKIE, Capability::DIRECT_IM, 1).to_host(WAT);
    rv = if proxied {
        rv.via_proxy([198, 18, 4, 9].into(), 0x2222)
    } else {
        RendezvousMsg {
            client_ip: Some([198, 18, 4, 1].into()),
            port: Some(4443),
            ..rv
        }
    };
    f.send(Dir::ClientToServer, &rv.emit_flap(7, 1));
    f
}

fn run(convs: &[&TcpConv], tag: &str) -> (Vec<Value>, String) {
    let dir = TempDir::new(tag);
    let pcap = dir.join("dim.pcap");
    let mut b = PcapBuilder::new();
    for c in convs {
        b.add_conv(c);
    }
    b.write_file(&pcap).unwrap();
    let (evs, _) = run_json(&pcap, &[]);
    let log = common::run_ok(&["-r".as_ref(), pcap.as_os_str()]).stdout;
    (evs, String::from_utf8_lossy(&log).into_owned())
}

fn check(evs: &[Value], initiator_ep: &str, peer_ep: &str) {
    assert!(of_kind(evs, "file").is_empty(), "Direct IM is never a file");
    let t = of_kind(evs, "transfer");
    assert_eq!(t.len(), 1, "{t:?}");
    let t = t[0];
    assert_eq!(t["kind"], "directim");
    assert_eq!(
        (&t["sender_name"], &t["receiver_name"]),
        (&json!(ROS), &json!(WAT))
    );
    assert_eq!(
        (&t["sender"], &t["receiver"]),
        (&json!(initiator_ep), &json!(peer_ep))
    );
    let d = &t["direct_im"];
    assert_eq!(d["initiator"], ROS, "{t}");
    assert_eq!(d["peer"], WAT);
    assert_eq!(d["initiator_endpoint"], initiator_ep);
    assert_eq!(d["peer_endpoint"], peer_ep);
    let hi_img = (HI.len() + IMG.len()) as u64;
    assert_eq!(
        d["initiator_to_peer"],
        json!({"messages": 2, "typing": 1, "bytes": hi_img, "attachment_bytes": IMG_ATTACHED})
    );
    assert_eq!(
        d["peer_to_initiator"],
        json!({"messages": 1, "typing": 0, "bytes": REPLY.len(), "attachment_bytes": 0})
    );
}

#[test]
fn proxied_direct_im_names_the_proposer_as_initiator() {
    let start = Timestamp(1_500_000_000_000_000_000);
    let flap = flap_propose(start, true);
    let proxy = ep("198.18.4.9:5190");
    let init = |body| {
        ProxyFrame {
            unknown: 0,
            flags: 0,
            body,
        }
        .emit()
    };
    let mut a = TcpConv::new(ep("198.18.4.1:40100"), proxy, flap.now());
    a.handshake();
    a.send(
        Dir::ClientToServer,
        &init(ProxyBody::InitSend {
            screen_name: ROS.into(),
            cookie: COOKIE,
            capability: Some(Capability::DIRECT_IM),
        }),
    );
    a.send(
        Dir::ServerToClient,
        &ProxyFrame::ack(0x2222, [198, 18, 4, 9].into()).emit(),
    );
    let mut b = TcpConv::new(ep("198.18.4.2:40200"), proxy, a.now());
    b.handshake();
    b.send(
        Dir::ClientToServer,
        &init(ProxyBody::InitRecv {
            screen_name: WAT.into(),
            token: 0x2222,
            cookie: COOKIE,
            capability: Some(Capability::DIRECT_IM),
        }),
    );
    b.send(Dir::ServerToClient, &ProxyFrame::ready().emit());
    a.catch_up(b.now());
    a.send(Dir::ServerToClient, &ProxyFrame::ready().emit());
    // Watson (the joiner) sends the cookie frame first, as Pidgin's connecting side.
    let relay = |from: &mut TcpConv, to: &mut TcpConv, bytes: &[u8]| {
        from.send(Dir::ClientToServer, bytes);
        to.catch_up(from.now());
        to.send(Dir::ServerToClient, bytes);
    };
    relay(&mut b, &mut a, &odc(WAT, b"", 0x60));
    relay(&mut a, &mut b, &odc(ROS, b"", 0x60));
    for f in rosalind_says() {
        relay(&mut a, &mut b, &f);
    }
    relay(&mut b, &mut a, &odc(WAT, REPLY, 0));
    a.close();
    b.close();
    let (evs, log) = run(&[&flap, &a, &b], "dim-proxy");
    check(&evs, "198.18.4.1:40100", "198.18.4.2:40200");
    let t = of_kind(&evs, "transfer")[0];
    assert_eq!(t["proxy_creator"], "initiator");
    let want = format!(
        "198.18.4.1:40100 -> 198.18.4.2:40200 via proxy 198.18.4.9:5190 (created by initiator) \
         names \"{ROS}\" -> \"{WAT}\" messages=2/1 typing=1/0 bytes={}/{} attachments={IMG_ATTACHED}/0",
        HI.len() + IMG.len(),
        REPLY.len()
    );
    assert!(log.contains(&want), "{log}");
}

#[test]
fn direct_direct_im_names_the_listener_who_proposed() {
    let start = Timestamp(1_500_000_000_000_000_000);
    let flap = flap_propose(start, false);
    // Watson connects to the address Rosalind's PROPOSE gave.
    let mut c = TcpConv::new(ep("198.18.4.2:40300"), ep("198.18.4.1:4443"), flap.now());
    c.handshake();
    c.send(Dir::ClientToServer, &odc(WAT, b"", 0x60));
    c.send(Dir::ServerToClient, &odc(ROS, b"", 0x60));
    for f in rosalind_says() {
        c.send(Dir::ServerToClient, &f);
    }
    c.send(Dir::ClientToServer, &odc(WAT, REPLY, 0));
    c.close();
    let (evs, _) = run(&[&flap, &c], "dim-direct");
    check(&evs, "198.18.4.1:4443", "198.18.4.2:40300");

    // Without the FLAP connection the listener is taken for the proposer, and the ODC2
    // frames name both.
    let (evs, _) = run(&[&c], "dim-direct-noflap");
    check(&evs, "198.18.4.1:4443", "198.18.4.2:40300");
}
