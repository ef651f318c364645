use super::*;
use crate::capture::{FrameNo, LinkType};

fn f(no: u64, ts_ms: u64) -> Frame {
    Frame {
        no: FrameNo(no),
        ts: Timestamp(ts_ms * 1_000_000),
        orig_len: 10,
        link: LinkType::Ethernet,
        data: vec![0; 10].into(),
    }
}

fn drain(b: &mut ReorderBuffer<u32, ()>) -> Vec<u64> {
    std::iter::from_fn(|| b.pop(true))
        .map(|(_, _, fr)| fr.no.0)
        .collect()
}

#[test]
fn interleaved_connections_merge_in_timestamp_order() {
    let mut b = ReorderBuffer::new(ReorderLimits::default());
    // Worker 1 sends conn 1 in a batch, then worker 2 sends conn 2 with older frames.
    for (no, ts) in [(1, 10), (3, 30), (5, 50)] {
        b.push(1u32, (), f(no, ts));
    }
    for (no, ts) in [(2, 20), (4, 40), (6, 60)] {
        b.push(2u32, (), f(no, ts));
    }
    assert_eq!(drain(&mut b), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn connection_keeps_capture_order_when_timestamps_step_back() {
    let mut b = ReorderBuffer::new(ReorderLimits::default());
    b.push(1u32, (), f(1, 10));
    b.push(1u32, (), f(2, 5)); // clock stepped back inside conn 1
    b.push(2u32, (), f(3, 7));
    let out = drain(&mut b);
    let p1 = out.iter().position(|&n| n == 1).unwrap();
    let p2 = out.iter().position(|&n| n == 2).unwrap();
    assert!(p1 < p2, "conn 1 order lost: {out:?}");
    assert_eq!(out, [3, 1, 2]);
}

#[test]
fn frames_wait_for_the_window_in_packet_time() {
    let limits = ReorderLimits {
        window: Duration::from_millis(100),
        ..Default::default()
    };
    let mut b = ReorderBuffer::new(limits);
    b.push(1u32, (), f(1, 1000));
    b.push(2u32, (), f(2, 1050));
    assert!(b.pop(false).is_none(), "released before the window passed");
    b.push(1u32, (), f(3, 1100));
    assert_eq!(b.pop(false).map(|x| x.2.no.0), Some(1));
    assert!(b.pop(false).is_none());
    assert_eq!(b.len(), 2);
}

#[test]
fn frame_limit_forces_oldest_out() {
    let limits = ReorderLimits {
        max_frames: 2,
        ..Default::default()
    };
    let mut b = ReorderBuffer::new(limits);
    b.push(1u32, (), f(1, 3));
    b.push(2u32, (), f(2, 1));
    assert!(b.pop(false).is_none());
    b.push(3u32, (), f(3, 2));
    assert_eq!(b.pop(false).map(|x| x.2.no.0), Some(2));
    assert!(b.pop(false).is_none());
}

#[test]
fn byte_limit_forces_oldest_out() {
    let limits = ReorderLimits {
        max_bytes: 15,
        ..Default::default()
    };
    let mut b = ReorderBuffer::new(limits);
    b.push(1u32, (), f(1, 3));
    assert!(b.pop(false).is_none());
    b.push(2u32, (), f(2, 4));
    assert_eq!(b.pop(false).map(|x| x.2.no.0), Some(1));
    assert!(b.is_empty() || b.pop(false).is_none());
}
