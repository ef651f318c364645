//! Capabilities belong to threads, and Linux gives no call that changes another
//! thread's. The signal thread and the pcap writer start before the privileges go (a
//! stop must work while a source is still opening; the writer's files are outputs), so
//! each thread is asked to give up its own: a real-time signal whose handler makes the
//! same raw system calls the main thread makes (capget, capset, prctl: all
//! async-signal-safe, no allocation), the way glibc spreads setuid to every thread.
//! Afterwards every thread's `/proc` status is read back: a thread that still holds
//! more than it should is an error, not a warning.

use super::caps;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What each thread does to itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Empty the bounding and ambient sets (before setuid takes CAP_SETPCAP away).
    ClearBounding,
    /// Keep at most these capabilities (a mask by number) and set no_new_privs.
    LimitTo(u64),
}

static STEP: AtomicU8 = AtomicU8::new(0);
static MASK: AtomicU64 = AtomicU64::new(0);
static DONE: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

/// How long the other threads get to run the handler: each is either runnable or
/// blocked in a call the signal interrupts, so this is only ever reached by a thread
/// that was exiting, which the read-back then no longer finds.
const WAIT: Duration = Duration::from_secs(2);

fn signal() -> libc::c_int {
    // The first real-time signals may belong to the C library; this one is ours.
    libc::SIGRTMIN() + 3
}

fn apply(step: Step) -> io::Result<()> {
    match step {
        Step::ClearBounding => caps::clear_bounding_and_ambient(),
        Step::LimitTo(mask) => caps::limit_to(mask),
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    // SAFETY: errno is thread-local; it is read and put back so the interrupted code
    // never sees the handler's.
    let errno = unsafe { *libc::__errno_location() };
    let step = match STEP.load(Ordering::SeqCst) {
        0 => Step::ClearBounding,
        _ => Step::LimitTo(MASK.load(Ordering::SeqCst)),
    };
    if apply(step).is_err() {
        FAILED.fetch_add(1, Ordering::SeqCst);
    }
    DONE.fetch_add(1, Ordering::SeqCst);
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

fn install() -> io::Result<()> {
    // SAFETY: a zeroed sigaction is valid; the handler only makes async-signal-safe
    // system calls and touches atomics. SA_RESTART resumes the calls it interrupts.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(signal(), &sa, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The ids of this process's threads other than the caller.
fn other_threads() -> io::Result<Vec<libc::pid_t>> {
    // SAFETY: gettid has no preconditions.
    let me = unsafe { libc::gettid() };
    Ok(std::fs::read_dir("/proc/self/task")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&t| t != me)
        .collect())
}

/// Runs `step` in the calling thread and then in every other thread of the process.
pub(super) fn everywhere(step: Step) -> io::Result<()> {
    apply(step)?;
    install()?;
    if let Step::LimitTo(mask) = step {
        MASK.store(mask, Ordering::SeqCst);
    }
    STEP.store(u8::from(step != Step::ClearBounding), Ordering::SeqCst);
    DONE.store(0, Ordering::SeqCst);
    FAILED.store(0, Ordering::SeqCst);
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut sent = 0;
    for tid in other_threads()? {
        // SAFETY: tgkill with plain integers; a thread gone since the listing is ESRCH.
        if unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, signal()) } == 0 {
            sent += 1;
        }
    }
    let deadline = Instant::now() + WAIT;
    while DONE.load(Ordering::SeqCst) < sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    if FAILED.load(Ordering::SeqCst) > 0 {
        return Err(io::Error::other(
            "a thread could not change its capabilities",
        ));
    }
    match step {
        Step::LimitTo(mask) => verify(mask),
        Step::ClearBounding => Ok(()),
    }
}

/// Reads every thread's effective and permitted sets back.
fn verify(mask: u64) -> io::Result<()> {
    for e in std::fs::read_dir("/proc/self/task")? {
        let Ok(status) = std::fs::read_to_string(e?.path().join("status")) else {
            continue; // the thread has ended
        };
        for key in ["CapEff:", "CapPrm:"] {
            let held = status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                .ok_or_else(|| io::Error::other(format!("no {key} in a thread's status")))?;
            if held & !mask != 0 {
                return Err(io::Error::other(format!(
                    "a thread still holds capabilities {held:016x}"
                )));
            }
        }
    }
    Ok(())
}
