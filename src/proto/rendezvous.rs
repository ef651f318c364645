//! Channel-2 rendezvous ICBMs on the OSCAR connection (docs/PROTOCOL.md §5): SNAC 4/6 (client →
//! server), 4/7 (server → client), 4/0B (client error) and 4/0C (host ack). A 4/6 or 4/7
//! carries the rendezvous block in TLV 0x0005: type, cookie, capability and inner TLVs
//! (§5.2, §5.3).

use super::oft::NameEncoding;
use super::{Capability, Cookie};
use std::net::Ipv4Addr;

mod emit;
mod parse;

pub use emit::icbm_head;
pub use parse::{parse_block, parse_flap_icbm, parse_icbm};

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

/// SNAC 4/0C: the server's acknowledgement of an ICBM that asked for one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostAck {
    pub cookie: Cookie,
    pub channel: u16,
    pub screen_name: String,
}

/// What an ICBM SNAC said that matters for transfers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IcbmEvent {
    Rendezvous(RendezvousMsg),
    ClientError(ClientError),
    HostAck(HostAck),
}

#[cfg(test)]
mod tests;
