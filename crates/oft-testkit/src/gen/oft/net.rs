//! The network a scenario plays on: one packet clock for every connection, the
//! addresses of the parties, and the clients' OSCAR (FLAP) connections that relay their
//! rendezvous messages.

use super::super::mutate::{Mutations, Mutator};
use super::super::pcap::PcapBuilder;
use super::super::tcp::{Dir, Segment, TcpConv};
use super::{Variant, RECEIVER_NAME, SENDER_NAME};
use oftsniff::capture::Timestamp;
use oftsniff::flow::key::Endpoint;
use oftsniff::proto::flap::{channel, FlapFrame};
use oftsniff::proto::im::{ImCharset, InstantMessage};
use oftsniff::proto::rendezvous::RendezvousMsg;
use oftsniff::proto::Cookie;
use std::net::{IpAddr, Ipv4Addr};

/// Start of every OFT scenario (a fixed instant: reruns are byte-identical).
pub(super) const START: Timestamp = super::super::scenarios::START;

pub(super) fn ep(net: u8, host: u8, port: u16) -> Endpoint {
    Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, net, host)), port)
}

pub(super) fn v4(e: Endpoint) -> Ipv4Addr {
    match e.ip {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => unreachable!("OFT scenarios are IPv4"),
    }
}

pub(super) const SENDER_IP: (u8, u8) = (1, 10);
pub(super) const RECEIVER_IP: (u8, u8) = (2, 20);
pub(super) const OSCAR_IP: (u8, u8) = (0, 5);
pub(super) const PROXY_IP: (u8, u8) = (0, 9);

pub(super) fn sender_ep(port: u16) -> Endpoint {
    ep(SENDER_IP.0, SENDER_IP.1, port)
}
pub(super) fn receiver_ep(port: u16) -> Endpoint {
    ep(RECEIVER_IP.0, RECEIVER_IP.1, port)
}

/// One clock shared by every connection of a scenario, so their frames interleave the way
/// the story goes.
pub(super) struct Net {
    pub(super) now: Timestamp,
    pub(super) convs: Vec<TcpConv>,
}

/// Index of a connection in `Net::convs`.
#[derive(Clone, Copy)]
pub(super) struct C(pub(super) usize);

impl Net {
    pub(super) fn new() -> Net {
        Net {
            now: START,
            convs: Vec::new(),
        }
    }

    pub(super) fn wait_ms(&mut self, ms: u64) {
        self.now = Timestamp(self.now.0 + ms * 1_000_000);
    }

    pub(super) fn open(&mut self, client: Endpoint, server: Endpoint, handshake: bool) -> C {
        let mut c = TcpConv::new(client, server, self.now);
        if handshake {
            c.handshake();
        }
        self.now = c.now();
        self.convs.push(c);
        C(self.convs.len() - 1)
    }

    pub(super) fn on(&mut self, c: C, f: impl FnOnce(&mut TcpConv)) {
        let conv = &mut self.convs[c.0];
        conv.catch_up(self.now);
        f(conv);
        self.now = conv.now();
    }

    pub(super) fn send(&mut self, c: C, dir: Dir, bytes: &[u8]) {
        self.on(c, |conv| conv.send(dir, bytes));
    }

    /// One message in one segment, or in two when `split` says where to cut it.
    pub(super) fn send_msg(&mut self, c: C, dir: Dir, bytes: &[u8], split: Option<usize>) {
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
    pub(super) fn finish(self, v: Variant, seed: u64) -> PcapBuilder {
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

pub(super) fn mutate(segs: &mut Vec<Segment>, v: Variant, seed: u64) {
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
pub(super) fn reorder_within_directions(segs: &mut [Segment], seed: u64) {
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
pub(super) struct Bos {
    pub(super) conn: C,
    pub(super) client_seq: u16,
    pub(super) server_seq: u16,
    pub(super) request_id: u32,
}

impl Bos {
    pub(super) fn open(net: &mut Net, client: Endpoint, server: Endpoint) -> Bos {
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
    pub(super) fn up(&mut self, net: &mut Net, msg: &RendezvousMsg) {
        let bytes = msg.emit_flap(self.client_seq, self.request_id);
        self.client_seq = self.client_seq.wrapping_add(1);
        self.request_id += 1;
        net.send(self.conn, Dir::ClientToServer, &bytes);
    }

    /// SNAC 4/7 from the server to this client.
    pub(super) fn down(&mut self, net: &mut Net, msg: &RendezvousMsg) {
        let bytes = msg.emit_flap(self.server_seq, 0);
        self.server_seq = self.server_seq.wrapping_add(1);
        net.send(self.conn, Dir::ServerToClient, &bytes);
    }

    /// A FLAP channel-2 frame carrying `snac`, client to server (`up`) or back.
    fn snac(&mut self, net: &mut Net, up: bool, snac: &[u8]) {
        let (seq, dir) = if up {
            (&mut self.client_seq, Dir::ClientToServer)
        } else {
            (&mut self.server_seq, Dir::ServerToClient)
        };
        let bytes = FlapFrame {
            channel: channel::SNAC,
            seq: *seq,
            data: snac,
        }
        .emit();
        *seq = seq.wrapping_add(1);
        net.send(self.conn, dir, &bytes);
    }

    pub(super) fn close(&self, net: &mut Net) {
        net.on(self.conn, |c| c.close());
    }
}

/// Both clients' OSCAR connections, relaying each message the way the server does
/// (4/6 from the author, 4/7 to the recipient with the author's verified IP added to a
/// PROPOSE).
pub(super) struct Oscar {
    pub(super) sender: Bos,
    pub(super) receiver: Bos,
}

impl Oscar {
    pub(super) fn open(net: &mut Net, port: u16) -> Oscar {
        let server = ep(OSCAR_IP.0, OSCAR_IP.1, port);
        let sender = Bos::open(net, sender_ep(40_001), server);
        net.wait_ms(3);
        let receiver = Bos::open(net, receiver_ep(40_002), server);
        Oscar { sender, receiver }
    }

    /// `msg` from the file sender to the receiver.
    pub(super) fn relay_from_sender(&mut self, net: &mut Net, msg: RendezvousMsg) {
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
    pub(super) fn relay_from_receiver(&mut self, net: &mut Net, msg: RendezvousMsg) {
        let verified = v4(receiver_ep(0));
        self.receiver.up(net, &msg.clone().to_host(SENDER_NAME));
        net.wait_ms(20);
        let mut down = msg.to_client(RECEIVER_NAME);
        if down.kind == oftsniff::proto::rendezvous::RvKind::Propose {
            down.verified_ip = Some(verified);
        }
        self.sender.down(net, &down);
    }

    /// An instant message (`html`) from the file sender (`from_sender`) or the receiver
    /// to the other: 4/6 on the author's connection, 4/7 on the recipient's.
    pub(super) fn say(&mut self, net: &mut Net, from_sender: bool, html: &str, cs: ImCharset) {
        let (author, to, recipient_name) = if from_sender {
            (&mut self.sender, RECEIVER_NAME, SENDER_NAME)
        } else {
            (&mut self.receiver, SENDER_NAME, RECEIVER_NAME)
        };
        let cookie = Cookie((u64::from(author.request_id) << 8 | 0x49).to_be_bytes());
        let im = InstantMessage::outgoing(cookie, to, html, cs);
        let rid = author.request_id;
        author.request_id += 1;
        author.snac(net, true, &im.emit_snac(rid));
        net.wait_ms(20);
        let recipient = if from_sender {
            &mut self.receiver
        } else {
            &mut self.sender
        };
        recipient.snac(net, false, &im.incoming(recipient_name).emit_snac(0));
    }

    /// An IM from a third screen name, `from`, delivered to the receiver only.
    pub(super) fn receiver_hears(&mut self, net: &mut Net, from: &str, text: &str) {
        let im =
            InstantMessage::outgoing(Cookie(*b"strange1"), RECEIVER_NAME, text, ImCharset::Ascii);
        self.receiver
            .snac(net, false, &im.incoming(from).emit_snac(0));
    }

    pub(super) fn close(&self, net: &mut Net) {
        self.sender.close(net);
        self.receiver.close(net);
    }
}
