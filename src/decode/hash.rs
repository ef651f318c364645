//! The dispatcher's cheap look at a frame: is it TCP, and which worker owns its flow?
//! Hand-rolled offsets rather than a full decode because it runs on the capture thread,
//! where every nanosecond counts; the worker does the full etherparse decode.

use crate::capture::LinkType;
use crate::flow::key::FnvHasher;
use std::hash::Hasher;

/// Where a frame should go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shard {
    /// TCP: a hash equal for both directions of the connection.
    Tcp(u64),
    /// IP or link traffic that is certainly not TCP: counted and dropped here.
    NotTcp,
    /// Could not tell (short, odd headers): the worker decodes and counts it.
    Unknown,
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const IPPROTO_TCP: u8 = 6;

/// Tag protocol identifiers of VLAN tags: 802.1Q, 802.1ad (QinQ), and the pre-standard
/// QinQ outer tags 0x9100 and 0x9200 that older switches (and `editcap`-made captures)
/// still use. One list for the shard hash and the decoder, so both see the same IP header.
pub(crate) const VLAN_TPIDS: [u16; 4] = [0x8100, 0x88a8, 0x9100, 0x9200];
/// Stacked tags beyond QinQ are rare; the bound keeps a frame of nothing but tags cheap.
pub(crate) const MAX_VLAN_TAGS: usize = 4;

/// From the ethertype `et` read just before `off`, skips any VLAN tags: the inner
/// ethertype and where its payload starts. `None` when the frame ends inside the tags
/// or carries more than `MAX_VLAN_TAGS`.
pub(crate) fn skip_vlan_tags(d: &[u8], mut et: u16, mut off: usize) -> Option<(u16, usize)> {
    let mut tags = 0;
    while VLAN_TPIDS.contains(&et) {
        if tags == MAX_VLAN_TAGS {
            return None;
        }
        et = be16(d, off + 2)?;
        off += 4;
        tags += 1;
    }
    Some((et, off))
}

pub fn shard(link: LinkType, d: &[u8]) -> Shard {
    let (type_at, off) = match link {
        LinkType::Ethernet => (12, 14),
        LinkType::LinuxSll => (14, 16),
        LinkType::LinuxSll2 => (0, 20),
        LinkType::Raw | LinkType::Raw12 | LinkType::Raw14 | LinkType::Ipv4 | LinkType::Ipv6 => {
            return by_version(d, 0)
        }
        LinkType::Null | LinkType::Loop => return by_version(d, 4),
    };
    let Some((ethertype, off)) = be16(d, type_at).and_then(|et| skip_vlan_tags(d, et, off)) else {
        return Shard::Unknown;
    };
    match ethertype {
        ETH_IPV4 => ipv4(d, off),
        ETH_IPV6 => ipv6(d, off),
        _ => Shard::NotTcp,
    }
}

fn by_version(d: &[u8], off: usize) -> Shard {
    match d.get(off).map(|b| b >> 4) {
        Some(4) => ipv4(d, off),
        Some(6) => ipv6(d, off),
        Some(_) => Shard::NotTcp,
        None => Shard::Unknown,
    }
}

fn ipv4(d: &[u8], off: usize) -> Shard {
    let Some(h) = d.get(off..off + 20) else {
        return Shard::Unknown;
    };
    if h[9] != IPPROTO_TCP {
        return Shard::NotTcp;
    }
    let ihl = (h[0] & 0x0f) as usize * 4;
    let frag = u16::from_be_bytes([h[6], h[7]]);
    let (src, dst) = (&h[12..16], &h[16..20]);
    if frag & 0x3fff != 0 {
        // A fragment: ports may be absent; the worker counts and skips it.
        return Shard::Tcp(sym_hash(src, dst, 0, 0));
    }
    match (be16(d, off + ihl), be16(d, off + ihl + 2)) {
        (Some(sp), Some(dp)) => Shard::Tcp(sym_hash(src, dst, sp, dp)),
        _ => Shard::Unknown,
    }
}

fn ipv6(d: &[u8], off: usize) -> Shard {
    let Some(h) = d.get(off..off + 40) else {
        return Shard::Unknown;
    };
    let (src, dst) = (&h[8..24], &h[24..40]);
    let mut next = h[6];
    let mut pos = off + 40;
    // Walk a bounded number of extension headers.
    for _ in 0..8 {
        match next {
            IPPROTO_TCP => {
                return match (be16(d, pos), be16(d, pos + 2)) {
                    (Some(sp), Some(dp)) => Shard::Tcp(sym_hash(src, dst, sp, dp)),
                    _ => Shard::Unknown,
                };
            }
            // Hop-by-hop, routing, destination options: length in 8-octet units.
            0 | 43 | 60 => {
                let (Some(&n), Some(&l)) = (d.get(pos), d.get(pos + 1)) else {
                    return Shard::Unknown;
                };
                next = n;
                pos += (l as usize + 1) * 8;
            }
            // Fragment header: the worker counts and skips fragments.
            44 => return Shard::Tcp(sym_hash(src, dst, 0, 0)),
            _ => return Shard::NotTcp,
        }
    }
    Shard::Unknown
}

fn sym_hash(src: &[u8], dst: &[u8], sp: u16, dp: u16) -> u64 {
    let mut h = FnvHasher::default();
    let (lo, hi) = if (src, sp) <= (dst, dp) {
        ((src, sp), (dst, dp))
    } else {
        ((dst, dp), (src, sp))
    };
    h.write(lo.0);
    h.write(&lo.1.to_be_bytes());
    h.write(hi.0);
    h.write(&hi.1.to_be_bytes());
    h.finish()
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

#[cfg(test)]
mod tests;
