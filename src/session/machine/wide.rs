//! Files of 4 GiB and more. The OFT header's sizes are 32 bits: a client sending a larger
//! file (Miranda, ICQ 6) announces the full size in rendezvous TLV 0x2713 and writes the
//! low 32 bits into the header (docs/PROTOCOL.md §1.8). The rendezvous travels on another
//! connection, so the data connection tells by itself: its sender never sends anything
//! between a file's last byte and the receiver's DONE, so bytes that are no OFT header
//! right where the announced size ends are the file going on, 4 GiB more of it.

use super::{DataMachine, Mode};
use crate::flow::Direction;
use crate::proto::{probe_oft, Probe};

const FOUR_GIB: u64 = 1 << 32;

impl DataMachine {
    /// `rest`, bytes of a blocked direction: if the file it sent just reached its
    /// announced size and they are not an OFT header, they are more of the file. Returns
    /// true when the direction takes data again.
    pub fn try_wrap(&mut self, dir: Direction, rest: &[u8]) -> bool {
        if !self.data_ended || probe_oft(rest) != Probe::NoMatch {
            return false;
        }
        let Some(f) = self.file.as_mut() else {
            return false;
        };
        if f.data_pos.map(|p| p.0) != Some(dir) || f.next != f.size {
            return false;
        }
        f.size += FOUR_GIB;
        self.data_ended = false;
        self.modes[dir.index()] = Mode::Data {
            remaining: FOUR_GIB,
        };
        true
    }
}
