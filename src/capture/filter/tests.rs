use super::*;
use crate::capture::frame::{FrameNo, Timestamp};

/// An Ethernet/IPv4/TCP frame (no payload) from `src` to `dst`, ports 5190 → 40000.
fn tcp_frame(src: [u8; 4], dst: [u8; 4]) -> Frame {
    let mut d = vec![0u8; 12];
    d.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    d.extend_from_slice(&ip);
    let mut tcp = vec![
        0x14, 0x46, 0x9c, 0x40, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
    ];
    tcp.extend_from_slice(&[0, 0, 0, 0]);
    d.extend_from_slice(&tcp);
    Frame {
        no: FrameNo(1),
        ts: Timestamp(0),
        orig_len: d.len() as u32,
        link: LinkType::Ethernet,
        data: d.into(),
    }
}

#[test]
fn bad_expression_is_one_line_naming_it() {
    let e = FilterExpr::new("host and and").unwrap_err();
    let line = e.to_string();
    assert!(
        line.starts_with("bad capture filter 'host and and': "),
        "{line}"
    );
    assert!(!line.contains('\n'));
}

#[test]
fn host_filter_keeps_only_that_host() {
    let mut f = FrameFilter::new(FilterExpr::new("host 198.18.0.2").unwrap());
    assert!(f
        .matches(&tcp_frame([198, 18, 0, 2], [198, 18, 0, 3]))
        .unwrap());
    assert!(f
        .matches(&tcp_frame([198, 18, 0, 3], [198, 18, 0, 2]))
        .unwrap());
    assert!(!f
        .matches(&tcp_frame([198, 18, 0, 4], [198, 18, 0, 5]))
        .unwrap());
}

#[test]
fn port_filter_reads_the_tcp_header() {
    let mut f = FrameFilter::new(FilterExpr::new("tcp port 5190").unwrap());
    assert!(f
        .matches(&tcp_frame([198, 18, 0, 2], [198, 18, 0, 3]))
        .unwrap());
    let mut g = FrameFilter::new(FilterExpr::new("tcp port 80").unwrap());
    assert!(!g
        .matches(&tcp_frame([198, 18, 0, 2], [198, 18, 0, 3]))
        .unwrap());
}

#[test]
fn raw_ip_frames_get_their_own_program() {
    let mut frame = tcp_frame([198, 18, 0, 2], [198, 18, 0, 3]);
    frame.data.to_mut().drain(..14);
    frame.link = LinkType::Raw;
    let mut f = FrameFilter::new(FilterExpr::new("src host 198.18.0.2").unwrap());
    assert!(f.matches(&frame).unwrap());
    let mut ether = FrameFilter::new(FilterExpr::new("ether host 00:00:00:00:00:01").unwrap());
    assert!(ether.matches(&frame).is_err());
}
