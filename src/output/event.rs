//! The events oftsniff reports, as they are serialized to NDJSON (`--json`). The schema is
//! documented in docs/EVENTS.md; every event carries `event` and `ts`.

use crate::capture::Timestamp;
use crate::reassembly::{CloseReason, ConnMeta, FlowSummary};
use crate::stats::Counters;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Phase(PhaseRecord),
    File(FileRecord),
    Progress(ProgressRecord),
    Rendezvous(RendezvousRecord),
    Transfer(TransferRecord),
    Flow(FlowRecord),
    Stats(StatsRecord),
}

impl Event {
    pub fn ts(&self) -> f64 {
        match self {
            Event::Phase(e) => e.ts,
            Event::File(e) => e.ts,
            Event::Progress(e) => e.ts,
            Event::Rendezvous(e) => e.ts,
            Event::Transfer(e) => e.ts,
            Event::Flow(e) => e.ts,
            Event::Stats(e) => e.ts,
        }
    }
}

/// Fields a phase may carry; absent ones are left out of the JSON.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PhaseDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_total: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_left: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A transfer reached a phase.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseRecord {
    pub ts: f64,
    pub transfer: String,
    pub phase: &'static str,
    pub dir: String,
    pub frame: u64,
    /// Which data connection of the transfer ("ip:port-ip:port", client first).
    pub conn: String,
    /// 1-based number of that connection within the transfer (2 for a proxy's second leg).
    pub leg: u32,
    #[serde(flatten)]
    pub detail: PhaseDetail,
}

/// A file ended (complete, skipped, resumed, truncated, or seen only in part).
#[derive(Clone, Debug, Serialize)]
pub struct FileRecord {
    pub ts: f64,
    pub transfer: String,
    pub name: String,
    pub size: u64,
    pub bytes: u64,
    pub offset: u64,
    pub checksum_expected: String,
    pub checksum_seen: Option<String>,
    pub checksum_ok: Option<bool>,
    pub checksum_done: Option<String>,
    pub status: &'static str,
    pub duration_s: f64,
    pub rate_bps: f64,
    pub first_data_ts: Option<f64>,
    pub last_data_ts: Option<f64>,
    pub sha256: Option<String>,
    pub path: Option<String>,
    /// Byte ranges `[start, end)` of the file that were not seen.
    pub missing: Vec<[u64; 2]>,
    pub sender: String,
    pub receiver: String,
}

/// A running transfer's progress, every `--progress` seconds of packet time.
#[derive(Clone, Debug, Serialize)]
pub struct ProgressRecord {
    pub ts: f64,
    pub transfer: String,
    pub name: String,
    pub bytes: u64,
    pub size: u64,
    pub percent: f64,
    pub rate_bps: f64,
}

/// A channel-2 rendezvous message seen on an OSCAR (FLAP) connection.
#[derive(Clone, Debug, Serialize)]
pub struct RendezvousRecord {
    pub ts: f64,
    pub transfer: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub frame: u64,
    pub cookie: String,
    pub capability: String,
    /// SNAC subtype as "4/6" (client to server) or "4/7" (server to client).
    pub snac: String,
    pub flap_client: String,
    pub flap_server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_no: Option<u16>,
    pub use_proxy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_count: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<u16>,
    /// SNAC 4/0B: the channel-specific NAK code (1: declined).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nak_code: Option<u16>,
}

/// A transfer ended: all its data connections closed (or the input ended).
#[derive(Clone, Debug, Serialize)]
pub struct TransferRecord {
    pub ts: f64,
    pub transfer: String,
    pub kind: &'static str,
    pub start: f64,
    pub end: f64,
    pub sender: Option<String>,
    pub receiver: Option<String>,
    pub proxied: bool,
    pub proxy: Option<String>,
    pub proxy_creator: Option<&'static str>,
    pub cookie: Option<String>,
    pub sender_name: Option<String>,
    pub receiver_name: Option<String>,
    pub files: u64,
    pub bytes: u64,
    pub duration_s: f64,
    pub rate_bps: f64,
    pub legs: Vec<String>,
    pub cancelled: bool,
    /// Frames of its connections lost to `--max-held-frames` before they were recognized.
    pub frames_lost: u64,
    /// Connections to a predicted address that never carried data (e.g. a SYN refused
    /// with RST before the peers moved to a redirect or the proxy); written to pcap too.
    pub failed_attempts: u64,
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
        // The flow ends at its last frame, not when the table noticed it had ended.
        let end = if sum.last_seen.0 > 0 {
            sum.last_seen
        } else {
            ts
        };
        FlowRecord {
            ts: end.as_f64(),
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

/// Counters of the whole run, reported once at exit: every counter of the registry
/// (`stats::Counters`) by name, in its order, and the pcap writer's own counters as the
/// object `pcap` (null without `-w` / `--pcap-dir`), after `reports_forced` where it has
/// always been.
#[derive(Clone, Debug, Default)]
pub struct StatsRecord {
    pub ts: f64,
    pub counters: Counters,
    /// The pcap writer's final counters; `None` without `-w` / `--pcap-dir`.
    pub pcap: Option<crate::output::pcap_out::PcapOutStats>,
}

impl Serialize for StatsRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("StatsRecord", Counters::NAMES.len() + 2)?;
        m.serialize_field("ts", &self.ts)?;
        for c in self.counters.iter() {
            m.serialize_field(c.name, &c.value)?;
            if c.name == "reports_forced" {
                m.serialize_field("pcap", &self.pcap)?;
            }
        }
        m.end()
    }
}
