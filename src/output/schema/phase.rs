//! The `phase` record: a transfer reached a phase, with the fields that phase carries.

use super::*;

/// The `phase` record's optional fields, in their documented order.
pub fn phase_detail(step: &Step) -> PhaseDetail {
    let mut d = PhaseDetail::default();
    match step {
        Step::TcpHandshake { client, server } => {
            d.client = Some(text::endpoint(client));
            d.server = Some(text::endpoint(server));
        }
        Step::ProxyInitSend {
            screen_name,
            cookie,
        } => {
            d.screen_name = Some(screen_name.clone());
            d.cookie = Some(text::cookie(cookie));
        }
        Step::ProxyInitRecv {
            screen_name,
            token,
            cookie,
        } => {
            d.screen_name = Some(screen_name.clone());
            d.token = Some(*token);
            d.cookie = Some(text::cookie(cookie));
        }
        Step::ProxyAck { token, proxy_ip } => {
            d.token = Some(*token);
            d.proxy_ip = Some(proxy_ip.to_string());
        }
        Step::ProxyReady | Step::DirectIm => {}
        Step::GetFile(g) => {
            d.name = Some(g.name.clone());
            d.size = Some(g.size);
            d.cookie = g.cookie.map(|c| text::cookie(&c));
        }
        Step::ProxyError { code } => d.error_code = Some(*code),
        Step::Prompt(p) => {
            d.name = Some(p.name.clone());
            d.size = Some(p.size);
            d.checksum = Some(text::checksum(p.checksum));
            d.files_total = Some(p.files_total);
            d.files_left = Some(p.files_left);
            d.cookie = p.cookie.map(|c| text::cookie(&c));
            d.client_id = Some(p.client_id.clone());
        }
        Step::Ack { cookie } => d.cookie = Some(text::cookie(cookie)),
        Step::Resume {
            offset,
            checksum,
            cookie,
        } => {
            d.offset = Some(*offset);
            d.checksum = Some(text::checksum(*checksum));
            d.cookie = Some(text::cookie(cookie));
        }
        Step::ResumeAccept { offset } | Step::DataStart { offset } => d.offset = Some(*offset),
        Step::ResumeAck { offset, cookie } => {
            d.cookie = Some(text::cookie(cookie));
            d.offset = Some(*offset);
        }
        Step::DataEnd { bytes } => d.bytes = Some(*bytes),
        Step::Done {
            bytes,
            checksum,
            files_left,
            cookie,
        } => {
            d.bytes = Some(*bytes);
            d.checksum = Some(text::checksum(*checksum));
            d.files_left = Some(*files_left);
            d.cookie = Some(text::cookie(cookie));
        }
        Step::Close { reason } => d.reason = Some(reason.as_str()),
    }
    d
}

/// `Arrow`'s `Display` text.
fn arrow(a: crate::session::phase::Arrow) -> ShortText {
    let mut t = ShortText::default();
    t.push_bytes(a.0.as_str().as_bytes());
    t.push_bytes(b"->");
    t.push_bytes(a.1.as_str().as_bytes());
    t
}

pub(super) fn phase_record(
    transfer: TransferId,
    conn: (crate::flow::Endpoint, crate::flow::Endpoint),
    leg: u32,
    p: &PhaseSeen,
) -> PhaseRecord {
    PhaseRecord {
        ts: p.at.ts.as_f64(),
        timestamp: iso8601(p.at.ts),
        transfer: text::transfer(transfer),
        phase: p.step.phase().as_str(),
        dir: arrow(p.arrow),
        frame: p.at.frame.0,
        conn: text::conn(&conn.0, &conn.1),
        leg,
        detail: phase_detail(&p.step),
    }
}

/// Fields a phase may carry; absent ones are left out of the JSON.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PhaseDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<ShortText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_total: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_left: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ShortText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<EndpointText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<EndpointText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// A transfer reached a phase.
pub(super) struct PhaseRecord {
    pub ts: f64,
    /// `ts` as ISO 8601 UTC with microseconds, for log shippers' `@timestamp`.
    pub timestamp: ShortText,
    pub transfer: ShortText,
    pub phase: &'static str,
    pub dir: ShortText,
    pub frame: u64,
    /// Which data connection of the transfer ("ip:port-ip:port", client first).
    pub conn: ConnText,
    /// 1-based number of that connection within the transfer (2 for a proxy's second leg).
    pub leg: u32,
    pub detail: PhaseDetail,
}

// Written by hand rather than derived with `#[serde(flatten)]` on `detail`: flatten turns
// the record into a map and costs about as much as everything else in it.
impl Serialize for PhaseRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("PhaseRecord", 8 + 16)?;
        m.serialize_field("ts", &self.ts)?;
        m.serialize_field("timestamp", &self.timestamp)?;
        m.serialize_field("transfer", &self.transfer)?;
        m.serialize_field("phase", self.phase)?;
        m.serialize_field("dir", &self.dir)?;
        m.serialize_field("frame", &self.frame)?;
        m.serialize_field("conn", &self.conn)?;
        m.serialize_field("leg", &self.leg)?;
        self.detail.serialize_fields(&mut m)?;
        m.end()
    }
}

impl PhaseDetail {
    /// The fields present, in the struct's order, into a record being written.
    fn serialize_fields<M: SerializeStruct>(&self, m: &mut M) -> Result<(), M::Error> {
        macro_rules! present {
            ($($f:ident),*) => {$(
                if let Some(v) = &self.$f {
                    m.serialize_field(stringify!($f), v)?;
                }
            )*};
        }
        present!(
            name,
            size,
            cookie,
            screen_name,
            token,
            proxy_ip,
            error_code,
            files_total,
            files_left,
            offset,
            checksum,
            bytes,
            client,
            server,
            client_id,
            reason
        );
        Ok(())
    }
}
