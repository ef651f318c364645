//! `oftpeer send`: propose a transfer over FLAP and send the files, directly (the receiver
//! connects to our listener), through a proxy session we create (stage 1), or through one the
//! receiver creates when it declines the direct offer (stage 2).

use super::ars;
use super::files::{self, Offer};
use super::flap_conn::{FlapClient, Incoming};
use super::log::Log;
use super::net::{self, Accepted, FrameReader};
use super::oft_send::{self, SendOptions, SendOutcome};
use super::{offers, random_cookie, PeerError, Result, OSCAR_PORT};
use oftsniff::proto::{Capability, Cookie, RendezvousMsg, RvKind, ServiceData};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Everything `oftpeer send` takes.
#[derive(Clone, Debug)]
pub struct SendArgs {
    pub bos: SocketAddr,
    pub screen_name: String,
    pub to: String,
    pub files: Vec<PathBuf>,
    pub folder: Option<String>,
    pub utf16_names: bool,
    /// Listen here for the receiver (default: our BOS-side address, `data_port`).
    pub listen: Option<SocketAddr>,
    /// Create a proxy session here instead of listening (stage 1).
    pub proxy: Option<SocketAddr>,
    pub data_port: u16,
    /// Port of the proxy named in a receiver's stage-2 proposal.
    pub ars_port: u16,
    pub cookie: Option<Cookie>,
    pub abort_after: Option<u64>,
    pub rate: Option<u64>,
    pub timeout: Duration,
}

pub fn run(args: &SendArgs, log: &Log) -> Result<SendOutcome> {
    let offer = files::plan(&args.files, args.folder.as_deref(), args.utf16_names)?;
    log.step(format_args!(
        "offering {} file(s), {} bytes, as {:?}",
        offer.files.len(),
        offer.total_size,
        offer.service_name
    ));
    let flap = FlapClient::sign_on(args.bos, &args.screen_name, args.timeout, log)?;
    let cookie = args.cookie.unwrap_or_else(random_cookie);
    let base = proposal(&offer, cookie, &args.to, args.utf16_names);
    let opts = SendOptions {
        abort_after: args.abort_after,
        rate: args.rate,
    };
    let conn = match args.proxy {
        Some(proxy) => stage1(args, &flap, proxy, base, cookie, log)?,
        None => direct(args, &flap, base, cookie, log)?,
    };
    let outcome = oft_send::send_files(conn, cookie, &offer, opts, log)?;
    // Let a late ACCEPT or CANCEL show in the log before signing off.
    while let Some(Incoming::Icbm(_)) = flap.recv_timeout(Duration::from_millis(100)) {}
    flap.close();
    Ok(outcome)
}

/// The request-1 PROPOSE with the file's service data; connection TLVs are added per case.
pub fn proposal(offer: &Offer, cookie: Cookie, to: &str, utf16: bool) -> RendezvousMsg {
    let mut m = RendezvousMsg::propose(cookie, Capability::SEND_FILE, 1).to_host(to);
    m.host_check = true;
    m.host_ack_requested = true;
    m.file = Some(ServiceData {
        kind: if offer.multiple {
            ServiceData::MULTIPLE_FILES
        } else {
            ServiceData::SINGLE_FILE
        },
        count: offer.files.len() as u16,
        total_size: offer.total_size,
        name: offer.service_name.clone(),
    });
    if utf16 {
        m.charset = Some("unicode-2-0".into());
    }
    m
}

/// Stage 1: create the proxy session, propose it, wait for READY.
fn stage1(
    args: &SendArgs,
    flap: &FlapClient,
    proxy: SocketAddr,
    base: RendezvousMsg,
    cookie: Cookie,
    log: &Log,
) -> Result<FrameReader> {
    let mut created = ars::create(proxy, &args.screen_name, cookie, args.timeout, log)?;
    flap.send(&offers::proxied(base, created.proxy_ip, created.token))?;
    ars::wait_ready(&mut created.conn, log)?;
    // Both parties of a proxied transfer send an ACCEPT after READY (Appendix B).
    flap.send(&RendezvousMsg::accept(cookie, Capability::SEND_FILE).to_host(&args.to))?;
    Ok(created.conn)
}

/// Direct: listen, propose, then the receiver connects, redirects (its own listener, request 2:
/// we connect), or proposes its own proxy session (stage 2: we join).
fn direct(
    args: &SendArgs,
    flap: &FlapClient,
    base: RendezvousMsg,
    cookie: Cookie,
    log: &Log,
) -> Result<FrameReader> {
    let want = args.listen.unwrap_or(SocketAddr::V4(SocketAddrV4::new(
        flap.local_ip(),
        args.data_port,
    )));
    let listener = net::listen(want).map_err(|e| PeerError(format!("listen on {want}: {e}")))?;
    let bound = listener.local_addr()?;
    let own_ip = match bound.ip() {
        IpAddr::V4(ip) if !ip.is_unspecified() => ip,
        _ => flap.local_ip(),
    };
    log.step(format_args!("listening on {bound}"));
    let mut m = offers::listening(base, own_ip, bound.port());
    m.ip_check = Some(!u32::from(own_ip));
    m.port_check = Some(!bound.port());
    flap.send(&m)?;
    let deadline = Instant::now() + args.timeout;
    let got = net::accept_or(&listener, deadline, || {
        let ev = flap.try_recv();
        if let Some(Incoming::Closed(why)) = &ev {
            return Err(PeerError(format!("BOS connection closed: {why}")));
        }
        match ev.as_ref().and_then(Incoming::rendezvous) {
            Some(r) if r.cookie == cookie => match r.kind {
                RvKind::Propose if r.request_no.unwrap_or(1) >= 2 => Ok(Some(r.clone())),
                RvKind::Cancel => Err(PeerError(format!(
                    "receiver cancelled (reason {:?})",
                    r.cancel_reason
                ))),
                _ => Ok(None),
            },
            _ => Ok(None),
        }
    })?;
    match got {
        Accepted::Conn(s, peer) => {
            log.step(format_args!("receiver connected from {peer}"));
            Ok(FrameReader::new(s))
        }
        Accepted::Other(r) if !r.use_proxy => {
            drop(listener);
            log.step(format_args!(
                "receiver redirects (req {:?}): connecting to it",
                r.request_no
            ));
            let conn = offers::connect_to_offer(&r, args.timeout, "receiver", log)?;
            // Pidgin's sender also confirms a redirect on BOS once connected (§3.3).
            flap.send(&RendezvousMsg::accept(cookie, Capability::SEND_FILE).to_host(&args.to))?;
            Ok(conn)
        }
        Accepted::Other(r) => {
            drop(listener);
            let ip = r.proxy_ip().unwrap_or(Ipv4Addr::UNSPECIFIED);
            let token = r.proxy_token().unwrap_or(0);
            log.step(format_args!(
                "receiver proposes its proxy session (req {:?}): joining {ip} token {token:#06x}",
                r.request_no
            ));
            let proxy = SocketAddr::V4(SocketAddrV4::new(ip, args.ars_port));
            let conn = ars::join(proxy, &args.screen_name, token, cookie, args.timeout, log)?;
            flap.send(&RendezvousMsg::accept(cookie, Capability::SEND_FILE).to_host(&args.to))?;
            Ok(conn)
        }
    }
}

/// Default port for `--ars-port`.
pub const DEFAULT_ARS_PORT: u16 = OSCAR_PORT;
