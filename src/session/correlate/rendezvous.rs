//! FLAP rendezvous messages: which transfer each is about, who it says sends the file,
//! and where it predicts the data connection will go.

use super::{Correlator, CorrelatorOutput};
use crate::flow::Endpoint;
use crate::session::event::{Event, RendezvousSeen, RvType, SessionKind, TransferId};
use std::net::IpAddr;

impl Correlator {
    pub(super) fn on_rendezvous(
        &mut self,
        rv: Box<RendezvousSeen>,
        out: &mut dyn CorrelatorOutput,
    ) {
        self.tick(rv.at.ts, out);
        // A 4/0B answers any ICBM: it is a transfer's only when its cookie names one
        // already seen.
        if rv.kind == RvType::Decline && !self.by_cookie.contains_key(&rv.cookie) {
            return;
        }
        let t = self.rendezvous(&rv);
        if let Some(tr) = self.transfers.get_mut(&t) {
            tr.conns
                .flap
                .get_or_insert((rv.flap_client, rv.flap_server));
            if self.explain {
                tr.ladder.rendezvous.push((*rv).clone());
            }
        }
        let t = self.live(t);
        self.note_conversation(&rv, t, out);
        out.event(Event::Rendezvous { transfer: t, rv });
    }

    /// The transfer a rendezvous is about: its cookie's, or a transfer whose data
    /// connection was reported before its PROPOSE (another worker was ahead), found by
    /// the predicted endpoint, or a new one.
    fn transfer_of(&mut self, rv: &RendezvousSeen) -> TransferId {
        if let Some(t) = self.open_by_cookie(&rv.cookie) {
            return t;
        }
        let by_ep = rv.port.and_then(|port| {
            rv.addresses().into_iter().find_map(|ip| {
                let ep = Endpoint::new(IpAddr::V4(ip), port);
                self.transfers.iter().find_map(|(id, tr)| {
                    (tr.id.cookie.is_none()
                        && !tr.id.ended
                        && tr.conns.legs.iter().any(|l| l.server == ep))
                    .then_some(*id)
                })
            })
        });
        let t = by_ep.unwrap_or_else(|| self.new_transfer(rv.at.ts));
        self.learn_cookie(t, rv.cookie);
        self.live(t)
    }

    /// A PROPOSE, ACCEPT, CANCEL or decline: find or make its transfer and learn from it.
    fn rendezvous(&mut self, rv: &RendezvousSeen) -> TransferId {
        let t = self.transfer_of(rv);
        let Some(tr) = self.transfers.get_mut(&t) else {
            return t;
        };
        tr.id.end = tr.id.end.max(rv.at.ts);
        if rv.direct_im {
            tr.id.kind.get_or_insert(SessionKind::DirectIm);
            if rv.kind == RvType::Propose {
                tr.dim.propose(rv);
            }
        }
        if tr.id.first_file.is_none() {
            tr.id.first_file = rv.file_name.clone();
        }
        match rv.kind {
            RvType::Propose => self.propose(t, rv),
            RvType::Accept | RvType::Cancel | RvType::Decline => {
                if rv.kind != RvType::Accept {
                    tr.id.cancelled = true;
                }
                // Either client may send an ACCEPT (in proxy stages 1 and 2 both do), so
                // who it names follows from whose FLAP connection it is on.
                if let Some(sn) = rv.screen_name.clone() {
                    tr.parties
                        .unplaced_names
                        .push((rv.flap_client, sn, rv.outgoing));
                    tr.place_names(false);
                }
            }
            RvType::Other => {}
        }
        t
    }

    fn propose(&mut self, t: TransferId, rv: &RendezvousSeen) {
        let Some(tr) = self.transfers.get_mut(&t) else {
            return;
        };
        // The proposer of a PROPOSE carrying file data (0x2711) is the file sender; a
        // follow-up without it (redirect, stage-2 proxy) comes from the receiver.
        let from_sender = rv.file_name.is_some();
        let proposer_is_sender = from_sender || (rv.request_no.unwrap_or(1) == 1 && !rv.direct_im);
        // 4/6 goes from the proposer, 4/7 to the one it proposes to.
        let client_is_sender = proposer_is_sender == rv.outgoing;
        if !tr
            .parties
            .flap_roles
            .iter()
            .any(|(c, _)| *c == rv.flap_client)
        {
            tr.parties
                .flap_roles
                .push((rv.flap_client, client_is_sender));
        }
        if let Some(sn) = rv.screen_name.clone() {
            tr.name_party(!client_is_sender, sn);
        }
        tr.place_names(false);
        // A newer PROPOSE (redirect, stage-2 proxy) replaces the addresses an earlier one
        // predicted.
        for ep in std::mem::take(&mut tr.conns.predicted) {
            if self.by_endpoint.get(&ep) == Some(&t) {
                self.by_endpoint.remove(&ep);
            }
        }
        let Some(port) = rv.port else {
            return;
        };
        if rv.use_proxy {
            self.by_token.insert(port, t);
            tr.conns.tokens.push(port);
            return;
        }
        for ip in rv.addresses() {
            let ep = Endpoint::new(IpAddr::V4(ip), port);
            // Already connected there: the prediction is used up.
            if !tr.conns.legs.iter().any(|l| l.server == ep) {
                self.by_endpoint.insert(ep, t);
                tr.conns.predicted.push(ep);
            }
        }
    }
}
