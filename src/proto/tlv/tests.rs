use super::*;

#[test]
fn chain_yields_each_tlv_then_stops_at_a_truncated_one() {
    let mut b = Vec::new();
    put_tlv(&mut b, 0x000A, &[0, 1]);
    put_tlv(&mut b, 0x000F, &[]);
    b.extend_from_slice(&[0x00, 0x05, 0x00, 0x04, 0xAA]);
    let got: Vec<_> = tlvs(&b).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0],
        Ok(Tlv {
            typ: 10,
            value: &[0, 1]
        })
    );
    assert_eq!(
        got[1],
        Ok(Tlv {
            typ: 15,
            value: &[]
        })
    );
    assert!(got[2].is_err());
}
