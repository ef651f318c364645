//! The calling thread's capability sets, through capget/capset and prctl (libc has the
//! calls, not the structures): small enough that a crate would not pay for itself.

use std::io;

/// linux/capability.h `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const VERSION_3: u32 = 0x2008_0522;
/// Capability numbers run below 64 in every kernel this targets.
const MAX_CAPS: u32 = 64;
/// linux/capability.h: the capability that lets a thread empty its bounding set.
const CAP_SETPCAP: u32 = 8;

#[repr(C)]
struct Header {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn capget() -> io::Result<[Data; 2]> {
    let mut h = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: a version-3 header and room for the two data words it asks for.
    if unsafe { libc::syscall(libc::SYS_capget, &mut h, d.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(d)
}

fn capset(d: [Data; 2]) -> io::Result<()> {
    let mut h = Header {
        version: VERSION_3,
        pid: 0,
    };
    // SAFETY: a version-3 header and the two data words it names, read only.
    if unsafe { libc::syscall(libc::SYS_capset, &mut h, d.as_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Empties the ambient set, and the bounding set when this thread may (CAP_SETPCAP);
/// a process without that capability has nothing in it to regain from anyway.
pub(super) fn clear_bounding_and_ambient() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
    }
    let may_setpcap = capget()?[0].effective & (1 << CAP_SETPCAP) != 0;
    if !may_setpcap {
        return Ok(());
    }
    for cap in 0..MAX_CAPS {
        // SAFETY: prctl with integer arguments only; EINVAL past the kernel's last
        // capability is expected and ignored.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if r != 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Keeps at most the capabilities in `keep` (a bit mask by capability number): the
/// effective and permitted sets become what `keep` and the permitted set share, the
/// inheritable set empty; bounding and ambient sets are emptied and no_new_privs set.
pub(super) fn limit_to(keep: u64) -> io::Result<()> {
    clear_bounding_and_ambient()?;
    let now = capget()?;
    let mut want = [Data::default(); 2];
    for (i, w) in want.iter_mut().enumerate() {
        let mask = (keep >> (32 * i)) as u32 & now[i].permitted;
        *w = Data {
            effective: mask,
            permitted: mask,
            inheritable: 0,
        };
    }
    capset(want)?;
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
