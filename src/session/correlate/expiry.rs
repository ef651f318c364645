//! Ending transfers: after their last connection closed and a linger passed, when a
//! rendezvous led nowhere for long, past the cap on transfers followed, or at the end of
//! the input; and forgetting them a while later.

use super::{Correlator, CorrelatorOutput};
use crate::capture::Timestamp;
use crate::session::event::{Event, Ladder, SessionKind, TransferId, TransferSummary};

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

impl Correlator {
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
    }
}
