use super::*;
use crate::proto::testutil::hex;
use proptest::prelude::*;

/// The PROMPT of the docs/PROTOCOL.md §8 scenario (§8.6: alice sends report.pdf, 123456
/// bytes), as a reference encoder wrote it.
fn spec_prompt_bytes() -> Vec<u8> {
    hex("4F 46 54 32 01 00 01 01 00 00 00 00 00 00 00 00
         00 00 00 00 00 01 00 01 00 01 00 01 00 01 E2 40
         00 01 E2 40 47 8C A0 40 E8 17 00 00 FF FF 00 00
         00 00 00 00 00 00 00 00 FF FF 00 00 00 00 00 00
         FF FF 00 00 43 6F 6F 6C 20 46 69 6C 65 58 66 65
         72 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 00 20 1C 11 00 00 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         72 65 70 6F 72 74 2E 70 64 66 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")
}

/// Cookie of the §8 scenario.
const SPEC_COOKIE: Cookie = Cookie([0x3A, 0x91, 0x5C, 0x07, 0xE2, 0x44, 0x18, 0xB6]);

/// The real header of `tests/data/joscar-prompt-header.oft2` (origin in tests/data/NOTICE).
const JOSCAR: &[u8] = include_bytes!("../../../tests/data/joscar-prompt-header.oft2");

fn spec_prompt() -> OftHeader {
    OftHeader {
        mod_time: 0x478C_A040,
        ..OftHeader::prompt(
            Cookie::ZERO,
            FileName::utf8("report.pdf"),
            123_456,
            0xE817_0000,
            1,
            1,
            123_456,
        )
    }
}

#[test]
fn prompt_constructor_emits_the_spec_prompt_byte_for_byte() {
    assert_eq!(spec_prompt().emit(), spec_prompt_bytes());
}

#[test]
fn spec_prompt_parses_into_its_fields() {
    let bytes = spec_prompt_bytes();
    let (h, used) = parse_oft_header(&bytes).unwrap();
    assert_eq!(used, 256);
    assert_eq!(h.kind, OftType::Prompt);
    assert!(h.cookie.is_zero());
    assert_eq!(
        (h.total_files, h.files_left, h.total_parts, h.parts_left),
        (1, 1, 1, 1)
    );
    assert_eq!((h.total_size, h.size), (123_456, 123_456));
    assert_eq!(h.mod_time, 0x478C_A040);
    assert_eq!(h.checksum, 0xE817_0000);
    assert_eq!(h.recv_checksum, CHECKSUM_EMPTY);
    assert_eq!(h.id_str(), "Cool FileXfer");
    assert_eq!(
        (h.flags, h.list_name_offset, h.list_size_offset),
        (0x20, 0x1C, 0x11)
    );
    assert_eq!(h.name.display(), "report.pdf");
    assert_eq!(h, spec_prompt());
}

#[test]
fn ack_and_done_match_the_spec_dumps() {
    // §8.7: the ACK differs from the PROMPT only in type (+6) and cookie (+8).
    let mut ack = spec_prompt_bytes();
    ack[6..8].copy_from_slice(&[0x02, 0x02]);
    ack[8..16].copy_from_slice(&SPEC_COOKIE.0);
    assert_eq!(spec_prompt().ack(SPEC_COOKIE).emit(), ack);
    // §8.8: the DONE differs from the ACK at +6, +60, +64 and +100.
    let mut done = ack.clone();
    done[6..8].copy_from_slice(&[0x02, 0x04]);
    done[60..64].copy_from_slice(&[0x00, 0x01, 0xE2, 0x40]);
    done[64..68].copy_from_slice(&[0xE8, 0x17, 0x00, 0x00]);
    done[100] = 0x01;
    let h = spec_prompt().done(SPEC_COOKIE, 123_456, 0xE817_0000, true);
    assert_eq!(h.emit(), done);
    assert_eq!(parse_oft_header(&done).unwrap().0, h);
}

#[test]
fn real_joscar_header_with_stray_separator_parses_and_reemits() {
    let (h, used) = parse_oft_header(JOSCAR).unwrap();
    assert_eq!(used, 256);
    assert_eq!(h.kind, OftType::Prompt);
    assert_eq!(h.cookie.to_string(), "3a9054517f94c7a9");
    assert_eq!(h.size, 332_555);
    assert_eq!(h.total_size, 332_555);
    assert_eq!(h.id_str(), "Cool FileXfer");
    assert_eq!(
        (h.flags, h.list_name_offset, h.list_size_offset),
        (0x20, 28, 17)
    );
    assert_eq!(h.name.encoding, NameEncoding::Ascii);
    // The name field really holds name, 0x01, name: shown as a two-component path.
    assert_eq!(
        h.name.display(),
        "Donna Cover Again.psd/Donna Cover Again.psd"
    );
    assert_eq!(
        h.name.components(),
        vec!["Donna Cover Again.psd", "Donna Cover Again.psd"]
    );
    assert_eq!(h.emit(), JOSCAR);
}

#[test]
fn bytes_after_the_first_nul_are_ignored() {
    let mut bytes = spec_prompt_bytes();
    bytes[192 + 11..192 + 20].copy_from_slice(b"junk\x01more");
    let (h, _) = parse_oft_header(&bytes).unwrap();
    assert_eq!(h.name.raw, b"report.pdf");
}

#[test]
fn zero_list_offsets_and_zero_cookie_are_accepted() {
    let h = OftHeader {
        list_name_offset: 0,
        list_size_offset: 0,
        flags: 0,
        ..spec_prompt()
    };
    let (back, _) = parse_oft_header(&h.emit()).unwrap();
    assert_eq!(back, h);
}

#[test]
fn long_name_grows_the_header() {
    let name = "a".repeat(100);
    let h = OftHeader::prompt(Cookie::ZERO, FileName::utf8(&name), 1, 0, 1, 1, 1);
    let bytes = h.emit();
    assert_eq!(bytes.len(), 192 + 101);
    assert_eq!(u16::from_be_bytes([bytes[4], bytes[5]]), 293);
    let (back, used) = parse_oft_header(&bytes).unwrap();
    assert_eq!(used, 293);
    assert_eq!(back.name.display(), name);
}

#[test]
fn name_of_63_bytes_still_fits_256() {
    let h = OftHeader::prompt(Cookie::ZERO, FileName::utf8(&"x".repeat(63)), 1, 0, 1, 1, 1);
    assert_eq!(h.emit().len(), 256);
    let h = OftHeader::prompt(Cookie::ZERO, FileName::utf8(&"x".repeat(64)), 1, 0, 1, 1, 1);
    assert_eq!(h.emit().len(), 257);
}

#[test]
fn utf16_name_ends_with_double_nul_and_decodes() {
    let name = "Grüße 日本 😀.txt";
    let h = OftHeader::prompt(Cookie::ZERO, FileName::utf16(name), 1, 0, 1, 1, 1);
    let bytes = h.emit();
    assert_eq!(u16::from_be_bytes([bytes[188], bytes[189]]), 2);
    let units = name.encode_utf16().count();
    assert_eq!(&bytes[192 + 2 * units..192 + 2 * units + 2], &[0, 0]);
    let (back, _) = parse_oft_header(&bytes).unwrap();
    assert_eq!(back.name.display(), name);
}

#[test]
fn utf16_cut_is_at_an_aligned_zero_unit_only() {
    // 'A' = 00 41, U+0100 = 01 00: the 00 00 at byte offset 3 is not aligned.
    let field = [0x00, 0x41, 0x01, 0x00, 0x00, 0x42, 0x00, 0x00, 0x99, 0x99];
    let n = FileName::from_field(NameEncoding::Utf16Be, &field);
    assert_eq!(n.decoded(), "A\u{100}B");
}

#[test]
fn utf16_unpaired_surrogate_becomes_replacement_char() {
    let n = FileName {
        encoding: NameEncoding::Utf16Be,
        raw: vec![0xD8, 0x00, 0x00, 0x41, 0x00],
    };
    assert_eq!(n.decoded(), "\u{FFFD}A\u{FFFD}");
}

#[test]
fn latin1_and_bad_utf8_names_decode() {
    let n = FileName::latin1("café").unwrap();
    assert_eq!(n.raw, b"caf\xe9");
    assert_eq!(n.display(), "café");
    assert!(FileName::latin1("日本").is_none());
    let n = FileName {
        encoding: NameEncoding::Ascii,
        raw: b"caf\xe9".to_vec(),
    };
    assert_eq!(n.display(), "caf\u{FFFD}");
}

#[test]
fn folder_separators_show_as_slashes_and_split_into_components() {
    let n = FileName::from_components(&["trip", "day1", "img01.jpg"]);
    assert_eq!(n.raw, b"trip\x01day1\x01img01.jpg");
    assert_eq!(n.display(), "trip/day1/img01.jpg");
    assert_eq!(n.components(), vec!["trip", "day1", "img01.jpg"]);
    let n = FileName {
        encoding: NameEncoding::Ascii,
        raw: b"a\nb".to_vec(),
    };
    assert_eq!(n.display(), "a\u{FFFD}b");
}

#[test]
fn every_prefix_of_a_header_is_incomplete_with_the_right_count() {
    let bytes = spec_prompt_bytes();
    for cut in 0..bytes.len() {
        let want = if cut < 6 { 6 - cut } else { 256 - cut };
        assert_eq!(
            parse_oft_header(&bytes[..cut]),
            Err(ParseError::Incomplete { needed: want }),
            "cut at {cut}"
        );
    }
}

#[test]
fn bad_magic_and_lengths_are_invalid_without_waiting() {
    assert!(matches!(
        parse_oft_header(b"OFX"),
        Err(ParseError::Invalid(_))
    ));
    assert!(matches!(
        parse_oft_header(b"ODC2\x00\x4c"),
        Err(ParseError::Invalid(_))
    ));
    assert!(matches!(
        parse_oft_header(b"OFT2\x00\xbf"),
        Err(ParseError::Invalid(_))
    ));
    assert!(matches!(
        parse_oft_header(b"OFT2\x08\x01"),
        Err(ParseError::Invalid(_))
    ));
}

#[test]
fn probe_follows_appendix_a() {
    let bytes = spec_prompt_bytes();
    assert_eq!(probe_oft(&bytes), Probe::Match);
    assert_eq!(probe_oft(&bytes[..8]), Probe::Match);
    assert_eq!(probe_oft(&bytes[..7]), Probe::NeedMore);
    assert_eq!(probe_oft(b""), Probe::NeedMore);
    assert_eq!(probe_oft(b"OF"), Probe::NeedMore);
    assert_eq!(probe_oft(b"OFT2\x01\x00\x03\x03"), Probe::NoMatch);
    assert_eq!(probe_oft(b"OFT2\x00\x10\x01\x01"), Probe::NoMatch);
    assert_eq!(probe_oft(b"GET / HTTP/1.1"), Probe::NoMatch);
    for t in [
        0x0101u16, 0x0106, 0x0202, 0x0204, 0x0205, 0x0207, 0x1108, 0x1209, 0x120A, 0x120B, 0x120C,
        0x120E,
    ] {
        let mut b = b"OFT2\x01\x00".to_vec();
        b.extend_from_slice(&t.to_be_bytes());
        assert_eq!(probe_oft(&b), Probe::Match, "type {t:#06x}");
        assert_eq!(OftType::from_u16(t).code(), t);
    }
}

fn arb_name() -> impl Strategy<Value = FileName> {
    prop_oneof![
        "\\PC{0,200}".prop_map(|s| FileName::utf8(&s)),
        "\\PC{0,200}".prop_map(|s| FileName::utf16(&s)),
        "[\u{1}-\u{ff}]{0,200}".prop_map(|s| FileName::latin1(&s).unwrap()),
    ]
}

prop_compose! {
    fn arb_header()(
        kind in any::<u16>(),
        cookie in any::<[u8; 8]>(),
        small in any::<[u16; 6]>(),
        big in any::<[u32; 10]>(),
        id_string in any::<[u8; 32]>(),
        fl in any::<[u8; 3]>(),
        dummy in proptest::collection::vec(any::<u8>(), 69),
        mac_file_info in any::<[u8; 16]>(),
        name_language in any::<u16>(),
        name in arb_name(),
        extra_len in 0u16..400,
    ) -> OftHeader {
        let mut h = OftHeader {
            length: 0,
            kind: OftType::from_u16(kind),
            cookie: Cookie(cookie),
            encrypt: small[0], compress: small[1], total_files: small[2],
            files_left: small[3], total_parts: small[4], parts_left: small[5],
            total_size: big[0], size: big[1], mod_time: big[2], checksum: big[3],
            rf_recv_checksum: big[4], rf_size: big[5], create_time: big[6],
            rf_checksum: big[7], bytes_received: big[8], recv_checksum: big[9],
            id_string,
            flags: fl[0], list_name_offset: fl[1], list_size_offset: fl[2],
            dummy: dummy.try_into().unwrap(),
            mac_file_info,
            name_language,
            name,
        };
        h.length = (h.required_len() + extra_len).min(MAX_LEN).max(h.required_len());
        h
    }
}

proptest! {
    #[test]
    fn emit_then_parse_gives_the_same_header(h in arb_header()) {
        let bytes = h.emit();
        prop_assert_eq!(bytes.len(), usize::from(h.length));
        let (back, used) = parse_oft_header(&bytes).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(back, h);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_oft_header(&bytes);
        let _ = probe_oft(&bytes);
    }

    #[test]
    fn parse_never_panics_after_a_valid_start(tail in proptest::collection::vec(any::<u8>(), 0..2100), len in 0u16..3000) {
        let mut bytes = b"OFT2".to_vec();
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&tail);
        match parse_oft_header(&bytes) {
            Ok((h, used)) => {
                prop_assert_eq!(used, usize::from(len));
                let _ = h.name.display();
                let _ = h.name.components();
            }
            Err(ParseError::Incomplete { needed }) => prop_assert!(needed <= 2048),
            Err(ParseError::Invalid(_)) => {}
        }
    }
}

// PROMPT and DONE of the real 2005 capture gaim_sendfile.dmp (origin in tests/data/NOTICE).
const GAIM_PROMPT: &str = include_str!("../../../tests/data/gaim-sendfile-2005-prompt.hex");
const GAIM_DONE: &str = include_str!("../../../tests/data/gaim-sendfile-2005-done.hex");

#[test]
fn real_gaim_2005_prompt_and_done() {
    let prompt = hex(GAIM_PROMPT);
    let (p, used) = parse_oft_header(&prompt).unwrap();
    assert_eq!(used, 256);
    assert_eq!(p.kind, OftType::Prompt);
    assert!(p.cookie.is_zero());
    assert_eq!(p.id_str(), "OFT_Windows ICBMFT V1.1 32");
    assert_eq!(
        (p.flags, p.list_name_offset, p.list_size_offset, p.mod_time),
        (0, 0, 0, 0)
    );
    assert_eq!((p.size, p.total_size, p.checksum), (44, 44, 0xEFCB_0000));
    assert_eq!(p.name.display(), "howdoisentfile.txt");
    assert_eq!(p.emit(), prompt);

    let done = hex(GAIM_DONE);
    let (d, _) = parse_oft_header(&done).unwrap();
    assert_eq!(d.kind, OftType::Done);
    assert_eq!(d.cookie, Cookie(*b"1046502\0"));
    assert_eq!((d.bytes_received, d.recv_checksum), (44, 0xEFCB_0000));
    assert_eq!(d.emit(), done);
}
