//! Decode stage: link layer → IP → TCP, with etherparse. Everything that is not TCP is
//! reported as a skip reason as early as possible.

use std::fmt;

/// TCP flag bits as on the wire (byte 13 of the TCP header).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::SYN, "S"),
            (Self::FIN, "F"),
            (Self::RST, "R"),
            (Self::PSH, "P"),
            (Self::ACK, "."),
            (Self::URG, "U"),
        ];
        for (bit, n) in names {
            if self.has(bit) {
                f.write_str(n)?;
            }
        }
        Ok(())
    }
}

use crate::flow::Endpoint;
use std::ops::Range;

/// A decoded TCP segment. `payload` indexes into the frame's bytes, so the frame itself
/// can be moved on (to a flow's hold or the pcap writer) without copying.
#[derive(Clone, Debug)]
pub struct TcpPacket {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// Window scale shift from the options of a SYN (RFC 7323); `None` on other segments
    /// and on a SYN without the option.
    pub wscale: Option<u8>,
    pub payload: Range<usize>,
    /// Payload bytes the IP header says followed `payload` but the frame does not hold:
    /// a snap length cut it, or the header lies (the worker tells which by the frame's
    /// original length).
    pub cut: u32,
}

/// Why a frame did not yield a TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// IP but not TCP, or not IP at all (ARP, …).
    NonTcp,
    /// An IPv4/IPv6 fragment; counted and skipped.
    Fragment,
    /// Too short or malformed at some layer.
    Undecodable,
}

pub mod hash;

use crate::capture::LinkType;
use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use std::net::IpAddr;

/// Ethernet II header: two addresses and the ethertype.
const ETH_LEN: usize = 14;
/// Length of the Linux cooked-capture headers.
const SLL_LEN: usize = 16;
const SLL2_LEN: usize = 20;
/// BSD loopback: a 4-byte address family.
const NULL_LEN: usize = 4;

/// Decodes one frame down to its TCP segment.
pub fn decode_tcp(link: LinkType, data: &[u8]) -> Result<TcpPacket, Skip> {
    let sliced = slice_link(link, data)?;
    let net = match sliced.net {
        Some(n) => n,
        None if sliced.stop_err.is_some() => return Err(Skip::Undecodable),
        None => return Err(Skip::NonTcp),
    };
    // Where the IP packet says it ends, as an offset into `data`: beyond the frame's end
    // when the capture cut it short. None for an IPv6 jumbogram (length 0), whose real
    // length is not in the fixed header.
    let offset = |s: &[u8]| s.as_ptr() as usize - data.as_ptr() as usize;
    let (src_ip, dst_ip, payload, ip_end): (IpAddr, IpAddr, _, Option<usize>) = match &net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            (
                h.source_addr().into(),
                h.destination_addr().into(),
                v4.payload(),
                Some(offset(h.slice()) + h.total_len() as usize),
            )
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let len = h.payload_length() as usize;
            (
                h.source_addr().into(),
                h.destination_addr().into(),
                v6.payload(),
                (len > 0).then(|| offset(h.slice()) + 40 + len),
            )
        }
    };
    let incomplete = payload.incomplete;
    if payload.ip_number != etherparse::IpNumber::TCP {
        return Err(Skip::NonTcp);
    }
    if payload.fragmented {
        return Err(Skip::Fragment);
    }
    let tcp = match sliced.transport {
        Some(TransportSlice::Tcp(t)) => t,
        _ => return Err(Skip::Undecodable),
    };
    let body = tcp.payload();
    // The payload is a subslice of `data`; its offset lets the frame move on unborrowed.
    let start = offset(body);
    let end = start + body.len();
    let cut = match ip_end {
        Some(ip_end) if incomplete => ip_end.saturating_sub(end).min(u32::MAX as usize) as u32,
        _ => 0,
    };
    let mut flags = 0u8;
    for (on, bit) in [
        (tcp.fin(), TcpFlags::FIN),
        (tcp.syn(), TcpFlags::SYN),
        (tcp.rst(), TcpFlags::RST),
        (tcp.psh(), TcpFlags::PSH),
        (tcp.ack(), TcpFlags::ACK),
        (tcp.urg(), TcpFlags::URG),
    ] {
        if on {
            flags |= bit;
        }
    }
    Ok(TcpPacket {
        src: Endpoint::new(src_ip, tcp.source_port()),
        dst: Endpoint::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags(flags),
        window: tcp.window_size(),
        wscale: if tcp.syn() { window_scale(&tcp) } else { None },
        payload: start..end,
        cut,
    })
}

/// The window scale option of a SYN, its shift capped at 14 as RFC 7323 §2.3 says.
fn window_scale(tcp: &etherparse::TcpSlice<'_>) -> Option<u8> {
    tcp.options_iterator().find_map(|o| match o {
        Ok(etherparse::TcpOptionElement::WindowScale(s)) => Some(s.min(14)),
        _ => None,
    })
}

fn slice_link(link: LinkType, data: &[u8]) -> Result<LaxSlicedPacket<'_>, Skip> {
    // VLAN tags are skipped here rather than by etherparse, which knows neither 0x9200
    // nor more than two tags: the shard hash (`hash::skip_vlan_tags`) must find the same
    // IP header, or the two directions of a flow could land on different workers.
    let by_type = |off: usize, proto_at: usize| -> Result<LaxSlicedPacket<'_>, Skip> {
        let proto = data.get(proto_at..proto_at + 2).ok_or(Skip::Undecodable)?;
        let et = u16::from_be_bytes([proto[0], proto[1]]);
        let (et, off) = hash::skip_vlan_tags(data, et, off).ok_or(Skip::Undecodable)?;
        let rest = data.get(off..).ok_or(Skip::Undecodable)?;
        let et = EtherType(et);
        if et != EtherType::IPV4 && et != EtherType::IPV6 {
            return Err(Skip::NonTcp);
        }
        Ok(LaxSlicedPacket::from_ether_type(et, rest))
    };
    match link {
        LinkType::Ethernet => by_type(ETH_LEN, 12),
        LinkType::LinuxSll => by_type(SLL_LEN, 14),
        LinkType::LinuxSll2 => by_type(SLL2_LEN, 0),
        LinkType::Raw | LinkType::Raw12 | LinkType::Raw14 | LinkType::Ipv4 | LinkType::Ipv6 => {
            from_ip(data)
        }
        LinkType::Null | LinkType::Loop => from_ip(data.get(NULL_LEN..).ok_or(Skip::Undecodable)?),
    }
}

fn from_ip(data: &[u8]) -> Result<LaxSlicedPacket<'_>, Skip> {
    match data.first().map(|b| b >> 4) {
        Some(4) | Some(6) => LaxSlicedPacket::from_ip(data).map_err(|_| Skip::Undecodable),
        Some(_) => Err(Skip::NonTcp),
        None => Err(Skip::Undecodable),
    }
}

#[cfg(test)]
mod tests;
