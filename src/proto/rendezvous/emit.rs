//! Emitters of the rendezvous SNACs, for the project's test peers: the rendezvous block,
//! SNAC 4/6 and 4/7 and their FLAP frame, 4/0B and 4/0C.

use super::{
    charset_encoding, tlv, ClientError, HostAck, RendezvousMsg, CHANNEL_RENDEZVOUS, FAMILY_ICBM,
    SUBTYPE_CLIENT_ERROR, SUBTYPE_HOST_ACK, SUBTYPE_TO_CLIENT, TLV_HOST_ACK, TLV_RENDEZVOUS,
};
use crate::proto::flap::{self, FlapFrame, SnacHeader};
use crate::proto::oft::{FileName, NameEncoding};
use crate::proto::tlv::put_tlv;
use crate::proto::Cookie;
use std::net::Ipv4Addr;

impl RendezvousMsg {
    /// The rendezvous block: the value of outer TLV 0x0005. Inner TLVs go out in one fixed
    /// order, the one of the §8.5 example (0x0004 last, where the server appends it).
    pub fn emit_block(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&self.kind.code().to_be_bytes());
        b.extend_from_slice(&self.cookie.0);
        b.extend_from_slice(&self.capability.0);
        let put16 = |b: &mut Vec<u8>, t, v: Option<u16>| {
            if let Some(v) = v {
                put_tlv(b, t, &v.to_be_bytes());
            }
        };
        let put_ip = |b: &mut Vec<u8>, t, v: Option<Ipv4Addr>| {
            if let Some(v) = v {
                put_tlv(b, t, &v.octets());
            }
        };
        let put_flag = |b: &mut Vec<u8>, t, on: bool| {
            if on {
                put_tlv(b, t, &[]);
            }
        };
        put16(&mut b, tlv::REQUEST_NO, self.request_no);
        put_flag(&mut b, tlv::REQUEST_HOST_CHECK, self.host_check);
        put_ip(&mut b, tlv::RENDEZVOUS_IP, self.rendezvous_ip);
        if let Some(v) = self.ip_check {
            put_tlv(&mut b, tlv::IP_CHECK, &v.to_be_bytes());
        }
        put_ip(&mut b, tlv::CLIENT_IP, self.client_ip);
        put16(&mut b, tlv::PORT, self.port);
        put16(&mut b, tlv::PORT_CHECK, self.port_check);
        put_flag(&mut b, tlv::USE_PROXY, self.use_proxy);
        put_flag(&mut b, tlv::REQUEST_SECURE, self.request_secure);
        put16(&mut b, tlv::COUNTER_REASON, self.counter_reason);
        put16(&mut b, tlv::CANCEL_REASON, self.cancel_reason);
        for (t, v) in &self.other {
            put_tlv(&mut b, *t, v);
        }
        if let Some(f) = &self.file {
            let mut v = Vec::new();
            v.extend_from_slice(&f.kind.to_be_bytes());
            v.extend_from_slice(&f.count.to_be_bytes());
            v.extend_from_slice(&f.total_size.to_be_bytes());
            let enc = charset_encoding(self.charset.as_deref());
            let name = match enc {
                NameEncoding::Latin1 => FileName::latin1(&f.name),
                NameEncoding::Utf16Be => Some(FileName::utf16(&f.name)),
                _ => None,
            }
            .unwrap_or_else(|| FileName::utf8(&f.name));
            v.extend_from_slice(&name.raw);
            v.resize(
                v.len()
                    + if name.encoding == NameEncoding::Utf16Be {
                        2
                    } else {
                        1
                    },
                0,
            );
            put_tlv(&mut b, tlv::SERVICE_DATA, &v);
        }
        if let Some(cs) = &self.charset {
            put_tlv(&mut b, tlv::SERVICE_CHARSET, cs.as_bytes());
        }
        if let Some(v) = self.size64 {
            put_tlv(&mut b, tlv::SIZE64, &v.to_be_bytes());
        }
        put_ip(&mut b, tlv::VERIFIED_IP, self.verified_ip);
        b
    }

    /// SNAC header and body (4/6 or 4/7 according to `self.snac`).
    pub fn emit_snac(&self, request_id: u32) -> Vec<u8> {
        let mut out = icbm_head(
            self.snac,
            request_id,
            &self.cookie,
            CHANNEL_RENDEZVOUS,
            self.screen_name.as_deref().unwrap_or(""),
        );
        if self.snac.1 == SUBTYPE_TO_CLIENT {
            out.extend_from_slice(&self.warning_level.to_be_bytes());
            let n = self.user_info.len().min(usize::from(u16::MAX));
            out.extend_from_slice(&(n as u16).to_be_bytes());
            for (t, v) in &self.user_info[..n] {
                put_tlv(&mut out, *t, v);
            }
        }
        put_tlv(&mut out, TLV_RENDEZVOUS, &self.emit_block());
        if self.host_ack_requested {
            put_tlv(&mut out, TLV_HOST_ACK, &[]);
        }
        out
    }

    /// A whole FLAP frame (channel 2) carrying this message.
    pub fn emit_flap(&self, seq: u16, request_id: u32) -> Vec<u8> {
        FlapFrame {
            channel: flap::channel::SNAC,
            seq,
            data: &self.emit_snac(request_id),
        }
        .emit()
    }
}

/// The start every ICBM SNAC (4/6, 4/7) shares, whatever its channel: the SNAC header,
/// the message cookie, the channel and the screen name.
pub fn icbm_head(
    snac: (u16, u16),
    request_id: u32,
    cookie: &Cookie,
    channel: u16,
    screen_name: &str,
) -> Vec<u8> {
    let mut out = Vec::new();
    SnacHeader {
        family: snac.0,
        subtype: snac.1,
        flags: 0,
        request_id,
    }
    .emit_into(&mut out);
    out.extend_from_slice(&cookie.0);
    out.extend_from_slice(&channel.to_be_bytes());
    put_screen_name(&mut out, screen_name);
    out
}

fn put_screen_name(out: &mut Vec<u8>, sn: &str) {
    let sn = &sn.as_bytes()[..sn.len().min(255)];
    out.push(sn.len() as u8);
    out.extend_from_slice(sn);
}

impl ClientError {
    pub fn emit_snac(&self, request_id: u32) -> Vec<u8> {
        let mut out = Vec::new();
        SnacHeader {
            family: FAMILY_ICBM,
            subtype: SUBTYPE_CLIENT_ERROR,
            flags: 0,
            request_id,
        }
        .emit_into(&mut out);
        out.extend_from_slice(&self.cookie.0);
        out.extend_from_slice(&self.channel.to_be_bytes());
        put_screen_name(&mut out, &self.screen_name);
        out.extend_from_slice(&self.reason.to_be_bytes());
        if let Some(code) = self.code {
            out.extend_from_slice(&2u16.to_be_bytes());
            out.extend_from_slice(&code.to_be_bytes());
        }
        out
    }
}

impl HostAck {
    pub fn emit_snac(&self, request_id: u32) -> Vec<u8> {
        let mut out = Vec::new();
        SnacHeader {
            family: FAMILY_ICBM,
            subtype: SUBTYPE_HOST_ACK,
            flags: 0,
            request_id,
        }
        .emit_into(&mut out);
        out.extend_from_slice(&self.cookie.0);
        out.extend_from_slice(&self.channel.to_be_bytes());
        put_screen_name(&mut out, &self.screen_name);
        out
    }
}
