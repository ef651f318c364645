//! The NDJSON schema (`--json`, documented in docs/EVENTS.md): the one place where the
//! session stage's typed events become JSON records. Every record carries `event`, `ts`
//! (seconds since the Unix epoch, as a float) and `timestamp` (the same instant in ISO
//! 8601 UTC); `flow` and `transfer` records carry a Community ID.

use crate::output::community_id;
use crate::output::text::{self, iso8601, ConnText, DigestText, EndpointText, ShortText};
use crate::session::event::{
    Event, FileSeen, FlowSeen, PhaseSeen, ProgressSeen, RendezvousSeen, Step, TransferSummary,
};
use crate::session::TransferId;
use crate::stats::Counters;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use std::io;

mod directim;
mod line;
mod message;
mod phase;

pub use phase::{phase_detail, PhaseDetail};
use phase::{phase_record, PhaseRecord};

/// Who created the proxy session: `sender`/`receiver` of a file, `initiator`/`peer` of
/// a Direct IM.
pub fn proxy_creator_name(t: &TransferSummary, r: crate::session::phase::Role) -> &'static str {
    match (t.direct_im.is_some(), r) {
        (true, crate::session::phase::Role::Sender) => "initiator",
        (true, _) => "peer",
        (false, r) => r.as_str(),
    }
}

pub use message::direction as message_direction;

/// Counters of the whole run, reported once at exit: every counter of the registry
/// (`stats::Counters`) by name, in its order, and the pcap writer's own counters as the
/// object `pcap` (null without `-w` / `--pcap-dir`), after `reports_forced` where it has
/// always been.
#[derive(Clone, Debug, Default)]
pub struct StatsRecord {
    pub ts: f64,
    pub counters: Counters,
    /// The pcap writer's final counters; `None` without `-w` / `--pcap-dir`.
    pub pcap: Option<super::pcap_out::PcapOutStats>,
    /// Counters so far (`--stats-interval`, `SIGUSR1`), not the run's final ones: the
    /// field `"interim": true` is added after every other (absent from the final one).
    pub interim: bool,
}

impl Serialize for StatsRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("StatsRecord", Counters::NAMES.len() + 3)?;
        m.serialize_field("ts", &self.ts)?;
        m.serialize_field("timestamp", &super::timestamp::iso8601_secs(self.ts))?;
        for c in self.counters.iter() {
            m.serialize_field(c.name, &c.value)?;
            if c.name == "reports_forced" {
                m.serialize_field("pcap", &self.pcap)?;
            }
        }
        if self.interim {
            m.serialize_field("interim", &true)?;
        }
        m.end()
    }
}

/// One NDJSON line.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Record<'a> {
    Phase(PhaseRecord),
    File(FileRecord),
    Progress(ProgressRecord),
    Rendezvous(RendezvousRecord),
    Transfer(TransferRecord),
    Flow(FlowRecord),
    Message(message::MessageRecord),
    Stats(&'a StatsRecord),
}

/// Appends one event as a JSON line to `w`.
pub fn write_event(w: &mut Vec<u8>, ev: &Event) -> io::Result<()> {
    let rec = match ev {
        Event::Phase {
            transfer,
            conn,
            leg,
            phase,
        } => Record::Phase(phase_record(*transfer, *conn, *leg, phase)),
        Event::File { transfer, file } => Record::File(file_record(*transfer, file)),
        Event::Progress { transfer, progress } => {
            Record::Progress(progress_record(*transfer, progress))
        }
        Event::Rendezvous { transfer, rv } => Record::Rendezvous(rendezvous_record(*transfer, rv)),
        Event::Transfer(t) => Record::Transfer(transfer_record(t)),
        Event::Flow(f) => Record::Flow(flow_record(f)),
        Event::Message { transfer, msg } => {
            Record::Message(message::message_record(*transfer, msg))
        }
    };
    line::write(w, &rec)?;
    w.push(b'\n');
    Ok(())
}

/// Appends the run's counters as the `stats` JSON line to `w`.
pub fn write_stats(w: &mut Vec<u8>, s: &StatsRecord) -> io::Result<()> {
    line::write(w, &Record::Stats(s))?;
    w.push(b'\n');
    Ok(())
}

fn file_record(transfer: TransferId, f: &FileSeen) -> FileRecord {
    let end = &f.end;
    let party =
        |e: Option<crate::flow::Endpoint>| e.map(|e| text::endpoint(&e)).unwrap_or_default();
    FileRecord {
        ts: end.end.as_f64(),
        timestamp: iso8601(end.end),
        transfer: text::transfer(transfer),
        name: end.name.clone(),
        size: end.size,
        bytes: end.bytes,
        bytes_sent: end.legs.sent,
        bytes_delivered: end.legs.delivered,
        bytes_acked: end.legs.acked,
        offset: end.offset,
        checksum_expected: text::checksum(end.checksum_expected),
        checksum_seen: end.checksum_seen.map(text::checksum),
        checksum_ok: end.checksum_ok,
        checksum_done: end.checksum_done.map(text::checksum),
        checksum_partial: end.checksum_partial.map(text::checksum),
        status: end.status.as_str(),
        duration_s: end.duration_s(),
        rate_bps: end.rate_bps(),
        wire_duration_s: end.wire_duration_s(),
        first_data_ts: end.first_data.map(|t| t.as_f64()),
        last_data_ts: end.last_data.map(|t| t.as_f64()),
        sha256: end.sha256.map(|h| text::sha256(&h)),
        md5: end.md5.map(|h| text::md5(&h)),
        path: f.path.as_ref().map(|p| p.display().to_string()),
        missing: end.missing.clone(),
        sender: party(f.sender),
        receiver: party(f.receiver),
        bytes_after_reset: end.bytes_after_reset,
        carve_error: f.carve_error.clone(),
    }
}

fn progress_record(transfer: TransferId, p: &ProgressSeen) -> ProgressRecord {
    ProgressRecord {
        ts: p.at.ts.as_f64(),
        timestamp: iso8601(p.at.ts),
        transfer: text::transfer(transfer),
        name: p.name.clone(),
        bytes: p.bytes,
        size: p.size,
        percent: percent(p.bytes, p.size),
        rate_bps: p.rate_bps,
    }
}

/// Share of `size` that `bytes` is, in percent (100 for an empty file).
pub fn percent(bytes: u64, size: u64) -> f64 {
    if size > 0 {
        bytes as f64 * 100.0 / size as f64
    } else {
        100.0
    }
}

/// A SNAC as people write it: family/subtype, the subtype in hex past 9 (`4/0B`).
pub fn snac_label((family, subtype): (u16, u16)) -> String {
    if subtype > 9 {
        format!("{family}/{subtype:02X}")
    } else {
        format!("{family}/{subtype}")
    }
}

/// The capability a rendezvous names, as written in events.
pub fn capability_name(rv: &RendezvousSeen) -> &'static str {
    rv.capability.and_then(|c| c.name()).unwrap_or("other")
}

fn rendezvous_record(transfer: TransferId, rv: &RendezvousSeen) -> RendezvousRecord {
    RendezvousRecord {
        ts: rv.at.ts.as_f64(),
        timestamp: iso8601(rv.at.ts),
        transfer: text::transfer(transfer),
        kind: rv.kind.as_str(),
        frame: rv.at.frame.0,
        cookie: text::cookie(&rv.cookie),
        capability: capability_name(rv).to_string(),
        snac: snac_label(rv.snac),
        flap_client: text::endpoint(&rv.flap_client),
        flap_server: text::endpoint(&rv.flap_server),
        screen_name: rv.screen_name.clone(),
        request_no: rv.request_no,
        use_proxy: rv.use_proxy,
        ip: rv.ip.map(|i| i.to_string()),
        client_ip: rv.client_ip.map(|i| i.to_string()),
        verified_ip: rv.verified_ip.map(|i| i.to_string()),
        port: rv.port,
        file_name: rv.file_name.clone(),
        file_count: rv.file_count,
        total_size: rv.total_size,
        cancel_reason: rv.cancel_reason,
        nak_code: rv.nak_code,
    }
}

fn transfer_record(t: &TransferSummary) -> TransferRecord {
    let ep = |e: Option<crate::flow::Endpoint>| e.map(|e| text::endpoint(&e));
    TransferRecord {
        ts: t.ts.as_f64(),
        timestamp: iso8601(t.ts),
        transfer: text::transfer(t.transfer),
        kind: t.kind.as_str(),
        start: t.start.as_f64(),
        end: t.end.as_f64(),
        sender: ep(t.sender),
        receiver: ep(t.receiver),
        proxied: t.proxy.is_some(),
        proxy: ep(t.proxy),
        proxy_creator: t.proxy_creator.map(|r| proxy_creator_name(t, r)),
        cookie: t.cookie.map(|c| text::cookie(&c)),
        sender_name: t.sender_name.clone(),
        receiver_name: t.receiver_name.clone(),
        files: t.files,
        bytes: t.bytes,
        bytes_sent: t.legs_carried.sent,
        bytes_delivered: t.legs_carried.delivered,
        bytes_acked: t.legs_carried.acked,
        duration_s: t.duration_s(),
        rate_bps: t.rate_bps(),
        legs: t.legs.iter().map(|(c, s)| text::conn(c, s)).collect(),
        cancelled: t.cancelled,
        frames_lost: t.frames_lost,
        failed_attempts: t.failed_attempts,
        // The data connection's first leg, client (SYN sender) to server.
        community_id: t.legs.first().map(|(c, s)| community_id::tcp(c, s)),
        direct_im: t.direct_im.as_deref().map(directim::direct_im_record),
    }
}

fn flow_record(f: &FlowSeen) -> FlowRecord {
    FlowRecord {
        ts: f.end.as_f64(),
        timestamp: iso8601(f.end),
        start: f.start.as_f64(),
        client: text::endpoint(&f.client),
        server: text::endpoint(&f.server),
        midstream: f.midstream,
        packets_c2s: f.packets_c2s,
        packets_s2c: f.packets_s2c,
        bytes_c2s: f.bytes_c2s,
        bytes_s2c: f.bytes_s2c,
        gaps: f.gaps,
        gap_bytes: f.gap_bytes,
        close: f.close.as_str(),
        community_id: community_id::tcp(&f.client, &f.server),
        bytes_after_reset: f.bytes_after_reset,
    }
}

/// A file ended (complete, skipped, resumed, truncated, or seen only in part).
#[derive(Serialize)]
struct FileRecord {
    pub ts: f64,
    /// `ts` as ISO 8601 UTC with microseconds, for log shippers' `@timestamp`.
    pub timestamp: ShortText,
    pub transfer: ShortText,
    pub name: String,
    pub size: u64,
    pub bytes: u64,
    /// What the sender put on the wire, what reached the receiver's side of the wire,
    /// what the receiver acknowledged (null: not seen).
    pub bytes_sent: Option<u64>,
    pub bytes_delivered: Option<u64>,
    pub bytes_acked: Option<u64>,
    pub offset: u64,
    pub checksum_expected: ShortText,
    pub checksum_seen: Option<ShortText>,
    pub checksum_ok: Option<bool>,
    pub checksum_done: Option<ShortText>,
    /// Only on a file picked up midstream whose seen bytes could be placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum_partial: Option<ShortText>,
    pub status: &'static str,
    /// From the data request (ACK / RESUME_ACK) to the DONE (or the last data byte).
    pub duration_s: f64,
    pub rate_bps: f64,
    /// First to last data byte.
    pub wire_duration_s: f64,
    pub first_data_ts: Option<f64>,
    pub last_data_ts: Option<f64>,
    pub sha256: Option<DigestText>,
    /// Only with `--hash md5` (absent otherwise, so the default record is unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<DigestText>,
    pub path: Option<String>,
    /// Byte ranges `[start, end)` of the file that were not seen.
    pub missing: Vec<[u64; 2]>,
    pub sender: EndpointText,
    pub receiver: EndpointText,
    /// File bytes that arrived after the connection was reset (in flight then).
    pub bytes_after_reset: u64,
    /// Why `--extract` could not write the file, null when it could (or was not asked).
    pub carve_error: Option<String>,
}

/// A running transfer's progress, every `--progress` seconds of packet time.
#[derive(Serialize)]
struct ProgressRecord {
    pub ts: f64,
    /// `ts` as ISO 8601 UTC with microseconds, for log shippers' `@timestamp`.
    pub timestamp: ShortText,
    pub transfer: ShortText,
    pub name: String,
    pub bytes: u64,
    pub size: u64,
    pub percent: f64,
    pub rate_bps: f64,
}

/// A channel-2 rendezvous message seen on an OSCAR (FLAP) connection.
#[derive(Serialize)]
struct RendezvousRecord {
    pub ts: f64,
    /// `ts` as ISO 8601 UTC with microseconds, for log shippers' `@timestamp`.
    pub timestamp: ShortText,
    pub transfer: ShortText,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub frame: u64,
    pub cookie: ShortText,
    pub capability: String,
    /// SNAC subtype as "4/6" (client to server) or "4/7" (server to client).
    pub snac: String,
    pub flap_client: EndpointText,
    pub flap_server: EndpointText,
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
#[derive(Serialize)]
struct TransferRecord {
    pub ts: f64,
    /// `ts` as ISO 8601 UTC with microseconds, for log shippers' `@timestamp`.
    pub timestamp: ShortText,
    pub transfer: ShortText,
    pub kind: &'static str,
    pub start: f64,
    pub end: f64,
    pub sender: Option<EndpointText>,
    pub receiver: Option<EndpointText>,
    pub proxied: bool,
    pub proxy: Option<EndpointText>,
    pub proxy_creator: Option<&'static str>,
    pub cookie: Option<ShortText>,
    pub sender_name: Option<String>,
    pub receiver_name: Option<String>,
    pub files: u64,
    pub bytes: u64,
    /// Sums over its files (null when no file's count was known).
    pub bytes_sent: Option<u64>,
    pub bytes_delivered: Option<u64>,
    pub bytes_acked: Option<u64>,
    pub duration_s: f64,
    pub rate_bps: f64,
    pub legs: Vec<ConnText>,
    pub cancelled: bool,
    /// Frames of its connections lost to `--max-held-frames` before they were recognized.
    pub frames_lost: u64,
    /// Connections to a predicted address that never carried data (e.g. a SYN refused
    /// with RST before the peers moved to a redirect or the proxy); written to pcap too.
    pub failed_attempts: u64,
    /// Community ID v1 (seed 0) of the first data connection; null without one.
    pub community_id: Option<String>,
    /// Direct IM only: initiator, peer and what each sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_im: Option<directim::DirectImRecord>,
}

/// One TCP connection, reported when it ends.
#[derive(Serialize)]
struct FlowRecord {
    pub ts: f64,
    /// `ts` as ISO 8601 UTC with microseconds, for log shippers' `@timestamp`.
    pub timestamp: ShortText,
    pub start: f64,
    pub client: EndpointText,
    pub server: EndpointText,
    pub midstream: bool,
    pub packets_c2s: u64,
    pub packets_s2c: u64,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub close: &'static str,
    /// Community ID v1 (seed 0) of the connection.
    pub community_id: String,
    pub bytes_after_reset: u64,
}
