//! Frames of the AOL rendezvous proxy, ARS (docs/PROTOCOL.md §4): a 12-byte header (length of
//! what follows, version 0x044A, command, 4 unknown bytes, flags) and a command payload.

use super::{be16, be32, need, Capability, Cookie, ParseError, Probe};
use std::net::Ipv4Addr;

/// Version field of every frame (§4.1).
pub const VERSION: u16 = 0x044A;
/// Header bytes, length field included.
pub const HEADER_LEN: usize = 12;
/// Flags the AOL proxy put in its frames, per joscar (§4.1, uncertain); clients send 0.
pub const SERVER_FLAGS: u16 = 0x0220;
/// Longest possible frame: INIT_RECV with a 255-byte screen name (43 + 255).
pub const MAX_FRAME_LEN: usize = 43 + 255;

/// Type and length of the capability TLV that ends INIT_SEND and INIT_RECV.
const CAP_TLV_TYPE: u16 = 0x0001;
const CAP_TLV: usize = 4 + 16;

/// Proxy command codes (§4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProxyCommand {
    Error,
    InitSend,
    Ack,
    InitRecv,
    Ready,
}

impl ProxyCommand {
    pub fn from_u16(v: u16) -> Option<ProxyCommand> {
        Some(match v {
            1 => ProxyCommand::Error,
            2 => ProxyCommand::InitSend,
            3 => ProxyCommand::Ack,
            4 => ProxyCommand::InitRecv,
            5 => ProxyCommand::Ready,
            _ => return None,
        })
    }

    pub fn code(self) -> u16 {
        match self {
            ProxyCommand::Error => 1,
            ProxyCommand::InitSend => 2,
            ProxyCommand::Ack => 3,
            ProxyCommand::InitRecv => 4,
            ProxyCommand::Ready => 5,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ProxyCommand::Error => "error",
            ProxyCommand::InitSend => "init_send",
            ProxyCommand::Ack => "ack",
            ProxyCommand::InitRecv => "init_recv",
            ProxyCommand::Ready => "ready",
        }
    }
}

/// Command payloads (§4.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProxyBody {
    /// Proxy → client: error code (§4.3).
    Error { code: u16 },
    /// Creator → proxy: its own screen name, the cookie, and (in every known client) the
    /// capability TLV.
    InitSend {
        screen_name: String,
        cookie: Cookie,
        capability: Option<Capability>,
    },
    /// Proxy → creator: the token the joiner must echo and the proxy's IPv4 address.
    Ack { token: u16, ip: Ipv4Addr },
    /// Joiner → proxy: its own screen name, the token from rendezvous TLV 0x0005, the
    /// cookie, and the capability TLV.
    InitRecv {
        screen_name: String,
        token: u16,
        cookie: Cookie,
        capability: Option<Capability>,
    },
    /// Proxy → both: from now on the stream is relayed unchanged.
    Ready,
}

/// One proxy frame.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProxyFrame {
    /// Bytes 6..10; clients send 0, nobody reads them.
    pub unknown: u32,
    /// Bytes 10..12: 0 from clients, 0x0220 from the AOL proxy.
    pub flags: u16,
    pub body: ProxyBody,
}

impl ProxyFrame {
    pub fn command(&self) -> ProxyCommand {
        match self.body {
            ProxyBody::Error { .. } => ProxyCommand::Error,
            ProxyBody::InitSend { .. } => ProxyCommand::InitSend,
            ProxyBody::Ack { .. } => ProxyCommand::Ack,
            ProxyBody::InitRecv { .. } => ProxyCommand::InitRecv,
            ProxyBody::Ready => ProxyCommand::Ready,
        }
    }

    fn client(body: ProxyBody) -> ProxyFrame {
        ProxyFrame {
            unknown: 0,
            flags: 0,
            body,
        }
    }

    fn server(body: ProxyBody) -> ProxyFrame {
        ProxyFrame {
            unknown: 0,
            flags: SERVER_FLAGS,
            body,
        }
    }

    /// INIT_SEND as clients build it (flags 0, capability TLV present).
    pub fn init_send(screen_name: &str, cookie: Cookie, capability: Capability) -> ProxyFrame {
        ProxyFrame::client(ProxyBody::InitSend {
            screen_name: screen_name.to_owned(),
            cookie,
            capability: Some(capability),
        })
    }

    /// INIT_RECV as clients build it.
    pub fn init_recv(
        screen_name: &str,
        token: u16,
        cookie: Cookie,
        capability: Capability,
    ) -> ProxyFrame {
        ProxyFrame::client(ProxyBody::InitRecv {
            screen_name: screen_name.to_owned(),
            token,
            cookie,
            capability: Some(capability),
        })
    }

    /// ACK as the AOL proxy sent it (flags 0x0220).
    pub fn ack(token: u16, ip: Ipv4Addr) -> ProxyFrame {
        ProxyFrame::server(ProxyBody::Ack { token, ip })
    }

    /// READY as the AOL proxy sent it.
    pub fn ready() -> ProxyFrame {
        ProxyFrame::server(ProxyBody::Ready)
    }

    /// ERROR as the AOL proxy sent it.
    pub fn error(code: u16) -> ProxyFrame {
        ProxyFrame::server(ProxyBody::Error { code })
    }

    /// The frame as bytes. Screen names longer than 255 bytes are cut (the length is a u8).
    pub fn emit(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        let put_sn = |p: &mut Vec<u8>, sn: &str| {
            let sn = &sn.as_bytes()[..sn.len().min(255)];
            p.push(sn.len() as u8);
            p.extend_from_slice(sn);
        };
        let put_cap = |p: &mut Vec<u8>, cap: &Option<Capability>| {
            if let Some(cap) = cap {
                p.extend_from_slice(&CAP_TLV_TYPE.to_be_bytes());
                p.extend_from_slice(&16u16.to_be_bytes());
                p.extend_from_slice(&cap.0);
            }
        };
        match &self.body {
            ProxyBody::Error { code } => payload.extend_from_slice(&code.to_be_bytes()),
            ProxyBody::InitSend {
                screen_name,
                cookie,
                capability,
            } => {
                put_sn(&mut payload, screen_name);
                payload.extend_from_slice(&cookie.0);
                put_cap(&mut payload, capability);
            }
            ProxyBody::Ack { token, ip } => {
                payload.extend_from_slice(&token.to_be_bytes());
                payload.extend_from_slice(&ip.octets());
            }
            ProxyBody::InitRecv {
                screen_name,
                token,
                cookie,
                capability,
            } => {
                put_sn(&mut payload, screen_name);
                payload.extend_from_slice(&token.to_be_bytes());
                payload.extend_from_slice(&cookie.0);
                put_cap(&mut payload, capability);
            }
            ProxyBody::Ready => {}
        }
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(&((HEADER_LEN - 2 + payload.len()) as u16).to_be_bytes());
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&self.command().code().to_be_bytes());
        out.extend_from_slice(&self.unknown.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        out.extend_from_slice(&payload);
        out
    }
}

/// Whether a frame's length field fits its command (§4.2). INIT frames are accepted with
/// or without the capability TLV (joscar treats it as optional); `snlen` is the byte at
/// offset 12.
fn length_fits(cmd: ProxyCommand, length: u16, snlen: Option<u8>) -> Option<bool> {
    let length = usize::from(length);
    Some(match cmd {
        ProxyCommand::Error => length == 12,
        ProxyCommand::Ack => length == 16,
        ProxyCommand::Ready => length == 10,
        ProxyCommand::InitSend => {
            let base = 10 + 1 + usize::from(snlen?) + 8;
            length == base || length == base + CAP_TLV
        }
        ProxyCommand::InitRecv => {
            let base = 10 + 1 + usize::from(snlen?) + 2 + 8;
            length == base || length == base + CAP_TLV
        }
    })
}

/// Check what is present of the 12-byte header and the screen-name length, in order, so
/// garbage is refused as early as possible. `Ok(None)` means more bytes are needed.
fn check_prefix(buf: &[u8]) -> Result<Option<(ProxyCommand, usize)>, &'static str> {
    if buf.len() >= 2 {
        let len = usize::from(be16(buf, 0));
        if !(10..=MAX_FRAME_LEN - 2).contains(&len) {
            return Err("proxy frame length out of range");
        }
    }
    if buf.len() >= 4 && be16(buf, 2) != VERSION {
        return Err("proxy frame version is not 0x044A");
    }
    if buf.len() < 6 {
        return Ok(None);
    }
    let cmd = ProxyCommand::from_u16(be16(buf, 4)).ok_or("unknown proxy command")?;
    let length = be16(buf, 0);
    match length_fits(cmd, length, buf.get(12).copied()) {
        Some(false) => Err("proxy frame length does not fit its command"),
        Some(true) => Ok(Some((cmd, 2 + usize::from(length)))),
        None => Ok(None),
    }
}

/// Parse one proxy frame from the start of `buf`; returns it and the bytes it used.
pub fn parse_proxy_frame(buf: &[u8]) -> Result<(ProxyFrame, usize), ParseError> {
    let (cmd, total) = match check_prefix(buf).map_err(ParseError::Invalid)? {
        Some(v) => v,
        // The length field (once present) says how long the frame is.
        None if buf.len() < 2 => {
            return Err(ParseError::Incomplete {
                needed: 2 - buf.len(),
            })
        }
        None => {
            return Err(ParseError::Incomplete {
                needed: 2 + usize::from(be16(buf, 0)) - buf.len(),
            })
        }
    };
    need(buf, total)?;
    let f = &buf[..total];
    let p = &f[HEADER_LEN..];
    let cap = |rest: &[u8]| -> Result<Option<Capability>, ParseError> {
        match rest.len() {
            0 => Ok(None),
            CAP_TLV if be16(rest, 0) == CAP_TLV_TYPE && be16(rest, 2) == 16 => {
                Ok(Capability::from_slice(&rest[4..]))
            }
            _ => Err(ParseError::Invalid(
                "proxy INIT capability TLV is not type 1 length 16",
            )),
        }
    };
    let body = match cmd {
        ProxyCommand::Error => ProxyBody::Error { code: be16(p, 0) },
        ProxyCommand::Ack => ProxyBody::Ack {
            token: be16(p, 0),
            ip: Ipv4Addr::from(be32(p, 2)),
        },
        ProxyCommand::Ready => ProxyBody::Ready,
        ProxyCommand::InitSend => {
            let n = usize::from(p[0]);
            let sn = &p[1..1 + n];
            ProxyBody::InitSend {
                screen_name: super::lossy(sn),
                cookie: Cookie::from_slice(&p[1 + n..]).expect("length checked"),
                capability: cap(&p[1 + n + 8..])?,
            }
        }
        ProxyCommand::InitRecv => {
            let n = usize::from(p[0]);
            let sn = &p[1..1 + n];
            ProxyBody::InitRecv {
                screen_name: super::lossy(sn),
                token: be16(p, 1 + n),
                cookie: Cookie::from_slice(&p[1 + n + 2..]).expect("length checked"),
                capability: cap(&p[1 + n + 2 + 8..])?,
            }
        }
    };
    Ok((
        ProxyFrame {
            unknown: be32(f, 6),
            flags: be16(f, 10),
            body,
        },
        total,
    ))
}

/// Does a client's direction start with INIT_SEND or INIT_RECV (Appendix A rule 2)?
pub fn probe_proxy_client(buf: &[u8]) -> Probe {
    probe_with(buf, |c| {
        matches!(c, ProxyCommand::InitSend | ProxyCommand::InitRecv)
    })
}

/// Does a proxy's direction start with ACK, READY or ERROR (Appendix A rule 2)?
pub fn probe_proxy_server(buf: &[u8]) -> Probe {
    probe_with(buf, |c| {
        matches!(
            c,
            ProxyCommand::Ack | ProxyCommand::Ready | ProxyCommand::Error
        )
    })
}

fn probe_with(buf: &[u8], want: impl Fn(ProxyCommand) -> bool) -> Probe {
    if buf.len() >= 6 {
        match ProxyCommand::from_u16(be16(buf, 4)) {
            Some(c) if want(c) => {}
            _ => return Probe::NoMatch,
        }
    }
    match check_prefix(buf) {
        Err(_) => Probe::NoMatch,
        Ok(None) => Probe::NeedMore,
        Ok(Some(_)) => Probe::Match,
    }
}

#[cfg(test)]
mod tests;
