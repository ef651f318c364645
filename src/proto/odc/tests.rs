use super::*;
use proptest::prelude::*;

const COOKIE: Cookie = Cookie(*b"3615474\0");

#[test]
fn message_header_has_the_section_6_layout() {
    let b = OdcHeader::message(COOKIE, "alice", 11, 0x0060).emit();
    assert_eq!(b.len(), 76);
    assert_eq!(&b[..10], b"ODC2\x00\x4c\x00\x01\x00\x06");
    assert_eq!(&b[12..20], &COOKIE.0);
    assert_eq!(&b[28..32], &[0, 0, 0, 11]);
    assert_eq!(&b[38..40], &[0, 0x60]);
    assert_eq!(&b[44..49], b"alice");
    let (h, used) = parse_odc_header(&b).unwrap();
    assert_eq!(used, 76);
    assert_eq!(h.frame_len(), 87);
    assert_eq!(h.screen_name, "alice");
}

#[test]
fn short_input_is_incomplete_and_other_magic_invalid() {
    let b = OdcHeader::message(COOKIE, "bob", 0, 0).emit();
    assert_eq!(
        parse_odc_header(&b[..3]),
        Err(ParseError::Incomplete { needed: 3 })
    );
    assert_eq!(
        parse_odc_header(&b[..50]),
        Err(ParseError::Incomplete { needed: 26 })
    );
    assert!(matches!(
        parse_odc_header(b"OFT2\x01\x00"),
        Err(ParseError::Invalid(_))
    ));
    assert!(matches!(
        parse_odc_header(b"ODC2\x00\x10"),
        Err(ParseError::Invalid(_))
    ));
}

#[test]
fn probe_follows_appendix_a() {
    let b = OdcHeader::message(COOKIE, "bob", 0, 0).emit();
    assert_eq!(probe_odc(&b), Probe::Match);
    assert_eq!(probe_odc(&b[..10]), Probe::Match);
    assert_eq!(probe_odc(&b[..9]), Probe::NeedMore);
    assert_eq!(probe_odc(b"ODC2\x00\x4c\x00\x02"), Probe::NoMatch);
    assert_eq!(probe_odc(b"OFT2"), Probe::NoMatch);
}

proptest! {
    #[test]
    fn emit_then_parse_gives_the_same_header(
        length in 76u16..=300, kind in any::<u16>(), subtype in any::<u16>(),
        cookie in any::<[u8; 8]>(), payload_len in any::<u32>(),
        enc in any::<[u16; 3]>(), sn in "[A-Za-z0-9]{0,32}",
    ) {
        let h = OdcHeader {
            length, kind, subtype, cookie: Cookie(cookie), payload_len,
            encoding: enc[0], sub_encoding: enc[1], flags: enc[2], screen_name: sn,
        };
        let b = h.emit();
        prop_assert_eq!(parse_odc_header(&b), Ok((h, b.len())));
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), len in any::<u16>()) {
        let _ = parse_odc_header(&bytes);
        let mut b = b"ODC2".to_vec();
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(&bytes);
        let _ = parse_odc_header(&b);
        let _ = probe_odc(&b);
    }
}
