//! The bytes under the reader: a capture file, or a pipe (`-r -`, a FIFO) that a stop
//! request must be able to end even while nothing arrives on it.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How often a reader waiting on a quiet pipe looks at the stop flag.
const STOP_POLL_MS: i32 = 100;

/// A capture input. Reading a regular file never waits long, so only a pipe, FIFO or
/// terminal watches `stop`: once it is set, the input ends as if at end of file (a read
/// already under way returns what it got).
pub struct InputFile {
    file: File,
    stop: Option<Arc<AtomicBool>>,
    /// Set when `stop` ended the input: what is missing then was never sent, not lost.
    cut_by_stop: Arc<AtomicBool>,
}

impl InputFile {
    /// `cut_by_stop` is set when `stop` ends the input.
    pub fn new(
        file: File,
        regular: bool,
        stop: Option<Arc<AtomicBool>>,
        cut_by_stop: Arc<AtomicBool>,
    ) -> InputFile {
        InputFile {
            file,
            stop: if regular { None } else { stop },
            cut_by_stop,
        }
    }
}

impl Read for InputFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(stop) = &self.stop {
            loop {
                if stop.load(Ordering::Relaxed) {
                    self.cut_by_stop.store(true, Ordering::Relaxed);
                    return Ok(0);
                }
                let mut pfd = libc::pollfd {
                    fd: self.file.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd, for the length given.
                let r = unsafe { libc::poll(&mut pfd, 1, STOP_POLL_MS) };
                if r > 0 {
                    break; // readable, hung up or in error: the read says which
                }
                if r < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
        }
        self.file.read(buf)
    }
}
