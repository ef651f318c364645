//! Channel-1 instant messages on the OSCAR connection (SNAC 4/6 client → server, 4/7 server
//! → client). After the ICBM header (cookie, channel 1, screen name; in a 4/7 also the
//! sender's warning level and user-info TLVs) comes TLV 0x0002, the message block: a list
//! of fragments (u8 id, u8 version, u16 length, data). Fragment 5/1 lists the sender's
//! capabilities; each fragment 1/1 holds text as u16 charset, u16 charset subset, bytes.
//! Only read with `--messages`: the content is personal data.

use super::flap::parse_snac;
use super::rendezvous::{icbm_head, FAMILY_ICBM, SUBTYPE_TO_CLIENT, SUBTYPE_TO_HOST};
use super::tlv::{put_tlv, take_tlv, tlvs};
use super::{be16, Cookie, ParseError};

mod html;

pub use html::strip_html;

/// ICBM channel of plain instant messages.
pub const CHANNEL_IM: u16 = 0x0001;
/// Message TLVs of a channel-1 ICBM.
const TLV_MESSAGE: u16 = 0x0002;
const TLV_AUTO_RESPONSE: u16 = 0x0004;
/// Fragment ids (with version 1) inside TLV 0x0002.
const FRAG_CAPS: u8 = 0x05;
const FRAG_TEXT: u8 = 0x01;
/// The capability list Gaim-era clients send: "text".
const DEFAULT_CAPS: [u8; 1] = [0x01];

/// How a text fragment is encoded (its u16 charset field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImCharset {
    /// 0x0000: US-ASCII by the book; read as UTF-8, which real clients put there too.
    Ascii,
    /// 0x0002: UCS-2 / UTF-16BE.
    Unicode,
    /// 0x0003: ISO-8859-1.
    Latin1,
    Other(u16),
}

impl ImCharset {
    pub fn from_u16(v: u16) -> ImCharset {
        match v {
            0 => ImCharset::Ascii,
            2 => ImCharset::Unicode,
            3 => ImCharset::Latin1,
            v => ImCharset::Other(v),
        }
    }

    pub fn code(self) -> u16 {
        match self {
            ImCharset::Ascii => 0,
            ImCharset::Unicode => 2,
            ImCharset::Latin1 => 3,
            ImCharset::Other(v) => v,
        }
    }

    /// The bytes as text; an unknown charset is read as UTF-8, lossily.
    pub fn decode(self, b: &[u8]) -> String {
        match self {
            ImCharset::Unicode => {
                let units = b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect()
            }
            ImCharset::Latin1 => b.iter().map(|&c| char::from(c)).collect(),
            ImCharset::Ascii | ImCharset::Other(_) => String::from_utf8_lossy(b).into_owned(),
        }
    }
}

/// One text fragment of a message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImText {
    pub charset: ImCharset,
    pub subset: u16,
    pub bytes: Vec<u8>,
}

/// A channel-1 instant message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstantMessage {
    /// (4, 6): the OSCAR client sent it; (4, 7): the server delivered it to the client.
    pub snac: (u16, u16),
    pub cookie: Cookie,
    /// The other party named in the SNAC: the recipient in 4/6, the sender in 4/7.
    pub screen_name: String,
    /// Fragment 5/1: the sender's capability bytes.
    pub caps: Vec<u8>,
    pub texts: Vec<ImText>,
    /// TLV 0x0004: an away message sent automatically.
    pub auto_response: bool,
}

impl InstantMessage {
    /// An IM from the OSCAR client to `to` (SNAC 4/6), one fragment in `charset`.
    pub fn outgoing(cookie: Cookie, to: &str, text: &str, charset: ImCharset) -> Self {
        InstantMessage {
            snac: (FAMILY_ICBM, SUBTYPE_TO_HOST),
            cookie,
            screen_name: to.to_owned(),
            caps: DEFAULT_CAPS.to_vec(),
            texts: vec![ImText {
                charset,
                subset: 0,
                bytes: encode(text, charset),
            }],
            auto_response: false,
        }
    }

    /// The same IM as the server delivers it from `from` (SNAC 4/7).
    pub fn incoming(self, from: &str) -> Self {
        InstantMessage {
            snac: (FAMILY_ICBM, SUBTYPE_TO_CLIENT),
            screen_name: from.to_owned(),
            ..self
        }
    }

    /// The message as sent, its fragments decoded and joined (markup included).
    pub fn raw_text(&self) -> String {
        self.texts
            .iter()
            .map(|t| t.charset.decode(&t.bytes))
            .collect()
    }

    /// SNAC header and body.
    pub fn emit_snac(&self, request_id: u32) -> Vec<u8> {
        let mut out = icbm_head(
            self.snac,
            request_id,
            &self.cookie,
            CHANNEL_IM,
            &self.screen_name,
        );
        if self.snac.1 == SUBTYPE_TO_CLIENT {
            // Warning level 0, no user-info TLVs.
            out.extend_from_slice(&[0, 0, 0, 0]);
        }
        let mut block = Vec::new();
        fragment(&mut block, FRAG_CAPS, &self.caps);
        for t in &self.texts {
            let mut v = t.charset.code().to_be_bytes().to_vec();
            v.extend_from_slice(&t.subset.to_be_bytes());
            v.extend_from_slice(&t.bytes);
            fragment(&mut block, FRAG_TEXT, &v);
        }
        put_tlv(&mut out, TLV_MESSAGE, &block);
        if self.auto_response {
            put_tlv(&mut out, TLV_AUTO_RESPONSE, &[]);
        }
        out
    }
}

fn encode(text: &str, charset: ImCharset) -> Vec<u8> {
    match charset {
        ImCharset::Unicode => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        ImCharset::Latin1 => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect(),
        _ => text.as_bytes().to_vec(),
    }
}

fn fragment(out: &mut Vec<u8>, id: u8, data: &[u8]) {
    let data = &data[..data.len().min(usize::from(u16::MAX))];
    out.extend_from_slice(&[id, 1]);
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

const TRUNCATED: ParseError = ParseError::Invalid("IM ICBM truncated");

fn take(b: &mut &[u8], n: usize) -> Result<Vec<u8>, ParseError> {
    if b.len() < n {
        return Err(TRUNCATED);
    }
    let (a, rest) = b.split_at(n);
    *b = rest;
    Ok(a.to_vec())
}

fn take16(b: &mut &[u8]) -> Result<u16, ParseError> {
    take(b, 2).map(|v| be16(&v, 0))
}

/// Parse the data of a FLAP channel-2 frame as a channel-1 IM. `Ok(None)` for every other
/// SNAC, and for an IM without a message block.
pub fn parse_im(data: &[u8]) -> Result<Option<InstantMessage>, ParseError> {
    let (snac, body) = parse_snac(data)?;
    if snac.family != FAMILY_ICBM || !matches!(snac.subtype, SUBTYPE_TO_HOST | SUBTYPE_TO_CLIENT) {
        return Ok(None);
    }
    let mut b = body;
    let cookie = Cookie::from_slice(&take(&mut b, 8)?).ok_or(TRUNCATED)?;
    if take16(&mut b)? != CHANNEL_IM {
        return Ok(None);
    }
    let n = usize::from(take(&mut b, 1)?[0]);
    let screen_name = String::from_utf8_lossy(&take(&mut b, n)?).into_owned();
    if snac.subtype == SUBTYPE_TO_CLIENT {
        take16(&mut b)?; // warning level
        for _ in 0..take16(&mut b)? {
            b = take_tlv(b)?.1;
        }
    }
    let mut msg = InstantMessage {
        snac: (snac.family, snac.subtype),
        cookie,
        screen_name,
        caps: Vec::new(),
        texts: Vec::new(),
        auto_response: false,
    };
    let mut block = None;
    for t in tlvs(b) {
        let t = t?;
        match t.typ {
            TLV_MESSAGE if block.is_none() => block = Some(t.value),
            TLV_AUTO_RESPONSE => msg.auto_response = true,
            _ => {}
        }
    }
    let Some(mut block) = block else {
        return Ok(None);
    };
    while !block.is_empty() {
        let head = take(&mut block, 4)?;
        let data = take(&mut block, usize::from(be16(&head, 2)))?;
        match head[0] {
            FRAG_CAPS => msg.caps = data,
            FRAG_TEXT if data.len() >= 4 => msg.texts.push(ImText {
                charset: ImCharset::from_u16(be16(&data, 0)),
                subset: be16(&data, 2),
                bytes: data[4..].to_vec(),
            }),
            FRAG_TEXT => return Err(ParseError::Invalid("IM text fragment shorter than 4 bytes")),
            _ => {}
        }
    }
    Ok(Some(msg))
}

#[cfg(test)]
mod tests;
