//! Hostile captures that try to make a sniffer's memory grow: SYN floods, out-of-order
//! data that never becomes deliverable, a FLAP connection of garbage, a PROMPT that
//! announces more than ever comes. Each is streamed to disk as it is generated, so a
//! million connections need no more memory than one. Addresses come from 198.18.0.0/15.
//!
//! `syn_flood` can carry a file transfer that starts before the flood and ends after it:
//! the transfer a sniffer under memory pressure must still report in full.

use super::pcap::{CaptureSummary, SegmentWriter};
use super::rng::XorShift64;
use super::tcp::{Dir, Segment, TcpConv, TcpFlags, DEFAULT_MSS};
use oftsniff::capture::Timestamp;
use oftsniff::flow::key::Endpoint;
use oftsniff::proto::{Cookie, FileName, OftChecksum, OftHeader};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// 2024-01-01T00:00:00Z, as the other workloads.
const EPOCH: Timestamp = Timestamp(1_704_067_200 * Timestamp::NANOS_PER_SEC);
/// Time between two flood frames.
const FLOOD_GAP: u64 = 1_000;

/// The `i`-th flooding client: 65,000 hosts of 198.18.0.0/16, then the next source port.
fn flood_client(i: u64) -> Endpoint {
    let host = (i % 65_000) as u32 + 1;
    let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + host);
    Endpoint::new(IpAddr::V4(ip), 1024 + ((i / 65_000) % 60_000) as u16)
}

fn ep(a: u8, b: u8, port: u16) -> Endpoint {
    Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 19, a, b)), port)
}

/// A data segment of `conv`'s `dir` at an arbitrary sequence number (to leave holes).
fn raw(conv: &TcpConv, dir: Dir, ts: Timestamp, seq: u32, payload: Vec<u8>) -> Segment {
    let (src, dst) = match dir {
        Dir::ClientToServer => (conv.client(), conv.server()),
        Dir::ServerToClient => (conv.server(), conv.client()),
    };
    Segment {
        ts,
        src,
        dst,
        seq,
        ack: conv.next_seq(dir.reverse()),
        flags: TcpFlags::ACK | TcpFlags::PSH,
        window: 64_240,
        mss_option: None,
        payload,
    }
}

/// A direct OFT2 transfer of `size` bytes (the receiver is the TCP client), sent in two
/// halves so a flood can come between them.
pub struct Transfer {
    conv: TcpConv,
    prompt: OftHeader,
    cookie: Cookie,
    data: XorShift64,
    left: u64,
}

impl Transfer {
    pub fn new(size: u32, seed: u64, start: Timestamp) -> Self {
        let conv = TcpConv::new(ep(1, 1, 40_000), ep(2, 1, 5190), start);
        let data = XorShift64::new(seed);
        let mut sum = OftChecksum::new();
        let (mut rng, mut left, mut buf) = (data.clone(), size as u64, vec![0u8; 1 << 16]);
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            rng.fill(&mut buf[..n]);
            sum.update(&buf[..n]);
            left -= n as u64;
        }
        let name = FileName::utf8("protected.bin");
        let prompt = OftHeader::prompt(Cookie::default(), name, size, sum.value(), 1, 1, size);
        Transfer {
            conv,
            prompt,
            cookie: Cookie(*b"7654321\0"),
            data,
            left: size as u64,
        }
    }

    /// Handshake, PROMPT, ACK and up to `bytes` of the file.
    pub fn begin<W: Write>(&mut self, bytes: u64, w: &mut SegmentWriter<W>) -> io::Result<()> {
        self.conv.handshake();
        let p = self.prompt.emit();
        self.conv.send(Dir::ServerToClient, &p);
        let ack = self.prompt.ack(self.cookie).emit();
        self.conv.send(Dir::ClientToServer, &ack);
        self.send(bytes, w)
    }

    fn send<W: Write>(&mut self, bytes: u64, w: &mut SegmentWriter<W>) -> io::Result<()> {
        let mut budget = bytes.min(self.left);
        let mut buf = vec![0u8; 16 * DEFAULT_MSS];
        while budget > 0 {
            let n = budget.min(buf.len() as u64) as usize;
            self.data.fill(&mut buf[..n]);
            self.conv.send(Dir::ServerToClient, &buf[..n]);
            w.drain(&mut self.conv)?;
            budget -= n as u64;
            self.left -= n as u64;
        }
        w.drain(&mut self.conv)
    }

    /// The rest of the file from `now` on, DONE and the close.
    pub fn end<W: Write>(&mut self, now: Timestamp, w: &mut SegmentWriter<W>) -> io::Result<()> {
        self.conv.catch_up(now);
        self.send(self.left, w)?;
        let p = &self.prompt;
        let done = p.done(self.cookie, p.size, p.checksum, true).emit();
        self.conv.send(Dir::ClientToServer, &done);
        self.conv.close();
        w.drain(&mut self.conv)
    }
}

/// `connections` SYNs from distinct clients, never answered; with `transfer`, a file
/// transfer of that many bytes whose first half comes before the flood and the rest
/// after it.
pub fn syn_flood<W: Write>(
    connections: u64,
    transfer: Option<u32>,
    out: W,
) -> io::Result<CaptureSummary> {
    flood_around(connections, transfer, &[], out)
}

/// The opening a flooding client of `opening_flood` sends: an OFT2 magic, too few bytes
/// to name the connection, so a sniffer writing pcap keeps the connection's frames.
pub const FLOOD_OPENING: &[u8] = b"OFT2";

/// As `syn_flood`, but each flooding client follows its SYN with one segment carrying
/// `FLOOD_OPENING` and nothing more: every connection holds two frames unrecognized.
pub fn opening_flood<W: Write>(
    connections: u64,
    transfer: Option<u32>,
    out: W,
) -> io::Result<CaptureSummary> {
    flood_around(connections, transfer, FLOOD_OPENING, out)
}

fn flood_around<W: Write>(
    connections: u64,
    transfer: Option<u32>,
    opening: &[u8],
    out: W,
) -> io::Result<CaptureSummary> {
    let mut w = SegmentWriter::new(out)?;
    let mut t = transfer.map(|size| Transfer::new(size, 7, EPOCH));
    if let (Some(t), Some(size)) = (&mut t, transfer) {
        t.begin(size as u64 / 2, &mut w)?;
    }
    let start = t.as_ref().map_or(EPOCH, |t| t.conv.now());
    let server = ep(3, 1, 443);
    let mut clock = start;
    for i in 0..connections {
        clock = Timestamp(start.0 + i * FLOOD_GAP);
        let mut c = TcpConv::new(flood_client(i), server, clock);
        c.syn();
        if !opening.is_empty() {
            c.send_segment(Dir::ClientToServer, opening);
        }
        w.drain(&mut c)?;
    }
    if let Some(t) = &mut t {
        t.end(Timestamp(clock.0 + FLOOD_GAP), &mut w)?;
    }
    finish(w)
}

/// One connection whose client sends `segments` 100-byte segments after a hole that is
/// never filled: the worst case for one direction's out-of-order buffer.
pub fn ooo_holes<W: Write>(segments: u64, out: W) -> io::Result<CaptureSummary> {
    let mut w = SegmentWriter::new(out)?;
    let mut c = TcpConv::new(ep(4, 1, 40_000), ep(4, 2, 5190), EPOCH);
    c.handshake();
    w.drain(&mut c)?;
    let base = c.next_seq(Dir::ClientToServer).wrapping_add(1_000);
    let mut ts = c.now();
    for k in 0..segments {
        ts = Timestamp(ts.0 + FLOOD_GAP);
        let seq = base.wrapping_add((k * 100) as u32);
        w.write_segment(&raw(&c, Dir::ClientToServer, ts, seq, vec![k as u8; 100]))?;
    }
    finish(w)
}

/// `connections` connections that each send `bytes` after a one-segment hole, all open
/// at once: every one holds its bytes out of order until the end.
pub fn ooo_many<W: Write>(connections: u64, bytes: u64, out: W) -> io::Result<CaptureSummary> {
    let mut w = SegmentWriter::new(out)?;
    let mut ts = EPOCH;
    // Each connection's first data sequence number and acknowledgement after its
    // handshake: a few bytes each, so 10,000 connections stay small.
    let mut next = Vec::with_capacity(connections as usize);
    let server = ep(5, 1, 5190);
    for i in 0..connections {
        let mut c = TcpConv::new(flood_client(i), server, ts)
            .with_frame_gap(Duration::from_nanos(FLOOD_GAP));
        c.handshake();
        ts = c.now();
        next.push((
            c.next_seq(Dir::ClientToServer),
            c.next_seq(Dir::ServerToClient),
        ));
        w.drain(&mut c)?;
    }
    let per = DEFAULT_MSS as u64;
    let payload = vec![0x5a; DEFAULT_MSS];
    for k in 0..bytes.div_ceil(per) {
        let len = (bytes - k * per).min(per) as usize;
        for (i, &(seq, ack)) in next.iter().enumerate() {
            ts = Timestamp(ts.0 + FLOOD_GAP);
            w.write_segment(&Segment {
                ts,
                src: flood_client(i as u64),
                dst: server,
                // Segment 0 is the hole.
                seq: seq.wrapping_add(((k + 1) * per) as u32),
                ack,
                flags: TcpFlags::ACK | TcpFlags::PSH,
                window: 64_240,
                mss_option: None,
                payload: payload[..len].to_vec(),
            })?;
        }
    }
    finish(w)
}

/// A FLAP connection (port 5190, a sign-on frame first, so it is read as OSCAR) that then
/// carries `bytes` of pseudo-random garbage from the server.
pub fn flap_garbage<W: Write>(bytes: u64, out: W) -> io::Result<CaptureSummary> {
    let mut w = SegmentWriter::new(out)?;
    let mut c = TcpConv::new(ep(6, 1, 40_000), ep(6, 2, 5190), EPOCH);
    c.handshake();
    c.send(Dir::ServerToClient, &[0x2a, 1, 0, 1, 0, 4, 0, 0, 0, 1]);
    w.drain(&mut c)?;
    send_random(&mut c, &mut w, 5, bytes)?;
    c.close();
    w.drain(&mut c)?;
    finish(w)
}

/// An OFT2 data connection whose PROMPT announces `announced` bytes, followed by `bytes`
/// of data (fewer) and a close without DONE.
pub fn prompt_huge<W: Write>(announced: u32, bytes: u64, out: W) -> io::Result<CaptureSummary> {
    let mut w = SegmentWriter::new(out)?;
    let mut c = TcpConv::new(ep(7, 1, 40_000), ep(7, 2, 5190), EPOCH);
    c.handshake();
    let name = FileName::utf8("huge.bin");
    let p = OftHeader::prompt(
        Cookie::default(),
        name,
        announced,
        0xffff_0000,
        1,
        1,
        announced,
    );
    c.send(Dir::ServerToClient, &p.emit());
    c.send(Dir::ClientToServer, &p.ack(Cookie(*b"1234567\0")).emit());
    w.drain(&mut c)?;
    send_random(&mut c, &mut w, 9, bytes)?;
    c.close();
    w.drain(&mut c)?;
    finish(w)
}

/// `bytes` of pseudo-random data (seeded by `seed`) from the server, streamed out as it
/// is made, so a flood of gigabytes needs no memory.
fn send_random<W: Write>(
    c: &mut TcpConv,
    w: &mut SegmentWriter<W>,
    seed: u64,
    bytes: u64,
) -> io::Result<()> {
    let mut rng = XorShift64::new(seed);
    let mut buf = vec![0u8; 16 * DEFAULT_MSS];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill(&mut buf[..n]);
        c.send(Dir::ServerToClient, &buf[..n]);
        w.drain(c)?;
        left -= n as u64;
    }
    Ok(())
}

fn finish<W: Write>(w: SegmentWriter<W>) -> io::Result<CaptureSummary> {
    let (summary, mut out) = w.finish()?;
    out.flush()?;
    Ok(summary)
}
