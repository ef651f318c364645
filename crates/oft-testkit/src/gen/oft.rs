//! Synthesized OFT file transfers: both clients' OSCAR (FLAP) connections carrying the
//! rendezvous, and the data connection(s) — direct, reversed or through an ARS proxy —
//! carrying OFT2. Every protocol byte comes from the project's emitters (`proto::*`), so
//! these captures test the parsers' peers against the session layer, not hand-made bytes.
//!
//! Each scenario is a function of a seed (file contents, cookie) and a `Variant` that
//! damages the capture the way a real network tap may see it: segments reordered within a
//! direction, segments seen twice, the PROMPT split across two segments (100 + rest).
//! A variant changes frames, never what happened, so it must not change the report.

use super::pcap::PcapBuilder;
use super::rng::XorShift64;
use super::tcp::Dir;
use oftsniff::proto::checksum::OftChecksum;
use oftsniff::proto::oft::{FileName, OftHeader, OftType};
use oftsniff::proto::proxy::ProxyFrame;
use oftsniff::proto::rendezvous::{RendezvousMsg, ServiceData};
use oftsniff::proto::{Capability, Cookie};

mod getfile;
mod net;
mod stories;

use net::*;
use stories::*;

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
    /// Direct, with instant messages before and after it (and one from a third person).
    DirectChat,
    /// Get File: the owner's listing, then one file the requester asks for.
    GetFile,
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
        Kind::DirectChat => direct(
            seed,
            v,
            DirectOpts {
                chat: true,
                ..DirectOpts::default()
            },
        ),
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
        Kind::GetFile => getfile::get_file(seed, v),
        Kind::ProxyStage1 => proxied(seed, v, true, Answer::Accept),
        Kind::ProxySkip => proxied(seed, v, true, Answer::Skip),
        Kind::ProxyStage2 => proxied(seed, v, false, Answer::Accept),
        Kind::NearmissHttp => nearmiss_http(seed, v),
        Kind::NearmissProxyGarbage => nearmiss_proxy_garbage(seed, v),
    }
}

#[cfg(test)]
mod tests;
