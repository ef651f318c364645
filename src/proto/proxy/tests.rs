use super::*;
use crate::proto::testutil::hex;
use proptest::prelude::*;

/// Cookie of the docs/PROTOCOL.md §8 scenario.
const COOKIE: Cookie = Cookie([0x3A, 0x91, 0x5C, 0x07, 0xE2, 0x44, 0x18, 0xB6]);

/// §8.1: INIT_SEND from alice2005, 50 bytes.
const INIT_SEND: &str = "00 30 04 4A 00 02 00 00 00 00 00 00 09 61 6C 69
                         63 65 32 30 30 35 3A 91 5C 07 E2 44 18 B6 00 01
                         00 10 09 46 13 43 4C 7F 11 D1 82 22 44 45 53 54
                         00 00";
/// §8.2: ACK, token 0x2BC7, proxy 203.0.113.10, 18 bytes.
const ACK: &str = "00 10 04 4A 00 03 00 00 00 00 02 20 2B C7 CB 00 71 0A";
/// §8.3: INIT_RECV from bob2005, 50 bytes.
const INIT_RECV: &str = "00 30 04 4A 00 04 00 00 00 00 00 00 07 62 6F 62
                         32 30 30 35 2B C7 3A 91 5C 07 E2 44 18 B6 00 01
                         00 10 09 46 13 43 4C 7F 11 D1 82 22 44 45 53 54
                         00 00";
/// §8.4: READY and ERROR 0x001A.
const READY: &str = "00 0A 04 4A 00 05 00 00 00 00 02 20";
const ERROR: &str = "00 0C 04 4A 00 01 00 00 00 00 02 20 00 1A";

fn spec_frames() -> Vec<(&'static str, ProxyFrame)> {
    vec![
        (
            INIT_SEND,
            ProxyFrame::init_send("alice2005", COOKIE, Capability::SEND_FILE),
        ),
        (ACK, ProxyFrame::ack(0x2BC7, Ipv4Addr::new(203, 0, 113, 10))),
        (
            INIT_RECV,
            ProxyFrame::init_recv("bob2005", 0x2BC7, COOKIE, Capability::SEND_FILE),
        ),
        (READY, ProxyFrame::ready()),
        (ERROR, ProxyFrame::error(0x001A)),
    ]
}

#[test]
fn constructors_emit_the_spec_frames_of_section_8() {
    for (dump, frame) in spec_frames() {
        assert_eq!(frame.emit(), hex(dump), "{:?}", frame.command());
    }
}

#[test]
fn spec_frames_parse_into_their_fields() {
    for (dump, frame) in spec_frames() {
        let bytes = hex(dump);
        assert_eq!(parse_proxy_frame(&bytes), Ok((frame, bytes.len())));
    }
}

#[test]
fn init_sizes_follow_the_section_4_2_rules() {
    for n in [0usize, 1, 9, 255] {
        let sn = "x".repeat(n);
        assert_eq!(
            ProxyFrame::init_send(&sn, COOKIE, Capability::SEND_FILE)
                .emit()
                .len(),
            41 + n
        );
        assert_eq!(
            ProxyFrame::init_recv(&sn, 1, COOKIE, Capability::SEND_FILE)
                .emit()
                .len(),
            43 + n
        );
    }
    assert_eq!(ProxyFrame::ack(1, Ipv4Addr::LOCALHOST).emit().len(), 18);
    assert_eq!(ProxyFrame::ready().emit().len(), 12);
    assert_eq!(ProxyFrame::error(0x0D).emit().len(), 14);
}

#[test]
fn init_without_capability_tlv_is_accepted() {
    let f = ProxyFrame {
        body: ProxyBody::InitSend {
            screen_name: "bob".into(),
            cookie: COOKIE,
            capability: None,
        },
        ..ProxyFrame::ready()
    };
    let bytes = f.emit();
    assert_eq!(bytes.len(), 21 + 3);
    assert_eq!(parse_proxy_frame(&bytes), Ok((f, bytes.len())));
}

#[test]
fn wrong_lengths_for_a_command_are_invalid() {
    // READY with a two-byte payload.
    let mut b = hex(READY);
    b[1] = 0x0C;
    b.extend_from_slice(&[0, 0]);
    assert!(matches!(parse_proxy_frame(&b), Err(ParseError::Invalid(_))));
    // INIT_SEND whose length disagrees with its screen-name length.
    let mut b = hex(INIT_SEND);
    b[12] = 8;
    assert!(matches!(parse_proxy_frame(&b), Err(ParseError::Invalid(_))));
    // Capability TLV of the wrong type.
    let mut b = hex(INIT_RECV);
    b[31] = 2;
    assert!(matches!(parse_proxy_frame(&b), Err(ParseError::Invalid(_))));
}

#[test]
fn garbage_is_refused_before_its_length_is_awaited() {
    assert!(matches!(
        parse_proxy_frame(b"\xff\xff"),
        Err(ParseError::Invalid(_))
    ));
    assert!(matches!(
        parse_proxy_frame(b"\x00\x30\x04\x4b"),
        Err(ParseError::Invalid(_))
    ));
    assert!(matches!(
        parse_proxy_frame(b"\x00\x30\x04\x4a\x00\x09"),
        Err(ParseError::Invalid(_))
    ));
    assert!(matches!(
        parse_proxy_frame(b"GET / HTTP/1.1\r\n"),
        Err(ParseError::Invalid(_))
    ));
}

#[test]
fn every_prefix_is_incomplete_with_a_count_that_reaches_the_end() {
    for (dump, _) in spec_frames() {
        let bytes = hex(dump);
        for cut in 0..bytes.len() {
            match parse_proxy_frame(&bytes[..cut]) {
                Err(ParseError::Incomplete { needed }) => {
                    assert!(
                        needed >= 1 && cut + needed <= bytes.len(),
                        "cut {cut} needed {needed}"
                    )
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
    }
}

#[test]
fn probes_follow_appendix_a() {
    assert_eq!(probe_proxy_client(&hex(INIT_SEND)), Probe::Match);
    assert_eq!(probe_proxy_client(&hex(INIT_RECV)), Probe::Match);
    assert_eq!(probe_proxy_client(&hex(INIT_RECV)[..13]), Probe::Match);
    assert_eq!(probe_proxy_client(&hex(INIT_RECV)[..12]), Probe::NeedMore);
    assert_eq!(probe_proxy_client(&hex(READY)), Probe::NoMatch);
    assert_eq!(probe_proxy_server(&hex(ACK)), Probe::Match);
    assert_eq!(probe_proxy_server(&hex(READY)[..6]), Probe::Match);
    assert_eq!(probe_proxy_server(&hex(ERROR)), Probe::Match);
    assert_eq!(probe_proxy_server(&hex(INIT_SEND)), Probe::NoMatch);
    assert_eq!(probe_proxy_server(b""), Probe::NeedMore);
    assert_eq!(probe_proxy_server(b"\x00\x10\x04"), Probe::NeedMore);
    assert_eq!(probe_proxy_server(b"OFT2\x01\x00\x01\x01"), Probe::NoMatch);
}

fn arb_frame() -> impl Strategy<Value = ProxyFrame> {
    let body = prop_oneof![
        any::<u16>().prop_map(|code| ProxyBody::Error { code }),
        (
            "[a-z0-9]{0,40}",
            any::<[u8; 8]>(),
            proptest::option::of(any::<[u8; 16]>())
        )
            .prop_map(|(sn, c, cap)| ProxyBody::InitSend {
                screen_name: sn,
                cookie: Cookie(c),
                capability: cap.map(Capability),
            }),
        (any::<u16>(), any::<u32>()).prop_map(|(token, ip)| ProxyBody::Ack {
            token,
            ip: Ipv4Addr::from(ip)
        }),
        (
            "\\PC{0,60}",
            any::<u16>(),
            any::<[u8; 8]>(),
            proptest::option::of(any::<[u8; 16]>())
        )
            .prop_filter("sn fits a u8", |(sn, ..)| sn.len() <= 255)
            .prop_map(|(sn, token, c, cap)| ProxyBody::InitRecv {
                screen_name: sn,
                token,
                cookie: Cookie(c),
                capability: cap.map(Capability),
            }),
        Just(ProxyBody::Ready),
    ];
    (any::<u32>(), any::<u16>(), body).prop_map(|(unknown, flags, body)| ProxyFrame {
        unknown,
        flags,
        body,
    })
}

proptest! {
    #[test]
    fn emit_then_parse_gives_the_same_frame(f in arb_frame()) {
        let bytes = f.emit();
        prop_assert_eq!(parse_proxy_frame(&bytes), Ok((f, bytes.len())));
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Err(ParseError::Incomplete { needed }) = parse_proxy_frame(&bytes) {
            prop_assert!(bytes.len() + needed <= MAX_FRAME_LEN);
        }
        let _ = probe_proxy_client(&bytes);
        let _ = probe_proxy_server(&bytes);
    }

    #[test]
    fn parse_never_panics_after_a_plausible_header(cmd in 0u16..7, len in 0u16..320, tail in proptest::collection::vec(any::<u8>(), 0..320)) {
        let mut b = len.to_be_bytes().to_vec();
        b.extend_from_slice(&VERSION.to_be_bytes());
        b.extend_from_slice(&cmd.to_be_bytes());
        b.extend_from_slice(&tail);
        let _ = parse_proxy_frame(&b);
    }
}
