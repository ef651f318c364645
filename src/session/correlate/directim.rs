//! A Direct IM session's parties: who proposed it (the initiator) and who was asked (the
//! peer), their ends of the data connections, and what each sent. The rendezvous says
//! who proposed (a 4/6 comes from the proposer and names the peer, a 4/7 names the
//! proposer); the proxy INIT frames name the session's creator and joiner with their
//! endpoints; every ODC2 frame carries its author's screen name, also when relayed.

use super::transfer::Transfer;
use crate::flow::Endpoint;
use crate::session::event::{DirectImSummary, OdcCounts, OdcFlow, RendezvousSeen};
use crate::session::phase::Role;
use crate::session::report::ConnRef;

#[derive(Default)]
pub struct Dim {
    /// From the first Direct IM PROPOSE.
    pub initiator: Option<String>,
    pub peer: Option<String>,
    /// From proxy INIT_SEND / INIT_RECV: screen name and the client's endpoint.
    pub creator: Option<(String, Endpoint)>,
    pub joiner: Option<(String, Endpoint)>,
    /// Each direction of each Direct IM connection, with the proxy's end if proxied.
    pub flows: Vec<(ConnRef, OdcFlow)>,
}

fn same(a: &str, b: &str) -> bool {
    let n = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    n(a) == n(b)
}

impl Dim {
    pub fn absorb(&mut self, o: Dim) {
        self.initiator = self.initiator.take().or(o.initiator);
        self.peer = self.peer.take().or(o.peer);
        self.creator = self.creator.take().or(o.creator);
        self.joiner = self.joiner.take().or(o.joiner);
        self.flows.extend(o.flows);
    }

    /// A PROPOSE for Direct IM.
    pub fn propose(&mut self, rv: &RendezvousSeen) {
        let Some(sn) = rv.screen_name.clone() else {
            return;
        };
        if rv.outgoing {
            self.peer.get_or_insert(sn);
        } else {
            self.initiator.get_or_insert(sn);
        }
    }

    /// A closed Direct IM connection's INIT (`creator`: its client sent INIT_SEND) and
    /// ODC2 directions.
    pub fn connection(
        &mut self,
        conn: &ConnRef,
        creator: Option<(bool, String)>,
        flows: Vec<OdcFlow>,
    ) {
        match creator {
            Some((true, sn)) => self.creator = self.creator.take().or(Some((sn, conn.client))),
            Some((false, sn)) => self.joiner = self.joiner.take().or(Some((sn, conn.client))),
            None => {}
        }
        self.flows.extend(flows.into_iter().map(|f| (*conn, f)));
    }

    /// Names from the ODC2 frames that are not `known`.
    fn other_name(&self, known: &str) -> Option<String> {
        self.flows
            .iter()
            .filter_map(|(_, f)| f.screen_name.as_deref())
            .find(|n| !same(n, known))
            .map(str::to_owned)
    }

    /// The two names: the rendezvous first, then the proxy session's creator and joiner
    /// (the proposer creates it), then the ODC2 frames; with nothing else, the listener
    /// of a direct connection proposed (its PROPOSE gave the address).
    fn names(&self) -> (Option<String>, Option<String>) {
        let mut initiator = self.initiator.clone();
        let mut peer = self.peer.clone();
        if initiator.is_none() && peer.is_none() {
            initiator = self.creator.as_ref().map(|c| c.0.clone());
            peer = self.joiner.as_ref().map(|j| j.0.clone());
        }
        if initiator.is_none() && peer.is_none() {
            let named = |e: Endpoint| {
                self.flows
                    .iter()
                    .find(|(c, f)| !c.proxied && f.from == e)
                    .and_then(|(_, f)| f.screen_name.clone())
            };
            if let Some((c, _)) = self.flows.iter().find(|(c, _)| !c.proxied) {
                initiator = named(c.server);
                peer = named(c.client);
            }
        }
        match (&initiator, &peer) {
            (Some(i), None) => peer = self.other_name(i),
            (None, Some(p)) => initiator = self.other_name(p),
            _ => {}
        }
        (initiator, peer)
    }

    /// The directions `name` wrote: from its own end if seen, else as the proxy relayed
    /// them to the other party.
    fn written_by(&self, name: &str) -> Vec<&OdcFlow> {
        let by = |own: bool| -> Vec<&OdcFlow> {
            self.flows
                .iter()
                .filter(|(c, f)| {
                    let from_proxy = c.proxied && f.from == c.server;
                    from_proxy != own && f.screen_name.as_deref().is_some_and(|n| same(n, name))
                })
                .map(|(_, f)| f)
                .collect()
        };
        let own = by(true);
        if own.is_empty() {
            by(false)
        } else {
            own
        }
    }

    fn endpoint_of(&self, name: &str) -> Option<Endpoint> {
        let from_init = [&self.creator, &self.joiner]
            .into_iter()
            .flatten()
            .find(|(n, _)| same(n, name))
            .map(|(_, e)| *e);
        from_init.or_else(|| {
            self.flows
                .iter()
                .find(|(c, f)| {
                    !(c.proxied && f.from == c.server)
                        && f.screen_name.as_deref().is_some_and(|n| same(n, name))
                })
                .map(|(_, f)| f.from)
        })
    }
}

impl Transfer {
    /// Which party created the proxy session: `Role::Sender` standing for the initiator.
    pub fn dim_proxy_creator(&self, d: &DirectImSummary) -> Option<Role> {
        let (creator, _) = self.dim.creator.as_ref()?;
        match (&d.initiator, &d.peer) {
            (Some(i), _) if same(i, creator) => Some(Role::Sender),
            (_, Some(p)) if same(p, creator) => Some(Role::Receiver),
            _ => None,
        }
    }

    pub fn direct_im_summary(&self) -> DirectImSummary {
        let d = &self.dim;
        let (initiator, peer) = d.names();
        let sum = |name: &Option<String>| {
            let mut c = OdcCounts::default();
            for f in name.as_deref().map(|n| d.written_by(n)).unwrap_or_default() {
                c.add(&f.counts);
            }
            c
        };
        DirectImSummary {
            initiator_endpoint: initiator.as_deref().and_then(|n| d.endpoint_of(n)),
            peer_endpoint: peer.as_deref().and_then(|n| d.endpoint_of(n)),
            initiator_to_peer: sum(&initiator),
            peer_to_initiator: sum(&peer),
            initiator,
            peer,
        }
    }
}
