//! The events oftsniff reports, as they are serialized to NDJSON (`--json`). The schema is
//! documented in docs/EVENTS.md; every event carries `event` and `ts`.

use crate::capture::Timestamp;
use crate::reassembly::{CloseReason, ConnMeta, FlowSummary};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Flow(FlowRecord),
    Stats(StatsRecord),
}

/// One TCP connection, reported when it ends.
#[derive(Clone, Debug, Serialize)]
pub struct FlowRecord {
    pub ts: f64,
    pub start: f64,
    pub client: String,
    pub server: String,
    pub midstream: bool,
    pub packets_c2s: u64,
    pub packets_s2c: u64,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub close: &'static str,
}

impl FlowRecord {
    pub fn new(conn: &ConnMeta, sum: &FlowSummary, reason: CloseReason, ts: Timestamp) -> Self {
        let c2s = &sum.dirs[conn.client_dir.index()];
        let s2c = &sum.dirs[conn.client_dir.reverse().index()];
        FlowRecord {
            ts: ts.as_f64(),
            start: conn.start.as_f64(),
            client: conn.client().to_string(),
            server: conn.server().to_string(),
            midstream: conn.midstream,
            packets_c2s: c2s.packets,
            packets_s2c: s2c.packets,
            bytes_c2s: c2s.bytes,
            bytes_s2c: s2c.bytes,
            gaps: c2s.gaps + s2c.gaps,
            gap_bytes: c2s.gap_bytes + s2c.gap_bytes,
            close: reason.as_str(),
        }
    }
}

/// Counters of the whole run, reported once at exit.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StatsRecord {
    pub ts: f64,
    pub frames_captured: u64,
    pub kernel_dropped: u64,
    pub queue_dropped: u64,
    pub non_tcp: u64,
    pub undecodable: u64,
    pub ip_fragments: u64,
    pub flows_seen: u64,
    pub flows_evicted: u64,
    pub flows_timed_out: u64,
    pub reassembly_gaps: u64,
    pub gap_bytes: u64,
    pub overlaps_differing: u64,
    pub ooo_dropped_bytes: u64,
    pub held_frames_dropped: u64,
}
