use super::*;

#[test]
fn same_seed_same_sequence_different_seed_different_sequence() {
    let a: Vec<u64> = {
        let mut r = XorShift64::new(7);
        (0..16).map(|_| r.next_u64()).collect()
    };
    let b: Vec<u64> = {
        let mut r = XorShift64::new(7);
        (0..16).map(|_| r.next_u64()).collect()
    };
    let c: Vec<u64> = {
        let mut r = XorShift64::new(8);
        (0..16).map(|_| r.next_u64()).collect()
    };
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn zero_seed_is_not_stuck() {
    let mut r = XorShift64::new(0);
    let x = r.next_u64();
    assert_ne!(x, 0);
    assert_ne!(x, r.next_u64());
}

#[test]
fn range_stays_inside_bounds() {
    let mut r = XorShift64::new(3);
    for _ in 0..1000 {
        let v = r.range(10, 12);
        assert!((10..=12).contains(&v));
    }
    assert_eq!(r.range(5, 5), 5);
    assert_eq!(r.below(0), 0);
}
