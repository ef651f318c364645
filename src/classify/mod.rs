//! The classify stage: name what a stream direction carries from its first bytes, on any
//! port, and find OFT2 headers in
//! connections picked up midstream. Only cheap probes from `proto` run here; full parsing
//! is the session stage's job. `Classifier` holds a connection's state until it is named.

mod classifier;
pub mod pickup;

pub use classifier::{Classifier, Found, Verdict};

use crate::proto::{self, oft, Probe};

/// What the first bytes of a stream direction are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Classification {
    /// An OFT2 header (rule 1): a file-transfer data connection.
    Oft,
    /// A proxy INIT_SEND or INIT_RECV (rule 2): a client's leg to the ARS proxy.
    ProxyClient,
    /// A proxy ACK, READY or ERROR (rule 2): the proxy's side of a leg.
    ProxyServer,
    /// FLAP (rule 4): an OSCAR server connection carrying the negotiation.
    Flap,
    /// An ODC2 header (rule 3): Direct IM.
    Odc,
    /// Every probe still fits; wait for more bytes (at most [`MAX_CLASSIFY_BYTES`]).
    NeedMore,
    /// None of these protocols.
    Other,
}

impl Classification {
    pub fn name(self) -> &'static str {
        match self {
            Classification::Oft => "oft",
            Classification::ProxyClient => "proxy_client",
            Classification::ProxyServer => "proxy_server",
            Classification::Flap => "flap",
            Classification::Odc => "odc",
            Classification::NeedMore => "need_more",
            Classification::Other => "other",
        }
    }
}

/// No probe looks further than this, so a direction that has this many bytes always gets
/// a definite answer (the proxy INIT probe reads the screen-name length at offset 12).
pub const MAX_CLASSIFY_BYTES: usize = 13;

type ProbeFn = fn(&[u8]) -> Probe;

/// Classify a stream direction from its first bytes (pass what has arrived so far, from
/// the direction's first byte).
pub fn classify_direction(first_bytes: &[u8]) -> Classification {
    let probes: [(ProbeFn, Classification); 5] = [
        (proto::probe_oft, Classification::Oft),
        (proto::probe_proxy_client, Classification::ProxyClient),
        (proto::probe_proxy_server, Classification::ProxyServer),
        (proto::probe_odc, Classification::Odc),
        (proto::probe_flap, Classification::Flap),
    ];
    let mut undecided = false;
    for (probe, class) in probes {
        match probe(first_bytes) {
            Probe::Match => return class,
            Probe::NeedMore => undecided = true,
            Probe::NoMatch => {}
        }
    }
    if undecided {
        Classification::NeedMore
    } else {
        Classification::Other
    }
}

/// Offset of the first plausible OFT2 header in `buf` (for connections picked up
/// midstream): the magic, a length in 192..=2048 and a known type (Appendix A), zero
/// encryption and compression fields (no scheme for either exists, §1.2) when those bytes
/// are present, and a clean parse when the whole header is present. A header cut off by
/// the end of `buf` is found once more bytes are added.
pub fn find_oft_header(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = buf.get(from..)?.iter().position(|&b| b == oft::MAGIC[0]) {
        let at = from + rel;
        if plausible_oft_at(&buf[at..]) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn plausible_oft_at(b: &[u8]) -> bool {
    if b.len() < 20 || proto::probe_oft(b) != Probe::Match {
        return false;
    }
    if b[16..20] != [0, 0, 0, 0] {
        return false;
    }
    match proto::parse_oft_header(b) {
        Ok(_) | Err(proto::ParseError::Incomplete { .. }) => true,
        Err(proto::ParseError::Invalid(_)) => false,
    }
}

#[cfg(test)]
mod tests;
