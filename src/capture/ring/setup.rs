//! Setting the ring up: its geometry, the TPACKET_V3 request, the mapping, and the socket
//! options applied once it is bound.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr::{self, NonNull};

use super::bpf::{attach_filter, block_all};
use super::socket::{bind_all_protocols, bound_link_type, page_size, set_promisc, setsockopt};
use super::{RingOptions, RingSource};
use crate::capture::error::CaptureError;

// Values from <linux/if_packet.h>.
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_VERSION: libc::c_int = 10;
const PACKET_FANOUT: libc::c_int = 18;
const TPACKET_V3: libc::c_int = 2;
const PACKET_FANOUT_HASH: u32 = 0;
const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;
/// tp_frame_size for the ring request: TPACKET_V3 packs frames of any size into a block,
/// but the kernel still checks frame size and count for consistency.
const RING_FRAME_SIZE: usize = 2048;

/// struct tpacket_req3.
#[repr(C)]
pub(super) struct TpacketReq3 {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
    retire_blk_tov: u32,
    sizeof_priv: u32,
    feature_req_word: u32,
}

/// Refuses a geometry the kernel would reject, before any socket call.
pub(super) fn check_geometry(iface: &str, opts: &RingOptions) -> Result<(), CaptureError> {
    let page = page_size();
    if opts.block_size == 0 || !opts.block_size.is_multiple_of(page) || opts.block_count == 0 {
        return Err(CaptureError::Live {
            iface: iface.to_string(),
            what: "ring geometry",
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "block size {} must be a non-zero multiple of the page size {page}, \
                     block count {} non-zero",
                    opts.block_size, opts.block_count
                ),
            ),
        });
    }
    Ok(())
}

/// Switches the socket to TPACKET_V3 and asks the kernel for the ring. Returns the ring's
/// length in bytes.
pub(super) fn request_ring(
    fd: &OwnedFd,
    iface: &str,
    opts: &RingOptions,
) -> Result<usize, CaptureError> {
    let version: libc::c_int = TPACKET_V3;
    setsockopt(fd, PACKET_VERSION, &version)
        .map_err(|e| CaptureError::from_os(iface, "set TPACKET_V3", e))?;

    let ring_len = opts
        .block_size
        .checked_mul(opts.block_count)
        .ok_or_else(|| CaptureError::Live {
            iface: iface.to_string(),
            what: "ring geometry",
            source: io::Error::new(io::ErrorKind::InvalidInput, "ring size overflows"),
        })?;
    let frames_per_block = opts.block_size / RING_FRAME_SIZE;
    let req = TpacketReq3 {
        block_size: opts.block_size as u32,
        block_nr: opts.block_count as u32,
        frame_size: RING_FRAME_SIZE as u32,
        frame_nr: (frames_per_block * opts.block_count) as u32,
        retire_blk_tov: opts.block_timeout_ms,
        sizeof_priv: 0,
        feature_req_word: 0,
    };
    setsockopt(fd, PACKET_RX_RING, &req)
        .map_err(|e| CaptureError::from_os(iface, "allocate the TPACKET_V3 ring", e))?;
    Ok(ring_len)
}

/// Maps the ring the socket was just given into this process.
pub(super) fn map_ring(
    fd: &OwnedFd,
    iface: &str,
    ring_len: usize,
) -> Result<NonNull<u8>, CaptureError> {
    // SAFETY: a fresh shared read/write mapping of the socket's ring, of exactly the
    // size just requested; no existing memory is affected.
    let map = unsafe {
        libc::mmap(
            ptr::null_mut(),
            ring_len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if map == libc::MAP_FAILED {
        return Err(CaptureError::from_os(
            iface,
            "map the ring",
            io::Error::last_os_error(),
        ));
    }
    Ok(NonNull::new(map as *mut u8).expect("mmap does not return null on success"))
}

impl RingSource {
    /// Binds the mapped socket to the interface, learns its link type, and applies the
    /// capture filter, promiscuous and fanout options.
    pub(super) fn attach(
        &mut self,
        iface: &str,
        ifindex: u32,
        opts: &RingOptions,
    ) -> Result<(), CaptureError> {
        if opts.filter.is_some() && !self.cooked {
            block_all(self.fd.as_raw_fd(), iface)?;
        }
        bind_all_protocols(&self.fd, ifindex)
            .map_err(|e| CaptureError::from_os(iface, "bind", e))?;
        if self.cooked {
            // As libpcap: no promiscuous mode on "any", and every frame is cooked.
            self.link = crate::capture::LinkType::LinuxSll;
            // The kernel runs a socket filter on the frame without the cooked header the
            // program is compiled for, so on "any" it runs here, on each cooked frame.
            if let Some(expr) = &opts.filter {
                self.user_filter = Some(expr.compile(self.link).map_err(CaptureError::Filter)?);
            }
            return self.join_fanout(iface, opts);
        }
        self.link = bound_link_type(&self.fd, iface)?;
        if let Some(expr) = &opts.filter {
            attach_filter(self.fd.as_raw_fd(), iface, self.link, expr, opts.snaplen)?;
        }
        if opts.promisc {
            set_promisc(&self.fd, ifindex)
                .map_err(|e| CaptureError::from_os(iface, "enable promiscuous mode", e))?;
        }
        self.join_fanout(iface, opts)
    }

    fn join_fanout(&self, iface: &str, opts: &RingOptions) -> Result<(), CaptureError> {
        if let Some(group) = opts.fanout_group {
            let arg: u32 = group as u32 | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
            setsockopt(&self.fd, PACKET_FANOUT, &arg)
                .map_err(|e| CaptureError::from_os(iface, "join the fanout group", e))?;
        }
        Ok(())
    }
}
