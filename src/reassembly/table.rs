//! The flow table of one worker: every TCP connection it owns, with the handler's per-flow
//! state beside it, bounded in flows and in buffered bytes, aged in packet time.
//!
//! Flows live in a slab linked into two recency lists, so finding the longest-idle flow,
//! expiring idle flows and refreshing a flow on each packet are all O(1):
//! - `active`: open flows, most recently seen at the head. The tail is the longest idle,
//!   the one to evict or time out first.
//! - `linger`: flows that are over (closed, or both FINs seen), oldest at the tail. They
//!   stay a short while so late frames (the final ACK, a retransmitted FIN or RST) reach
//!   the same flow instead of opening a new midstream one.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::budget::MemBudget;
use super::conn::{Conn, Ignored, Teardown};
use super::stream::{Origin, StreamSink};
use super::{CloseReason, ConnMeta, SegmentMeta, StreamHandler};
use crate::capture::{Frame, FrameNo, Timestamp};
use crate::config::Limits;
use crate::decode::TcpPacket;
use crate::flow::key::FlowHasher;
use crate::flow::{Direction, FlowKey};
use crate::stats::Counters;

mod lists;
mod memory;

use lists::{List, ListId};
use memory::App;

const NIL: u32 = u32::MAX;
/// Flows closed at the end of input between two hand-overs of their reports.
const FINISH_BATCH: usize = 1024;
const DIRS: [Direction; 2] = [Direction::AtoB, Direction::BtoA];

/// Where a segment goes, as far as the table knows before the connection sees it.
enum Lookup {
    /// No flow (or one that a new SYN just ended): open one.
    New,
    /// An open flow.
    Live(u32),
    /// A closed flow still lingering: the frame only passes on to the handler.
    Late(u32),
}

/// One flow. Its size is what a flow that never sent payload costs (with its map entry):
/// kept small on purpose, see `memory` and the size test.
struct Slot<S> {
    /// The key is `conn.meta.key`.
    conn: Conn,
    app: App<S>,
    /// `close` was called; the slot only passes late frames on until its linger ends.
    closed: bool,
    list: ListId,
    /// Table clock when last refreshed (active) or when it began to linger.
    since: Timestamp,
    prev: u32,
    next: u32,
    /// What the handler's state holds that it can give up (`StreamHandler::held_cost`),
    /// as last charged (u32 keeps the slot within `FLOW_SLOT_BYTES`; more saturates).
    held: u32,
    /// What the handler's state holds that it cannot give up
    /// (`StreamHandler::buffered_cost`), as last charged, in KiB rounded up (u16 keeps
    /// the slot within `FLOW_SLOT_BYTES`; the session handler's buffers stay far below
    /// the 64 MiB where it saturates).
    bufd: u16,
}

/// Hands one direction's bytes and gaps to the handler, counting gaps on the way.
struct Deliver<'a, H: StreamHandler> {
    h: &'a mut H,
    st: &'a mut H::State,
    meta: &'a ConnMeta,
    dir: Direction,
    ts: Timestamp,
    frame: FrameNo,
    counters: &'a mut Counters,
}

impl<H: StreamHandler> StreamSink for Deliver<'_, H> {
    fn data(&mut self, bytes: &[u8]) {
        self.h
            .data(self.st, self.meta, self.dir, bytes, self.ts, self.frame);
    }
    fn data_from(&mut self, bytes: &[u8], origin: Origin) {
        self.h
            .data(self.st, self.meta, self.dir, bytes, origin.ts, origin.frame);
    }
    fn gap(&mut self, len: u64) {
        self.counters.reassembly_gaps += 1;
        self.counters.gap_bytes += len;
        self.h.gap(self.st, self.meta, self.dir, len, self.ts);
    }
}

/// All TCP flows of one worker. Single-threaded by design: one worker owns it.
pub struct FlowTable<H: StreamHandler> {
    map: HashMap<FlowKey, u32, BuildHasherDefault<FlowHasher>>,
    /// Boxed: a slot is several hundred bytes, and a vector of them doubling under a
    /// burst of new flows would briefly hold twice the table.
    slots: Vec<Option<Box<Slot<H::State>>>>,
    free: Vec<u32>,
    active: List,
    linger: List,
    /// Accounted out-of-order bytes over all flows.
    mem: usize,
    /// The process-wide budget, and what this table charged to it.
    budget: MemBudget,
    charged: usize,
    /// Bytes of `Slot::held` over all flows, and the level at which they are shed again.
    held: usize,
    shed_at: usize,
    /// Packet-time clock: the latest frame timestamp seen (never goes back).
    now: Timestamp,
    max_flows: usize,
    max_ooo: usize,
    max_mem: usize,
    recent_window: usize,
    idle_ns: u64,
    linger_ns: u64,
    rst_linger_ns: u64,
}

/// How a connection that is over ended: `None` while it is open.
fn over_reason(conn: &Conn) -> Option<CloseReason> {
    match conn.teardown() {
        Teardown::Open => None,
        Teardown::BothFin => Some(CloseReason::Fin),
        Teardown::Reset => Some(CloseReason::Rst),
    }
}

fn slot_mut<S>(slots: &mut [Option<Box<Slot<S>>>], i: u32) -> &mut Slot<S> {
    slots[i as usize]
        .as_deref_mut()
        .expect("flow table links point at occupied slots")
}

impl<H: StreamHandler> FlowTable<H> {
    /// A table with a budget of its own (`Limits::memcap`).
    pub fn new(limits: &Limits) -> Self {
        Self::with_budget(limits, MemBudget::new(limits.memcap))
    }

    /// A table charging `budget`, which other workers' tables share.
    pub fn with_budget(limits: &Limits, budget: MemBudget) -> Self {
        FlowTable {
            map: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            active: List::EMPTY,
            linger: List::EMPTY,
            mem: 0,
            budget,
            charged: 0,
            held: 0,
            shed_at: 0,
            now: Timestamp(0),
            max_flows: limits.max_flows.max(1),
            max_ooo: limits.max_ooo_bytes,
            max_mem: limits.max_reassembly_mem,
            recent_window: limits.overlap_window_bytes,
            idle_ns: limits
                .idle_timeout_secs
                .saturating_mul(Timestamp::NANOS_PER_SEC),
            linger_ns: limits
                .close_linger_secs
                .saturating_mul(Timestamp::NANOS_PER_SEC),
            rst_linger_ns: limits.rst_linger_ms.saturating_mul(1_000_000),
        }
    }

    /// Flows held, lingering ones included.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Accounted out-of-order bytes buffered over all flows.
    pub fn reassembly_mem(&self) -> usize {
        self.mem
    }
    /// Bytes this table holds, as charged to the memory budget.
    pub fn charged(&self) -> usize {
        self.charged
    }
    /// The table's packet-time clock.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Packet time reached `now` without a frame for this table (the dispatcher's
    /// tick): expire what is due, so idle workers still end their flows.
    pub fn advance(&mut self, h: &mut H, now: Timestamp, counters: &mut Counters) {
        self.now = self.now.max(now);
        self.expire(h, counters);
    }

    /// Takes one TCP segment and its frame. Handler calls for it come in the order
    /// documented on [`StreamHandler`]; expiry of other flows may come first.
    pub fn process(&mut self, h: &mut H, pkt: &TcpPacket, frame: Frame, counters: &mut Counters) {
        self.now = self.now.max(frame.ts);
        // What this frame ends by expiry is ordered by it, as in the workers it ticks.
        h.handed_out(frame.no);
        self.expire(h, counters);

        let (key, dir) = FlowKey::from_segment(pkt.src, pkt.dst);
        let payload = frame.data.get(pkt.payload.clone()).unwrap_or(&[]);
        let seg = SegmentMeta {
            dir,
            seq: pkt.seq,
            ack: pkt.ack,
            flags: pkt.flags,
            window: pkt.window,
            wscale: pkt.wscale,
            payload_len: payload.len() as u32,
            ts: frame.ts,
            frame: frame.no,
        };
        let i = match self.lookup(h, key, pkt, counters) {
            Lookup::Late(i) => {
                let slot = slot_mut(&mut self.slots, i);
                let meta = slot.conn.meta;
                let st = self.app(h, i);
                h.frame(st, &meta, frame);
                self.recharge_held(h, i);
                return;
            }
            Lookup::Live(i) => {
                self.touch(i);
                self.app(h, i);
                i
            }
            Lookup::New => {
                let i = self.open(h, key, dir, &seg, pkt, &frame, counters);
                if self.defer_first(i, &seg) {
                    self.keep_within_budget(h, counters);
                    return;
                }
                i
            }
        };

        let teardown = self.feed(h, i, &seg, pkt, &frame, counters);
        let meta = slot_mut(&mut self.slots, i).conn.meta;
        let st = self.app(h, i);
        h.frame(st, &meta, frame);
        self.recharge_held(h, i);
        self.end_if_over(h, i, teardown, counters);

        if self.mem > self.max_mem {
            self.relieve_memory(h, counters, self.max_mem / 4 * 3, false);
        }
        self.keep_within_budget(h, counters);
    }

    /// Finds the flow a segment belongs to. A pure SYN on the 4-tuple of a flow that is
    /// over ends that flow here, so the SYN opens a new one.
    fn lookup(
        &mut self,
        h: &mut H,
        key: FlowKey,
        pkt: &TcpPacket,
        counters: &mut Counters,
    ) -> Lookup {
        let pure_syn = pkt.flags.syn() && !pkt.flags.ack();
        let Some(i) = self.map.get(&key).copied() else {
            return Lookup::New;
        };
        let slot = slot_mut(&mut self.slots, i);
        let closed = slot.closed;
        if closed && !pure_syn {
            return Lookup::Late(i);
        }
        if pure_syn && (closed || slot.conn.teardown() != Teardown::Open) {
            // A new connection on the 4-tuple of one that is over.
            if !closed {
                let reason = over_reason(&slot.conn).unwrap_or(CloseReason::Fin);
                self.close_slot(h, i, reason, counters);
            }
            self.remove(i);
            Lookup::New
        } else {
            Lookup::Live(i)
        }
    }

    /// Hands the segment to the flow's connection: the handler's `segment`, then whatever
    /// bytes and gaps it made deliverable. Returns the connection's teardown state.
    fn feed(
        &mut self,
        h: &mut H,
        i: u32,
        seg: &SegmentMeta,
        pkt: &TcpPacket,
        frame: &Frame,
        counters: &mut Counters,
    ) -> Teardown {
        let (dir, seg) = (seg.dir, *seg);
        let payload = frame.data.get(pkt.payload.clone()).unwrap_or(&[]);
        let max_ooo = self.max_ooo;
        let slot = slot_mut(&mut self.slots, i);
        if let Some(ignored) = slot.conn.screen(&seg) {
            // A blind RST or SYN: the frame still goes to the handler (pcap output, the
            // ladder), but neither the connection nor the session hears of it.
            slot.conn.note_ignored(&seg);
            match ignored {
                Ignored::RstOutOfWindow => counters.rst_out_of_window += 1,
                Ignored::SynOnEstablished => counters.syn_on_established += 1,
            }
            return slot.conn.teardown();
        }
        let meta = slot.conn.meta;
        let st = slot.app.state();
        h.segment(st, &meta, &seg);
        let before = slot.conn.buffered_cost();
        let heap_before = slot.conn.heap_cost();
        let push = {
            let mut sink = Deliver {
                h: &mut *h,
                st,
                meta: &meta,
                dir,
                ts: frame.ts,
                frame: frame.no,
                counters: &mut *counters,
            };
            slot.conn
                .on_segment(&seg, payload, pkt.cut, max_ooo, &mut sink)
        };
        counters.overlaps_differing += push.overlap_differing as u64;
        counters.ooo_dropped_bytes += push.dropped_bytes;
        counters.ooo_limit_gaps += push.forced_gap as u64;

        let teardown = slot.conn.teardown();
        let after = slot.conn.buffered_cost();
        let heap_after = slot.conn.heap_cost();
        self.mem = self.mem + after - before;
        self.charge(heap_before, heap_after);
        teardown
    }

    /// After the frame: closes the flow once both FINs are acknowledged, or on an RST
    /// unless the other side may still have bytes in flight (`Conn::reset_may_linger`)
    /// and `Limits::rst_linger_ms` is not 0, and lets a flow that is
    /// over linger. After one side's RST the other's in-order bytes (its segments in
    /// flight) are still delivered until the RST linger ends (`expire`).
    fn end_if_over(&mut self, h: &mut H, i: u32, teardown: Teardown, counters: &mut Counters) {
        let slot = slot_mut(&mut self.slots, i);
        let meta = slot.conn.meta;
        match teardown {
            Teardown::Open => {}
            Teardown::Reset => {
                if self.rst_linger_ns == 0 || !slot.conn.reset_may_linger() {
                    self.close_slot(h, i, CloseReason::Rst, counters);
                }
                self.start_linger(i);
            }
            Teardown::BothFin => {
                if slot.conn.fin_done() {
                    let summary = slot.conn.summary();
                    h.close(
                        slot.app.state(),
                        &meta,
                        &summary,
                        CloseReason::Fin,
                        self.now,
                    );
                    slot.closed = true;
                    self.release_streams(i);
                    self.recharge_held(h, i);
                }
                self.start_linger(i);
            }
        }
    }

    /// A closed flow's reassemblers go at once rather than at the end of its linger: in
    /// a burst of short connections, thousands linger at a time.
    fn release_streams(&mut self, i: u32) {
        let slot = slot_mut(&mut self.slots, i);
        let before = slot.conn.heap_cost();
        self.mem -= slot.conn.drop_streams();
        let after = slot.conn.heap_cost();
        self.charge(before, after);
    }

    /// End of input: closes every flow still open (`EndOfInput`, or `Fin` for flows whose
    /// both sides had FIN'd) and empties the table, oldest flows first.
    pub fn finish(&mut self, h: &mut H, counters: &mut Counters) {
        let mut closed = 0usize;
        for list in [ListId::Active, ListId::Linger] {
            loop {
                closed += 1;
                if closed.is_multiple_of(FINISH_BATCH) {
                    // Hand on what the closes so far reported, so a million flows ending
                    // at once are not a million reports held here.
                    h.batch_end(self.now);
                }
                let t = self.list(list).tail;
                if t == NIL {
                    break;
                }
                let slot = slot_mut(&mut self.slots, t);
                if !slot.closed {
                    let reason = over_reason(&slot.conn).unwrap_or(CloseReason::EndOfInput);
                    self.close_slot(h, t, reason, counters);
                }
                self.remove(t);
            }
        }
    }

    /// Times out idle flows and ends lingering ones, oldest first; stops at the first
    /// that is still fresh, so a packet that expires nothing costs two comparisons.
    fn expire(&mut self, h: &mut H, counters: &mut Counters) {
        let now = self.now.0;
        loop {
            let t = self.active.tail;
            if t == NIL || now.saturating_sub(slot_mut(&mut self.slots, t).since.0) <= self.idle_ns
            {
                break;
            }
            self.close_slot(h, t, CloseReason::Timeout, counters);
            counters.flows_timed_out += 1;
            self.remove(t);
        }
        loop {
            let t = self.linger.tail;
            if t == NIL {
                break;
            }
            let slot = slot_mut(&mut self.slots, t);
            let reset = !slot.closed && slot.conn.teardown() == Teardown::Reset;
            // A reset flow's shorter linger may wait behind an older flow's: at most
            // `close_linger_secs` later, in packet time, so the output stays the same.
            let wait = if reset {
                self.rst_linger_ns
            } else {
                self.linger_ns
            };
            if now.saturating_sub(slot.since.0) <= wait {
                break;
            }
            if reset {
                // The bytes in flight after the RST had their time; late frames still
                // reach the closed flow for the usual linger.
                self.close_slot(h, t, CloseReason::Rst, counters);
                self.relinger(t);
                continue;
            }
            if !slot.closed {
                // Both FINs seen but the last bytes or the final ACK never came.
                self.close_slot(h, t, CloseReason::Fin, counters);
            }
            self.remove(t);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        h: &mut H,
        key: FlowKey,
        dir: Direction,
        seg: &SegmentMeta,
        pkt: &TcpPacket,
        frame: &Frame,
        counters: &mut Counters,
    ) -> u32 {
        if self.map.len() >= self.max_flows {
            self.make_room(h, counters);
        }
        let mut conn = Conn::new(key, dir, pkt.flags, frame.ts, frame.no);
        conn.set_recent_window(self.recent_window);
        let deferred = h.lazy_open() && memory::deferrable(seg, pkt);
        let slot = Slot {
            conn,
            app: if deferred {
                App::Pending(*seg)
            } else {
                App::Open(Box::default())
            },
            closed: false,
            list: ListId::Active,
            since: self.now,
            prev: NIL,
            next: NIL,
            held: 0,
            bufd: 0,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(Box::new(slot));
                i
            }
            None => {
                self.slots.push(Some(Box::new(slot)));
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(key, i);
        self.push_head(ListId::Active, i);
        counters.flows_seen += 1;
        let slot = slot_mut(&mut self.slots, i);
        let cost = Self::flow_cost(slot);
        if let App::Open(st) = &mut slot.app {
            h.open(st, &slot.conn.meta);
        }
        self.charge(0, cost);
        i
    }

    /// Frees one slot at `--max-flows`: a lingering flow if any (it is over anyway), else
    /// the longest-idle open flow that is not protected, which is closed as evicted.
    fn make_room(&mut self, h: &mut H, counters: &mut Counters) {
        self.evict_one(h, counters, memory::Cause::MaxFlows);
    }

    /// Gives up every hole of both directions and calls `close`.
    fn close_slot(&mut self, h: &mut H, i: u32, reason: CloseReason, counters: &mut Counters) {
        self.app(h, i);
        let slot = slot_mut(&mut self.slots, i);
        // A reset ends the connection at its last frame (the RST, or the last segment
        // in flight after it), however much later the linger noticed it.
        let now = if reason == CloseReason::Rst {
            slot.conn.last_seen
        } else {
            self.now
        };
        let meta = slot.conn.meta;
        let frame = slot.conn.last_frame;
        let heap_before = slot.conn.heap_cost();
        self.mem -= slot.conn.buffered_cost();
        let st = slot.app.state();
        for d in DIRS {
            let mut sink = Deliver {
                h: &mut *h,
                st: &mut *st,
                meta: &meta,
                dir: d,
                ts: now,
                frame,
                counters: &mut *counters,
            };
            slot.conn.flush(d, &mut sink);
        }
        let summary = slot.conn.summary();
        h.close(st, &meta, &summary, reason, now);
        slot.closed = true;
        self.mem -= slot.conn.drop_streams();
        let heap_after = slot.conn.heap_cost();
        self.charge(heap_before, heap_after);
        self.recharge_held(h, i);
    }
}

#[cfg(test)]
mod tests;
