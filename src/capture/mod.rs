//! Capture stage: live (TPACKET_V3 ring or pnet) and offline (pcap/pcapng) frame sources.

pub mod error;
pub mod frame;
pub mod offline;
pub mod ring;

pub use error::{CaptureError, CaptureWarning};
pub use frame::{Batch, Frame, FrameNo, LinkType, Timestamp};
pub use offline::OfflineSource;
pub use ring::{KernelStats, RingOptions, RingSource};
