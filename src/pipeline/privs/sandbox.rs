//! A seccomp filter for the rest of the run, installed in every thread at once (TSYNC)
//! right after the privileges go and before the threads that parse captured bytes start.
//! It is a deny list, not an allow list: once the source and outputs are open oftsniff
//! never starts a program, opens a network connection, traces, mounts or loads anything,
//! so code that a hostile packet might hijack in a parser finds those calls refused
//! (EPERM), while nothing the capture needs can be refused by a call missing from a list.
//! Where seccomp is unavailable the capture goes on with one warning line.

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

/// Calls refused outright after start.
const DENIED: &[libc::c_long] = &[
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_connect,
    libc::SYS_bind,
    libc::SYS_listen,
    libc::SYS_accept,
    libc::SYS_accept4,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
];

fn arch() -> Result<TargetArch, String> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(|e| e.to_string())
}

fn arg0(op: SeccompCmpOp, value: u64) -> Result<SeccompRule, String> {
    let c =
        SeccompCondition::new(0, SeccompCmpArgLen::Qword, op, value).map_err(|e| e.to_string())?;
    SeccompRule::new(vec![c]).map_err(|e| e.to_string())
}

fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>, errno: i32) -> Result<BpfProgram, String> {
    let on_match = SeccompAction::Errno(errno as u32);
    SeccompFilter::new(rules, SeccompAction::Allow, on_match, arch()?)
        .and_then(TryInto::try_into)
        .map_err(|e| e.to_string())
}

/// The deny list, plus new processes (a clone without CLONE_THREAD) and IP sockets; new
/// threads and packet sockets stay allowed.
fn denials() -> Result<BpfProgram, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&n| (n, Vec::new())).collect();
    let no_thread_flag = SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64);
    rules.insert(libc::SYS_clone, vec![arg0(no_thread_flag, 0)?]);
    let ip = [libc::AF_INET, libc::AF_INET6].map(|f| arg0(SeccompCmpOp::Eq, f as u64));
    rules.insert(libc::SYS_socket, ip.into_iter().collect::<Result<_, _>>()?);
    compile(rules, libc::EPERM)
}

/// clone3 passes its flags in memory, where a filter cannot read them: it is answered
/// "not implemented", which makes the C library fall back to clone, whose flags the
/// filter above checks.
fn clone3_falls_back() -> Result<BpfProgram, String> {
    compile(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        libc::ENOSYS,
    )
}

/// The filters, built (so a failure to build them is known before anything is applied).
fn filters() -> Result<[BpfProgram; 2], String> {
    Ok([denials()?, clone3_falls_back()?])
}

/// Installs the filters in every thread of the process. Every thread must already have
/// no_new_privs set (it has: `caps::limit_to` ran in each one first).
pub(super) fn confine() -> Result<(), String> {
    for f in filters()? {
        seccompiler::apply_filter_all_threads(&f).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies the filters in a child process (they cannot be taken off again) and
    /// learns from its exit status what the calls that matter returned there.
    #[test]
    fn the_filter_refuses_programs_processes_and_ip_sockets_but_not_packet_sockets_or_files() {
        let progs = filters().unwrap();
        // SAFETY: the child only makes system calls and leaves with _exit; it takes no
        // lock another thread of the test process may hold.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: as above.
            unsafe { libc::_exit(child_checks(&progs)) }
        }
        let mut status = 0;
        // SAFETY: waits for the child just made, into a valid out-pointer.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status), "child died: {status}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "the check that failed, by number"
        );
    }

    fn refused(r: libc::c_long) -> bool {
        r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }

    /// 0 when everything held, else the number of the first check that did not.
    fn child_checks(progs: &[BpfProgram; 2]) -> i32 {
        // SAFETY (the whole block): plain system calls with valid arguments.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return 1;
            }
            if progs.iter().any(|p| seccompiler::apply_filter(p).is_err()) {
                return 2;
            }
            let path = c"/bin/true".as_ptr();
            let argv = [path, std::ptr::null()];
            if !refused(libc::execve(path, argv.as_ptr(), std::ptr::null()) as _) {
                return 3;
            }
            if !refused(libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) as _) {
                return 4;
            }
            let fork_like = libc::SIGCHLD as libc::c_ulong;
            if !refused(libc::syscall(libc::SYS_clone, fork_like, 0, 0, 0, 0)) {
                return 5;
            }
            if libc::geteuid() == 0
                && refused(libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) as _)
            {
                return 6;
            }
            if libc::open(c"/proc/self/status".as_ptr(), libc::O_RDONLY) < 0 {
                return 7;
            }
        }
        0
    }
}
