use super::*;
use etherparse::PacketBuilder;

fn tcp_frame(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([1; 6], [2; 6])
        .single_vlan(etherparse::VlanId::try_new(7).unwrap())
        .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
        .tcp(40000, 5190, 1000, 65535)
        .syn()
        .ack(5);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

#[test]
fn vlan_tagged_tcp_decodes_with_payload_range() {
    let f = tcp_frame(b"OFT2");
    let p = decode_tcp(LinkType::Ethernet, &f).unwrap();
    assert_eq!(&f[p.payload.clone()], b"OFT2");
    assert_eq!(p.src.port, 40000);
    assert_eq!(p.dst.port, 5190);
    assert_eq!(p.seq, 1000);
    assert!(p.flags.syn() && p.flags.ack() && !p.flags.fin());
}

#[test]
fn sll2_and_raw_and_null_decode() {
    let eth = tcp_frame(b"x");
    // Strip Ethernet (14) + VLAN (4) to get the IP packet.
    let ip = &eth[18..];
    let mut sll2 = vec![0u8; SLL2_LEN];
    sll2[0..2].copy_from_slice(&0x0800u16.to_be_bytes());
    sll2.extend_from_slice(ip);
    assert!(decode_tcp(LinkType::LinuxSll2, &sll2).is_ok());
    let mut sll = vec![0u8; SLL_LEN];
    sll[14..16].copy_from_slice(&0x0800u16.to_be_bytes());
    sll.extend_from_slice(ip);
    assert!(decode_tcp(LinkType::LinuxSll, &sll).is_ok());
    assert!(decode_tcp(LinkType::Raw, ip).is_ok());
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(ip);
    assert!(decode_tcp(LinkType::Null, &null).is_ok());
}

#[test]
fn udp_and_arp_are_non_tcp_and_garbage_is_undecodable() {
    let b = PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
        .udp(1, 2);
    let mut v = Vec::new();
    b.write(&mut v, b"hi").unwrap();
    assert_eq!(
        decode_tcp(LinkType::Ethernet, &v).unwrap_err(),
        Skip::NonTcp
    );
    let mut arp = vec![0u8; 42];
    arp[12] = 0x08;
    arp[13] = 0x06;
    assert_eq!(
        decode_tcp(LinkType::Ethernet, &arp).unwrap_err(),
        Skip::NonTcp
    );
    assert_eq!(
        decode_tcp(LinkType::Ethernet, &[1, 2, 3]).unwrap_err(),
        Skip::Undecodable
    );
}

#[test]
fn ipv4_fragment_is_skipped() {
    let mut f = tcp_frame(b"abcdefgh");
    // Set More Fragments on the IPv4 header (after Ethernet + VLAN).
    f[18 + 6] |= 0x20;
    assert_eq!(
        decode_tcp(LinkType::Ethernet, &f).unwrap_err(),
        Skip::Fragment
    );
}
