//! Capture stage: live (TPACKET_V3 ring or pnet) and offline (pcap/pcapng) frame sources.

pub mod frame;

pub use frame::{Batch, Frame, FrameNo, LinkType, Timestamp};
