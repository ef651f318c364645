//! The correlator, on the event thread: joins what workers report about single
//! connections into transfers. A transfer is one rendezvous cookie: its FLAP messages,
//! its data connection(s) — both legs when proxied — and its files.
//!
//! Matching, in order of trust: the cookie (proxy INIT frames, OFT ACK/DONE carry it),
//! the proxy token, then the ip:port a PROPOSE predicted for a direct connection.

use super::report::{ConnId, ConnRef, LadderLine, Prediction, Report, SessionKind};
use crate::capture::Frame;
use crate::capture::Timestamp;
use crate::flow::{Endpoint, FlowKey};
use crate::output::event::{Event, FileRecord, PhaseRecord, TransferRecord};
use crate::output::transfer_files::{TransferId, TransferLabel};
use crate::proto::rendezvous::RvKind;
use crate::proto::Cookie;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// How a transfer is named in output: "T1", "T2", … in the order they were first seen.
fn label(t: TransferId) -> String {
    format!("T{}", t.0)
}

/// Where the correlator's results go.
pub trait CorrelatorOutput {
    fn event(&mut self, ev: Event);
    /// Frames for pcap output, with the transfer they belong to.
    fn frames(&mut self, transfer: TransferId, conn: FlowKey, frames: Vec<Frame>);
    /// The transfer's label for a per-transfer pcap file name, sent before its frames.
    fn transfer_started(&mut self, transfer: TransferId, label: &TransferLabel);
    fn transfer_ended(&mut self, transfer: TransferId);
}

#[derive(Default)]
struct Transfer {
    cookie: Option<Cookie>,
    kind: Option<SessionKind>,
    start: f64,
    end: f64,
    legs: Vec<ConnRef>,
    open: Vec<ConnId>,
    sender: Option<Endpoint>,
    receiver: Option<Endpoint>,
    proxy: Option<Endpoint>,
    proxy_creator: Option<&'static str>,
    sender_name: Option<String>,
    receiver_name: Option<String>,
    files: u64,
    bytes: u64,
    file_keys: Vec<(String, u64)>,
    secondary_files: Vec<FileRecord>,
    cancelled: bool,
    frames_lost: u64,
    /// Where the latest direct PROPOSE said the data connection would go.
    predicted: Vec<Endpoint>,
    /// Proposer of each PROPOSE seen: (flap client ip, proposer is the file sender).
    proposers: Vec<(IpAddr, bool)>,
    first_file: Option<String>,
    /// First and last file-data byte over all files.
    data_span: Option<(f64, f64)>,
    ladder: Vec<(String, LadderLine)>,
    rendezvous_lines: Vec<String>,
    pcap_started: bool,
    closed_at: Option<f64>,
    ended: bool,
}

impl Transfer {
    fn add_span(&mut self, f: &FileRecord) {
        // The file's duration (which falls back to ACK-to-last-byte for one-segment files).
        if let Some(b) = f.last_data_ts {
            let a = b - f.duration_s;
            let (lo, hi) = self.data_span.unwrap_or((a, b));
            self.data_span = Some((lo.min(a), hi.max(b)));
        }
    }
}

/// Seconds of packet time an ended transfer is remembered (late legs, duplicates).
const FORGET_SECS: f64 = 60.0;
/// Seconds of packet time after which a transfer with no open connection (a rendezvous
/// that led nowhere) is reported as ended.
const IDLE_SECS: f64 = 600.0;
/// Transfers followed at once; past it the longest idle are ended early (counted).
const MAX_TRANSFERS: usize = 65_536;

/// Seconds of packet time a transfer waits after its last connection closed before it
/// is reported, so legs reported late by another worker still join it.
const LINGER_SECS: f64 = 5.0;

pub struct Correlator {
    transfers: BTreeMap<TransferId, Transfer>,
    conns: HashMap<ConnId, TransferId>,
    by_cookie: HashMap<Cookie, TransferId>,
    by_endpoint: HashMap<Endpoint, TransferId>,
    by_token: HashMap<u16, TransferId>,
    /// Transfers folded into another once a shared cookie showed they were one.
    merged: HashMap<TransferId, TransferId>,
    next: u64,
    explain: bool,
    /// Ladders of finished transfers, printed at exit.
    pub explained: Vec<String>,
    now: f64,
    last_sweep: f64,
    /// Transfers ended early because `MAX_TRANSFERS` were open.
    pub transfers_evicted: u64,
}

impl Correlator {
    pub fn new(explain: bool) -> Self {
        Correlator {
            transfers: BTreeMap::new(),
            conns: HashMap::new(),
            by_cookie: HashMap::new(),
            by_endpoint: HashMap::new(),
            by_token: HashMap::new(),
            merged: HashMap::new(),
            next: 0,
            explain,
            explained: Vec::new(),
            now: 0.0,
            last_sweep: 0.0,
            transfers_evicted: 0,
        }
    }

    fn new_transfer(&mut self, start: f64) -> TransferId {
        self.next += 1;
        let id = TransferId(self.next);
        self.transfers.insert(
            id,
            Transfer {
                start,
                end: start,
                ..Transfer::default()
            },
        );
        id
    }

    fn live(&self, mut id: TransferId) -> TransferId {
        while let Some(&to) = self.merged.get(&id) {
            id = to;
        }
        id
    }

    /// The transfer a connection belongs to, creating one for a new connection that
    /// matches nothing.
    fn resolve(&mut self, conn: &ConnRef, ts: f64) -> TransferId {
        if let Some(&t) = self.conns.get(&conn.id) {
            let t = self.live(t);
            if let Some(c) = conn.cookie {
                self.learn_cookie(t, c);
            }
            return self.live(t);
        }
        let found = conn
            .cookie
            .and_then(|c| self.by_cookie.get(&c).copied())
            .or_else(|| conn.token.and_then(|k| self.by_token.get(&k).copied()))
            .map(|t| self.live(t))
            .filter(|t| self.transfers.get(t).is_some_and(|tr| !tr.ended))
            .or_else(|| {
                // An address is weak evidence: clients listen on the same ip:port for
                // offer after offer, and the next offer's connection may be reported
                // before its PROPOSE (another worker). A prediction serves one
                // connection, and none once the transfer's connections have all closed.
                (!conn.proxied)
                    .then(|| self.by_endpoint.get(&conn.server).copied())
                    .flatten()
                    .map(|t| self.live(t))
                    .filter(|t| {
                        self.transfers.get(t).is_some_and(|tr| {
                            !tr.ended
                                && tr.closed_at.is_none()
                                && !tr.legs.iter().any(|l| l.server == conn.server)
                        })
                    })
            });
        let t = match found {
            Some(t) => t,
            None => self.new_transfer(ts),
        };
        self.conns.insert(conn.id, t);
        let tr = self.transfers.get_mut(&t).expect("live transfer");
        tr.legs.push(*conn);
        tr.open.push(conn.id);
        tr.closed_at = None;
        if let Some(c) = conn.cookie {
            self.learn_cookie(t, c);
        }
        self.live(t)
    }

    fn learn_cookie(&mut self, t: TransferId, c: Cookie) {
        if c.is_zero() {
            return;
        }
        let ended = |s: &Self, id: TransferId| s.transfers.get(&id).is_none_or(|tr| tr.ended);
        // Two transfers that each learned a different cookie are two transfers: a
        // connection attached to `t` by its address cannot make them one.
        let other_cookie = |s: &Self| {
            s.transfers
                .get(&t)
                .and_then(|tr| tr.cookie)
                .is_some_and(|own| own != c)
        };
        match self.by_cookie.get(&c).map(|&o| self.live(o)) {
            Some(other) if other != t && other_cookie(self) => {}
            Some(other) if other != t && !ended(self, other) && !ended(self, t) => {
                self.merge(t, other)
            }
            // The cookie's earlier transfer is over: a new one reuses the cookie.
            Some(other) if other != t && ended(self, other) => {
                self.by_cookie.insert(c, t);
                if let Some(tr) = self.transfers.get_mut(&t) {
                    tr.cookie.get_or_insert(c);
                }
            }
            Some(_) => {}
            None => {
                self.by_cookie.insert(c, t);
                if let Some(tr) = self.transfers.get_mut(&t) {
                    tr.cookie.get_or_insert(c);
                }
            }
        }
    }

    /// Folds the later-created transfer into the earlier one.
    fn merge(&mut self, a: TransferId, b: TransferId) {
        let (keep, gone) = if a < b { (a, b) } else { (b, a) };
        let Some(g) = self.transfers.remove(&gone) else {
            return;
        };
        self.merged.insert(gone, keep);
        let k = self.transfers.get_mut(&keep).expect("kept transfer");
        k.cookie = k.cookie.or(g.cookie);
        k.kind = k.kind.or(g.kind);
        k.start = k.start.min(g.start);
        k.end = k.end.max(g.end);
        k.legs.extend(g.legs);
        k.open.extend(g.open);
        k.sender = k.sender.or(g.sender);
        k.receiver = k.receiver.or(g.receiver);
        k.proxy = k.proxy.or(g.proxy);
        k.proxy_creator = k.proxy_creator.or(g.proxy_creator);
        k.sender_name = k.sender_name.take().or(g.sender_name);
        k.receiver_name = k.receiver_name.take().or(g.receiver_name);
        k.files += g.files;
        k.bytes += g.bytes;
        k.file_keys.extend(g.file_keys);
        k.secondary_files.extend(g.secondary_files);
        k.cancelled |= g.cancelled;
        k.frames_lost += g.frames_lost;
        k.proposers.extend(g.proposers);
        k.predicted.extend(g.predicted);
        k.first_file = k.first_file.take().or(g.first_file);
        k.data_span = match (k.data_span, g.data_span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, y) => x.or(y),
        };
        k.ladder.extend(g.ladder);
        k.rendezvous_lines.extend(g.rendezvous_lines);
        k.pcap_started |= g.pcap_started;
        if let Some(c) = k.cookie {
            self.by_cookie.insert(c, keep);
        }
    }

    /// Latest packet time seen in a report.
    pub fn now(&self) -> f64 {
        self.now
    }

    pub fn handle(&mut self, r: Report, out: &mut dyn CorrelatorOutput) {
        match r {
            Report::Phase {
                conn,
                phase,
                arrow,
                ts,
                frame,
                detail,
            } => {
                let ts = ts.as_f64();
                self.tick(ts, out);
                let t = self.resolve(&conn, ts);
                let tr = self.transfers.get_mut(&t).expect("live transfer");
                tr.end = tr.end.max(ts);
                if tr.first_file.is_none() {
                    tr.first_file = detail.name.clone();
                }
                if phase == super::phase::Phase::DirectIm {
                    tr.kind = Some(SessionKind::DirectIm);
                }
                out.event(Event::Phase(PhaseRecord {
                    ts,
                    transfer: label(t),
                    phase: phase.as_str(),
                    dir: arrow.to_string(),
                    frame: frame.0,
                    conn: conn.label(),
                    detail,
                }));
            }
            Report::File {
                conn,
                mut file,
                primary,
            } => {
                self.tick(file.ts, out);
                let t = self.resolve(&conn, file.ts);
                file.transfer = label(t);
                let tr = self.transfers.get_mut(&t).expect("live transfer");
                let key = (file.name.clone(), file.offset);
                if !primary {
                    tr.secondary_files.push(file);
                    return;
                }
                if tr.file_keys.contains(&key) {
                    return;
                }
                tr.file_keys.push(key);
                tr.files += 1;
                tr.bytes += file.bytes;
                tr.add_span(&file);
                out.event(Event::File(file));
            }
            Report::Progress { conn, mut progress } => {
                let t = self.resolve(&conn, progress.ts);
                progress.transfer = label(t);
                out.event(Event::Progress(progress));
            }
            Report::Rendezvous {
                mut record,
                prediction,
            } => {
                self.tick(record.ts, out);
                let t = self.rendezvous(&prediction, &record.flap_client, record.ts);
                record.transfer = label(t);
                if self.explain {
                    let line = format!(
                        "{:>7} {:.6}  FLAP {} -> {}  SNAC {} {}{}",
                        record.frame,
                        record.ts,
                        record.flap_client,
                        record.flap_server,
                        record.snac,
                        record.kind,
                        record
                            .file_name
                            .as_deref()
                            .map(|n| format!(" \"{n}\""))
                            .unwrap_or_default()
                    );
                    if let Some(tr) = self.transfers.get_mut(&t) {
                        tr.rendezvous_lines.push(line);
                    }
                }
                out.event(Event::Rendezvous(record));
            }
            Report::Closed { conn, outcome } => {
                let end = outcome.end.as_f64();
                self.tick(end, out);
                let t = self.resolve(&conn, end);
                let tr = self.transfers.get_mut(&t).expect("live transfer");
                tr.open.retain(|c| *c != conn.id);
                tr.end = tr.end.max(end);
                tr.kind = tr.kind.or(Some(outcome.kind));
                tr.frames_lost += outcome.frames_lost;
                if conn.proxied {
                    tr.proxy.get_or_insert(conn.server);
                    // The leg whose TCP client sends the file says the most about roles.
                    if let Some(creator) = outcome.proxy_creator {
                        let client_is_sender = outcome.sender == Some(conn.client);
                        let client_is_receiver = outcome.receiver == Some(conn.client);
                        if client_is_sender || client_is_receiver {
                            let creator_is_sender = creator == client_is_sender;
                            tr.proxy_creator.get_or_insert(if creator_is_sender {
                                "sender"
                            } else {
                                "receiver"
                            });
                            if let Some(sn) = outcome.screen_name.clone() {
                                if client_is_sender {
                                    tr.sender_name.get_or_insert(sn);
                                } else {
                                    tr.receiver_name.get_or_insert(sn);
                                }
                            }
                        }
                        if client_is_sender {
                            tr.sender = Some(conn.client);
                        } else if client_is_receiver {
                            tr.receiver = Some(conn.client);
                        }
                    }
                } else {
                    tr.sender = tr.sender.or(outcome.sender);
                    tr.receiver = tr.receiver.or(outcome.receiver);
                }
                if tr.open.is_empty() {
                    tr.closed_at = Some(end);
                }
            }
            Report::Frames { conn, frames } => {
                let ts = frames.first().map(|f| f.ts.as_f64()).unwrap_or(self.now);
                let t = self.resolve(&conn, ts);
                self.start_pcap(t, &conn, out);
                let key = FlowKey::from_segment(conn.client, conn.server).0;
                out.frames(t, key, frames);
            }
            Report::RendezvousFrame { cookie, frame } => {
                if let Some(&t) = self.by_cookie.get(&cookie) {
                    let t = self.live(t);
                    if let Some(conn) = self
                        .transfers
                        .get(&t)
                        .and_then(|tr| tr.legs.first().copied())
                    {
                        self.start_pcap(t, &conn, out);
                    }
                    let key = FlowKey::from_segment(
                        Endpoint::new(IpAddr::from([0, 0, 0, 0]), 0),
                        Endpoint::new(IpAddr::from([0, 0, 0, 0]), 0),
                    )
                    .0;
                    out.frames(t, key, vec![frame]);
                }
            }
            Report::Ladder { conn, lines } => {
                if let Some(&t) = self.conns.get(&conn.id) {
                    let t = self.live(t);
                    if let Some(tr) = self.transfers.get_mut(&t) {
                        let label = conn.label();
                        tr.ladder
                            .extend(lines.into_iter().map(|l| (label.clone(), l)));
                    }
                }
            }
            Report::Flow(f) => out.event(Event::Flow(f)),
            Report::Stats(s) => out.event(Event::Stats(s)),
        }
    }

    fn start_pcap(&mut self, t: TransferId, conn: &ConnRef, out: &mut dyn CorrelatorOutput) {
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        if tr.pcap_started {
            return;
        }
        tr.pcap_started = true;
        let label = TransferLabel {
            start: Timestamp((tr.start.max(0.0) * 1e9) as u64),
            a: conn.client,
            b: conn.server,
            first_name: tr.first_file.clone(),
        };
        out.transfer_started(t, &label);
    }

    /// A PROPOSE, ACCEPT or CANCEL: find or make its transfer and learn from it.
    fn rendezvous(&mut self, p: &Prediction, flap_client: &str, ts: f64) -> TransferId {
        let t = match self.by_cookie.get(&p.cookie).map(|&t| self.live(t)) {
            Some(t) if self.transfers.get(&t).is_some_and(|tr| !tr.ended) => t,
            _ => {
                // A data connection reported before its PROPOSE (another worker was
                // ahead): find it by the predicted endpoint.
                let by_ep = p.port.and_then(|port| {
                    p.ips.iter().find_map(|ip| {
                        let ep = Endpoint::new(IpAddr::V4(*ip), port);
                        self.transfers.iter().find_map(|(id, tr)| {
                            (tr.cookie.is_none()
                                && !tr.ended
                                && tr.legs.iter().any(|l| l.server == ep))
                            .then_some(*id)
                        })
                    })
                });
                let t = by_ep.unwrap_or_else(|| self.new_transfer(ts));
                self.learn_cookie(t, p.cookie);
                self.live(t)
            }
        };
        let tr = self.transfers.get_mut(&t).expect("live transfer");
        tr.end = tr.end.max(ts);
        if p.direct_im {
            tr.kind.get_or_insert(SessionKind::DirectIm);
        }
        if tr.first_file.is_none() {
            tr.first_file = p.file_name.clone();
        }
        let flap_ip = flap_client
            .parse::<std::net::SocketAddr>()
            .ok()
            .map(|a| a.ip());
        match p.kind {
            RvKind::Propose => {
                // The proposer of a PROPOSE carrying file data (0x2711) is the file sender;
                // a follow-up without it (redirect, stage-2 proxy) comes from the receiver.
                let proposer_is_sender =
                    p.from_sender || (p.request_no.unwrap_or(1) == 1 && !p.direct_im);
                if let Some(ip) = flap_ip {
                    tr.proposers.push((ip, proposer_is_sender));
                }
                // 4/6 names the recipient; 4/7 names the proposer.
                let names_sender = if p.outgoing {
                    !proposer_is_sender
                } else {
                    proposer_is_sender
                };
                if let Some(sn) = p.screen_name.clone() {
                    if names_sender {
                        tr.sender_name.get_or_insert(sn);
                    } else {
                        tr.receiver_name.get_or_insert(sn);
                    }
                }
                // A newer PROPOSE (redirect, stage-2 proxy) replaces the addresses an
                // earlier one predicted.
                for ep in std::mem::take(&mut tr.predicted) {
                    if self.by_endpoint.get(&ep) == Some(&t) {
                        self.by_endpoint.remove(&ep);
                    }
                }
                if let Some(port) = p.port {
                    if p.use_proxy {
                        self.by_token.insert(port, t);
                    } else {
                        for ip in &p.ips {
                            let ep = Endpoint::new(IpAddr::V4(*ip), port);
                            // Already connected there: the prediction is used up.
                            if !tr.legs.iter().any(|l| l.server == ep) {
                                self.by_endpoint.insert(ep, t);
                                tr.predicted.push(ep);
                            }
                        }
                    }
                }
            }
            RvKind::Accept => {
                // Either client may send an ACCEPT (Appendix B), so its screen name says
                // nothing by itself; it names the party not yet named, if one is.
                if let Some(sn) = p.screen_name.clone() {
                    let known = [tr.sender_name.as_deref(), tr.receiver_name.as_deref()];
                    if !known.contains(&Some(sn.as_str())) {
                        match (tr.sender_name.is_some(), tr.receiver_name.is_some()) {
                            (true, false) => tr.receiver_name = Some(sn),
                            (false, true) => tr.sender_name = Some(sn),
                            _ => {}
                        }
                    }
                }
            }
            RvKind::Cancel => tr.cancelled = true,
            _ => {}
        }
        t
    }

    /// Reports transfers whose connections all closed a while ago (packet time).
    fn tick(&mut self, now: f64, out: &mut dyn CorrelatorOutput) {
        if now > self.now {
            self.now = now;
        }
        // A sweep walks every transfer: once per second of packet time is plenty.
        if self.now < self.last_sweep + 1.0 {
            return;
        }
        self.last_sweep = self.now;
        let now = self.now;
        let mut due = Vec::new();
        let mut gone = Vec::new();
        for (id, tr) in &self.transfers {
            if tr.ended {
                if now - tr.end > FORGET_SECS {
                    gone.push(*id);
                }
            } else if tr.closed_at.is_some_and(|c| now - c > LINGER_SECS)
                || (tr.open.is_empty() && now - tr.end > IDLE_SECS)
            {
                due.push(*id);
            }
        }
        // Past the cap, the transfers idle longest end first.
        if self.transfers.len() > MAX_TRANSFERS {
            let mut by_age: Vec<(f64, TransferId)> = self
                .transfers
                .iter()
                .filter(|(_, tr)| !tr.ended)
                .map(|(id, tr)| (tr.end, *id))
                .collect();
            by_age.sort_by(|a, b| a.0.total_cmp(&b.0));
            let excess = self.transfers.len() - MAX_TRANSFERS;
            due.extend(by_age.into_iter().take(excess).map(|(_, id)| id));
            self.transfers_evicted += excess as u64;
        }
        for t in due {
            self.end_transfer(t, out);
        }
        for t in gone {
            self.forget(t);
        }
    }

    /// Drops an ended transfer and every index entry that leads to it.
    fn forget(&mut self, t: TransferId) {
        self.transfers.remove(&t);
        self.conns.retain(|_, v| *v != t);
        self.by_cookie.retain(|_, v| *v != t);
        self.by_endpoint.retain(|_, v| *v != t);
        self.by_token.retain(|_, v| *v != t);
        self.merged.retain(|_, v| *v != t);
    }

    /// Reports every transfer not yet reported (end of input, or a wall-clock flush
    /// when `force` says the live capture went quiet).
    pub fn finish(&mut self, out: &mut dyn CorrelatorOutput) {
        let ids: Vec<TransferId> = self.transfers.keys().copied().collect();
        for t in ids {
            self.end_transfer(t, out);
        }
    }

    /// Reports transfers all of whose connections closed, regardless of linger.
    pub fn flush_closed(&mut self, out: &mut dyn CorrelatorOutput) {
        let due: Vec<TransferId> = self
            .transfers
            .iter()
            .filter(|(_, tr)| !tr.ended && tr.closed_at.is_some())
            .map(|(id, _)| *id)
            .collect();
        for t in due {
            self.end_transfer(t, out);
        }
    }

    fn end_transfer(&mut self, t: TransferId, out: &mut dyn CorrelatorOutput) {
        let explain = self.explain;
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        if tr.ended {
            return;
        }
        tr.ended = true;
        // A proxied receiver's leg speaks for files only its sender's leg missed.
        for f in std::mem::take(&mut tr.secondary_files) {
            let key = (f.name.clone(), f.offset);
            if !tr.file_keys.contains(&key) {
                tr.file_keys.push(key);
                tr.files += 1;
                tr.bytes += f.bytes;
                tr.add_span(&f);
                out.event(Event::File(f));
            }
        }
        // Direct transfers: the FLAP proposer's address names the sender when the data
        // connection did not say.
        // The rate is over the time data moved, not the whole negotiation.
        let duration = tr.data_span.map(|(a, b)| b - a).unwrap_or(0.0).max(0.0);
        let rec = TransferRecord {
            ts: tr.end,
            transfer: label(t),
            kind: tr.kind.unwrap_or(SessionKind::File).as_str(),
            start: tr.start,
            sender: tr.sender.map(|e| e.to_string()),
            receiver: tr.receiver.map(|e| e.to_string()),
            proxied: tr.proxy.is_some(),
            proxy: tr.proxy.map(|e| e.to_string()),
            proxy_creator: tr.proxy_creator,
            cookie: tr.cookie.map(|c| c.to_string()),
            sender_name: tr.sender_name.clone(),
            receiver_name: tr.receiver_name.clone(),
            files: tr.files,
            bytes: tr.bytes,
            duration_s: duration,
            rate_bps: if duration > 0.0 {
                tr.bytes as f64 * 8.0 / duration
            } else {
                0.0
            },
            legs: tr.legs.iter().map(|l| l.label()).collect(),
            cancelled: tr.cancelled,
            frames_lost: tr.frames_lost,
        };
        if explain {
            let mut text = format!(
                "== {} {} {} -> {}\n",
                label(t),
                rec.kind,
                rec.sender.as_deref().unwrap_or("?"),
                rec.receiver.as_deref().unwrap_or("?")
            );
            for l in &tr.rendezvous_lines {
                text.push_str(l);
                text.push('\n');
            }
            tr.ladder.sort_by_key(|(_, l)| l.frame);
            for (conn, l) in &tr.ladder {
                let (c, s) = conn.split_once('-').unwrap_or((conn, ""));
                let arrow = if l.from_client {
                    format!("{c} -> {s}")
                } else {
                    format!("{s} <- {c}")
                };
                text.push_str(&format!(
                    "{:>7} {:.6}  {}  [{}] len {}  {}\n",
                    l.frame.0,
                    l.ts.as_f64(),
                    arrow,
                    l.flags,
                    l.payload_len,
                    l.note
                ));
            }
            self.explained.push(text);
        }
        if tr.pcap_started {
            out.transfer_ended(t);
        }
        out.event(Event::Transfer(rec));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::FrameNo;
    use crate::output::event::{PhaseDetail, RendezvousRecord};
    use crate::session::phase::{Arrow, Phase, Role};
    use crate::session::report::{ConnOutcome, Prediction};
    use std::net::Ipv4Addr;

    #[derive(Default)]
    struct Collect(Vec<Event>);

    impl CorrelatorOutput for Collect {
        fn event(&mut self, ev: Event) {
            self.0.push(ev);
        }
        fn frames(&mut self, _: TransferId, _: FlowKey, _: Vec<Frame>) {}
        fn transfer_started(&mut self, _: TransferId, _: &TransferLabel) {}
        fn transfer_ended(&mut self, _: TransferId) {}
    }

    const SENDER: [u8; 4] = [198, 18, 0, 1];
    const RECEIVER: [u8; 4] = [198, 18, 0, 2];

    fn ep(ip: [u8; 4], port: u16) -> Endpoint {
        Endpoint::new(IpAddr::from(ip), port)
    }

    fn propose(cookie: u8, ts: f64) -> Report {
        let cookie = Cookie([cookie; 8]);
        Report::Rendezvous {
            record: RendezvousRecord {
                ts,
                transfer: String::new(),
                kind: "propose",
                frame: 1,
                cookie: cookie.to_string(),
                capability: "send-file".into(),
                snac: "4/6".into(),
                flap_client: "198.18.0.1:40000".into(),
                flap_server: "198.18.0.20:5190".into(),
                screen_name: Some("bob".into()),
                request_no: Some(1),
                use_proxy: false,
                ip: None,
                client_ip: None,
                verified_ip: None,
                port: Some(5190),
                file_name: Some("f.bin".into()),
                file_count: Some(1),
                total_size: Some(10),
                cancel_reason: None,
            },
            prediction: Prediction {
                cookie,
                kind: RvKind::Propose,
                request_no: Some(1),
                use_proxy: false,
                ips: vec![Ipv4Addr::from(SENDER)],
                port: Some(5190),
                from_sender: true,
                file_name: Some("f.bin".into()),
                outgoing: true,
                screen_name: Some("bob".into()),
                direct_im: false,
            },
        }
    }

    /// The receiver's connection from `client_port` to the sender's listening 5190.
    fn conn(id: u64, client_port: u16, cookie: Option<u8>) -> ConnRef {
        ConnRef {
            id: ConnId(id),
            client: ep(RECEIVER, client_port),
            server: ep(SENDER, 5190),
            cookie: cookie.map(|c| Cookie([c; 8])),
            token: None,
            proxied: false,
        }
    }

    fn phase(conn: ConnRef, phase: Phase, ts: f64) -> Report {
        Report::Phase {
            conn,
            phase,
            arrow: Arrow(Role::Client, Role::Server),
            ts: Timestamp((ts * 1e9) as u64),
            frame: FrameNo(1),
            detail: PhaseDetail::default(),
        }
    }

    fn closed(conn: ConnRef, ts: f64) -> Report {
        let t = Timestamp((ts * 1e9) as u64);
        Report::Closed {
            conn,
            outcome: ConnOutcome {
                kind: SessionKind::File,
                start: t,
                end: t,
                sender: Some(conn.server),
                receiver: Some(conn.client),
                proxy_creator: None,
                proxy_ip: None,
                screen_name: None,
                files: 1,
                bytes: 10,
                frames_lost: 0,
            },
        }
    }

    fn transfers(out: &Collect) -> Vec<(String, Option<String>, Vec<String>)> {
        out.0
            .iter()
            .filter_map(|e| match e {
                Event::Transfer(t) => Some((t.transfer.clone(), t.cookie.clone(), t.legs.clone())),
                _ => None,
            })
            .collect()
    }

    fn phase_labels(out: &Collect, conn: &ConnRef) -> Vec<String> {
        out.0
            .iter()
            .filter_map(|e| match e {
                Event::Phase(p) if p.conn == conn.label() => Some(p.transfer.clone()),
                _ => None,
            })
            .collect()
    }

    /// Two offers in a row to the same listening ip:port, the second connection reported
    /// before its PROPOSE (live, another worker was ahead): still two transfers.
    #[test]
    fn next_offer_to_the_same_address_is_a_new_transfer_even_before_its_propose() {
        let mut c = Correlator::new(false);
        let mut out = Collect::default();
        let first = conn(1, 40001, None);
        c.handle(propose(1, 10.0), &mut out);
        c.handle(phase(first, Phase::TcpHandshake, 10.1), &mut out);
        c.handle(phase(conn(1, 40001, Some(1)), Phase::Ack, 10.2), &mut out);
        c.handle(closed(first, 10.3), &mut out);
        // The second transfer, one second later, well within the first one's linger.
        let second = conn(2, 40002, None);
        c.handle(phase(second, Phase::TcpHandshake, 11.1), &mut out);
        c.handle(propose(2, 11.0), &mut out);
        c.handle(phase(conn(2, 40002, Some(2)), Phase::Ack, 11.2), &mut out);
        c.handle(closed(second, 11.3), &mut out);
        c.finish(&mut out);
        let t = transfers(&out);
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0].1.as_deref(), Some(Cookie([1; 8]).to_string().as_str()));
        assert_eq!(t[0].2, vec![first.label()]);
        assert_eq!(t[1].1.as_deref(), Some(Cookie([2; 8]).to_string().as_str()));
        assert_eq!(t[1].2, vec![second.label()]);
        assert_eq!(phase_labels(&out, &second), ["T2", "T2"]);
    }

    /// A PROPOSE's address serves one connection: a later connection there, while the
    /// first is still open, is not folded into it.
    #[test]
    fn a_prediction_is_used_by_one_connection() {
        let mut c = Correlator::new(false);
        let mut out = Collect::default();
        c.handle(propose(1, 10.0), &mut out);
        c.handle(
            phase(conn(1, 40001, None), Phase::TcpHandshake, 10.1),
            &mut out,
        );
        c.handle(
            phase(conn(2, 40002, None), Phase::TcpHandshake, 10.2),
            &mut out,
        );
        c.finish(&mut out);
        assert_eq!(transfers(&out).len(), 2);
    }

    /// The ordinary order still pairs by address: PROPOSE first, then its connection
    /// without any cookie yet.
    #[test]
    fn connection_after_its_propose_joins_it_by_address() {
        let mut c = Correlator::new(false);
        let mut out = Collect::default();
        let first = conn(1, 40001, None);
        c.handle(propose(1, 10.0), &mut out);
        c.handle(phase(first, Phase::TcpHandshake, 10.1), &mut out);
        c.handle(closed(first, 10.3), &mut out);
        c.finish(&mut out);
        let t = transfers(&out);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].2, vec![first.label()]);
    }
}
