//! `-Z USER` (as tcpdump's): once the source and every output are open, oftsniff runs as
//! USER with no capability left, and the outputs it created belong to USER. Checked on a
//! running process reading a capture from a standard input kept open, and live on `lo` of
//! a namespace of its own, thread by thread: without `-Z`, root keeps CAP_DAC_OVERRIDE
//! alone; a non-root user given CAP_NET_RAW and CAP_NET_ADMIN captures and then keeps
//! none. (With neither, the error naming both ways: tests/capture_live.rs.)

mod common;

use common::netns::{is_root, loud_skip_line, skip_unless_root, OneNs};
use common::{of_kind, TempDir};
use oft_testkit::gen::oft::{self, Kind, Variant};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn id(flag: &str) -> u32 {
    let out = Command::new("id").args([flag, "nobody"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The value of a /proc/PID/status line.
fn status(pid: u32, key: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

#[test]
fn z_nobody_drops_root_and_every_capability_after_opening_the_outputs() {
    if !is_root() {
        eprintln!("\n** SKIPPED z_nobody: not root\n");
        return;
    }
    let (uid, gid) = (id("-u"), id("-g"));
    let d = TempDir::new("least-privilege");
    let pcap = d.join("in.pcap");
    oft::build(Kind::Direct, 5, Variant::PLAIN)
        .pcap
        .write_file(&pcap)
        .unwrap();
    let bytes = std::fs::read(&pcap).unwrap();
    let (json, out_pcap) = (d.join("events.json"), d.join("out.pcap"));
    let mut child = common::oftsniff()
        .args(["-q", "-r", "-", "-Z", "nobody", "--json"])
        .arg(&json)
        .arg("-w")
        .arg(&out_pcap)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&bytes).unwrap();
    stdin.flush().unwrap();
    let pid = child.id();
    let want = format!("{uid}\t{uid}\t{uid}\t{uid}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(pid, "Uid:") != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (uids, gids) = (status(pid, "Uid:"), status(pid, "Gid:"));
    let (cap_eff, cap_prm, groups) = (
        status(pid, "CapEff:"),
        status(pid, "CapPrm:"),
        status(pid, "Groups:"),
    );
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(uids, want, "real, effective, saved, fs uid");
    assert_eq!(gids, format!("{gid}\t{gid}\t{gid}\t{gid}"));
    assert_eq!(cap_eff, "0000000000000000");
    assert_eq!(cap_prm, "0000000000000000");
    assert_eq!(groups, gid.to_string(), "only nobody's group");
    // The outputs were written after the drop, and belong to nobody.
    for p in [&json, &out_pcap] {
        assert_eq!(std::fs::metadata(p).unwrap().uid(), uid, "{}", p.display());
    }
    let ev = common::events(&json);
    assert_eq!(of_kind(&ev, "file")[0]["status"], "complete");
    assert!(common::read_frames(&out_pcap).len() > 10);
}

#[test]
fn z_with_an_unknown_user_is_refused_before_capture() {
    let out = common::oftsniff()
        .args(["-q", "-Z", "no-such-user-oftsniff", "-r"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/gaim-sendfile-2005.pcap"
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("-Z no-such-user-oftsniff: no such user"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("frames captured"),
        "refused before capture: {stderr}"
    );
}

/// Every thread of `pid` by name, with the value of its /proc status line `key`.
fn per_thread(pid: u32, key: &str) -> Vec<(String, String)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = tasks
        .flatten()
        .filter_map(|t| {
            let tid: u32 = t.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
            let s = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).ok()?;
            let v = s
                .lines()
                .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))?;
            Some((comm.trim().to_string(), v))
        })
        .collect();
    out.sort();
    out
}

/// oftsniff capturing on `lo` of its own namespace, run through `wrap` (a program and its
/// arguments that end by running the command given after them) with `args`, once its
/// capture thread is running.
struct LiveRun {
    child: Child,
    _ns: OneNs,
}

impl LiveRun {
    fn start(seq: u32, wrap: &[&str], args: &[&str]) -> LiveRun {
        let ns = OneNs::new(seq);
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.0])
            .args(wrap)
            .arg(env!("CARGO_BIN_EXE_oftsniff"))
            .args(["-q", "-i", "lo"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let run = LiveRun { child, _ns: ns };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !run.threads("Name:").iter().any(|(n, _)| n == "capture-0")
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        run
    }

    fn threads(&self, key: &str) -> Vec<(String, String)> {
        per_thread(self.child.id(), key)
    }

    /// `key` of every thread, having checked that the ones that matter are there: the
    /// signal thread and the pcap writer start before the capture socket is opened, the
    /// others after.
    fn every_thread(&self, key: &str, early: &[&str]) -> Vec<(String, String)> {
        let names = || {
            ["capture-0", "worker-0", "events"]
                .into_iter()
                .chain(early.iter().copied())
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let all = self.threads(key);
            let missing: Vec<&str> = names()
                .filter(|m| !all.iter().any(|(n, _)| n == m))
                .collect();
            if missing.is_empty() {
                return all;
            }
            assert!(Instant::now() < deadline, "{missing:?} not in {all:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends traffic over the namespace's `lo`: refused TCP connections, each a SYN and
    /// an RST.
    fn traffic(&self) {
        let ok = Command::new("ip")
            .args(["netns", "exec", &self._ns.0, "bash", "-c"])
            .arg("for i in 1 2 3 4 5 6 7 8; do (exec 3<>/dev/tcp/127.0.0.1/9) 2>/dev/null; done; true")
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits (10 s at most) for it to end by itself, or interrupts it.
    fn finish(mut self, interrupt: bool) -> Output {
        if interrupt {
            let pid = self.child.id().to_string();
            Command::new("kill").args(["-INT", &pid]).status().unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.child.try_wait().unwrap().is_none() {
            let _ = self.child.kill();
        }
        self.child.wait_with_output().unwrap()
    }
}

fn all_equal(got: &[(String, String)], want: &str, what: &str) {
    assert!(
        !got.is_empty() && got.iter().all(|(_, v)| v == want),
        "{what}: want {want} in every thread, got {got:?}"
    );
}

#[test]
fn live_as_root_without_z_keeps_only_dac_override_in_every_thread() {
    if skip_unless_root("live_as_root_without_z_keeps_only_dac_override") {
        return;
    }
    let dir = TempDir::new("lp-root");
    let pcap = dir.path().join("out.pcap");
    let run = LiveRun::start(1, &[], &["-w", pcap.to_str().unwrap()]);
    let early = ["signals", "pcap-writer"];
    let (eff, prm, bnd, nnp, seccomp) = (
        run.every_thread("CapEff:", &early),
        run.every_thread("CapPrm:", &early),
        run.every_thread("CapBnd:", &early),
        run.every_thread("NoNewPrivs:", &early),
        run.every_thread("Seccomp:", &early),
    );
    let out = run.finish(true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("running as root (no -Z USER"), "{stderr}");
    // Bit 1: CAP_DAC_OVERRIDE, for outputs created later in directories of other users.
    all_equal(&eff, "0000000000000002", "CapEff");
    all_equal(&prm, "0000000000000002", "CapPrm");
    all_equal(&bnd, "0000000000000000", "CapBnd");
    all_equal(&nnp, "1", "NoNewPrivs");
    // 2: filter mode, in every thread (the filter went in with TSYNC).
    all_equal(&seccomp, "2", "Seccomp");
}

#[test]
fn no_sandbox_leaves_seccomp_off_and_the_capture_unchanged() {
    if skip_unless_root("no_sandbox_leaves_seccomp_off") {
        return;
    }
    let run = LiveRun::start(4, &[], &["--no-sandbox", "-c", "4"]);
    let seccomp = run.every_thread("Seccomp:", &["signals"]);
    run.traffic();
    let out = run.finish(false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("4 frames captured"), "{stderr}");
    all_equal(&seccomp, "0", "Seccomp");
}

#[test]
fn live_z_nobody_leaves_no_capability_in_any_thread() {
    if skip_unless_root("live_z_nobody_leaves_no_capability_in_any_thread") {
        return;
    }
    let uid = id("-u");
    let run = LiveRun::start(2, &[], &["-Z", "nobody"]);
    // setuid takes the permitted and effective sets of every thread, the signal
    // thread's included.
    let (eff, prm) = (run.threads("CapEff:"), run.threads("CapPrm:"));
    let (bnd, nnp, uids) = (
        run.every_thread("CapBnd:", &["signals"]),
        run.every_thread("NoNewPrivs:", &["signals"]),
        run.threads("Uid:"),
    );
    let out = run.finish(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    all_equal(&eff, "0000000000000000", "CapEff");
    all_equal(&prm, "0000000000000000", "CapPrm");
    all_equal(&bnd, "0000000000000000", "CapBnd");
    all_equal(&nnp, "1", "NoNewPrivs");
    all_equal(&uids, &format!("{uid}\t{uid}\t{uid}\t{uid}"), "Uid");
}

#[test]
fn a_non_root_user_with_net_raw_and_net_admin_captures_live_then_keeps_none() {
    if skip_unless_root("a_non_root_user_with_net_raw_and_net_admin_captures_live") {
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        loud_skip_line("a_non_root_user_with_net_raw_and_net_admin: setpriv not installed");
        return;
    }
    let (uid, gid) = (id("-u").to_string(), id("-g").to_string());
    let (ruid, rgid) = (format!("--reuid={uid}"), format!("--regid={gid}"));
    let caps = "+net_raw,+net_admin";
    let (inh, amb) = (
        format!("--inh-caps={caps}"),
        format!("--ambient-caps={caps}"),
    );
    let wrap = ["setpriv", &ruid, &rgid, "--clear-groups", &inh, &amb];
    let run = LiveRun::start(3, &wrap, &["-c", "4"]);
    let (eff, amb, uids) = (
        run.every_thread("CapEff:", &["signals"]),
        run.every_thread("CapAmb:", &["signals"]),
        run.threads("Uid:"),
    );
    run.traffic();
    let out = run.finish(false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("running as root"), "{stderr}");
    let captured: u64 = stderr
        .lines()
        .find_map(|l| l.strip_suffix(" frames captured"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no frame count: {stderr}"));
    assert_eq!(captured, 4, "-c 4 ends the capture: {stderr}");
    all_equal(&uids, &format!("{uid}\t{uid}\t{uid}\t{uid}"), "Uid");
    all_equal(&eff, "0000000000000000", "CapEff");
    all_equal(&amb, "0000000000000000", "CapAmb");
}
