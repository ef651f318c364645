//! Turns a parsed rendezvous message (or a SNAC 4/0B about one) into what the session
//! stage reports: one typed value, from which the correlator also predicts the data
//! connection.

use super::event::{At, RendezvousSeen, RvType};
use crate::flow::Endpoint;
use crate::proto::rendezvous::{ClientError, RendezvousMsg, RvKind};

/// SNAC 4/0B about a channel-2 ICBM: the peer refused (declined) the rendezvous with
/// this cookie, or its client failed at it (§5.8). It ends the transfer the cookie names,
/// as a CANCEL does.
pub fn decline(
    e: &ClientError,
    flap: (Endpoint, Endpoint),
    at: At,
    outgoing: bool,
) -> RendezvousSeen {
    RendezvousSeen {
        at,
        kind: RvType::Decline,
        cookie: e.cookie,
        capability: None,
        snac: (4, 0x0B),
        flap_client: flap.0,
        flap_server: flap.1,
        outgoing,
        screen_name: Some(e.screen_name.clone()),
        request_no: None,
        use_proxy: false,
        ip: None,
        client_ip: None,
        verified_ip: None,
        port: None,
        file_name: None,
        file_count: None,
        total_size: None,
        cancel_reason: None,
        nak_code: e.code,
        direct_im: false,
        segment: None,
    }
}

pub fn message(
    msg: &RendezvousMsg,
    flap: (Endpoint, Endpoint),
    at: At,
    outgoing: bool,
    direct_im: bool,
) -> RendezvousSeen {
    let kind = match msg.kind {
        RvKind::Propose => RvType::Propose,
        RvKind::Cancel => RvType::Cancel,
        RvKind::Accept => RvType::Accept,
        _ => RvType::Other,
    };
    let file = msg.file.as_ref();
    RendezvousSeen {
        at,
        kind,
        cookie: msg.cookie,
        capability: Some(msg.capability),
        snac: msg.snac,
        flap_client: flap.0,
        flap_server: flap.1,
        outgoing,
        screen_name: msg.screen_name.clone(),
        request_no: msg.request_no,
        use_proxy: msg.use_proxy,
        ip: msg.rendezvous_ip,
        client_ip: msg.client_ip,
        verified_ip: msg.verified_ip,
        port: msg.port,
        file_name: file.map(|f| f.display_name().to_string()),
        file_count: file.map(|f| f.count),
        total_size: msg.total_size(),
        cancel_reason: msg.cancel_reason,
        nak_code: None,
        direct_im,
        segment: None,
    }
}
