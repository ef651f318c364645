use super::*;
use proptest::prelude::*;

/// A stream cut at random points, one segment per piece.
fn segments(len: usize, cuts: &[usize]) -> Vec<(usize, usize)> {
    let mut pts: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
    pts.push(0);
    pts.push(len);
    pts.sort_unstable();
    pts.dedup();
    pts.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Layout the reassembler must produce when the bytes in `covered` arrived:
/// the original with each maximal missing run replaced by one gap of its length.
fn expected(data: &[u8], covered: &[bool]) -> Vec<Ev> {
    let mut r = Rec::default();
    let mut i = 0;
    while i < data.len() {
        let mut j = i;
        while j < data.len() && covered[j] == covered[i] {
            j += 1;
        }
        if covered[i] {
            r.data(&data[i..j]);
        } else {
            r.gap((j - i) as u64);
        }
        i = j;
    }
    r.0
}

#[derive(Debug, Clone)]
struct Case {
    data: Vec<u8>,
    isn: u32,
    cuts: Vec<usize>,
    order: Vec<usize>,
    dups: Vec<(usize, usize, usize)>,
    drop: Vec<bool>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(any::<u8>(), 0..3000),
        prop_oneof![Just(u32::MAX), u32::MAX - 4000..=u32::MAX, any::<u32>()],
        proptest::collection::vec(any::<usize>(), 0..40),
        proptest::collection::vec(any::<usize>(), 0..80),
        proptest::collection::vec((any::<usize>(), any::<usize>(), any::<usize>()), 0..20),
        proptest::collection::vec(any::<bool>(), 0..40),
    )
        .prop_map(|(data, isn, cuts, order, dups, drop)| Case {
            data,
            isn,
            cuts,
            order,
            dups,
            drop,
        })
}

/// Segments as sent: the cut pieces plus overlapping retransmits (identical bytes)
/// spanning random ranges, shuffled by `order`.
fn schedule(c: &Case, with_drops: bool) -> (Vec<(usize, usize)>, Vec<bool>) {
    let len = c.data.len();
    let mut segs = segments(len, &c.cuts);
    if with_drops {
        segs = segs
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !c.drop.get(*i).copied().unwrap_or(false))
            .map(|(_, s)| s)
            .collect();
    }
    let mut covered = vec![false; len];
    for &(a, b) in &segs {
        covered[a..b].iter_mut().for_each(|x| *x = true);
    }
    // Retransmits cover only bytes that were sent, so drops stay holes.
    for &(x, y, _) in &c.dups {
        if len == 0 {
            break;
        }
        let (a, b) = (x % len, y % len);
        let (a, b) = (a.min(b), a.max(b) + 1);
        if covered[a..b].iter().all(|&v| v) {
            segs.push((a, b));
        }
    }
    // Reorder: swap by the random list (a permutation applied as swaps).
    let n = segs.len();
    for (i, &o) in c.order.iter().enumerate() {
        if n > 1 {
            segs.swap(i % n, o % n);
        }
    }
    (segs, covered)
}

fn run(c: &Case, segs: &[(usize, usize)], max_ooo: usize) -> (Rec, StreamReassembler) {
    let mut s = StreamReassembler::new();
    let mut r = Rec::default();
    s.push(c.isn, true, false, b"", Origin::default(), max_ooo, &mut r);
    let base = c.isn.wrapping_add(1);
    for &(a, b) in segs {
        let seq = base.wrapping_add(a as u32);
        s.push(
            seq,
            false,
            false,
            &c.data[a..b],
            Origin::default(),
            max_ooo,
            &mut r,
        );
    }
    // A bare FIN, never lost, marks where the stream ends.
    let fin_seq = base.wrapping_add(c.data.len() as u32);
    s.push(
        fin_seq,
        false,
        true,
        b"",
        Origin::default(),
        max_ooo,
        &mut r,
    );
    s.flush(&mut r);
    (r, s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reassembles_original_bytes(c in case()) {
        let (segs, _) = schedule(&c, false);
        let (r, s) = run(&c, &segs, BIG);
        let want = if c.data.is_empty() { vec![] } else { vec![Ev::Data(c.data.clone())] };
        prop_assert_eq!(r.0, want);
        prop_assert_eq!(s.gaps(), 0);
        prop_assert_eq!(s.buffered_cost(), 0);
        prop_assert!(s.is_complete());
    }

    #[test]
    fn dropped_segments_become_exact_gaps(c in case()) {
        let (segs, covered) = schedule(&c, true);
        let (r, s) = run(&c, &segs, BIG);
        let want = expected(&c.data, &covered);
        let missing = covered.iter().filter(|&&v| !v).count() as u64;
        prop_assert_eq!(r.0, want);
        prop_assert_eq!(s.gap_bytes(), missing);
        prop_assert_eq!(s.delivered_bytes(), c.data.len() as u64 - missing);
    }

    #[test]
    fn snapped_segments_deliver_what_was_captured_and_gap_the_rest(
        c in case(),
        snaps in proptest::collection::vec(any::<Option<usize>>(), 0..40),
    ) {
        // Each segment may have been cut by a snap length, keeping a prefix; in any
        // order, with some segments lost, every captured byte is delivered at its
        // offset and every other byte is in a gap of the right length.
        let (segs, mut covered) = schedule(&Case { dups: vec![], ..c.clone() }, true);
        let mut s = StreamReassembler::new();
        let mut r = Rec::default();
        s.push(c.isn, true, false, b"", Origin::default(), BIG, &mut r);
        let base = c.isn.wrapping_add(1);
        for (i, &(a, b)) in segs.iter().enumerate() {
            let keep = match snaps.get(i).copied().flatten() {
                Some(k) => k % (b - a + 1),
                None => b - a,
            };
            covered[a + keep..b].iter_mut().for_each(|x| *x = false);
            let seq = base.wrapping_add(a as u32);
            let cut = (b - a - keep) as u32;
            s.push_cut(seq, false, false, &c.data[a..a + keep], cut, Origin::default(), BIG, &mut r);
        }
        let fin_seq = base.wrapping_add(c.data.len() as u32);
        s.push(fin_seq, false, true, b"", Origin::default(), BIG, &mut r);
        s.flush(&mut r);
        // A snapped tail next to a lost segment is reported as two gaps: merge them
        // to compare with the layout.
        let mut got: Vec<Ev> = Vec::new();
        for ev in r.0 {
            match (got.last_mut(), ev) {
                (Some(Ev::Gap(g)), Ev::Gap(h)) => *g += h,
                (_, ev) => got.push(ev),
            }
        }
        let missing = covered.iter().filter(|&&v| !v).count() as u64;
        prop_assert_eq!(got, expected(&c.data, &covered));
        prop_assert_eq!(s.gap_bytes(), missing);
        prop_assert_eq!(s.buffered_cost(), 0);
        prop_assert!(s.is_complete());
    }

    #[test]
    fn small_buffer_keeps_layout(c in case(), lim in 0usize..600) {
        // Under a tight limit holes may widen, but every delivered byte sits at its
        // true offset and data plus gaps add up to the whole stream.
        let (segs, _) = schedule(&c, true);
        let (r, s) = run(&c, &segs, lim);
        let mut off = 0usize;
        for ev in &r.0 {
            match ev {
                Ev::Data(d) => {
                    prop_assert_eq!(&d[..], &c.data[off..off + d.len()]);
                    off += d.len();
                }
                Ev::Gap(g) => off += *g as usize,
            }
        }
        prop_assert_eq!(off, c.data.len());
        prop_assert_eq!(s.buffered_cost(), 0);
    }
}
