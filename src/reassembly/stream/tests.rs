use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Data(Vec<u8>),
    Gap(u64),
}

/// Records the stream, merging adjacent data so layouts compare independent of cuts.
#[derive(Default)]
struct Rec(Vec<Ev>);

impl StreamSink for Rec {
    fn data(&mut self, bytes: &[u8]) {
        assert!(!bytes.is_empty(), "empty data call");
        if let Some(Ev::Data(d)) = self.0.last_mut() {
            d.extend_from_slice(bytes);
        } else {
            self.0.push(Ev::Data(bytes.to_vec()));
        }
    }
    fn gap(&mut self, len: u64) {
        assert!(len > 0, "empty gap");
        self.0.push(Ev::Gap(len));
    }
}

const BIG: usize = usize::MAX;

#[test]
fn in_order_delivery_after_syn() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(99, true, false, b"", Origin::default(), BIG, &mut r);
    s.push(100, false, false, b"hello ", Origin::default(), BIG, &mut r);
    s.push(106, false, true, b"world", Origin::default(), BIG, &mut r);
    assert_eq!(r.0, vec![Ev::Data(b"hello world".to_vec())]);
    assert!(s.is_complete());
    assert_eq!(s.delivered_bytes(), 11);
}

#[test]
fn overlap_keeps_first_copy() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(0, true, false, b"", Origin::default(), BIG, &mut r);
    // bytes 4..8 arrive first, then a differing copy of 2..10, then the start.
    assert!(
        !s.push(5, false, false, b"EFGH", Origin::default(), BIG, &mut r)
            .overlap_differing
    );
    assert!(
        s.push(3, false, false, b"cdxxxxij", Origin::default(), BIG, &mut r)
            .overlap_differing
    );
    assert!(
        !s.push(1, false, false, b"ab", Origin::default(), BIG, &mut r)
            .overlap_differing
    );
    assert_eq!(r.0, vec![Ev::Data(b"abcdEFGHij".to_vec())]);
    // An identical overlapping copy is not counted.
    let mut s = StreamReassembler::new();
    s.push(0, true, false, b"", Origin::default(), BIG, &mut r);
    s.push(5, false, false, b"EFGH", Origin::default(), BIG, &mut r);
    assert!(
        !s.push(3, false, false, b"cdEFGHij", Origin::default(), BIG, &mut r)
            .overlap_differing
    );
}

#[test]
fn keepalive_not_a_gap() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(1000, true, false, b"", Origin::default(), BIG, &mut r);
    s.push(1001, false, false, b"abc", Origin::default(), BIG, &mut r);
    // Keep-alives: zero or one garbage byte at next_seq - 1.
    let p = s.push(1003, false, false, b"", Origin::default(), BIG, &mut r);
    let q = s.push(1003, false, false, b"\0", Origin::default(), BIG, &mut r);
    assert_eq!(p, Push::default());
    assert_eq!(q, Push::default());
    s.push(1004, false, true, b"def", Origin::default(), BIG, &mut r);
    s.flush(&mut r);
    assert_eq!(r.0, vec![Ev::Data(b"abcdef".to_vec())]);
    assert_eq!(s.gaps(), 0);
}

#[test]
fn sequence_wraps_at_2_pow_32() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(
        u32::MAX - 2,
        true,
        false,
        b"",
        Origin::default(),
        BIG,
        &mut r,
    );
    s.push(1, false, false, b"DEF", Origin::default(), BIG, &mut r); // after the wrap, out of order
    s.push(
        u32::MAX - 1,
        false,
        false,
        b"ABC",
        Origin::default(),
        BIG,
        &mut r,
    );
    assert_eq!(r.0, vec![Ev::Data(b"ABCDEF".to_vec())]);
    assert_eq!(s.next_seq(), 4);
}

#[test]
fn far_backward_jump_is_dropped_and_counted() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(0, true, false, b"", Origin::default(), BIG, &mut r);
    s.push(1, false, false, b"ab", Origin::default(), BIG, &mut r);
    let p = s.push(
        3u32.wrapping_sub((1 << 30) + 10),
        false,
        false,
        b"zzz",
        Origin::default(),
        BIG,
        &mut r,
    );
    assert_eq!(p.dropped_bytes, 3);
    // An ordinary retransmission is dropped silently.
    assert_eq!(
        s.push(1, false, false, b"ab", Origin::default(), BIG, &mut r),
        Push::default()
    );
    assert_eq!(r.0, vec![Ev::Data(b"ab".to_vec())]);
}

#[test]
fn midstream_starts_at_first_segment() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(500, false, false, b"", Origin::default(), BIG, &mut r); // bare ACK fixes nothing
    assert!(!s.is_started());
    s.push(600, false, false, b"xyz", Origin::default(), BIG, &mut r);
    s.push(597, false, false, b"abcxyz", Origin::default(), BIG, &mut r); // older bytes: lost history
    assert_eq!(r.0, vec![Ev::Data(b"xyz".to_vec())]);
}

#[test]
fn ooo_limit_forces_gap() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    let limit = 2 * piece_cost(10);
    s.push(0, true, false, b"", Origin::default(), limit, &mut r);
    s.push(
        1,
        false,
        false,
        b"0123456789",
        Origin::default(),
        limit,
        &mut r,
    );
    // hole at 10..20; three pieces buffered behind it exceed the limit.
    assert!(
        !s.push(
            21,
            false,
            false,
            b"bbbbbbbbbb",
            Origin::default(),
            limit,
            &mut r
        )
        .forced_gap
    );
    assert!(
        !s.push(
            41,
            false,
            false,
            b"dddddddddd",
            Origin::default(),
            limit,
            &mut r
        )
        .forced_gap
    );
    assert!(
        s.push(
            61,
            false,
            false,
            b"ffffffffff",
            Origin::default(),
            limit,
            &mut r
        )
        .forced_gap
    );
    assert_eq!(
        r.0,
        vec![
            Ev::Data(b"0123456789".to_vec()),
            Ev::Gap(10),
            Ev::Data(b"bbbbbbbbbb".to_vec())
        ]
    );
    assert!(s.buffered_cost() <= limit);
    // The late hole filler is now history and ignored.
    s.push(
        11,
        false,
        false,
        b"aaaaaaaaaa",
        Origin::default(),
        limit,
        &mut r,
    );
    s.flush(&mut r);
    assert_eq!(s.gaps(), 3);
    assert_eq!(s.gap_bytes(), 30);
    assert_eq!(s.delivered_bytes(), 40);
}

/// Names the frame each delivery is attributed to: the pushing one, or (given-up
/// holes) the one that carried the bytes.
#[derive(Default)]
struct Origins(Vec<(Vec<u8>, Option<u64>)>);

impl StreamSink for Origins {
    fn data(&mut self, bytes: &[u8]) {
        self.0.push((bytes.to_vec(), None));
    }
    fn data_from(&mut self, bytes: &[u8], origin: Origin) {
        self.0.push((bytes.to_vec(), Some(origin.frame.0)));
    }
    fn gap(&mut self, _: u64) {}
}

fn from(frame: u64) -> Origin {
    Origin {
        ts: crate::capture::Timestamp(frame * 1_000),
        frame: crate::capture::FrameNo(frame),
    }
}

#[test]
fn bytes_behind_a_given_up_hole_keep_the_frame_that_carried_them() {
    let mut s = StreamReassembler::new();
    let mut r = Origins::default();
    s.push(0, true, false, b"", from(1), BIG, &mut r);
    s.push(1, false, false, b"ab", from(2), BIG, &mut r);
    s.push(5, false, false, b"ef", from(3), BIG, &mut r);
    s.push(7, false, false, b"gh", from(4), BIG, &mut r);
    s.flush(&mut r);
    assert_eq!(
        r.0,
        vec![
            (b"ab".to_vec(), None),
            (b"ef".to_vec(), Some(3)),
            (b"gh".to_vec(), Some(4))
        ]
    );
    // A hole that is filled: the filling frame completed what waited behind it.
    let mut s = StreamReassembler::new();
    let mut r = Origins::default();
    s.push(0, true, false, b"", from(1), BIG, &mut r);
    s.push(3, false, false, b"cd", from(2), BIG, &mut r);
    s.push(1, false, false, b"ab", from(3), BIG, &mut r);
    assert_eq!(r.0, vec![(b"ab".to_vec(), None), (b"cd".to_vec(), None)]);
}

#[test]
fn data_beyond_fin_is_dropped() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(0, true, false, b"", Origin::default(), BIG, &mut r);
    s.push(1, false, true, b"ab", Origin::default(), BIG, &mut r);
    let p = s.push(2, false, false, b"bcd", Origin::default(), BIG, &mut r);
    assert_eq!(p.dropped_bytes, 2);
    assert_eq!(r.0, vec![Ev::Data(b"ab".to_vec())]);
    assert!(s.is_complete());
}

#[test]
fn flush_gaps_up_to_fin() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(0, true, false, b"", Origin::default(), BIG, &mut r);
    s.push(1, false, false, b"ab", Origin::default(), BIG, &mut r);
    s.push(5, false, false, b"ef", Origin::default(), BIG, &mut r);
    s.push(9, false, true, b"", Origin::default(), BIG, &mut r);
    s.flush(&mut r);
    assert_eq!(
        r.0,
        vec![
            Ev::Data(b"ab".to_vec()),
            Ev::Gap(2),
            Ev::Data(b"ef".to_vec()),
            Ev::Gap(2)
        ]
    );
    assert!(s.is_complete());
    assert_eq!(s.buffered_cost(), 0);
}

const O: Origin = Origin {
    ts: Timestamp(0),
    frame: FrameNo(0),
};

#[test]
fn snapped_segment_in_order_delivers_what_was_captured_then_a_gap_at_once() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(0, true, false, b"", O, BIG, &mut r);
    // 10 bytes on the wire, 4 captured.
    s.push_cut(1, false, false, b"abcd", 6, O, BIG, &mut r);
    assert_eq!(r.0, vec![Ev::Data(b"abcd".to_vec()), Ev::Gap(6)]);
    assert_eq!(s.next_offset(), 10, "the stream moved past the cut bytes");
    assert_eq!(s.buffered_cost(), 0, "nothing waits");
    s.push(11, false, true, b"klm", O, BIG, &mut r);
    assert!(s.is_complete());
    assert_eq!(
        r.0,
        vec![
            Ev::Data(b"abcd".to_vec()),
            Ev::Gap(6),
            Ev::Data(b"klm".to_vec())
        ]
    );
    assert_eq!((s.gaps(), s.gap_bytes(), s.delivered_bytes()), (1, 6, 7));
}

#[test]
fn snapped_segment_out_of_order_gaps_when_delivery_reaches_it() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(0, true, false, b"", O, BIG, &mut r);
    s.push(15, false, false, b"opq", O, BIG, &mut r);
    s.push_cut(5, false, false, b"ef", 8, O, BIG, &mut r);
    assert!(r.0.is_empty(), "everything waits behind 0..4: {:?}", r.0);
    s.push(1, false, false, b"abcd", O, BIG, &mut r);
    assert_eq!(
        r.0,
        vec![
            Ev::Data(b"abcdef".to_vec()),
            Ev::Gap(8),
            Ev::Data(b"opq".to_vec())
        ]
    );
    assert_eq!(s.buffered_cost(), 0);
}

#[test]
fn a_whole_copy_of_snapped_bytes_that_arrived_still_fills_them() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(0, true, false, b"", O, BIG, &mut r);
    // Out of order: a whole retransmission of 7..9 arrives before the snapped
    // segment 5..14 and the filler of 0..4.
    s.push(7, false, false, b"ghi", O, BIG, &mut r);
    s.push_cut(5, false, false, b"ef", 8, O, BIG, &mut r);
    s.push(1, false, false, b"abcd", O, BIG, &mut r);
    assert_eq!(r.0, vec![Ev::Data(b"abcdefghi".to_vec()), Ev::Gap(5)]);
    assert_eq!(s.next_offset(), 14);
}

#[test]
fn a_fully_snapped_payload_and_a_fin_on_a_snapped_segment_end_the_stream() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    // Midstream: the first segment seen carries no captured payload at all.
    s.push_cut(500, false, false, b"", 100, O, BIG, &mut r);
    assert!(s.is_started());
    s.push_cut(600, false, true, b"xy", 3, O, BIG, &mut r);
    assert!(s.is_complete(), "FIN placed after the cut bytes");
    assert_eq!(
        r.0,
        vec![Ev::Gap(100), Ev::Data(b"xy".to_vec()), Ev::Gap(3)]
    );
}

#[test]
fn snapped_ranges_count_against_the_buffer_limit_and_flush() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(0, true, false, b"", O, BIG, &mut r);
    s.push_cut(11, false, false, b"k", 9, O, BIG, &mut r);
    assert_eq!(s.buffered_cost(), piece_cost(1) + PIECE_OVERHEAD);
    s.flush(&mut r);
    assert_eq!(r.0, vec![Ev::Gap(10), Ev::Data(b"k".to_vec()), Ev::Gap(9)]);
    assert_eq!(s.buffered_cost(), 0);
    // Over a tight limit, the hole before a snapped range is given up like any other.
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(0, true, false, b"", O, 0, &mut r);
    let p = s.push_cut(11, false, false, b"", 9, O, 0, &mut r);
    assert!(p.forced_gap);
    assert_eq!(r.0, vec![Ev::Gap(10), Ev::Gap(9)]);
    assert_eq!(s.buffered_cost(), 0);
}

#[test]
fn differing_retransmission_of_delivered_bytes_is_counted_within_the_window() {
    let mut s = StreamReassembler::new();
    s.set_recent_window(8);
    let mut r = Rec::default();
    s.push(0, true, false, b"", O, BIG, &mut r);
    s.push(1, false, false, b"0123456789", O, BIG, &mut r);
    // Identical copies, whole or partly new, are not counted.
    assert!(
        !s.push(5, false, false, b"456789ab", O, BIG, &mut r)
            .overlap_differing
    );
    assert!(
        !s.push(5, false, false, b"4567", O, BIG, &mut r)
            .overlap_differing
    );
    // Different content over delivered bytes is.
    assert!(
        s.push(7, false, false, b"6X", O, BIG, &mut r)
            .overlap_differing
    );
    assert!(
        s.push(10, false, false, b"9Abc", O, BIG, &mut r)
            .overlap_differing
    );
    // Bytes older than the window cannot be compared, so are not counted.
    assert!(
        !s.push(1, false, false, b"XX", O, BIG, &mut r)
            .overlap_differing
    );
    // A keep-alive's garbage byte at next - 1 is no retransmission.
    let ka = s.push(
        s.next_seq().wrapping_sub(1),
        false,
        false,
        b"\0",
        O,
        BIG,
        &mut r,
    );
    assert_eq!(ka, Push::default());
    // The first copy still wins.
    assert_eq!(r.0, vec![Ev::Data(b"0123456789abc".to_vec())]);
    // A gap breaks the window: bytes before it are not compared with what follows.
    s.push(20, false, false, b"tu", O, BIG, &mut r);
    s.flush_buffered(&mut r);
    assert!(
        !s.push(13, false, false, b"c", O, BIG, &mut r)
            .overlap_differing
    );
    assert!(
        s.push(20, false, false, b"Tu", O, BIG, &mut r)
            .overlap_differing
    );
}

#[test]
fn without_a_window_delivered_bytes_are_not_compared() {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(0, true, false, b"", O, BIG, &mut r);
    s.push(1, false, false, b"0123456789", O, BIG, &mut r);
    assert!(
        !s.push(1, false, false, b"XXXX", O, BIG, &mut r)
            .overlap_differing
    );
}

#[test]
fn the_window_keeps_at_most_its_size() {
    let mut s = StreamReassembler::new();
    s.set_recent_window(4);
    let mut r = Rec::default();
    s.push(0, true, false, b"", O, BIG, &mut r);
    s.push(1, false, false, &[7u8; 1000], O, BIG, &mut r);
    for i in 0..10u32 {
        s.push(1001 + i, false, false, b"z", O, BIG, &mut r);
    }
    assert_eq!(s.recent.len(), 4);
    assert!(
        s.push(1007, false, false, b"zzzy", O, BIG, &mut r)
            .overlap_differing
    );
    assert!(
        !s.push(1006, false, false, b"7zzz", O, BIG, &mut r)
            .overlap_differing
    );
}

mod prop;

#[test]
fn pieces_are_charged_as_the_allocator_sizes_them() {
    assert_eq!(piece_cost(1), 8 + PIECE_OVERHEAD);
    assert_eq!(piece_cost(64), 64 + PIECE_OVERHEAD);
    assert_eq!(piece_cost(1024), 1024 + PIECE_OVERHEAD);
    assert_eq!(piece_cost(1025), 1280 + PIECE_OVERHEAD);
    // A full-size Ethernet segment's payload.
    assert_eq!(piece_cost(1448), 1536 + PIECE_OVERHEAD);
    for len in 1..5000 {
        assert!(piece_cost(len) >= len + PIECE_OVERHEAD);
        assert!(piece_cost(len) < len + len / 4 + 8 + PIECE_OVERHEAD);
    }
}
