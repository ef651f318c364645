//! The data-connection state machine behind its framer: messages built by the project's
//! emitters, fed in the chunkings a network produces.

use super::{DataMachine, MachineSink};
use crate::capture::{FrameNo, Timestamp};
use crate::flow::Direction;
use crate::proto::checksum::OftChecksum;
use crate::proto::{Capability, Cookie, FileName, OftHeader, OftType, ProxyFrame};
use crate::session::event::{At, Checksum, FileEnd, FileStatus, ProgressSeen, Step};
use crate::session::framer::DataConn;
use crate::session::phase::{Arrow, Phase};
use sha2::{Digest, Sha256};
use std::net::Ipv4Addr;

/// The TCP client is the receiver (direct connection, request #1).
const RECEIVER: Direction = Direction::AtoB;
const SENDER: Direction = Direction::BtoA;
const COOKIE: Cookie = Cookie(*b"1234567\0");

#[derive(Default)]
struct Record {
    phases: Vec<(Phase, Arrow)>,
    files: Vec<FileEnd>,
    data: Vec<u8>,
    /// (time, bytes, size, rate) of each progress report.
    progress: Vec<(Timestamp, u64, u64, f64)>,
}

impl Record {
    fn names(&self) -> Vec<&'static str> {
        self.phases.iter().map(|(p, _)| p.as_str()).collect()
    }
}

impl MachineSink for Record {
    fn phase(&mut self, step: Step, arrow: Arrow, _at: At) {
        self.phases.push((step.phase(), arrow));
    }
    fn file_start(&mut self, _name: &[String], _size: u64, _offset: u64) {}
    fn file_data(&mut self, _offset: u64, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
    }
    fn file_end(&mut self, end: FileEnd) {
        self.files.push(end);
    }
    fn progress(&mut self, p: ProgressSeen) {
        self.progress.push((p.at.ts, p.bytes, p.size, p.rate_bps));
    }
}

struct Conn {
    conn: DataConn,
    rec: Record,
    frame: u64,
}

impl Conn {
    fn direct() -> Conn {
        Conn::with(DataMachine::new(RECEIVER, false, 0))
    }
    fn with(m: DataMachine) -> Conn {
        Conn {
            conn: DataConn::new(m),
            rec: Record::default(),
            frame: 0,
        }
    }
    fn feed(&mut self, dir: Direction, bytes: &[u8]) {
        self.frame += 1;
        let at = At {
            ts: Timestamp(self.frame * 1_000_000),
            frame: FrameNo(self.frame),
        };
        self.conn.feed(dir, bytes, at, &mut self.rec);
    }
    fn close(&mut self) {
        self.conn
            .machine
            .on_close(Timestamp(u64::MAX / 2), &mut self.rec);
    }
}

/// Deterministic filler bytes (xorshift64 seeded by the length; never all zero).
fn file(len: usize) -> Vec<u8> {
    let mut x = len as u64 ^ 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

fn prompt(data: &[u8]) -> OftHeader {
    OftHeader::prompt(
        Cookie::ZERO,
        FileName::utf8("f.bin"),
        data.len() as u32,
        OftChecksum::of(data),
        1,
        1,
        data.len() as u32,
    )
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

const WHOLE: &[&str] = &["prompt", "ack", "data_start", "data_end", "done"];

#[test]
fn prompt_split_across_segments_is_one_prompt() {
    let data = file(3_000);
    let p = prompt(&data);
    let bytes = p.emit();
    let mut c = Conn::direct();
    c.feed(SENDER, &bytes[..100]);
    assert!(c.rec.phases.is_empty(), "half a header is no PROMPT yet");
    c.feed(SENDER, &bytes[100..]);
    c.feed(RECEIVER, &p.ack(COOKIE).emit());
    c.feed(SENDER, &data);
    c.feed(
        RECEIVER,
        &p.done(COOKIE, 3_000, OftChecksum::of(&data), true).emit(),
    );
    assert_eq!(c.rec.names(), WHOLE);
    assert_eq!(c.rec.files.len(), 1);
    assert_eq!(c.rec.files[0].status, FileStatus::Complete);
    assert_eq!(c.rec.files[0].checksum_ok, Some(true));
    assert_eq!(c.conn.machine.sender, Some(SENDER));
}

#[test]
fn done_after_prompt_is_skip() {
    let data = file(500);
    let p = prompt(&data);
    let mut c = Conn::direct();
    c.feed(SENDER, &p.emit());
    c.feed(
        RECEIVER,
        &p.done(COOKIE, 500, OftChecksum::of(&data), true).emit(),
    );
    c.close();
    assert_eq!(c.rec.names(), ["prompt", "done"]);
    assert_eq!(c.rec.files.len(), 1, "closing after DONE adds no file");
    let f = &c.rec.files[0];
    assert_eq!(f.status, FileStatus::Skipped);
    assert_eq!(f.bytes, 0);
    assert_eq!(f.sha256, None);
    assert_eq!(f.checksum_ok, None);
    assert_eq!(f.checksum_done, Some(Checksum(OftChecksum::of(&data))));
}

#[test]
fn data_in_uneven_chunks_gives_the_checksum_and_hash_of_the_whole_file() {
    let data = file(10_001);
    let p = prompt(&data);
    let mut c = Conn::direct();
    c.feed(SENDER, &p.emit());
    c.feed(RECEIVER, &p.ack(COOKIE).emit());
    let mut at = 0;
    for n in [1, 2, 3, 1448, 7, 999].iter().cycle() {
        if at == data.len() {
            break;
        }
        let end = (at + n).min(data.len());
        c.feed(SENDER, &data[at..end]);
        at = end;
    }
    c.feed(RECEIVER, &p.done(COOKIE, 10_001, 0x1234_0000, true).emit());
    let f = &c.rec.files[0];
    assert_eq!(f.status, FileStatus::Complete);
    assert_eq!(f.checksum_seen, Some(Checksum(OftChecksum::of(&data))));
    // The receiver's DONE value (a wrong one, as libpurple sends) never decides.
    assert_eq!(f.checksum_ok, Some(true));
    assert_eq!(f.checksum_done, Some(Checksum(0x1234_0000)));
    assert_eq!(f.sha256.map(|h| h.to_string()), Some(sha(&data)));
    assert_eq!(c.rec.data, data);
}

#[test]
fn folder_files_loop_prompt_to_done_until_the_last() {
    let a = file(700);
    let b = file(900);
    let pa = OftHeader {
        total_files: 2,
        files_left: 2,
        ..prompt(&a)
    };
    let pb = OftHeader {
        total_files: 2,
        files_left: 1,
        name: FileName::utf8("g.bin"),
        ..prompt(&b)
    };
    let mut c = Conn::direct();
    c.feed(SENDER, &pa.emit());
    c.feed(RECEIVER, &pa.ack(COOKIE).emit());
    c.feed(SENDER, &a);
    c.feed(RECEIVER, &pa.done(COOKIE, 700, 0, false).emit());
    assert!(!c.conn.machine.finished, "one file left");
    c.feed(SENDER, &pb.emit());
    c.feed(RECEIVER, &pb.ack(COOKIE).emit());
    c.feed(SENDER, &b);
    c.feed(RECEIVER, &pb.done(COOKIE, 900, 0, true).emit());
    assert!(c.conn.machine.finished);
    let names: Vec<&str> = c.rec.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["f.bin", "g.bin"]);
    assert!(c.rec.files.iter().all(|f| f.status == FileStatus::Complete));
}

#[test]
fn sender_bytes_are_held_until_the_receiver_answers() {
    // PROMPT and the first data bytes in one chunk, before the ACK was captured: the
    // data must wait for the ACK, not be read as a header.
    let data = file(2_000);
    let p = prompt(&data);
    let mut c = Conn::direct();
    let mut early = p.emit();
    early.extend_from_slice(&data[..1_000]);
    c.feed(SENDER, &early);
    assert_eq!(c.rec.names(), ["prompt"]);
    c.feed(RECEIVER, &p.ack(COOKIE).emit());
    c.feed(SENDER, &data[1_000..]);
    c.feed(RECEIVER, &p.done(COOKIE, 2_000, 0, true).emit());
    assert_eq!(c.rec.names(), WHOLE);
    assert_eq!(c.rec.files[0].checksum_ok, Some(true));
    assert_eq!(c.rec.data, data);
}

#[test]
fn resume_checksum_covers_the_whole_file() {
    let data = file(5_000);
    let p = prompt(&data);
    let offset = 1_233; // odd: the rest starts on a low byte
    let mut c = Conn::direct();
    c.feed(SENDER, &p.emit());
    let prefix = OftChecksum::of(&data[..offset]);
    c.feed(RECEIVER, &p.resume(COOKIE, offset as u32, prefix).emit());
    let accept = OftHeader {
        bytes_received: offset as u32,
        ..p.reply(OftType::ResumeAccept, COOKIE)
    };
    c.feed(SENDER, &accept.emit());
    let rack = OftHeader {
        bytes_received: offset as u32,
        ..p.reply(OftType::ResumeAck, COOKIE)
    };
    c.feed(RECEIVER, &rack.emit());
    c.feed(SENDER, &data[offset..]);
    c.feed(RECEIVER, &p.done(COOKIE, 5_000, 0, true).emit());
    assert_eq!(
        c.rec.names(),
        [
            "prompt",
            "resume",
            "resume_accept",
            "resume_ack",
            "data_start",
            "data_end",
            "done"
        ]
    );
    let f = &c.rec.files[0];
    assert_eq!(f.status, FileStatus::Resumed);
    assert_eq!(f.offset, offset as u64);
    assert_eq!(f.bytes, (5_000 - offset) as u64);
    assert_eq!(f.checksum_ok, Some(true));
    // The receiver's own prefix was never on the wire.
    assert_eq!(f.missing, vec![[0, offset as u64]]);
}

#[test]
fn a_direction_that_stops_before_done_is_truncated() {
    let data = file(8_000);
    let p = prompt(&data);
    let mut c = Conn::direct();
    c.feed(SENDER, &p.emit());
    c.feed(RECEIVER, &p.ack(COOKIE).emit());
    c.feed(SENDER, &data[..3_000]);
    c.close();
    assert_eq!(c.rec.names(), ["prompt", "ack", "data_start"]);
    let f = &c.rec.files[0];
    assert_eq!(f.status, FileStatus::Truncated);
    assert_eq!(f.bytes, 3_000);
    assert_eq!(f.checksum_ok, None);
    assert_eq!(f.missing, vec![[3_000, 8_000]]);
}

#[test]
fn proxy_joiner_leg_then_oft_even_when_ready_and_prompt_share_a_segment() {
    let data = file(1_500);
    let p = prompt(&data);
    // The joiner (file receiver) is this leg's TCP client; the proxy relays the sender.
    let (client, proxy) = (Direction::AtoB, Direction::BtoA);
    let mut c = Conn::with(DataMachine::new(client, true, 0));
    c.feed(
        client,
        &ProxyFrame::init_recv("bob198", 0x4242, COOKIE, Capability::SEND_FILE).emit(),
    );
    // A proxy that merges READY with the PROMPT it relays, and the first data bytes.
    let mut merged = ProxyFrame::ready().emit();
    merged.extend_from_slice(&p.emit());
    c.feed(proxy, &merged);
    c.feed(client, &p.ack(COOKIE).emit());
    c.feed(proxy, &data);
    c.feed(client, &p.done(COOKIE, 1_500, 0, true).emit());
    let mut want = vec!["proxy_init_recv", "proxy_ready"];
    want.extend_from_slice(WHOLE);
    assert_eq!(c.rec.names(), want);
    let info = c.conn.machine.proxy.clone().unwrap();
    assert_eq!(info.creator, Some(false));
    assert_eq!(info.token, Some(0x4242));
    assert_eq!(info.screen_name.as_deref(), Some("bob198"));
    assert_eq!(c.conn.machine.cookie, Some(COOKIE));
    assert_eq!(c.conn.machine.sender, Some(proxy));
    assert_eq!(c.rec.files[0].checksum_ok, Some(true));
}

#[test]
fn proxy_creator_leg_gets_its_token_from_the_ack() {
    let ip = Ipv4Addr::new(198, 18, 0, 9);
    let (client, proxy) = (Direction::AtoB, Direction::BtoA);
    let mut c = Conn::with(DataMachine::new(client, true, 0));
    c.feed(
        client,
        &ProxyFrame::init_send("alice198", COOKIE, Capability::SEND_FILE).emit(),
    );
    c.feed(proxy, &ProxyFrame::ack(0x4242, ip).emit());
    c.feed(proxy, &ProxyFrame::ready().emit());
    assert_eq!(
        c.rec.names(),
        ["proxy_init_send", "proxy_ack", "proxy_ready"]
    );
    let info = c.conn.machine.proxy.clone().unwrap();
    assert_eq!(info.creator, Some(true));
    assert_eq!(info.token, Some(0x4242));
    assert_eq!(info.proxy_ip, Some(ip));
}

#[test]
fn garbage_where_a_header_should_be_loses_framing_without_panicking() {
    let data = file(100);
    let p = prompt(&data);
    let mut c = Conn::direct();
    c.feed(SENDER, &p.emit());
    c.feed(RECEIVER, &file(4_000));
    c.feed(SENDER, &file(70_000));
    c.close();
    assert_eq!(c.rec.names(), ["prompt"]);
    assert_eq!(c.rec.files.len(), 1);
    assert_eq!(c.rec.files[0].status, FileStatus::Truncated);
}

#[test]
fn progress_every_interval_of_packet_time_while_data_flows() {
    // 200 KB in 1,000-byte chunks, one per millisecond of packet time: 0.2 s of data,
    // so a 1 s interval gives nothing and the test uses a machine with 0.05 s.
    let data = file(200_000);
    let p = prompt(&data);
    let mut m = DataMachine::new(RECEIVER, false, 1);
    m.progress_nanos = 50_000_000;
    let mut c = Conn::with(m);
    c.feed(SENDER, &p.emit());
    c.feed(RECEIVER, &p.ack(COOKIE).emit());
    for chunk in data.chunks(1_000) {
        c.feed(SENDER, chunk);
    }
    let ticks = &c.rec.progress;
    assert!(
        (3..=4).contains(&ticks.len()),
        "{} progress reports",
        ticks.len()
    );
    for w in ticks.windows(2) {
        assert!(
            w[1].0 .0 - w[0].0 .0 >= 50_000_000,
            "at most one per interval"
        );
        assert!(w[1].1 > w[0].1, "bytes grow");
    }
    for &(_, bytes, size, rate) in ticks {
        assert_eq!(size, 200_000);
        assert!(bytes < size, "no report once the data is complete");
        // 1,000 bytes per millisecond is 8 Mbit/s.
        assert!((rate - 8e6).abs() < 8e6 * 0.05, "rate {rate}");
    }
}

#[test]
fn no_progress_when_turned_off() {
    let data = file(50_000);
    let p = prompt(&data);
    let mut c = Conn::direct();
    c.feed(SENDER, &p.emit());
    c.feed(RECEIVER, &p.ack(COOKIE).emit());
    for chunk in data.chunks(100) {
        c.feed(SENDER, chunk);
    }
    assert!(c.rec.progress.is_empty());
}
