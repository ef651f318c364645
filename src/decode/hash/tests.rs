use super::*;
use etherparse::PacketBuilder;

fn frame(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(src, dst, 64)
        .tcp(sp, dp, 1, 1000)
        .write(&mut v, b"payload")
        .unwrap();
    v
}

#[test]
fn both_directions_hash_alike() {
    let a = shard(
        LinkType::Ethernet,
        &frame([198, 18, 0, 1], [198, 18, 0, 2], 4000, 5190),
    );
    let b = shard(
        LinkType::Ethernet,
        &frame([198, 18, 0, 2], [198, 18, 0, 1], 5190, 4000),
    );
    let c = shard(
        LinkType::Ethernet,
        &frame([198, 18, 0, 2], [198, 18, 0, 1], 5191, 4000),
    );
    assert!(matches!(a, Shard::Tcp(_)));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn udp_is_not_tcp_and_short_is_unknown() {
    let mut v = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv6([1; 16], [2; 16], 64)
        .udp(1, 2)
        .write(&mut v, b"x")
        .unwrap();
    assert_eq!(shard(LinkType::Ethernet, &v), Shard::NotTcp);
    assert_eq!(shard(LinkType::Ethernet, &v[..20]), Shard::Unknown);
}

use crate::decode::decode_tcp;
use etherparse::{
    IpHeaders, IpNumber, Ipv4Header, Ipv6Extensions, Ipv6Header, Ipv6RawExtHeader, VlanId,
};
use std::net::IpAddr;

/// A header layout under test: builds the frame of one direction of a connection.
type Build = fn(IpAddr, IpAddr, u16, u16, &[u8]) -> Vec<u8>;

fn v4(a: IpAddr) -> [u8; 4] {
    match a {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(_) => unreachable!("an IPv4 case"),
    }
}
fn v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(_) => unreachable!("an IPv6 case"),
    }
}

/// Two VLAN tags, the outer one's TPID overwritten to `outer` (etherparse writes 0x88a8
/// or 0x8100 there itself, and knows no 0x9200).
fn qinq(outer: u16, src: IpAddr, dst: IpAddr, sp: u16, dp: u16, p: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .double_vlan(VlanId::try_new(100).unwrap(), VlanId::try_new(7).unwrap())
        .ipv4(v4(src), v4(dst), 64)
        .tcp(sp, dp, 1000, 65535)
        .ack(1)
        .write(&mut v, p)
        .unwrap();
    v[12..14].copy_from_slice(&outer.to_be_bytes());
    v[16..18].copy_from_slice(&0x8100u16.to_be_bytes());
    v
}

fn qinq_88a8(s: IpAddr, d: IpAddr, sp: u16, dp: u16, p: &[u8]) -> Vec<u8> {
    qinq(0x88a8, s, d, sp, dp, p)
}
fn qinq_9100(s: IpAddr, d: IpAddr, sp: u16, dp: u16, p: &[u8]) -> Vec<u8> {
    qinq(0x9100, s, d, sp, dp, p)
}
fn qinq_9200(s: IpAddr, d: IpAddr, sp: u16, dp: u16, p: &[u8]) -> Vec<u8> {
    qinq(0x9200, s, d, sp, dp, p)
}

fn ipv6_with_ext_headers(s: IpAddr, d: IpAddr, sp: u16, dp: u16, p: &[u8]) -> Vec<u8> {
    // PadN options filling each header to its 8 octets; next-header values are
    // chained by the builder.
    let pad = [1u8, 4, 0, 0, 0, 0];
    let exts = Ipv6Extensions {
        hop_by_hop_options: Some(Ipv6RawExtHeader::new_raw(IpNumber::TCP, &pad).unwrap()),
        destination_options: Some(Ipv6RawExtHeader::new_raw(IpNumber::TCP, &pad).unwrap()),
        ..Default::default()
    };
    let ip = Ipv6Header {
        hop_limit: 64,
        source: v6(s),
        destination: v6(d),
        ..Default::default()
    };
    let mut v = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ip(IpHeaders::Ipv6(ip, exts))
        .tcp(sp, dp, 1000, 65535)
        .ack(1)
        .write(&mut v, p)
        .unwrap();
    // Both headers really are there: hop-by-hop (0) first, then destination options (60).
    assert_eq!(v[14 + 6], 0);
    assert_eq!(v[14 + 40], 60);
    v
}

fn ipv4_with_options(s: IpAddr, d: IpAddr, sp: u16, dp: u16, p: &[u8]) -> Vec<u8> {
    let mut ip = Ipv4Header::new(0, 64, IpNumber::TCP, v4(s), v4(d)).unwrap();
    // Record route (7), room for two addresses, then end of list: 12 octets.
    ip.options = [7u8, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0].into();
    let mut v = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ip(IpHeaders::Ipv4(ip, Default::default()))
        .tcp(sp, dp, 1000, 65535)
        .ack(1)
        .write(&mut v, p)
        .unwrap();
    assert_eq!(v[14] & 0x0f, 8, "IHL covers the options");
    v
}

/// The hash the dispatcher must have used, computed from what the decoder found.
fn hash_of_decoded(f: &[u8]) -> u64 {
    let p = decode_tcp(LinkType::Ethernet, f).expect("decodes to TCP");
    let bytes = |a: IpAddr| match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    sym_hash(&bytes(p.src.ip), &bytes(p.dst.ip), p.src.port, p.dst.port)
}

#[test]
fn tagged_and_optioned_headers_decode_and_shard_symmetrically() {
    let v4a: IpAddr = "198.18.0.1".parse().unwrap();
    let v4b: IpAddr = "198.18.0.2".parse().unwrap();
    let v6a: IpAddr = "2001:db8::1".parse().unwrap();
    let v6b: IpAddr = "2001:db8::2".parse().unwrap();
    let cases: [(&str, Build, IpAddr, IpAddr); 5] = [
        ("QinQ 0x88a8+0x8100", qinq_88a8, v4a, v4b),
        ("QinQ 0x9100+0x8100", qinq_9100, v4a, v4b),
        ("QinQ 0x9200+0x8100", qinq_9200, v4a, v4b),
        (
            "IPv6 hop-by-hop + destination options",
            ipv6_with_ext_headers,
            v6a,
            v6b,
        ),
        ("IPv4 with options", ipv4_with_options, v4a, v4b),
    ];
    for (name, build, a, b) in cases {
        let fwd = build(a, b, 40000, 5190, b"OFT2");
        let rev = build(b, a, 5190, 40000, b"");
        let p = decode_tcp(LinkType::Ethernet, &fwd)
            .unwrap_or_else(|e| panic!("{name}: not decoded: {e:?}"));
        assert_eq!((p.src.ip, p.src.port), (a, 40000), "{name}");
        assert_eq!((p.dst.ip, p.dst.port), (b, 5190), "{name}");
        assert_eq!(&fwd[p.payload.clone()], b"OFT2", "{name}");
        let r = decode_tcp(LinkType::Ethernet, &rev).unwrap();
        assert_eq!((r.src, r.dst), (p.dst, p.src), "{name}");

        let (sf, sr) = (
            shard(LinkType::Ethernet, &fwd),
            shard(LinkType::Ethernet, &rev),
        );
        assert!(matches!(sf, Shard::Tcp(_)), "{name}: {sf:?}");
        assert_eq!(sf, sr, "{name}: both directions on one worker");
        assert_eq!(
            sf,
            Shard::Tcp(hash_of_decoded(&fwd)),
            "{name}: hash agrees with decode"
        );
        assert_eq!(sr, Shard::Tcp(hash_of_decoded(&rev)), "{name}");
        // Another connection between the same hosts lands elsewhere in hash space.
        let other = build(a, b, 40001, 5190, b"");
        assert_ne!(shard(LinkType::Ethernet, &other), sf, "{name}");
    }
}

#[test]
fn a_legacy_outer_tag_over_non_ip_is_not_tcp_and_endless_tags_are_not_guessed() {
    let mut arp = qinq_9100(
        "198.18.0.1".parse().unwrap(),
        "198.18.0.2".parse().unwrap(),
        1,
        2,
        b"",
    );
    arp[20..22].copy_from_slice(&0x0806u16.to_be_bytes());
    assert_eq!(shard(LinkType::Ethernet, &arp), Shard::NotTcp);
    assert_eq!(
        decode_tcp(LinkType::Ethernet, &arp).unwrap_err(),
        crate::decode::Skip::NonTcp
    );
    // Nothing but tags: neither side walks past the bound, and they agree it is unusable.
    let mut tags = vec![0u8; 12];
    for _ in 0..=MAX_VLAN_TAGS {
        tags.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
    }
    tags.extend_from_slice(&[0x08, 0x00]);
    tags.resize(tags.len() + 60, 0);
    assert_eq!(shard(LinkType::Ethernet, &tags), Shard::Unknown);
    assert_eq!(
        decode_tcp(LinkType::Ethernet, &tags).unwrap_err(),
        crate::decode::Skip::Undecodable
    );
}
