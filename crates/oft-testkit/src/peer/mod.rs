//! `oftpeer`: test peers that speak AIM file transfer over real TCP sockets.
//!
//! Four roles, one per subcommand of the `oftpeer` binary (see [`cli`] for the options):
//!
//! * [`bos`]: a minimal FLAP relay standing in for the OSCAR server. Clients sign on with a
//!   channel-1 frame carrying their screen name; SNAC(4,6) channel-2 messages are delivered to
//!   the named recipient as SNAC(4,7), with the server-side TLV 0x0004 added to PROPOSEs.
//! * [`send`]: proposes a transfer over FLAP, then runs the OFT exchange as the file sender,
//!   directly (listening) or through an ARS proxy (creating the session, or joining the
//!   receiver's).
//! * [`recv`]: waits for a PROPOSE, connects (direct), joins the proxy session, or creates its own
//!   proxy session (stage 2), then receives, skips or resumes files.
//! * [`proxy_server`]: an ARS rendezvous proxy.
//!
//! Every frame is built by the emitters of [`oftsniff::proto`]. Plain threads and blocking
//! `std::net` sockets with read timeouts keep each role a straight line of steps; every step is
//! one line on stderr.

pub mod ars;
pub mod bos;
pub mod cli;
pub mod files;
pub mod flap_conn;
pub mod log;
pub mod net;
pub mod offers;
pub mod oft_recv;
pub mod oft_send;
pub mod proxy_server;
pub mod recv;
pub mod rv;
pub mod send;

#[cfg(test)]
mod loopback_tests;
#[cfg(test)]
mod wire_tests;

use std::fmt;
use std::io;
use std::time::Duration;

/// Default for every wait (a read, an accept, a PROPOSE to arrive), so a test never hangs.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Well-known port of the OSCAR server and the ARS proxy (§4.4).
pub const OSCAR_PORT: u16 = 5190;

/// Why a peer gave up. The message is the one line printed before exiting non-zero.
#[derive(Debug)]
pub struct PeerError(pub String);

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PeerError {}

impl From<io::Error> for PeerError {
    fn from(e: io::Error) -> Self {
        let what = match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "timed out".to_owned(),
            io::ErrorKind::UnexpectedEof => "connection closed early".to_owned(),
            _ => e.to_string(),
        };
        PeerError(what)
    }
}

impl From<oftsniff::proto::ParseError> for PeerError {
    fn from(e: oftsniff::proto::ParseError) -> Self {
        PeerError(format!("bad frame: {e}"))
    }
}

/// `Err(PeerError)` from a format string.
#[macro_export]
macro_rules! peer_bail {
    ($($arg:tt)*) => {
        return Err($crate::peer::PeerError(format!($($arg)*)))
    };
}

/// Bytes from the kernel's random source; the clock and pid when it cannot be read (these
/// values only need to differ between runs, not to be secret).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use std::io::Read;
    let mut b = [0u8; N];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok();
    if !ok {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            ^ u128::from(std::process::id()) << 64;
        for (i, x) in b.iter_mut().enumerate() {
            *x = (t >> ((i % 16) * 8)) as u8;
        }
    }
    b
}

pub fn random_u16() -> u16 {
    u16::from_be_bytes(random_bytes())
}

/// A Pidgin-style rendezvous cookie: seven ASCII digits and a NUL (Appendix B).
pub fn random_cookie() -> oftsniff::proto::Cookie {
    let mut c = random_bytes::<8>();
    for b in &mut c[..7] {
        *b = b'0' + *b % 10;
    }
    c[7] = 0;
    oftsniff::proto::Cookie(c)
}

pub type Result<T> = std::result::Result<T, PeerError>;

/// Adds what was being done to an error, keeping it one line.
pub trait Context<T> {
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E: Into<PeerError>> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| PeerError(format!("{what}: {}", e.into())))
    }
}
