//! The OFT file checksum (docs/PROTOCOL.md §2), computed incrementally over data that arrives in
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

/// Bytes summed between folds; with `LANES` u32 lanes each lane adds at most
/// `BLOCK / (2 * LANES)` words of at most 0xFFFF, which stays below 2^32.
const BLOCK: usize = 1 << 20;
/// Independent 16-bit word sums: a fixed-width loop of plain adds the compiler turns into
/// SIMD (like the Internet checksum), where one u64 accumulator was a serial chain.
const LANES: usize = 16;

/// Sum of the big-endian 16-bit words of `block`'s whole `2 * LANES`-byte chunks (the
/// tail is left to the caller).
fn lane_sum(block: &[u8]) -> u64 {
    let mut lanes = [0u32; LANES];
    for chunk in block.chunks_exact(LANES * 2) {
        for (lane, w) in lanes.iter_mut().zip(chunk.chunks_exact(2)) {
            *lane += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
    }
    lanes.iter().map(|&l| u64::from(l)).sum()
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
        for block in bytes.chunks(BLOCK) {
            acc += lane_sum(block);
            let mut words = block.chunks_exact(LANES * 2).remainder().chunks_exact(8);
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

    /// Pass over `len` bytes that were not seen: the value goes on as if they were zeros
    /// (a zero word adds nothing to the sum), so later bytes keep their parity.
    pub fn skip(&mut self, len: u64) {
        self.offset += len;
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
mod tests;
