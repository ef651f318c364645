//! The correlator, on the event thread: joins what workers report about single
//! connections into transfers. A transfer is one rendezvous cookie: its FLAP messages,
//! its data connection(s) — both legs when proxied — and its files.
//!
//! Matching, in order of trust: the cookie (proxy INIT frames, OFT ACK/DONE carry it),
//! the proxy token, then the ip:port a PROPOSE predicted for a direct connection.
//!
//! By what it handles: `conns` (what workers say about data connections), `rendezvous`
//! (FLAP messages and what they predict), `expiry` (ending and forgetting transfers).

mod conns;
mod directim;
mod expiry;
mod messages;
mod rendezvous;
mod transfer;

use super::event::{Event, Ladder, TransferId, TransferLabel};
use super::report::{ConnId, ConnRef, Report};
use crate::capture::{Frame, Timestamp};
use crate::flow::{Endpoint, FlowKey};
use crate::proto::Cookie;
use std::collections::{BTreeMap, HashMap};
use transfer::Transfer;

/// Where the correlator's results go.
pub trait CorrelatorOutput {
    fn event(&mut self, ev: Event);
    /// Frames for pcap output, with the transfer they belong to.
    fn frames(&mut self, transfer: TransferId, conn: FlowKey, frames: Vec<Frame>);
    /// The transfer's label for a per-transfer pcap file name, sent before its frames.
    fn transfer_started(&mut self, transfer: TransferId, label: &TransferLabel);
    fn transfer_ended(&mut self, transfer: TransferId);
}

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
    /// Ladders of finished transfers, for `--explain` at exit.
    pub explained: Vec<Ladder>,
    now: Timestamp,
    last_sweep: Timestamp,
    max_transfers: usize,
    /// Transfers ended early because `max_transfers` were open.
    pub transfers_evicted: u64,
    /// `--messages`: conversations and the messages waiting for their transfer.
    messages: messages::Conversations,
    /// Transfers over but held for late reports, and how many were let go early.
    held: expiry::Held,
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
            now: Timestamp(0),
            last_sweep: Timestamp(0),
            max_transfers: max_transfers.max(1),
            transfers_evicted: 0,
            messages: Default::default(),
            held: expiry::Held::new(usize::MAX),
        }
    }

    /// Latest packet time seen in a report.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Handles a report made when its worker's packet clock stood at `clock`: the
    /// transfers' clock moves on with every report, so a transfer ends (after its
    /// linger) at the point in packet time where it would with one worker.
    /// Who sends and who receives in transfer `t`, as far as known (the status area).
    pub fn parties(&self, t: TransferId) -> Option<crate::output::status::Parties> {
        let p = &self.transfers.get(&t)?.parties;
        Some(crate::output::status::Parties {
            sender: p.sender,
            receiver: p.receiver,
            sender_name: p.sender_name.clone(),
            receiver_name: p.receiver_name.clone(),
        })
    }

    pub fn handle_at(&mut self, clock: Timestamp, r: Report, out: &mut dyn CorrelatorOutput) {
        self.tick(clock, out);
        self.handle(r, out);
    }

    pub fn handle(&mut self, r: Report, out: &mut dyn CorrelatorOutput) {
        match r {
            Report::Phase { conn, phase } => self.on_phase(conn, phase, out),
            Report::File {
                conn,
                file,
                primary,
            } => self.on_file(conn, file, primary, out),
            Report::Progress { conn, progress } => {
                let t = self.resolve(&conn, progress.at.ts);
                out.event(Event::Progress {
                    transfer: t,
                    progress,
                });
            }
            Report::Rendezvous(rv) => self.on_rendezvous(rv, out),
            Report::Message(m) => self.on_message(m, out),
            Report::Closed { conn, outcome } => self.on_closed(conn, outcome, out),
            Report::Frames { conn, frames } => self.on_frames(conn, frames, out),
            Report::Attempt { conn, frames } => self.on_attempt(conn, frames, out),
            Report::RendezvousFrame { cookie, frame } => {
                self.on_rendezvous_frame(cookie, frame, out)
            }
            Report::Ladder { conn, lines } => {
                if let Some(&t) = self.conns.get(&conn.id) {
                    let t = self.live(t);
                    if let Some(tr) = self.transfers.get_mut(&t) {
                        let ends = conn.ends();
                        tr.ladder
                            .frames
                            .extend(lines.into_iter().map(|l| (ends, l)));
                    }
                }
            }
            Report::Flow(f) => out.event(Event::Flow(f)),
            // Ordering of output, and the run's counters, are the event thread's business.
            Report::Watermark { .. } | Report::Stats(_) => {}
        }
    }

    fn new_transfer(&mut self, start: Timestamp) -> TransferId {
        self.next += 1;
        let id = TransferId(self.next);
        self.transfers.insert(id, Transfer::new(start));
        id
    }

    fn live(&self, id: TransferId) -> TransferId {
        live_in(&self.merged, id)
    }

    /// The live transfer a cookie names, if it has not ended.
    fn open_by_cookie(&self, c: &Cookie) -> Option<TransferId> {
        let t = self.live(*self.by_cookie.get(c)?);
        self.transfers
            .get(&t)
            .is_some_and(|tr| !tr.id.ended)
            .then_some(t)
    }

    /// The transfer a connection belongs to, creating one for a new connection that
    /// matches nothing.
    fn resolve(&mut self, conn: &ConnRef, ts: Timestamp) -> TransferId {
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
        let t = match self.find(conn) {
            Some(t) => t,
            None => self.new_transfer(ts),
        };
        self.conns.insert(conn.id, t);
        let tr = self.transfers.get_mut(&t).expect("live transfer");
        tr.conns.legs.push(*conn);
        tr.conns.open.push(conn.id);
        tr.conns.closed_at = None;
        if let Some(c) = conn.cookie {
            self.learn_cookie(t, c);
        }
        self.live(t)
    }

    /// The open transfer a new connection belongs to, by cookie, token or address.
    fn find(&self, conn: &ConnRef) -> Option<TransferId> {
        let strong = conn
            .cookie
            .and_then(|c| self.by_cookie.get(&c).copied())
            .or_else(|| conn.token.and_then(|k| self.by_token.get(&k).copied()))
            .map(|t| self.live(t))
            .filter(|t| self.transfers.get(t).is_some_and(|tr| !tr.id.ended));
        if strong.is_some() || conn.proxied {
            return strong;
        }
        // An address is weak evidence: clients listen on the same ip:port for offer
        // after offer, and the next offer's connection may be reported before its
        // PROPOSE (another worker). A prediction serves one connection, and none once
        // the transfer's connections have all closed.
        let t = self.live(*self.by_endpoint.get(&conn.server)?);
        self.transfers
            .get(&t)
            .is_some_and(|tr| {
                !tr.id.ended
                    && tr.conns.closed_at.is_none()
                    && !tr.conns.legs.iter().any(|l| l.server == conn.server)
            })
            .then_some(t)
    }

    fn learn_cookie(&mut self, t: TransferId, c: Cookie) {
        if c.is_zero() {
            return;
        }
        let ended = |s: &Self, id: TransferId| s.transfers.get(&id).is_none_or(|tr| tr.id.ended);
        // Two transfers that each learned a different cookie are two transfers: a
        // connection attached to `t` by its address cannot make them one.
        let other_cookie = |s: &Self| {
            s.transfers
                .get(&t)
                .and_then(|tr| tr.id.cookie)
                .is_some_and(|own| own != c)
        };
        match self.by_cookie.get(&c).map(|&o| self.live(o)) {
            Some(other) if other != t && other_cookie(self) => {}
            Some(other) if other != t && !ended(self, other) && !ended(self, t) => {
                self.merge(t, other)
            }
            // The cookie's earlier transfer is over: a new one reuses the cookie.
            Some(other) if other != t && ended(self, other) => self.own_cookie(t, c),
            Some(_) => {}
            None => self.own_cookie(t, c),
        }
    }

    fn own_cookie(&mut self, t: TransferId, c: Cookie) {
        self.by_cookie.insert(c, t);
        if let Some(tr) = self.transfers.get_mut(&t) {
            tr.id.cookie.get_or_insert(c);
            if !tr.id.cookies.contains(&c) {
                tr.id.cookies.push(c);
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
        k.id.absorbed.push(gone);
        k.absorb(g);
        if let Some(c) = k.id.cookie {
            self.by_cookie.insert(c, keep);
        }
    }

    /// Drops an ended transfer and every index entry that leads to it. The transfer
    /// knows its own keys, so this costs what it holds, not what every index holds: with
    /// transfers forgotten one by one as others end, walking the indexes made each
    /// transfer's cost grow with the number held.
    fn forget(&mut self, t: TransferId) {
        let Some(tr) = self.transfers.remove(&t) else {
            return;
        };
        // Through `merged`, entries of transfers folded into it lead here too.
        let merged = &self.merged;
        let here = |v: &TransferId| live_in(merged, *v) == t;
        drop_keys(&mut self.conns, tr.conns.legs.iter().map(|l| l.id), here);
        drop_keys(&mut self.by_cookie, tr.id.cookies.iter().copied(), here);
        drop_keys(
            &mut self.by_endpoint,
            tr.conns.predicted.iter().copied(),
            here,
        );
        drop_keys(&mut self.by_token, tr.conns.tokens.iter().copied(), here);
        for g in &tr.id.absorbed {
            self.merged.remove(g);
        }
    }
}

/// Where transfer `id` lives now, following the transfers it was folded into.
fn live_in(merged: &HashMap<TransferId, TransferId>, mut id: TransferId) -> TransferId {
    while let Some(&to) = merged.get(&id) {
        id = to;
    }
    id
}

/// Removes each of `keys` whose entry satisfies `here`.
fn drop_keys<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, TransferId>,
    keys: impl Iterator<Item = K>,
    here: impl Fn(&TransferId) -> bool,
) {
    for k in keys {
        if map.get(&k).is_some_and(&here) {
            map.remove(&k);
        }
    }
}

#[cfg(test)]
mod held_tests;
#[cfg(test)]
mod prediction_tests;
#[cfg(test)]
mod tests;
