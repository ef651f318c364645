//! Direct IM on a data connection (docs/PROTOCOL.md §6): each ODC2 frame of a direction
//! is counted, a message (with a payload) or a typing notification (typing bit, no
//! payload), with its payload bytes and, of those, the bytes of images and attachments
//! (what follows the `<BINARY>` tag). Nothing of it is ever a file.

use super::{DataMachine, MachineSink, Mode};
use crate::flow::Direction;
use crate::proto::OdcHeader;
use crate::session::event::{At, OdcCounts, Step};

/// Header flag bit of a typing notification (with 0x0004 "typed" or 0x0008 "typing").
const TYPING_BIT: u16 = 0x0002;
/// Where a payload's binary part (images, attachments) starts.
const BINARY_TAG: &[u8] = b"<BINARY>";

/// What one direction's ODC2 frames carried.
#[derive(Clone, Debug, Default)]
pub struct OdcDirection {
    /// The screen name its frames carry (the author's; relayed frames keep it).
    pub screen_name: Option<String>,
    pub counts: OdcCounts,
    /// The current payload reached its binary part.
    in_binary: bool,
    /// The current payload's last bytes, while a tag may straddle two chunks.
    carry: Vec<u8>,
}

impl OdcDirection {
    fn header(&mut self, h: &OdcHeader) {
        if self.screen_name.is_none() && !h.screen_name.is_empty() {
            self.screen_name = Some(h.screen_name.clone());
        }
        if h.payload_len > 0 {
            self.counts.messages += 1;
        } else if h.flags & TYPING_BIT != 0 {
            self.counts.typing += 1;
        }
        self.in_binary = false;
        self.carry.clear();
    }

    fn payload(&mut self, b: &[u8]) {
        self.counts.bytes += b.len() as u64;
        if self.in_binary {
            self.counts.attachment_bytes += b.len() as u64;
            return;
        }
        let mut win = std::mem::take(&mut self.carry);
        win.extend_from_slice(b);
        match win.windows(BINARY_TAG.len()).position(|w| w == BINARY_TAG) {
            Some(at) => {
                // The carry is shorter than the tag, so what follows it is this chunk's.
                self.in_binary = true;
                self.counts.attachment_bytes += (win.len() - at - BINARY_TAG.len()) as u64;
            }
            None => {
                let keep = win.len().min(BINARY_TAG.len() - 1);
                self.carry = win.split_off(win.len() - keep);
            }
        }
    }
}

impl DataMachine {
    /// An ODC2 header where the peers' protocol starts: the connection carries Direct IM;
    /// its frames are counted from here on.
    pub fn on_odc(&mut self, dir: Direction, at: At, sink: &mut dyn MachineSink) {
        self.direct_im = true;
        self.modes = [Mode::Odc; 2];
        self.announce_direct_im(dir, at, sink);
    }

    fn announce_direct_im(&mut self, dir: Direction, at: At, sink: &mut dyn MachineSink) {
        if !self.odc_announced {
            self.odc_announced = true;
            sink.phase(Step::DirectIm, self.arrow(dir), at);
        }
    }

    /// A whole ODC2 header of `dir`; its payload follows.
    pub fn on_odc_frame(
        &mut self,
        dir: Direction,
        h: &OdcHeader,
        at: At,
        sink: &mut dyn MachineSink,
    ) {
        self.direct_im = true;
        self.announce_direct_im(dir, at, sink);
        self.odc[dir.index()].header(h);
        self.modes[dir.index()] = match u64::from(h.payload_len) {
            0 => Mode::Odc,
            remaining => Mode::OdcPayload { remaining },
        };
    }

    /// Payload bytes of the current ODC2 frame of `dir`; returns how many it took.
    pub fn on_odc_payload(&mut self, dir: Direction, bytes: &[u8]) -> usize {
        let Mode::OdcPayload { remaining } = self.modes[dir.index()] else {
            return 0;
        };
        let n = remaining.min(bytes.len() as u64);
        self.odc[dir.index()].payload(&bytes[..n as usize]);
        self.modes[dir.index()] = match remaining - n {
            0 => Mode::Odc,
            remaining => Mode::OdcPayload { remaining },
        };
        n as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_part_is_found_across_chunks() {
        let payload = b"<HTML>look</HTML><BINARY><DATA ID=\"1\" SIZE=\"5\">abcde</DATA></BINARY>";
        let after = payload.len() - 25;
        for cut in 0..payload.len() {
            let mut d = OdcDirection::default();
            d.payload(&payload[..cut]);
            d.payload(&payload[cut..]);
            assert_eq!(d.counts.bytes, payload.len() as u64);
            assert_eq!(d.counts.attachment_bytes, after as u64, "cut at {cut}");
        }
    }
}
