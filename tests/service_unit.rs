//! The systemd template unit `dist/oftsniff@.service`: `systemd-analyze verify` accepts it
//! without a warning (skipped loudly where systemd-analyze is missing), it keeps the
//! hardening the deployment relies on, and its ExecStart flags are ones oftsniff takes.

mod common;

use std::path::Path;
use std::process::Command;

fn unit_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dist/oftsniff@.service"
    ))
    .unwrap()
}

/// ExecStart's words, continuation lines joined.
fn exec_start(unit: &str) -> Vec<String> {
    let joined = unit.replace("\\\n", " ");
    let line = joined
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    let have = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        common::loud_skip(
            "systemd-analyze is not installed, the unit was NOT verified \
             (apt-get install systemd)",
        );
        return;
    }
    let dir = common::TempDir::new("unit");
    // verify insists the ExecStart binary exists: point it at the one just built. Checked
    // both as the template and as an instance.
    let unit = unit_text().replace("/usr/local/bin/oftsniff", env!("CARGO_BIN_EXE_oftsniff"));
    for name in ["oftsniff@.service", "oftsniff@lo.service"] {
        let path = dir.join(name);
        std::fs::write(&path, &unit).unwrap();
        // --man=no: the man page is installed separately (README), not by the test.
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        // Unknown directives and bad values are only warnings: none allowed.
        assert!(stderr.trim().is_empty(), "{name}: {stderr}");
    }
}

#[test]
fn unit_runs_unprivileged_with_the_capture_capabilities_only() {
    let unit = unit_text();
    for line in [
        "DynamicUser=yes",
        "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN",
        "CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "StateDirectory=oftsniff/%i",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.lines().any(|l| l == line), "unit has {line}");
    }
    assert!(!unit.lines().any(|l| l.starts_with("User=root")));
}

#[test]
fn exec_start_flags_are_accepted_by_oftsniff() {
    let words = exec_start(&unit_text());
    assert_eq!(words[0], "/usr/local/bin/oftsniff");
    let dir = common::TempDir::new("unit-exec");
    let state = dir.path().to_str().unwrap();
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gaim-sendfile-2005.pcap");
    // The same flags, but reading the bundled capture instead of the interface.
    let mut args: Vec<String> = Vec::new();
    let mut it = words[1..].iter();
    while let Some(w) = it.next() {
        if w == "-i" {
            it.next();
            args.extend(["-r".to_string(), pcap.to_str().unwrap().to_string()]);
        } else {
            args.push(w.replace("/var/lib/oftsniff/%i", state));
        }
    }
    let out = common::oftsniff().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = std::fs::read_to_string(dir.join("events.ndjson")).unwrap();
    assert!(events.lines().any(|l| l.contains("\"event\":\"transfer\"")));
    assert!(std::fs::read_dir(dir.path()).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("transfers.pcap")));
}
