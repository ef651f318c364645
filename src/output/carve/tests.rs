use super::*;

#[test]
fn coverage_merges_overlapping_and_adjacent_ranges() {
    let mut c = Coverage::default();
    c.add(10, 20);
    c.add(30, 40);
    c.add(20, 25); // adjacent to the first
    c.add(35, 50); // overlaps the second
    c.add(5, 12); // overlaps the first from below
    assert_eq!(
        c.ranges.iter().map(|(&s, &e)| (s, e)).collect::<Vec<_>>(),
        [(5, 25), (30, 50)]
    );
    c.add(0, 100);
    assert_eq!(c.ranges.len(), 1);
    assert!(c.missing(100).is_empty());
}

#[test]
fn missing_is_the_complement_within_the_announced_size() {
    let mut c = Coverage::default();
    assert_eq!(c.missing(10), [(0, 10)]);
    c.add(2, 4);
    c.add(6, 8);
    assert_eq!(c.missing(10), [(0, 2), (4, 6), (8, 10)]);
    assert_eq!(c.missing(7), [(0, 2), (4, 6)]);
    assert!(c.missing(0).is_empty());
}
