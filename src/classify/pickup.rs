//! Bytes of one direction seen before any framing was found in it: a connection picked
//! up in the middle of a file's data, or a direction that lost its framing. They are
//! counted and hashed as they pass (never kept), with the holes between them, so that a
//! DONE arriving later can place them: the sender's unframed bytes just before the DONE
//! are the end of the file it names.

use crate::capture::Timestamp;
use crate::proto::checksum::OftChecksum;
use sha2::{Digest, Sha256};

/// Bound on the holes remembered (the same bound as a file's `missing` list).
const MAX_HOLES: usize = 256;

#[derive(Clone)]
pub struct Unframed {
    bytes: u64,
    /// Stream length covered since the first byte or hole: bytes plus holes.
    span: u64,
    /// Holes as `[start, end)` offsets within the span.
    holes: Vec<[u64; 2]>,
    sha: Sha256,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    /// The OFT checksum of the span as if it started at an even and at an odd file
    /// offset: which one applies is known only once a DONE places the span.
    partial: [OftChecksum; 2],
}

impl Default for Unframed {
    fn default() -> Self {
        Unframed {
            bytes: 0,
            span: 0,
            holes: Vec::new(),
            sha: Sha256::new(),
            first: None,
            last: None,
            partial: [OftChecksum::starting_at(0), OftChecksum::starting_at(1)],
        }
    }
}

/// What unframed bytes say about the file they end.
#[derive(Debug, PartialEq, Eq)]
pub struct Placed {
    /// Bytes of the file seen.
    pub bytes: u64,
    /// Ranges of the file not seen.
    pub missing: Vec<[u64; 2]>,
    /// SHA-256 of the bytes seen, when exactly the file's bytes were hashed.
    pub sha256: Option<[u8; 32]>,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// The OFT checksum of the file with every byte not seen taken as zero (the seen
    /// bytes' share of the file's checksum), when the span lies within the file.
    pub checksum_partial: Option<u32>,
}

impl Unframed {
    pub fn data(&mut self, bytes: &[u8], ts: Timestamp) {
        if bytes.is_empty() {
            return;
        }
        self.sha.update(bytes);
        for c in &mut self.partial {
            c.update(bytes);
        }
        self.bytes += bytes.len() as u64;
        self.span += bytes.len() as u64;
        self.first.get_or_insert(ts);
        self.last = Some(ts);
    }

    /// Bytes seen (holes not counted).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn gap(&mut self, len: u64) {
        if self.holes.len() < MAX_HOLES {
            self.holes.push([self.span, self.span + len]);
        }
        self.span += len;
        for c in &mut self.partial {
            c.skip(len);
        }
    }

    /// Places these bytes as the last ones of a file of `size` bytes.
    pub fn place(self, size: u64) -> Placed {
        // More than the file: something else (an earlier file, a header cut across
        // segments) came first. Only the last `size` bytes are this file's.
        let cut = self.span.saturating_sub(size);
        let start = size.saturating_sub(self.span);
        let mut missing: Vec<[u64; 2]> = Vec::new();
        let mut add = |a: u64, b: u64| match missing.last_mut() {
            _ if a >= b => {}
            Some(m) if m[1] == a => m[1] = b,
            _ => missing.push([a, b]),
        };
        add(0, start);
        let mut hole_bytes = 0;
        for &[a, b] in &self.holes {
            let (a, b) = (a.max(cut), b.max(cut));
            hole_bytes += b - a;
            add(start + a - cut, start + b - cut);
        }
        let whole_span = cut == 0;
        let bytes = if whole_span {
            self.bytes
        } else {
            size - hole_bytes
        };
        Placed {
            bytes,
            missing,
            sha256: (whole_span && bytes > 0).then(|| self.sha.finalize().into()),
            first: self.first.filter(|_| whole_span),
            checksum_partial: (whole_span && bytes > 0)
                .then(|| self.partial[(start & 1) as usize].value()),
            last: self.last.filter(|_| bytes > 0),
        }
    }
}

#[cfg(test)]
mod tests;
