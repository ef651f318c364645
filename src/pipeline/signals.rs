//! Signals, as a capture left running for weeks wants them:
//!
//! * `SIGINT`, `SIGTERM`: stop capturing, process what was captured, write the counters
//!   and the `stats` event, close every output. The same signal often arrives twice at
//!   once (GNU `timeout` signals the child and then its process group; systemd the whole
//!   cgroup; a terminal's Ctrl-C a wrapper script and oftsniff): a repeat within
//!   [`GRACE`] is the same stop. A later repeat asks to hurry (no waiting for frames the
//!   kernel still holds); the counters and every output are still finished.
//! * `SIGHUP`: reopen `--json` and `-w` at their paths (logrotate renames the old file).
//! * `SIGUSR1`: print the counters so far (as `dd` does).
//!
//! The signals are blocked in the thread that calls [`install`] (and so in every thread
//! it starts later) and taken by one thread with `sigwait`, so no work happens in a
//! signal handler.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A repeat of a stop signal within this time is the same stop.
pub const GRACE: Duration = Duration::from_secs(1);

/// What the signals asked of the current run.
#[derive(Default)]
pub struct RunSignals {
    /// Stop capturing (also set by `-c` when its count is reached).
    pub stop: Arc<AtomicBool>,
    /// A stop signal repeated after [`GRACE`]: skip what can be skipped.
    pub hurry: Arc<AtomicBool>,
    /// Bumped by each `SIGHUP`: outputs reopen when it differs from what they last saw.
    pub reopen: Arc<AtomicU64>,
    /// Bumped by each `SIGUSR1`.
    pub report: Arc<AtomicU64>,
    first_stop: Mutex<Option<Instant>>,
}

impl RunSignals {
    /// A stop signal: the first stops, a repeat within `GRACE` is ignored, a later one
    /// asks to hurry.
    pub fn interrupt(&self, now: Instant) {
        let mut first = self.first_stop.lock().unwrap_or_else(|e| e.into_inner());
        match *first {
            None => {
                *first = Some(now);
                self.stop.store(true, Ordering::SeqCst);
            }
            Some(t) if now.duration_since(t) < GRACE => {}
            Some(_) => {
                if !self.hurry.swap(true, Ordering::SeqCst) {
                    eprintln!(
                        "oftsniff: interrupted again: finishing now (counters and outputs are still written)"
                    );
                }
            }
        }
    }
}

/// The run the signal thread serves; none between runs.
static CURRENT: Mutex<Option<Arc<RunSignals>>> = Mutex::new(None);

/// Starts taking the signals for a new run (the signal thread is started once per
/// process). Failing to set them up only loses graceful stop, reopen and on-demand
/// counters.
pub fn install() -> Arc<RunSignals> {
    static THREAD: OnceLock<bool> = OnceLock::new();
    let run = Arc::new(RunSignals::default());
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(run.clone());
    THREAD.get_or_init(start_thread);
    run
}

/// The run is over: later signals no longer concern it.
pub fn uninstall() {
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before sigaddset uses it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1] {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

fn start_thread() -> bool {
    let set = signal_set();
    // SAFETY: a valid set; blocks these signals in this thread and the threads it starts.
    if unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } != 0 {
        return false;
    }
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let mut sig: libc::c_int = 0;
            // SAFETY: a valid set and out-pointer.
            if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                continue;
            }
            let run = CURRENT.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let Some(run) = run else { continue };
            match sig {
                libc::SIGHUP => {
                    run.reopen.fetch_add(1, Ordering::SeqCst);
                }
                libc::SIGUSR1 => {
                    run.report.fetch_add(1, Ordering::SeqCst);
                }
                _ => run.interrupt(Instant::now()),
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_within_the_grace_is_the_same_stop() {
        let s = RunSignals::default();
        let t = Instant::now();
        s.interrupt(t);
        assert!(s.stop.load(Ordering::SeqCst));
        s.interrupt(t + Duration::from_millis(5));
        s.interrupt(t + GRACE / 2);
        assert!(!s.hurry.load(Ordering::SeqCst));
        s.interrupt(t + GRACE * 2);
        assert!(s.hurry.load(Ordering::SeqCst));
    }
}
