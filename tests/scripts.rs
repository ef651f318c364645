//! The shell scripts users run by hand: `scripts/testbed.sh` and `scripts/demo.sh`.
//! Root only (network namespaces); skipped loudly otherwise. Every namespace they make is
//! removed at the end, also when a check fails.

#[path = "common/bins.rs"]
mod bins;
#[path = "common/netns.rs"]
mod netns;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

/// A prefix of this process (the harness's stale-bed sweep recognizes the pattern).
fn prefix(seq: u32) -> String {
    format!("oftt{}x{seq}", std::process::id())
}

fn testbed(prefix: &str, cmd: &str) -> Output {
    Command::new(script("testbed.sh"))
        .arg(cmd)
        .env("OFT_TESTBED_PREFIX", prefix)
        .stdin(Stdio::null())
        .output()
        .expect("run testbed.sh")
}

/// Namespaces of `prefix` that exist now.
fn namespaces(prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("{prefix}-")))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs `testbed.sh down` for `prefix` when dropped, whatever happened.
struct Down(String);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = testbed(&self.0, "down");
    }
}

fn ip(ns: &str, args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["-n", ns])
        .args(args)
        .output()
        .expect("run ip");
    assert!(out.status.success(), "ip -n {ns} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn in_198_18_slash_15(addr: &str) -> bool {
    let ip: std::net::Ipv4Addr = addr.split('/').next().unwrap().parse().unwrap();
    let o = ip.octets();
    o[0] == 198 && (o[1] == 18 || o[1] == 19)
}

#[test]
fn testbed_down_is_safe_twice_and_up_uses_only_198_18_without_default_routes() {
    if netns::skip_unless_root(
        "testbed_down_is_safe_twice_and_up_uses_only_198_18_without_default_routes",
    ) {
        return;
    }
    let p = prefix(900);
    let _guard = Down(p.clone());
    for _ in 0..2 {
        let out = testbed(&p, "down");
        assert!(out.status.success(), "down on nothing: {out:?}");
    }
    let up = testbed(&p, "up");
    assert!(
        up.status.success(),
        "up: {}",
        String::from_utf8_lossy(&up.stderr)
    );
    let made = namespaces(&p);
    assert_eq!(made.len(), 6, "{made:?}");
    for ns in &made {
        for line in ip(ns, &["-4", "-o", "addr", "show"]).lines() {
            let addr = line.split_whitespace().nth(3).unwrap();
            assert!(
                addr.starts_with("127.") || in_198_18_slash_15(addr),
                "{ns}: address {addr} outside 198.18.0.0/15"
            );
        }
        let v6 = ip(ns, &["-6", "-o", "addr", "show", "scope", "global"]);
        assert!(v6.trim().is_empty(), "{ns}: global IPv6 addresses: {v6}");
        for fam in ["-4", "-6"] {
            let routes = ip(ns, &[fam, "route", "show", "default"]);
            assert!(routes.trim().is_empty(), "{ns}: default route {routes}");
        }
    }
    let any_198 = made
        .iter()
        .any(|ns| ip(ns, &["-4", "-o", "addr", "show"]).contains("198.18.0."));
    assert!(any_198, "no host of the bed has an address");
    for _ in 0..2 {
        let out = testbed(&p, "down");
        assert!(out.status.success(), "down: {out:?}");
        assert!(
            namespaces(&p).is_empty(),
            "left behind: {:?}",
            namespaces(&p)
        );
    }
}

#[test]
fn demo_runs_end_to_end_carves_both_files_and_leaves_no_namespace() {
    if netns::skip_unless_root("demo_runs_end_to_end_carves_both_files_and_leaves_no_namespace") {
        return;
    }
    let p = prefix(901);
    let _guard = Down(p.clone());
    let out_dir = std::env::temp_dir().join(format!("oftsniff-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    // The binaries this test run built, not whatever target/release holds (oftpeer, of the
    // oft-testkit package, built beside oftsniff by `bins`).
    let bin = bins::bin_dir();
    bins::oftpeer();
    let run = Command::new(script("demo.sh"))
        .env("OFT_TESTBED_PREFIX", &p)
        .env("OFT_DEMO_OUT", &out_dir)
        .env("OFT_DEMO_BIN", bin)
        .env_remove("SUDO_USER")
        .stdin(Stdio::null())
        .output()
        .expect("run demo.sh");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let result = std::panic::catch_unwind(|| {
        assert!(
            run.status.success(),
            "demo.sh exited {:?}\n{stdout}\n{stderr}",
            run.status
        );
        for name in ["holiday-photos.zip", "thesis-draft.pdf"] {
            let sent = std::fs::read(out_dir.join("src").join(name)).unwrap();
            let carved = std::fs::read(out_dir.join("carved").join(name))
                .unwrap_or_else(|e| panic!("{name} not carved ({e})\n{stdout}\n{stderr}"));
            assert!(sent == carved, "carved {name} differs from what was sent");
            assert!(
                stdout.contains(&format!("carved {name} is identical")),
                "{stdout}"
            );
        }
        let pcap = std::fs::metadata(out_dir.join("transfers.pcap")).unwrap();
        assert!(pcap.len() > 4_000_000, "pcap holds {} bytes", pcap.len());
        let events = std::fs::read_to_string(out_dir.join("events.ndjson")).unwrap();
        assert_eq!(events.matches("\"event\":\"transfer\"").count(), 2);
        assert!(
            namespaces(&p).is_empty(),
            "demo left namespaces: {:?}",
            namespaces(&p)
        );
    });
    let _ = std::fs::remove_dir_all(&out_dir);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// Processes whose process group is `pgid` (from /proc/PID/stat, field 5).
fn group_members(pgid: u32) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if rest.split_whitespace().nth(2) == Some(&pgid.to_string()) {
            v.push(head.to_string());
        }
    }
    v
}

#[test]
fn demo_interrupted_with_ctrl_c_leaves_no_namespace_or_peer() {
    if netns::skip_unless_root("demo_interrupted_with_ctrl_c_leaves_no_namespace_or_peer") {
        return;
    }
    bins::oftpeer();
    interrupt_demo(902, bins::bin_dir());
}

#[test]
fn demo_cleanup_completes_when_a_program_it_waits_for_fails() {
    if netns::skip_unless_root("demo_cleanup_completes_when_a_program_it_waits_for_fails") {
        return;
    }
    // A stand-in oftsniff that exits 3 when interrupted: the cleanup's `wait` for it
    // returns non-zero, which used to end the cleanup under `set -e` (the real oftsniff
    // did so too when a second SIGINT made it exit 130).
    let dir = std::env::temp_dir().join(format!("oftsniff-demo-fake-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(bins::oftpeer(), dir.join("oftpeer")).unwrap();
    let fake = dir.join("oftsniff");
    // Python, not sh: demo.sh starts it in the background, where a non-interactive shell
    // has SIGINT ignored, and a shell cannot trap a signal ignored on entry.
    if !Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_ok_and(|s| s.success())
    {
        netns::loud_skip_line(
            "demo_cleanup_completes_when_a_program_it_waits_for_fails: python3 is not installed",
        );
        return;
    }
    std::fs::write(
        &fake,
        "#!/usr/bin/env python3\nimport signal, sys, time\n\
         for s in (signal.SIGINT, signal.SIGTERM):\n    signal.signal(s, lambda *a: sys.exit(3))\n\
         while True:\n    time.sleep(0.1)\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let result = std::panic::catch_unwind(|| interrupt_demo(903, &dir));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// Starts demo.sh with the binaries of `bin`, Ctrl-Cs it (SIGINT to its process group)
/// during the first transfer and again 300 ms later, and checks it leaves nothing behind.
fn interrupt_demo(seq: u32, bin: &Path) {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let p = prefix(seq);
    let _guard = Down(p.clone());
    let out_dir =
        std::env::temp_dir().join(format!("oftsniff-demo-int-{}-{seq}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    // Its own process group, as a terminal's foreground job: Ctrl-C signals the group.
    let mut child = Command::new(script("demo.sh"))
        .env("OFT_TESTBED_PREFIX", &p)
        .env("OFT_DEMO_OUT", &out_dir)
        .env("OFT_DEMO_BIN", bin)
        .env_remove("SUDO_USER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("run demo.sh");
    let pgid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("transfer 1") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // Mid-run: the peers are up and the first transfer has started.
    let started = rx.recv_timeout(std::time::Duration::from_secs(60)).is_ok();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // An impatient user presses Ctrl-C twice: the second lands during the cleanup.
    let kill = Command::new("kill")
        .args(["-INT", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-INT", "--", &format!("-{pgid}")])
        .status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // Leftovers of a failed run must not outlive the test either.
    let left = group_members(pgid);
    if status.is_none() || !left.is_empty() {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = child.wait();
    }
    let stdout = reader.join().unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out_dir);
    assert!(
        started,
        "demo.sh never reached its first transfer:\n{stdout}"
    );
    assert!(kill.success());
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(130),
        "demo.sh did not end as interrupted:\n{stdout}"
    );
    assert!(left.is_empty(), "processes of demo.sh left: {left:?}");
    assert!(
        namespaces(&p).is_empty(),
        "demo left namespaces: {:?}",
        namespaces(&p)
    );
}
