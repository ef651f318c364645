//! Correlator tests: reports in awkward orders (another worker ahead), screen names,
//! proxied files, and the indexes that tie connections to transfers.

use super::*;
use crate::capture::FrameNo;
use crate::capture::{Frame, Timestamp};
use crate::flow::{Endpoint, FlowKey};
use crate::proto::Cookie;
use crate::session::event::{
    At, Checksum, Event, FileEnd, FileSeen, FileStatus, LegCounts, PhaseSeen, RendezvousSeen,
    RvType, SessionKind, Step as Seen, TransferId, TransferLabel, TransferSummary,
};
use crate::session::phase::{Arrow, Phase, Role};
use crate::session::report::{ConnId, ConnOutcome, ConnRef, Report};

const COOKIE: Cookie = Cookie(*b"7654321\0");

#[derive(Default)]
pub(super) struct Out(pub(super) Vec<Event>);
impl CorrelatorOutput for Out {
    fn event(&mut self, ev: Event) {
        self.0.push(ev);
    }
    fn frames(&mut self, _: TransferId, _: FlowKey, _: Vec<Frame>) {}
    fn transfer_started(&mut self, _: TransferId, _: &TransferLabel) {}
    fn transfer_ended(&mut self, _: TransferId) {}
}

fn ep(s: &str) -> Endpoint {
    let a: std::net::SocketAddr = s.parse().unwrap();
    Endpoint::new(a.ip(), a.port())
}

/// A rendezvous of `kind` about `cookie`, with nothing else said.
pub(super) fn rendezvous(kind: RvType, cookie: Cookie, ts: Timestamp) -> RendezvousSeen {
    RendezvousSeen {
        at: At {
            ts,
            frame: FrameNo(1),
        },
        kind,
        cookie,
        capability: Some(crate::proto::Capability::SEND_FILE),
        snac: (4, 6),
        flap_client: ep("198.18.0.1:40000"),
        flap_server: ep("198.18.0.5:5190"),
        outgoing: true,
        screen_name: None,
        request_no: None,
        use_proxy: false,
        ip: None,
        client_ip: None,
        verified_ip: None,
        port: None,
        file_name: None,
        file_count: None,
        total_size: None,
        cancel_reason: None,
        nak_code: None,
        direct_im: false,
        segment: None,
    }
}

/// A step of `phase` with placeholder contents.
/// What a worker reports of a data connection that carried one 10-byte file, from its
/// server (the sender) to its client.
pub(super) fn file_outcome(conn: &ConnRef, start: Timestamp, end: Timestamp) -> ConnOutcome {
    ConnOutcome {
        kind: SessionKind::File,
        start,
        end,
        sender: Some(conn.server),
        receiver: Some(conn.client),
        proxy_creator: None,
        proxy_ip: None,
        screen_name: None,
        files: 1,
        bytes: 10,
        frames_lost: 0,
        odc: Vec::new(),
    }
}

pub(super) fn step_of(phase: Phase) -> Seen {
    match phase {
        Phase::TcpHandshake => Seen::TcpHandshake {
            client: ep("198.18.2.20:40000"),
            server: ep("198.18.1.10:5190"),
        },
        Phase::ProxyInitSend => Seen::ProxyInitSend {
            screen_name: "alice198".into(),
            cookie: COOKIE,
        },
        Phase::ProxyInitRecv => Seen::ProxyInitRecv {
            screen_name: "bob198".into(),
            token: 0x4242,
            cookie: COOKIE,
        },
        Phase::Ack => Seen::Ack { cookie: COOKIE },
        Phase::Prompt => Seen::Prompt(Box::new(crate::session::event::Prompt {
            name: "f.bin".into(),
            size: 10,
            checksum: Checksum(0),
            files_total: 1,
            files_left: 1,
            cookie: None,
            client_id: String::new(),
            ends: None,
        })),
        other => panic!("no test step for {other}"),
    }
}

/// A rendezvous on the FLAP connection of `flap_client`; `outgoing`: SNAC 4/6.
fn rv(kind: RvType, flap_client: &str, outgoing: bool, sn: &str, with_file: bool) -> Report {
    let mut r = rendezvous(kind, COOKIE, Timestamp(1_000_000_000));
    r.snac = (4, if outgoing { 6 } else { 7 });
    r.flap_client = ep(flap_client);
    r.outgoing = outgoing;
    r.screen_name = Some(sn.into());
    r.request_no = (kind == RvType::Propose).then_some(1);
    r.file_name = with_file.then(|| "f.bin".to_string());
    Report::Rendezvous(Box::new(r))
}

fn transfer(out: &Out) -> &TransferSummary {
    let ts: Vec<&TransferSummary> = out
        .0
        .iter()
        .filter_map(|e| match e {
            Event::Transfer(t) => Some(&**t),
            _ => None,
        })
        .collect();
    assert_eq!(ts.len(), 1);
    ts[0]
}

const ALICE_BOS: &str = "198.18.1.10:40001";
const BOB_BOS: &str = "198.18.2.20:40002";

#[test]
fn screen_names_follow_the_flap_clients_role_whatever_the_report_order() {
    // Both clients ACCEPT (proxy stages, Appendix B), and both ACCEPTs reach the
    // correlator before the PROPOSE that tells whose connection is whose.
    let mut c = Correlator::new(false, 1024);
    let mut out = Out::default();
    c.handle(
        rv(RvType::Accept, ALICE_BOS, true, "bob198", false),
        &mut out,
    );
    c.handle(
        rv(RvType::Accept, BOB_BOS, false, "alice198", false),
        &mut out,
    );
    c.handle(
        rv(RvType::Propose, ALICE_BOS, true, "bob198", true),
        &mut out,
    );
    c.finish(&mut out);
    let t = transfer(&out);
    assert_eq!(t.sender_name.as_deref(), Some("alice198"));
    assert_eq!(t.receiver_name.as_deref(), Some("bob198"));
}

#[test]
fn an_accept_without_its_propose_is_read_as_the_receivers() {
    let mut c = Correlator::new(false, 1024);
    let mut out = Out::default();
    c.handle(
        rv(RvType::Accept, BOB_BOS, true, "alice198", false),
        &mut out,
    );
    c.finish(&mut out);
    let t = transfer(&out);
    assert_eq!(t.sender_name.as_deref(), Some("alice198"));
    assert_eq!(t.receiver_name, None);
}

fn leg(id: u64, client: &str) -> ConnRef {
    ConnRef {
        id: ConnId(id),
        client: ep(client),
        server: ep("198.18.0.9:5190"),
        cookie: Some(COOKIE),
        token: Some(0x4242),
        proxied: true,
    }
}

fn phase(conn: ConnRef, phase: Phase) -> Report {
    Report::Phase {
        conn,
        phase: PhaseSeen {
            step: step_of(phase),
            arrow: Arrow(Role::Client, Role::Proxy),
            at: At {
                ts: Timestamp(1),
                frame: FrameNo(1),
            },
        },
    }
}

fn file(sender: &str, receiver: &str) -> Box<FileSeen> {
    Box::new(FileSeen {
        end: FileEnd {
            name: "f.bin".into(),
            components: vec!["f.bin".into()],
            size: 10,
            bytes: 10,
            offset: 0,
            checksum_expected: Checksum(0),
            checksum_seen: None,
            checksum_ok: None,
            checksum_done: None,
            checksum_partial: None,
            status: FileStatus::Complete,
            first_data: None,
            last_data: None,
            requested: None,
            end: Timestamp(2_000_000_000),
            sha256: None,
            md5: None,
            missing: Vec::new(),
            bytes_after_reset: 0,
            legs: LegCounts {
                sent: Some(10),
                delivered: Some(10),
                acked: Some(10),
            },
        },
        path: None,
        carve_error: None,
        sender: Some(ep(sender)),
        receiver: Some(ep(receiver)),
    })
}

fn files(out: &Out) -> Vec<&FileSeen> {
    out.0
        .iter()
        .filter_map(|e| match e {
            Event::File { file, .. } => Some(&**file),
            _ => None,
        })
        .collect()
}

#[test]
fn a_proxied_file_names_the_far_client_once_the_other_leg_is_reported() {
    let (s, r) = ("198.18.1.10:47001", "198.18.2.20:47002");
    let mut c = Correlator::new(false, 1024);
    let mut out = Out::default();
    c.handle(phase(leg(1, s), Phase::ProxyInitSend), &mut out);
    c.handle(
        Report::File {
            conn: leg(1, s),
            file: file(s, "198.18.0.9:5190"),
            primary: true,
        },
        &mut out,
    );
    assert!(files(&out).is_empty(), "waits for the receiver's leg");
    c.handle(phase(leg(2, r), Phase::ProxyInitRecv), &mut out);
    assert!(
        files(&out).is_empty(),
        "waits for the receiver's leg's file"
    );
    let mut theirs = file("198.18.0.9:5190", r);
    theirs.end.bytes = 7;
    theirs.end.legs = LegCounts {
        sent: Some(7),
        delivered: Some(7),
        acked: Some(5),
    };
    c.handle(
        Report::File {
            conn: leg(2, r),
            file: theirs,
            primary: false,
        },
        &mut out,
    );
    let f = files(&out);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].sender, f[0].receiver), (Some(ep(s)), Some(ep(r))));
    let want = LegCounts {
        sent: Some(10),
        delivered: Some(7),
        acked: Some(5),
    };
    assert_eq!((f[0].end.bytes, f[0].end.legs), (10, want));
    c.finish(&mut out);
    assert_eq!(
        files(&out).len(),
        1,
        "the receiver's leg repeats the same file"
    );
    assert_eq!(transfer(&out).files, 1);
    assert_eq!(transfer(&out).legs_carried, want);
}

#[test]
fn a_proxied_file_without_its_other_leg_still_ends_with_the_transfer() {
    let s = "198.18.1.10:47001";
    let mut c = Correlator::new(false, 1024);
    let mut out = Out::default();
    c.handle(
        Report::File {
            conn: leg(1, s),
            file: file(s, "198.18.0.9:5190"),
            primary: true,
        },
        &mut out,
    );
    c.finish(&mut out);
    let f = files(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].receiver, Some(ep("198.18.0.9:5190")));
    // The proxy's ACKs are not the receiver's: only what was sent is known.
    let sent_only = LegCounts {
        sent: Some(10),
        ..LegCounts::default()
    };
    assert_eq!(f[0].end.legs, sent_only);
    assert_eq!(transfer(&out).files, 1);
}

fn direct_conn(id: u64, cookie: Option<Cookie>) -> ConnRef {
    ConnRef {
        id: ConnId(id),
        client: ep(&format!("198.18.2.20:{}", 47_000 + id)),
        server: ep("198.18.1.10:5190"),
        cookie,
        token: None,
        proxied: false,
    }
}

fn phase_at(conn: ConnRef, secs: f64) -> Report {
    Report::Phase {
        conn,
        phase: PhaseSeen {
            step: step_of(Phase::Prompt),
            arrow: Arrow(Role::Sender, Role::Receiver),
            at: At {
                ts: Timestamp((secs * 1e9) as u64),
                frame: FrameNo(1),
            },
        },
    }
}

#[test]
fn late_report_of_a_connection_whose_merged_transfer_was_forgotten_starts_afresh() {
    // B is seen with the cookie first (transfer 1); A without it (transfer 2) learns the
    // cookie later, so transfer 2 is folded into 1. Long after that ended and was
    // forgotten, a stray report for A must not find a dangling transfer.
    let mut c = Correlator::new(false, 1024);
    let mut out = Out::default();
    let b = direct_conn(2, Some(COOKIE));
    let a = direct_conn(1, None);
    c.handle(phase_at(b, 10.0), &mut out);
    c.handle(phase_at(a, 10.5), &mut out);
    c.handle(phase_at(direct_conn(1, Some(COOKIE)), 11.0), &mut out);
    for conn in [a, b] {
        let outcome = ConnOutcome {
            kind: SessionKind::File,
            start: Timestamp(10_000_000_000),
            end: Timestamp(12_000_000_000),
            sender: None,
            receiver: None,
            proxy_creator: None,
            proxy_ip: None,
            screen_name: None,
            files: 0,
            bytes: 0,
            frames_lost: 0,
            odc: Vec::new(),
        };
        c.handle(Report::Closed { conn, outcome }, &mut out);
    }
    // Time passes: the transfer ends, then is forgotten.
    for (i, t) in [100.0, 200.0, 300.0].into_iter().enumerate() {
        c.handle(phase_at(direct_conn(10 + i as u64, None), t), &mut out);
    }
    let before = transfers_ended(&out);
    c.handle(phase_at(a, 400.0), &mut out);
    let stray = out.0.last().cloned();
    c.finish(&mut out);
    match stray {
        Some(Event::Phase { transfer, .. }) => assert!(transfer.0 > 0),
        other => panic!("the stray report is still reported: {other:?}"),
    }
    assert!(
        transfers_ended(&out) > before,
        "the stray report is a transfer of its own"
    );
}

fn transfers_ended(out: &Out) -> usize {
    out.0
        .iter()
        .filter(|e| matches!(e, Event::Transfer(_)))
        .count()
}

/// One step of a random story the correlator is told.
#[derive(Clone, Debug)]
enum Step {
    Phase {
        conn: u8,
        cookie: Option<u8>,
        token: bool,
        proxied: bool,
    },
    Closed {
        conn: u8,
        sender_is_client: bool,
    },
    Propose {
        cookie: u8,
        proxy: bool,
        port_of: u8,
        from_sender: bool,
        outgoing: bool,
    },
    Accept {
        cookie: u8,
        outgoing: bool,
    },
    File {
        conn: u8,
        primary: bool,
    },
    Attempt {
        conn: u8,
    },
    RvFrame {
        cookie: u8,
    },
    Wait {
        secs: u16,
    },
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        (
            0u8..6,
            proptest::option::of(0u8..3),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(conn, cookie, token, proxied)| Step::Phase {
                conn,
                cookie,
                token,
                proxied
            }),
        (0u8..6, any::<bool>()).prop_map(|(conn, sender_is_client)| Step::Closed {
            conn,
            sender_is_client
        }),
        (0u8..3, any::<bool>(), 0u8..6, any::<bool>(), any::<bool>()).prop_map(
            |(cookie, proxy, port_of, from_sender, outgoing)| Step::Propose {
                cookie,
                proxy,
                port_of,
                from_sender,
                outgoing
            }
        ),
        (0u8..3, any::<bool>()).prop_map(|(cookie, outgoing)| Step::Accept { cookie, outgoing }),
        (0u8..6, any::<bool>()).prop_map(|(conn, primary)| Step::File { conn, primary }),
        (0u8..6).prop_map(|conn| Step::Attempt { conn }),
        (0u8..3).prop_map(|cookie| Step::RvFrame { cookie }),
        (0u16..400).prop_map(|secs| Step::Wait { secs }),
    ]
}

fn story_cookie(i: u8) -> Cookie {
    Cookie(*b"000000\0\0").with_last(i)
}

trait WithLast {
    fn with_last(self, i: u8) -> Cookie;
}
impl WithLast for Cookie {
    fn with_last(mut self, i: u8) -> Cookie {
        self.0[5] = b'0' + i;
        self
    }
}

fn story_conn(i: u8, cookie: Option<u8>, token: bool, proxied: bool) -> ConnRef {
    ConnRef {
        id: ConnId(i as u64 + 1),
        client: ep(&format!("198.18.2.{}:4700{}", 10 + i, i)),
        server: ep(&format!("198.18.1.{}:5190", 10 + i % 3)),
        cookie: cookie.map(story_cookie),
        token: token.then_some(0x4000 + i as u16),
        proxied,
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

    /// Reports in any order, any mix, any gaps in time: the correlator never panics,
    /// and never reports one transfer twice.
    #[test]
    fn any_story_is_told_without_panic(steps in proptest::collection::vec(step(), 0..60)) {
        let mut c = Correlator::new(true, 4);
        let mut out = Out::default();
        let mut now = 1.0f64;
        for s in steps {
            now += 0.01;
            let ts = Timestamp((now * 1e9) as u64);
            let r = match s {
                Step::Wait { secs } => { now += secs as f64; continue; }
                Step::Phase { conn, cookie, token, proxied } => Report::Phase {
                    conn: story_conn(conn, cookie, token, proxied),
                    phase: PhaseSeen {
                        step: step_of(Phase::Prompt),
                        arrow: Arrow(Role::Sender, Role::Receiver),
                        at: At { ts, frame: FrameNo(1) },
                    },
                },
                Step::Closed { conn, sender_is_client } => {
                    let cr = story_conn(conn, None, false, false);
                    let outcome = ConnOutcome {
                        kind: SessionKind::File,
                        start: ts,
                        end: ts,
                        sender: Some(if sender_is_client { cr.client } else { cr.server }),
                        receiver: Some(if sender_is_client { cr.server } else { cr.client }),
                        proxy_creator: Some(sender_is_client),
                        proxy_ip: None,
                        screen_name: Some("sn".into()),
                        files: 1,
                        bytes: 10,
                        frames_lost: 0,
                        odc: Vec::new(),
                    };
                    Report::Closed { conn: cr, outcome }
                }
                Step::Propose { cookie, proxy, port_of, from_sender, outgoing } => {
                    let Report::Rendezvous(mut r) =
                        rv(RvType::Propose, "198.18.1.10:40001", outgoing, "alice", from_sender)
                    else { unreachable!() };
                    r.at.ts = ts;
                    r.cookie = story_cookie(cookie);
                    r.use_proxy = proxy;
                    r.ip = Some(std::net::Ipv4Addr::new(198, 18, 1, 10 + port_of % 3));
                    r.port = Some(if proxy { 0x4000 + port_of as u16 } else { 5190 });
                    Report::Rendezvous(r)
                }
                Step::Accept { cookie, outgoing } => {
                    let Report::Rendezvous(mut r) =
                        rv(RvType::Accept, "198.18.2.20:40002", outgoing, "bob", false)
                    else { unreachable!() };
                    r.at.ts = ts;
                    r.cookie = story_cookie(cookie);
                    Report::Rendezvous(r)
                }
                Step::File { conn, primary } => {
                    let mut f = file("198.18.1.10:5190", "198.18.2.20:47000");
                    f.end.end = ts;
                    Report::File { conn: story_conn(conn, None, false, !primary), file: f, primary }
                }
                Step::Attempt { conn } => Report::Attempt { conn: story_conn(conn, None, false, false), frames: Vec::new() },
                Step::RvFrame { cookie } => Report::RendezvousFrame {
                    cookie: story_cookie(cookie),
                    frame: Frame {
                        no: FrameNo(1),
                        ts,
                        orig_len: 0,
                        link: crate::capture::LinkType::Ethernet,
                        data: Vec::new().into(),
                    },
                },
            };
            c.handle(r, &mut out);
        }
        c.finish(&mut out);
        let mut ids: Vec<TransferId> = out.0.iter().filter_map(|e| match e {
            Event::Transfer(t) => Some(t.transfer),
            _ => None,
        }).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        proptest::prop_assert_eq!(ids.len(), n, "a transfer was reported twice");
    }
}
