//! Attaching a classic BPF program to a packet socket (SO_ATTACH_FILTER), for both live
//! backends. The program comes from libpcap's compiler (`capture::filter`); until it is
//! attached the socket carries a program that drops everything, so no frame from before
//! the filter slips into the ring or the receive queue between `bind` and attaching it.

use std::io;
use std::mem;
use std::os::fd::RawFd;

use pcap::BpfProgram;

use crate::capture::error::CaptureError;
use crate::capture::filter::FilterExpr;
use crate::capture::frame::LinkType;

/// `ret #0`: accept no bytes of any frame.
const DROP_ALL: [libc::sock_filter; 1] = [libc::sock_filter {
    code: 0x06, // BPF_RET | BPF_K
    jt: 0,
    jf: 0,
    k: 0,
}];

fn attach(fd: RawFd, insns: &[libc::sock_filter]) -> io::Result<()> {
    let len = u16::try_from(insns.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "filter program too long"))?;
    let prog = libc::sock_fprog {
        len,
        filter: insns.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points at `len` valid instructions that outlive the call; the kernel
    // copies the program before returning.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &prog as *const libc::sock_fprog as *const libc::c_void,
            mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Before `bind`: nothing is accepted until [`attach_filter`] replaces this.
pub(in crate::capture) fn block_all(fd: RawFd, iface: &str) -> Result<(), CaptureError> {
    attach(fd, &DROP_ALL).map_err(|e| CaptureError::from_os(iface, "attach the capture filter", e))
}

/// Compiles `expr` for the socket's link type and attaches it in place of any earlier
/// program. Its accepting returns keep `snaplen` bytes (`-s`): the kernel cuts a frame to
/// what the program returns, and libpcap's compiler, run without a capture, returns 65535,
/// which would cut larger (GRO) frames below the snap length.
pub(in crate::capture) fn attach_filter(
    fd: RawFd,
    iface: &str,
    link: LinkType,
    expr: &FilterExpr,
    snaplen: u32,
) -> Result<(), CaptureError> {
    let prog = expr.compile(link).map_err(CaptureError::Filter)?;
    let insns = with_snaplen(instructions(&prog), snaplen);
    attach(fd, &insns).map_err(|e| CaptureError::from_os(iface, "attach the capture filter", e))
}

/// The program with every `ret #k` that accepts (k > 0) returning `snaplen` instead.
fn with_snaplen(insns: &[libc::sock_filter], snaplen: u32) -> Vec<libc::sock_filter> {
    insns
        .iter()
        .map(|i| {
            let mut i = *i;
            if i.code == DROP_ALL[0].code && i.k != 0 {
                i.k = snaplen.max(1);
            }
            i
        })
        .collect()
}

fn instructions(prog: &BpfProgram) -> &[libc::sock_filter] {
    let insns = prog.get_instructions();
    // SAFETY: pcap's BpfInstruction is #[repr(transparent)] over libpcap's struct bpf_insn
    // { u_short code; u_char jt; u_char jf; bpf_u_int32 k; }, which has the layout of the
    // kernel's struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; } (the same
    // classic BPF instruction); the slice stays borrowed from `prog`.
    unsafe { std::slice::from_raw_parts(insns.as_ptr() as *const libc::sock_filter, insns.len()) }
}
