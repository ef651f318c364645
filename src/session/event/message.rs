//! An instant message seen on an OSCAR connection (`--messages`), and how it stands to
//! the transfer between the same two people.

use super::At;
use crate::flow::Endpoint;
use crate::proto::im::ImCharset;
use crate::proto::Cookie;

/// A channel-1 IM, as the event thread reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageSeen {
    pub at: At,
    /// SNAC 4/6: the OSCAR client sent it; otherwise (4/7) it was delivered to the client.
    pub outgoing: bool,
    pub flap_client: Endpoint,
    pub flap_server: Endpoint,
    /// The other party named in the SNAC: the recipient of an outgoing message, the
    /// sender of an incoming one.
    pub peer: String,
    /// The OSCAR client's own screen name, when a transfer between the two named it.
    pub own: Option<String>,
    /// The message's text as sent, markup included.
    pub raw: String,
    /// The text with its HTML markup removed.
    pub text: String,
    /// The first text fragment's charset.
    pub charset: Option<ImCharset>,
    /// Sent automatically (an away message).
    pub auto_response: bool,
    pub cookie: Cookie,
}

impl MessageSeen {
    pub fn from(&self) -> Option<&str> {
        if self.outgoing {
            self.own.as_deref()
        } else {
            Some(&self.peer)
        }
    }

    pub fn to(&self) -> Option<&str> {
        if self.outgoing {
            Some(&self.peer)
        } else {
            self.own.as_deref()
        }
    }
}

/// Where a message falls against the transfer between the same two screen names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageRelation {
    /// Sent before the transfer was proposed.
    Before,
    /// Sent while it was under way (proposed, not yet over).
    During,
    /// Sent after it ended.
    After,
}

impl MessageRelation {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRelation::Before => "before",
            MessageRelation::During => "during",
            MessageRelation::After => "after",
        }
    }
}
