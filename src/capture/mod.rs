//! Capture stage: live (TPACKET_V3 ring or pnet) and offline (pcap/pcapng) frame sources.
//!
//! Both kinds hand out frames in batches: the capture thread calls `next_batch` in a loop
//! and passes each batch on. A source only copies a frame (timestamp, original length,
//! bytes) and goes; decoding happens in the workers.

pub mod error;
pub mod filter;
pub mod frame;
pub mod interfaces;
pub mod offline;
pub mod pnet_backend;
pub mod pool;
pub mod ring;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;

pub use error::{CaptureError, CaptureWarning};
pub use filter::{FilterError, FilterExpr, FrameFilter};
pub use frame::{Batch, Frame, FrameNo, LinkType, Timestamp};
pub use interfaces::{list_interfaces, InterfaceInfo};
pub use offline::{OfflineSet, OfflineSource};
pub use pnet_backend::{PnetOptions, PnetSource};
pub use pool::FramePool;
pub use ring::{KernelStats, RingOptions, RingSource};

/// Which live-capture implementation to use (`--backend`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// AF_PACKET with a TPACKET_V3 mmap ring: no system call per frame.
    #[default]
    Ring,
    /// pnet's datalink channel: one recvfrom per frame.
    Pnet,
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ring" => Ok(Backend::Ring),
            "pnet" => Ok(Backend::Pnet),
            other => Err(format!("unknown backend '{other}' (expected ring or pnet)")),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Ring => "ring",
            Backend::Pnet => "pnet",
        })
    }
}

/// Options shared by both live backends, plus each one's own sizing.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Promiscuous mode (off with `--no-promisc`).
    pub promisc: bool,
    /// PACKET_FANOUT group to join when several capture threads share one interface.
    pub fanout_group: Option<u16>,
    /// Ring backend: bytes per block (a multiple of the page size).
    pub ring_block_size: usize,
    /// Ring backend: number of blocks.
    pub ring_block_count: usize,
    /// Ring backend: milliseconds before a partly filled block is handed over.
    pub ring_block_timeout_ms: u32,
    /// pnet backend: kernel receive buffer (SO_RCVBUF) bytes.
    pub pnet_recv_buffer_bytes: usize,
    /// pnet backend: largest frame read whole.
    pub pnet_max_frame_bytes: usize,
    /// Capture filter attached to every socket (`-f` or a trailing expression).
    pub filter: Option<FilterExpr>,
    /// `-s`: bytes of each frame kept (its original length is kept too).
    pub snaplen: u32,
}

/// tcpdump's default snapshot length (`-s`, also what `-s 0` means).
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// The interface name that captures on every interface (cooked frames, as tcpdump).
pub const ANY_INTERFACE: &str = "any";

impl Default for LiveOptions {
    fn default() -> Self {
        let r = RingOptions::default();
        let p = PnetOptions::default();
        LiveOptions {
            promisc: true,
            fanout_group: None,
            ring_block_size: r.block_size,
            ring_block_count: r.block_count,
            ring_block_timeout_ms: r.block_timeout_ms,
            pnet_recv_buffer_bytes: p.recv_buffer_bytes,
            pnet_max_frame_bytes: p.max_frame_bytes,
            filter: None,
            snaplen: DEFAULT_SNAPLEN,
        }
    }
}

impl LiveOptions {
    pub fn ring(&self) -> RingOptions {
        RingOptions {
            block_size: self.ring_block_size,
            block_count: self.ring_block_count,
            block_timeout_ms: self.ring_block_timeout_ms,
            promisc: self.promisc,
            fanout_group: self.fanout_group,
            filter: self.filter.clone(),
            snaplen: self.snaplen,
        }
    }

    pub fn pnet(&self) -> PnetOptions {
        PnetOptions {
            promisc: self.promisc,
            fanout_group: self.fanout_group,
            recv_buffer_bytes: self.pnet_recv_buffer_bytes,
            max_frame_bytes: self.pnet_max_frame_bytes,
            filter: self.filter.clone(),
            snaplen: self.snaplen,
        }
    }
}

/// A live capture on one interface, whichever backend serves it.
pub enum LiveSource {
    Ring(RingSource),
    Pnet(PnetSource),
}

impl LiveSource {
    pub fn open(
        iface: &str,
        backend: Backend,
        opts: &LiveOptions,
    ) -> Result<LiveSource, CaptureError> {
        Ok(match backend {
            Backend::Ring => LiveSource::Ring(RingSource::open(iface, &opts.ring())?),
            Backend::Pnet => LiveSource::Pnet(PnetSource::open(iface, &opts.pnet())?),
        })
    }

    /// Appends up to `max` frames to `batch` and returns how many. Waits at most about
    /// 100 ms for the first one; 0 means nothing arrived in that time or `stop` is set —
    /// the caller checks `stop`, flushes what it holds, and calls again.
    pub fn next_batch(
        &mut self,
        batch: &mut Batch,
        max: usize,
        stop: &AtomicBool,
    ) -> Result<usize, CaptureError> {
        match self {
            LiveSource::Ring(s) => s.next_batch(batch, max, stop),
            LiveSource::Pnet(s) => s.next_batch(batch, max, stop),
        }
    }

    /// Frame buffers come from `pool` (handed back downstream) when it has any.
    pub fn use_pool(&mut self, pool: &FramePool) {
        match self {
            LiveSource::Ring(s) => s.use_pool(pool),
            LiveSource::Pnet(s) => s.use_pool(pool),
        }
    }

    pub fn link_type(&self) -> LinkType {
        match self {
            LiveSource::Ring(s) => s.link_type(),
            LiveSource::Pnet(s) => s.link_type(),
        }
    }

    /// Frames the kernel dropped since the capture started (PACKET_STATISTICS).
    pub fn kernel_drops(&mut self) -> u64 {
        match self {
            LiveSource::Ring(s) => s.kernel_drops(),
            LiveSource::Pnet(s) => s.kernel_drops(),
        }
    }

    /// Kernel counters since the capture started; an error if they cannot be read.
    pub fn kernel_stats(&mut self) -> Result<KernelStats, CaptureError> {
        match self {
            LiveSource::Ring(s) => s.stats(),
            LiveSource::Pnet(s) => s.stats(),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            LiveSource::Ring(_) => Backend::Ring,
            LiveSource::Pnet(_) => Backend::Pnet,
        }
    }
}

#[cfg(test)]
mod tests;
