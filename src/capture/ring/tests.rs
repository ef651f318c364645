use super::block::Tpacket3Hdr;
use super::setup::TpacketReq3;
use super::socket::{link_type_for_arphrd, PacketMreq, TpacketStatsV3};
use super::*;
use std::mem;

#[test]
fn kernel_struct_layouts_match_the_uapi_headers() {
    // Sizes from <linux/if_packet.h> on every Linux ABI.
    assert_eq!(mem::size_of::<Tpacket3Hdr>(), 48);
    assert_eq!(mem::size_of::<TpacketReq3>(), 28);
    assert_eq!(mem::size_of::<TpacketStatsV3>(), 12);
    assert_eq!(mem::size_of::<PacketMreq>(), 16);
}

#[test]
fn unknown_interface_is_reported_as_such() {
    for name in ["oftsniff-nope0", "bad\0name", "a-name-longer-than-ifnamsiz"] {
        let e = RingSource::open(name, &RingOptions::default())
            .err()
            .expect("must fail");
        assert!(
            matches!(e, CaptureError::NoSuchInterface { .. }),
            "{name}: {e}"
        );
    }
}

#[test]
fn ring_geometry_is_checked_before_any_socket_call() {
    let opts = RingOptions {
        block_size: 1000,
        ..RingOptions::default()
    };
    let e = RingSource::open("lo", &opts).err().expect("must fail");
    assert!(e.to_string().contains("page size"), "{e}");
}

#[test]
fn hardware_types_map_to_link_types() {
    assert_eq!(
        link_type_for_arphrd(libc::ARPHRD_ETHER),
        Some(LinkType::Ethernet)
    );
    assert_eq!(
        link_type_for_arphrd(libc::ARPHRD_LOOPBACK),
        Some(LinkType::Ethernet)
    );
    assert_eq!(link_type_for_arphrd(libc::ARPHRD_NONE), Some(LinkType::Raw));
    assert_eq!(link_type_for_arphrd(libc::ARPHRD_IEEE80211_RADIOTAP), None);
}
