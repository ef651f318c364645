//! A minimal stand-in for the OSCAR (BOS) server: it signs clients on (see [`super::rv`] for the
//! sign-on frame) and relays channel-2 rendezvous ICBMs between them — SNAC(4,6) in, SNAC(4,7)
//! out, as AOL did: the sender's screen name and user-info TLVs in front, the cookie kept, and
//! TLV 0x0004 (the proposer's IP as the server sees it) added to PROPOSEs. A 4/6 that asks for a
//! host ack (outer TLV 0x0003) gets a SNAC(4,0x0C); client errors (4/0B) are relayed too.

use super::log::Log;
use super::net::{self, FrameReader};
use super::rv::{self, OwnedFlap};
use super::{random_u16, PeerError, Result, DEFAULT_TIMEOUT};
use oftsniff::proto::flap::{channel, FlapFrame};
use oftsniff::proto::rendezvous::{CHANNEL_RENDEZVOUS, SUBTYPE_TO_HOST};
use oftsniff::proto::{parse_icbm, ClientError, HostAck, IcbmEvent, RendezvousMsg, RvKind};
use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

/// SNACs held for a recipient that has not signed on yet; older ones are dropped beyond this.
pub const MAX_QUEUED: usize = 64;

/// User class "free" (0x0010), as in §8.5.
const USER_CLASS: u16 = 0x0010;

struct Client {
    stream: TcpStream,
    seq: u16,
}

impl Client {
    fn send_snac(&mut self, snac: &[u8]) -> std::io::Result<()> {
        let frame = FlapFrame {
            channel: channel::SNAC,
            seq: self.seq,
            data: snac,
        }
        .emit();
        self.seq = self.seq.wrapping_add(1);
        self.stream.write_all(&frame)
    }
}

#[derive(Default)]
struct Directory {
    online: HashMap<String, Arc<Mutex<Client>>>,
    /// SNAC bodies waiting for their recipient to sign on.
    queued: HashMap<String, Vec<Vec<u8>>>,
}

type Shared = Arc<Mutex<Directory>>;

/// Runs the relay for ever (until killed).
pub fn run(listen: SocketAddr, log: &Log) -> Result<()> {
    serve_on(TcpListener::bind(listen)?, log)
}

/// Runs the relay on a bound listener.
pub fn serve_on(listener: TcpListener, log: &Log) -> Result<()> {
    log.step(format_args!("listening on {}", listener.local_addr()?));
    let dir: Shared = Arc::default();
    for conn in listener.incoming() {
        let s = match conn {
            Ok(s) => s,
            Err(e) => {
                log.step(format_args!("accept failed: {e}"));
                continue;
            }
        };
        let dir = dir.clone();
        let log = match s.peer_addr() {
            Ok(p) => log.child(p),
            Err(_) => log.clone(),
        };
        thread::spawn(move || {
            if let Err(e) = serve(s, &dir, &log) {
                log.step(format_args!("closed: {e}"));
            }
        });
    }
    Ok(())
}

fn serve(s: TcpStream, dir: &Shared, log: &Log) -> Result<()> {
    net::prepare(&s, DEFAULT_TIMEOUT)?;
    let peer_ip = match s.peer_addr()?.ip() {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    };
    let mut seq = random_u16();
    let writer = s.try_clone()?;
    let mut conn = FrameReader::new(s);
    conn.write_all(&rv::hello(seq))?;
    seq = seq.wrapping_add(1);
    let first = conn.read_frame(rv::parse_owned_flap)?;
    let sn = (first.channel == channel::NEW_CONNECTION)
        .then(|| rv::parse_sign_on(&first.data))
        .flatten()
        .ok_or_else(|| PeerError("first frame is not a sign-on".into()))?;
    let key = rv::normalize(&sn);
    let client = Arc::new(Mutex::new(Client {
        stream: writer,
        seq,
    }));
    let queued = {
        let mut d = dir.lock().expect("directory lock");
        d.online.insert(key.clone(), client.clone());
        d.queued.remove(&key).unwrap_or_default()
    };
    log.step(format_args!("{sn} signed on from {peer_ip}"));
    for snac in queued {
        client
            .lock()
            .expect("client lock")
            .send_snac(&snac)
            .map_err(|e| PeerError(format!("delivering to {sn}: {e}")))?;
        log.step(format_args!("delivered a queued message to {sn}"));
    }
    // Clients sit idle for as long as a transfer takes.
    conn.stream().set_read_timeout(None)?;
    let result = relay_loop(&mut conn, &sn, peer_ip, &client, dir, log);
    let mut d = dir.lock().expect("directory lock");
    if d.online.get(&key).is_some_and(|c| Arc::ptr_eq(c, &client)) {
        d.online.remove(&key);
    }
    log.step(format_args!("{sn} signed off"));
    result
}

fn relay_loop(
    conn: &mut FrameReader,
    sn: &str,
    peer_ip: Ipv4Addr,
    client: &Arc<Mutex<Client>>,
    dir: &Shared,
    log: &Log,
) -> Result<()> {
    loop {
        let f: OwnedFlap = match conn.read_frame(rv::parse_owned_flap) {
            Ok(f) => f,
            Err(e) if e.0 == "connection closed" => return Ok(()),
            Err(e) => return Err(e),
        };
        match f.channel {
            channel::SNAC => {}
            channel::CLOSE => return Ok(()),
            _ => continue,
        }
        let ev = match parse_icbm(&f.data) {
            Ok(Some(ev)) => ev,
            Ok(None) => continue,
            Err(e) => {
                log.step(format_args!("ignoring undecodable SNAC from {sn}: {e}"));
                continue;
            }
        };
        match ev {
            IcbmEvent::Rendezvous(msg) if msg.snac.1 == SUBTYPE_TO_HOST => {
                let Some(to) = msg.screen_name.clone() else {
                    continue;
                };
                if msg.host_ack_requested {
                    let ack = HostAck {
                        cookie: msg.cookie,
                        channel: CHANNEL_RENDEZVOUS,
                        screen_name: to.clone(),
                    };
                    let _ = client
                        .lock()
                        .expect("client lock")
                        .send_snac(&ack.emit_snac(0));
                }
                let out = as_delivered(msg, sn, peer_ip, user_info());
                log.step(format_args!(
                    "relay {} {sn} -> {to} cookie {}{}",
                    out.kind.name().to_uppercase(),
                    out.cookie,
                    if out.kind == RvKind::Propose {
                        format!(" (+0x0004={peer_ip})")
                    } else {
                        String::new()
                    }
                ));
                deliver(dir, &to, out.emit_snac(0), log);
            }
            IcbmEvent::ClientError(e) => {
                let to = e.screen_name.clone();
                let out = ClientError {
                    screen_name: sn.to_owned(),
                    ..e
                };
                log.step(format_args!(
                    "relay client error {sn} -> {to} cookie {}",
                    out.cookie
                ));
                deliver(dir, &to, out.emit_snac(0), log);
            }
            _ => {}
        }
    }
}

/// A client's SNAC(4,6) message turned into the SNAC(4,7) its recipient gets: the sender's
/// screen name, warning level 0 and `user_info` in front, no host-ack request, and on a
/// PROPOSE the server-verified IP 0x0004 (the rest of the block is kept as sent).
pub fn as_delivered(
    msg: RendezvousMsg,
    sender: &str,
    sender_ip: Ipv4Addr,
    user_info: Vec<(u16, Vec<u8>)>,
) -> RendezvousMsg {
    let mut out = msg.to_client(sender);
    out.host_ack_requested = false;
    out.warning_level = 0;
    out.user_info = user_info;
    if out.kind == RvKind::Propose {
        out.verified_ip = Some(sender_ip);
    }
    out
}

/// The user-info block the server puts in front of a 4/7: user class and online-since.
fn user_info() -> Vec<(u16, Vec<u8>)> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0);
    vec![
        (0x0001, USER_CLASS.to_be_bytes().to_vec()),
        (0x0003, now.to_be_bytes().to_vec()),
    ]
}

fn deliver(dir: &Shared, to: &str, snac: Vec<u8>, log: &Log) {
    let key = rv::normalize(to);
    let target = {
        let mut d = dir.lock().expect("directory lock");
        match d.online.get(&key) {
            Some(c) => Some(c.clone()),
            None => {
                let q = d.queued.entry(key).or_default();
                if q.len() >= MAX_QUEUED {
                    q.remove(0);
                }
                q.push(snac.clone());
                None
            }
        }
    };
    match target {
        Some(c) => {
            if let Err(e) = c.lock().expect("client lock").send_snac(&snac) {
                log.step(format_args!("delivery to {to} failed: {e}"));
            }
        }
        None => log.step(format_args!("{to} is not signed on: queued")),
    }
}
