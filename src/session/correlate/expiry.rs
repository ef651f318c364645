//! Ending transfers: after their last connection closed and a linger passed, when a
//! rendezvous led nowhere for long, past the cap on transfers followed, or at the end of
//! the input; and forgetting them a while later.

use super::{Correlator, CorrelatorOutput};
use crate::capture::Timestamp;
use crate::session::event::{Event, Ladder, SessionKind, TransferId, TransferSummary};
use std::collections::VecDeque;

const SEC: u64 = Timestamp::NANOS_PER_SEC;
/// Packet time an ended transfer is remembered (late legs, duplicates).
const FORGET_NANOS: u64 = 60 * SEC;
/// Packet time after which a transfer with no open connection (a rendezvous that led
/// nowhere) is reported as ended.
const IDLE_NANOS: u64 = 600 * SEC;
/// Packet time a transfer waits after its last connection closed before it is reported,
/// so legs reported late by another worker still join it.
const LINGER_NANOS: u64 = 5 * SEC;
/// A sweep walks every transfer: once per second of packet time is plenty.
const SWEEP_NANOS: u64 = SEC;

/// Transfers that are over but still held, oldest first: those waiting out their
/// linger after their last connection closed, and those reported and remembered for
/// late reports. Without a bound, a capture packing many short transfers into a few
/// seconds of packet time held every one of them until the end of the input.
#[derive(Default)]
pub(super) struct Held {
    /// Transfers with the time their last connection closed (stale once it reopened,
    /// ended or merged: checked when taken out).
    lingering: VecDeque<(TransferId, Timestamp)>,
    ended: VecDeque<TransferId>,
    /// Of each kind, at most this many (`Limits::max_held_transfers`).
    pub(super) max: usize,
    /// Reported before their linger was over, because `max` were lingering.
    pub reported_early: u64,
    /// Forgotten before `FORGET_NANOS`, because `max` reported ones were remembered.
    pub forgotten_early: u64,
}

impl Held {
    pub(super) fn new(max: usize) -> Self {
        Held {
            max: max.max(1),
            ..Held::default()
        }
    }
}

impl Correlator {
    /// At most `max` transfers wait out their linger, and as many are remembered after
    /// they are reported (`--max-held-transfers`).
    pub fn with_max_held(mut self, max: usize) -> Self {
        self.held.max = max.max(1);
        self
    }

    /// Transfers the correlator holds: open, lingering or remembered.
    pub fn held(&self) -> usize {
        self.transfers.len()
    }

    /// Transfers reported before their linger was over (`--max-held-transfers`).
    pub fn reported_early(&self) -> u64 {
        self.held.reported_early
    }

    /// Reported transfers forgotten early (`--max-held-transfers`).
    pub fn forgotten_early(&self) -> u64 {
        self.held.forgotten_early
    }

    /// Transfer `t`'s last connection closed at `at`: it lingers, and past the bound the
    /// one lingering longest is reported now.
    pub(super) fn start_linger(
        &mut self,
        t: TransferId,
        at: Timestamp,
        out: &mut dyn CorrelatorOutput,
    ) {
        self.held.lingering.push_back((t, at));
        while self.held.lingering.len() > self.held.max {
            let Some((old, at)) = self.held.lingering.pop_front() else {
                break;
            };
            if self.lingers_since(old, at) {
                self.held.reported_early += 1;
                self.end_transfer(old, out);
            }
        }
    }

    fn lingers_since(&self, t: TransferId, at: Timestamp) -> bool {
        self.transfers
            .get(&t)
            .is_some_and(|tr| !tr.id.ended && tr.conns.closed_at == Some(at))
    }

    /// Transfer `t` was reported: it is remembered, and past the bound the one
    /// remembered longest is forgotten now.
    fn remember_ended(&mut self, t: TransferId) {
        self.held.ended.push_back(t);
        while self.held.ended.len() > self.held.max {
            let Some(old) = self.held.ended.pop_front() else {
                break;
            };
            if self.transfers.get(&old).is_some_and(|tr| tr.id.ended) {
                self.held.forgotten_early += 1;
                self.forget(old);
            }
        }
    }

    /// Drops the queues' oldest entries that no longer stand for a held transfer.
    fn prune_held(&mut self) {
        while let Some(&(t, at)) = self.held.lingering.front() {
            if self.lingers_since(t, at) {
                break;
            }
            self.held.lingering.pop_front();
        }
        while let Some(&t) = self.held.ended.front() {
            if self.transfers.get(&t).is_some_and(|tr| tr.id.ended) {
                break;
            }
            self.held.ended.pop_front();
        }
    }

    /// Reports transfers whose connections all closed a while ago (packet time).
    pub(super) fn tick(&mut self, now: Timestamp, out: &mut dyn CorrelatorOutput) {
        self.now = self.now.max(now);
        self.release_messages(false, out);
        if self.now.0 < self.last_sweep.0.saturating_add(SWEEP_NANOS) {
            return;
        }
        self.last_sweep = self.now;
        let now = self.now;
        let since = |t: Timestamp| now.0.saturating_sub(t.0);
        let mut due = Vec::new();
        let mut gone = Vec::new();
        for (id, tr) in &self.transfers {
            if tr.id.ended {
                if since(tr.id.end) > FORGET_NANOS {
                    gone.push(*id);
                }
            } else if tr.conns.closed_at.is_some_and(|c| since(c) > LINGER_NANOS)
                || (tr.conns.open.is_empty() && since(tr.id.end) > IDLE_NANOS)
            {
                due.push(*id);
            }
        }
        due.extend(self.over_cap());
        for t in due {
            self.end_transfer(t, out);
        }
        for t in gone {
            self.forget(t);
        }
        self.prune_held();
    }

    /// Past the cap, the transfers idle longest end first.
    fn over_cap(&mut self) -> Vec<TransferId> {
        if self.transfers.len() <= self.max_transfers {
            return Vec::new();
        }
        let mut by_age: Vec<(Timestamp, TransferId)> = self
            .transfers
            .iter()
            .filter(|(_, tr)| !tr.id.ended)
            .map(|(id, tr)| (tr.id.end, *id))
            .collect();
        by_age.sort_by_key(|&(end, _)| end);
        let excess = self.transfers.len() - self.max_transfers;
        self.transfers_evicted += excess as u64;
        by_age.into_iter().take(excess).map(|(_, id)| id).collect()
    }

    /// Reports every transfer not yet reported (end of input).
    pub fn finish(&mut self, out: &mut dyn CorrelatorOutput) {
        // Nothing can come for them any more: none is let go early, none counted.
        self.held.max = usize::MAX;
        self.release_messages(true, out);
        let ids: Vec<TransferId> = self.transfers.keys().copied().collect();
        for t in ids {
            self.end_transfer(t, out);
        }
    }

    /// Reports transfers all of whose connections closed, regardless of linger (a live
    /// capture went quiet).
    pub fn flush_closed(&mut self, out: &mut dyn CorrelatorOutput) {
        let due: Vec<TransferId> = self
            .transfers
            .iter()
            .filter(|(_, tr)| !tr.id.ended && tr.conns.closed_at.is_some())
            .map(|(id, _)| *id)
            .collect();
        for t in due {
            self.end_transfer(t, out);
        }
    }

    fn end_transfer(&mut self, t: TransferId, out: &mut dyn CorrelatorOutput) {
        let now = self.now;
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        if tr.id.ended {
            return;
        }
        tr.id.ended = true;
        tr.place_names(true);
        // The other leg never showed up: the proxy is all that is known of the far side.
        for (conn, mut f) in std::mem::take(&mut tr.files.unpaired) {
            if let Some(other) = tr.other_client(&conn) {
                super::transfer::name_far_client(&mut f, &conn, other);
            }
            tr.files.join_legs(&mut f);
            tr.emit_file(t, f, out);
        }
        // A proxied receiver's leg speaks for files only its sender's leg missed: what
        // was sent is not known.
        for (conn, mut f) in std::mem::take(&mut tr.files.secondary) {
            f.end.legs.sent = None;
            if let Some(other) = tr.other_client(&conn) {
                super::transfer::name_far_client(&mut f, &conn, other);
            }
            tr.emit_file(t, f, out);
        }
        let summary = TransferSummary {
            transfer: t,
            // Written when it is known to be over, which is later than its last
            // activity: `ts` says when, so the log stays in time order, and `end` says
            // when it last moved.
            ts: tr.id.end.max(now),
            start: tr.id.start,
            end: tr.id.end,
            kind: tr.id.kind.unwrap_or(SessionKind::File),
            sender: tr.parties.sender,
            receiver: tr.parties.receiver,
            proxy: tr.parties.proxy,
            proxy_creator: tr.parties.proxy_creator,
            cookie: tr.id.cookie,
            sender_name: tr.parties.sender_name.clone(),
            receiver_name: tr.parties.receiver_name.clone(),
            files: tr.files.count,
            bytes: tr.files.bytes,
            legs_carried: tr.files.legs,
            data_span: tr.files.data_span,
            legs: tr.conns.legs.iter().map(|l| l.ends()).collect(),
            cancelled: tr.id.cancelled,
            frames_lost: tr.conns.frames_lost,
            failed_attempts: tr.conns.attempts,
            direct_im: None,
        };
        let mut summary = summary;
        if summary.kind == SessionKind::DirectIm {
            // For Direct IM, who proposed and who was asked stand where a file's sender
            // and receiver do.
            let d = tr.direct_im_summary();
            summary.sender = d.initiator_endpoint;
            summary.receiver = d.peer_endpoint;
            summary.sender_name = d.initiator.clone();
            summary.receiver_name = d.peer.clone();
            summary.proxy_creator = tr.dim_proxy_creator(&d);
            summary.direct_im = Some(Box::new(d));
        }
        if self.explain {
            self.explained.push(Ladder {
                transfer: t,
                kind: summary.kind,
                sender: summary.sender,
                receiver: summary.receiver,
                frames: std::mem::take(&mut tr.ladder.frames),
                rendezvous: std::mem::take(&mut tr.ladder.rendezvous),
            });
        }
        // Only rendezvous frames were written (no data connection was seen): name the
        // transfer's pcap after its FLAP connection.
        let flap_only = (!tr.pcap.started && tr.pcap.rv_frames_sent)
            .then_some(tr.conns.flap)
            .flatten();
        let started = tr.pcap.started;
        if let Some((a, b)) = flap_only {
            self.start_pcap_between(t, a, b, out);
        }
        if started || flap_only.is_some() {
            out.transfer_ended(t);
        }
        out.event(Event::Transfer(Box::new(summary)));
        self.remember_ended(t);
    }
}
