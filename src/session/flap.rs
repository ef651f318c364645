//! Follows an OSCAR (FLAP) connection: cuts each direction into FLAP frames and picks out
//! the ICBM rendezvous messages (SNAC 4/6, 4/7, 4/0B, 4/0C), and with `--messages` the
//! channel-1 instant messages. Resynchronizes after gaps.

use crate::flow::Direction;
use crate::proto::flap::{self, parse_flap, resync};
use crate::proto::im::{parse_im, InstantMessage};
use crate::proto::rendezvous::{parse_icbm, IcbmEvent};
use crate::proto::ParseError;

/// A FLAP frame is at most 6 + 65,535 bytes; nothing legitimate needs more held.
const MAX_HELD: usize = 6 + 65_535;

#[derive(Default)]
pub struct FlapConn {
    pending: [Vec<u8>; 2],
    lost: [bool; 2],
    /// Frames parsed, and bytes skipped while resynchronizing.
    pub frames: u64,
    pub skipped: u64,
    /// Also read channel-1 instant messages (`--messages`).
    messages: bool,
}

/// What the frames just fed carried.
#[derive(Default)]
pub struct FlapFound {
    pub icbm: Vec<IcbmEvent>,
    pub ims: Vec<InstantMessage>,
}

impl FlapFound {
    pub fn is_empty(&self) -> bool {
        self.icbm.is_empty() && self.ims.is_empty()
    }
}

impl FlapConn {
    /// Heap bytes of the buffers of partial frames (their capacity: what they hold).
    pub fn buffer_capacity(&self) -> usize {
        self.pending[0].capacity() + self.pending[1].capacity()
    }

    /// `messages`: also read channel-1 instant messages.
    pub fn new(messages: bool) -> Self {
        FlapConn {
            messages,
            ..FlapConn::default()
        }
    }

    /// In-order bytes of `dir`; what the frames carried is pushed to `out`.
    pub fn feed(&mut self, dir: Direction, bytes: &[u8], out: &mut FlapFound) {
        let d = dir.index();
        self.pending[d].extend_from_slice(bytes);
        let buf = std::mem::take(&mut self.pending[d]);
        let mut pos = 0;
        while pos < buf.len() {
            let rest = &buf[pos..];
            if self.lost[d] {
                match resync(rest) {
                    Some(at) => {
                        self.skipped += at as u64;
                        pos += at;
                        self.lost[d] = false;
                    }
                    None => {
                        // Keep a short tail: a frame start may straddle the next segment.
                        let keep = rest.len().min(5);
                        self.skipped += (rest.len() - keep) as u64;
                        pos = buf.len() - keep;
                        break;
                    }
                }
                continue;
            }
            match parse_flap(rest) {
                Ok((frame, used)) => {
                    self.frames += 1;
                    pos += used.max(1);
                    if frame.channel == flap::channel::SNAC {
                        // A SNAC that does not parse spoils only its own frame.
                        if let Ok(Some(ev)) = parse_icbm(frame.data) {
                            out.icbm.push(ev);
                        }
                        if self.messages {
                            if let Ok(Some(im)) = parse_im(frame.data) {
                                out.ims.push(im);
                            }
                        }
                    }
                }
                Err(ParseError::Incomplete { .. }) => break,
                Err(ParseError::Invalid(_)) => {
                    self.lost[d] = true;
                    pos += 1;
                    self.skipped += 1;
                }
            }
        }
        let mut rest = buf;
        rest.drain(..pos.min(rest.len()));
        if rest.len() > MAX_HELD {
            self.skipped += rest.len() as u64;
            rest.clear();
            self.lost[d] = true;
        }
        self.pending[d] = rest;
    }

    pub fn gap(&mut self, dir: Direction) {
        let d = dir.index();
        self.skipped += self.pending[d].len() as u64;
        self.pending[d].clear();
        self.lost[d] = true;
    }
}
