//! The FLAP pieces the peers need beyond what [`oftsniff::proto`] emits: the sign-on frame of the
//! stand-in BOS server, and owned FLAP frames for reading from a socket.
//!
//! Sign-on (a convention of `oftpeer bos`, shaped like OSCAR's): on connect the server sends a
//! FLAP channel-1 frame holding the u32 version 1; the client answers with a channel-1 frame
//! holding the u32 version 1 and TLV 0x0001 = its screen name. Nothing else is exchanged
//! before channel-2 SNACs flow. (The TLV writer of `proto` is private to it, so this module
//! has its own two-line one.)

use oftsniff::proto::flap::{channel, FlapFrame};
use oftsniff::proto::{parse_flap, ParseError};

/// FLAP version in channel-1 frames.
pub const FLAP_VERSION: u32 = 1;
/// TLV carrying the screen name in the sign-on frame.
pub const TLV_SCREEN_NAME: u16 = 0x0001;

/// A FLAP frame with its data owned, as read from a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedFlap {
    pub channel: u8,
    pub seq: u16,
    pub data: Vec<u8>,
}

/// [`parse_flap`] for a [`super::net::FrameReader`].
pub fn parse_owned_flap(buf: &[u8]) -> Result<(OwnedFlap, usize), ParseError> {
    parse_flap(buf).map(|(f, used)| {
        (
            OwnedFlap {
                channel: f.channel,
                seq: f.seq,
                data: f.data.to_vec(),
            },
            used,
        )
    })
}

/// The server's greeting: channel 1, version only.
pub fn hello(seq: u16) -> Vec<u8> {
    FlapFrame {
        channel: channel::NEW_CONNECTION,
        seq,
        data: &FLAP_VERSION.to_be_bytes(),
    }
    .emit()
}

/// The client's sign-on: channel 1, version, TLV 0x0001 = screen name.
pub fn sign_on(seq: u16, screen_name: &str) -> Vec<u8> {
    let sn = &screen_name.as_bytes()[..screen_name.len().min(255)];
    let mut data = FLAP_VERSION.to_be_bytes().to_vec();
    data.extend_from_slice(&TLV_SCREEN_NAME.to_be_bytes());
    data.extend_from_slice(&(sn.len() as u16).to_be_bytes());
    data.extend_from_slice(sn);
    FlapFrame {
        channel: channel::NEW_CONNECTION,
        seq,
        data: &data,
    }
    .emit()
}

/// The screen name of a sign-on frame's data, if it is one.
pub fn parse_sign_on(data: &[u8]) -> Option<String> {
    let rest = data.strip_prefix(&FLAP_VERSION.to_be_bytes()[..])?;
    let mut rest = rest;
    while rest.len() >= 4 {
        let typ = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + len)?;
        if typ == TLV_SCREEN_NAME && !value.is_empty() {
            return Some(String::from_utf8_lossy(value).into_owned());
        }
        rest = &rest[4 + len..];
    }
    None
}

/// Screen names compare without case and spaces, as on AIM.
pub fn normalize(sn: &str) -> String {
    sn.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests;
