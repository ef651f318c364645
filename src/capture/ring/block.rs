//! Walking the ring: taking over a block the kernel filled, copying its frames out, and
//! handing it back.

use std::mem;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};

use super::RingSource;
use crate::capture::frame::{Batch, Frame, FrameNo, LinkType, Timestamp};

// Values from <linux/if_packet.h>.
const TP_STATUS_KERNEL: u32 = 0;
pub(super) const TP_STATUS_USER: u32 = 1;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;

/// Offsets in struct tpacket_block_desc (version, offset_to_priv, then tpacket_hdr_v1,
/// which is 8-byte aligned).
const BLOCK_STATUS_OFF: usize = 8;
const BLOCK_NUM_PKTS_OFF: usize = 12;
const BLOCK_FIRST_PKT_OFF: usize = 16;
const BLOCK_DESC_LEN: usize = 48;
/// Where the `sockaddr_ll` follows a frame's header: TPACKET_ALIGN(sizeof tpacket3_hdr).
const SOCKADDR_OFF: usize = 48;
/// Length of the Linux cooked (SLL, LINKTYPE 113) header synthesized for `-i any`.
pub(super) const SLL_HDR_LEN: usize = 16;

/// struct tpacket3_hdr.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct Tpacket3Hdr {
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

/// Where reading stopped inside the block currently owned by user space.
#[derive(Clone, Copy)]
pub(super) struct BlockCursor {
    pkts_left: u32,
    offset: usize,
}

impl RingSource {
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

    pub(super) fn block_status(&self) -> u32 {
        // Acquire: the frames the kernel wrote before handing the block over are visible.
        self.status_word().load(Ordering::Acquire)
    }

    pub(super) fn start_block(&mut self) {
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
    pub(super) fn drain_block(
        &mut self,
        mut cur: BlockCursor,
        batch: &mut Batch,
        room: usize,
    ) -> usize {
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
            self.prefetch_next(base, cur.offset + h.next_offset as usize);
            let start = cur.offset + h.mac as usize;
            let len = h.snaplen as usize;
            if start + len > self.block_size {
                cur.pkts_left = 0;
                break;
            }
            // SAFETY: [start, start + len) lies inside this block (checked just above),
            // which user space owns until it is released; the slice is dropped before that.
            let bytes = unsafe { std::slice::from_raw_parts(base.add(start), len) };
            let sll = if self.cooked || self.loopback.is_some() {
                let at = cur.offset + SOCKADDR_OFF;
                if at + mem::size_of::<libc::sockaddr_ll>() > self.block_size {
                    cur.pkts_left = 0;
                    break;
                }
                // SAFETY: [at, at + sizeof sockaddr_ll) lies inside this user-owned block
                // (checked just above); read_unaligned needs no alignment.
                Some(unsafe { ptr::read_unaligned(base.add(at) as *const libc::sockaddr_ll) })
            } else {
                None
            };
            // Loopback hands every frame to packet sockets twice, as it leaves and as it
            // arrives; like libpcap, keep only the arriving copy.
            let outgoing_copy = sll.as_ref().is_some_and(|sll| {
                Some(sll.sll_ifindex) == self.loopback && sll.sll_pkttype == libc::PACKET_OUTGOING
            });
            if !outgoing_copy {
                let mut frame = match (&sll, self.cooked) {
                    (Some(sll), true) => self.cooked_frame(&h, sll, bytes),
                    _ => self.frame_from(&h, bytes),
                };
                if self
                    .user_filter
                    .as_ref()
                    .is_none_or(|p| p.filter(&frame.data))
                {
                    // Numbered once kept, so numbers count what was captured, as tcpdump's.
                    self.frames += 1;
                    frame.no = FrameNo(self.frames);
                    batch.push(frame);
                    taken += 1;
                }
            }
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

    /// Starts loading the next frame's header and first bytes while this one is copied:
    /// the kernel wrote them on another core, and the walk cannot know where the next
    /// frame is before reading this header, so its misses would otherwise come one after
    /// the other.
    #[inline]
    fn prefetch_next(&self, base: *const u8, offset: usize) {
        #[cfg(target_arch = "x86_64")]
        for line in [0, 64, 128] {
            if offset + line < self.block_size {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                // SAFETY: a prefetch never faults and reads nothing into the program; the
                // address is still inside this block of the mapping (checked above), so
                // the pointer arithmetic stays in bounds.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(base.add(offset + line) as *const i8) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (base, offset);
    }

    fn frame_from(&mut self, h: &Tpacket3Hdr, bytes: &[u8]) -> Frame {
        let ts = Timestamp(h.sec as u64 * 1_000_000_000 + h.nsec as u64);
        let no = FrameNo(self.frames + 1);
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
            data.truncate(self.snaplen);
            return Frame {
                no,
                ts,
                orig_len: h.len.saturating_add(4),
                link: self.link,
                data: data.into(),
            };
        }
        Frame {
            no,
            ts,
            orig_len: h.len,
            link: self.link,
            data: self.bufs.copy(&bytes[..bytes.len().min(self.snaplen)]),
        }
    }

    /// `-i any`: the frame behind a Linux cooked (SLL) header made from its
    /// `sockaddr_ll`, as libpcap writes it.
    fn cooked_frame(&self, h: &Tpacket3Hdr, sll: &libc::sockaddr_ll, bytes: &[u8]) -> Frame {
        let mut data = Vec::with_capacity(SLL_HDR_LEN + bytes.len());
        data.extend_from_slice(&(sll.sll_pkttype as u16).to_be_bytes());
        data.extend_from_slice(&sll.sll_hatype.to_be_bytes());
        data.extend_from_slice(&(sll.sll_halen as u16).to_be_bytes());
        let mut addr = [0u8; 8];
        let n = (sll.sll_halen as usize).min(8);
        addr[..n].copy_from_slice(&sll.sll_addr[..n]);
        data.extend_from_slice(&addr);
        // Already in network byte order.
        data.extend_from_slice(&sll.sll_protocol.to_ne_bytes());
        data.extend_from_slice(bytes);
        data.truncate(self.snaplen);
        Frame {
            no: FrameNo(self.frames + 1),
            ts: Timestamp(h.sec as u64 * 1_000_000_000 + h.nsec as u64),
            orig_len: h.len.saturating_add(SLL_HDR_LEN as u32),
            link: LinkType::LinuxSll,
            data: data.into(),
        }
    }
}
