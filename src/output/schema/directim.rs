//! The `direct_im` object of a Direct IM `transfer` record.

use crate::session::event::{DirectImSummary, OdcCounts};
use serde::Serialize;

#[derive(Serialize)]
pub(super) struct DirectImRecord {
    pub initiator: Option<String>,
    pub peer: Option<String>,
    pub initiator_endpoint: Option<String>,
    pub peer_endpoint: Option<String>,
    pub initiator_to_peer: OdcRecord,
    pub peer_to_initiator: OdcRecord,
}

#[derive(Serialize)]
pub(super) struct OdcRecord {
    pub messages: u64,
    pub typing: u64,
    pub bytes: u64,
    pub attachment_bytes: u64,
}

fn odc(c: &OdcCounts) -> OdcRecord {
    OdcRecord {
        messages: c.messages,
        typing: c.typing,
        bytes: c.bytes,
        attachment_bytes: c.attachment_bytes,
    }
}

pub(super) fn direct_im_record(d: &DirectImSummary) -> DirectImRecord {
    DirectImRecord {
        initiator: d.initiator.clone(),
        peer: d.peer.clone(),
        initiator_endpoint: d.initiator_endpoint.map(|e| e.to_string()),
        peer_endpoint: d.peer_endpoint.map(|e| e.to_string()),
        initiator_to_peer: odc(&d.initiator_to_peer),
        peer_to_initiator: odc(&d.peer_to_initiator),
    }
}
