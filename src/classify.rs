//! The classify stage: name what a stream direction carries from its first bytes, on any
//! port (OFT-WIRE.md Appendix A), and find OFT2 headers in connections picked up midstream.
//! Only cheap probes from `proto` run here; full parsing is the session stage's job.

use crate::proto::{self, oft, Probe};

/// What the first bytes of a stream direction are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Classification {
    /// An OFT2 header (rule 1): a file-transfer data connection.
    Oft,
    /// A proxy INIT_SEND or INIT_RECV (rule 2): a client's leg to the ARS proxy.
    ProxyClient,
    /// A proxy ACK, READY or ERROR (rule 2): the proxy's side of a leg.
    ProxyServer,
    /// FLAP (rule 4): an OSCAR server connection carrying the negotiation.
    Flap,
    /// An ODC2 header (rule 3): Direct IM.
    Odc,
    /// Every probe still fits; wait for more bytes (at most [`MAX_CLASSIFY_BYTES`]).
    NeedMore,
    /// None of these protocols.
    Other,
}

impl Classification {
    pub fn name(self) -> &'static str {
        match self {
            Classification::Oft => "oft",
            Classification::ProxyClient => "proxy_client",
            Classification::ProxyServer => "proxy_server",
            Classification::Flap => "flap",
            Classification::Odc => "odc",
            Classification::NeedMore => "need_more",
            Classification::Other => "other",
        }
    }
}

/// No probe looks further than this, so a direction that has this many bytes always gets
/// a definite answer (the proxy INIT probe reads the screen-name length at offset 12).
pub const MAX_CLASSIFY_BYTES: usize = 13;

type ProbeFn = fn(&[u8]) -> Probe;

/// Classify a stream direction from its first bytes (pass what has arrived so far, from
/// the direction's first byte).
pub fn classify_direction(first_bytes: &[u8]) -> Classification {
    let probes: [(ProbeFn, Classification); 5] = [
        (proto::probe_oft, Classification::Oft),
        (proto::probe_proxy_client, Classification::ProxyClient),
        (proto::probe_proxy_server, Classification::ProxyServer),
        (proto::probe_odc, Classification::Odc),
        (proto::probe_flap, Classification::Flap),
    ];
    let mut undecided = false;
    for (probe, class) in probes {
        match probe(first_bytes) {
            Probe::Match => return class,
            Probe::NeedMore => undecided = true,
            Probe::NoMatch => {}
        }
    }
    if undecided {
        Classification::NeedMore
    } else {
        Classification::Other
    }
}

/// Offset of the first plausible OFT2 header in `buf` (for connections picked up
/// midstream): the magic, a length in 192..=2048 and a known type (Appendix A), zero
/// encryption and compression fields (no scheme for either exists, §1.2) when those bytes
/// are present, and a clean parse when the whole header is present. A header cut off by
/// the end of `buf` is found once more bytes are added.
pub fn find_oft_header(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = buf.get(from..)?.iter().position(|&b| b == oft::MAGIC[0]) {
        let at = from + rel;
        if plausible_oft_at(&buf[at..]) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn plausible_oft_at(b: &[u8]) -> bool {
    if b.len() < 20 || proto::probe_oft(b) != Probe::Match {
        return false;
    }
    if b[16..20] != [0, 0, 0, 0] {
        return false;
    }
    match proto::parse_oft_header(b) {
        Ok(_) | Err(proto::ParseError::Incomplete { .. }) => true,
        Err(proto::ParseError::Invalid(_)) => false,
    }
}

#[cfg(test)]
mod tests {
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
}
