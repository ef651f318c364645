//! `-Z USER` (as tcpdump's): once the source and every output are open, oftsniff runs as
//! USER with no capability left, and the outputs it created belong to USER. Checked on a
//! running process reading a capture from a standard input kept open.

mod common;

use common::{netns::is_root, of_kind, TempDir};
use oft_testkit::gen::oft::{self, Kind, Variant};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
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
