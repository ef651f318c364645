//! Parsers of the ICBM SNACs that matter for transfers (4/6, 4/7, 4/0B, 4/0C) and of the
//! rendezvous block inside 4/6 and 4/7.

use super::{
    charset_encoding, tlv, ClientError, HostAck, IcbmEvent, RendezvousMsg, RvKind, ServiceData,
    CHANNEL_RENDEZVOUS, FAMILY_ICBM, SUBTYPE_CLIENT_ERROR, SUBTYPE_HOST_ACK, SUBTYPE_TO_CLIENT,
    SUBTYPE_TO_HOST, TLV_HOST_ACK, TLV_RENDEZVOUS,
};
use crate::proto::flap::{self, parse_flap, parse_snac, SnacHeader};
use crate::proto::oft::FileName;
use crate::proto::tlv::{take_tlv, tlvs};
use crate::proto::{be16, be32, Capability, Cookie, ParseError};
use std::net::Ipv4Addr;

/// Reads fields off a body whose bytes are all present: running out is invalid.
struct Body<'a>(&'a [u8]);

const TRUNCATED: ParseError = ParseError::Invalid("ICBM body truncated");

impl<'a> Body<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if self.0.len() < n {
            return Err(TRUNCATED);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u16(&mut self) -> Result<u16, ParseError> {
        self.take(2).map(|b| be16(b, 0))
    }
    fn cookie(&mut self) -> Result<Cookie, ParseError> {
        self.take(8)
            .map(|b| Cookie::from_slice(b).expect("8 bytes"))
    }
    fn screen_name(&mut self) -> Result<String, ParseError> {
        let n = usize::from(self.take(1)?[0]);
        self.take(n).map(crate::proto::lossy)
    }
}

/// Parse the data of a FLAP channel-2 frame (SNAC header and body). `Ok(None)` for SNACs
/// that carry nothing about rendezvous: other families and subtypes, 4/6 and 4/7 on other
/// ICBM channels or without a rendezvous block. 4/0B and 4/0C come back for any channel.
pub fn parse_icbm(data: &[u8]) -> Result<Option<IcbmEvent>, ParseError> {
    let (snac, body) = parse_snac(data)?;
    if snac.family != FAMILY_ICBM {
        return Ok(None);
    }
    let mut b = Body(body);
    match snac.subtype {
        SUBTYPE_TO_HOST | SUBTYPE_TO_CLIENT => parse_rendezvous_snac(snac, b),
        SUBTYPE_CLIENT_ERROR => parse_client_error(b),
        SUBTYPE_HOST_ACK => Ok(Some(IcbmEvent::HostAck(HostAck {
            cookie: b.cookie()?,
            channel: b.u16()?,
            screen_name: b.screen_name()?,
        }))),
        _ => Ok(None),
    }
}

/// The body of a 4/6 or 4/7: ICBM header, user info (4/7), then the message TLVs with
/// the rendezvous block.
fn parse_rendezvous_snac(
    snac: SnacHeader,
    mut b: Body<'_>,
) -> Result<Option<IcbmEvent>, ParseError> {
    let cookie = b.cookie()?;
    if b.u16()? != CHANNEL_RENDEZVOUS {
        return Ok(None);
    }
    let screen_name = b.screen_name()?;
    let mut warning_level = 0;
    let mut user_info = Vec::new();
    if snac.subtype == SUBTYPE_TO_CLIENT {
        warning_level = b.u16()?;
        // The count is the only thing separating user-info TLVs from message TLVs.
        for _ in 0..b.u16()? {
            let (t, rest) = take_tlv(b.0)?;
            user_info.push((t.typ, t.value.to_vec()));
            b.0 = rest;
        }
    }
    let mut block = None;
    let mut host_ack_requested = false;
    for t in tlvs(b.0) {
        let t = t?;
        match t.typ {
            TLV_RENDEZVOUS if block.is_none() => block = Some(t.value),
            TLV_HOST_ACK => host_ack_requested = true,
            _ => {}
        }
    }
    let Some(block) = block else {
        return Ok(None);
    };
    let mut msg = parse_block(block)?;
    if msg.cookie != cookie {
        return Err(ParseError::Invalid("ICBM and rendezvous cookies differ"));
    }
    msg.snac = (snac.family, snac.subtype);
    msg.screen_name = Some(screen_name);
    msg.warning_level = warning_level;
    msg.user_info = user_info;
    msg.host_ack_requested = host_ack_requested;
    Ok(Some(IcbmEvent::Rendezvous(msg)))
}

/// The body of a 4/0B.
fn parse_client_error(mut b: Body<'_>) -> Result<Option<IcbmEvent>, ParseError> {
    let cookie = b.cookie()?;
    let channel = b.u16()?;
    let screen_name = b.screen_name()?;
    let reason = b.u16()?;
    // Reason 3 is followed by u16 length 2 and the code (Pidgin writes the same
    // bytes as TLV 3).
    let code = match b.0.len() {
        0 => None,
        _ => {
            let len = usize::from(b.u16()?);
            let v = b.take(len)?;
            (len == 2).then(|| be16(v, 0))
        }
    };
    Ok(Some(IcbmEvent::ClientError(ClientError {
        cookie,
        channel,
        screen_name,
        reason,
        code,
    })))
}

/// Parse one FLAP frame from the start of `buf` and, on channel 2, its ICBM. Returns the
/// event (if any) and the bytes the frame used; `Incomplete` while the frame is partial.
pub fn parse_flap_icbm(buf: &[u8]) -> Result<(Option<IcbmEvent>, usize), ParseError> {
    let (frame, used) = parse_flap(buf)?;
    if frame.channel != flap::channel::SNAC {
        return Ok((None, used));
    }
    Ok((parse_icbm(frame.data)?, used))
}

fn ip(v: &[u8]) -> Result<Ipv4Addr, ParseError> {
    match v {
        [a, b, c, d] => Ok(Ipv4Addr::new(*a, *b, *c, *d)),
        _ => Err(ParseError::Invalid("rendezvous IP TLV is not 4 bytes")),
    }
}

fn u16v(v: &[u8]) -> Result<u16, ParseError> {
    match v {
        [a, b] => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(ParseError::Invalid("rendezvous u16 TLV is not 2 bytes")),
    }
}

/// Parse a rendezvous block (the value of outer TLV 0x0005). The SNAC-level fields are
/// left at their defaults.
pub fn parse_block(block: &[u8]) -> Result<RendezvousMsg, ParseError> {
    if block.len() < 26 {
        return Err(ParseError::Invalid(
            "rendezvous block shorter than 26 bytes",
        ));
    }
    let kind = RvKind::from_u16(be16(block, 0));
    let cookie = Cookie::from_slice(&block[2..]).expect("length checked");
    let capability = Capability::from_slice(&block[10..]).expect("length checked");
    let mut m = RendezvousMsg::new(kind, cookie, capability);
    let mut service_data = None;
    for t in tlvs(&block[26..]) {
        let t = t?;
        let v = t.value;
        match t.typ {
            tlv::REQUEST_NO => m.request_no = Some(u16v(v)?),
            tlv::REQUEST_HOST_CHECK => m.host_check = true,
            tlv::RENDEZVOUS_IP => m.rendezvous_ip = Some(ip(v)?),
            tlv::IP_CHECK => m.ip_check = Some(u32::from(ip(v)?)),
            tlv::CLIENT_IP => m.client_ip = Some(ip(v)?),
            tlv::VERIFIED_IP => m.verified_ip = Some(ip(v)?),
            tlv::PORT => m.port = Some(u16v(v)?),
            tlv::PORT_CHECK => m.port_check = Some(u16v(v)?),
            tlv::USE_PROXY => m.use_proxy = true,
            tlv::REQUEST_SECURE => m.request_secure = true,
            tlv::COUNTER_REASON => m.counter_reason = Some(u16v(v)?),
            tlv::CANCEL_REASON => m.cancel_reason = Some(u16v(v)?),
            tlv::SERVICE_DATA if capability == Capability::SEND_FILE => {
                if v.len() < 8 {
                    return Err(ParseError::Invalid("service data shorter than 8 bytes"));
                }
                service_data = Some(v);
            }
            tlv::SERVICE_CHARSET => m.charset = Some(crate::proto::lossy(v)),
            tlv::SIZE64 => {
                let v: [u8; 8] = v
                    .try_into()
                    .map_err(|_| ParseError::Invalid("64-bit size TLV is not 8 bytes"))?;
                m.size64 = Some(u64::from_be_bytes(v));
            }
            other => m.other.push((other, v.to_vec())),
        }
    }
    // The charset TLV comes after 0x2711, so the name is decoded once both are known.
    if let Some(v) = service_data {
        let name = FileName::from_field(charset_encoding(m.charset.as_deref()), &v[8..]);
        m.file = Some(ServiceData {
            kind: be16(v, 0),
            count: be16(v, 2),
            total_size: be32(v, 4),
            name: name.decoded(),
        });
    }
    Ok(m)
}
