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
    secondary_files: Vec<(ConnRef, FileRecord)>,
    /// Files of a proxied sender's leg waiting for the other leg to name the receiver
    /// (its worker may report later): on one leg the peer is the proxy, not the client.
    unpaired_files: Vec<(ConnRef, FileRecord)>,
    cancelled: bool,
    frames_lost: u64,
    /// Each OSCAR client (its FLAP connection's client endpoint) whose role a PROPOSE
    /// revealed: true for the file sender.
    parties: Vec<(String, bool)>,
    /// Screen names from ACCEPT/CANCEL messages on FLAP connections whose role is not
    /// known yet (their PROPOSE may be reported later by another worker):
    /// (flap client, screen name, sent client → server).
    unplaced_names: Vec<(String, String, bool)>,
    /// Where the latest direct PROPOSE said the data connection would go.
    predicted: Vec<Endpoint>,
    first_file: Option<String>,
    /// First and last file-data byte over all files.
    data_span: Option<(f64, f64)>,
    ladder: Vec<(String, LadderLine)>,
    /// `--explain` lines of the FLAP messages, with their frame numbers.
    rendezvous_lines: Vec<(u64, String)>,
    pcap_started: bool,
    /// Rendezvous frames went to pcap output before any data connection was seen.
    rv_frames_sent: bool,
    /// The FLAP connection of the first rendezvous message (client, server): names the
    /// transfer's pcap when no data connection ever does.
    flap: Option<(Endpoint, Endpoint)>,
    closed_at: Option<f64>,
    ended: bool,
    /// Predicted connections that never carried data (refused, abandoned).
    attempts: u64,
}

impl Transfer {
    /// Reports a file once per (name, offset), counting it into the totals.
    fn emit_file(&mut self, file: FileRecord, out: &mut dyn CorrelatorOutput) {
        let key = (file.name.clone(), file.offset);
        if self.file_keys.contains(&key) {
            return;
        }
        self.file_keys.push(key);
        self.files += 1;
        self.bytes += file.bytes;
        self.add_span(&file);
        out.event(Event::File(file));
    }

    /// The screen name in a SNAC 4/6 or 4/7 is always the other party's than the FLAP
    /// client's: the recipient of what it sends, the author of what it receives.
    fn name_party(&mut self, names_sender: bool, sn: String) {
        if names_sender {
            self.sender_name.get_or_insert(sn);
        } else {
            self.receiver_name.get_or_insert(sn);
        }
    }

    /// Places the names of ACCEPT/CANCEL messages whose FLAP client's role is known.
    /// With `guess` (the transfer is ending), the rest are placed assuming the usual
    /// case: the receiver accepts the sender's proposal.
    fn place_names(&mut self, guess: bool) {
        for (client, sn, outgoing) in std::mem::take(&mut self.unplaced_names) {
            let role = self
                .parties
                .iter()
                .find(|(c, _)| *c == client)
                .map(|&(_, s)| s);
            match role {
                Some(client_is_sender) => self.name_party(!client_is_sender, sn),
                None if guess => {
                    let known = [&self.sender_name, &self.receiver_name];
                    if known.iter().any(|n| n.as_deref() == Some(sn.as_str())) {
                        continue;
                    }
                    match (self.sender_name.is_some(), self.receiver_name.is_some()) {
                        // Two parties: a name that is not the known one is the other.
                        (true, false) => self.receiver_name = Some(sn),
                        (false, true) => self.sender_name = Some(sn),
                        // 4/6 from the accepting receiver names the sender; 4/7 to the
                        // sender names the receiver.
                        _ => self.name_party(outgoing, sn),
                    }
                }
                None => self.unplaced_names.push((client, sn, outgoing)),
            }
        }
    }

    /// The client of the proxied leg other than `conn`, once it is known.
    fn other_client(&self, conn: &ConnRef) -> Option<Endpoint> {
        self.legs
            .iter()
            .find(|l| l.proxied && l.id != conn.id && l.client != conn.client)
            .map(|l| l.client)
    }

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
/// On a proxied leg the file's peer is the proxy; name the client at the far end of the
/// other leg instead.
fn name_far_client(file: &mut FileRecord, conn: &ConnRef, other: Endpoint) {
    let here = conn.client.to_string();
    if file.sender == here {
        file.receiver = other.to_string();
    } else if file.receiver == here {
        file.sender = other.to_string();
    }
}

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
    max_transfers: usize,
    /// Transfers ended early because `max_transfers` were open.
    pub transfers_evicted: u64,
}

impl Correlator {
    /// `max_transfers`: transfers followed at once; past it the longest idle are ended
    /// early (counted in `transfers_evicted`).
    pub fn new(explain: bool, max_transfers: usize) -> Self {
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
            max_transfers: max_transfers.max(1),
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
            if self.transfers.contains_key(&t) {
                if let Some(c) = conn.cookie {
                    self.learn_cookie(t, c);
                }
                return self.live(t);
            }
            // Its transfer ended and was forgotten: a late report starts a new one.
            self.conns.remove(&conn.id);
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
        for t in self.conns.values_mut() {
            if *t == gone {
                *t = keep;
            }
        }
        let Some(k) = self.transfers.get_mut(&keep) else {
            return;
        };
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
        k.unpaired_files.extend(g.unpaired_files);
        k.cancelled |= g.cancelled;
        k.frames_lost += g.frames_lost;
        k.parties.extend(g.parties);
        k.unplaced_names.extend(g.unplaced_names);
        k.predicted.extend(g.predicted);
        k.first_file = k.first_file.take().or(g.first_file);
        k.data_span = match (k.data_span, g.data_span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, y) => x.or(y),
        };
        k.ladder.extend(g.ladder);
        k.rendezvous_lines.extend(g.rendezvous_lines);
        k.pcap_started |= g.pcap_started;
        k.rv_frames_sent |= g.rv_frames_sent;
        k.flap = k.flap.or(g.flap);
        if let Some(c) = k.cookie {
            self.by_cookie.insert(c, keep);
        }
    }

    /// Reports the proxied files whose other leg is now known, with the far client in
    /// place of the proxy as their sender or receiver.
    fn pair_files(&mut self, t: TransferId, out: &mut dyn CorrelatorOutput) {
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        if tr.unpaired_files.is_empty() {
            return;
        }
        for (conn, mut file) in std::mem::take(&mut tr.unpaired_files) {
            match tr.other_client(&conn) {
                Some(other) => {
                    name_far_client(&mut file, &conn, other);
                    tr.emit_file(file, out);
                }
                None => tr.unpaired_files.push((conn, file)),
            }
        }
    }

    /// Latest packet time seen in a report.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// Handles a report made when its worker's packet clock stood at `clock`: the
    /// transfers' clock moves on with every report, so a transfer ends (after its
    /// linger) at the point in packet time where it would with one worker.
    pub fn handle_at(&mut self, clock: Timestamp, r: Report, out: &mut dyn CorrelatorOutput) {
        self.tick(clock.as_f64(), out);
        self.handle(r, out);
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
                self.pair_files(t, out);
                let Some(tr) = self.transfers.get_mut(&t) else {
                    return;
                };
                tr.end = tr.end.max(ts);
                if tr.first_file.is_none() {
                    tr.first_file = detail.name.clone();
                }
                if phase == super::phase::Phase::DirectIm {
                    tr.kind = Some(SessionKind::DirectIm);
                }
                let leg = tr
                    .legs
                    .iter()
                    .position(|l| l.id == conn.id)
                    .map_or(1, |i| i + 1);
                out.event(Event::Phase(PhaseRecord {
                    ts,
                    transfer: label(t),
                    phase: phase.as_str(),
                    dir: arrow.to_string(),
                    frame: frame.0,
                    conn: conn.label(),
                    leg: leg as u32,
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
                let Some(tr) = self.transfers.get_mut(&t) else {
                    return;
                };
                if !primary {
                    tr.secondary_files.push((conn, file));
                    self.pair_files(t, out);
                    return;
                }
                if conn.proxied {
                    tr.unpaired_files.push((conn, file));
                    self.pair_files(t, out);
                    return;
                }
                tr.emit_file(file, out);
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
                // A 4/0B answers any ICBM: it is a transfer's only when its cookie
                // names one already seen.
                if record.kind == super::records::DECLINE
                    && !self.by_cookie.contains_key(&prediction.cookie)
                {
                    return;
                }
                let t = self.rendezvous(&prediction, &record.flap_client, record.ts);
                record.transfer = label(t);
                let ep = |s: &str| {
                    s.parse::<std::net::SocketAddr>()
                        .ok()
                        .map(|a| Endpoint::new(a.ip(), a.port()))
                };
                if let (Some(tr), Some(c), Some(sv)) = (
                    self.transfers.get_mut(&t),
                    ep(&record.flap_client),
                    ep(&record.flap_server),
                ) {
                    tr.flap.get_or_insert((c, sv));
                }
                if self.explain {
                    // As on data lines: OSCAR client first, the arrow says who sent.
                    let arrow = if prediction.outgoing { "->" } else { "<-" };
                    let tcp = prediction
                        .segment
                        .map(|(flags, len)| format!("  [{flags}] len {len}"))
                        .unwrap_or_default();
                    let line = format!(
                        "{:>7} {:.6}  FLAP {} {arrow} {}{tcp}  SNAC {} {}{}",
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
                        tr.rendezvous_lines.push((record.frame, line));
                    }
                }
                out.event(Event::Rendezvous(record));
            }
            Report::Closed { conn, outcome } => {
                let end = outcome.end.as_f64();
                self.tick(end, out);
                let t = self.resolve(&conn, end);
                let Some(tr) = self.transfers.get_mut(&t) else {
                    return;
                };
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
            Report::Attempt { conn, frames } => {
                // Only a connection to where a PROPOSE said the data would go belongs to
                // a transfer; any other silent connection is none of ours.
                if let Some(&t) = self.by_endpoint.get(&conn.server) {
                    let t = self.live(t);
                    if self.transfers.get(&t).is_some_and(|tr| !tr.ended) {
                        self.start_pcap(t, &conn, out);
                        if let Some(tr) = self.transfers.get_mut(&t) {
                            tr.attempts += 1;
                        }
                        let key = FlowKey::from_segment(conn.client, conn.server).0;
                        out.frames(t, key, frames);
                    }
                }
            }
            Report::RendezvousFrame { cookie, frame } => {
                if let Some(&t) = self.by_cookie.get(&cookie) {
                    let t = self.live(t);
                    // The label names the data connection; until one is seen the
                    // writer keeps these frames back (see `TransferFiles`).
                    match self
                        .transfers
                        .get(&t)
                        .and_then(|tr| tr.legs.first().copied())
                    {
                        Some(conn) => self.start_pcap(t, &conn, out),
                        None => {
                            if let Some(tr) = self.transfers.get_mut(&t) {
                                tr.rv_frames_sent = true;
                            }
                        }
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
            // Ordering of output is the event thread's business.
            Report::Watermark { .. } => {}
            Report::Stats(s) => out.event(Event::Stats(s)),
        }
    }

    fn start_pcap(&mut self, t: TransferId, conn: &ConnRef, out: &mut dyn CorrelatorOutput) {
        self.start_pcap_between(t, conn.client, conn.server, out);
    }

    fn start_pcap_between(
        &mut self,
        t: TransferId,
        a: Endpoint,
        b: Endpoint,
        out: &mut dyn CorrelatorOutput,
    ) {
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        if tr.pcap_started {
            return;
        }
        tr.pcap_started = true;
        let label = TransferLabel {
            start: Timestamp((tr.start.max(0.0) * 1e9) as u64),
            a,
            b,
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
        let Some(tr) = self.transfers.get_mut(&t) else {
            return t;
        };
        tr.end = tr.end.max(ts);
        if p.direct_im {
            tr.kind.get_or_insert(SessionKind::DirectIm);
        }
        if tr.first_file.is_none() {
            tr.first_file = p.file_name.clone();
        }
        match p.kind {
            RvKind::Propose => {
                // The proposer of a PROPOSE carrying file data (0x2711) is the file sender;
                // a follow-up without it (redirect, stage-2 proxy) comes from the receiver.
                let proposer_is_sender =
                    p.from_sender || (p.request_no.unwrap_or(1) == 1 && !p.direct_im);
                // 4/6 goes from the proposer, 4/7 to the one it proposes to.
                let client_is_sender = proposer_is_sender == p.outgoing;
                if !tr.parties.iter().any(|(c, _)| c == flap_client) {
                    tr.parties.push((flap_client.to_string(), client_is_sender));
                }
                if let Some(sn) = p.screen_name.clone() {
                    tr.name_party(!client_is_sender, sn);
                }
                tr.place_names(false);
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
            RvKind::Accept | RvKind::Cancel => {
                if p.kind == RvKind::Cancel {
                    tr.cancelled = true;
                }
                // Either client may send an ACCEPT (Appendix B: in proxy stages 1 and 2
                // both do), so who it names follows from whose FLAP connection it is on.
                if let Some(sn) = p.screen_name.clone() {
                    tr.unplaced_names
                        .push((flap_client.to_string(), sn, p.outgoing));
                    tr.place_names(false);
                }
            }
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
        if self.transfers.len() > self.max_transfers {
            let mut by_age: Vec<(f64, TransferId)> = self
                .transfers
                .iter()
                .filter(|(_, tr)| !tr.ended)
                .map(|(id, tr)| (tr.end, *id))
                .collect();
            by_age.sort_by(|a, b| a.0.total_cmp(&b.0));
            let excess = self.transfers.len() - self.max_transfers;
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
        let now = self.now;
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        if tr.ended {
            return;
        }
        tr.ended = true;
        tr.place_names(true);
        // The other leg never showed up: the proxy is all that is known of the far side.
        for (_, f) in std::mem::take(&mut tr.unpaired_files) {
            tr.emit_file(f, out);
        }
        // A proxied receiver's leg speaks for files only its sender's leg missed.
        for (conn, mut f) in std::mem::take(&mut tr.secondary_files) {
            if let Some(other) = tr.other_client(&conn) {
                name_far_client(&mut f, &conn, other);
            }
            tr.emit_file(f, out);
        }
        // Direct transfers: the FLAP proposer's address names the sender when the data
        // connection did not say.
        // The rate is over the time data moved, not the whole negotiation.
        let duration = tr.data_span.map(|(a, b)| b - a).unwrap_or(0.0).max(0.0);
        let rec = TransferRecord {
            // Written when it is known to be over (its linger passed, or the input
            // ended), which is later than its last activity: `ts` says when, so the
            // log stays in time order, and `end` says when it last moved.
            ts: tr.end.max(now),
            end: tr.end,
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
            failed_attempts: tr.attempts,
        };
        if explain {
            let mut text = format!(
                "== {} {} {} -> {}\n",
                label(t),
                rec.kind,
                rec.sender.as_deref().unwrap_or("?"),
                rec.receiver.as_deref().unwrap_or("?")
            );
            // One ladder in frame order: FLAP messages between the data frames they
            // came between.
            tr.ladder.sort_by_key(|(_, l)| l.frame);
            tr.rendezvous_lines.sort_by_key(|(f, _)| *f);
            let mut rv = tr.rendezvous_lines.iter().peekable();
            for (conn, l) in &tr.ladder {
                while let Some((_, line)) = rv.next_if(|(f, _)| *f < l.frame.0) {
                    text.push_str(line);
                    text.push('\n');
                }
                let (c, s) = conn.split_once('-').unwrap_or((conn, ""));
                let arrow = if l.from_client {
                    format!("{c} -> {s}")
                } else {
                    format!("{c} <- {s}")
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
            for (_, line) in rv {
                text.push_str(line);
                text.push('\n');
            }
            self.explained.push(text);
        }
        // Only rendezvous frames were written (no data connection was seen): name the
        // transfer's pcap after its FLAP connection.
        let flap_only = (!tr.pcap_started && tr.rv_frames_sent)
            .then_some(tr.flap)
            .flatten();
        let started = tr.pcap_started;
        if let Some((a, b)) = flap_only {
            self.start_pcap_between(t, a, b, out);
        }
        if started || flap_only.is_some() {
            out.transfer_ended(t);
        }
        out.event(Event::Transfer(rec));
    }
}
