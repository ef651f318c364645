//! The `message` record (`--messages`).

use super::snac_label;
use crate::output::timestamp::iso8601;
use crate::proto::im::ImCharset;
use crate::session::event::{MessageRelation, MessageSeen};
use crate::session::TransferId;
use serde::Serialize;

#[derive(Serialize)]
pub(super) struct MessageRecord {
    pub ts: f64,
    pub timestamp: String,
    /// The transfer between the same two screen names, null when there is none.
    pub transfer: Option<String>,
    /// `before`, `during` or `after` that transfer.
    pub relation: Option<&'static str>,
    pub frame: u64,
    /// `outgoing` (SNAC 4/6, the OSCAR client sent it) or `incoming` (4/7).
    pub direction: &'static str,
    pub snac: String,
    pub flap_client: String,
    pub flap_server: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Without its HTML markup.
    pub text: String,
    /// As sent.
    pub raw: String,
    pub charset: Option<String>,
    pub auto_response: bool,
    pub cookie: String,
}

pub(super) fn message_record(
    link: Option<(TransferId, MessageRelation)>,
    m: &MessageSeen,
) -> MessageRecord {
    MessageRecord {
        ts: m.at.ts.as_f64(),
        timestamp: iso8601(m.at.ts),
        transfer: link.map(|(t, _)| t.to_string()),
        relation: link.map(|(_, r)| r.as_str()),
        frame: m.at.frame.0,
        direction: direction(m),
        snac: snac_label((4, if m.outgoing { 6 } else { 7 })),
        flap_client: m.flap_client.to_string(),
        flap_server: m.flap_server.to_string(),
        from: m.from().map(str::to_owned),
        to: m.to().map(str::to_owned),
        text: m.text.clone(),
        raw: m.raw.clone(),
        charset: m.charset.map(charset_name),
        auto_response: m.auto_response,
        cookie: m.cookie.to_string(),
    }
}

pub fn direction(m: &MessageSeen) -> &'static str {
    if m.outgoing {
        "outgoing"
    } else {
        "incoming"
    }
}

pub fn charset_name(c: ImCharset) -> String {
    match c {
        ImCharset::Ascii => "ascii".into(),
        ImCharset::Unicode => "unicode".into(),
        ImCharset::Latin1 => "latin1".into(),
        ImCharset::Other(v) => format!("0x{v:04x}"),
    }
}
