//! What happens when a mapped capture file shrinks under the reader.
//!
//! Reading a page of a file mapping past the file's end raises SIGBUS, which kills the
//! process by default. Files do shrink while read: `tcpdump -C … -W N` reopens its oldest
//! file with O_TRUNC when the ring wraps, logrotate's `copytruncate` cuts a file in place.
//! So every mapping is registered here, and a SIGBUS inside one replaces the pages from
//! the fault to the end of that mapping with zero-filled anonymous pages and marks it hit:
//! the faulting read resumes and sees zeros; the reader stops at its next record and
//! reports the file as changed while read. A SIGBUS anywhere else goes to the handler that
//! was there before (Rust's own, which reports stack overflows), or kills as it would have.
//!
//! The handler is async-signal-safe: atomics, and the mmap and sigaction system calls.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Mappings watched at once: files open together in one merge, plus those still kept
/// alive by frames in flight. A file finding no free slot is read without mapping.
const SLOTS: usize = 256;

struct Slot {
    /// First address of the mapping; 0 when the slot is free.
    start: AtomicUsize,
    end: AtomicUsize,
    hit: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot {
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    hit: AtomicBool::new(false),
};
static SLOT: [Slot; SLOTS] = [FREE; SLOTS];
/// Serializes registration (not the handler, which only reads).
static CLAIM: Mutex<()> = Mutex::new(());
/// The SIGBUS action found at install, chained to for faults outside every mapping.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();
static PAGE: AtomicUsize = AtomicUsize::new(4096);

/// A mapping watched for SIGBUS until dropped (drop it before unmapping).
pub struct Watch {
    slot: usize,
}

impl Watch {
    /// Watches `len` bytes at `start`; `None` when the handler cannot be installed or every
    /// slot is taken (the caller then reads the file instead of mapping it).
    pub fn new(start: usize, len: usize) -> Option<Watch> {
        if !install() || start == 0 {
            return None;
        }
        let page = PAGE.load(Ordering::Relaxed);
        let end = start.checked_add(len)?.checked_add(page - 1)? & !(page - 1);
        let _g = CLAIM.lock().unwrap_or_else(|p| p.into_inner());
        let slot = SLOT
            .iter()
            .position(|s| s.start.load(Ordering::Acquire) == 0)?;
        let s = &SLOT[slot];
        s.hit.store(false, Ordering::Relaxed);
        s.end.store(end, Ordering::Release);
        s.start.store(start, Ordering::Release);
        Some(Watch { slot })
    }

    /// Whether a read of the mapping faulted past the file's end: the file shrank, and
    /// the rest of the mapping now reads as zeros.
    pub fn hit(&self) -> bool {
        SLOT[self.slot].hit.load(Ordering::Relaxed)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _g = CLAIM.lock().unwrap_or_else(|p| p.into_inner());
        SLOT[self.slot].start.store(0, Ordering::Release);
    }
}

/// Installs the handler once; false when that failed.
fn install() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    *DONE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if page > 0 {
            PAGE.store(page as usize, Ordering::Relaxed);
        }
        // SAFETY: both sigaction structs are valid and zero is a valid bit pattern for
        // them; the handler only does async-signal-safe work.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old) != 0 {
                return false;
            }
            let _ = PREVIOUS.set(old);
            let mut act: libc::sigaction = std::mem::zeroed();
            let handler: Handler = on_sigbus;
            act.sa_sigaction = handler as usize;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(libc::SIGBUS, &act, std::ptr::null_mut()) == 0
        }
    })
}

type Handler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    for s in &SLOT {
        let start = s.start.load(Ordering::Acquire);
        let end = s.end.load(Ordering::Acquire);
        if start == 0 || addr < start || addr >= end {
            continue;
        }
        let from = addr & !(page - 1);
        // SAFETY: [from, end) lies inside a live mapping of ours (its Watch is dropped
        // before it is unmapped, and the faulting thread holds it); MAP_FIXED replaces
        // those pages with zeros, which every reader of the range accepts as bytes.
        let p = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            s.hit.store(true, Ordering::Relaxed);
            return;
        }
        break;
    }
    chain(sig, info, ctx);
}

/// Hands a SIGBUS that is not ours to the action there before.
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    match PREVIOUS.get() {
        Some(old)
            if old.sa_sigaction != libc::SIG_DFL
                && old.sa_sigaction != libc::SIG_IGN
                && old.sa_flags & libc::SA_SIGINFO != 0 =>
        {
            // SAFETY: the previous action was installed with SA_SIGINFO, so its address
            // is a handler of exactly this signature.
            let f: Handler = unsafe { std::mem::transmute::<usize, Handler>(old.sa_sigaction) };
            f(sig, info, ctx);
        }
        Some(old) if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN => {
            // SAFETY: a plain handler's address, installed without SA_SIGINFO.
            let f: extern "C" fn(libc::c_int) = unsafe {
                std::mem::transmute::<usize, extern "C" fn(libc::c_int)>(old.sa_sigaction)
            };
            f(sig);
        }
        _ => {
            // Back to the default: returning re-runs the faulting access, which now kills
            // the process as it would have without us.
            // SAFETY: a zeroed sigaction with SIG_DFL is valid.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
            }
        }
    }
}
