//! Named small captures, each a function of a seed. `oftgen NAME OUT.pcap` writes any of
//! them; adding a scenario means adding one entry to `SCENARIOS`.

use super::mutate::{Mutations, Mutator};
use super::pcap::PcapBuilder;
use super::rng::XorShift64;
use super::tcp::{Dir, TcpConv};
use crate::capture::Timestamp;
use crate::flow::key::Endpoint;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub build: fn(seed: u64) -> PcapBuilder,
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "conn",
        about: "one IPv4 connection: handshake, 2 KB request, 20 KB response, FIN both ways",
        build: conn,
    },
    Scenario {
        name: "conn-v6",
        about: "the same connection over IPv6 (2001:db8::/32 documentation addresses)",
        build: conn_v6,
    },
    Scenario {
        name: "conn-wrap-mutated",
        about: "sequence numbers wrapping 2^32, with reordering, duplicates and overlapping \
                retransmits (identical bytes, no drops)",
        build: conn_wrap_mutated,
    },
];

pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// Start time of every scenario: a fixed instant, so files are byte-identical on rerun.
pub const START: Timestamp = Timestamp(1_704_067_200 * Timestamp::NANOS_PER_SEC);

fn v4(last: u8, port: u16) -> Endpoint {
    Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, last)), port)
}

fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    XorShift64::new(seed).fill(&mut v);
    v
}

fn request_response(mut c: TcpConv, seed: u64) -> TcpConv {
    c.handshake();
    c.advance(Duration::from_millis(1));
    c.send(Dir::ClientToServer, &payload(seed, 2_000));
    c.advance(Duration::from_millis(2));
    c.send(Dir::ServerToClient, &payload(seed.wrapping_add(1), 20_000));
    c.advance(Duration::from_millis(1));
    c.close();
    c
}

fn conn(seed: u64) -> PcapBuilder {
    let c = request_response(TcpConv::new(v4(1, 40_000), v4(2, 80), START), seed);
    let mut b = PcapBuilder::new();
    b.add_conv(&c);
    b
}

fn conn_v6(seed: u64) -> PcapBuilder {
    let ip = |last| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last));
    let c = TcpConv::new(
        Endpoint::new(ip(1), 40_000),
        Endpoint::new(ip(2), 80),
        START,
    );
    let mut b = PcapBuilder::new();
    b.add_conv(&request_response(c, seed));
    b
}

fn conn_wrap_mutated(seed: u64) -> PcapBuilder {
    let c =
        TcpConv::new(v4(1, 40_001), v4(2, 80), START).with_isns(u32::MAX - 3_000, u32::MAX - 10);
    let mut segs = request_response(c, seed).into_segments();
    let m = Mutations {
        duplicate: 0.1,
        overlap: 0.2,
        reorder_window: 4,
        ..Mutations::default()
    };
    Mutator::new(seed).apply(&mut segs, &m);
    let mut b = PcapBuilder::new();
    b.add_segments(&segs);
    b
}
