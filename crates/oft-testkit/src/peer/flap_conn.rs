//! A client's connection to the (stand-in) OSCAR server: sign on, send channel-2 rendezvous
//! SNACs, and receive what the server relays on a reader thread.

use super::log::Log;
use super::net::{self, FrameReader};
use super::rv::{self, OwnedFlap};
use super::{random_u16, Context, PeerError, Result};
use oftsniff::proto::flap::channel;
use oftsniff::proto::{parse_icbm, IcbmEvent, RendezvousMsg};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Something the server delivered.
#[derive(Clone, Debug)]
pub enum Incoming {
    Icbm(Box<IcbmEvent>),
    /// The server closed the connection (or it failed).
    Closed(String),
}

struct Writer {
    stream: TcpStream,
    seq: u16,
    request_id: u32,
}

impl Incoming {
    /// The rendezvous message, if this is one.
    pub fn rendezvous(&self) -> Option<&RendezvousMsg> {
        match self {
            Incoming::Icbm(ev) => match &**ev {
                IcbmEvent::Rendezvous(m) => Some(m),
                _ => None,
            },
            Incoming::Closed(_) => None,
        }
    }
}

/// A signed-on client.
pub struct FlapClient {
    writer: Arc<Mutex<Writer>>,
    events: Receiver<Incoming>,
    local_ip: Ipv4Addr,
    log: Log,
}

impl FlapClient {
    /// Connects, reads the server's greeting and signs on as `screen_name`.
    pub fn sign_on(
        bos: SocketAddr,
        screen_name: &str,
        timeout: Duration,
        log: &Log,
    ) -> Result<FlapClient> {
        let s = net::connect_server(bos, timeout).context(format_args!("BOS {bos}"))?;
        let local_ip = match s.local_addr()?.ip() {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
        };
        let mut conn = FrameReader::new(s.try_clone()?);
        let hello = conn
            .read_frame(rv::parse_owned_flap)
            .context("BOS greeting")?;
        if hello.channel != channel::NEW_CONNECTION {
            return Err(PeerError(format!(
                "BOS greeting on FLAP channel {}, expected 1",
                hello.channel
            )));
        }
        let seq = random_u16();
        conn.write_all(&rv::sign_on(seq, screen_name))?;
        log.step(format_args!(
            "BOS {bos}: signed on as {screen_name} from {local_ip}"
        ));
        let (tx, rx) = mpsc::channel();
        let reader_log = log.clone();
        // The reader must not time out while the user (or test) takes its time.
        conn.stream().set_read_timeout(None)?;
        thread::spawn(move || loop {
            let ev = match conn.read_frame(rv::parse_owned_flap) {
                Ok(f) => match decode(&f) {
                    Some(ev) => ev,
                    None => continue,
                },
                Err(e) => Incoming::Closed(e.0),
            };
            log_incoming(&reader_log, &ev);
            let closed = matches!(ev, Incoming::Closed(_));
            if tx.send(ev).is_err() || closed {
                return;
            }
        });
        Ok(FlapClient {
            writer: Arc::new(Mutex::new(Writer {
                stream: s,
                seq: seq.wrapping_add(1),
                request_id: 1,
            })),
            events: rx,
            local_ip,
            log: log.clone(),
        })
    }

    /// This end's address on the server connection (what a client would call its own IP).
    pub fn local_ip(&self) -> Ipv4Addr {
        self.local_ip
    }

    /// Sends a rendezvous message (built with `to_host(recipient)`) as SNAC(4,6).
    pub fn send(&self, msg: &RendezvousMsg) -> Result<()> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| PeerError("FLAP writer poisoned".into()))?;
        let frame = msg.emit_flap(w.seq, w.request_id);
        w.seq = w.seq.wrapping_add(1);
        w.request_id = w.request_id.wrapping_add(1);
        self.log.step(format_args!(
            "FLAP: sending {} to {} cookie {}{}",
            msg.kind.name().to_uppercase(),
            msg.screen_name.as_deref().unwrap_or("?"),
            msg.cookie,
            describe(msg)
        ));
        use std::io::Write;
        w.stream.write_all(&frame).context("BOS send")?;
        Ok(())
    }

    /// The next delivered event, waiting at most `d`.
    pub fn recv_timeout(&self, d: Duration) -> Option<Incoming> {
        match self.events.recv_timeout(d) {
            Ok(ev) => Some(ev),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                Some(Incoming::Closed("server connection gone".into()))
            }
        }
    }

    /// Waits until `want` picks a value out of a delivered event; other events are skipped.
    pub fn wait_for<T>(
        &self,
        deadline: Instant,
        mut want: impl FnMut(&Incoming) -> Option<Result<T>>,
    ) -> Result<T> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PeerError("timed out waiting on the BOS connection".into()));
            }
            if let Some(ev) = self.recv_timeout(left) {
                if let Some(r) = want(&ev) {
                    return r;
                }
                if let Incoming::Closed(why) = ev {
                    return Err(PeerError(format!("BOS connection closed: {why}")));
                }
            }
        }
    }

    /// Non-blocking: the next delivered event, if any.
    pub fn try_recv(&self) -> Option<Incoming> {
        self.events.try_recv().ok()
    }

    /// Signs off (FLAP channel 4) and closes.
    pub fn close(self) {
        if let Ok(mut w) = self.writer.lock() {
            let frame = oftsniff::proto::flap::FlapFrame {
                channel: channel::CLOSE,
                seq: w.seq,
                data: &[],
            }
            .emit();
            use std::io::Write;
            let _ = w.stream.write_all(&frame);
            net::finish(&w.stream);
        }
    }
}

fn decode(f: &OwnedFlap) -> Option<Incoming> {
    match f.channel {
        channel::SNAC => match parse_icbm(&f.data) {
            Ok(Some(ev)) => Some(Incoming::Icbm(Box::new(ev))),
            Ok(None) => None,
            Err(e) => Some(Incoming::Closed(format!(
                "undecodable SNAC from server: {e}"
            ))),
        },
        channel::CLOSE => Some(Incoming::Closed("server signed us off".into())),
        _ => None,
    }
}

fn log_incoming(log: &Log, ev: &Incoming) {
    let icbm = match ev {
        Incoming::Icbm(icbm) => &**icbm,
        Incoming::Closed(why) => return log.step(format_args!("FLAP: closed ({why})")),
    };
    match icbm {
        IcbmEvent::Rendezvous(m) => log.step(format_args!(
            "FLAP: got {} from {} cookie {}{}",
            m.kind.name().to_uppercase(),
            m.screen_name.as_deref().unwrap_or("?"),
            m.cookie,
            describe(m)
        )),
        IcbmEvent::HostAck(a) => log.step(format_args!("FLAP: host ack for cookie {}", a.cookie)),
        IcbmEvent::ClientError(e) => log.step(format_args!(
            "FLAP: client error from {} cookie {} reason {} code {:?}",
            e.screen_name, e.cookie, e.reason, e.code
        )),
    }
}

/// The TLVs of a PROPOSE that tell where the data connection goes, for log lines.
pub fn describe(m: &RendezvousMsg) -> String {
    let mut s = String::new();
    if let Some(n) = m.request_no {
        s += &format!(" req {n}");
    }
    if m.use_proxy {
        s += " via proxy";
    }
    for (label, ip) in [
        ("0x0002", m.rendezvous_ip),
        ("0x0003", m.client_ip),
        ("0x0004", m.verified_ip),
    ] {
        if let Some(ip) = ip {
            s += &format!(" {label}={ip}");
        }
    }
    if let Some(p) = m.port {
        s += &format!(" 0x0005={p}");
    }
    if let Some(f) = &m.file {
        s += &format!(
            " file {:?} ({} file(s), {} bytes)",
            f.display_name(),
            f.count,
            f.total_size
        );
    }
    if let Some(r) = m.cancel_reason {
        s += &format!(" reason {r}");
    }
    s
}
