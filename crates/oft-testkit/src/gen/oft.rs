//! Synthesized OFT file transfers: both clients' OSCAR (FLAP) connections carrying the
//! rendezvous, and the data connection(s) — direct, reversed or through an ARS proxy —
//! carrying OFT2. Every protocol byte comes from the project's emitters (`proto::*`), so
//! these captures test the parsers' peers against the session layer, not hand-made bytes.
//!
//! Each scenario is a function of a seed (file contents, cookie) and a `Variant` that
//! damages the capture the way a real network tap may see it: segments reordered within a
//! direction, segments seen twice, the PROMPT split across two segments (100 + rest).
//! A variant changes frames, never what happened, so it must not change the report.

use super::mutate::{Mutations, Mutator};
use super::pcap::PcapBuilder;
use super::rng::XorShift64;
use super::tcp::{Dir, Segment, TcpConv};
use oftsniff::capture::Timestamp;
use oftsniff::flow::key::Endpoint;
use oftsniff::proto::checksum::OftChecksum;
use oftsniff::proto::flap::{channel, FlapFrame};
use oftsniff::proto::oft::{FileName, OftHeader, OftType};
use oftsniff::proto::proxy::ProxyFrame;
use oftsniff::proto::rendezvous::{RendezvousMsg, ServiceData};
use oftsniff::proto::{Capability, Cookie};
use std::net::{IpAddr, Ipv4Addr};

/// How a capture is damaged on its way to the sniffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Variant {
    /// Data-carrying segments shuffled within blocks of four of the same direction (the
    /// order between the two directions stays causal: an answer never precedes the bytes
    /// it answers on a tap between the peers).
    pub reorder: bool,
    /// About one segment in five appears twice.
    pub duplicate: bool,
    /// Every PROMPT goes out as two segments, the first 100 bytes long.
    pub split_prompt: bool,
}

impl Variant {
    pub const PLAIN: Variant = Variant {
        reorder: false,
        duplicate: false,
        split_prompt: false,
    };
    pub const REORDERED: Variant = Variant {
        reorder: true,
        ..Variant::PLAIN
    };
    pub const DUPLICATED: Variant = Variant {
        duplicate: true,
        ..Variant::PLAIN
    };
    pub const SPLIT_PROMPT: Variant = Variant {
        split_prompt: true,
        ..Variant::PLAIN
    };
    pub const ALL: Variant = Variant {
        reorder: true,
        duplicate: true,
        split_prompt: true,
    };
}

/// Where the PROMPT is cut in the split variant.
pub const PROMPT_SPLIT_AT: usize = 100;

/// Which transfer a scenario scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Request #1: the receiver connects to the sender's listener.
    Direct,
    /// Request #2 redirect: the sender connects to the receiver and sends the PROMPT.
    Reversed,
    /// The file sender creates the proxy session (INIT_SEND), the receiver joins.
    ProxyStage1,
    /// The receiver creates the proxy session after the direct offer, the sender joins.
    ProxyStage2,
    /// Stage-1 proxy; the receiver already has the file: PROMPT answered by DONE.
    ProxySkip,
    /// Direct; RESUME → RESUME_ACCEPT → RESUME_ACK, then the rest of the file.
    Resume,
    /// Direct; a folder of three files on one connection.
    Folder,
    /// Direct; a UTF-16BE name longer than 64 bytes (header longer than 256).
    Utf16Long,
    /// Direct; the receiver resets the connection in the middle of the data and cancels.
    RstMidData,
    /// Direct with the sender listening on port 80.
    Port80,
    /// Direct with the sender listening on port 443.
    Port443,
    /// Direct, with both OSCAR connections on port 443.
    Flap443,
    /// Not OFT: an HTTP exchange whose body holds an OFT2 header ("Cool FileXfer").
    NearmissHttp,
    /// Not OFT: a stream that starts like a proxy INIT_SEND and goes on as garbage.
    NearmissProxyGarbage,
}

/// Named scenarios, also registered in `gen::scenarios` for `oftgen`.
pub const KINDS: &[(&str, Kind)] = &[
    ("oft-direct", Kind::Direct),
    ("oft-reversed", Kind::Reversed),
    ("oft-proxy-stage1", Kind::ProxyStage1),
    ("oft-proxy-stage2", Kind::ProxyStage2),
    ("oft-proxy-skip", Kind::ProxySkip),
    ("oft-resume", Kind::Resume),
    ("oft-folder", Kind::Folder),
    ("oft-utf16-long", Kind::Utf16Long),
    ("oft-rst-mid-data", Kind::RstMidData),
    ("oft-port80", Kind::Port80),
    ("oft-port443", Kind::Port443),
    ("oft-flap-443", Kind::Flap443),
    ("nearmiss-http-oft2", Kind::NearmissHttp),
    ("nearmiss-proxy-garbage", Kind::NearmissProxyGarbage),
];

pub fn kind_by_name(name: &str) -> Option<Kind> {
    KINDS.iter().find(|(n, _)| *n == name).map(|&(_, k)| k)
}

/// A file the scenario offered, and what of it crossed the wire.
#[derive(Clone, Debug)]
pub struct GenFile {
    /// As a sniffer should print it: folder components joined with '/'.
    pub name: String,
    /// The whole file.
    pub data: Vec<u8>,
    /// Resume offset: the wire carries `data[offset..]`.
    pub offset: u64,
    /// Bytes of the file that were sent before the connection broke (`data.len()` when
    /// it was not broken; 0 when skipped).
    pub sent: u64,
}

impl GenFile {
    /// The bytes that crossed the wire.
    pub fn on_wire(&self) -> &[u8] {
        let end = (self.offset + self.sent) as usize;
        &self.data[self.offset as usize..end]
    }
}

/// A generated capture and what it holds.
pub struct OftCapture {
    pub pcap: PcapBuilder,
    pub files: Vec<GenFile>,
    pub cookie: Cookie,
    pub sender_name: &'static str,
    pub receiver_name: &'static str,
    /// "ip:port" of the file sender and receiver on the data connection (direct) or of
    /// each client on its proxy leg.
    pub sender: Option<String>,
    pub receiver: Option<String>,
    pub proxy: Option<String>,
}

pub const SENDER_NAME: &str = "alice198";
pub const RECEIVER_NAME: &str = "bob198";

/// Start of every OFT scenario (a fixed instant: reruns are byte-identical).
const START: Timestamp = super::scenarios::START;

fn ep(net: u8, host: u8, port: u16) -> Endpoint {
    Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, net, host)), port)
}

fn v4(e: Endpoint) -> Ipv4Addr {
    match e.ip {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => unreachable!("OFT scenarios are IPv4"),
    }
}

const SENDER_IP: (u8, u8) = (1, 10);
const RECEIVER_IP: (u8, u8) = (2, 20);
const OSCAR_IP: (u8, u8) = (0, 5);
const PROXY_IP: (u8, u8) = (0, 9);

fn sender_ep(port: u16) -> Endpoint {
    ep(SENDER_IP.0, SENDER_IP.1, port)
}
fn receiver_ep(port: u16) -> Endpoint {
    ep(RECEIVER_IP.0, RECEIVER_IP.1, port)
}

/// One clock shared by every connection of a scenario, so their frames interleave the way
/// the story goes.
struct Net {
    now: Timestamp,
    convs: Vec<TcpConv>,
}

/// Index of a connection in `Net::convs`.
#[derive(Clone, Copy)]
struct C(usize);

impl Net {
    fn new() -> Net {
        Net {
            now: START,
            convs: Vec::new(),
        }
    }

    fn wait_ms(&mut self, ms: u64) {
        self.now = Timestamp(self.now.0 + ms * 1_000_000);
    }

    fn open(&mut self, client: Endpoint, server: Endpoint, handshake: bool) -> C {
        let mut c = TcpConv::new(client, server, self.now);
        if handshake {
            c.handshake();
        }
        self.now = c.now();
        self.convs.push(c);
        C(self.convs.len() - 1)
    }

    fn on(&mut self, c: C, f: impl FnOnce(&mut TcpConv)) {
        let conv = &mut self.convs[c.0];
        conv.catch_up(self.now);
        f(conv);
        self.now = conv.now();
    }

    fn send(&mut self, c: C, dir: Dir, bytes: &[u8]) {
        self.on(c, |conv| conv.send(dir, bytes));
    }

    /// One message in one segment, or in two when `split` says where to cut it.
    fn send_msg(&mut self, c: C, dir: Dir, bytes: &[u8], split: Option<usize>) {
        self.on(c, |conv| match split {
            Some(at) if at < bytes.len() => {
                conv.send_segment(dir, &bytes[..at]);
                conv.send_segment(dir, &bytes[at..]);
                conv.ack(dir);
            }
            _ => conv.send(dir, bytes),
        });
    }

    /// Every connection's segments, damaged per `v`, merged in time order.
    fn finish(self, v: Variant, seed: u64) -> PcapBuilder {
        let mut b = PcapBuilder::new();
        for (i, conv) in self.convs.into_iter().enumerate() {
            let mut segs = conv.into_segments();
            mutate(
                &mut segs,
                v,
                seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9),
            );
            b.add_segments(&segs);
        }
        b
    }
}

fn mutate(segs: &mut Vec<Segment>, v: Variant, seed: u64) {
    if v.duplicate {
        let m = Mutations {
            duplicate: 0.2,
            ..Mutations::default()
        };
        Mutator::new(seed).apply(segs, &m);
    }
    if v.reorder {
        reorder_within_directions(segs, seed.wrapping_add(1));
    }
}

/// Shuffles data segments of one direction among the slots they occupy, within runs
/// that no data of the other direction interrupts: a tap between the peers can see a
/// direction's bytes out of order, but never an answer before the bytes it answers.
/// Each slot keeps its time, so the merged capture stays in time order.
fn reorder_within_directions(segs: &mut [Segment], seed: u64) {
    let mut m = Mutator::new(seed);
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut open: Option<(Endpoint, usize)> = None;
    for (i, seg) in segs.iter().enumerate() {
        if seg.payload.is_empty() {
            continue;
        }
        match open {
            Some((src, r)) if src == seg.src => runs[r].push(i),
            _ => {
                runs.push(vec![i]);
                open = Some((seg.src, runs.len() - 1));
            }
        }
    }
    for slots in runs.into_iter().filter(|r| r.len() > 1) {
        let times: Vec<Timestamp> = slots.iter().map(|&i| segs[i].ts).collect();
        let mut mine: Vec<Segment> = slots.iter().map(|&i| segs[i].clone()).collect();
        m.apply(
            &mut mine,
            &Mutations {
                reorder_window: 4,
                ..Mutations::default()
            },
        );
        for ((slot, mut seg), ts) in slots.into_iter().zip(mine).zip(times) {
            seg.ts = ts;
            segs[slot] = seg;
        }
    }
}

/// An OSCAR connection of one client: FLAP sign-on frames, then rendezvous ICBMs.
struct Bos {
    conn: C,
    client_seq: u16,
    server_seq: u16,
    request_id: u32,
}

impl Bos {
    fn open(net: &mut Net, client: Endpoint, server: Endpoint) -> Bos {
        let conn = net.open(client, server, true);
        let mut b = Bos {
            conn,
            client_seq: 0x1000 + client.port,
            server_seq: 0x2000,
            request_id: 1,
        };
        // Both sides open with a channel-1 FLAP carrying protocol version 1.
        let hello = |seq| {
            FlapFrame {
                channel: channel::NEW_CONNECTION,
                seq,
                data: &1u32.to_be_bytes(),
            }
            .emit()
        };
        net.send(b.conn, Dir::ServerToClient, &hello(b.server_seq));
        net.send(b.conn, Dir::ClientToServer, &hello(b.client_seq));
        b.server_seq += 1;
        b.client_seq += 1;
        b
    }

    /// SNAC 4/6 from this client to the server.
    fn up(&mut self, net: &mut Net, msg: &RendezvousMsg) {
        let bytes = msg.emit_flap(self.client_seq, self.request_id);
        self.client_seq = self.client_seq.wrapping_add(1);
        self.request_id += 1;
        net.send(self.conn, Dir::ClientToServer, &bytes);
    }

    /// SNAC 4/7 from the server to this client.
    fn down(&mut self, net: &mut Net, msg: &RendezvousMsg) {
        let bytes = msg.emit_flap(self.server_seq, 0);
        self.server_seq = self.server_seq.wrapping_add(1);
        net.send(self.conn, Dir::ServerToClient, &bytes);
    }

    fn close(&self, net: &mut Net) {
        net.on(self.conn, |c| c.close());
    }
}

/// Both clients' OSCAR connections, relaying each message the way the server does
/// (4/6 from the author, 4/7 to the recipient with the author's verified IP added to a
/// PROPOSE).
struct Oscar {
    sender: Bos,
    receiver: Bos,
}

impl Oscar {
    fn open(net: &mut Net, port: u16) -> Oscar {
        let server = ep(OSCAR_IP.0, OSCAR_IP.1, port);
        let sender = Bos::open(net, sender_ep(40_001), server);
        net.wait_ms(3);
        let receiver = Bos::open(net, receiver_ep(40_002), server);
        Oscar { sender, receiver }
    }

    /// `msg` from the file sender to the receiver.
    fn relay_from_sender(&mut self, net: &mut Net, msg: RendezvousMsg) {
        let verified = v4(sender_ep(0));
        self.sender.up(net, &msg.clone().to_host(RECEIVER_NAME));
        net.wait_ms(20);
        let mut down = msg.to_client(SENDER_NAME);
        if down.kind == oftsniff::proto::rendezvous::RvKind::Propose {
            down.verified_ip = Some(verified);
        }
        self.receiver.down(net, &down);
    }

    /// `msg` from the receiver to the file sender.
    fn relay_from_receiver(&mut self, net: &mut Net, msg: RendezvousMsg) {
        let verified = v4(receiver_ep(0));
        self.receiver.up(net, &msg.clone().to_host(SENDER_NAME));
        net.wait_ms(20);
        let mut down = msg.to_client(RECEIVER_NAME);
        if down.kind == oftsniff::proto::rendezvous::RvKind::Propose {
            down.verified_ip = Some(verified);
        }
        self.sender.down(net, &down);
    }

    fn close(&self, net: &mut Net) {
        self.sender.close(net);
        self.receiver.close(net);
    }
}

/// The data path between the peers: one connection, or two legs through the proxy.
enum Path {
    /// `sender` is the direction the file sender sends in.
    Direct { conn: C, sender: Dir },
    /// Each client is the TCP client of its own leg.
    Proxied { sender_leg: C, receiver_leg: C },
}

impl Path {
    /// (connection, direction) hops a message from the sender (or receiver) takes.
    fn hops(&self, from_sender: bool) -> Vec<(C, Dir)> {
        match *self {
            Path::Direct { conn, sender } => {
                vec![(
                    conn,
                    if from_sender {
                        sender
                    } else {
                        sender.reverse()
                    },
                )]
            }
            Path::Proxied {
                sender_leg,
                receiver_leg,
            } => {
                let (a, b) = if from_sender {
                    (sender_leg, receiver_leg)
                } else {
                    (receiver_leg, sender_leg)
                };
                vec![(a, Dir::ClientToServer), (b, Dir::ServerToClient)]
            }
        }
    }

    fn message(&self, net: &mut Net, from_sender: bool, bytes: &[u8], split: Option<usize>) {
        for (c, d) in self.hops(from_sender) {
            net.send_msg(c, d, bytes, split);
            net.wait_ms(1);
        }
    }

    /// File bytes from the sender, relayed chunk by chunk on a proxied path.
    fn data(&self, net: &mut Net, bytes: &[u8]) {
        for chunk in bytes.chunks(16 * 1024) {
            for (c, d) in self.hops(true) {
                net.send(c, d, chunk);
            }
            net.wait_ms(2);
        }
    }

    /// The receiver closes first, then the sender (Appendix B); on a proxied path the
    /// proxy passes each close on.
    fn close(&self, net: &mut Net) {
        match *self {
            Path::Direct { conn, sender } => {
                net.on(conn, |c| c.fin(sender.reverse()));
                net.wait_ms(50);
                net.on(conn, |c| c.fin(sender));
            }
            Path::Proxied {
                sender_leg,
                receiver_leg,
            } => {
                net.on(receiver_leg, |c| c.fin(Dir::ClientToServer));
                net.on(receiver_leg, |c| c.fin(Dir::ServerToClient));
                net.wait_ms(50);
                net.on(sender_leg, |c| c.fin(Dir::ServerToClient));
                net.on(sender_leg, |c| c.fin(Dir::ClientToServer));
            }
        }
    }
}

/// File contents: pseudo-random bytes from the seed.
fn contents(seed: u64, salt: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    XorShift64::new(seed ^ salt.wrapping_mul(0x2545_f491_4f6c_dd1d)).fill(&mut v);
    v
}

/// A libpurple-style cookie: seven ASCII digits and a NUL.
fn cookie(seed: u64) -> Cookie {
    let n = XorShift64::new(seed ^ 0x00c0_0c1e).below(10_000_000);
    let mut c = [0u8; 8];
    c[..7].copy_from_slice(format!("{n:07}").as_bytes());
    Cookie(c)
}

/// One file as offered: the PROMPT header and its bytes.
struct Offer {
    name: FileName,
    display: String,
    data: Vec<u8>,
}

impl Offer {
    fn new(name: FileName, data: Vec<u8>) -> Offer {
        let display = name.display();
        Offer {
            name,
            display,
            data,
        }
    }

    fn prompt(&self, total_files: u16, files_left: u16, total_size: u32) -> OftHeader {
        OftHeader::prompt(
            Cookie::ZERO,
            self.name.clone(),
            self.data.len() as u32,
            OftChecksum::of(&self.data),
            total_files,
            files_left,
            total_size,
        )
    }
}

/// How the receiver answers a PROMPT.
#[derive(Clone, Copy)]
enum Answer {
    Accept,
    Skip,
    Resume {
        offset: usize,
    },
    /// Accept, then reset the connection after this many data bytes.
    ResetAfter {
        bytes: usize,
    },
}

/// The OFT exchange for `offers` on `path`; returns what crossed the wire per file.
/// `accept_by`: the client (true: the file sender) that sends the ACCEPT on BOS right
/// after the first PROMPT, as Pidgin does on a direct or redirected connection.
fn exchange(
    net: &mut Net,
    path: &Path,
    ck: Cookie,
    offers: &[Offer],
    answer: Answer,
    v: Variant,
    mut accept_by: Option<(&mut Oscar, bool)>,
) -> Vec<GenFile> {
    let total_size: u32 = offers.iter().map(|o| o.data.len() as u32).sum();
    let n = offers.len() as u16;
    let split = v.split_prompt.then_some(PROMPT_SPLIT_AT);
    let mut out = Vec::new();
    for (i, o) in offers.iter().enumerate() {
        let last = i + 1 == offers.len();
        let prompt = o.prompt(n, n - i as u16, total_size);
        let size = o.data.len() as u32;
        path.message(net, true, &prompt.emit(), split);
        if let Some((oscar, by_sender)) = accept_by.take() {
            if by_sender {
                oscar.relay_from_sender(net, accept(ck));
            } else {
                oscar.relay_from_receiver(net, accept(ck));
            }
        }
        net.wait_ms(5);
        let mut file = GenFile {
            name: o.display.clone(),
            data: o.data.clone(),
            offset: 0,
            sent: o.data.len() as u64,
        };
        match answer {
            Answer::Accept => {
                path.message(net, false, &prompt.ack(ck).emit(), None);
                net.wait_ms(100);
                path.data(net, &o.data);
            }
            Answer::Skip => {
                file.sent = 0;
            }
            Answer::Resume { offset } => {
                let prefix = OftChecksum::of(&o.data[..offset]);
                path.message(
                    net,
                    false,
                    &prompt.resume(ck, offset as u32, prefix).emit(),
                    None,
                );
                let accept = OftHeader {
                    bytes_received: offset as u32,
                    ..prompt.reply(OftType::ResumeAccept, ck)
                };
                path.message(net, true, &accept.emit(), None);
                let rack = OftHeader {
                    bytes_received: offset as u32,
                    ..prompt.reply(OftType::ResumeAck, ck)
                };
                path.message(net, false, &rack.emit(), None);
                net.wait_ms(100);
                path.data(net, &o.data[offset..]);
                file.offset = offset as u64;
                file.sent = (o.data.len() - offset) as u64;
            }
            Answer::ResetAfter { bytes } => {
                path.message(net, false, &prompt.ack(ck).emit(), None);
                net.wait_ms(100);
                path.data(net, &o.data[..bytes]);
                file.sent = bytes as u64;
                out.push(file);
                return out;
            }
        }
        net.wait_ms(10);
        let done = prompt.done(ck, size, OftChecksum::of(&o.data), last);
        path.message(net, false, &done.emit(), None);
        out.push(file);
    }
    out
}

fn service_data(offers: &[Offer], folder: Option<&str>) -> ServiceData {
    let total: u32 = offers.iter().map(|o| o.data.len() as u32).sum();
    match folder {
        Some(name) => ServiceData {
            kind: ServiceData::MULTIPLE_FILES,
            count: offers.len() as u16,
            total_size: total,
            name: format!("{name}\\*"),
        },
        None => ServiceData {
            kind: ServiceData::SINGLE_FILE,
            count: 1,
            total_size: total,
            name: offers[0].display.clone(),
        },
    }
}

/// A direct offer from the sender: its own IP, the port it listens on, the file.
fn direct_propose(
    ck: Cookie,
    port: u16,
    file: ServiceData,
    charset: Option<&str>,
) -> RendezvousMsg {
    let mut p = RendezvousMsg::propose(ck, Capability::SEND_FILE, 1);
    p.client_ip = Some(v4(sender_ep(0)));
    p.port = Some(port);
    p.file = Some(file);
    p.charset = charset.map(str::to_owned);
    p
}

fn accept(ck: Cookie) -> RendezvousMsg {
    RendezvousMsg::accept(ck, Capability::SEND_FILE)
}

/// Builds the capture of scenario `kind`.
pub fn build(kind: Kind, seed: u64, v: Variant) -> OftCapture {
    match kind {
        Kind::Direct => direct(seed, v, DirectOpts::default()),
        Kind::Port80 => direct(
            seed,
            v,
            DirectOpts {
                listen_port: 80,
                size: 3_001,
                ..DirectOpts::default()
            },
        ),
        Kind::Port443 => direct(
            seed,
            v,
            DirectOpts {
                listen_port: 443,
                size: 4_097,
                ..DirectOpts::default()
            },
        ),
        Kind::Flap443 => direct(
            seed,
            v,
            DirectOpts {
                oscar_port: 443,
                size: 6_000,
                ..DirectOpts::default()
            },
        ),
        Kind::Resume => direct(
            seed,
            v,
            DirectOpts {
                size: 30_000,
                answer: Answer::Resume { offset: 12_345 },
                ..DirectOpts::default()
            },
        ),
        Kind::Folder => direct(
            seed,
            v,
            DirectOpts {
                folder: true,
                ..DirectOpts::default()
            },
        ),
        Kind::Utf16Long => direct(
            seed,
            v,
            DirectOpts {
                utf16: true,
                size: 9_999,
                ..DirectOpts::default()
            },
        ),
        Kind::RstMidData => direct(
            seed,
            v,
            DirectOpts {
                size: 100_000,
                answer: Answer::ResetAfter { bytes: 40_000 },
                ..DirectOpts::default()
            },
        ),
        Kind::Reversed => reversed(seed, v),
        Kind::ProxyStage1 => proxied(seed, v, true, Answer::Accept),
        Kind::ProxySkip => proxied(seed, v, true, Answer::Skip),
        Kind::ProxyStage2 => proxied(seed, v, false, Answer::Accept),
        Kind::NearmissHttp => nearmiss_http(seed, v),
        Kind::NearmissProxyGarbage => nearmiss_proxy_garbage(seed, v),
    }
}

struct DirectOpts {
    listen_port: u16,
    oscar_port: u16,
    size: usize,
    answer: Answer,
    folder: bool,
    utf16: bool,
}

impl Default for DirectOpts {
    fn default() -> Self {
        DirectOpts {
            listen_port: 5190,
            oscar_port: 5190,
            size: 48_213,
            answer: Answer::Accept,
            folder: false,
            utf16: false,
        }
    }
}

fn offers(seed: u64, o: &DirectOpts) -> Vec<Offer> {
    if o.folder {
        return [("a.bin", 5_000), ("notes.txt", 1_234), ("b.bin", 70_001)]
            .iter()
            .enumerate()
            .map(|(i, &(n, len))| {
                Offer::new(
                    FileName::from_components(&["photos", n]),
                    contents(seed, i as u64 + 1, len),
                )
            })
            .collect();
    }
    let name = if o.utf16 {
        FileName::utf16(
            "Überweisungsbestätigung-Quartalsbericht-endgültige-Fassung-für-das-Archiv-№7.pdf",
        )
    } else {
        FileName::utf8("report-2024.bin")
    };
    vec![Offer::new(name, contents(seed, 1, o.size))]
}

fn direct(seed: u64, v: Variant, o: DirectOpts) -> OftCapture {
    let ck = cookie(seed);
    let offers = offers(seed, &o);
    let mut net = Net::new();
    let mut oscar = Oscar::open(&mut net, o.oscar_port);
    net.wait_ms(200);
    let folder = o.folder.then_some("photos");
    let charset = o.utf16.then_some("unicode-2-0");
    oscar.relay_from_sender(
        &mut net,
        direct_propose(ck, o.listen_port, service_data(&offers, folder), charset),
    );
    net.wait_ms(150);
    let receiver = receiver_ep(50_123);
    let sender = sender_ep(o.listen_port);
    let conn = net.open(receiver, sender, true);
    let path = Path::Direct {
        conn,
        sender: Dir::ServerToClient,
    };
    net.wait_ms(1);
    // Pidgin's sender sends the PROMPT at once; the receiver's ACCEPT follows on BOS.
    let accept_by = Some((&mut oscar, false));
    let files = exchange(&mut net, &path, ck, &offers, o.answer, v, accept_by);
    match o.answer {
        Answer::ResetAfter { .. } => {
            net.on(conn, |c| c.rst(Dir::ClientToServer));
            net.wait_ms(20);
            oscar.relay_from_receiver(
                &mut net,
                RendezvousMsg::cancel(ck, Capability::SEND_FILE, 1),
            );
        }
        _ => {
            net.wait_ms(5);
            path.close(&mut net);
        }
    }
    net.wait_ms(100);
    oscar.close(&mut net);
    OftCapture {
        pcap: net.finish(v, seed),
        files,
        cookie: ck,
        sender_name: SENDER_NAME,
        receiver_name: RECEIVER_NAME,
        sender: Some(sender.to_string()),
        receiver: Some(receiver.to_string()),
        proxy: None,
    }
}

fn reversed(seed: u64, v: Variant) -> OftCapture {
    let ck = cookie(seed);
    let offers = vec![Offer::new(
        FileName::utf8("reversed.dat"),
        contents(seed, 7, 25_555),
    )];
    let mut net = Net::new();
    let mut oscar = Oscar::open(&mut net, 5190);
    net.wait_ms(200);
    oscar.relay_from_sender(
        &mut net,
        direct_propose(ck, 5190, service_data(&offers, None), None),
    );
    // The receiver cannot reach 198.18.1.10:5190; it listens itself and redirects.
    net.wait_ms(5_000);
    let listen = receiver_ep(5_201);
    let mut redirect = RendezvousMsg::propose(ck, Capability::SEND_FILE, 2);
    redirect.rendezvous_ip = Some(v4(listen));
    redirect.client_ip = Some(v4(listen));
    redirect.port = Some(listen.port);
    oscar.relay_from_receiver(&mut net, redirect);
    net.wait_ms(30);
    let sender = sender_ep(46_001);
    let conn = net.open(sender, listen, true);
    let path = Path::Direct {
        conn,
        sender: Dir::ClientToServer,
    };
    net.wait_ms(1);
    // The TCP initiator (the sender) sends the PROMPT, and an ACCEPT on BOS.
    let accept_by = Some((&mut oscar, true));
    let files = exchange(&mut net, &path, ck, &offers, Answer::Accept, v, accept_by);
    path.close(&mut net);
    net.wait_ms(100);
    oscar.close(&mut net);
    OftCapture {
        pcap: net.finish(v, seed),
        files,
        cookie: ck,
        sender_name: SENDER_NAME,
        receiver_name: RECEIVER_NAME,
        sender: Some(sender.to_string()),
        receiver: Some(listen.to_string()),
        proxy: None,
    }
}

/// A proxied transfer. `sender_creates`: stage 1 (the file sender sends INIT_SEND)
/// or stage 2 (the receiver, after the sender's direct offer, creates the session).
/// The two legs of a proxied transfer, each client's end of its leg.
struct ProxyLegs {
    creator: C,
    joiner: C,
}

fn proxied(seed: u64, v: Variant, sender_creates: bool, answer: Answer) -> OftCapture {
    let ck = cookie(seed);
    let offers = vec![Offer::new(
        FileName::utf8("via-proxy.zip"),
        contents(seed, 3, 20_001),
    )];
    let proxy = ep(PROXY_IP.0, PROXY_IP.1, 5190);
    let mut net = Net::new();
    let mut oscar = Oscar::open(&mut net, 5190);
    net.wait_ms(200);
    let sender_leg_client = sender_ep(47_001);
    let receiver_leg_client = receiver_ep(47_002);
    if !sender_creates {
        // Stage 2 starts with the sender's direct offer, which the receiver cannot reach.
        oscar.relay_from_sender(
            &mut net,
            direct_propose(ck, 5190, service_data(&offers, None), None),
        );
        // The receiver's try at the offered address is refused (Appendix B: failed
        // attempts come first).
        let refused = net.open(receiver_ep(47_003), sender_ep(5190), false);
        net.on(refused, |c| {
            c.syn();
            c.rst(Dir::ServerToClient);
        });
        net.wait_ms(5_000);
    }
    let legs = negotiate_proxy(&mut net, &mut oscar, seed, sender_creates, &offers);
    // Both clients never listened, so both send an ACCEPT (Appendix B).
    oscar.relay_from_receiver(&mut net, accept(ck));
    oscar.relay_from_sender(&mut net, accept(ck));
    net.wait_ms(2);
    let (sender_leg, receiver_leg) = if sender_creates {
        (legs.creator, legs.joiner)
    } else {
        (legs.joiner, legs.creator)
    };
    let path = Path::Proxied {
        sender_leg,
        receiver_leg,
    };
    let files = exchange(&mut net, &path, ck, &offers, answer, v, None);
    net.wait_ms(5);
    path.close(&mut net);
    net.wait_ms(100);
    oscar.close(&mut net);
    OftCapture {
        pcap: net.finish(v, seed),
        files,
        cookie: ck,
        sender_name: SENDER_NAME,
        receiver_name: RECEIVER_NAME,
        sender: Some(sender_leg_client.to_string()),
        receiver: Some(receiver_leg_client.to_string()),
        proxy: Some(proxy.to_string()),
    }
}

/// The proxy session: the creator's INIT_SEND and ACK, its offer naming the proxy, the
/// joiner's INIT_RECV, and READY on both legs.
fn negotiate_proxy(
    net: &mut Net,
    oscar: &mut Oscar,
    seed: u64,
    sender_creates: bool,
    offers: &[Offer],
) -> ProxyLegs {
    let ck = cookie(seed);
    let proxy = ep(PROXY_IP.0, PROXY_IP.1, 5190);
    let proxy_ip = v4(proxy);
    let token = 0x4000 | (XorShift64::new(seed ^ 0x7011).below(0x3fff) as u16);
    let (creator, joiner) = if sender_creates {
        (sender_ep(47_001), receiver_ep(47_002))
    } else {
        (receiver_ep(47_002), sender_ep(47_001))
    };
    let (creator_sn, joiner_sn) = if sender_creates {
        (SENDER_NAME, RECEIVER_NAME)
    } else {
        (RECEIVER_NAME, SENDER_NAME)
    };
    // The creator opens its leg and gets a token.
    let creator_leg = net.open(creator, proxy, true);
    net.wait_ms(1);
    net.send(
        creator_leg,
        Dir::ClientToServer,
        &ProxyFrame::init_send(creator_sn, ck, Capability::SEND_FILE).emit(),
    );
    net.wait_ms(30);
    net.send(
        creator_leg,
        Dir::ServerToClient,
        &ProxyFrame::ack(token, proxy_ip).emit(),
    );
    net.wait_ms(5);
    // The creator's proxy offer: proxy IP in 0x0002 and 0x0003 (Appendix B); only the
    // file sender's offer carries the file.
    let mut offer = RendezvousMsg::propose(
        ck,
        Capability::SEND_FILE,
        if sender_creates { 1 } else { 2 },
    )
    .via_proxy(proxy_ip, token);
    offer.client_ip = Some(proxy_ip);
    if sender_creates {
        offer.file = Some(service_data(offers, None));
        oscar.relay_from_sender(net, offer);
    } else {
        oscar.relay_from_receiver(net, offer);
    }
    net.wait_ms(40);
    let joiner_leg = net.open(joiner, proxy, true);
    net.wait_ms(1);
    net.send(
        joiner_leg,
        Dir::ClientToServer,
        &ProxyFrame::init_recv(joiner_sn, token, ck, Capability::SEND_FILE).emit(),
    );
    net.wait_ms(30);
    let ready = ProxyFrame::ready().emit();
    net.send(joiner_leg, Dir::ServerToClient, &ready);
    net.send(creator_leg, Dir::ServerToClient, &ready);
    net.wait_ms(2);
    ProxyLegs {
        creator: creator_leg,
        joiner: joiner_leg,
    }
}

fn nearmiss_http(seed: u64, v: Variant) -> OftCapture {
    let mut net = Net::new();
    let client = ep(3, 30, 40_100);
    let server = ep(3, 31, 80);
    let c = net.open(client, server, true);
    net.send(
        c,
        Dir::ClientToServer,
        b"GET /aim/oft2-notes.bin HTTP/1.1\r\nHost: docs.example\r\n\r\n",
    );
    net.wait_ms(10);
    // A body that quotes a real PROMPT (magic "OFT2", id "Cool FileXfer") in the middle.
    let data = contents(seed, 9, 4_000);
    let quoted = Offer::new(FileName::utf8("quoted.txt"), data.clone()).prompt(1, 1, 4_000);
    let mut body = b"Notes on OFT2 headers: the id string reads Cool FileXfer.\n".to_vec();
    body.extend_from_slice(&quoted.emit());
    body.extend_from_slice(&data);
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    resp.extend_from_slice(&body);
    net.send(c, Dir::ServerToClient, &resp);
    net.wait_ms(5);
    net.on(c, |conv| conv.close());
    OftCapture {
        pcap: net.finish(v, seed),
        files: Vec::new(),
        cookie: Cookie::ZERO,
        sender_name: SENDER_NAME,
        receiver_name: RECEIVER_NAME,
        sender: None,
        receiver: None,
        proxy: None,
    }
}

fn nearmiss_proxy_garbage(seed: u64, v: Variant) -> OftCapture {
    let mut net = Net::new();
    let client = ep(3, 40, 40_200);
    let server = ep(0, 9, 5190);
    let c = net.open(client, server, true);
    // An INIT_SEND's header and screen name, then noise where the cookie and the
    // capability TLV should be.
    let init = ProxyFrame::init_send(SENDER_NAME, cookie(seed), Capability::SEND_FILE).emit();
    let keep = 13 + SENDER_NAME.len();
    let mut bytes = init[..keep].to_vec();
    bytes.extend_from_slice(&contents(seed, 11, 3_000));
    net.send(c, Dir::ClientToServer, &bytes);
    net.wait_ms(20);
    net.send(c, Dir::ServerToClient, &contents(seed, 12, 700));
    net.wait_ms(5);
    net.on(c, |conv| conv.close());
    OftCapture {
        pcap: net.finish(v, seed),
        files: Vec::new(),
        cookie: Cookie::ZERO,
        sender_name: SENDER_NAME,
        receiver_name: RECEIVER_NAME,
        sender: None,
        receiver: None,
        proxy: None,
    }
}

#[cfg(test)]
mod tests {
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
}
