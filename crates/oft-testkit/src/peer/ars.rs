//! Client side of the ARS rendezvous proxy (§4): create a session (INIT_SEND → ACK) or join one
//! (INIT_RECV), then wait for READY, after which the stream carries OFT2.

use super::log::Log;
use super::net::{self, FrameReader};
use super::{Context, PeerError, Result};
use oftsniff::proto::{parse_proxy_frame, Capability, Cookie, ProxyBody, ProxyFrame};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// A session this client created: the connection (waiting for READY) and what to advertise.
pub struct Created {
    pub conn: FrameReader,
    pub token: u16,
    pub proxy_ip: Ipv4Addr,
}

/// The creator's INIT_SEND for a file transfer.
pub fn init_send(screen_name: &str, cookie: Cookie) -> ProxyFrame {
    ProxyFrame::init_send(screen_name, cookie, Capability::SEND_FILE)
}

/// The joiner's INIT_RECV for a file transfer.
pub fn init_recv(screen_name: &str, token: u16, cookie: Cookie) -> ProxyFrame {
    ProxyFrame::init_recv(screen_name, token, cookie, Capability::SEND_FILE)
}

/// Connects to the proxy and creates a session: INIT_SEND, then the proxy's ACK.
pub fn create(
    proxy: SocketAddr,
    screen_name: &str,
    cookie: Cookie,
    timeout: Duration,
    log: &Log,
) -> Result<Created> {
    let s = net::connect_server(proxy, timeout).context(format_args!("proxy {proxy}"))?;
    let mut conn = FrameReader::new(s);
    conn.write_all(&init_send(screen_name, cookie).emit())?;
    log.step(format_args!(
        "proxy {proxy}: INIT_SEND as {screen_name} cookie {cookie}"
    ));
    match read(&mut conn)?.body {
        ProxyBody::Ack { token, ip } => {
            log.step(format_args!("proxy ACK: token {token:#06x}, proxy ip {ip}"));
            Ok(Created {
                conn,
                token,
                proxy_ip: ip,
            })
        }
        ProxyBody::Error { code } => Err(PeerError(format!("proxy ERROR {code:#06x}"))),
        other => Err(PeerError(format!("expected proxy ACK, got {other:?}"))),
    }
}

/// Connects to the proxy and joins the session `token`: INIT_RECV, then READY.
pub fn join(
    proxy: SocketAddr,
    screen_name: &str,
    token: u16,
    cookie: Cookie,
    timeout: Duration,
    log: &Log,
) -> Result<FrameReader> {
    let s = net::connect_server(proxy, timeout).context(format_args!("proxy {proxy}"))?;
    let mut conn = FrameReader::new(s);
    conn.write_all(&init_recv(screen_name, token, cookie).emit())?;
    log.step(format_args!(
        "proxy {proxy}: INIT_RECV as {screen_name} token {token:#06x} cookie {cookie}"
    ));
    wait_ready(&mut conn, log)?;
    Ok(conn)
}

/// Waits for READY (an ERROR ends the attempt).
pub fn wait_ready(conn: &mut FrameReader, log: &Log) -> Result<()> {
    match read(conn)?.body {
        ProxyBody::Ready => {
            log.step("proxy READY");
            Ok(())
        }
        ProxyBody::Error { code } => Err(PeerError(format!("proxy ERROR {code:#06x}"))),
        other => Err(PeerError(format!("expected proxy READY, got {other:?}"))),
    }
}

fn read(conn: &mut FrameReader) -> Result<ProxyFrame> {
    conn.read_frame(parse_proxy_frame).context("proxy")
}
