//! The window of recently delivered bytes, against which retransmissions of delivered
//! bytes are compared.

use super::StreamReassembler;

impl StreamReassembler {
    /// Keeps the last `bytes` delivered bytes so a retransmission of them whose content
    /// differs is counted (0: keep none). Memory grows with what is delivered, to at most
    /// `bytes`.
    pub fn set_recent_window(&mut self, bytes: usize) {
        self.window = bytes;
        self.recent.clear();
        self.recent.shrink_to(bytes);
    }
    /// Whether `bytes`, a copy of the delivered stream from offset `at`, differ from what
    /// the recent window still holds of those offsets.
    pub(super) fn differs_from_recent(&self, at: u64, bytes: &[u8]) -> bool {
        let win_start = self.next - self.recent.len() as u64;
        let from = at.max(win_start);
        let to = at + bytes.len() as u64;
        if from >= to {
            return false;
        }
        let new = &bytes[(from - at) as usize..];
        self.recent
            .range((from - win_start) as usize..(to - win_start) as usize)
            .zip(new)
            .any(|(a, b)| a != b)
    }

    pub(super) fn remember<'b>(&mut self, bytes: &'b [u8]) {
        if self.window == 0 {
            return;
        }
        let tail: &'b [u8] = &bytes[bytes.len().saturating_sub(self.window)..];
        if self.recent.capacity() == 0 {
            // Allocated on first delivery, once and to size: growth by doubling could
            // leave twice the window allocated in every direction.
            self.recent.reserve_exact(self.window);
        }
        let excess = (self.recent.len() + tail.len()).saturating_sub(self.window);
        self.recent.drain(..excess);
        self.recent.extend(tail);
    }
}
