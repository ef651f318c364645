//! Cuts each direction of a data connection into the messages the state machine takes:
//! proxy frames, OFT2 headers and raw file data. A direction that must wait for the
//! other side (the sender between PROMPT and ACK) holds its bytes, up to a bound.

use super::event::At;
use super::machine::{DataMachine, MachineSink, Mode, MAX_PENDING};
use crate::flow::Direction;
use crate::proto::{
    parse_odc_header, parse_oft_header, parse_proxy_frame, probe_odc, probe_oft, ParseError, Probe,
};

pub struct DataConn {
    pub machine: DataMachine,
    pending: [Vec<u8>; 2],
    /// Bytes thrown away because framing was lost or a hold overflowed.
    pub discarded: u64,
    /// Per direction, the stream offset just past the bytes fed so far (gaps included).
    fed: [u64; 2],
}

impl DataConn {
    pub fn new(machine: DataMachine) -> Self {
        DataConn {
            machine,
            pending: [Vec::new(), Vec::new()],
            discarded: 0,
            fed: [0; 2],
        }
    }

    /// The next bytes of `dir` fed start at stream offset `pos` (bytes that went by
    /// before the connection was recognized count).
    pub fn at_stream(&mut self, dir: Direction, pos: u64) {
        self.fed[dir.index()] = pos;
    }

    /// In-order bytes of `dir`.
    pub fn feed(&mut self, dir: Direction, bytes: &[u8], at: At, sink: &mut dyn MachineSink) {
        let d = dir.index();
        self.fed[d] += bytes.len() as u64;
        if self.pending[d].is_empty() {
            // Fast path: file data goes straight from the frame to the machine.
            let used = self.consume(dir, bytes, at, sink);
            if used < bytes.len() {
                self.stash(dir, &bytes[used..]);
            }
        } else {
            self.stash(dir, bytes);
        }
        // Either direction may now be able to move: a reply unblocks the other side.
        for _ in 0..8 {
            let a = self.pump(dir, at, sink);
            let b = self.pump(dir.reverse(), at, sink);
            if !a && !b {
                break;
            }
        }
    }

    /// Heap bytes of the buffers of partial messages (their capacity: what they hold).
    pub fn buffer_capacity(&self) -> usize {
        self.pending[0].capacity() + self.pending[1].capacity()
    }

    /// Bytes held across both directions while they wait for the other side.
    pub fn held_bytes(&self) -> usize {
        self.pending[0].len() + self.pending[1].len()
    }

    pub fn gap(&mut self, dir: Direction, len: u64) {
        let d = dir.index();
        self.fed[d] += len;
        self.discarded += self.pending[d].len() as u64;
        self.pending[d].clear();
        self.machine.on_gap(dir, len);
    }

    fn stash(&mut self, dir: Direction, bytes: &[u8]) {
        let d = dir.index();
        if self.pending[d].len() + bytes.len() > MAX_PENDING {
            // The other side's answer is not coming (or was not captured).
            self.discarded += (self.pending[d].len() + bytes.len()) as u64;
            self.pending[d].clear();
            self.machine.modes[d] = Mode::Lost;
            return;
        }
        self.pending[d].extend_from_slice(bytes);
    }

    /// Runs held bytes of `dir` through; true if any were used.
    fn pump(&mut self, dir: Direction, at: At, sink: &mut dyn MachineSink) -> bool {
        let d = dir.index();
        if self.pending[d].is_empty() {
            return false;
        }
        let buf = std::mem::take(&mut self.pending[d]);
        let used = self.consume(dir, &buf, at, sink);
        let mut buf = buf;
        buf.drain(..used);
        // `consume` may have stashed nothing new for this direction; keep the rest.
        if self.pending[d].is_empty() {
            self.pending[d] = buf;
        } else {
            buf.extend_from_slice(&self.pending[d]);
            self.pending[d] = buf;
        }
        used > 0
    }

    /// Frames as much of `input` as the direction's mode allows; returns bytes used.
    fn consume(
        &mut self,
        dir: Direction,
        input: &[u8],
        at: At,
        sink: &mut dyn MachineSink,
    ) -> usize {
        let d = dir.index();
        // `input` is the end of what was fed of this direction.
        let base = self.fed[d] - input.len() as u64;
        let mut pos = 0;
        while pos < input.len() {
            let rest = &input[pos..];
            match self.machine.modes[d] {
                Mode::Data { .. } => {
                    self.machine.stream_pos = base + pos as u64;
                    let n = self.machine.on_data(dir, rest, at, sink);
                    if n == 0 {
                        break;
                    }
                    pos += n;
                }
                Mode::Headers => match parse_oft_header(rest) {
                    Ok((h, len)) => {
                        pos += len;
                        self.machine.on_header(dir, h, at, sink);
                    }
                    Err(ParseError::Incomplete { .. }) => break,
                    // A proxy relaying Direct IM whose INIT did not say so (no capability).
                    Err(ParseError::Invalid(_))
                        if self.machine.proxy.is_some()
                            && self.machine.files_done == 0
                            && probe_odc(rest) == Probe::Match =>
                    {
                        self.machine.on_odc(dir, at, sink)
                    }
                    Err(ParseError::Invalid(_)) => self.machine.modes[d] = Mode::Lost,
                },
                Mode::Odc => match parse_odc_header(rest) {
                    Ok((h, len)) => {
                        pos += len;
                        self.machine.on_odc_frame(dir, &h, at, sink);
                    }
                    Err(ParseError::Incomplete { .. }) => break,
                    Err(ParseError::Invalid(_)) => self.machine.modes[d] = Mode::Lost,
                },
                Mode::OdcPayload { .. } => pos += self.machine.on_odc_payload(dir, rest),
                Mode::ProxyClient | Mode::ProxyServer => match parse_proxy_frame(rest) {
                    Ok((f, len)) => {
                        pos += len;
                        self.machine.on_proxy(dir, &f, at, sink);
                    }
                    Err(ParseError::Incomplete { .. }) => break,
                    Err(ParseError::Invalid(_)) => self.machine.modes[d] = Mode::Lost,
                },
                Mode::Blocked => {
                    if !self.machine.try_wrap(dir, rest) {
                        break;
                    }
                }
                Mode::Lost => {
                    // Resynchronize only where a segment starts with a plausible header.
                    if probe_oft(rest) == Probe::Match {
                        self.machine.modes[d] = Mode::Headers;
                    } else if self.machine.direct_im && probe_odc(rest) == Probe::Match {
                        self.machine.modes[d] = Mode::Odc;
                    } else {
                        self.discarded += rest.len() as u64;
                        self.machine.unframed[d].data(rest, at.ts);
                        pos = input.len();
                    }
                }
                Mode::Ignore => pos = input.len(),
            }
        }
        pos
    }
}
