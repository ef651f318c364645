use super::*;
use oftsniff::proto::parse_oft_header;

#[test]
fn every_kind_builds_deterministically() {
    for &(name, kind) in KINDS {
        let a = build(kind, 5, Variant::ALL).pcap.into_frames();
        let b = build(kind, 5, Variant::ALL).pcap.into_frames();
        assert!(!a.is_empty(), "{name}");
        assert_eq!(a.len(), b.len(), "{name}");
        assert!(a.iter().zip(&b).all(|(x, y)| x.data == y.data), "{name}");
    }
}

#[test]
fn utf16_long_prompt_is_longer_than_256_and_parses_back() {
    let offers = offers(
        1,
        &DirectOpts {
            utf16: true,
            ..DirectOpts::default()
        },
    );
    let bytes = offers[0].prompt(1, 1, 10).emit();
    assert!(bytes.len() > 256);
    assert!(offers[0].name.raw.len() > 64);
    let (h, used) = parse_oft_header(&bytes).unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(h.name.display(), offers[0].display);
}

#[test]
fn reorder_keeps_each_directions_bytes_and_slots() {
    let plain = build(Kind::Direct, 3, Variant::PLAIN);
    let shuffled = build(Kind::Direct, 3, Variant::REORDERED);
    let a = plain.pcap.into_frames();
    let b = shuffled.pcap.into_frames();
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).any(|(x, y)| x.data != y.data));
    let mut x: Vec<_> = a.iter().map(|f| f.data.clone()).collect();
    let mut y: Vec<_> = b.iter().map(|f| f.data.clone()).collect();
    x.sort();
    y.sort();
    assert_eq!(x, y);
}
