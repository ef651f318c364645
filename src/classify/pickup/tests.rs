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

/// The partial checksum is the whole file's checksum with every unseen byte zeroed, so a
/// user holding the file can check it; both parities of the unseen prefix, and a hole.
#[test]
fn partial_checksum_is_the_file_with_unseen_bytes_zeroed() {
    use crate::proto::checksum::OftChecksum;
    let file: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    for start in [100usize, 101] {
        let mut u = Unframed::default();
        u.data(&file[start..500], Timestamp(1));
        u.gap(33);
        u.data(&file[533..], Timestamp(2));
        let p = u.place(file.len() as u64);
        let mut zeroed = file.clone();
        zeroed[..start].fill(0);
        zeroed[500..533].fill(0);
        assert_eq!(
            p.checksum_partial,
            Some(OftChecksum::of(&zeroed)),
            "{start}"
        );
        assert_ne!(p.checksum_partial, Some(OftChecksum::of(&file)), "{start}");
    }
    // More bytes than the file: which of them are its own is not known.
    let mut u = Unframed::default();
    u.data(&file, Timestamp(1));
    assert_eq!(u.place(10).checksum_partial, None);
}
