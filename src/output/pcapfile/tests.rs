use super::*;

#[test]
fn header_and_record_layout() {
    let mut w = PcapFileWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
    w.write_record(Timestamp::from_parts(5, 7), 100, &[1, 2, 3])
        .unwrap();
    let v = w.into_inner();
    assert_eq!(v.len(), 24 + 16 + 3);
    assert_eq!(&v[0..4], &MAGIC_NANOS.to_le_bytes());
    assert_eq!(u32::from_le_bytes(v[20..24].try_into().unwrap()), 1);
    assert_eq!(u32::from_le_bytes(v[24..28].try_into().unwrap()), 5);
    assert_eq!(u32::from_le_bytes(v[28..32].try_into().unwrap()), 7);
    assert_eq!(u32::from_le_bytes(v[32..36].try_into().unwrap()), 3);
    assert_eq!(u32::from_le_bytes(v[36..40].try_into().unwrap()), 100);
    assert_eq!(&v[40..], &[1, 2, 3]);
}
