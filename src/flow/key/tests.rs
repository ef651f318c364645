use super::*;

fn ep(s: &str) -> Endpoint {
    s.parse::<SocketAddr>().unwrap().into()
}

#[test]
fn both_directions_share_key_and_hash() {
    let (k1, d1) = FlowKey::from_segment(ep("198.18.0.1:5190"), ep("198.18.0.2:40000"));
    let (k2, d2) = FlowKey::from_segment(ep("198.18.0.2:40000"), ep("198.18.0.1:5190"));
    assert_eq!(k1, k2);
    assert_eq!(k1.shard_hash(), k2.shard_hash());
    assert_ne!(d1, d2);
    assert_eq!(k1.src(d1), ep("198.18.0.1:5190"));
    assert_eq!(k2.src(d2), ep("198.18.0.2:40000"));
}
