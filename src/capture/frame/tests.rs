use super::*;

#[test]
fn every_link_type_number_survives_the_round_trip() {
    for n in [0, 1, 12, 14, 101, 108, 113, 228, 229, 276] {
        let l = LinkType::from_linktype(n).unwrap();
        assert_eq!(l.linktype(), n, "{l:?}");
    }
    assert_eq!(LinkType::from_linktype(2), None);
}
