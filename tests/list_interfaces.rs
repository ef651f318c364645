//! `oftsniff -D` through the binary: one line per interface, numbered once, the way
//! `tcpdump -D` prints them (`1.lo [Up, Running, Loopback]`), the `any` pseudo-device last.

use std::collections::BTreeSet;
use std::process::Command;

#[test]
fn list_interfaces_reads_like_tcpdump_d() {
    let out = Command::new(env!("CARGO_BIN_EXE_oftsniff"))
        .arg("-D")
        .output()
        .expect("run oftsniff -D");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    // The kernel's own list of this namespace's interfaces.
    let names: BTreeSet<String> = std::fs::read_dir("/sys/class/net")
        .expect("/sys/class/net")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.pop(),
        Some(
            format!(
                "{}.any (Pseudo-device that captures on all interfaces) [Up, Running]",
                names.len() + 1
            )
            .as_str()
        ),
        "the pseudo-device last, as tcpdump -D:\n{text}"
    );
    assert_eq!(lines.len(), names.len(), "one line per interface:\n{text}");
    let mut listed = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        let rest = line
            .strip_prefix(&format!("{}.", i + 1))
            .unwrap_or_else(|| panic!("line {} not numbered {}: {line}", i + 1, i + 1));
        // The name follows the number directly: a second number (the ifindex) would make
        // it `1.1.lo`, which is no interface's name.
        let name = rest.split(' ').next().unwrap();
        assert!(names.contains(name), "{name:?} is not an interface: {line}");
        listed.insert(name.to_owned());
    }
    assert_eq!(listed, names, "every interface listed once:\n{text}");
    let lo = lines
        .iter()
        .find(|l| l.split('.').nth(1).and_then(|r| r.split(' ').next()) == Some("lo"))
        .unwrap_or_else(|| panic!("lo listed:\n{text}"));
    assert!(lo.contains("Loopback"), "{lo}");
    let flags = lo.split_once('[').and_then(|(_, r)| r.split_once(']'));
    assert!(flags.is_some(), "flags in brackets as tcpdump: {lo}");
}
