//! Live capture through an AF_PACKET socket with a TPACKET_V3 memory-mapped receive ring.
//!
//! The kernel fills whole blocks of frames in shared memory and hands a block over by
//! flipping its status word; reading costs no system call per frame, only the one copy into
//! `Frame::data`. This is the only module of oftsniff with `unsafe` code: the socket calls
//! go through `libc`, and the ring is memory the kernel writes concurrently. The small
//! socket helpers the pnet backend needs (statistics, receive buffer, link type) live here
//! for the same reason.

use std::ffi::CString;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::error::CaptureError;
use super::frame::{Batch, Frame, FrameNo, LinkType, Timestamp};

/// How long one `poll` waits, so a stop request is seen within this time.
pub const POLL_INTERVAL_MS: i32 = 100;

// Values from <linux/if_packet.h> and <linux/if_ether.h>.
const ETH_P_ALL: u16 = 0x0003;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_VERSION: libc::c_int = 10;
const PACKET_FANOUT: libc::c_int = 18;
const PACKET_MR_PROMISC: u16 = 1;
const TPACKET_V3: libc::c_int = 2;
const PACKET_FANOUT_HASH: u32 = 0;
const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
/// tp_frame_size for the ring request: TPACKET_V3 packs frames of any size into a block,
/// but the kernel still checks frame size and count for consistency.
const RING_FRAME_SIZE: usize = 2048;

/// struct tpacket_req3.
#[repr(C)]
struct TpacketReq3 {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
    retire_blk_tov: u32,
    sizeof_priv: u32,
    feature_req_word: u32,
}

/// struct tpacket_stats_v3 (its first two fields are struct tpacket_stats, which is what
/// a socket without a V3 ring returns).
#[repr(C)]
#[derive(Default)]
struct TpacketStatsV3 {
    packets: u32,
    drops: u32,
    freeze_q_cnt: u32,
}

/// struct packet_mreq.
#[repr(C)]
struct PacketMreq {
    ifindex: libc::c_int,
    mr_type: u16,
    alen: u16,
    address: [u8; 8],
}

/// Offsets in struct tpacket_block_desc (version, offset_to_priv, then tpacket_hdr_v1,
/// which is 8-byte aligned).
const BLOCK_STATUS_OFF: usize = 8;
const BLOCK_NUM_PKTS_OFF: usize = 12;
const BLOCK_FIRST_PKT_OFF: usize = 16;
const BLOCK_DESC_LEN: usize = 48;

/// struct tpacket3_hdr.
#[repr(C)]
#[derive(Clone, Copy)]
struct Tpacket3Hdr {
    next_offset: u32,
    sec: u32,
    nsec: u32,
    snaplen: u32,
    len: u32,
    status: u32,
    mac: u16,
    net: u16,
    rxhash: u32,
    vlan_tci: u32,
    vlan_tpid: u16,
    padding: u16,
    padding2: [u8; 8],
}

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
}

impl Default for RingOptions {
    fn default() -> Self {
        RingOptions {
            block_size: 1 << 20,
            block_count: 64,
            block_timeout_ms: 10,
            promisc: true,
            fanout_group: None,
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

/// Where reading stopped inside the block currently owned by user space.
#[derive(Clone, Copy)]
struct BlockCursor {
    pkts_left: u32,
    offset: usize,
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
}

// SAFETY: the ring mapping belongs to this value alone (nothing else holds the pointer),
// and the kernel side synchronises through the block status words, not through the
// thread that created the mapping; moving the owner to another thread is sound.
unsafe impl Send for RingSource {}

impl RingSource {
    /// Opens the socket, maps the ring, binds to `iface` and applies the options.
    pub fn open(iface: &str, opts: &RingOptions) -> Result<RingSource, CaptureError> {
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
        let ifindex = interface_index(iface)?;
        let fd = open_packet_socket(iface)?;

        let version: libc::c_int = TPACKET_V3;
        setsockopt(&fd, PACKET_VERSION, &version)
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
        setsockopt(&fd, PACKET_RX_RING, &req)
            .map_err(|e| CaptureError::from_os(iface, "allocate the TPACKET_V3 ring", e))?;

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
        let ring = NonNull::new(map as *mut u8).expect("mmap does not return null on success");
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
        };

        bind_all_protocols(&src.fd, ifindex)
            .map_err(|e| CaptureError::from_os(iface, "bind", e))?;
        src.link = bound_link_type(&src.fd, iface)?;
        if opts.promisc {
            set_promisc(&src.fd, ifindex)
                .map_err(|e| CaptureError::from_os(iface, "enable promiscuous mode", e))?;
        }
        if let Some(group) = opts.fanout_group {
            let arg: u32 = group as u32 | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
            setsockopt(&src.fd, PACKET_FANOUT, &arg)
                .map_err(|e| CaptureError::from_os(iface, "join the fanout group", e))?;
        }
        Ok(src)
    }

    pub fn link_type(&self) -> LinkType {
        self.link
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

    fn block_ptr(&self, block: usize) -> *mut u8 {
        debug_assert!(block < self.block_count);
        // SAFETY: block < block_count, so the offset stays inside the ring_len-byte mapping.
        unsafe { self.ring.as_ptr().add(block * self.block_size) }
    }

    fn status_word(&self) -> &AtomicU32 {
        // SAFETY: the status word is a 4-byte-aligned u32 at a fixed offset inside the
        // current block (blocks start page-aligned), valid for the mapping's lifetime which
        // outlives &self. The kernel writes it concurrently, hence the atomic view;
        // AtomicU32 has the same layout as u32.
        unsafe { &*(self.block_ptr(self.block).add(BLOCK_STATUS_OFF) as *const AtomicU32) }
    }

    fn block_status(&self) -> u32 {
        // Acquire: the frames the kernel wrote before handing the block over are visible.
        self.status_word().load(Ordering::Acquire)
    }

    fn start_block(&mut self) {
        let base = self.block_ptr(self.block);
        // SAFETY: the block belongs to user space (status has TP_STATUS_USER), so the kernel
        // no longer writes its descriptor; both fields are aligned u32s inside the
        // descriptor at the block start.
        let (num, first) = unsafe {
            (
                ptr::read(base.add(BLOCK_NUM_PKTS_OFF) as *const u32),
                ptr::read(base.add(BLOCK_FIRST_PKT_OFF) as *const u32),
            )
        };
        self.cursor = Some(BlockCursor {
            pkts_left: num,
            offset: first as usize,
        });
    }

    /// Copies up to `room` frames out of the current block; hands the block back to the
    /// kernel once it is empty.
    fn drain_block(&mut self, mut cur: BlockCursor, batch: &mut Batch, room: usize) -> usize {
        let base = self.block_ptr(self.block);
        let hdr_len = mem::size_of::<Tpacket3Hdr>();
        let mut taken = 0;
        while cur.pkts_left > 0 && taken < room {
            // The kernel is trusted, but offsets are still checked against the block so a
            // bad value can never make a read leave the mapping.
            if cur.offset < BLOCK_DESC_LEN || cur.offset + hdr_len > self.block_size {
                cur.pkts_left = 0;
                break;
            }
            // SAFETY: cur.offset + hdr_len <= block_size was checked above, the block is
            // owned by user space until released below, and read_unaligned needs no
            // alignment.
            let h: Tpacket3Hdr =
                unsafe { ptr::read_unaligned(base.add(cur.offset) as *const Tpacket3Hdr) };
            let start = cur.offset + h.mac as usize;
            let len = h.snaplen as usize;
            if start + len > self.block_size {
                cur.pkts_left = 0;
                break;
            }
            // SAFETY: [start, start + len) lies inside this block (checked just above),
            // which user space owns until it is released; the slice is dropped before that.
            let bytes = unsafe { std::slice::from_raw_parts(base.add(start), len) };
            self.frames += 1;
            batch.push(self.frame_from(&h, bytes));
            taken += 1;
            cur.pkts_left -= 1;
            if h.next_offset == 0 {
                cur.pkts_left = 0;
            }
            cur.offset += h.next_offset as usize;
        }
        if cur.pkts_left == 0 {
            // Release: all reads of the block happen before the kernel may refill it.
            self.status_word()
                .store(TP_STATUS_KERNEL, Ordering::Release);
            self.block = (self.block + 1) % self.block_count;
            self.cursor = None;
        } else {
            self.cursor = Some(cur);
        }
        taken
    }

    fn frame_from(&self, h: &Tpacket3Hdr, bytes: &[u8]) -> Frame {
        let ts = Timestamp(h.sec as u64 * 1_000_000_000 + h.nsec as u64);
        let no = FrameNo(self.frames);
        // The kernel strips a VLAN tag the NIC offloaded; put it back so the frame looks
        // as it did on the wire (and as it would in a pcap written by tcpdump).
        if h.status & TP_STATUS_VLAN_VALID != 0
            && self.link == LinkType::Ethernet
            && bytes.len() >= 12
        {
            let tpid = if h.status & TP_STATUS_VLAN_TPID_VALID != 0 && h.vlan_tpid != 0 {
                h.vlan_tpid
            } else {
                0x8100
            };
            let mut data = Vec::with_capacity(bytes.len() + 4);
            data.extend_from_slice(&bytes[..12]);
            data.extend_from_slice(&tpid.to_be_bytes());
            data.extend_from_slice(&(h.vlan_tci as u16).to_be_bytes());
            data.extend_from_slice(&bytes[12..]);
            return Frame {
                no,
                ts,
                orig_len: h.len.saturating_add(4),
                link: self.link,
                data,
            };
        }
        Frame {
            no,
            ts,
            orig_len: h.len,
            link: self.link,
            data: bytes.to_vec(),
        }
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

/// Waits up to `timeout_ms` for the socket to become readable. A pending socket error
/// (interface gone or down) is returned as that error.
pub(super) fn poll_readable(fd: &OwnedFd, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: pfd is a valid pollfd for the duration of the call and nfds is 1.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    if pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
        if let Some(e) = take_socket_error(fd) {
            return Err(e);
        }
        if pfd.revents & libc::POLLNVAL != 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
    }
    Ok(pfd.revents & libc::POLLIN != 0)
}

/// The socket's pending error (SO_ERROR), e.g. ENETDOWN once the interface goes down.
pub(super) fn take_socket_error(fd: &impl AsRawFd) -> Option<io::Error> {
    let mut err: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: err and len are valid for writes of the sizes passed.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            &mut err as *mut libc::c_int as *mut libc::c_void,
            &mut len,
        )
    };
    (rc == 0 && err != 0).then(|| io::Error::from_raw_os_error(err))
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

fn setsockopt<T>(fd: &OwnedFd, opt: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: val points to a live T of the size passed; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            opt,
            val as *const T as *const libc::c_void,
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The kernel's index of `iface` in the calling thread's network namespace.
pub(super) fn interface_index(iface: &str) -> Result<u32, CaptureError> {
    let unknown = || CaptureError::NoSuchInterface {
        iface: iface.to_string(),
    };
    let name = CString::new(iface).map_err(|_| unknown())?;
    // SAFETY: name is a valid NUL-terminated string that outlives the call.
    let idx = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if idx == 0 {
        return Err(unknown());
    }
    Ok(idx)
}

/// An AF_PACKET raw socket that receives nothing until it is bound (protocol 0), so no
/// frame of another interface slips in before the bind.
pub(super) fn open_packet_socket(iface: &str) -> Result<OwnedFd, CaptureError> {
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(CaptureError::from_os(
            iface,
            "open a packet socket",
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: fd is a freshly created descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn bind_all_protocols(fd: &OwnedFd, ifindex: u32) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ETH_P_ALL.to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: sll is a valid sockaddr_ll and the length passed is its size.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn set_promisc(fd: &OwnedFd, ifindex: u32) -> io::Result<()> {
    let mreq = PacketMreq {
        ifindex: ifindex as i32,
        mr_type: PACKET_MR_PROMISC,
        alen: 0,
        address: [0; 8],
    };
    setsockopt(fd, PACKET_ADD_MEMBERSHIP, &mreq)
}

/// The framing of frames on a bound packet socket, from the interface's hardware type.
pub(super) fn bound_link_type(fd: &impl AsRawFd, iface: &str) -> Result<LinkType, CaptureError> {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: sll and len are valid for writes; the kernel writes at most len bytes.
    let rc = unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            &mut sll as *mut libc::sockaddr_ll as *mut libc::sockaddr,
            &mut len,
        )
    };
    if rc != 0 {
        return Err(CaptureError::from_os(
            iface,
            "getsockname",
            io::Error::last_os_error(),
        ));
    }
    link_type_for_arphrd(sll.sll_hatype).ok_or(CaptureError::UnsupportedInterfaceType {
        iface: iface.to_string(),
        arphrd: sll.sll_hatype,
    })
}

/// ARPHRD_* hardware types whose frames oftsniff can decode.
fn link_type_for_arphrd(arphrd: u16) -> Option<LinkType> {
    match arphrd {
        libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK => Some(LinkType::Ethernet),
        // tun devices and raw-IP modems: the packet socket sees the bare IP packet.
        libc::ARPHRD_NONE | 519 /* ARPHRD_RAWIP */ => Some(LinkType::Raw),
        _ => None,
    }
}

/// Reads and resets the socket's PACKET_STATISTICS counters.
pub(super) fn read_packet_stats(fd: &impl AsRawFd) -> io::Result<KernelStats> {
    let mut st = TpacketStatsV3::default();
    let mut len = mem::size_of::<TpacketStatsV3>() as libc::socklen_t;
    // SAFETY: st and len are valid for writes; the kernel writes at most len bytes (12 for
    // a V3 ring, 8 otherwise).
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            PACKET_STATISTICS,
            &mut st as *mut TpacketStatsV3 as *mut libc::c_void,
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(KernelStats {
        packets: st.packets as u64,
        drops: st.drops as u64,
    })
}

/// Asks for a receive buffer of `bytes`: beyond the rmem_max sysctl when the process may
/// (SO_RCVBUFFORCE), otherwise as much as the sysctl allows.
pub(super) fn set_receive_buffer(fd: RawFd, bytes: usize) -> io::Result<()> {
    let val = bytes.min(i32::MAX as usize) as libc::c_int;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: val is a live c_int of the size passed; the kernel only reads it.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                &val as *const libc::c_int as *const libc::c_void,
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            return Ok(());
        }
    }
    Err(io::Error::last_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_struct_layouts_match_the_uapi_headers() {
        // Sizes from <linux/if_packet.h> on every Linux ABI.
        assert_eq!(mem::size_of::<Tpacket3Hdr>(), 48);
        assert_eq!(mem::size_of::<TpacketReq3>(), 28);
        assert_eq!(mem::size_of::<TpacketStatsV3>(), 12);
        assert_eq!(mem::size_of::<PacketMreq>(), 16);
    }

    #[test]
    fn unknown_interface_is_reported_as_such() {
        for name in ["oftsniff-nope0", "bad\0name", "a-name-longer-than-ifnamsiz"] {
            let e = RingSource::open(name, &RingOptions::default())
                .err()
                .expect("must fail");
            assert!(
                matches!(e, CaptureError::NoSuchInterface { .. }),
                "{name}: {e}"
            );
        }
    }

    #[test]
    fn ring_geometry_is_checked_before_any_socket_call() {
        let opts = RingOptions {
            block_size: 1000,
            ..RingOptions::default()
        };
        let e = RingSource::open("lo", &opts).err().expect("must fail");
        assert!(e.to_string().contains("page size"), "{e}");
    }

    #[test]
    fn hardware_types_map_to_link_types() {
        assert_eq!(
            link_type_for_arphrd(libc::ARPHRD_ETHER),
            Some(LinkType::Ethernet)
        );
        assert_eq!(
            link_type_for_arphrd(libc::ARPHRD_LOOPBACK),
            Some(LinkType::Ethernet)
        );
        assert_eq!(link_type_for_arphrd(libc::ARPHRD_NONE), Some(LinkType::Raw));
        assert_eq!(link_type_for_arphrd(libc::ARPHRD_IEEE80211_RADIOTAP), None);
    }
}
