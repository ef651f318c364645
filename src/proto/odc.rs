//! The ODC2 (Direct IM) frame header (docs/PROTOCOL.md §6): recognized so that Direct IM
//! sessions are labelled as such and their payloads skipped, never taken for files.

use super::{be16, be32, need, probe_prefix, Cookie, ParseError, Probe};

pub const MAGIC: [u8; 4] = *b"ODC2";
/// Header length every known client writes (magic and length included).
pub const HEADER_LEN: u16 = 0x004C;
/// Longest header length the parser accepts; longer ones would only be guesses.
pub const MAX_HEADER_LEN: u16 = 0x0400;
/// The start of every known ODC2 header: magic, length 0x004C, type 1, subtype 6
/// (Appendix A rule 3).
const SIGNATURE: [u8; 10] = *b"ODC2\x00\x4c\x00\x01\x00\x06";

/// The fixed fields of an ODC2 header. The always-zero fields are not kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OdcHeader {
    /// Offset 4: the header's length, normally 76.
    pub length: u16,
    /// Offset 6: 1.
    pub kind: u16,
    /// Offset 8: 6.
    pub subtype: u16,
    /// Offset 12: the rendezvous cookie.
    pub cookie: Cookie,
    /// Offset 28: bytes that follow the header (message plus attachments).
    pub payload_len: u32,
    /// Offset 32: message charset (0 ASCII, 2 UCS-2BE, 3 Latin-1).
    pub encoding: u16,
    pub sub_encoding: u16,
    /// Offset 38: 0x0002 typing bits, 0x0060 on the initial cookie frame, …
    pub flags: u16,
    /// Offset 44: the sender's screen name (32 bytes, NUL-padded).
    pub screen_name: String,
}

impl OdcHeader {
    /// A message header as clients write it: length 76, type 1, subtype 6.
    pub fn message(cookie: Cookie, screen_name: &str, payload_len: u32, flags: u16) -> OdcHeader {
        OdcHeader {
            length: HEADER_LEN,
            kind: 1,
            subtype: 6,
            cookie,
            payload_len,
            encoding: 0,
            sub_encoding: 0,
            flags,
            screen_name: screen_name.to_owned(),
        }
    }

    /// Header plus payload: how far the next header is from this one's start.
    pub fn frame_len(&self) -> u64 {
        u64::from(self.length) + u64::from(self.payload_len)
    }

    /// The header as bytes; the screen name is cut to 32 bytes, zero fields written as 0,
    /// a `length` above 76 padded with zeros.
    pub fn emit(&self) -> Vec<u8> {
        let total = usize::from(self.length.max(HEADER_LEN));
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&(total as u16).to_be_bytes());
        out.extend_from_slice(&self.kind.to_be_bytes());
        out.extend_from_slice(&self.subtype.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.cookie.0);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&self.payload_len.to_be_bytes());
        out.extend_from_slice(&self.encoding.to_be_bytes());
        out.extend_from_slice(&self.sub_encoding.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.flags.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        let sn = &self.screen_name.as_bytes()[..self.screen_name.len().min(32)];
        out.extend_from_slice(sn);
        out.resize(total, 0);
        out
    }
}

/// Does this direction start with an ODC2 header (Appendix A rule 3)?
pub fn probe_odc(buf: &[u8]) -> Probe {
    probe_prefix(buf, &SIGNATURE)
}

/// Parse an ODC2 header from the start of `buf`; returns it and the header bytes used
/// (the payload, `payload_len` bytes, follows).
pub fn parse_odc_header(buf: &[u8]) -> Result<(OdcHeader, usize), ParseError> {
    if probe_prefix(buf, &MAGIC) == Probe::NoMatch {
        return Err(ParseError::Invalid("no ODC2 magic"));
    }
    need(buf, 6)?;
    let length = be16(buf, 4);
    if !(HEADER_LEN..=MAX_HEADER_LEN).contains(&length) {
        return Err(ParseError::Invalid("ODC2 header length outside 76..=1024"));
    }
    let len = usize::from(length);
    need(buf, len)?;
    Ok((
        OdcHeader {
            length,
            kind: be16(buf, 6),
            subtype: be16(buf, 8),
            cookie: Cookie::from_slice(&buf[12..]).expect("length checked"),
            payload_len: be32(buf, 28),
            encoding: be16(buf, 32),
            sub_encoding: be16(buf, 34),
            flags: be16(buf, 38),
            screen_name: super::lossy(super::until_nul(&buf[44..76])),
        },
        len,
    ))
}

#[cfg(test)]
mod tests;
