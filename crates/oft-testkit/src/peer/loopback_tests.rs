//! The roles against each other on 127.0.0.1 (no namespaces, no root): the proxy's pairing and
//! relay, the BOS relay's rewriting, and whole transfers.

use super::ars;
use super::bos;
use super::flap_conn::{FlapClient, Incoming};
use super::log::Log;
use super::net::{self, FrameReader};
use super::oft_recv::{FileStatus, RecvOptions};
use super::oft_send::SendOutcome;
use super::proxy_server::{self, error_code, ProxyOptions};
use super::recv::{self, RecvArgs};
use super::send::{self, SendArgs};
use oftsniff::proto::{
    parse_proxy_frame, Capability, Cookie, IcbmEvent, ProxyBody, RendezvousMsg, RvKind,
};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);
const COOKIE: Cookie = Cookie(*b"1234567\0");

fn local() -> TcpListener {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap()
}

fn start_proxy() -> SocketAddr {
    let l = local();
    let addr = l.local_addr().unwrap();
    let opts = ProxyOptions {
        listen: addr,
        advertise: None,
        accept_period: T,
        sessions: None,
    };
    thread::spawn(move || proxy_server::serve_on(l, &opts, &Log::new("test proxy")));
    addr
}

fn start_bos() -> SocketAddr {
    let l = local();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || bos::serve_on(l, &Log::new("test bos")));
    addr
}

fn proxy_body(c: &mut FrameReader) -> ProxyBody {
    c.read_frame(parse_proxy_frame).unwrap().body
}

#[test]
fn proxy_pairs_creator_and_joiner_then_relays_both_ways_and_passes_fin_on() {
    let proxy = start_proxy();
    let log = Log::new("test");
    let mut created = ars::create(proxy, "alice", COOKIE, T, &log).unwrap();
    assert_eq!(created.proxy_ip, Ipv4Addr::LOCALHOST);
    let joiner = ars::join(proxy, "bob", created.token, COOKIE, T, &log).unwrap();
    ars::wait_ready(&mut created.conn, &log).unwrap();
    let (mut a, _) = created.conn.into_parts();
    let (mut b, _) = joiner.into_parts();
    a.write_all(b"to bob").unwrap();
    b.write_all(b"to alice").unwrap();
    let mut buf = [0u8; 8];
    b.read_exact(&mut buf[..6]).unwrap();
    assert_eq!(&buf[..6], b"to bob");
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"to alice");
    net::finish(&a);
    assert_eq!(b.read(&mut buf).unwrap(), 0, "FIN not passed on");
}

#[test]
fn proxy_refuses_a_join_with_the_wrong_token() {
    let proxy = start_proxy();
    let log = Log::new("test");
    let created = ars::create(proxy, "alice", COOKIE, T, &log).unwrap();
    let s = net::connect(proxy, T).unwrap();
    let mut c = FrameReader::new(s);
    c.write_all(&ars::init_recv("mallory", created.token.wrapping_add(1), COOKIE).emit())
        .unwrap();
    assert_eq!(
        proxy_body(&mut c),
        ProxyBody::Error {
            code: error_code::BAD_REQUEST
        }
    );
}

#[test]
fn proxy_answers_garbage_with_a_malformed_error() {
    let proxy = start_proxy();
    let mut c = FrameReader::new(net::connect(proxy, T).unwrap());
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(
        proxy_body(&mut c),
        ProxyBody::Error {
            code: error_code::MALFORMED
        }
    );
}

#[test]
fn bos_delivers_propose_as_4_7_with_the_verified_ip_and_acks_the_sender() {
    let bos = start_bos();
    let log = Log::new("test");
    let bob = FlapClient::sign_on(bos, "Bob", T, &log).unwrap();
    let alice = FlapClient::sign_on(bos, "alice", T, &log).unwrap();
    let mut m = RendezvousMsg::propose(COOKIE, Capability::SEND_FILE, 1).to_host("bob");
    m.port = Some(5190);
    m.host_ack_requested = true;
    alice.send(&m).unwrap();
    let deadline = std::time::Instant::now() + T;
    let got = bob
        .wait_for(deadline, |ev| ev.rendezvous().map(|m| Ok(m.clone())))
        .unwrap();
    assert_eq!(got.snac.1, oftsniff::proto::rendezvous::SUBTYPE_TO_CLIENT);
    assert_eq!(got.kind, RvKind::Propose);
    assert_eq!(got.screen_name.as_deref(), Some("alice"));
    assert_eq!(got.cookie, COOKIE);
    assert_eq!(got.port, Some(5190));
    assert_eq!(got.verified_ip, Some(Ipv4Addr::LOCALHOST));
    assert!(!got.user_info.is_empty());
    let acked = alice
        .wait_for(deadline, |ev| match ev {
            Incoming::Icbm(e) => match &**e {
                IcbmEvent::HostAck(a) => Some(Ok(a.cookie)),
                _ => None,
            },
            Incoming::Closed(_) => None,
        })
        .unwrap();
    assert_eq!(acked, COOKIE);
}

#[test]
fn bos_holds_messages_for_a_recipient_not_yet_signed_on() {
    let bos = start_bos();
    let log = Log::new("test");
    let alice = FlapClient::sign_on(bos, "alice", T, &log).unwrap();
    alice
        .send(&RendezvousMsg::accept(COOKIE, Capability::SEND_FILE).to_host("late bob"))
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    let bob = FlapClient::sign_on(bos, "latebob", T, &log).unwrap();
    let got = bob
        .wait_for(std::time::Instant::now() + T, |ev| {
            ev.rendezvous().map(|m| Ok(m.kind))
        })
        .unwrap();
    assert_eq!(got, RvKind::Accept);
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oftpeer-lo-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn transfer(tag: &str, proxy: Option<SocketAddr>, recv_proxy: bool) {
    let bos = start_bos();
    let dir = scratch(tag);
    let src = dir.join("data.bin");
    let data: Vec<u8> = (0..300_001u32).map(|n| (n * 7 + n / 300) as u8).collect();
    std::fs::write(&src, &data).unwrap();
    let ars_port = proxy.map_or(0, |p| p.port());
    let rargs = RecvArgs {
        bos,
        screen_name: "bob".into(),
        from: Some("alice".into()),
        opts: RecvOptions {
            out: dir.join("out"),
            have: None,
            resume_from: None,
            cancel_after: None,
        },
        proxy: if recv_proxy { proxy } else { None },
        ars_port,
        redirect: None,
        decline: false,
        timeout: T,
    };
    let receiver = thread::spawn(move || recv::run(&rargs, &Log::new("test recv")));
    let sargs = SendArgs {
        bos,
        screen_name: "alice".into(),
        to: "bob".into(),
        files: vec![src],
        folder: None,
        utf16_names: false,
        listen: None,
        proxy: if recv_proxy { None } else { proxy },
        data_port: 0,
        ars_port,
        cookie: Some(COOKIE),
        abort_after: None,
        rate: None,
        timeout: T,
    };
    let sent = send::run(&sargs, &Log::new("test send")).unwrap();
    assert_eq!(
        sent,
        SendOutcome::Completed {
            sent: data.len() as u64,
            skipped: 0
        }
    );
    let got = receiver.join().unwrap().unwrap();
    assert!(matches!(
        got[..],
        [FileStatus::Complete { bytes: 300_001, .. }]
    ));
    assert_eq!(std::fs::read(dir.join("out/data.bin")).unwrap(), data);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn direct_transfer_over_loopback() {
    transfer("direct", None, false);
}

#[test]
fn stage1_transfer_over_loopback() {
    transfer("stage1", Some(start_proxy()), false);
}

#[test]
fn stage2_transfer_over_loopback() {
    transfer("stage2", Some(start_proxy()), true);
}
