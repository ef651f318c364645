//! An ARS rendezvous proxy (§4): INIT_SEND → ACK(token, ip); a matching INIT_RECV → READY to
//! both; then bytes are relayed both ways until either side closes, a FIN passed on as a FIN and
//! a reset as a reset.

use super::log::Log;
use super::net::{self, FrameReader};
use super::{random_u16, Result, DEFAULT_TIMEOUT};
use oftsniff::proto::{parse_proxy_frame, Cookie, ProxyBody, ProxyFrame};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Error codes the proxy sends (§4.3).
pub mod error_code {
    pub const BAD_REQUEST: u16 = 0x000D;
    pub const MALFORMED: u16 = 0x000E;
    pub const ACCEPT_TIMEOUT: u16 = 0x001A;
}

/// Most sessions waiting for their joiner at once; more are refused.
pub const MAX_PENDING: usize = 256;

/// Proxy settings.
#[derive(Clone, Debug)]
pub struct ProxyOptions {
    pub listen: SocketAddr,
    /// IP put in ACKs; default: the local address the creator connected to.
    pub advertise: Option<Ipv4Addr>,
    /// How long a created session waits for its joiner.
    pub accept_period: Duration,
    /// Exit after relaying this many sessions (default: run until killed).
    pub sessions: Option<usize>,
}

/// A created session waiting for its joiner.
struct Pending {
    creator: FrameReader,
    /// Tells the creator's thread the session was taken.
    taken: mpsc::Sender<()>,
}

type Sessions = Arc<Mutex<HashMap<(Cookie, u16), Pending>>>;

/// Runs the proxy until `sessions` relays have finished (or for ever).
pub fn run(opts: &ProxyOptions, log: &Log) -> Result<()> {
    serve_on(TcpListener::bind(opts.listen)?, opts, log)
}

/// Runs the proxy on a bound listener (`opts.listen` is not used).
pub fn serve_on(listener: TcpListener, opts: &ProxyOptions, log: &Log) -> Result<()> {
    log.step(format_args!("listening on {}", listener.local_addr()?));
    let sessions: Sessions = Arc::new(Mutex::new(HashMap::new()));
    let (relayed_tx, relayed_rx) = mpsc::channel::<()>();
    let acceptor = {
        let log = log.clone();
        let opts = opts.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let s = match conn {
                    Ok(s) => s,
                    Err(e) => {
                        log.step(format_args!("accept failed: {e}"));
                        continue;
                    }
                };
                let log = match s.peer_addr() {
                    Ok(peer) => log.child(peer),
                    Err(_) => log.clone(),
                };
                let sessions = sessions.clone();
                let opts = opts.clone();
                let relayed = relayed_tx.clone();
                thread::spawn(move || match serve(s, &opts, &sessions, &log) {
                    Ok(true) => {
                        let _ = relayed.send(());
                    }
                    Ok(false) => {}
                    Err(e) => log.step(format_args!("error: {e}")),
                });
            }
        })
    };
    match opts.sessions {
        None => {
            let _ = acceptor.join();
        }
        Some(limit) => {
            for _ in 0..limit {
                let _ = relayed_rx.recv();
            }
            log.step(format_args!("{limit} session(s) relayed; exiting"));
        }
    }
    Ok(())
}

/// Handles one client connection; true when it was the joiner of a session that got relayed.
fn serve(s: TcpStream, opts: &ProxyOptions, sessions: &Sessions, log: &Log) -> Result<bool> {
    net::prepare(&s, DEFAULT_TIMEOUT)?;
    let local = s.local_addr()?;
    let mut conn = FrameReader::new(s);
    let frame = match conn.read_frame(parse_proxy_frame) {
        Ok(f) => f,
        Err(e) => {
            let _ = conn.write_all(&ProxyFrame::error(error_code::MALFORMED).emit());
            log.step(format_args!("bad first frame ({e}): ERROR 0x000e"));
            return Ok(false);
        }
    };
    match frame.body {
        ProxyBody::InitSend {
            screen_name,
            cookie,
            ..
        } => {
            let ip = opts.advertise.unwrap_or(match local.ip() {
                IpAddr::V4(v4) => v4,
                IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            });
            let who = Creator {
                screen_name: &screen_name,
                cookie,
                ip,
            };
            create_session(conn, who, opts.accept_period, sessions, log)?;
            Ok(false)
        }
        ProxyBody::InitRecv {
            screen_name,
            token,
            cookie,
            ..
        } => join_session(conn, &screen_name, (cookie, token), sessions, log),
        other => {
            conn.write_all(&ProxyFrame::error(error_code::BAD_REQUEST).emit())?;
            log.step(format_args!(
                "unexpected first frame {:?}: ERROR 0x000d",
                ProxyFrame {
                    unknown: frame.unknown,
                    flags: frame.flags,
                    body: other
                }
                .command()
            ));
            Ok(false)
        }
    }
}

/// Who sent an INIT_SEND, and the address to give out in the ACK.
struct Creator<'a> {
    screen_name: &'a str,
    cookie: Cookie,
    ip: Ipv4Addr,
}

/// INIT_SEND: a new session under a fresh token, ACKed to the creator, who then waits for
/// its joiner (ERROR 0x001A when none comes within `accept_period`).
fn create_session(
    mut conn: FrameReader,
    who: Creator,
    accept_period: Duration,
    sessions: &Sessions,
    log: &Log,
) -> Result<()> {
    let (cookie, ip) = (who.cookie, who.ip);
    let (taken_tx, taken_rx) = mpsc::channel();
    let token = {
        let mut map = sessions.lock().expect("session table lock");
        if map.len() >= MAX_PENDING {
            drop(map);
            conn.write_all(&ProxyFrame::error(error_code::BAD_REQUEST).emit())?;
            log.step("too many pending sessions: ERROR 0x000d");
            return Ok(());
        }
        let mut token = random_u16().max(1);
        while map.contains_key(&(cookie, token)) {
            token = token.wrapping_add(1).max(1);
        }
        conn.write_all(&ProxyFrame::ack(token, ip).emit())?;
        let pending = Pending {
            creator: conn,
            taken: taken_tx,
        };
        map.insert((cookie, token), pending);
        token
    };
    log.step(format_args!(
        "INIT_SEND from {} cookie {cookie}: ACK token {token:#06x} ip {ip}",
        who.screen_name
    ));
    if taken_rx.recv_timeout(accept_period).is_err() {
        let pending = sessions
            .lock()
            .expect("session table lock")
            .remove(&(cookie, token));
        if let Some(mut p) = pending {
            let _ = p
                .creator
                .write_all(&ProxyFrame::error(error_code::ACCEPT_TIMEOUT).emit());
            log.step(format_args!(
                "nobody joined token {token:#06x}: ERROR 0x001a"
            ));
        }
    }
    Ok(())
}

/// INIT_RECV: READY to both ends of the session it names, then relay until both close.
fn join_session(
    mut conn: FrameReader,
    screen_name: &str,
    (cookie, token): (Cookie, u16),
    sessions: &Sessions,
    log: &Log,
) -> Result<bool> {
    let pending = sessions
        .lock()
        .expect("session table lock")
        .remove(&(cookie, token));
    let Some(pending) = pending else {
        conn.write_all(&ProxyFrame::error(error_code::BAD_REQUEST).emit())?;
        log.step(format_args!(
            "INIT_RECV from {screen_name}: no session for cookie {cookie} token {token:#06x}: ERROR 0x000d"
        ));
        return Ok(false);
    };
    let _ = pending.taken.send(());
    let mut creator = pending.creator;
    let ready = ProxyFrame::ready().emit();
    creator.write_all(&ready)?;
    conn.write_all(&ready)?;
    log.step(format_args!(
        "INIT_RECV from {screen_name} token {token:#06x} cookie {cookie}: READY to both, relaying"
    ));
    let (a, b) = relay(creator, conn)?;
    log.step(format_args!(
        "relay done: {a} bytes creator→joiner, {b} bytes joiner→creator"
    ));
    Ok(true)
}

/// Copies bytes both ways until both directions have ended; returns the byte counts.
fn relay(a: FrameReader, b: FrameReader) -> Result<(u64, u64)> {
    let (a, a_left) = a.into_parts();
    let (b, b_left) = b.into_parts();
    // Relayed data may pause for long (a user deciding); only the peers' own timeouts apply.
    a.set_read_timeout(None)?;
    b.set_read_timeout(None)?;
    let a2 = a.try_clone()?;
    let b2 = b.try_clone()?;
    let t = thread::spawn(move || pump(a_left, a, b));
    let back = pump(b_left, b2, a2);
    let fwd = t.join().unwrap_or(0);
    Ok((fwd, back))
}

/// One direction: `from` → `to`. End of stream becomes a FIN on `to`; a reset (or any read
/// error) arms `to` to reset on its last close and stops its other direction.
fn pump(leftover: Vec<u8>, mut from: TcpStream, mut to: TcpStream) -> u64 {
    let mut n = 0u64;
    if !leftover.is_empty() {
        if to.write_all(&leftover).is_err() {
            return 0;
        }
        n += leftover.len() as u64;
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) => {
                net::finish(&to);
                return n;
            }
            Ok(k) => {
                if to.write_all(&buf[..k]).is_err() {
                    // The other side is gone: make our source see it too.
                    net::arm_reset(&from);
                    let _ = from.shutdown(std::net::Shutdown::Read);
                    return n;
                }
                n += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                net::arm_reset(&to);
                // Unblocks the thread reading `to` without putting anything on the wire.
                let _ = to.shutdown(std::net::Shutdown::Read);
                return n;
            }
        }
    }
}
