//! Live capture through an AF_PACKET socket with a TPACKET_V3 memory-mapped receive ring.
//!
//! The kernel fills whole blocks of frames in shared memory and hands a block over by
//! flipping its status word; reading costs no system call per frame, only the one copy into
//! `Frame::data`. This is the only module of oftsniff with `unsafe` code: the socket calls
//! go through `libc`, and the ring is memory the kernel writes concurrently. The small
//! socket helpers the pnet backend needs (statistics, receive buffer, link type) live here
//! (in `ring/socket.rs`) for the same reason.

use std::io;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use super::error::CaptureError;
use super::filter::FilterExpr;
use super::frame::{Batch, LinkType};
use super::pool::{BufTaker, FramePool};

mod block;
mod bpf;
mod setup;
mod socket;

use block::{BlockCursor, TP_STATUS_USER};
pub(super) use bpf::{attach_filter, block_all};
pub(super) use socket::{
    bound_link_type, ignore_outgoing, open_cooked_socket, open_packet_socket, read_packet_stats,
    set_receive_buffer, take_socket_error,
};
use socket::{interface_index, poll_readable};

/// How long one `poll` waits, so a stop request is seen within this time.
pub const POLL_INTERVAL_MS: i32 = 100;

/// Ring geometry and socket options for the TPACKET_V3 backend.
#[derive(Clone, Debug)]
pub struct RingOptions {
    /// Bytes per block; a multiple of the page size. Also bounds the largest frame.
    pub block_size: usize,
    /// Blocks in the ring; `block_size * block_count` is the kernel-side buffer.
    pub block_count: usize,
    /// Milliseconds after which the kernel hands over a block that is not yet full, so
    /// frames on a quiet link are not held back.
    pub block_timeout_ms: u32,
    /// Put the interface into promiscuous mode for as long as the socket is open.
    pub promisc: bool,
    /// Join this PACKET_FANOUT group (hash mode) so several capture threads share the
    /// interface, each flow always landing on the same one.
    pub fanout_group: Option<u16>,
    /// A capture filter the kernel applies before a frame enters the ring.
    pub filter: Option<FilterExpr>,
    /// Bytes of each frame copied out of the ring (`-s`); the original length is kept.
    pub snaplen: u32,
}

impl Default for RingOptions {
    fn default() -> Self {
        RingOptions {
            block_size: 1 << 20,
            block_count: 64,
            block_timeout_ms: 10,
            promisc: true,
            fanout_group: None,
            filter: None,
            snaplen: super::DEFAULT_SNAPLEN,
        }
    }
}

/// What the kernel counted on a packet socket since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Frames the kernel offered the socket, dropped ones included.
    pub packets: u64,
    /// Frames dropped because the ring or receive buffer was full.
    pub drops: u64,
}

/// A TPACKET_V3 receive ring on one interface.
pub struct RingSource {
    iface: String,
    fd: OwnedFd,
    ring: NonNull<u8>,
    ring_len: usize,
    block_size: usize,
    block_count: usize,
    link: LinkType,
    block: usize,
    cursor: Option<BlockCursor>,
    stats: KernelStats,
    frames: u64,
    snaplen: usize,
    /// `-i any`: a SOCK_DGRAM socket on every interface; frames get a synthesized
    /// Linux cooked (SLL) header.
    cooked: bool,
    /// The loopback interface's index when it is captured (`-i lo`, `-i any`): its
    /// outgoing copy of each frame is skipped.
    loopback: Option<i32>,
    /// `-i any` with a capture filter: the program, run on each cooked frame.
    user_filter: Option<pcap::BpfProgram>,
    /// Where frame bytes are copied to: recycled buffers when a pool feeds it.
    bufs: Box<BufTaker>,
}

// SAFETY: the ring mapping belongs to this value alone (nothing else holds the pointer),
// and the kernel side synchronises through the block status words, not through the
// thread that created the mapping; moving the owner to another thread is sound. The
// other fields (the filter program included) are Send themselves.
unsafe impl Send for RingSource {}

impl RingSource {
    /// Opens the socket, maps the ring, binds to `iface` and applies the options.
    pub fn open(iface: &str, opts: &RingOptions) -> Result<RingSource, CaptureError> {
        setup::check_geometry(iface, opts)?;
        let cooked = iface == super::ANY_INTERFACE;
        let ifindex = if cooked { 0 } else { interface_index(iface)? };
        let fd = if cooked {
            open_cooked_socket(iface)?
        } else {
            open_packet_socket(iface)?
        };
        let ring_len = setup::request_ring(&fd, iface, opts)?;
        let ring = setup::map_ring(&fd, iface, ring_len)?;
        // From here on Drop unmaps the ring and closes the socket on every error path.
        let mut src = RingSource {
            iface: iface.to_string(),
            fd,
            ring,
            ring_len,
            block_size: opts.block_size,
            block_count: opts.block_count,
            link: LinkType::Ethernet,
            block: 0,
            cursor: None,
            stats: KernelStats::default(),
            frames: 0,
            snaplen: (opts.snaplen as usize).max(1),
            cooked,
            loopback: super::interfaces::loopback_index(if cooked { None } else { Some(iface) }),
            user_filter: None,
            bufs: Box::default(),
        };
        src.attach(iface, ifindex, opts)?;
        Ok(src)
    }

    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// Copies frames into buffers from `pool` (handed back by the workers or the pcap
    /// writer) when it has any.
    pub fn use_pool(&mut self, pool: &FramePool) {
        *self.bufs = pool.taker();
    }

    /// Appends up to `max` frames. Waits at most one poll interval for the first frame;
    /// returns 0 when none came in that time or `stop` is set, so the caller can check
    /// its own state (and flush partial batches) regularly.
    pub fn next_batch(
        &mut self,
        batch: &mut Batch,
        max: usize,
        stop: &AtomicBool,
    ) -> Result<usize, CaptureError> {
        let mut added = 0;
        let mut polled = false;
        loop {
            if let Some(cur) = self.cursor {
                added += self.drain_block(cur, batch, max - added);
                if added >= max {
                    return Ok(added);
                }
            }
            if self.block_status() & TP_STATUS_USER != 0 {
                self.start_block();
                continue;
            }
            if added > 0 || polled || stop.load(Ordering::Relaxed) {
                return Ok(added);
            }
            self.wait()?;
            polled = true;
        }
    }

    /// Kernel counters, accumulated (the kernel resets them on every read).
    pub fn stats(&mut self) -> Result<KernelStats, CaptureError> {
        let s = read_packet_stats(&self.fd)
            .map_err(|e| CaptureError::from_os(&self.iface, "read PACKET_STATISTICS", e))?;
        self.stats.packets += s.packets;
        self.stats.drops += s.drops;
        Ok(self.stats)
    }

    /// Frames the kernel dropped so far; keeps the last known total if reading fails.
    pub fn kernel_drops(&mut self) -> u64 {
        self.stats().map(|s| s.drops).unwrap_or(self.stats.drops)
    }

    fn wait(&self) -> Result<(), CaptureError> {
        match poll_readable(&self.fd, POLL_INTERVAL_MS) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(CaptureError::from_os(&self.iface, "poll", e)),
        }
    }
}

impl Drop for RingSource {
    fn drop(&mut self) {
        // SAFETY: ring/ring_len are exactly the mapping made in open(); no slice into it
        // outlives a next_batch call, so nothing refers to it any more.
        unsafe {
            libc::munmap(self.ring.as_ptr() as *mut libc::c_void, self.ring_len);
        }
        // The socket closes when `fd` drops, which also leaves promiscuous mode and the
        // fanout group.
    }
}

#[cfg(test)]
mod tests;
