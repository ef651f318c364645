//! What each side of a connection last told its peer it would accept (RFC 793's RCV.NXT
//! and RCV.WND), as far as a passive monitor sees it: the acknowledgement number and
//! window of the last ACK each direction sent, scaled as the handshake agreed (RFC 7323).
//!
//! RSTs and SYNs are checked against it, after RFC 5961's idea: an RST counts only when
//! its sequence number lies in the window its receiver offered, and a SYN on a connection
//! already under way counts only when it repeats the handshake's. Anything else is what a
//! blind attacker would send, and must not end the tracking of a connection (one spoofed
//! packet would otherwise blind the monitor). A host answers such packets with a
//! challenge ACK at most, and the connection goes on: so does the monitor.

use crate::decode::TcpFlags;

/// Receive window assumed when it cannot be read: no ACK seen from the receiver yet, or
/// the handshake (and so the window scale) was not seen. 1 MiB covers a LAN transfer's
/// bytes in flight several times over (the monitor's view of RCV.NXT may lag the real
/// one by the segments still in flight), while a blind RST still misses it 4,095 times
/// out of 4,096.
pub const UNKNOWN_WINDOW: u32 = 1 << 20;

/// Per-side acknowledgement state; index = `Direction::index()` of the side's sends.
#[derive(Clone, Copy, Debug, Default)]
pub struct Windows {
    /// Whether each side's SYN was seen, and the window scale shift it offered.
    syn: [Option<Option<u8>>; 2],
    /// Sequence number of each side's SYN (its ISN), once seen.
    isn: [Option<u32>; 2],
    /// The last ACK each side sent: acknowledgement number, raw window, and whether it
    /// was on a SYN (whose window is never scaled).
    last_ack: [Option<(u32, u16, bool)>; 2],
}

impl Windows {
    /// Takes note of an accepted segment sent by side `i`.
    pub fn note(
        &mut self,
        i: usize,
        flags: TcpFlags,
        seq: u32,
        ack: u32,
        window: u16,
        wscale: Option<u8>,
    ) {
        if flags.syn() && self.isn[i].is_none() {
            self.isn[i] = Some(seq);
            self.syn[i] = Some(wscale);
        }
        if flags.ack() {
            self.last_ack[i] = Some((ack, window, flags.syn()));
        }
    }

    /// Side `i`'s initial sequence number, once its SYN was seen.
    pub fn isn(&self, i: usize) -> Option<u32> {
        self.isn[i]
    }

    /// Receive window side `i` last offered, in bytes, or `None` when it cannot be read.
    fn window(&self, i: usize) -> Option<u32> {
        let (_, raw, on_syn) = self.last_ack[i]?;
        let (Some(own), Some(peer)) = (self.syn[i], self.syn[1 - i]) else {
            return None; // the handshake was not seen: the scale is unknown
        };
        // Scaling is in force only when both SYNs carried the option.
        let shift = match (own, peer) {
            (Some(s), Some(_)) if !on_syn => s,
            _ => 0,
        };
        Some(u32::from(raw) << shift)
    }

    /// Whether an RST sent by side `i` with sequence number `seq` is acceptable: within
    /// the window the other side offered, counted from its last acknowledgement or from
    /// where the monitor's reassembly of side `i` stands (`next_seq`, `None` before
    /// it started). With neither known (an RST answering a SYN), nothing can be judged
    /// and the RST is taken.
    pub fn rst_acceptable(&self, i: usize, seq: u32, next_seq: Option<u32>) -> bool {
        let r = 1 - i;
        let anchors = [self.last_ack[r].map(|(a, _, _)| a), next_seq];
        if anchors.iter().all(Option::is_none) {
            return true;
        }
        // A zero window still accepts an RST at exactly RCV.NXT (RFC 793 §3.4).
        let wnd = self.window(r).unwrap_or(UNKNOWN_WINDOW).max(1);
        anchors
            .into_iter()
            .flatten()
            .any(|a| seq.wrapping_sub(a) < wnd)
    }

    /// Whether a SYN sent by side `i` with sequence number `seq` belongs to this
    /// connection: a retransmission of the side's own SYN, or its first SYN when the side
    /// has not sent anything yet (`started`: its stream has begun).
    pub fn syn_acceptable(&self, i: usize, seq: u32, started: bool) -> bool {
        match self.isn[i] {
            Some(isn) => isn == seq,
            None => !started,
        }
    }
}
