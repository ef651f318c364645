//! The probes on protocol starts built by the project's emitters, and the midstream
//! header search.

use super::*;
use crate::proto::{Capability, Cookie, FileName, FlapFrame, OdcHeader, OftHeader, ProxyFrame};
use proptest::prelude::*;
use std::net::Ipv4Addr;

const COOKIE: Cookie = Cookie(*b"1046502\0");

fn prompt() -> Vec<u8> {
    OftHeader::prompt(Cookie::ZERO, FileName::utf8("a.txt"), 5, 0, 1, 1, 5).emit()
}

#[test]
fn each_protocol_start_is_named() {
    let cases: Vec<(Vec<u8>, Classification)> = vec![
        (prompt(), Classification::Oft),
        (
            ProxyFrame::init_send("alice", COOKIE, Capability::SEND_FILE).emit(),
            Classification::ProxyClient,
        ),
        (
            ProxyFrame::init_recv("bob", 7, COOKIE, Capability::SEND_FILE).emit(),
            Classification::ProxyClient,
        ),
        (
            ProxyFrame::ack(7, Ipv4Addr::new(198, 18, 0, 1)).emit(),
            Classification::ProxyServer,
        ),
        (ProxyFrame::ready().emit(), Classification::ProxyServer),
        (ProxyFrame::error(0x1A).emit(), Classification::ProxyServer),
        (
            OdcHeader::message(COOKIE, "bob", 0, 0x60).emit(),
            Classification::Odc,
        ),
        (
            FlapFrame {
                channel: 1,
                seq: 1,
                data: &[0, 0, 0, 1],
            }
            .emit(),
            Classification::Flap,
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(classify_direction(&bytes), want, "{bytes:02x?}");
        assert_eq!(
            classify_direction(&bytes[..bytes.len().min(MAX_CLASSIFY_BYTES)]),
            want
        );
    }
}

#[test]
fn short_starts_wait_and_strangers_are_other() {
    assert_eq!(classify_direction(b""), Classification::NeedMore);
    assert_eq!(classify_direction(b"O"), Classification::NeedMore);
    assert_eq!(classify_direction(b"\x00"), Classification::NeedMore);
    assert_eq!(classify_direction(b"*\x02\x00"), Classification::NeedMore);
    assert_eq!(
        classify_direction(b"GET / HTTP/1.1\r\n"),
        Classification::Other
    );
    assert_eq!(
        classify_direction(b"\x16\x03\x01\x02\x00\x01"),
        Classification::Other
    );
    assert_eq!(
        classify_direction(b"OFT2\x00\x10\x01\x01"),
        Classification::Other
    );
    // Starts like a proxy frame, then the command and length do not fit.
    assert_eq!(
        classify_direction(b"\x00\x30\x04\x4a\x00\x02\x00\x00\x00\x00\x00\x00\x30"),
        Classification::Other
    );
}

#[test]
fn finds_a_header_after_file_data_midstream() {
    let mut buf = vec![0x55u8; 1000];
    buf.extend_from_slice(b"OFT2 in text OFT2\x01\x00\x01\x01 but zero cookie? no");
    let at = buf.len();
    buf.extend(prompt());
    assert_eq!(find_oft_header(&buf), Some(at));
    assert_eq!(find_oft_header(&buf[..at + 100]), Some(at));
    assert_eq!(find_oft_header(&buf[..at + 19]), None);
    assert_eq!(find_oft_header(b"no header here"), None);
}

#[test]
fn http_body_mentioning_oft2_is_not_a_header() {
    let body = b"HTTP/1.1 200 OK\r\n\r\nOFT2 Cool FileXfer OFT2\x01\x00\x01\x01garbage garbage";
    assert_eq!(find_oft_header(body), None);
    assert_eq!(classify_direction(body), Classification::Other);
}

proptest! {
    #[test]
    fn never_panics_and_find_is_consistent(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = classify_direction(&bytes);
        if let Some(at) = find_oft_header(&bytes) {
            prop_assert_eq!(crate::proto::probe_oft(&bytes[at..]), Probe::Match);
        }
    }
}
