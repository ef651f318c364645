//! Decode stage: link layer → IP → TCP, with etherparse. Everything that is not TCP is
//! reported as a skip reason as early as possible.

use std::fmt;

/// TCP flag bits as on the wire (byte 13 of the TCP header).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::SYN, "S"),
            (Self::FIN, "F"),
            (Self::RST, "R"),
            (Self::PSH, "P"),
            (Self::ACK, "."),
            (Self::URG, "U"),
        ];
        for (bit, n) in names {
            if self.has(bit) {
                f.write_str(n)?;
            }
        }
        Ok(())
    }
}

use crate::flow::Endpoint;
use std::ops::Range;

/// A decoded TCP segment. `payload` indexes into the frame's bytes, so the frame itself
/// can be moved on (to a flow's hold or the pcap writer) without copying.
#[derive(Clone, Debug)]
pub struct TcpPacket {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub payload: Range<usize>,
}

/// Why a frame did not yield a TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// IP but not TCP, or not IP at all (ARP, …).
    NonTcp,
    /// An IPv4/IPv6 fragment; counted and skipped.
    Fragment,
    /// Too short or malformed at some layer.
    Undecodable,
}
