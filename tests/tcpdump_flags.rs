//! tcpdump's spellings users type without thinking: `-i N` (the N-th interface of `-D`)
//! and `-p` (no promiscuous mode).

mod common;

use std::process::{Command, Stdio};

#[test]
fn an_interface_number_beyond_the_list_is_one_line_and_exit_2() {
    let out = common::oftsniff().args(["-i", "9999"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("oftsniff: no interface number 9999") && err.contains("-D"),
        "{err}"
    );
}

#[test]
fn interface_number_from_d_and_p_capture_as_tcpdump_does() {
    if common::netns::skip_unless_root("interface_number_from_d_and_p_capture_as_tcpdump_does") {
        return;
    }
    let ns = common::netns::OneNs::new(960);
    let list = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(env!("CARGO_BIN_EXE_oftsniff"))
        .arg("-D")
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(list.starts_with("1.lo "), "{list}");
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .args(["timeout", "--preserve-status", "-s", "INT", "1"])
        .arg(env!("CARGO_BIN_EXE_oftsniff"))
        .args(["-i", "1", "-p", "-q"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        err.lines().next(),
        Some("listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes"),
        "{err}"
    );
}
