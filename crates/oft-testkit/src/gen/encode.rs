//! Segments to Ethernet frames: Ethernet II, IPv4 or IPv6, TCP, with valid IP and TCP
//! checksums (etherparse computes them).

use super::tcp::{Segment, TcpFlags};
use etherparse::{PacketBuilder, TcpOptionElement};
use oftsniff::capture::{Frame, FrameNo, LinkType};
use std::net::IpAddr;

const TTL: u8 = 64;

/// Writes `seg` as one Ethernet frame into `buf` (cleared first), so a streaming writer
/// can reuse one buffer for every frame.
pub fn encode_into(seg: &Segment, buf: &mut Vec<u8>) {
    buf.clear();
    let link = PacketBuilder::ethernet2(mac(seg.src.ip), mac(seg.dst.ip));
    let ip = match (seg.src.ip, seg.dst.ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => link.ipv4(s.octets(), d.octets(), TTL),
        (IpAddr::V6(s), IpAddr::V6(d)) => link.ipv6(s.octets(), d.octets(), TTL),
        // TcpConv refuses mixed families; Segments built by hand are the caller's bug.
        _ => panic!("segment {} -> {} mixes IP families", seg.src, seg.dst),
    };
    let mut tcp = ip.tcp(seg.src.port, seg.dst.port, seg.seq, seg.window);
    let f = seg.flags;
    if f.contains(TcpFlags::SYN) {
        tcp = tcp.syn();
    }
    if f.contains(TcpFlags::FIN) {
        tcp = tcp.fin();
    }
    if f.contains(TcpFlags::RST) {
        tcp = tcp.rst();
    }
    if f.contains(TcpFlags::PSH) {
        tcp = tcp.psh();
    }
    if f.contains(TcpFlags::ACK) {
        tcp = tcp.ack(seg.ack);
    }
    if let Some(mss) = seg.mss_option {
        tcp = tcp
            .options(&[TcpOptionElement::MaximumSegmentSize(mss)])
            .expect("one MSS option always fits the TCP option space");
    }
    buf.reserve(tcp.size(seg.payload.len()));
    tcp.write(buf, &seg.payload)
        .expect("payload within MAX_SEGMENT_PAYLOAD and writing to a Vec cannot fail");
}

/// `seg` as a captured Ethernet frame; its number is assigned when frames are merged.
pub fn frame(seg: &Segment) -> Frame {
    let mut data = Vec::new();
    encode_into(seg, &mut data);
    Frame {
        no: FrameNo(0),
        ts: seg.ts,
        orig_len: data.len() as u32,
        link: LinkType::Ethernet,
        data: data.into(),
    }
}

/// A locally administered MAC that carries the host's address, so a capture reader can
/// tell hosts apart at the link layer too.
fn mac(ip: IpAddr) -> [u8; 6] {
    let tail = match ip {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(a) => {
            let o = a.octets();
            [o[12], o[13], o[14], o[15]]
        }
    };
    [0x02, 0x00, tail[0], tail[1], tail[2], tail[3]]
}
