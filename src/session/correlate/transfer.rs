//! One transfer as the correlator pieces it together: what identifies it, its
//! connections, its parties, its files, its ladder and its pcap output.

use super::CorrelatorOutput;
use crate::capture::Timestamp;
use crate::flow::Endpoint;
use crate::proto::Cookie;
use crate::session::event::{
    ConnEnds, Event, FileSeen, LadderLine, LegCounts, RendezvousSeen, SessionKind, TransferId,
};
use crate::session::phase::Role;
use crate::session::report::{ConnId, ConnRef};

/// What the transfer is and when it ran.
#[derive(Default)]
pub struct Identity {
    pub cookie: Option<Cookie>,
    pub kind: Option<SessionKind>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub first_file: Option<String>,
    pub cancelled: bool,
    /// Reported (its `transfer` event is out); kept a while for late reports.
    pub ended: bool,
    /// Every cookie `by_cookie` was given for it (forgetting it takes them out).
    pub cookies: Vec<Cookie>,
    /// Transfers folded into it, which `merged` leads here.
    pub absorbed: Vec<TransferId>,
}

/// Its data connections, those predicted and those that led nowhere.
#[derive(Default)]
pub struct Conns {
    pub legs: Vec<ConnRef>,
    pub open: Vec<ConnId>,
    /// Where the latest direct PROPOSE said the data connection would go.
    pub predicted: Vec<Endpoint>,
    /// Proxy tokens its PROPOSEs announced (`by_token` keys).
    pub tokens: Vec<u16>,
    /// Predicted connections that never carried data (refused, abandoned).
    pub attempts: u64,
    pub frames_lost: u64,
    /// When its last open connection closed.
    pub closed_at: Option<Timestamp>,
    /// The FLAP connection of the first rendezvous message (client, server): names the
    /// transfer's pcap when no data connection ever does.
    pub flap: Option<(Endpoint, Endpoint)>,
}

/// Who sends to whom.
#[derive(Default)]
pub struct Parties {
    pub sender: Option<Endpoint>,
    pub receiver: Option<Endpoint>,
    pub proxy: Option<Endpoint>,
    /// `Role::Sender` or `Role::Receiver`: which of them created the proxy session.
    pub proxy_creator: Option<Role>,
    pub sender_name: Option<String>,
    pub receiver_name: Option<String>,
    /// Each OSCAR client (its FLAP connection's client endpoint) whose role a PROPOSE
    /// revealed: true for the file sender.
    pub flap_roles: Vec<(Endpoint, bool)>,
    /// Screen names from ACCEPT/CANCEL messages on FLAP connections whose role is not
    /// known yet (their PROPOSE may be reported later by another worker):
    /// (flap client, screen name, sent client → server).
    pub unplaced_names: Vec<(Endpoint, String, bool)>,
}

/// Its files, counted once each.
#[derive(Default)]
pub struct Files {
    pub count: u64,
    pub bytes: u64,
    /// Sums of the files' sent / delivered / acknowledged bytes.
    pub legs: LegCounts,
    pub keys: Vec<(String, u64)>,
    /// Files of a proxied receiver's leg: what was delivered and acknowledged of the
    /// sender's leg's files, and the only report of files its sender's leg missed.
    pub secondary: Vec<(ConnRef, Box<FileSeen>)>,
    /// Files of a proxied sender's leg waiting for the other leg to name the receiver
    /// (its worker may report later): on one leg the peer is the proxy, not the client.
    pub unpaired: Vec<(ConnRef, Box<FileSeen>)>,
    /// From the start of the first data phase to the last file byte, over all files.
    pub data_span: Option<(Timestamp, Timestamp)>,
}

impl Files {
    fn secondary_of(&self, file: &FileSeen) -> Option<usize> {
        let key = (&file.end.name, file.end.offset);
        self.secondary
            .iter()
            .position(|(_, s)| (&s.end.name, s.end.offset) == key)
    }

    /// The receiver's leg has reported this file of the sender's leg.
    pub fn has_secondary(&self, file: &FileSeen) -> bool {
        self.secondary_of(file).is_some()
    }

    /// A proxied sender's leg's file: what the receiver's leg carried of it (its report
    /// taken out of `secondary`) is what was delivered and acknowledged; neither is
    /// known when that leg did not report it.
    pub fn join_legs(&mut self, file: &mut FileSeen) {
        let other = self.secondary_of(file).map(|i| self.secondary.remove(i).1);
        let legs = &mut file.end.legs;
        legs.delivered = other.as_ref().and_then(|o| o.end.legs.delivered);
        legs.acked = other.and_then(|o| o.end.legs.acked);
    }
}

/// `--explain` material: data frames with their connection, and FLAP messages.
#[derive(Default)]
pub struct LadderParts {
    pub frames: Vec<(ConnEnds, LadderLine)>,
    pub rendezvous: Vec<RendezvousSeen>,
}

/// Where its pcap output stands.
#[derive(Default)]
pub struct PcapState {
    pub started: bool,
    /// Rendezvous frames went to pcap output before any data connection was seen.
    pub rv_frames_sent: bool,
}

#[derive(Default)]
pub struct Transfer {
    pub id: Identity,
    pub conns: Conns,
    pub parties: Parties,
    pub files: Files,
    pub ladder: LadderParts,
    pub pcap: PcapState,
    /// Direct IM: its parties and traffic.
    pub dim: super::directim::Dim,
}

impl Transfer {
    pub fn new(start: Timestamp) -> Self {
        let mut t = Transfer::default();
        t.id.start = start;
        t.id.end = start;
        t
    }

    /// Reports a file once per (name, offset), counting it into the totals.
    pub fn emit_file(
        &mut self,
        t: TransferId,
        file: Box<FileSeen>,
        out: &mut dyn CorrelatorOutput,
    ) {
        let key = (file.end.name.clone(), file.end.offset);
        if self.files.keys.contains(&key) {
            return;
        }
        self.files.keys.push(key);
        self.files.count += 1;
        self.files.bytes += file.end.bytes;
        self.files.legs.add(&file.end.legs);
        if let (Some(a), Some(b)) = (file.end.data_start(), file.end.delivery_end()) {
            let (lo, hi) = self.files.data_span.unwrap_or((a, b));
            self.files.data_span = Some((lo.min(a), hi.max(b)));
        }
        out.event(Event::File { transfer: t, file });
    }

    /// The screen name in a SNAC 4/6 or 4/7 is always the other party's than the FLAP
    /// client's: the recipient of what it sends, the author of what it receives.
    pub fn name_party(&mut self, names_sender: bool, sn: String) {
        let p = &mut self.parties;
        if names_sender {
            p.sender_name.get_or_insert(sn);
        } else {
            p.receiver_name.get_or_insert(sn);
        }
    }

    /// Places the names of ACCEPT/CANCEL messages whose FLAP client's role is known.
    /// With `guess` (the transfer is ending), the rest are placed assuming the usual
    /// case: the receiver accepts the sender's proposal.
    pub fn place_names(&mut self, guess: bool) {
        for (client, sn, outgoing) in std::mem::take(&mut self.parties.unplaced_names) {
            let role = self
                .parties
                .flap_roles
                .iter()
                .find(|(c, _)| *c == client)
                .map(|&(_, s)| s);
            match role {
                Some(client_is_sender) => self.name_party(!client_is_sender, sn),
                None if guess => self.guess_name(sn, outgoing),
                None => self.parties.unplaced_names.push((client, sn, outgoing)),
            }
        }
    }

    fn guess_name(&mut self, sn: String, outgoing: bool) {
        let p = &mut self.parties;
        let known = [&p.sender_name, &p.receiver_name];
        if known.iter().any(|n| n.as_deref() == Some(sn.as_str())) {
            return;
        }
        match (p.sender_name.is_some(), p.receiver_name.is_some()) {
            // Two parties: a name that is not the known one is the other.
            (true, false) => p.receiver_name = Some(sn),
            (false, true) => p.sender_name = Some(sn),
            // 4/6 from the accepting receiver names the sender; 4/7 to the sender
            // names the receiver.
            _ => self.name_party(outgoing, sn),
        }
    }

    /// The client of the proxied leg other than `conn`, once it is known.
    pub fn other_client(&self, conn: &ConnRef) -> Option<Endpoint> {
        self.conns
            .legs
            .iter()
            .find(|l| l.proxied && l.id != conn.id && l.client != conn.client)
            .map(|l| l.client)
    }

    /// Folds `g` (a transfer found to be the same one) into this one.
    pub fn absorb(&mut self, g: Transfer) {
        let (k, g) = (self, g);
        k.id.cookie = k.id.cookie.or(g.id.cookie);
        k.id.kind = k.id.kind.or(g.id.kind);
        k.id.start = k.id.start.min(g.id.start);
        k.id.end = k.id.end.max(g.id.end);
        k.id.first_file = k.id.first_file.take().or(g.id.first_file);
        k.id.cancelled |= g.id.cancelled;
        k.id.cookies.extend(g.id.cookies);
        k.id.absorbed.extend(g.id.absorbed);
        k.conns.legs.extend(g.conns.legs);
        k.conns.open.extend(g.conns.open);
        k.conns.predicted.extend(g.conns.predicted);
        k.conns.tokens.extend(g.conns.tokens);
        k.conns.frames_lost += g.conns.frames_lost;
        k.conns.flap = k.conns.flap.or(g.conns.flap);
        k.dim.absorb(g.dim);
        let (p, q) = (&mut k.parties, g.parties);
        p.sender = p.sender.or(q.sender);
        p.receiver = p.receiver.or(q.receiver);
        p.proxy = p.proxy.or(q.proxy);
        p.proxy_creator = p.proxy_creator.or(q.proxy_creator);
        p.sender_name = p.sender_name.take().or(q.sender_name);
        p.receiver_name = p.receiver_name.take().or(q.receiver_name);
        p.flap_roles.extend(q.flap_roles);
        p.unplaced_names.extend(q.unplaced_names);
        let (f, h) = (&mut k.files, g.files);
        f.count += h.count;
        f.bytes += h.bytes;
        f.legs.add(&h.legs);
        f.keys.extend(h.keys);
        f.secondary.extend(h.secondary);
        f.unpaired.extend(h.unpaired);
        f.data_span = match (f.data_span, h.data_span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, y) => x.or(y),
        };
        k.ladder.frames.extend(g.ladder.frames);
        k.ladder.rendezvous.extend(g.ladder.rendezvous);
        k.pcap.started |= g.pcap.started;
        k.pcap.rv_frames_sent |= g.pcap.rv_frames_sent;
    }
}

/// On a proxied leg the file's peer is the proxy; name the client at the far end of the
/// other leg instead.
pub fn name_far_client(file: &mut FileSeen, conn: &ConnRef, other: Endpoint) {
    if file.sender == Some(conn.client) {
        file.receiver = Some(other);
    } else if file.receiver == Some(conn.client) {
        file.sender = Some(other);
    }
}
