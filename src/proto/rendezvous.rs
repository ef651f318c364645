//! Channel-2 rendezvous ICBMs on the OSCAR connection (OFT-WIRE.md §5): SNAC 4/6 (client →
//! server), 4/7 (server → client), 4/0B (client error) and 4/0C (host ack). A 4/6 or 4/7
//! carries the rendezvous block in TLV 0x0005: type, cookie, capability and inner TLVs
//! (§5.2, §5.3).

use super::flap::{self, parse_flap, parse_snac, FlapFrame, SnacHeader};
use super::oft::{FileName, NameEncoding};
use super::tlv::{put_tlv, take_tlv, tlvs};
use super::{be16, be32, Capability, Cookie, ParseError};
use std::net::Ipv4Addr;

/// SNAC family of ICBM messages.
pub const FAMILY_ICBM: u16 = 0x0004;
pub const SUBTYPE_CLIENT_ERROR: u16 = 0x000B;
pub const SUBTYPE_HOST_ACK: u16 = 0x000C;
pub const SUBTYPE_TO_HOST: u16 = 0x0006;
pub const SUBTYPE_TO_CLIENT: u16 = 0x0007;
/// ICBM channel of rendezvous messages.
pub const CHANNEL_RENDEZVOUS: u16 = 0x0002;

/// Outer (message) TLVs of SNAC 4/6 and 4/7.
const TLV_RENDEZVOUS: u16 = 0x0005;
const TLV_HOST_ACK: u16 = 0x0003;

/// Inner TLVs of the rendezvous block (§5.3).
pub mod tlv {
    pub const RENDEZVOUS_IP: u16 = 0x0002;
    pub const CLIENT_IP: u16 = 0x0003;
    pub const VERIFIED_IP: u16 = 0x0004;
    pub const PORT: u16 = 0x0005;
    pub const REQUEST_NO: u16 = 0x000A;
    pub const CANCEL_REASON: u16 = 0x000B;
    pub const REQUEST_HOST_CHECK: u16 = 0x000F;
    pub const USE_PROXY: u16 = 0x0010;
    pub const REQUEST_SECURE: u16 = 0x0011;
    pub const COUNTER_REASON: u16 = 0x0014;
    pub const IP_CHECK: u16 = 0x0016;
    pub const PORT_CHECK: u16 = 0x0017;
    pub const SERVICE_DATA: u16 = 0x2711;
    pub const SERVICE_CHARSET: u16 = 0x2712;
    pub const SIZE64: u16 = 0x2713;
}

/// Rendezvous message type (§5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RvKind {
    Propose,
    Cancel,
    Accept,
    /// 3 (NAK in Open OSCAR Server's table) or anything else.
    Other(u16),
}

impl RvKind {
    pub fn from_u16(v: u16) -> RvKind {
        match v {
            0 => RvKind::Propose,
            1 => RvKind::Cancel,
            2 => RvKind::Accept,
            other => RvKind::Other(other),
        }
    }

    pub fn code(self) -> u16 {
        match self {
            RvKind::Propose => 0,
            RvKind::Cancel => 1,
            RvKind::Accept => 2,
            RvKind::Other(v) => v,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RvKind::Propose => "propose",
            RvKind::Cancel => "cancel",
            RvKind::Accept => "accept",
            RvKind::Other(_) => "other",
        }
    }
}

/// Send-File service data, TLV 0x2711 (§5.5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceData {
    /// 1 single file, 2 multiple files / folder.
    pub kind: u16,
    pub count: u16,
    /// u32 total size (0x2713 carries the 64-bit one).
    pub total_size: u32,
    /// File or folder name, decoded per the 0x2712 charset, cut at the terminator.
    pub name: String,
}

impl ServiceData {
    pub const SINGLE_FILE: u16 = 1;
    pub const MULTIPLE_FILES: u16 = 2;

    /// The name without the `\*` some clients append to folder names (§5.5).
    pub fn display_name(&self) -> &str {
        self.name.strip_suffix("\\*").unwrap_or(&self.name)
    }
}

/// How the 0x2712 charset says the 0x2711 name is encoded. Unknown or absent charsets are
/// read as UTF-8 (lossily), as Kopete does.
fn charset_encoding(charset: Option<&str>) -> NameEncoding {
    match charset.map(str::to_ascii_lowercase).as_deref() {
        Some("iso-8859-1" | "latin1" | "iso8859-1") => NameEncoding::Latin1,
        Some("unicode-2-0" | "utf-16be" | "utf-16" | "ucs-2" | "ucs-2be") => NameEncoding::Utf16Be,
        _ => NameEncoding::Ascii,
    }
}

/// One channel-2 rendezvous message, as carried by SNAC 4/6 or 4/7.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RendezvousMsg {
    /// (family, subtype): (4, 6) client → server or (4, 7) server → client.
    pub snac: (u16, u16),
    pub kind: RvKind,
    /// The cookie (the ICBM's and the block's, which must agree).
    pub cookie: Cookie,
    pub capability: Capability,
    /// The peer's screen name in the SNAC: the recipient in 4/6, the sender in 4/7.
    pub screen_name: Option<String>,
    /// 4/7 only: the sender's warning level and user-info TLVs.
    pub warning_level: u16,
    pub user_info: Vec<(u16, Vec<u8>)>,
    /// Outer TLV 0x0003 in a 4/6: the sender asks the server for a host ack (4/0C).
    pub host_ack_requested: bool,
    /// 0x000A: 1 for the first proposal, +1 for each new one with the same cookie.
    pub request_no: Option<u16>,
    /// 0x0002: the proxy IP when `use_proxy`; some clients put their own IP here otherwise.
    pub rendezvous_ip: Option<Ipv4Addr>,
    /// 0x0003: the proposer's own idea of its IP.
    pub client_ip: Option<Ipv4Addr>,
    /// 0x0004: the proposer's IP as the server saw it (added by the server).
    pub verified_ip: Option<Ipv4Addr>,
    /// 0x0005: the listening port, or the proxy token when `use_proxy`.
    pub port: Option<u16>,
    /// 0x000F present.
    pub host_check: bool,
    /// 0x0010 present: the data connection goes through the proxy.
    pub use_proxy: bool,
    /// 0x0011 present: the peer connection should be TLS.
    pub request_secure: bool,
    /// 0x0014: counter-proposal reason.
    pub counter_reason: Option<u16>,
    /// 0x0016: 0x0002 XOR 0xFFFFFFFF.
    pub ip_check: Option<u32>,
    /// 0x0017: 0x0005 XOR 0xFFFF.
    pub port_check: Option<u16>,
    /// 0x000B: 0 unspecified, 1 user cancel/decline, 2 timeout, 3 accepted elsewhere.
    pub cancel_reason: Option<u16>,
    /// 0x2711 of a Send-File proposal.
    pub file: Option<ServiceData>,
    /// 0x2712.
    pub charset: Option<String>,
    /// 0x2713: the 64-bit total size.
    pub size64: Option<u64>,
    /// Inner TLVs this module does not interpret, in order (0x2711 of other capabilities
    /// included).
    pub other: Vec<(u16, Vec<u8>)>,
}

impl RendezvousMsg {
    /// A message with no inner TLVs, addressed client → server (SNAC 4/6).
    pub fn new(kind: RvKind, cookie: Cookie, capability: Capability) -> RendezvousMsg {
        RendezvousMsg {
            snac: (FAMILY_ICBM, SUBTYPE_TO_HOST),
            kind,
            cookie,
            capability,
            screen_name: None,
            warning_level: 0,
            user_info: Vec::new(),
            host_ack_requested: false,
            request_no: None,
            rendezvous_ip: None,
            client_ip: None,
            verified_ip: None,
            port: None,
            host_check: false,
            use_proxy: false,
            request_secure: false,
            counter_reason: None,
            ip_check: None,
            port_check: None,
            cancel_reason: None,
            file: None,
            charset: None,
            size64: None,
            other: Vec::new(),
        }
    }

    /// A PROPOSE with its request number; fill in addresses, port and file after.
    pub fn propose(cookie: Cookie, capability: Capability, request_no: u16) -> RendezvousMsg {
        RendezvousMsg {
            request_no: Some(request_no),
            ..RendezvousMsg::new(RvKind::Propose, cookie, capability)
        }
    }

    /// An ACCEPT: the bare 26-byte block.
    pub fn accept(cookie: Cookie, capability: Capability) -> RendezvousMsg {
        RendezvousMsg::new(RvKind::Accept, cookie, capability)
    }

    /// A CANCEL with inner TLV 0x000B, as Pidgin sends it.
    pub fn cancel(cookie: Cookie, capability: Capability, reason: u16) -> RendezvousMsg {
        RendezvousMsg {
            cancel_reason: Some(reason),
            ..RendezvousMsg::new(RvKind::Cancel, cookie, capability)
        }
    }

    /// Address the message client → server to `recipient` (SNAC 4/6).
    pub fn to_host(self, recipient: &str) -> RendezvousMsg {
        RendezvousMsg {
            snac: (FAMILY_ICBM, SUBTYPE_TO_HOST),
            screen_name: Some(recipient.to_owned()),
            ..self
        }
    }

    /// Address the message server → client from `sender` (SNAC 4/7).
    pub fn to_client(self, sender: &str) -> RendezvousMsg {
        RendezvousMsg {
            snac: (FAMILY_ICBM, SUBTYPE_TO_CLIENT),
            screen_name: Some(sender.to_owned()),
            ..self
        }
    }

    /// Set the proxy fields of a proxied proposal: 0x0002 = proxy IP, 0x0005 = token,
    /// their complements in 0x0016/0x0017, and 0x0010.
    pub fn via_proxy(self, proxy_ip: Ipv4Addr, token: u16) -> RendezvousMsg {
        RendezvousMsg {
            rendezvous_ip: Some(proxy_ip),
            ip_check: Some(!u32::from(proxy_ip)),
            port: Some(token),
            port_check: Some(!token),
            use_proxy: true,
            ..self
        }
    }

    /// The proxy's IP: 0x0002, but only when 0x0010 says the proxy is used.
    pub fn proxy_ip(&self) -> Option<Ipv4Addr> {
        self.rendezvous_ip.filter(|_| self.use_proxy)
    }

    /// The proxy token: 0x0005 when 0x0010 is present.
    pub fn proxy_token(&self) -> Option<u16> {
        self.port.filter(|_| self.use_proxy)
    }

    /// `Some(true)` when both 0x0016 and 0x0017 are the complements of 0x0002 and 0x0005,
    /// `Some(false)` when one of them is not (a NAT rewrote the value), `None` when a pair
    /// is incomplete.
    pub fn checks_ok(&self) -> Option<bool> {
        let ip = u32::from(self.rendezvous_ip?);
        Some(self.ip_check? == !ip && self.port_check? == !self.port?)
    }

    /// Total size: 0x2713 when present, else the u32 of 0x2711.
    pub fn total_size(&self) -> Option<u64> {
        self.size64
            .or_else(|| self.file.as_ref().map(|f| u64::from(f.total_size)))
    }

    /// The rendezvous block: the value of outer TLV 0x0005. Inner TLVs go out in one fixed
    /// order, the one of the §8.5 example (0x0004 last, where the server appends it).
    pub fn emit_block(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&self.kind.code().to_be_bytes());
        b.extend_from_slice(&self.cookie.0);
        b.extend_from_slice(&self.capability.0);
        let put16 = |b: &mut Vec<u8>, t, v: Option<u16>| {
            if let Some(v) = v {
                put_tlv(b, t, &v.to_be_bytes());
            }
        };
        let put_ip = |b: &mut Vec<u8>, t, v: Option<Ipv4Addr>| {
            if let Some(v) = v {
                put_tlv(b, t, &v.octets());
            }
        };
        let put_flag = |b: &mut Vec<u8>, t, on: bool| {
            if on {
                put_tlv(b, t, &[]);
            }
        };
        put16(&mut b, tlv::REQUEST_NO, self.request_no);
        put_flag(&mut b, tlv::REQUEST_HOST_CHECK, self.host_check);
        put_ip(&mut b, tlv::RENDEZVOUS_IP, self.rendezvous_ip);
        if let Some(v) = self.ip_check {
            put_tlv(&mut b, tlv::IP_CHECK, &v.to_be_bytes());
        }
        put_ip(&mut b, tlv::CLIENT_IP, self.client_ip);
        put16(&mut b, tlv::PORT, self.port);
        put16(&mut b, tlv::PORT_CHECK, self.port_check);
        put_flag(&mut b, tlv::USE_PROXY, self.use_proxy);
        put_flag(&mut b, tlv::REQUEST_SECURE, self.request_secure);
        put16(&mut b, tlv::COUNTER_REASON, self.counter_reason);
        put16(&mut b, tlv::CANCEL_REASON, self.cancel_reason);
        for (t, v) in &self.other {
            put_tlv(&mut b, *t, v);
        }
        if let Some(f) = &self.file {
            let mut v = Vec::new();
            v.extend_from_slice(&f.kind.to_be_bytes());
            v.extend_from_slice(&f.count.to_be_bytes());
            v.extend_from_slice(&f.total_size.to_be_bytes());
            let enc = charset_encoding(self.charset.as_deref());
            let name = match enc {
                NameEncoding::Latin1 => FileName::latin1(&f.name),
                NameEncoding::Utf16Be => Some(FileName::utf16(&f.name)),
                _ => None,
            }
            .unwrap_or_else(|| FileName::utf8(&f.name));
            v.extend_from_slice(&name.raw);
            v.resize(
                v.len()
                    + if name.encoding == NameEncoding::Utf16Be {
                        2
                    } else {
                        1
                    },
                0,
            );
            put_tlv(&mut b, tlv::SERVICE_DATA, &v);
        }
        if let Some(cs) = &self.charset {
            put_tlv(&mut b, tlv::SERVICE_CHARSET, cs.as_bytes());
        }
        if let Some(v) = self.size64 {
            put_tlv(&mut b, tlv::SIZE64, &v.to_be_bytes());
        }
        put_ip(&mut b, tlv::VERIFIED_IP, self.verified_ip);
        b
    }

    /// SNAC header and body (4/6 or 4/7 according to `self.snac`).
    pub fn emit_snac(&self, request_id: u32) -> Vec<u8> {
        let mut out = Vec::new();
        SnacHeader {
            family: self.snac.0,
            subtype: self.snac.1,
            flags: 0,
            request_id,
        }
        .emit_into(&mut out);
        out.extend_from_slice(&self.cookie.0);
        out.extend_from_slice(&CHANNEL_RENDEZVOUS.to_be_bytes());
        put_screen_name(&mut out, self.screen_name.as_deref().unwrap_or(""));
        if self.snac.1 == SUBTYPE_TO_CLIENT {
            out.extend_from_slice(&self.warning_level.to_be_bytes());
            let n = self.user_info.len().min(usize::from(u16::MAX));
            out.extend_from_slice(&(n as u16).to_be_bytes());
            for (t, v) in &self.user_info[..n] {
                put_tlv(&mut out, *t, v);
            }
        }
        put_tlv(&mut out, TLV_RENDEZVOUS, &self.emit_block());
        if self.host_ack_requested {
            put_tlv(&mut out, TLV_HOST_ACK, &[]);
        }
        out
    }

    /// A whole FLAP frame (channel 2) carrying this message.
    pub fn emit_flap(&self, seq: u16, request_id: u32) -> Vec<u8> {
        FlapFrame {
            channel: flap::channel::SNAC,
            seq,
            data: &self.emit_snac(request_id),
        }
        .emit()
    }
}

fn put_screen_name(out: &mut Vec<u8>, sn: &str) {
    let sn = &sn.as_bytes()[..sn.len().min(255)];
    out.push(sn.len() as u8);
    out.extend_from_slice(sn);
}

/// SNAC 4/0B: a client error / NAK about an ICBM (§5.8).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientError {
    pub cookie: Cookie,
    pub channel: u16,
    pub screen_name: String,
    /// 3 = channel specific, followed by `code`.
    pub reason: u16,
    /// The channel-specific NAK code (1 declined, 4/6 proxy trouble, …).
    pub code: Option<u16>,
}

impl ClientError {
    pub fn emit_snac(&self, request_id: u32) -> Vec<u8> {
        let mut out = Vec::new();
        SnacHeader {
            family: FAMILY_ICBM,
            subtype: SUBTYPE_CLIENT_ERROR,
            flags: 0,
            request_id,
        }
        .emit_into(&mut out);
        out.extend_from_slice(&self.cookie.0);
        out.extend_from_slice(&self.channel.to_be_bytes());
        put_screen_name(&mut out, &self.screen_name);
        out.extend_from_slice(&self.reason.to_be_bytes());
        if let Some(code) = self.code {
            out.extend_from_slice(&2u16.to_be_bytes());
            out.extend_from_slice(&code.to_be_bytes());
        }
        out
    }
}

/// SNAC 4/0C: the server's acknowledgement of an ICBM that asked for one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostAck {
    pub cookie: Cookie,
    pub channel: u16,
    pub screen_name: String,
}

impl HostAck {
    pub fn emit_snac(&self, request_id: u32) -> Vec<u8> {
        let mut out = Vec::new();
        SnacHeader {
            family: FAMILY_ICBM,
            subtype: SUBTYPE_HOST_ACK,
            flags: 0,
            request_id,
        }
        .emit_into(&mut out);
        out.extend_from_slice(&self.cookie.0);
        out.extend_from_slice(&self.channel.to_be_bytes());
        put_screen_name(&mut out, &self.screen_name);
        out
    }
}

/// What an ICBM SNAC said that matters for transfers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IcbmEvent {
    Rendezvous(RendezvousMsg),
    ClientError(ClientError),
    HostAck(HostAck),
}

/// Reads fields off a body whose bytes are all present: running out is invalid.
struct Body<'a>(&'a [u8]);

const TRUNCATED: ParseError = ParseError::Invalid("ICBM body truncated");

impl<'a> Body<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if self.0.len() < n {
            return Err(TRUNCATED);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u16(&mut self) -> Result<u16, ParseError> {
        self.take(2).map(|b| be16(b, 0))
    }
    fn cookie(&mut self) -> Result<Cookie, ParseError> {
        self.take(8)
            .map(|b| Cookie::from_slice(b).expect("8 bytes"))
    }
    fn screen_name(&mut self) -> Result<String, ParseError> {
        let n = usize::from(self.take(1)?[0]);
        self.take(n).map(super::lossy)
    }
}

/// Parse the data of a FLAP channel-2 frame (SNAC header and body). `Ok(None)` for SNACs
/// that carry nothing about rendezvous: other families and subtypes, 4/6 and 4/7 on other
/// ICBM channels or without a rendezvous block. 4/0B and 4/0C come back for any channel.
pub fn parse_icbm(data: &[u8]) -> Result<Option<IcbmEvent>, ParseError> {
    let (snac, body) = parse_snac(data)?;
    if snac.family != FAMILY_ICBM {
        return Ok(None);
    }
    let mut b = Body(body);
    match snac.subtype {
        SUBTYPE_TO_HOST | SUBTYPE_TO_CLIENT => {
            let cookie = b.cookie()?;
            if b.u16()? != CHANNEL_RENDEZVOUS {
                return Ok(None);
            }
            let screen_name = b.screen_name()?;
            let mut warning_level = 0;
            let mut user_info = Vec::new();
            if snac.subtype == SUBTYPE_TO_CLIENT {
                warning_level = b.u16()?;
                // The count is the only thing separating user-info TLVs from message TLVs.
                for _ in 0..b.u16()? {
                    let (t, rest) = take_tlv(b.0)?;
                    user_info.push((t.typ, t.value.to_vec()));
                    b.0 = rest;
                }
            }
            let mut block = None;
            let mut host_ack_requested = false;
            for t in tlvs(b.0) {
                let t = t?;
                match t.typ {
                    TLV_RENDEZVOUS if block.is_none() => block = Some(t.value),
                    TLV_HOST_ACK => host_ack_requested = true,
                    _ => {}
                }
            }
            let Some(block) = block else {
                return Ok(None);
            };
            let mut msg = parse_block(block)?;
            if msg.cookie != cookie {
                return Err(ParseError::Invalid("ICBM and rendezvous cookies differ"));
            }
            msg.snac = (snac.family, snac.subtype);
            msg.screen_name = Some(screen_name);
            msg.warning_level = warning_level;
            msg.user_info = user_info;
            msg.host_ack_requested = host_ack_requested;
            Ok(Some(IcbmEvent::Rendezvous(msg)))
        }
        SUBTYPE_CLIENT_ERROR => {
            let cookie = b.cookie()?;
            let channel = b.u16()?;
            let screen_name = b.screen_name()?;
            let reason = b.u16()?;
            // Reason 3 is followed by u16 length 2 and the code (Pidgin writes the same
            // bytes as TLV 3).
            let code = match b.0.len() {
                0 => None,
                _ => {
                    let len = usize::from(b.u16()?);
                    let v = b.take(len)?;
                    (len == 2).then(|| be16(v, 0))
                }
            };
            Ok(Some(IcbmEvent::ClientError(ClientError {
                cookie,
                channel,
                screen_name,
                reason,
                code,
            })))
        }
        SUBTYPE_HOST_ACK => Ok(Some(IcbmEvent::HostAck(HostAck {
            cookie: b.cookie()?,
            channel: b.u16()?,
            screen_name: b.screen_name()?,
        }))),
        _ => Ok(None),
    }
}

/// Parse one FLAP frame from the start of `buf` and, on channel 2, its ICBM. Returns the
/// event (if any) and the bytes the frame used; `Incomplete` while the frame is partial.
pub fn parse_flap_icbm(buf: &[u8]) -> Result<(Option<IcbmEvent>, usize), ParseError> {
    let (frame, used) = parse_flap(buf)?;
    if frame.channel != flap::channel::SNAC {
        return Ok((None, used));
    }
    Ok((parse_icbm(frame.data)?, used))
}

fn ip(v: &[u8]) -> Result<Ipv4Addr, ParseError> {
    match v {
        [a, b, c, d] => Ok(Ipv4Addr::new(*a, *b, *c, *d)),
        _ => Err(ParseError::Invalid("rendezvous IP TLV is not 4 bytes")),
    }
}

fn u16v(v: &[u8]) -> Result<u16, ParseError> {
    match v {
        [a, b] => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(ParseError::Invalid("rendezvous u16 TLV is not 2 bytes")),
    }
}

/// Parse a rendezvous block (the value of outer TLV 0x0005). The SNAC-level fields are
/// left at their defaults.
pub fn parse_block(block: &[u8]) -> Result<RendezvousMsg, ParseError> {
    if block.len() < 26 {
        return Err(ParseError::Invalid(
            "rendezvous block shorter than 26 bytes",
        ));
    }
    let kind = RvKind::from_u16(be16(block, 0));
    let cookie = Cookie::from_slice(&block[2..]).expect("length checked");
    let capability = Capability::from_slice(&block[10..]).expect("length checked");
    let mut m = RendezvousMsg::new(kind, cookie, capability);
    let mut service_data = None;
    for t in tlvs(&block[26..]) {
        let t = t?;
        let v = t.value;
        match t.typ {
            tlv::REQUEST_NO => m.request_no = Some(u16v(v)?),
            tlv::REQUEST_HOST_CHECK => m.host_check = true,
            tlv::RENDEZVOUS_IP => m.rendezvous_ip = Some(ip(v)?),
            tlv::IP_CHECK => m.ip_check = Some(u32::from(ip(v)?)),
            tlv::CLIENT_IP => m.client_ip = Some(ip(v)?),
            tlv::VERIFIED_IP => m.verified_ip = Some(ip(v)?),
            tlv::PORT => m.port = Some(u16v(v)?),
            tlv::PORT_CHECK => m.port_check = Some(u16v(v)?),
            tlv::USE_PROXY => m.use_proxy = true,
            tlv::REQUEST_SECURE => m.request_secure = true,
            tlv::COUNTER_REASON => m.counter_reason = Some(u16v(v)?),
            tlv::CANCEL_REASON => m.cancel_reason = Some(u16v(v)?),
            tlv::SERVICE_DATA if capability == Capability::SEND_FILE => {
                if v.len() < 8 {
                    return Err(ParseError::Invalid("service data shorter than 8 bytes"));
                }
                service_data = Some(v);
            }
            tlv::SERVICE_CHARSET => m.charset = Some(super::lossy(v)),
            tlv::SIZE64 => {
                let v: [u8; 8] = v
                    .try_into()
                    .map_err(|_| ParseError::Invalid("64-bit size TLV is not 8 bytes"))?;
                m.size64 = Some(u64::from_be_bytes(v));
            }
            other => m.other.push((other, v.to_vec())),
        }
    }
    // The charset TLV comes after 0x2711, so the name is decoded once both are known.
    if let Some(v) = service_data {
        let name = FileName::from_field(charset_encoding(m.charset.as_deref()), &v[8..]);
        m.file = Some(ServiceData {
            kind: be16(v, 0),
            count: be16(v, 2),
            total_size: be32(v, 4),
            name: name.decoded(),
        });
    }
    Ok(m)
}

#[cfg(test)]
mod tests;
