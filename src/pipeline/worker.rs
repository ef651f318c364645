//! A worker thread: owns a shard of the flows, decodes its frames, and runs them through
//! reassembly into the stream handler. Nothing here is shared, so nothing is locked.

use super::queued::{frame_cost, QueuedBytes};
use super::recycle::Recycling;
use crate::capture::pool::BufReturner;
use crate::config::Limits;
use crate::decode::{decode_tcp, Skip};
use crate::dispatch::{WorkItem, WorkReceiver};
use crate::reassembly::table::FlowTable;
use crate::reassembly::{MemBudget, StreamHandler};
use crate::stats::{Counters, Slot};

/// `run`, with each frame's buffer sent back to the capture thread through `bufs` once
/// the table is done with it. Only for a handler that never looks at a frame's bytes in
/// `StreamHandler::frame`. Frames the worker drops itself (not TCP, undecodable) are
/// rare and simply freed.
pub fn run_recycling<H: StreamHandler>(
    rx: impl Into<WorkReceiver>,
    handler: H,
    bufs: BufReturner,
    limits: &Limits,
    budget: MemBudget,
    queued: Option<QueuedBytes>,
    slot: Option<Slot>,
) -> (H, Counters) {
    let (r, c) = run(
        rx,
        Recycling::new(handler, bufs),
        limits,
        budget,
        queued,
        slot,
    );
    (r.inner, c)
}

/// Runs until the dispatcher hangs up, then closes every flow as `end_of_input`.
/// Charges what its flows hold to `budget`, which all workers share, and takes each
/// batch's bytes off `queued` (reading files) once done with it.
/// Publishes its counters on `slot` now and then.
pub fn run<H: StreamHandler>(
    rx: impl Into<WorkReceiver>,
    mut handler: H,
    limits: &Limits,
    budget: MemBudget,
    queued: Option<QueuedBytes>,
    mut slot: Option<Slot>,
) -> (H, Counters) {
    let mut counters = Counters::default();
    let mut table: FlowTable<H> = FlowTable::with_budget(limits, budget);
    let rx = rx.into();
    while let Some(item) = rx.recv() {
        match item {
            WorkItem::Frames(batch) => {
                warm_headers(&batch);
                // Off the queue once run through the table (see `queued`).
                let cost = queued
                    .as_ref()
                    .map_or(0, |_| batch.iter().map(frame_cost).sum::<usize>());
                for frame in batch {
                    counters.worker_frames += 1;
                    match decode_tcp(frame.link, &frame.data) {
                        Ok(mut pkt) => {
                            if pkt.cut > 0 {
                                if frame.orig_len as usize > frame.data.len() {
                                    counters.snaplen_truncated += 1;
                                } else {
                                    // Captured whole, yet the IP header claims more: a
                                    // lying header, not lost bytes; take what is there.
                                    pkt.cut = 0;
                                }
                            }
                            table.process(&mut handler, &pkt, frame, &mut counters)
                        }
                        Err(Skip::NonTcp) => counters.non_tcp += 1,
                        Err(Skip::Fragment) => counters.ip_fragments += 1,
                        Err(Skip::Undecodable) => counters.undecodable += 1,
                    }
                }
                if let Some(q) = &queued {
                    q.sub(cost);
                }
            }
            WorkItem::Tick(ts, frame) => {
                handler.handed_out(frame);
                table.advance(&mut handler, ts, &mut counters)
            }
        }
        handler.batch_end(table.now());
        if let Some(slot) = slot.as_mut().filter(|s| s.due(rx.is_empty())) {
            let mut snap = counters;
            if let Some(h) = handler.counters() {
                snap.add(h);
            }
            slot.publish_with_active(snap, table.len() as u64);
        }
    }
    table.finish(&mut handler, &mut counters);
    handler.batch_end(table.now());
    (handler, counters)
}

/// Bytes at the start of a frame that decoding reads: link, IP and TCP headers of a
/// common frame. Two cache lines at most, whatever the buffer's alignment.
const HEADER_SPAN: usize = 64;

/// Reads the header bytes of every frame of a batch before any is decoded. The capture
/// thread wrote them on another core, so each first touch misses the cache; these loads
/// do not depend on one another and their misses overlap, where decoding frame after
/// frame would wait out each miss in turn (half of a worker's time in the live benchmark).
fn warm_headers(batch: &[crate::capture::Frame]) {
    let mut x = 0u8;
    for f in batch {
        let d = &f.data;
        let last = d.len().min(HEADER_SPAN).saturating_sub(1);
        x ^= d.first().copied().unwrap_or(0) ^ d.get(last).copied().unwrap_or(0);
    }
    std::hint::black_box(x);
}
