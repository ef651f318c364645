use super::*;
use crate::capture::{FrameNo, Timestamp};
use crate::decode::TcpFlags;
use crate::flow::Endpoint;
use crate::proto::Cookie;
use crate::session::event::{
    At, Checksum, FileEnd, FileSeen, Ladder, LadderLine, RendezvousSeen, RvType, SessionKind,
};
use crate::session::phase::Phase;
use crate::session::TransferId;

#[test]
fn esc_neutralizes_markup_from_the_wire() {
    assert_eq!(
        esc("<script>\"a\" & 'b'</script>"),
        "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
    );
    assert_eq!(esc("a\u{0}b"), "a\u{fffd}b");
}

fn ep(s: &str) -> Endpoint {
    let a: std::net::SocketAddr = s.parse().unwrap();
    Endpoint {
        ip: a.ip(),
        port: a.port(),
    }
}

const EVIL: &str = "<script>alert(1)</script>\"><img src=x>";

/// A transfer whose screen name and file name are markup, as a hostile peer could send.
fn hostile_record() -> RunRecord {
    let (snd, rcv) = (ep("198.18.0.1:5190"), ep("198.18.0.2:40000"));
    let ts = |ms: u64| Timestamp(1_700_000_000_000_000_000 + ms * 1_000_000);
    let summary = TransferSummary {
        transfer: TransferId(1),
        ts: ts(50),
        start: ts(0),
        end: ts(40),
        kind: SessionKind::File,
        sender: Some(snd),
        receiver: Some(rcv),
        proxy: None,
        proxy_creator: None,
        cookie: None,
        sender_name: Some(EVIL.into()),
        receiver_name: Some(EVIL.into()),
        files: 1,
        bytes: 10,
        legs_carried: Default::default(),
        data_span: Some((ts(10), ts(20))),
        legs: vec![(rcv, snd)],
        cancelled: false,
        frames_lost: 0,
        failed_attempts: 0,
        direct_im: None,
    };
    let end = FileEnd {
        name: EVIL.into(),
        components: vec![EVIL.into()],
        size: 10,
        bytes: 10,
        offset: 0,
        checksum_expected: Checksum(1),
        checksum_seen: Some(Checksum(1)),
        checksum_ok: Some(true),
        checksum_done: None,
        checksum_partial: None,
        status: crate::session::event::FileStatus::Complete,
        first_data: Some(ts(10)),
        last_data: Some(ts(20)),
        requested: None,
        end: ts(30),
        sha256: None,
        md5: None,
        missing: vec![],
        bytes_after_reset: 0,
        legs: Default::default(),
    };
    let line = |n: u64, ms: u64, notes: Vec<Phase>| LadderLine {
        frame: FrameNo(n),
        ts: ts(ms),
        from_client: false,
        flags: TcpFlags(TcpFlags::ACK | TcpFlags::PSH),
        payload_len: 10,
        notes,
    };
    let rv = RendezvousSeen {
        at: At {
            ts: ts(0),
            frame: FrameNo(1),
        },
        kind: RvType::Propose,
        cookie: Cookie([0; 8]),
        capability: None,
        snac: (4, 6),
        flap_client: ep("198.18.0.1:40001"),
        flap_server: ep("198.18.0.20:5190"),
        outgoing: true,
        screen_name: Some(EVIL.into()),
        request_no: Some(1),
        use_proxy: false,
        ip: None,
        client_ip: None,
        verified_ip: None,
        port: None,
        file_name: Some(EVIL.into()),
        file_count: None,
        total_size: None,
        cancel_reason: None,
        nak_code: None,
        direct_im: false,
        segment: None,
    };
    RunRecord {
        transfers: vec![summary],
        files: vec![(
            TransferId(1),
            FileSeen {
                end,
                path: None,
                sender: Some(snd),
                receiver: Some(rcv),
                carve_error: None,
            },
        )],
        ladders: vec![Ladder {
            transfer: TransferId(1),
            kind: SessionKind::File,
            sender: Some(snd),
            receiver: Some(rcv),
            frames: vec![
                ((rcv, snd), line(5, 10, vec![Phase::DataStart])),
                ((rcv, snd), line(6, 20, vec![Phase::DataEnd])),
            ],
            rendezvous: vec![rv],
        }],
    }
}

#[test]
fn names_from_the_wire_are_escaped_everywhere() {
    let record = hostile_record();
    let page = render(&ReportInput {
        records: &[&record],
        stats: None,
        compare: None,
    });
    assert!(
        !page.contains("<script") && !page.contains("<img"),
        "{page}"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x&gt;"));
    // A live page says its counters are still to come.
    assert!(page.contains("still going"));
}

#[test]
fn chart_and_ladder_are_drawn_for_every_transfer_with_frames() {
    let record = hostile_record();
    let page = render(&ReportInput {
        records: &[&record],
        stats: Some(&StatsRecord {
            ts: 0.0,
            counters: Default::default(),
            pcap: None,
            interim: false,
        }),
        compare: None,
    });
    assert_eq!(page.matches("<svg class=\"chart\"").count(), 1);
    assert_eq!(page.matches("<svg class=\"ladder\"").count(), 1);
    // Frames 1 (FLAP), 5 and 6 are arrows, numbered as in the capture.
    for n in [1, 5, 6] {
        assert!(page.contains(&format!(">#{n}<")), "frame {n}");
    }
    assert!(page.contains("frames_captured"));
}
