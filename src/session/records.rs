//! Turns what the session layer learned into the records the outputs write: a finished
//! file, a rendezvous message and what it predicts.

use super::machine::{hex32, At, FileEnd};
use super::report::Prediction;
use crate::flow::Endpoint;
use crate::output::event::{FileRecord, RendezvousRecord};
use crate::proto::rendezvous::{ClientError, RendezvousMsg, RvKind};

pub fn file_record(
    end: &FileEnd,
    path: Option<String>,
    sender: String,
    receiver: String,
) -> FileRecord {
    FileRecord {
        ts: end.end.as_f64(),
        transfer: String::new(),
        name: end.name.clone(),
        size: end.size,
        bytes: end.bytes,
        offset: end.offset,
        checksum_expected: hex32(end.checksum_expected),
        checksum_seen: end.checksum_seen.map(hex32),
        checksum_ok: end.checksum_ok,
        checksum_done: end.checksum_done.map(hex32),
        status: end.status.as_str(),
        duration_s: end.duration_s(),
        rate_bps: end.rate_bps(),
        first_data_ts: end.first_data.map(|t| t.as_f64()),
        last_data_ts: end.last_data.map(|t| t.as_f64()),
        sha256: end.sha256.clone(),
        path,
        missing: end.missing.clone(),
        sender,
        receiver,
    }
}

/// SNAC 4/0B about a channel-2 ICBM: the peer refused (declined) the rendezvous with
/// this cookie, or its client failed at it (§5.8). It ends the transfer the cookie names,
/// as a CANCEL does.
pub fn decline_report(
    e: &ClientError,
    flap: (Endpoint, Endpoint),
    at: At,
    outgoing: bool,
) -> (RendezvousRecord, Prediction) {
    let record = RendezvousRecord {
        ts: at.ts.as_f64(),
        transfer: String::new(),
        kind: DECLINE,
        frame: at.frame.0,
        cookie: e.cookie.to_string(),
        capability: "other".to_string(),
        snac: "4/0B".to_string(),
        flap_client: flap.0.to_string(),
        flap_server: flap.1.to_string(),
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
    };
    let prediction = Prediction {
        cookie: e.cookie,
        kind: RvKind::Cancel,
        request_no: None,
        use_proxy: false,
        ips: Vec::new(),
        port: None,
        from_sender: false,
        file_name: None,
        outgoing,
        screen_name: Some(e.screen_name.clone()),
        direct_im: false,
        segment: None,
    };
    (record, prediction)
}

/// The `type` of a rendezvous record made from a SNAC 4/0B.
pub const DECLINE: &str = "decline";

pub fn rendezvous_report(
    msg: &RendezvousMsg,
    flap: (Endpoint, Endpoint),
    at: At,
    outgoing: bool,
    direct_im: bool,
) -> (RendezvousRecord, Prediction) {
    let kind = match msg.kind {
        RvKind::Propose => "propose",
        RvKind::Cancel => "cancel",
        RvKind::Accept => "accept",
        _ => "other",
    };
    let file = msg.file.as_ref();
    let record = RendezvousRecord {
        ts: at.ts.as_f64(),
        transfer: String::new(),
        kind,
        frame: at.frame.0,
        cookie: msg.cookie.to_string(),
        capability: msg.capability.name().unwrap_or("other").to_string(),
        snac: format!("{}/{}", msg.snac.0, msg.snac.1),
        flap_client: flap.0.to_string(),
        flap_server: flap.1.to_string(),
        screen_name: msg.screen_name.clone(),
        request_no: msg.request_no,
        use_proxy: msg.use_proxy,
        ip: msg.rendezvous_ip.map(|i| i.to_string()),
        client_ip: msg.client_ip.map(|i| i.to_string()),
        verified_ip: msg.verified_ip.map(|i| i.to_string()),
        port: msg.port,
        file_name: file.map(|f| f.display_name().to_string()),
        file_count: file.map(|f| f.count),
        total_size: msg.total_size(),
        cancel_reason: msg.cancel_reason,
        nak_code: None,
    };
    let mut ips = Vec::new();
    for ip in [msg.rendezvous_ip, msg.client_ip, msg.verified_ip]
        .into_iter()
        .flatten()
    {
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    let prediction = Prediction {
        cookie: msg.cookie,
        kind: msg.kind,
        request_no: msg.request_no,
        use_proxy: msg.use_proxy,
        ips,
        port: msg.port,
        from_sender: msg.file.is_some(),
        file_name: file.map(|f| f.display_name().to_string()),
        outgoing,
        screen_name: msg.screen_name.clone(),
        direct_im,
        segment: None,
    };
    (record, prediction)
}
