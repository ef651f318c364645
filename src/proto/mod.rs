//! Protocol parsers (pure functions over bytes) and their emitters.
//!
//! Each wire format has a typed representation with a `parse` that never panics and never
//! allocates more than the bytes it was given, and an `emit` that the project's test peers
//! use; round-trip tests tie the two. Parsers are streaming: given too few bytes they return
//! [`ParseError::Incomplete`] with how many more bytes they need at least.
//!
//! | module | format | docs/PROTOCOL.md |
//! |---|---|---|
//! | [`cookie`] | rendezvous cookie, capability UUIDs | §1.4, §5.4 |
//! | [`oft`] | OFT2 header | §1 |
//! | [`checksum`] | OFT file checksum | §2 |
//! | [`proxy`] | ARS rendezvous-proxy frames | §4 |
//! | [`flap`] | FLAP frames and SNAC headers | §5.1 |
//! | [`rendezvous`] | channel-2 rendezvous ICBMs (SNAC 4/6, 4/7, 4/0B, 4/0C) | §5 |
//! | [`odc`] | ODC2 (Direct IM) header | §6 |
//! | [`im`] | channel-1 instant messages (SNAC 4/6, 4/7), `--messages` only | |

pub mod checksum;
pub mod cookie;
pub mod flap;
pub mod im;
pub mod odc;
pub mod oft;
pub mod proxy;
pub mod rendezvous;
pub(crate) mod tlv;

pub use checksum::{checksums_match, OftChecksum};
pub use cookie::{Capability, Cookie};
pub use flap::{parse_flap, parse_snac, probe_flap, resync, FlapFrame, SnacHeader};
pub use odc::{parse_odc_header, probe_odc, OdcHeader};
pub use oft::{parse_oft_header, probe_oft, FileName, NameEncoding, OftHeader, OftType};
pub use proxy::{
    parse_proxy_frame, probe_proxy_client, probe_proxy_server, ProxyBody, ProxyCommand, ProxyFrame,
};
pub use rendezvous::{
    parse_flap_icbm, parse_icbm, ClientError, HostAck, IcbmEvent, RendezvousMsg, RvKind,
    ServiceData,
};

use std::fmt;

/// Why a parser could not produce a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The bytes so far are a valid prefix; at least `needed` more bytes are required.
    Incomplete { needed: usize },
    /// The bytes cannot be this format (or break one of its rules).
    Invalid(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Incomplete { needed } => {
                write!(f, "incomplete: {needed} more bytes needed")
            }
            ParseError::Invalid(why) => write!(f, "invalid: {why}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Result of a cheap look at the first bytes of a stream direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The bytes are this format's start.
    Match,
    /// Every byte so far fits, but too few bytes are present to decide.
    NeedMore,
    /// The bytes cannot start this format.
    NoMatch,
}

/// `Incomplete` unless `buf` holds at least `len` bytes.
pub(crate) fn need(buf: &[u8], len: usize) -> Result<(), ParseError> {
    if buf.len() < len {
        Err(ParseError::Incomplete {
            needed: len - buf.len(),
        })
    } else {
        Ok(())
    }
}

/// Probe helper: does the present part of `buf` agree with `prefix`?
/// `Match` when all of `prefix` is present and equal, `NeedMore` when `buf` is a shorter
/// prefix of it.
pub(crate) fn probe_prefix(buf: &[u8], prefix: &[u8]) -> Probe {
    let n = buf.len().min(prefix.len());
    if buf[..n] != prefix[..n] {
        Probe::NoMatch
    } else if n < prefix.len() {
        Probe::NeedMore
    } else {
        Probe::Match
    }
}

pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Bytes as printable text for names: invalid UTF-8 becomes U+FFFD.
pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `bytes` up to (not including) the first NUL.
pub(crate) fn until_nul(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(i) => &bytes[..i],
        None => bytes,
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    /// Bytes from a hexdump-like string: hex digit pairs, whitespace ignored.
    pub fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| b.is_ascii_hexdigit())
            .map(|b| (b as char).to_digit(16).unwrap() as u8)
            .collect();
        assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }
}
