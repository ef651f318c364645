//! FLAP framing and SNAC headers of the OSCAR server connection (docs/PROTOCOL.md §5.1).
//! FLAP: u8 0x2A, u8 channel, u16 sequence, u16 data length, data. A SNAC (on channel 2):
//! u16 family, u16 subtype, u16 flags, u32 request id; with flag 0x8000 a u16-length block
//! of version TLVs comes before the body.

use super::{be16, be32, need, ParseError, Probe};

pub const START: u8 = 0x2A;
pub const HEADER_LEN: usize = 6;
pub const SNAC_HEADER_LEN: usize = 10;
/// Longest FLAP data length the probe and `resync` believe. Parsing accepts any u16; this
/// only keeps guesses at stream starts and after gaps from trusting noise. Real servers
/// keep frames far below it (the longest in the 2015 ICQ capture is 1,651 bytes).
pub const MAX_PLAUSIBLE_LEN: u16 = 0x4000;
/// SNAC flag: a length-prefixed block of version TLVs precedes the body.
pub const SNAC_FLAG_VERSION_TLVS: u16 = 0x8000;

/// FLAP channels (1 new connection, 2 SNAC data, 3 error, 4 close, 5 keep-alive).
pub mod channel {
    pub const NEW_CONNECTION: u8 = 1;
    pub const SNAC: u8 = 2;
    pub const ERROR: u8 = 3;
    pub const CLOSE: u8 = 4;
    pub const KEEP_ALIVE: u8 = 5;
}

/// One FLAP frame, borrowing its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlapFrame<'a> {
    pub channel: u8,
    pub seq: u16,
    pub data: &'a [u8],
}

impl FlapFrame<'_> {
    /// Append the frame's bytes to `out`. Data longer than a u16 length can say is cut.
    pub fn emit_into(&self, out: &mut Vec<u8>) {
        let data = &self.data[..self.data.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&[START, self.channel]);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
    }

    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.data.len());
        self.emit_into(&mut out);
        out
    }
}

fn valid_channel(c: u8) -> bool {
    (1..=5).contains(&c)
}

/// Parse one FLAP frame from the start of `buf`; returns it and the bytes it used.
pub fn parse_flap(buf: &[u8]) -> Result<(FlapFrame<'_>, usize), ParseError> {
    if buf.first().is_some_and(|&b| b != START) {
        return Err(ParseError::Invalid("FLAP frame does not start with 0x2A"));
    }
    if buf.get(1).is_some_and(|&c| !valid_channel(c)) {
        return Err(ParseError::Invalid("FLAP channel outside 1..=5"));
    }
    need(buf, HEADER_LEN)?;
    let total = HEADER_LEN + usize::from(be16(buf, 4));
    need(buf, total)?;
    Ok((
        FlapFrame {
            channel: buf[1],
            seq: be16(buf, 2),
            data: &buf[HEADER_LEN..total],
        },
        total,
    ))
}

/// Whether a 6-byte FLAP header looks real: channel 1..=5, a plausible length, and room
/// for what the channel must carry (a SNAC header on 2, the version on 1).
fn plausible_header(h: &[u8]) -> bool {
    let len = be16(h, 4);
    h[0] == START
        && valid_channel(h[1])
        && len <= MAX_PLAUSIBLE_LEN
        && match h[1] {
            channel::SNAC => usize::from(len) >= SNAC_HEADER_LEN,
            channel::NEW_CONNECTION => len >= 4,
            _ => true,
        }
}

/// Does this direction start with FLAP (Appendix A rule 4, with a length check)?
pub fn probe_flap(buf: &[u8]) -> Probe {
    if buf.first().is_some_and(|&b| b != START) || buf.get(1).is_some_and(|&c| !valid_channel(c)) {
        return Probe::NoMatch;
    }
    if buf.len() < HEADER_LEN {
        return Probe::NeedMore;
    }
    if plausible_header(buf) {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// Offset of the next plausible FLAP frame start in `buf` (after a gap in the stream).
/// A candidate needs a plausible header; when the frame it announces ends inside `buf`,
/// the bytes after it must also begin like a FLAP header (as far as they are present).
/// A candidate whose frame runs past the end of `buf` is returned unconfirmed.
pub fn resync(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + HEADER_LEN <= buf.len() {
        let at = i + buf[i..].iter().position(|&b| b == START)?;
        if at + HEADER_LEN > buf.len() {
            return None;
        }
        if plausible_header(&buf[at..]) {
            let next = at + HEADER_LEN + usize::from(be16(buf, at + 4));
            let follows = match buf.get(next..) {
                None | Some([]) => true,
                Some(rest) if rest.len() < HEADER_LEN => {
                    rest[0] == START && rest.get(1).is_none_or(|&c| valid_channel(c))
                }
                Some(rest) => plausible_header(rest),
            };
            if follows {
                return Some(at);
            }
        }
        i = at + 1;
    }
    None
}

/// A SNAC header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SnacHeader {
    pub family: u16,
    pub subtype: u16,
    pub flags: u16,
    pub request_id: u32,
}

impl SnacHeader {
    /// Append the 10 header bytes. (A version-TLV block, if `flags` announces one, is the
    /// caller's to write.)
    pub fn emit_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.family.to_be_bytes());
        out.extend_from_slice(&self.subtype.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        out.extend_from_slice(&self.request_id.to_be_bytes());
    }
}

/// Split a FLAP channel-2 payload into its SNAC header and body, skipping the version-TLV
/// block when flag 0x8000 is set. The payload is a whole frame's data, so short input is
/// invalid rather than incomplete.
pub fn parse_snac(data: &[u8]) -> Result<(SnacHeader, &[u8]), ParseError> {
    if data.len() < SNAC_HEADER_LEN {
        return Err(ParseError::Invalid("FLAP data shorter than a SNAC header"));
    }
    let h = SnacHeader {
        family: be16(data, 0),
        subtype: be16(data, 2),
        flags: be16(data, 4),
        request_id: be32(data, 6),
    };
    let mut body = &data[SNAC_HEADER_LEN..];
    if h.flags & SNAC_FLAG_VERSION_TLVS != 0 {
        if body.len() < 2 {
            return Err(ParseError::Invalid("SNAC version block length missing"));
        }
        let skip = 2 + usize::from(be16(body, 0));
        body = body.get(skip..).ok_or(ParseError::Invalid(
            "SNAC version block runs past the frame",
        ))?;
    }
    Ok((h, body))
}

#[cfg(test)]
mod tests;
