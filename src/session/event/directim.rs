//! What a Direct IM session carried, and who took part in it.

use crate::flow::Endpoint;

/// ODC2 frames of one direction (docs/EVENTS.md `transfer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OdcCounts {
    /// Frames with a payload: messages, with or without images.
    pub messages: u64,
    /// Typing notifications: the typing bit and no payload.
    pub typing: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// Of them, images and attachments (after the `<BINARY>` tag).
    pub attachment_bytes: u64,
}

impl OdcCounts {
    pub fn add(&mut self, o: &OdcCounts) {
        self.messages += o.messages;
        self.typing += o.typing;
        self.bytes += o.bytes;
        self.attachment_bytes += o.attachment_bytes;
    }
}

/// One direction of a Direct IM connection: who sent from where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OdcFlow {
    pub from: Endpoint,
    /// The screen name in its ODC2 headers: its author's, also when a proxy relays it.
    pub screen_name: Option<String>,
    pub counts: OdcCounts,
}

/// A Direct IM session's parties and traffic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectImSummary {
    /// Who proposed it: whose client sent the PROPOSE (and, through the proxy, the
    /// INIT_SEND).
    pub initiator: Option<String>,
    pub peer: Option<String>,
    /// Each one's end of its own data connection (its leg to the proxy when proxied).
    pub initiator_endpoint: Option<Endpoint>,
    pub peer_endpoint: Option<Endpoint>,
    pub initiator_to_peer: OdcCounts,
    pub peer_to_initiator: OdcCounts,
}
