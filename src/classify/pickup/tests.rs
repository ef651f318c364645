use super::*;

fn sha(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

#[test]
fn bytes_before_a_done_are_the_files_tail() {
    let mut u = Unframed::default();
    u.data(b"hello", Timestamp(1));
    u.data(b" world", Timestamp(2));
    let p = u.place(100);
    assert_eq!(p.bytes, 11);
    assert_eq!(p.missing, vec![[0, 89]]);
    assert_eq!(p.sha256, Some(sha(b"hello world")));
    assert_eq!((p.first, p.last), (Some(Timestamp(1)), Some(Timestamp(2))));
}

#[test]
fn holes_after_pickup_are_placed_too() {
    let mut u = Unframed::default();
    u.data(b"abc", Timestamp(1));
    u.gap(4);
    u.data(b"xyz", Timestamp(2));
    let p = u.place(20);
    assert_eq!(p.bytes, 6);
    assert_eq!(p.missing, vec![[0, 10], [13, 17]]);
    // A hole right at pickup joins the unseen start.
    let mut u = Unframed::default();
    u.gap(2);
    u.data(b"ab", Timestamp(1));
    assert_eq!(u.place(10).missing, vec![[0, 8]]);
}

#[test]
fn more_than_the_file_keeps_only_its_tail_and_no_hash() {
    let mut u = Unframed::default();
    u.data(b"0123456789", Timestamp(1));
    u.gap(5);
    u.data(b"abcde", Timestamp(2));
    // The file is the last 8 of 20: 3 of them in the hole, then "abcde".
    let p = u.place(8);
    assert_eq!(p.bytes, 5);
    assert_eq!(p.missing, vec![[0, 3]]);
    assert_eq!(p.sha256, None);
    assert_eq!(p.first, None);
}

#[test]
fn nothing_seen_is_all_missing_and_unhashed() {
    let p = Unframed::default().place(7);
    assert_eq!(p.bytes, 0);
    assert_eq!(p.missing, vec![[0, 7]]);
    assert_eq!(p.sha256, None);
    assert_eq!((p.first, p.last), (None, None));
}
