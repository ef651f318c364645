//! Packet-socket calls through `libc`: those of the ring and the ones the pnet backend
//! shares (statistics, receive buffer, link type, socket errors).

use std::ffi::CString;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::KernelStats;
use crate::capture::error::CaptureError;
use crate::capture::frame::LinkType;

// Values from <linux/if_packet.h> and <linux/if_ether.h>.
const ETH_P_ALL: u16 = 0x0003;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_MR_PROMISC: u16 = 1;

/// struct tpacket_stats_v3 (its first two fields are struct tpacket_stats, which is what
/// a socket without a V3 ring returns).
#[repr(C)]
#[derive(Default)]
pub(super) struct TpacketStatsV3 {
    packets: u32,
    drops: u32,
    freeze_q_cnt: u32,
}

/// struct packet_mreq.
#[repr(C)]
pub(super) struct PacketMreq {
    ifindex: libc::c_int,
    mr_type: u16,
    alen: u16,
    address: [u8; 8],
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
pub(in crate::capture) fn take_socket_error(fd: &impl AsRawFd) -> Option<io::Error> {
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

pub(super) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

pub(super) fn setsockopt<T>(fd: &OwnedFd, opt: libc::c_int, val: &T) -> io::Result<()> {
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
pub(in crate::capture) fn open_packet_socket(iface: &str) -> Result<OwnedFd, CaptureError> {
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

/// `-i any`: an AF_PACKET datagram socket (frames without their link header, the
/// sender's address in a `sockaddr_ll` beside each one), as libpcap's cooked mode.
pub(in crate::capture) fn open_cooked_socket(iface: &str) -> Result<OwnedFd, CaptureError> {
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
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

pub(super) fn bind_all_protocols(fd: &OwnedFd, ifindex: u32) -> io::Result<()> {
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

pub(super) fn set_promisc(fd: &OwnedFd, ifindex: u32) -> io::Result<()> {
    let mreq = PacketMreq {
        ifindex: ifindex as i32,
        mr_type: PACKET_MR_PROMISC,
        alen: 0,
        address: [0; 8],
    };
    setsockopt(fd, PACKET_ADD_MEMBERSHIP, &mreq)
}

/// The framing of frames on a bound packet socket, from the interface's hardware type.
pub(in crate::capture) fn bound_link_type(
    fd: &impl AsRawFd,
    iface: &str,
) -> Result<LinkType, CaptureError> {
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
pub(super) fn link_type_for_arphrd(arphrd: u16) -> Option<LinkType> {
    match arphrd {
        libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK => Some(LinkType::Ethernet),
        // tun devices and raw-IP modems: the packet socket sees the bare IP packet.
        libc::ARPHRD_NONE | 519 /* ARPHRD_RAWIP */ => Some(LinkType::Raw),
        _ => None,
    }
}

/// Reads and resets the socket's PACKET_STATISTICS counters.
pub(in crate::capture) fn read_packet_stats(fd: &impl AsRawFd) -> io::Result<KernelStats> {
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
/// Asks the kernel not to hand this socket the frames the host sends. On loopback every
/// frame is sent and received, so this leaves one copy of each (kernel 4.20 and later).
pub(in crate::capture) fn ignore_outgoing(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a live c_int of the size passed; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            &on as *const libc::c_int as *const libc::c_void,
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub(in crate::capture) fn set_receive_buffer(fd: RawFd, bytes: usize) -> io::Result<()> {
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
