//! The unit the capture stage hands forward: one captured frame, copied once out of the
//! kernel ring or a pipe, or left where it lies in a mapped capture file; owned from then
//! on by whoever holds it.

use std::fmt;

mod data;
pub use data::FrameData;

/// Capture time of a frame, nanoseconds since the Unix epoch. Packet time, not wall time:
/// every timeout in the pipeline is measured in it so offline runs are deterministic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub const NANOS_PER_SEC: u64 = 1_000_000_000;

    pub fn from_parts(secs: u64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(Self::NANOS_PER_SEC)
                .saturating_add(nanos as u64),
        )
    }
    pub fn secs(self) -> u64 {
        self.0 / Self::NANOS_PER_SEC
    }
    pub fn subsec_nanos(self) -> u32 {
        (self.0 % Self::NANOS_PER_SEC) as u32
    }
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / Self::NANOS_PER_SEC as f64
    }
    /// Seconds from `earlier` to `self`, 0 when `earlier` is later.
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        self.0.saturating_sub(earlier.0) as f64 / Self::NANOS_PER_SEC as f64
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.secs(), self.subsec_nanos() / 1000)
    }
}

/// Link-layer framing of a frame's bytes. Values are the pcap LINKTYPE_ numbers so a
/// frame can be written back to pcap exactly as it was captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_NULL (0): BSD loopback, 4-byte host-order address family.
    Null,
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_RAW (101): bare IPv4 or IPv6.
    Raw,
    /// Bare IPv4 or IPv6 under DLT_RAW's older numbers, found in old capture files: 12
    /// (most BSDs) and 14 (OpenBSD). Kept apart from `Raw` so pcap output carries the
    /// number the input had.
    Raw12,
    Raw14,
    /// LINKTYPE_LOOP (108): BSD loopback, network-order address family.
    Loop,
    /// LINKTYPE_LINUX_SLL (113): `tcpdump -i any`, version 1.
    LinuxSll,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_LINUX_SLL2 (276).
    LinuxSll2,
}

impl LinkType {
    pub fn from_linktype(n: u32) -> Option<LinkType> {
        Some(match n {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            101 => LinkType::Raw,
            12 => LinkType::Raw12,
            14 => LinkType::Raw14,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }
    /// The DLT name and description tcpdump prints (`EN10MB (Ethernet)`).
    pub fn describe(self) -> &'static str {
        match self {
            LinkType::Null => "NULL (BSD loopback)",
            LinkType::Ethernet => "EN10MB (Ethernet)",
            LinkType::Raw | LinkType::Raw12 | LinkType::Raw14 => "RAW (Raw IP)",
            LinkType::Loop => "LOOP (OpenBSD loopback)",
            LinkType::LinuxSll => "LINUX_SLL (Linux cooked v1)",
            LinkType::Ipv4 => "IPV4 (Raw IPv4)",
            LinkType::Ipv6 => "IPV6 (Raw IPv6)",
            LinkType::LinuxSll2 => "LINUX_SLL2 (Linux cooked v2)",
        }
    }

    pub fn linktype(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Raw12 => 12,
            LinkType::Raw14 => 14,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
        }
    }
}

/// Position of a frame in the input, 1-based over every frame read (as tshark numbers them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FrameNo(pub u64);

impl fmt::Display for FrameNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One captured frame. `data` holds the captured bytes (possibly fewer than `orig_len`
/// when a snap length cut it). It is moved, never copied, from here to the pcap writer.
#[derive(Clone, Debug)]
pub struct Frame {
    pub no: FrameNo,
    pub ts: Timestamp,
    pub orig_len: u32,
    pub link: LinkType,
    pub data: FrameData,
}

/// Frames travel in batches so channel costs are paid per batch, not per frame.
pub type Batch = Vec<Frame>;

#[cfg(test)]
mod tests;
