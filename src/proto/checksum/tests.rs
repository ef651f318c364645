use super::*;
use proptest::prelude::*;

/// The clients' byte loop as docs/PROTOCOL.md §2.2 describes it, with the
/// state carried across chunks and parity from the absolute offset.
fn reference(state: u32, offset: u64, bytes: &[u8]) -> u32 {
    let mut acc = state >> 16;
    for (i, &b) in bytes.iter().enumerate() {
        let w = if (offset + i as u64).is_multiple_of(2) {
            u32::from(b) << 8
        } else {
            u32::from(b)
        };
        if w > acc {
            acc = acc.wrapping_sub(w).wrapping_sub(1);
        } else {
            acc -= w;
        }
    }
    acc = (acc & 0xFFFF) + (acc >> 16);
    acc = (acc & 0xFFFF) + (acc >> 16);
    acc << 16
}

/// The example file of §8: byte[n] = (31n + 7) & 0xFF.
fn spec_file(len: usize) -> Vec<u8> {
    (0..len).map(|n| (31 * n + 7) as u8).collect()
}

#[test]
fn spec_vectors_of_section_2_4() {
    assert_eq!(OftChecksum::of(b""), 0xFFFF_0000);
    assert_eq!(OftChecksum::of(b"hello"), 0xBC2D_0000);
    assert_eq!(OftChecksum::of(&[0xAB; 1000]), 0xB4B4_0000);
    assert!(checksums_match(OftChecksum::of(b"\xff\xff"), 0x0000_0000));
    assert!(checksums_match(OftChecksum::of(b"\xff\xff"), 0xFFFF_0000));
    assert_eq!(OftChecksum::of(&spec_file(123_456)), 0xE817_0000);
    assert_eq!(OftChecksum::new().value(), EMPTY);
}

#[test]
fn gaim_2005_capture_payload() {
    // The 44 data bytes of the OFT transfer in gaim_sendfile.dmp (oferfrid/OscarLib,
    // docs/packetcaptures, 3e7ff6e; LGPL-2.1; shared/captures/gaim-sendfile-2005.pcap).
    // Sender and receiver both put 0xEFCB0000 on the wire (docs/PROTOCOL.md §2.4, §8.9).
    let data = crate::proto::testutil::hex(GAIM_PAYLOAD_HEX);
    assert_eq!(data.len(), 44);
    assert_eq!(OftChecksum::of(&data), 0xEFCB_0000);
}

const GAIM_PAYLOAD_HEX: &str = include_str!("../../../tests/data/gaim-sendfile-2005-payload.hex");

#[test]
fn chunk_starting_at_odd_offset_uses_file_parity() {
    let data = spec_file(1001);
    let mut c = OftChecksum::new();
    c.update(&data[..1]);
    c.update(&data[1..4]);
    c.update(&data[4..]);
    assert_eq!(c.value(), OftChecksum::of(&data));
    assert_eq!(c.offset(), 1001);
}

#[test]
fn resume_from_prefix_checksum_gives_the_whole_file_value() {
    let data = spec_file(123_456);
    for cut in [0usize, 1, 2, 4095, 4096, 99_999] {
        let prefix = OftChecksum::of(&data[..cut]);
        let mut c = OftChecksum::resume_from(cut as u64, prefix);
        c.update(&data[cut..]);
        assert!(checksums_match(c.value(), 0xE817_0000), "cut {cut}");
    }
}

#[test]
fn update_at_refuses_out_of_order_bytes() {
    let mut c = OftChecksum::starting_at(10);
    assert!(!c.update_at(0, b"ab"));
    assert!(c.update_at(10, b"ab"));
    assert_eq!(c.offset(), 12);
}

#[test]
fn match_is_modulo_ffff() {
    assert!(checksums_match(0xFFFF_0000, 0x0000_0000));
    assert!(checksums_match(0x1234_0000, 0x1234_0000));
    assert!(!checksums_match(0x1234_0000, 0x1235_0000));
    // libpurple's DONE value of Appendix B is byte-swapped, not equal.
    assert!(!checksums_match(0x43FA_0000, 0xFA43_0000));
}

proptest! {
    #[test]
    fn any_chunking_matches_the_one_shot_and_the_byte_loop(
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        start in 0u64..4,
        cuts in proptest::collection::vec(0usize..3000, 0..12),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.push(0);
        cuts.push(data.len());
        cuts.sort_unstable();
        let mut fast = OftChecksum::starting_at(start);
        let mut slow = 0xFFFF_0000u32;
        for w in cuts.windows(2) {
            let chunk = &data[w[0]..w[1]];
            slow = reference(slow, start + w[0] as u64, chunk);
            fast.update(chunk);
        }
        let mut one = OftChecksum::starting_at(start);
        one.update(&data);
        prop_assert!(checksums_match(fast.value(), slow));
        prop_assert!(checksums_match(fast.value(), reference(0xFFFF_0000, start, &data)));
        prop_assert_eq!(fast.value(), one.value());
        prop_assert_eq!(fast.value() & 0xFFFF, 0);
        prop_assert_eq!(fast.offset(), start + data.len() as u64);
    }

    #[test]
    fn equals_the_byte_loop_exactly_away_from_zero(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let slow = reference(0xFFFF_0000, 0, &data);
        // Outside the ±0 ambiguity the representation is unique.
        if !(slow >> 16).is_multiple_of(0xFFFF) {
            prop_assert_eq!(OftChecksum::of(&data), slow);
        }
    }
}

#[test]
fn words_of_0xffff_across_several_blocks_match_the_byte_loop() {
    // The worst case for the lane sums (every word at its maximum), over more than two
    // fold blocks and an odd tail, at both parities.
    let mut data = vec![0xFFu8; 2 * BLOCK + 3 * LANES + 5];
    data[7] = 0x12;
    for start in [0u64, 1] {
        let mut c = OftChecksum::starting_at(start);
        c.update(&data);
        assert!(checksums_match(
            c.value(),
            reference(0xFFFF_0000, start, &data)
        ));
    }
    let mixed = spec_file(3 * BLOCK + 17);
    assert_eq!(OftChecksum::of(&mixed), reference(0xFFFF_0000, 0, &mixed));
}
