//! TCP plumbing shared by the roles: timeouts, a buffered frame reader that keeps bytes read past
//! a frame (they belong to the next frame or to file data), and an abortive (RST) close.

use super::{PeerError, Result, DEFAULT_TIMEOUT};
use oftsniff::proto::ParseError;
use socket2::SockRef;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Upper bound on one frame's bytes a reader buffers, whatever its length field says.
pub const MAX_FRAME: usize = 64 * 1024;

/// Connects with a timeout and sets the read/write timeouts every role relies on.
pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, timeout)?;
    prepare(&s, timeout)?;
    Ok(s)
}

/// [`connect`] to a server that may still be starting: a refused connection is retried until
/// `timeout` has passed (as a client retries its login server), other errors are returned.
pub fn connect_server(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let deadline = Instant::now() + timeout;
    loop {
        match connect(addr, timeout) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            r => return r,
        }
    }
}

/// Read/write timeouts, and no Nagle delay: each protocol header goes out in one segment.
pub fn prepare(s: &TcpStream, timeout: Duration) -> io::Result<()> {
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.set_nodelay(true)
}

/// Binds a listener; port 0 picks a free one.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let l = TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Accepts one connection from a non-blocking listener, polling `also` between tries; `also`
/// returning `Some` stops the wait (the other party took another way).
pub fn accept_or<T>(
    l: &TcpListener,
    deadline: Instant,
    mut also: impl FnMut() -> Result<Option<T>>,
) -> Result<Accepted<T>> {
    loop {
        match l.accept() {
            Ok((s, peer)) => {
                s.set_nonblocking(false)?;
                prepare(&s, DEFAULT_TIMEOUT)?;
                return Ok(Accepted::Conn(s, peer));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(v) = also()? {
            return Ok(Accepted::Other(v));
        }
        if Instant::now() >= deadline {
            return Err(PeerError("timed out waiting for a connection".into()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What [`accept_or`] got.
pub enum Accepted<T> {
    Conn(TcpStream, SocketAddr),
    Other(T),
}

/// Ends a connection with an RST instead of a FIN: SO_LINGER with a zero timeout, then close.
pub fn abort(s: TcpStream) {
    let _ = SockRef::from(&s).set_linger(Some(Duration::ZERO));
    drop(s);
}

/// Marks a socket so that its last close sends an RST (for relays propagating a reset).
pub fn arm_reset(s: &TcpStream) {
    let _ = SockRef::from(s).set_linger(Some(Duration::ZERO));
}

/// Half-close for writing (a FIN), ignoring a socket that is already gone.
pub fn finish(s: &TcpStream) {
    let _ = s.shutdown(Shutdown::Write);
}

/// Reads frames with a streaming parser from a TCP stream, keeping leftover bytes.
pub struct FrameReader {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl FrameReader {
    pub fn new(stream: TcpStream) -> FrameReader {
        FrameReader {
            stream,
            buf: Vec::new(),
        }
    }

    /// Starts with bytes already read from the stream (by an earlier reader).
    pub fn with_leftover(stream: TcpStream, buf: Vec<u8>) -> FrameReader {
        FrameReader { stream, buf }
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Gives back the stream and any bytes read past the last frame.
    pub fn into_parts(self) -> (TcpStream, Vec<u8>) {
        (self.stream, self.buf)
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// The next frame. `parse` gets the buffered bytes and returns the value and the bytes it
    /// used, or `Incomplete` to ask for more. End of stream before a whole frame is an error.
    pub fn read_frame<T>(
        &mut self,
        mut parse: impl FnMut(&[u8]) -> std::result::Result<(T, usize), ParseError>,
    ) -> Result<T> {
        loop {
            if !self.buf.is_empty() {
                match parse(&self.buf) {
                    Ok((v, used)) => {
                        self.buf.drain(..used);
                        return Ok(v);
                    }
                    Err(ParseError::Incomplete { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if self.buf.len() >= MAX_FRAME {
                return Err(PeerError(format!("frame longer than {MAX_FRAME} bytes")));
            }
            if self.fill()? == 0 {
                return Err(PeerError(if self.buf.is_empty() {
                    "connection closed".into()
                } else {
                    format!(
                        "connection closed inside a frame ({} bytes)",
                        self.buf.len()
                    )
                }));
            }
        }
    }

    /// Up to `max` raw bytes (file data): buffered ones first, then one read from the socket.
    /// `Ok(0)` means the peer closed.
    pub fn read_raw(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.buf.is_empty() {
            let n = out.len().min(self.buf.len());
            out[..n].copy_from_slice(&self.buf[..n]);
            self.buf.drain(..n);
            return Ok(n);
        }
        loop {
            match self.stream.read(out) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }

    /// One read from the socket appended to the buffer; the count read (0 at end of stream).
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests;
