//! Follows an OSCAR (FLAP) connection: cuts each direction into FLAP frames and picks out
//! the ICBM rendezvous messages (SNAC 4/6, 4/7, 4/0B, 4/0C). Resynchronizes after gaps.

use crate::flow::Direction;
use crate::proto::flap::resync;
use crate::proto::rendezvous::{parse_flap_icbm, IcbmEvent};
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
}

impl FlapConn {
    /// In-order bytes of `dir`; rendezvous events found are pushed to `out`.
    pub fn feed(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<IcbmEvent>) {
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
            match parse_flap_icbm(rest) {
                Ok((ev, used)) => {
                    self.frames += 1;
                    pos += used.max(1);
                    if let Some(ev) = ev {
                        out.push(ev);
                    }
                }
                Err(ParseError::Incomplete { .. }) => break,
                Err(ParseError::Invalid(_)) => {
                    // A whole FLAP frame whose SNAC did not parse: skip that frame only.
                    match crate::proto::flap::parse_flap(rest) {
                        Ok((_, used)) => pos += used.max(1),
                        Err(_) => {
                            self.lost[d] = true;
                            pos += 1;
                            self.skipped += 1;
                        }
                    }
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
