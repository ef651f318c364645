//! The OFT file checksum (OFT-WIRE.md §2), computed incrementally over data that arrives in
//! chunks of any size.
//!
//! The clients run a byte-by-byte subtract-with-borrow loop; its upper 16 bits are the
//! RFC 1071 Internet checksum of the file read as big-endian 16-bit words (§2.2). This
//! module keeps the ones'-complement sum instead, which is associative, so chunks can be
//! summed a u64 at a time and in any split. The byte at an even *file* offset is a high
//! byte, so every chunk's parity comes from its absolute offset. Results agree with the
//! client loop modulo 0xFFFF; compare with [`checksums_match`] (§2.3).

use super::oft::CHECKSUM_EMPTY;

/// Running OFT checksum of a file's bytes from some offset on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OftChecksum {
    /// Ones'-complement sum of the words so far, folded to at most 0xFFFF. 0 only when
    /// every word was 0 (the "+0" that gives 0xFFFF0000, like the client loop).
    sum: u32,
    /// Absolute file offset of the next byte.
    offset: u64,
}

impl Default for OftChecksum {
    fn default() -> Self {
        OftChecksum::new()
    }
}

/// Fold a ones'-complement accumulator to 16 bits, keeping a non-zero sum non-zero.
fn fold(mut x: u64) -> u32 {
    while x > 0xFFFF {
        x = (x & 0xFFFF) + (x >> 16);
    }
    x as u32
}

impl OftChecksum {
    /// Checksum of a file from its first byte.
    pub fn new() -> OftChecksum {
        OftChecksum { sum: 0, offset: 0 }
    }

    /// Checksum of bytes that start at file offset `offset`, with nothing known before it.
    /// The value then covers only the bytes given, with the right parity.
    pub fn starting_at(offset: u64) -> OftChecksum {
        OftChecksum { sum: 0, offset }
    }

    /// Continue a file after a resume: the first `offset` bytes have checksum
    /// `prefix_checksum` (the RESUME's `recvcsum`, which the sender accepted), so the value
    /// covers the whole file once the rest has been fed.
    pub fn resume_from(offset: u64, prefix_checksum: u32) -> OftChecksum {
        OftChecksum {
            sum: !(prefix_checksum >> 16) & 0xFFFF,
            offset,
        }
    }

    /// Absolute file offset of the next byte `update` expects.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Add the next bytes of the file.
    pub fn update(&mut self, mut bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut acc = u64::from(self.sum);
        if self.offset & 1 == 1 {
            acc += u64::from(bytes[0]);
            bytes = &bytes[1..];
        }
        // Now at an even offset: 2^16 ≡ 1 (mod 0xFFFF), so a big-endian u64 contributes its
        // two u32 halves, and those halves sum like their u16 words. Folding once per block
        // keeps the u64 accumulator far from overflow.
        for block in bytes.chunks(1 << 16) {
            let mut words = block.chunks_exact(8);
            for w in &mut words {
                let v = u64::from_be_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
                acc += (v >> 32) + (v & 0xFFFF_FFFF);
            }
            let mut rest = words.remainder().chunks_exact(2);
            for w in &mut rest {
                acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
            }
            if let [last] = rest.remainder() {
                // Only the final block can end at an odd length: a high byte alone.
                acc += u64::from(*last) << 8;
            }
            acc = u64::from(fold(acc));
        }
        self.sum = fold(acc);
        self.offset += (bytes.len() as u64) + (self.offset & 1);
    }

    /// Feed `bytes` that sit at absolute file offset `offset`; bytes must arrive in order,
    /// so `offset` must be the current one. Returns false (and ignores the bytes) otherwise.
    pub fn update_at(&mut self, offset: u64, bytes: &[u8]) -> bool {
        if offset != self.offset {
            return false;
        }
        self.update(bytes);
        true
    }

    /// The checksum as the 32-bit header field: 16-bit value in the upper half.
    pub fn value(&self) -> u32 {
        (!self.sum & 0xFFFF) << 16
    }

    /// Checksum of a whole file in one call.
    pub fn of(bytes: &[u8]) -> u32 {
        let mut c = OftChecksum::new();
        c.update(bytes);
        c.value()
    }
}

/// Whether two checksum fields name the same checksum: upper halves equal modulo 0xFFFF,
/// so the two ones'-complement zeros 0x0000 and 0xFFFF match (§2.3).
pub fn checksums_match(a: u32, b: u32) -> bool {
    (a >> 16) % 0xFFFF == (b >> 16) % 0xFFFF
}

/// The value of an empty file.
pub const EMPTY: u32 = CHECKSUM_EMPTY;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The clients' byte loop, written from the pseudocode of OFT-WIRE.md §2.2, with the
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
        // Sender and receiver both put 0xEFCB0000 on the wire (OFT-WIRE.md §2.4, §8.9).
        let data = crate::proto::testutil::hex(GAIM_PAYLOAD_HEX);
        assert_eq!(data.len(), 44);
        assert_eq!(OftChecksum::of(&data), 0xEFCB_0000);
    }

    const GAIM_PAYLOAD_HEX: &str = include_str!("../../tests/data/gaim-sendfile-2005-payload.hex");

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
}
