//! What workers report about data connections: their phases, files, ends and frames.

use super::transfer::name_far_client;
use super::{Correlator, CorrelatorOutput};
use crate::capture::Frame;
use crate::flow::{Endpoint, FlowKey};
use crate::proto::Cookie;
use crate::session::event::{
    Event, FileSeen, PhaseSeen, SessionKind, Step, TransferId, TransferLabel,
};
use crate::session::phase::Role;
use crate::session::report::{ConnOutcome, ConnRef};
use std::net::IpAddr;

impl Correlator {
    pub(super) fn on_phase(
        &mut self,
        conn: ConnRef,
        phase: PhaseSeen,
        out: &mut dyn CorrelatorOutput,
    ) {
        let ts = phase.at.ts;
        self.tick(ts, out);
        let t = self.resolve(&conn, ts);
        self.pair_files(t, out);
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        tr.id.end = tr.id.end.max(ts);
        if tr.id.first_file.is_none() {
            tr.id.first_file = phase.step.file_name().map(str::to_string);
        }
        if phase.step == Step::DirectIm {
            tr.id.kind = Some(SessionKind::DirectIm);
        }
        let leg = tr
            .conns
            .legs
            .iter()
            .position(|l| l.id == conn.id)
            .map_or(1, |i| i + 1);
        out.event(Event::Phase {
            transfer: t,
            conn: conn.ends(),
            leg: leg as u32,
            phase,
        });
    }

    pub(super) fn on_file(
        &mut self,
        conn: ConnRef,
        file: Box<FileSeen>,
        primary: bool,
        out: &mut dyn CorrelatorOutput,
    ) {
        let ts = file.end.end;
        self.tick(ts, out);
        let t = self.resolve(&conn, ts);
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        if !primary {
            tr.files.secondary.push((conn, file));
            self.pair_files(t, out);
        } else if conn.proxied {
            tr.files.unpaired.push((conn, file));
            self.pair_files(t, out);
        } else {
            tr.emit_file(t, file, out);
        }
    }

    /// Reports the proxied files whose other leg is now known and has reported the same
    /// file, with the far client in place of the proxy as their sender or receiver and
    /// what the receiver's leg carried as delivered and acknowledged.
    pub(super) fn pair_files(&mut self, t: TransferId, out: &mut dyn CorrelatorOutput) {
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        if tr.files.unpaired.is_empty() {
            return;
        }
        for (conn, mut file) in std::mem::take(&mut tr.files.unpaired) {
            match tr.other_client(&conn) {
                Some(other) if tr.files.has_secondary(&file) => {
                    name_far_client(&mut file, &conn, other);
                    tr.files.join_legs(&mut file);
                    tr.emit_file(t, file, out);
                }
                _ => tr.files.unpaired.push((conn, file)),
            }
        }
    }

    pub(super) fn on_closed(
        &mut self,
        conn: ConnRef,
        outcome: ConnOutcome,
        out: &mut dyn CorrelatorOutput,
    ) {
        let end = outcome.end;
        self.tick(end, out);
        let t = self.resolve(&conn, end);
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        tr.conns.open.retain(|c| *c != conn.id);
        tr.id.end = tr.id.end.max(end);
        tr.id.kind = tr.id.kind.or(Some(outcome.kind));
        tr.conns.frames_lost += outcome.frames_lost;
        if outcome.kind == SessionKind::DirectIm {
            let init = outcome.proxy_creator.zip(outcome.screen_name.clone());
            tr.dim.connection(&conn, init, outcome.odc.clone());
        }
        let p = &mut tr.parties;
        if conn.proxied {
            p.proxy.get_or_insert(conn.server);
            // The leg whose TCP client sends the file says the most about roles.
            if let Some(creator) = outcome.proxy_creator {
                let client_is_sender = outcome.sender == Some(conn.client);
                let client_is_receiver = outcome.receiver == Some(conn.client);
                if client_is_sender || client_is_receiver {
                    let creator_is_sender = creator == client_is_sender;
                    p.proxy_creator.get_or_insert(if creator_is_sender {
                        Role::Sender
                    } else {
                        Role::Receiver
                    });
                    if let Some(sn) = outcome.screen_name.clone() {
                        if client_is_sender {
                            p.sender_name.get_or_insert(sn);
                        } else {
                            p.receiver_name.get_or_insert(sn);
                        }
                    }
                }
                if client_is_sender {
                    p.sender = Some(conn.client);
                } else if client_is_receiver {
                    p.receiver = Some(conn.client);
                }
            }
        } else {
            p.sender = p.sender.or(outcome.sender);
            p.receiver = p.receiver.or(outcome.receiver);
        }
        if tr.conns.open.is_empty() {
            tr.conns.closed_at = Some(end);
            self.start_linger(t, end, out);
        }
    }

    pub(super) fn on_frames(
        &mut self,
        conn: ConnRef,
        frames: Vec<Frame>,
        out: &mut dyn CorrelatorOutput,
    ) {
        let ts = frames.first().map_or(self.now, |f| f.ts);
        let t = self.resolve(&conn, ts);
        self.start_pcap(t, &conn, out);
        let key = FlowKey::from_segment(conn.client, conn.server).0;
        out.frames(t, key, frames);
    }

    /// Only a connection to where a PROPOSE said the data would go belongs to a
    /// transfer; any other silent connection is none of ours.
    pub(super) fn on_attempt(
        &mut self,
        conn: ConnRef,
        frames: Vec<Frame>,
        out: &mut dyn CorrelatorOutput,
    ) {
        let Some(&t) = self.by_endpoint.get(&conn.server) else {
            return;
        };
        let t = self.live(t);
        if self.transfers.get(&t).is_some_and(|tr| !tr.id.ended) {
            self.start_pcap(t, &conn, out);
            if let Some(tr) = self.transfers.get_mut(&t) {
                tr.conns.attempts += 1;
            }
            let key = FlowKey::from_segment(conn.client, conn.server).0;
            out.frames(t, key, frames);
        }
    }

    pub(super) fn on_rendezvous_frame(
        &mut self,
        cookie: Cookie,
        frame: Frame,
        out: &mut dyn CorrelatorOutput,
    ) {
        let Some(&t) = self.by_cookie.get(&cookie) else {
            return;
        };
        let t = self.live(t);
        // The label names the data connection; until one is seen the writer keeps these
        // frames back (see `TransferFiles`).
        match self
            .transfers
            .get(&t)
            .and_then(|tr| tr.conns.legs.first().copied())
        {
            Some(conn) => self.start_pcap(t, &conn, out),
            None => {
                if let Some(tr) = self.transfers.get_mut(&t) {
                    tr.pcap.rv_frames_sent = true;
                }
            }
        }
        let zero = Endpoint::new(IpAddr::from([0, 0, 0, 0]), 0);
        let key = FlowKey::from_segment(zero, zero).0;
        out.frames(t, key, vec![frame]);
    }

    fn start_pcap(&mut self, t: TransferId, conn: &ConnRef, out: &mut dyn CorrelatorOutput) {
        self.start_pcap_between(t, conn.client, conn.server, out);
    }

    pub(super) fn start_pcap_between(
        &mut self,
        t: TransferId,
        a: Endpoint,
        b: Endpoint,
        out: &mut dyn CorrelatorOutput,
    ) {
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        if tr.pcap.started {
            return;
        }
        tr.pcap.started = true;
        let label = TransferLabel {
            start: tr.id.start,
            a,
            b,
            first_name: tr.id.first_file.clone(),
        };
        out.transfer_started(t, &label);
    }
}
