//! Least privilege (`-Z USER`, as tcpdump's): once the capture source and every output
//! are open, the process becomes USER (supplementary groups, then group, then user, in
//! that order, so no step needs a privilege an earlier one gave up) and proves it cannot
//! become root again. Outputs created before are handed to USER so a reopen after the
//! drop keeps working.
//!
//! Capabilities go at the same point, with or without `-Z`: a packet socket needs
//! CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode) only to be opened. With `-Z`
//! nothing is kept; root without `-Z` keeps CAP_DAC_OVERRIDE alone, because its outputs
//! (rotated `-w` files, `--pcap-dir`, `--extract`, `--json` reopened on SIGHUP) may be
//! created later in directories root does not own; a non-root user given the two
//! capabilities keeps none. The bounding and ambient sets are emptied too and
//! no_new_privs set, so no program run later could regain any.
//!
//! Capabilities belong to threads: the capture, worker and event threads start after
//! this and inherit it; the threads started before (signals, the pcap writer) are made
//! to drop theirs too (`threads`).

use crate::config::{Config, Input};
use std::ffi::CString;
use std::path::PathBuf;

use super::RunError;

/// Drops to `cfg.user`, or says once that a live capture started as root keeps root;
/// either way gives up every capability it no longer needs.
pub(super) fn drop_privileges(cfg: &Config) -> Result<(), RunError> {
    let Some(user) = cfg.user.as_deref() else {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        if matches!(cfg.input, Input::Live(_)) && root {
            eprintln!("oftsniff: running as root (no -Z USER given to drop to)");
        }
        let keep = if root { 1u64 << CAP_DAC_OVERRIDE } else { 0 };
        return threads::everywhere(Step::LimitTo(keep))
            .map_err(|e| RunError::input(format!("oftsniff: cannot drop capabilities: {e}")));
    };
    let fail = |what: &str| {
        RunError::input(format!(
            "oftsniff: -Z {user}: {what}: {}",
            std::io::Error::last_os_error()
        ))
    };
    let name = CString::new(user)
        .map_err(|_| RunError::input(format!("oftsniff: -Z {user}: bad name")))?;
    // SAFETY: getpwnam takes a NUL-terminated string and returns null or a pointer to
    // static storage; both ids are copied out before any other call could reuse it.
    let (uid, gid) = unsafe {
        let pw = libc::getpwnam(name.as_ptr());
        if pw.is_null() {
            return Err(RunError::input(format!(
                "oftsniff: -Z {user}: no such user"
            )));
        }
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    for p in outputs(cfg) {
        std::os::unix::fs::chown(&p, Some(uid), Some(gid)).map_err(|e| {
            RunError::input(format!(
                "oftsniff: -Z {user}: cannot hand {} over: {e}",
                p.display()
            ))
        })?;
    }
    // Emptying the bounding set needs CAP_SETPCAP, which setuid is about to take away.
    threads::everywhere(Step::ClearBounding)
        .map_err(|e| RunError::input(format!("oftsniff: -Z {user}: capabilities: {e}")))?;
    // SAFETY: setgroups reads one gid_t from a valid pointer; setgid and setuid take
    // plain integers. glibc applies each to every thread of the process.
    unsafe {
        if libc::setgroups(1, &gid) != 0 {
            return Err(fail("setgroups"));
        }
        if libc::setgid(gid) != 0 {
            return Err(fail("setgid"));
        }
        if libc::setuid(uid) != 0 {
            return Err(fail("setuid"));
        }
    }
    // SAFETY: as above; this call must fail, or the drop did not happen.
    if uid != 0 && unsafe { libc::setuid(0) } == 0 {
        return Err(RunError::input(format!(
            "oftsniff: -Z {user}: could become root again"
        )));
    }
    // setuid to a non-root user emptied the permitted and effective sets already; this
    // also covers `-Z root` and sets no_new_privs.
    threads::everywhere(Step::LimitTo(0))
        .map_err(|e| RunError::input(format!("oftsniff: -Z {user}: capabilities: {e}")))
}

/// Installs the seccomp filter in every thread, or says once why it could not: a kernel
/// or container without seccomp must not cost the capture.
pub(super) fn confine(cfg: &Config) {
    if !cfg.sandbox {
        return;
    }
    if let Err(e) = sandbox::confine() {
        eprintln!("oftsniff: warning: no seccomp sandbox ({e}); going on without it");
    }
}

/// linux/capability.h: the one capability root without `-Z` keeps.
const CAP_DAC_OVERRIDE: u32 = 1;

mod caps;
mod sandbox;
mod threads;

use threads::Step;

/// The files and directories this run created to write to.
fn outputs(cfg: &Config) -> Vec<PathBuf> {
    let o = &cfg.outputs;
    let json = o.json.as_ref().filter(|p| p.as_os_str() != "-");
    [
        json,
        o.write.as_ref(),
        o.pcap_dir.as_ref(),
        o.extract.as_ref(),
    ]
    .into_iter()
    .flatten()
    .filter(|p| p.exists())
    .cloned()
    .collect()
}
