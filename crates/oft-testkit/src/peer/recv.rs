//! `oftpeer recv`: wait for a PROPOSE, reach the sender (direct, the sender's proxy session, or
//! a proxy session of our own — stage 2), send ACCEPT, and receive the files.

use super::ars;
use super::flap_conn::{FlapClient, Incoming};
use super::log::Log;
use super::net::{self, FrameReader};
use super::offers::{self, proxied};
use super::oft_recv::{self, FileStatus, RecvOptions};
use super::rv::normalize;
use super::{PeerError, Result};
use oftsniff::proto::{Capability, Cookie, RendezvousMsg, RvKind};
use std::net::{SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

/// Everything `oftpeer recv` takes.
#[derive(Clone, Debug)]
pub struct RecvArgs {
    pub bos: SocketAddr,
    pub screen_name: String,
    /// Only accept proposals from this screen name.
    pub from: Option<String>,
    pub opts: RecvOptions,
    /// Decline the direct offer and create a proxy session here (stage 2).
    pub proxy: Option<SocketAddr>,
    /// Port of the proxy named in a proxied proposal.
    pub ars_port: u16,
    /// Do not connect: listen here and send a redirect (request 2); port 0 picks one.
    pub redirect: Option<SocketAddr>,
    /// Answer the PROPOSE with a CANCEL (reason 1, declined) and stop.
    pub decline: bool,
    pub timeout: Duration,
}

pub fn run(args: &RecvArgs, log: &Log) -> Result<Vec<FileStatus>> {
    std::fs::create_dir_all(&args.opts.out)
        .map_err(|e| PeerError(format!("{}: {e}", args.opts.out.display())))?;
    let flap = FlapClient::sign_on(args.bos, &args.screen_name, args.timeout, log)?;
    let deadline = Instant::now() + args.timeout;
    let offer = flap.wait_for(deadline, |ev| {
        ev.rendezvous()
            .filter(|m| {
                m.kind == RvKind::Propose
                    && m.capability == Capability::SEND_FILE
                    && from_ok(args.from.as_deref(), m)
            })
            .map(|m| Ok(m.clone()))
    })?;
    let sender = offer
        .screen_name
        .clone()
        .ok_or_else(|| PeerError("PROPOSE without a sender".into()))?;
    let cookie = offer.cookie;
    let conn = if offer.use_proxy {
        join_senders_proxy(args, &flap, &offer, &sender, log)?
    } else if args.decline {
        flap.send(
            &RendezvousMsg::cancel(cookie, Capability::SEND_FILE, CANCEL_DECLINED).to_host(&sender),
        )?;
        log.step("declined the offer (CANCEL, reason 1)");
        std::thread::sleep(Duration::from_millis(100));
        flap.close();
        return Ok(Vec::new());
    } else if let Some(proxy) = args.proxy {
        stage2(args, &flap, &offer, &sender, proxy, log)?
    } else if let Some(listen) = args.redirect {
        redirect(args, &flap, &offer, &sender, listen, log)?
    } else {
        let c = offers::connect_to_offer(&offer, args.timeout, "sender", log)?;
        accept(&flap, cookie, &sender)?;
        c
    };
    let done = oft_recv::receive_files(conn, cookie, &args.opts, log)?;
    while let Some(Incoming::Icbm(_)) = flap.recv_timeout(Duration::from_millis(100)) {}
    flap.close();
    Ok(done)
}

fn from_ok(from: Option<&str>, m: &RendezvousMsg) -> bool {
    match (from, m.screen_name.as_deref()) {
        (None, _) => true,
        (Some(want), Some(got)) => normalize(want) == normalize(got),
        (Some(_), None) => false,
    }
}

fn accept(flap: &FlapClient, cookie: Cookie, sender: &str) -> Result<()> {
    flap.send(&RendezvousMsg::accept(cookie, Capability::SEND_FILE).to_host(sender))
}

/// Cancel reason "user cancelled / declined" (§3.8).
pub const CANCEL_DECLINED: u16 = 1;

/// Redirect (§3.3): listen ourselves and propose that with the next request number and the
/// same cookie; the sender connects and sends the PROMPT as the TCP initiator.
fn redirect(
    args: &RecvArgs,
    flap: &FlapClient,
    offer: &RendezvousMsg,
    sender: &str,
    listen: SocketAddr,
    log: &Log,
) -> Result<FrameReader> {
    let want = match listen {
        SocketAddr::V4(a) if a.ip().is_unspecified() => {
            SocketAddr::V4(SocketAddrV4::new(flap.local_ip(), a.port()))
        }
        other => other,
    };
    let listener = net::listen(want).map_err(|e| PeerError(format!("listen on {want}: {e}")))?;
    let bound = listener.local_addr()?;
    let ip = match bound.ip() {
        std::net::IpAddr::V4(ip) => ip,
        std::net::IpAddr::V6(_) => flap.local_ip(),
    };
    log.step(format_args!(
        "not connecting: redirecting the sender to {bound}"
    ));
    let request_no = offer.request_no.unwrap_or(1).saturating_add(1);
    let mut m = offers::listening(
        RendezvousMsg::propose(offer.cookie, Capability::SEND_FILE, request_no).to_host(sender),
        ip,
        bound.port(),
    );
    m.host_ack_requested = true;
    flap.send(&m)?;
    let deadline = Instant::now() + args.timeout;
    match net::accept_or(&listener, deadline, || Ok(None::<std::convert::Infallible>))? {
        net::Accepted::Conn(s, peer) => {
            log.step(format_args!("sender connected from {peer}"));
            Ok(FrameReader::new(s))
        }
        net::Accepted::Other(never) => match never {},
    }
}

/// Stage 1 (or any proxied proposal): join the session named by 0x0002/0x0005.
fn join_senders_proxy(
    args: &RecvArgs,
    flap: &FlapClient,
    offer: &RendezvousMsg,
    sender: &str,
    log: &Log,
) -> Result<FrameReader> {
    let ip = offer
        .proxy_ip()
        .ok_or_else(|| PeerError("proxied PROPOSE without a proxy IP (0x0002)".into()))?;
    let token = offer
        .proxy_token()
        .ok_or_else(|| PeerError("proxied PROPOSE without a token (0x0005)".into()))?;
    let proxy = SocketAddr::V4(SocketAddrV4::new(ip, args.ars_port));
    let conn = ars::join(
        proxy,
        &args.screen_name,
        token,
        offer.cookie,
        args.timeout,
        log,
    )?;
    accept(flap, offer.cookie, sender)?;
    Ok(conn)
}

/// Stage 2: decline the direct offer by proposing our own proxy session with the next request
/// number (no service data, as libpurple does), then wait for the sender to join.
fn stage2(
    args: &RecvArgs,
    flap: &FlapClient,
    offer: &RendezvousMsg,
    sender: &str,
    proxy: SocketAddr,
    log: &Log,
) -> Result<FrameReader> {
    log.step("not connecting directly: creating a proxy session (stage 2)");
    let mut created = ars::create(proxy, &args.screen_name, offer.cookie, args.timeout, log)?;
    let request_no = offer.request_no.unwrap_or(1).saturating_add(1);
    let mut m = proxied(
        RendezvousMsg::propose(offer.cookie, Capability::SEND_FILE, request_no).to_host(sender),
        created.proxy_ip,
        created.token,
    );
    m.host_ack_requested = true;
    flap.send(&m)?;
    ars::wait_ready(&mut created.conn, log)?;
    accept(flap, offer.cookie, sender)?;
    Ok(created.conn)
}
