//! Hostile input for the session layer: whatever bytes arrive, in whatever chunks, the
//! framer, state machine and FLAP reader neither panic nor hold more than their bounds.

use super::event::{At, FileEnd, ProgressSeen, Step};
use super::flap::FlapConn;
use super::framer::DataConn;
use super::machine::{DataMachine, MachineSink, MAX_PENDING};
use super::phase::Arrow;
use crate::capture::{FrameNo, Timestamp};
use crate::flow::Direction;
use crate::proto::checksum::OftChecksum;
use crate::proto::{Capability, Cookie, FileName, OftHeader, ProxyFrame};
use proptest::prelude::*;

#[derive(Default)]
struct Count {
    phases: usize,
    files: usize,
    data: u64,
}

impl MachineSink for Count {
    fn phase(&mut self, _: Step, _: Arrow, _: At) {
        self.phases += 1;
    }
    fn file_start(&mut self, _: &[String], _: u64, _: u64) {}
    fn file_data(&mut self, _: u64, bytes: &[u8]) {
        self.data += bytes.len() as u64;
    }
    fn file_end(&mut self, _: FileEnd) {
        self.files += 1;
    }
    fn progress(&mut self, _: ProgressSeen) {}
}

fn dir(b: bool) -> Direction {
    if b {
        Direction::AtoB
    } else {
        Direction::BtoA
    }
}

/// A plausible OFT exchange (proxied when `proxy`), as the stream of each direction.
fn exchange(proxy: bool, data: &[u8]) -> Vec<(bool, Vec<u8>)> {
    let cookie = Cookie(*b"1234567\0");
    let p = OftHeader::prompt(
        Cookie::ZERO,
        FileName::utf8("x.bin"),
        data.len() as u32,
        OftChecksum::of(data),
        1,
        1,
        data.len() as u32,
    );
    let mut v = Vec::new();
    if proxy {
        v.push((
            true,
            ProxyFrame::init_send("a", cookie, Capability::SEND_FILE).emit(),
        ));
        v.push((false, ProxyFrame::ack(7, [198, 18, 0, 9].into()).emit()));
        v.push((false, ProxyFrame::ready().emit()));
    }
    v.push((true, p.emit()));
    v.push((false, p.ack(cookie).emit()));
    v.push((true, data.to_vec()));
    v.push((
        false,
        p.done(cookie, data.len() as u32, OftChecksum::of(data), true)
            .emit(),
    ));
    v
}

fn feed_all(conn: &mut DataConn, chunks: &[(bool, Vec<u8>)], sink: &mut Count) {
    for (i, (d, bytes)) in chunks.iter().enumerate() {
        let at = At {
            ts: Timestamp(i as u64 * 1_000_000),
            frame: FrameNo(i as u64 + 1),
        };
        conn.feed(dir(*d), bytes, at, sink);
    }
    conn.machine.on_close(Timestamp(u64::MAX / 4), sink);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(
        proxied in any::<bool>(),
        chunks in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..600)), 0..40),
    ) {
        let mut conn = DataConn::new(DataMachine::new(Direction::AtoB, proxied, 1));
        let mut sink = Count::default();
        feed_all(&mut conn, &chunks, &mut sink);
        prop_assert!(sink.files <= chunks.len());
    }

    #[test]
    fn damaged_exchanges_never_panic_and_never_invent_data(
        proxy in any::<bool>(),
        len in 0usize..5_000,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in prop::collection::vec(1usize..300, 1..20),
    ) {
        let data: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
        let mut chunks = exchange(proxy, &data);
        // Flip some bytes anywhere in the exchange.
        let total: usize = chunks.iter().map(|c| c.1.len()).sum();
        for (idx, val) in flips {
            if total == 0 { break; }
            let mut at = idx.index(total);
            for c in chunks.iter_mut() {
                if at < c.1.len() { c.1[at] ^= val | 1; break; }
                at -= c.1.len();
            }
        }
        // Re-cut every message into the given segment sizes.
        let mut segs = Vec::new();
        for (d, bytes) in chunks {
            let mut rest = &bytes[..];
            let mut k = 0;
            while !rest.is_empty() {
                let n = cut[k % cut.len()].min(rest.len());
                segs.push((d, rest[..n].to_vec()));
                rest = &rest[n..];
                k += 1;
            }
        }
        let mut conn = DataConn::new(DataMachine::new(Direction::AtoB, proxy, 1));
        let mut sink = Count::default();
        feed_all(&mut conn, &segs, &mut sink);
        // File data counted can never exceed what the sender's direction carried.
        prop_assert!(sink.data <= total as u64);
    }

    #[test]
    fn flap_reader_survives_anything(
        chunks in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..2_000)), 0..30),
    ) {
        let mut f = FlapConn::new(true);
        let mut out = super::flap::FlapFound::default();
        for (d, bytes) in &chunks {
            f.feed(dir(*d), bytes, &mut out);
            if out.icbm.len() + out.ims.len() > 1000 { out = Default::default(); }
        }
        f.gap(Direction::AtoB);
    }
}

#[test]
fn a_direction_that_waits_holds_at_most_its_bound() {
    // A PROMPT whose ACK never comes, then megabytes from the sender: the held bytes
    // are given up past MAX_PENDING instead of growing.
    let data = vec![0u8; 10];
    let chunks = exchange(false, &data);
    let mut conn = DataConn::new(DataMachine::new(Direction::AtoB, false, 0));
    let mut sink = Count::default();
    let at = At::default();
    conn.feed(Direction::AtoB, &chunks[0].1, at, &mut sink);
    for _ in 0..100 {
        conn.feed(Direction::AtoB, &[0x55; 64 * 1024], at, &mut sink);
        assert!(conn.held_bytes() <= MAX_PENDING);
    }
    assert!(conn.discarded > 0, "what could not be held is counted");
}
