use super::*;
use crate::proto::flap::{FlapFrame, SnacHeader};
use crate::proto::testutil::hex;
use crate::proto::ParseError;
use proptest::prelude::*;

const COOKIE: Cookie = Cookie([0x3A, 0x91, 0x5C, 0x07, 0xE2, 0x44, 0x18, 0xB6]);

/// docs/PROTOCOL.md §8.5: the proxied PROPOSE as delivered to bob, FLAP + SNAC(4,7), 169 bytes.
const SPEC_PROPOSE: &str = "
    2A 02 12 34 00 A3 00 04 00 07 00 00 00 00 00 00
    3A 91 5C 07 E2 44 18 B6 00 02 09 61 6C 69 63 65
    32 30 30 35 00 00 00 01 00 01 00 02 00 10 00 05
    00 77 00 00 3A 91 5C 07 E2 44 18 B6 09 46 13 43
    4C 7F 11 D1 82 22 44 45 53 54 00 00 00 0A 00 02
    00 01 00 0F 00 00 00 02 00 04 CB 00 71 0A 00 16
    00 04 34 FF 8E F5 00 03 00 04 0A 00 00 05 00 05
    00 02 2B C7 00 17 00 02 D4 38 00 10 00 00 27 11
    00 13 00 01 00 01 00 01 E2 40 72 65 70 6F 72 74
    2E 70 64 66 00 27 12 00 08 75 73 2D 61 73 63 69
    69 00 04 00 04 C6 33 64 07";

// Frames of the real 2005 capture gaim_sendfile.dmp (origin in tests/data/NOTICE).
const GAIM_PROPOSE: &str = include_str!("../../../tests/data/gaim-sendfile-2005-propose.hex");
const GAIM_HOSTACK: &str = include_str!("../../../tests/data/gaim-sendfile-2005-hostack.hex");
const GAIM_ACCEPT: &str = include_str!("../../../tests/data/gaim-sendfile-2005-accept.hex");
const GAIM_COOKIE: Cookie = Cookie(*b"1046502\0");

fn spec_msg() -> RendezvousMsg {
    RendezvousMsg {
        host_check: true,
        client_ip: Some(Ipv4Addr::new(10, 0, 0, 5)),
        verified_ip: Some(Ipv4Addr::new(198, 51, 100, 7)),
        file: Some(ServiceData {
            kind: ServiceData::SINGLE_FILE,
            count: 1,
            total_size: 123_456,
            name: "report.pdf".into(),
        }),
        charset: Some("us-ascii".into()),
        user_info: vec![(0x0001, vec![0x00, 0x10])],
        ..RendezvousMsg::propose(COOKIE, Capability::SEND_FILE, 1)
            .via_proxy(Ipv4Addr::new(203, 0, 113, 10), 0x2BC7)
            .to_client("alice2005")
    }
}

fn event(bytes: &[u8]) -> IcbmEvent {
    let (ev, used) = parse_flap_icbm(bytes).unwrap();
    assert_eq!(used, bytes.len());
    ev.expect("an ICBM event")
}

fn rendezvous(bytes: &[u8]) -> RendezvousMsg {
    match event(bytes) {
        IcbmEvent::Rendezvous(m) => m,
        other => panic!("not a rendezvous: {other:?}"),
    }
}

#[test]
fn propose_emitter_matches_the_spec_hexdump_byte_for_byte() {
    assert_eq!(spec_msg().emit_flap(0x1234, 0), hex(SPEC_PROPOSE));
}

#[test]
fn spec_propose_parses_into_the_section_5_6_prediction() {
    let m = rendezvous(&hex(SPEC_PROPOSE));
    assert_eq!(m, spec_msg());
    assert_eq!(m.snac, (4, 7));
    assert_eq!(m.kind, RvKind::Propose);
    assert_eq!(m.screen_name.as_deref(), Some("alice2005"));
    assert_eq!(m.proxy_ip(), Some(Ipv4Addr::new(203, 0, 113, 10)));
    assert_eq!(m.proxy_token(), Some(0x2BC7));
    assert_eq!(m.checks_ok(), Some(true));
    assert_eq!(m.total_size(), Some(123_456));
    assert_eq!(m.cookie.to_string(), "3a915c07e24418b6");
}

#[test]
fn real_gaim_propose_4_6() {
    let bytes = hex(GAIM_PROPOSE);
    let m = rendezvous(&bytes);
    assert_eq!(m.snac, (4, 6));
    assert_eq!(m.kind, RvKind::Propose);
    assert_eq!(m.cookie, GAIM_COOKIE);
    assert_eq!(m.capability, Capability::SEND_FILE);
    assert_eq!(m.screen_name.as_deref(), Some("DarthDommo"));
    assert_eq!(m.request_no, Some(1));
    assert!(m.host_check);
    assert_eq!(m.client_ip, Some(Ipv4Addr::new(4, 254, 84, 74)));
    assert_eq!(m.port, Some(5190));
    assert!(!m.use_proxy);
    assert_eq!(m.proxy_ip(), None);
    assert!(m.host_ack_requested);
    let f = m.file.as_ref().unwrap();
    assert_eq!((f.kind, f.count, f.total_size), (1, 1, 44));
    assert_eq!(f.name, "howdoisentfile.txt");
    // Gaim's TLV order is the emitter's order, so the frame comes back byte for byte.
    assert_eq!(m.emit_flap(0x0023, 0x32), bytes);
}

#[test]
fn real_gaim_accept_4_7_skips_the_user_info_tlvs() {
    let bytes = hex(GAIM_ACCEPT);
    let m = rendezvous(&bytes);
    assert_eq!(m.snac, (4, 7));
    assert_eq!(m.kind, RvKind::Accept);
    assert_eq!(m.cookie, GAIM_COOKIE);
    assert_eq!(m.screen_name.as_deref(), Some("DarthDommo"));
    assert_eq!(
        m.user_info.iter().map(|t| t.0).collect::<Vec<_>>(),
        vec![0x0001, 0x000F, 0x001D, 0x0003]
    );
    assert_eq!(m.request_no, None);
    assert_eq!(m.file, None);
    assert_eq!(m.emit_block().len(), 26);
    assert_eq!(m.emit_flap(0x1FDC, 0xB102_21A3), bytes);
}

#[test]
fn real_gaim_host_ack_4_0c() {
    let bytes = hex(GAIM_HOSTACK);
    let ack = HostAck {
        cookie: GAIM_COOKIE,
        channel: 2,
        screen_name: "DarthDommo".into(),
    };
    assert_eq!(event(&bytes), IcbmEvent::HostAck(ack.clone()));
    let data = ack.emit_snac(0x32);
    let frame = FlapFrame {
        channel: 2,
        seq: 0x1FDB,
        data: &data,
    };
    assert_eq!(frame.emit(), bytes);
}

#[test]
fn client_error_with_channel_specific_code() {
    // Pidgin's decline: reason 3, then 00 02 00 01 (§5.8).
    let e = ClientError {
        cookie: COOKIE,
        channel: 2,
        screen_name: "bob".into(),
        reason: 3,
        code: Some(1),
    };
    let data = e.emit_snac(7);
    assert_eq!(&data[data.len() - 6..], &[0, 3, 0, 2, 0, 1]);
    assert_eq!(
        parse_icbm(&data),
        Ok(Some(IcbmEvent::ClientError(e.clone())))
    );
    let bare = ClientError {
        code: None,
        reason: 1,
        ..e
    };
    assert_eq!(
        parse_icbm(&bare.emit_snac(7)),
        Ok(Some(IcbmEvent::ClientError(bare)))
    );
}

#[test]
fn cancel_carries_its_reason() {
    let m = RendezvousMsg::cancel(COOKIE, Capability::SEND_FILE, 1).to_host("bob");
    let back = rendezvous(&m.emit_flap(1, 2));
    assert_eq!(back.kind, RvKind::Cancel);
    assert_eq!(back.cancel_reason, Some(1));
    assert_eq!(back, m);
}

#[test]
fn other_snacs_and_channels_are_not_rendezvous() {
    // Channel-1 IM in a 4/6.
    let mut data = Vec::new();
    SnacHeader {
        family: 4,
        subtype: 6,
        flags: 0,
        request_id: 0,
    }
    .emit_into(&mut data);
    data.extend_from_slice(&COOKIE.0);
    data.extend_from_slice(&[0, 1, 3, b'b', b'o', b'b']);
    assert_eq!(parse_icbm(&data), Ok(None));
    // Another family.
    let mut data = Vec::new();
    SnacHeader {
        family: 1,
        subtype: 7,
        flags: 0,
        request_id: 0,
    }
    .emit_into(&mut data);
    assert_eq!(parse_icbm(&data), Ok(None));
    // Keep-alive frame.
    assert_eq!(parse_flap_icbm(b"*\x05\x00\x01\x00\x00"), Ok((None, 6)));
}

#[test]
fn mismatched_cookies_and_truncated_bodies_are_invalid() {
    let mut b = hex(SPEC_PROPOSE);
    b[16] ^= 1; // ICBM cookie
    assert!(matches!(parse_flap_icbm(&b), Err(ParseError::Invalid(_))));
    let m = spec_msg();
    let full = m.emit_snac(0);
    for cut in 10..full.len() - 1 {
        // Whatever a cut leaves, parsing stays an error or a shorter, consistent value.
        let _ = parse_icbm(&full[..cut]);
    }
    assert!(matches!(
        parse_icbm(&full[..20]),
        Err(ParseError::Invalid(_))
    ));
}

#[test]
fn service_data_charsets_decode_the_name() {
    let mk = |charset: &str, name: &str| RendezvousMsg {
        charset: Some(charset.into()),
        file: Some(ServiceData {
            kind: 2,
            count: 3,
            total_size: 9,
            name: name.into(),
        }),
        ..RendezvousMsg::propose(COOKIE, Capability::SEND_FILE, 1).to_host("bob")
    };
    for (cs, name) in [
        ("iso-8859-1", "café"),
        ("utf-8", "日本"),
        ("unicode-2-0", "Grüße 😀"),
    ] {
        let m = mk(cs, name);
        assert_eq!(
            rendezvous(&m.emit_flap(1, 1)).file.unwrap().name,
            name,
            "{cs}"
        );
    }
    let f = ServiceData {
        kind: 2,
        count: 3,
        total_size: 9,
        name: "pics\\*".into(),
    };
    assert_eq!(f.display_name(), "pics");
}

#[test]
fn joscar_style_padding_after_the_service_data_name_is_ignored() {
    let mut block = RendezvousMsg::propose(COOKIE, Capability::SEND_FILE, 1).emit_block();
    let mut v = vec![0, 1, 0, 1, 0, 0, 0, 5];
    v.extend_from_slice(b"a.txt");
    v.extend_from_slice(&[0; 47]);
    crate::proto::tlv::put_tlv(&mut block, tlv::SERVICE_DATA, &v);
    let m = parse_block(&block).unwrap();
    assert_eq!(m.file.unwrap().name, "a.txt");
}

fn arb_ip() -> impl Strategy<Value = Option<Ipv4Addr>> {
    proptest::option::of(any::<u32>().prop_map(Ipv4Addr::from))
}

const KNOWN: [u16; 16] = [
    2, 3, 4, 5, 0x0A, 0x0B, 0x0F, 0x10, 0x11, 0x14, 0x16, 0x17, 0x2711, 0x2712, 0x2713, 0,
];

prop_compose! {
    fn arb_msg()(
        to_client in any::<bool>(),
        kind in any::<u16>(),
        cookie in any::<[u8; 8]>(),
        cap in prop_oneof![Just(Capability::SEND_FILE), Just(Capability::DIRECT_IM), any::<[u8; 16]>().prop_map(Capability)],
        sn in "[A-Za-z0-9 ]{0,30}",
        warning_level in any::<u16>(),
        user_info in proptest::collection::vec((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..8)), 0..4),
        host_ack_requested in any::<bool>(),
        nums in any::<[Option<u16>; 6]>(),
        ips in (arb_ip(), arb_ip(), arb_ip()),
        flags in any::<[bool; 3]>(),
        ip_check in proptest::option::of(any::<u32>()),
        file in proptest::option::of((any::<u16>(), any::<u16>(), any::<u32>(), "[^\u{0}]{0,40}")),
        charset in proptest::option::of(prop_oneof![Just("us-ascii".to_string()), Just("utf-8".to_string()), Just("unicode-2-0".to_string())]),
        size64 in proptest::option::of(any::<u64>()),
        other in proptest::collection::vec((any::<u16>().prop_filter("unknown", |t| !KNOWN.contains(t)), proptest::collection::vec(any::<u8>(), 0..10)), 0..3),
    ) -> RendezvousMsg {
        let base = RendezvousMsg::new(RvKind::from_u16(kind), Cookie(cookie), cap);
        let base = if to_client { base.to_client(&sn) } else { base.to_host(&sn) };
        RendezvousMsg {
            warning_level: if to_client { warning_level } else { 0 },
            user_info: if to_client { user_info } else { Vec::new() },
            host_ack_requested,
            request_no: nums[0],
            port: nums[1],
            port_check: nums[2],
            counter_reason: nums[3],
            cancel_reason: nums[4],
            rendezvous_ip: ips.0,
            client_ip: ips.1,
            verified_ip: ips.2,
            host_check: flags[0],
            use_proxy: flags[1],
            request_secure: flags[2],
            ip_check,
            file: file.filter(|_| cap == Capability::SEND_FILE).map(|(kind, count, total_size, name)| ServiceData { kind, count, total_size, name }),
            charset,
            size64,
            other,
            ..base
        }
    }
}

proptest! {
    #[test]
    fn emit_then_parse_gives_the_same_message(m in arb_msg(), seq in any::<u16>(), req in any::<u32>()) {
        let bytes = m.emit_flap(seq, req);
        let (ev, used) = parse_flap_icbm(&bytes).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(ev, Some(IcbmEvent::Rendezvous(m)));
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_flap_icbm(&bytes);
        let _ = parse_icbm(&bytes);
        let _ = parse_block(&bytes);
    }

    #[test]
    fn parse_never_panics_on_mutated_messages(m in arb_msg(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut data = m.emit_snac(0);
        let i = at.index(data.len());
        data[i] = byte;
        let _ = parse_icbm(&data);
    }
}
