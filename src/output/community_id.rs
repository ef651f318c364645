//! Community ID v1 flow hashes (corelight/community-id-spec), so a SIEM can join
//! oftsniff's `flow` and `transfer` events with Zeek, Suricata or firewall records of the
//! same TCP connection.
//!
//! The hash input is, in network byte order: the seed (u16), the source address, the
//! destination address (4 or 16 bytes each), the IP protocol number (u8), one zero byte,
//! the source port and the destination port (u16 each). The two endpoints are ordered
//! first so both directions of a connection hash alike: the one with the smaller address
//! (or, addresses equal, the smaller port) is the source. The SHA-1 digest is written in
//! standard base64 with padding and prefixed with the version, `1:`.
//! Only port-carrying protocols are covered (TCP, UDP, SCTP); ICMP's type/code mapping
//! is not needed here.

use crate::flow::Endpoint;
use base64::Engine;
use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// IANA protocol number of TCP.
pub const PROTO_TCP: u8 = 6;

/// The address's bytes, on the stack (every flow and transfer record computes an ID).
fn addr_bytes(ip: &IpAddr) -> ([u8; 16], usize) {
    let mut b = [0; 16];
    match ip {
        IpAddr::V4(a) => {
            b[..4].copy_from_slice(&a.octets());
            (b, 4)
        }
        IpAddr::V6(a) => (a.octets(), 16),
    }
}

/// The Community ID of the flow between `a` and `b` (either order gives the same ID).
/// Mixed address families cannot occur within one flow; they are hashed as given.
pub fn community_id(seed: u16, proto: u8, a: &Endpoint, b: &Endpoint) -> String {
    let ((ab, an), (bb, bn)) = (addr_bytes(&a.ip), addr_bytes(&b.ip));
    let (ab, bb) = (&ab[..an], &bb[..bn]);
    let a_first = (ab, a.port) <= (bb, b.port);
    let ((src, sport), (dst, dport)) = if a_first {
        ((ab, a.port), (bb, b.port))
    } else {
        ((bb, b.port), (ab, a.port))
    };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(src);
    h.update(dst);
    h.update([proto, 0]);
    h.update(sport.to_be_bytes());
    h.update(dport.to_be_bytes());
    let digest = h.finalize();
    let mut id = String::with_capacity(30);
    id.push_str("1:");
    base64::engine::general_purpose::STANDARD.encode_string(digest, &mut id);
    id
}

/// The Community ID (seed 0) of a TCP connection.
pub fn tcp(client: &Endpoint, server: &Endpoint) -> String {
    community_id(0, PROTO_TCP, client, server)
}

#[cfg(test)]
mod tests;
