//! What flows cost and how a table stays within its limits: the worker's out-of-order
//! bytes (`Limits::max_reassembly_mem`) and the process-wide budget (`Limits::memcap`).
//!
//! Bytes per flow (64-bit Linux; `flow_cost` is the account, the size test pins it):
//! - only a SYN seen, handler that allows it (`StreamHandler::lazy_open`): the slot
//!   (`FLOW_SLOT_BYTES` at most) with its map entry and slab index; the SYN's
//!   `SegmentMeta` waits inside the slot, no handler state exists yet;
//! - any other segment: the handler's state, boxed (`size_of::<H::State>()`; ~400 bytes
//!   for the session handler), plus what it allocates as the flow goes on;
//! - first payload or FIN: both reassemblers (`conn::STREAMS_COST`);
//! - out-of-order bytes: each piece's bytes plus `stream::PIECE_OVERHEAD`;
//! - what the handler holds and could give up (`StreamHandler::held_cost`: frames kept
//!   for pcap output until the connection is recognized);
//! - what the handler took as the connection went on and cannot give up
//!   (`StreamHandler::buffered_cost`: its readers' partial messages), in KiB.
//!
//! Under the budget, the table gives up held frames first (only pcap output loses
//! them), then holes (the flow goes on after a gap), then flows: lingering ones (over
//! anyway), then the longest idle, then, only when nothing else is left, flows the
//! handler protects (a transfer in progress).

use super::{slot_mut, Deliver, FlowTable, ListId, Slot, DIRS, NIL};
use crate::decode::TcpPacket;
use crate::reassembly::{CloseReason, SegmentMeta, StreamHandler};
use crate::stats::Counters;
use std::mem::size_of;

/// Which limit a flow is evicted at (each has its counters).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Cause {
    /// `--max-flows`, per worker.
    MaxFlows,
    /// `--memcap`, for the process.
    Memcap,
}

/// The handler's side of a flow.
pub(super) enum App<S> {
    /// Put off (`StreamHandler::lazy_open`): the flow's first segment, a pure SYN, whose
    /// `open` and `segment` calls are made when the flow needs its state.
    Pending(SegmentMeta),
    Open(Box<S>),
}

impl<S> App<S> {
    /// The handler's state of a flow made `Open` by `FlowTable::app` before.
    pub(super) fn state(&mut self) -> &mut S {
        match self {
            App::Open(st) => st,
            App::Pending(_) => unreachable!("flow state used before FlowTable::app opened it"),
        }
    }
}

/// Bytes a flow may cost with no handler state and no reassembler (the slot's size
/// test holds it to this).
pub const FLOW_SLOT_BYTES: usize = 256;
const _: () = assert!(size_of::<Slot<()>>() <= FLOW_SLOT_BYTES);

/// An allocation's bookkeeping in the allocator, beyond the bytes asked for.
pub(super) const ALLOC_OVERHEAD: usize = 16;

/// A flow's share of the table's index at its worst, so what the map and slab really
/// take never passes what their flows are charged (measured before: a SYN flood at
/// `--memcap 32M` had the map at 14.75 MB, over twice what its entries were charged).
/// The map holds at most 7 entries per 8 buckets (a bucket is the entry and a control
/// byte) and doubles when full, the old table alive while the new one fills: just after
/// growing, 3 buckets' worth per 7/8 entry. The slab (8 bytes a flow) and free list (4)
/// double the same way. The map shrinks when under a third full (`FlowTable::remove`),
/// to a quarter over its entries, so its buckets never outnumber this share of them.
pub(super) const INDEX_BYTES: usize =
    (size_of::<(crate::flow::FlowKey, u32)>() + 1) * 3 * 8 / 7 + 3 * 12;

/// Flows looked at from the idle end for one that is not protected before a protected
/// one is evicted: protected flows are few (transfers), so this finds one at once unless
/// nearly all are protected, and bounds the work per eviction when they are.
const PROTECTED_SCAN: usize = 64;

/// A flow whose opening can wait: a pure SYN without payload.
pub(super) fn deferrable(seg: &SegmentMeta, pkt: &TcpPacket) -> bool {
    let f = seg.flags;
    f.syn() && !f.ack() && !f.fin() && !f.rst() && seg.payload_len == 0 && pkt.cut == 0
}

impl<H: StreamHandler> FlowTable<H> {
    /// What a flow is charged to the budget: its slot, map entry and slab index, its
    /// handler state once made, and its reassemblers' heap.
    pub(super) fn flow_cost(slot: &Slot<H::State>) -> usize {
        let base = size_of::<Slot<H::State>>() + ALLOC_OVERHEAD + INDEX_BYTES;
        let app = match slot.app {
            App::Pending(_) => 0,
            App::Open(_) => size_of::<H::State>() + ALLOC_OVERHEAD,
        };
        base + app + slot.held as usize + ((slot.bufd as usize) << 10) + slot.conn.heap_cost()
    }

    /// Records that holdings went from `before` to `after` bytes.
    pub(super) fn charge(&mut self, before: usize, after: usize) {
        self.charged = self.charged + after - before;
        self.budget.change(before, after);
    }

    /// The handler's state of flow `i`, made (with the put-off `open` and SYN `segment`
    /// calls) if it was pending.
    pub(super) fn app(&mut self, h: &mut H, i: u32) -> &mut H::State {
        let slot = slot_mut(&mut self.slots, i);
        if let App::Pending(syn) = slot.app {
            let mut st: Box<H::State> = Box::default();
            h.open(&mut st, &slot.conn.meta);
            h.segment(&mut st, &slot.conn.meta, &syn);
            slot.app = App::Open(st);
            self.charge(0, size_of::<H::State>() + ALLOC_OVERHEAD);
        }
        slot_mut(&mut self.slots, i).app.state()
    }

    /// A flow just opened by a pure SYN, when the handler lets it wait: the connection
    /// takes the SYN, the handler hears of it later. Returns whether it waits.
    pub(super) fn defer_first(&mut self, i: u32, seg: &SegmentMeta) -> bool {
        let max_ooo = self.max_ooo;
        let slot = slot_mut(&mut self.slots, i);
        if !matches!(slot.app, App::Pending(_)) {
            return false;
        }
        // A connection's first SYN is never screened out, and carries no bytes.
        slot.conn.on_segment(seg, &[], 0, max_ooo, &mut NoBytes);
        true
    }

    /// Ends the longest-lingering flow (over anyway). Returns whether there was one.
    pub(super) fn drop_lingering(&mut self, h: &mut H, counters: &mut Counters) -> bool {
        let t = self.linger.tail;
        if t == NIL {
            return false;
        }
        let slot = slot_mut(&mut self.slots, t);
        if !slot.closed {
            let reason = super::over_reason(&slot.conn).unwrap_or(CloseReason::Fin);
            self.close_slot(h, t, reason, counters);
        }
        self.remove(t);
        true
    }

    /// Over `--memcap`: held frames, then holes, then flows, until the account is within
    /// it again or this table holds no more than its share (`MemBudget::share`). Below
    /// its share, the excess is other workers', which they relieve on their next frame:
    /// a worker that gave up its own flows for another's flood would lose a transfer it
    /// follows, or a connection between its SYN and its next segment. When every table
    /// is within its share the process is within the budget, so some table always acts.
    pub(super) fn keep_within_budget(&mut self, h: &mut H, counters: &mut Counters) {
        if !self.over_share() {
            return;
        }
        // Held frames when they are a real share of the budget, and grew again since the
        // last walk: a walk visits flows from the idle end, most of which may hold nothing.
        let sixteenth = self.budget.limit() / 16;
        if self.held > sixteenth.max(self.shed_at) {
            let free = self.budget.excess() + self.budget.limit() / 8;
            self.shed_held(h, free);
            self.shed_at = self.held + sixteenth;
            if !self.over_share() {
                return;
            }
        }
        // Holes only where they are a real share of the budget: the scan below looks at
        // every flow, and is paid once per eighth of the budget regrown, not per frame.
        if self.mem > self.budget.limit() / 16 {
            let free = self.budget.excess() + self.budget.limit() / 8;
            self.relieve_memory(h, counters, self.mem.saturating_sub(free), true);
        }
        while self.over_share() && self.evict_one(h, counters, Cause::Memcap) {}
    }

    fn over_share(&self) -> bool {
        self.budget.over() && self.charged > self.budget.share()
    }

    /// Charges what flow `i`'s handler state now holds: what it could give up, and the
    /// buffers it took as the connection went on.
    pub(super) fn recharge_held(&mut self, h: &H, i: u32) {
        let slot = slot_mut(&mut self.slots, i);
        let (now, bufd) = match &slot.app {
            App::Open(st) => (
                h.held_cost(st).min(u32::MAX as usize) as u32,
                h.buffered_cost(st).div_ceil(1 << 10).min(u16::MAX as usize) as u16,
            ),
            App::Pending(_) => (0, 0),
        };
        let before = std::mem::replace(&mut slot.held, now);
        let bufd_before = std::mem::replace(&mut slot.bufd, bufd);
        if bufd_before != bufd {
            self.charge((bufd_before as usize) << 10, (bufd as usize) << 10);
        }
        if before != now {
            let (before, now) = (before as usize, now as usize);
            self.held = self.held + now - before;
            self.charge(before, now);
        }
    }

    /// Has the handler give up what unprotected flows hold, lingering flows first, then
    /// the longest idle, until `free` bytes came back or none is left. Frames of a
    /// recognized transfer are never held, so they are not among them.
    fn shed_held(&mut self, h: &mut H, free: usize) {
        let target = self.held.saturating_sub(free);
        for list in [ListId::Linger, ListId::Active] {
            let mut t = self.list(list).tail;
            while t != NIL && self.held > target {
                let slot = slot_mut(&mut self.slots, t);
                let prev = slot.prev;
                if let (App::Open(st), true) = (&mut slot.app, slot.held > 0) {
                    if !h.protected(st) {
                        h.shed(st);
                        self.recharge_held(h, t);
                    }
                }
                t = prev;
            }
        }
    }

    /// Ends one flow to make room: a lingering one, else the longest idle one that is
    /// not protected, else the longest idle. Returns whether there was any.
    pub(super) fn evict_one(&mut self, h: &mut H, counters: &mut Counters, cause: Cause) -> bool {
        if self.drop_lingering(h, counters) {
            return true;
        }
        let mut t = self.active.tail;
        let mut victim = None;
        for _ in 0..PROTECTED_SCAN {
            if t == NIL {
                break;
            }
            let slot = slot_mut(&mut self.slots, t);
            let protected = match &slot.app {
                App::Open(st) => h.protected(st),
                App::Pending(_) => false,
            };
            if !protected {
                victim = Some(t);
                break;
            }
            t = slot.prev;
        }
        let (i, protected) = match victim {
            Some(i) => (i, false),
            None if self.active.tail != NIL => (self.active.tail, true),
            None => return false,
        };
        self.close_slot(h, i, CloseReason::Evicted, counters);
        match cause {
            Cause::MaxFlows => counters.flows_evicted += 1,
            Cause::Memcap if protected => counters.memcap_protected_evicted += 1,
            Cause::Memcap => counters.memcap_flows_evicted += 1,
        }
        self.remove(i);
        true
    }

    /// Gives up the holes of the largest buffers until the table's out-of-order bytes
    /// are down to `target`: at the worker's `--max-reassembly-mem`, or (`memcap`) the
    /// process-wide budget.
    pub(super) fn relieve_memory(
        &mut self,
        h: &mut H,
        counters: &mut Counters,
        target: usize,
        memcap: bool,
    ) {
        let mut big: Vec<(usize, u32, crate::flow::Direction)> = Vec::new();
        for (i, s) in self.slots.iter().enumerate() {
            for d in DIRS {
                let c = s
                    .as_ref()
                    .and_then(|s| s.conn.stream(d))
                    .map_or(0, |st| st.buffered_cost());
                if c > 0 {
                    big.push((c, i as u32, d));
                }
            }
        }
        big.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let now = self.now;
        for (cost, i, d) in big {
            if self.mem <= target {
                break;
            }
            let slot = slot_mut(&mut self.slots, i);
            let meta = slot.conn.meta;
            let mut sink = Deliver {
                h: &mut *h,
                st: slot.app.state(),
                meta: &meta,
                dir: d,
                ts: now,
                frame: slot.conn.last_frame,
                counters: &mut *counters,
            };
            slot.conn.flush_buffered(d, &mut sink);
            self.mem -= cost;
            self.charge(cost, 0);
            if memcap {
                counters.memcap_ooo_flushes += 1;
            } else {
                counters.mem_limit_flushes += 1;
            }
        }
    }
}

/// The sink of a pure SYN's push, which delivers nothing.
struct NoBytes;

impl crate::reassembly::StreamSink for NoBytes {
    fn data(&mut self, _bytes: &[u8]) {}
    fn gap(&mut self, _len: u64) {}
}
