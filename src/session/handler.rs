//! The worker's stream handler: reports flows, and (with the OFT session layer) follows
//! every transfer on the connections it owns.

use crate::capture::{Frame, FrameNo, Timestamp};
use crate::flow::Direction;
use crate::output::event::{Event, FlowRecord};
use crate::reassembly::{CloseReason, ConnMeta, FlowSummary, SegmentMeta, StreamHandler};
use crossbeam_channel::Sender;

pub struct SessionHandler {
    events: Sender<Event>,
}

impl SessionHandler {
    pub fn new(events: Sender<Event>) -> Self {
        SessionHandler { events }
    }

    fn emit(&self, ev: Event) {
        // The event thread outlives the workers; a send error means it failed and
        // already reported why.
        let _ = self.events.send(ev);
    }
}

#[derive(Default)]
pub struct FlowState {}

impl StreamHandler for SessionHandler {
    type State = FlowState;

    fn open(&mut self, _st: &mut FlowState, _conn: &ConnMeta) {}

    fn segment(&mut self, _st: &mut FlowState, _conn: &ConnMeta, _seg: &SegmentMeta) {}

    fn data(
        &mut self,
        _st: &mut FlowState,
        _conn: &ConnMeta,
        _dir: Direction,
        _bytes: &[u8],
        _ts: Timestamp,
        _frame: FrameNo,
    ) {
    }

    fn gap(&mut self, _st: &mut FlowState, _conn: &ConnMeta, _dir: Direction, _len: u64, _ts: Timestamp) {}

    fn frame(&mut self, _st: &mut FlowState, _conn: &ConnMeta, _frame: Frame) {}

    fn close(
        &mut self,
        _st: &mut FlowState,
        conn: &ConnMeta,
        summary: &FlowSummary,
        reason: CloseReason,
        ts: Timestamp,
    ) {
        self.emit(Event::Flow(FlowRecord::new(conn, summary, reason, ts)));
    }
}
