//! Building and following the connection part of rendezvous offers (§5.3, §5.6): where a
//! direct or redirected offer listens, and where a proxied one points.

use super::log::Log;
use super::net::{self, FrameReader};
use super::{PeerError, Result};
use oftsniff::proto::RendezvousMsg;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

/// A proposal pointing at a proxy session: 0x0002 = proxy IP, 0x0005 = token, their
/// complements, 0x0010 — and, as libpurple does (Appendix B), the proxy IP in 0x0003 too.
pub fn proxied(base: RendezvousMsg, proxy_ip: Ipv4Addr, token: u16) -> RendezvousMsg {
    let mut m = base.via_proxy(proxy_ip, token);
    m.client_ip = Some(proxy_ip);
    m
}

/// A direct (or redirected) offer: we listen at `ip:port`. 0x0002 and 0x0003 both carry our
/// address (libpurple), the server adds 0x0004.
pub fn listening(base: RendezvousMsg, ip: Ipv4Addr, port: u16) -> RendezvousMsg {
    RendezvousMsg {
        rendezvous_ip: Some(ip),
        client_ip: Some(ip),
        port: Some(port),
        ..base
    }
}

/// Connects to the party that made a direct or redirected offer: the server-verified IP
/// (0x0004) first, then the proposer's own (0x0003), then 0x0002 — as Pidgin tries them.
pub fn connect_to_offer(
    offer: &RendezvousMsg,
    timeout: Duration,
    whom: &str,
    log: &Log,
) -> Result<FrameReader> {
    let port = offer
        .port
        .ok_or_else(|| PeerError("direct PROPOSE without a port (0x0005)".into()))?;
    let mut tried: Vec<Ipv4Addr> = Vec::new();
    for ip in [offer.verified_ip, offer.client_ip, offer.rendezvous_ip]
        .into_iter()
        .flatten()
    {
        if tried.contains(&ip) {
            continue;
        }
        tried.push(ip);
        let addr = SocketAddr::V4(SocketAddrV4::new(ip, port));
        match net::connect(addr, Duration::from_secs(5).min(timeout)) {
            Ok(s) => {
                log.step(format_args!("connected to the {whom} at {addr}"));
                return Ok(FrameReader::new(s));
            }
            Err(e) => log.step(format_args!("connect {addr} failed: {e}")),
        }
    }
    Err(PeerError(format!(
        "could not reach the {whom} on port {port} at {tried:?}"
    )))
}
