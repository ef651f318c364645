//! Named small captures, each a function of a seed. `oftgen NAME OUT.pcap` writes any of
//! them; adding a scenario means adding one entry to `SCENARIOS`.

use super::mutate::{Mutations, Mutator};
use super::oft::{self, Kind, Variant};
use super::pcap::PcapBuilder;
use super::rng::XorShift64;
use super::tcp::{Dir, TcpConv};
use oftsniff::capture::Timestamp;
use oftsniff::flow::key::Endpoint;
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
    Scenario {
        name: "oft-direct",
        about: "direct OFT transfer (request #1): FLAP PROPOSE/ACCEPT on both clients' BOS, receiver connects to the sender's 5190",
        build: |seed| oft::build(Kind::Direct, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-direct-chat",
        about: "oft-direct with instant messages (channel 1) around it: two before the PROPOSE, one \
                after the close, and one from a third screen name to the receiver",
        build: |seed| oft::build(Kind::DirectChat, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-getfile",
        about: "Get File: the owner offers its listing (0x1108), the requester takes it \
                (0x1209, data, 0x120B) and asks for one file (0x120C), sent as in Send File",
        build: |seed| oft::build(Kind::GetFile, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-reversed",
        about: "redirect (request #2): the file sender is the TCP initiator and sends the PROMPT",
        build: |seed| oft::build(Kind::Reversed, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-proxy-stage1",
        about: "ARS proxy, the file sender creates the session (INIT_SEND), the receiver joins; OFT relayed on both legs",
        build: |seed| oft::build(Kind::ProxyStage1, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-proxy-stage2",
        about: "ARS proxy after a direct offer, the receiver creates the session, the sender joins (INIT_RECV)",
        build: |seed| oft::build(Kind::ProxyStage2, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-proxy-skip",
        about: "stage-1 proxy; the receiver already has the file: PROMPT answered by DONE, no data",
        build: |seed| oft::build(Kind::ProxySkip, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-resume",
        about: "direct; RESUME -> RESUME_ACCEPT -> RESUME_ACK at an odd offset, then the rest of the file",
        build: |seed| oft::build(Kind::Resume, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-folder",
        about: "direct; a folder of three files (0x01 separators) on one connection, files_left counting down",
        build: |seed| oft::build(Kind::Folder, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-utf16-long",
        about: "direct; UTF-16BE file name longer than 64 bytes (header longer than 256)",
        build: |seed| oft::build(Kind::Utf16Long, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-rst-mid-data",
        about: "direct; the receiver resets mid-data and sends a CANCEL on BOS",
        build: |seed| oft::build(Kind::RstMidData, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-port80",
        about: "direct transfer with the sender listening on port 80",
        build: |seed| oft::build(Kind::Port80, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-port443",
        about: "direct transfer with the sender listening on port 443",
        build: |seed| oft::build(Kind::Port443, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-flap-443",
        about: "direct transfer with both OSCAR (FLAP) connections on port 443",
        build: |seed| oft::build(Kind::Flap443, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "nearmiss-http-oft2",
        about: "not OFT: an HTTP response whose body quotes an OFT2 PROMPT (\"Cool FileXfer\")",
        build: |seed| oft::build(Kind::NearmissHttp, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "nearmiss-proxy-garbage",
        about: "not OFT: a stream that starts like a proxy INIT_SEND and continues as garbage",
        build: |seed| oft::build(Kind::NearmissProxyGarbage, seed, Variant::PLAIN).pcap,
    },
    Scenario {
        name: "oft-direct-mangled",
        about: "oft-direct with segments reordered within each direction, duplicated, and the \
                PROMPT split 100 + 156 bytes",
        build: |seed| oft::build(Kind::Direct, seed, Variant::ALL).pcap,
    },
    Scenario {
        name: "oft-proxy-stage1-mangled",
        about: "oft-proxy-stage1 reordered, duplicated, PROMPT split 100 + 156 on both legs",
        build: |seed| oft::build(Kind::ProxyStage1, seed, Variant::ALL).pcap,
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
