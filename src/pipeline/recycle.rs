//! Frame buffers handed back to the capture thread when nothing downstream keeps them.
//!
//! Without `-w` and without ladders, a frame's bytes are dead once the table has fed them
//! to the handler, and the worker would free each one: a malloc in the capture thread and
//! a free in another thread for every frame. Wrapping the handler lets the worker keep
//! the buffer instead and send it back, in bundles, through the capture thread's pool.

use super::capture::Source;
use crate::capture::pool::BufReturner;
use crate::capture::{Frame, FrameNo, FramePool, Timestamp};
use crate::config::Config;
use crate::flow::Direction;
use crate::reassembly::{CloseReason, ConnMeta, FlowSummary, SegmentMeta, StreamHandler};
use crate::stats::Counters;

/// A handler whose `frame` gets each frame without its bytes; the bytes go back to the
/// pool. Only for handlers that look at no frame's bytes in `frame` (the pipeline knows
/// when: no pcap output, no ladder).
pub struct Recycling<H> {
    pub inner: H,
    bufs: BufReturner,
}

impl<H> Recycling<H> {
    pub fn new(inner: H, bufs: BufReturner) -> Self {
        Recycling { inner, bufs }
    }
}

impl<H: StreamHandler> StreamHandler for Recycling<H> {
    type State = H::State;

    fn lazy_open(&self) -> bool {
        self.inner.lazy_open()
    }
    fn protected(&self, st: &Self::State) -> bool {
        self.inner.protected(st)
    }
    fn buffered_cost(&self, st: &Self::State) -> usize {
        self.inner.buffered_cost(st)
    }
    fn counters(&self) -> Option<&Counters> {
        self.inner.counters()
    }
    fn open(&mut self, st: &mut Self::State, conn: &ConnMeta) {
        self.inner.open(st, conn)
    }
    fn segment(&mut self, st: &mut Self::State, conn: &ConnMeta, seg: &SegmentMeta) {
        self.inner.segment(st, conn, seg)
    }
    fn data(
        &mut self,
        st: &mut Self::State,
        conn: &ConnMeta,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
        frame: FrameNo,
    ) {
        self.inner.data(st, conn, dir, bytes, ts, frame)
    }
    fn gap(
        &mut self,
        st: &mut Self::State,
        conn: &ConnMeta,
        dir: Direction,
        len: u64,
        ts: Timestamp,
    ) {
        self.inner.gap(st, conn, dir, len, ts)
    }
    fn frame(&mut self, st: &mut Self::State, conn: &ConnMeta, mut frame: Frame) {
        let data = std::mem::take(&mut frame.data);
        self.inner.frame(st, conn, frame);
        self.bufs.give(data);
    }
    fn close(
        &mut self,
        st: &mut Self::State,
        conn: &ConnMeta,
        summary: &FlowSummary,
        reason: CloseReason,
        ts: Timestamp,
    ) {
        self.inner.close(st, conn, summary, reason, ts)
    }
    fn handed_out(&mut self, frame: FrameNo) {
        self.inner.handed_out(frame);
    }
    fn batch_end(&mut self, now: Timestamp) {
        self.inner.batch_end(now)
    }
}

/// Spare frame buffers kept for the capture threads, in bundles of 256.
const RECYCLE_BUNDLES: usize = 16;

/// With no pcap output and no ladder, nothing keeps a frame's bytes once the worker has
/// fed them on: the workers hand the buffers back to the capture threads through a pool.
/// (With `-w` the pcap writer does, through its own pool.)
pub fn recycle_pool(cfg: &Config, sources: &mut [Source]) -> Option<FramePool> {
    let opts = super::session_options(cfg);
    if opts.pcap || opts.explain {
        return None;
    }
    let pool = FramePool::new(RECYCLE_BUNDLES);
    sources.iter_mut().for_each(|s| s.use_pool(&pool));
    Some(pool)
}

#[cfg(test)]
mod tests;
