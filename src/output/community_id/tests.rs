//! Vectors from the spec's published baselines (corelight/community-id-spec,
//! baseline/baseline_deflt.json for seed 0 and baseline/baseline_seed1.json for seed 1).

use super::*;

fn ep(s: &str) -> Endpoint {
    let (ip, port) = s.rsplit_once(' ').unwrap();
    Endpoint::new(ip.parse().unwrap(), port.parse().unwrap())
}

/// (protocol, source, destination, seed 0 ID, seed 1 ID)
const VECTORS: &[(u8, &str, &str, &str, &str)] = &[
    (
        6,
        "128.232.110.120 34855",
        "66.35.250.204 80",
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
        "1:3V71V58M3Ksw/yuFALMcW0LAHvc=",
    ),
    (
        6,
        "2001:470:e5bf:dead:4957:2174:e82c:4887 63943",
        "2607:f8b0:400c:c03::1a 25",
        "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
        "1:eJYTW6AOzFLlSUoESovMjnu7rMw=",
    ),
    (
        17,
        "192.168.1.52 54585",
        "8.8.8.8 53",
        "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
        "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=",
    ),
    // SCTP, equal ports: the addresses alone decide the order.
    (
        132,
        "192.168.170.8 7",
        "192.168.170.56 7",
        "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
        "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=",
    ),
];

#[test]
fn spec_baseline_vectors_both_directions_both_seeds() {
    for &(proto, src, dst, seed0, seed1) in VECTORS {
        let (a, b) = (ep(src), ep(dst));
        assert_eq!(community_id(0, proto, &a, &b), seed0, "{src} -> {dst}");
        assert_eq!(community_id(0, proto, &b, &a), seed0, "{dst} -> {src}");
        assert_eq!(
            community_id(1, proto, &a, &b),
            seed1,
            "{src} -> {dst} seed 1"
        );
        assert_eq!(
            community_id(1, proto, &b, &a),
            seed1,
            "{dst} -> {src} seed 1"
        );
    }
}

#[test]
fn tcp_is_seed_zero_protocol_six() {
    let (a, b) = (ep("66.35.250.204 80"), ep("128.232.110.120 34855"));
    assert_eq!(tcp(&a, &b), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
}
