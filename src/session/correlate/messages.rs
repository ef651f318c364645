//! `--messages`: which transfer an instant message belongs with. A conversation is an
//! OSCAR client (its IP) and the screen name at the other end; a rendezvous message on
//! that client's FLAP connection naming the same screen name ties a transfer to it. A
//! message after the PROPOSE is `during` the transfer (`after` once its data connections
//! all closed, or it ended); one before
//! any transfer of its conversation is held back up to `--message-link-secs` of packet
//! time, so a transfer proposed meanwhile can claim it as `before`.

use super::{Correlator, CorrelatorOutput};
use crate::capture::Timestamp;
use crate::session::event::{Event, MessageRelation, MessageSeen, RendezvousSeen, TransferId};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

type Key = (IpAddr, String);

#[derive(Default)]
pub(super) struct Conversations {
    /// Each conversation's latest transfer; at most `max_transfers` are remembered.
    last: HashMap<Key, TransferId>,
    /// Messages waiting for a transfer, oldest first; at most `max_transfers`.
    held: VecDeque<Box<MessageSeen>>,
    /// How long a message is held (packet time); 0: never.
    pub(super) hold_nanos: u64,
}

/// Screen names compare without case and spaces, as the service compares them.
fn normalize(sn: &str) -> String {
    sn.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn key(msg: &MessageSeen) -> Key {
    (msg.flap_client.ip, normalize(&msg.peer))
}

impl Correlator {
    /// Messages that have no transfer yet wait `secs` of packet time for one.
    pub fn with_message_link(mut self, secs: u64) -> Self {
        self.messages.hold_nanos = secs.saturating_mul(Timestamp::NANOS_PER_SEC);
        self
    }

    pub(super) fn on_message(&mut self, msg: Box<MessageSeen>, out: &mut dyn CorrelatorOutput) {
        self.tick(msg.at.ts, out);
        if let Some(&t) = self.messages.last.get(&key(&msg)) {
            let t = self.live(t);
            // Its data connections all closed: the transfer is over for the people
            // talking, whatever linger the correlator still gives it.
            let relation = match self.transfers.get(&t) {
                Some(tr) if !tr.id.ended && tr.conns.closed_at.is_none() => MessageRelation::During,
                _ => MessageRelation::After,
            };
            return self.write_message(msg, Some((t, relation)), out);
        }
        if self.messages.hold_nanos == 0 {
            return self.write_message(msg, None, out);
        }
        self.messages.held.push_back(msg);
        if self.messages.held.len() > self.max_transfers {
            if let Some(m) = self.messages.held.pop_front() {
                self.write_message(m, None, out);
            }
        }
    }

    /// A rendezvous of transfer `t` names its conversation: later messages of it are
    /// linked to `t`, and those held back are written as coming before it.
    pub(super) fn note_conversation(
        &mut self,
        rv: &RendezvousSeen,
        t: TransferId,
        out: &mut dyn CorrelatorOutput,
    ) {
        let Some(sn) = rv.screen_name.as_deref() else {
            return;
        };
        let k = (rv.flap_client.ip, normalize(sn));
        let c = &mut self.messages;
        if c.last.insert(k.clone(), t).is_none() && c.last.len() > self.max_transfers {
            if let Some(oldest) = c
                .last
                .iter()
                .min_by_key(|(_, id)| **id)
                .map(|(k, _)| k.clone())
            {
                c.last.remove(&oldest);
            }
        }
        if c.held.is_empty() {
            return;
        }
        let (before, rest): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut c.held)
            .into_iter()
            .partition(|m| key(m) == k);
        c.held = rest;
        for m in before {
            self.write_message(m, Some((t, MessageRelation::Before)), out);
        }
    }

    /// Writes the held messages that waited long enough (all of them at the end).
    pub(super) fn release_messages(&mut self, all: bool, out: &mut dyn CorrelatorOutput) {
        let now = self.now.0;
        while let Some(m) = self.messages.held.front() {
            if !all && now.saturating_sub(m.at.ts.0) < self.messages.hold_nanos {
                break;
            }
            let m = self.messages.held.pop_front().expect("front checked");
            self.write_message(m, None, out);
        }
    }

    /// The OSCAR client's own screen name, when its transfer knows it.
    fn write_message(
        &mut self,
        mut msg: Box<MessageSeen>,
        link: Option<(TransferId, MessageRelation)>,
        out: &mut dyn CorrelatorOutput,
    ) {
        if let Some(tr) = link.and_then(|(t, _)| self.transfers.get(&t)) {
            let p = &tr.parties;
            let role = p.flap_roles.iter().find(|(c, _)| *c == msg.flap_client);
            msg.own = match role {
                Some((_, true)) => p.sender_name.clone(),
                Some((_, false)) => p.receiver_name.clone(),
                None => None,
            };
        }
        out.event(Event::Message {
            transfer: link,
            msg,
        });
    }
}
