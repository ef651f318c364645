use super::*;
use proptest::prelude::*;

fn frame(channel: u8, seq: u16, data: &[u8]) -> Vec<u8> {
    FlapFrame { channel, seq, data }.emit()
}

#[test]
fn parses_a_keepalive_and_a_snac_frame() {
    let mut b = frame(5, 0x24, &[]);
    b.extend(frame(2, 0x25, &[0, 4, 0, 7, 0, 0, 0, 0, 0, 1, 0xAA]));
    let (f, used) = parse_flap(&b).unwrap();
    assert_eq!((f.channel, f.seq, f.data, used), (5, 0x24, &[][..], 6));
    let (f, used) = parse_flap(&b[6..]).unwrap();
    assert_eq!((f.channel, f.seq, used), (2, 0x25, 17));
    let (snac, body) = parse_snac(f.data).unwrap();
    assert_eq!(
        snac,
        SnacHeader {
            family: 4,
            subtype: 7,
            flags: 0,
            request_id: 1
        }
    );
    assert_eq!(body, &[0xAA]);
}

#[test]
fn short_input_is_incomplete_with_the_missing_count() {
    let b = frame(2, 1, &[0; 20]);
    assert_eq!(
        parse_flap(&b[..0]),
        Err(ParseError::Incomplete { needed: 6 })
    );
    assert_eq!(
        parse_flap(&b[..3]),
        Err(ParseError::Incomplete { needed: 3 })
    );
    assert_eq!(
        parse_flap(&b[..10]),
        Err(ParseError::Incomplete { needed: 16 })
    );
}

#[test]
fn wrong_start_or_channel_is_invalid_at_once() {
    assert!(matches!(parse_flap(b"G"), Err(ParseError::Invalid(_))));
    assert!(matches!(parse_flap(b"*\x00"), Err(ParseError::Invalid(_))));
    assert!(matches!(parse_flap(b"*\x06"), Err(ParseError::Invalid(_))));
}

#[test]
fn snac_version_block_is_skipped() {
    let data = [0, 4, 0, 7, 0x80, 0, 0, 0, 0, 9, 0, 2, 0xEE, 0xEE, 0xBB];
    let (h, body) = parse_snac(&data).unwrap();
    assert_eq!(h.flags, 0x8000);
    assert_eq!(body, &[0xBB]);
    assert!(parse_snac(&data[..12]).is_err());
    assert!(parse_snac(&data[..5]).is_err());
}

#[test]
fn probe_checks_channel_and_length() {
    assert_eq!(probe_flap(&frame(1, 0, &[0, 0, 0, 1])), Probe::Match);
    assert_eq!(probe_flap(b"*\x02"), Probe::NeedMore);
    assert_eq!(probe_flap(b""), Probe::NeedMore);
    assert_eq!(probe_flap(b"*\x07\x00\x00\x00\x00"), Probe::NoMatch);
    assert_eq!(probe_flap(b"*\x02\x00\x00\xff\xff"), Probe::NoMatch);
    assert_eq!(probe_flap(b"*\x02\x00\x00\x00\x02"), Probe::NoMatch);
    assert_eq!(probe_flap(b"GET /"), Probe::NoMatch);
}

#[test]
fn resync_finds_the_next_frame_after_garbage() {
    let snac = [0u8, 4, 0, 6, 0, 0, 0, 0, 0, 0];
    let mut b = b"xx*\x09garbage *\x02\x00\x01\x00\x0btailtail12".to_vec();
    let start = b.len();
    b.extend(frame(2, 7, &snac));
    b.extend(frame(2, 8, &snac));
    assert_eq!(resync(&b), Some(start));
    // A frame whose successor does not line up is skipped.
    let mut c = frame(2, 1, &snac);
    c.extend_from_slice(b"nonsense!!");
    let at = c.len();
    c.extend(frame(5, 2, &[]));
    assert_eq!(resync(&c), Some(at));
    assert_eq!(resync(b"no flap here"), None);
    assert_eq!(resync(b"*\x02"), None);
}

#[test]
fn resync_accepts_a_frame_that_runs_past_the_buffer() {
    let mut b = b"\x00\x01".to_vec();
    b.extend(&frame(2, 3, &[0; 40])[..20]);
    assert_eq!(resync(&b), Some(2));
}

proptest! {
    #[test]
    fn emit_then_parse_gives_the_same_frame(channel in 1u8..=5, seq in any::<u16>(), data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let f = FlapFrame { channel, seq, data: &data };
        let b = f.emit();
        prop_assert_eq!(parse_flap(&b), Ok((f, b.len())));
    }

    #[test]
    fn snac_header_round_trips(family in any::<u16>(), subtype in any::<u16>(), flags in 0u16..0x8000, request_id in any::<u32>(), body in proptest::collection::vec(any::<u8>(), 0..50)) {
        let h = SnacHeader { family, subtype, flags, request_id };
        let mut b = Vec::new();
        h.emit_into(&mut b);
        b.extend_from_slice(&body);
        prop_assert_eq!(parse_snac(&b), Ok((h, &body[..])));
    }

    #[test]
    fn nothing_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_flap(&bytes);
        let _ = parse_snac(&bytes);
        let _ = probe_flap(&bytes);
        if let Some(at) = resync(&bytes) {
            prop_assert!(probe_flap(&bytes[at..]) == Probe::Match);
        }
    }
}
