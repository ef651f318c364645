//! `-r -` reads a capture from standard input (`tcpdump -w - | oftsniff -r -`), and a
//! reader of our output that goes away ends the run quietly. Stopping by signal:
//! tests/stopping.rs.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn events_of(mut cmd: Command, stdin_bytes: Option<&[u8]>) -> Vec<String> {
    cmd.arg("-q").arg("--json").arg("-");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin_bytes.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(b) = stdin_bytes {
        child.stdin.take().unwrap().write_all(b).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn standard_input_gives_the_same_events_as_the_file() {
    for name in ["gaim-sendfile-2005.pcap", "ndpi-icq-flap-2015.pcapng"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name);
        let mut from_file = common::oftsniff();
        from_file.arg("-r").arg(&path).arg("--workers").arg("1");
        let mut from_stdin = common::oftsniff();
        from_stdin.arg("-r").arg("-").arg("--workers").arg("1");
        let bytes = std::fs::read(&path).unwrap();
        let a = events_of(from_file, None);
        let b = events_of(from_stdin, Some(&bytes));
        assert!(a.len() > 1, "{name}: events expected");
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_run_quietly() {
    // `oftsniff --json - | head -1`: the pipe closes after the first event.
    let dir = common::TempDir::new("epipe");
    let pcap = dir.join("many.pcap");
    let spec = oft_testkit::gen::workloads::ManyFlows {
        flows: 3_000,
        ..Default::default()
    };
    oft_testkit::gen::workloads::many_flows(&spec, std::fs::File::create(&pcap).unwrap()).unwrap();
    let mut child = common::oftsniff()
        .arg("-r")
        .arg(&pcap)
        .arg("--json")
        .arg("-")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    {
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        std::io::BufRead::read_line(&mut out, &mut first).unwrap();
    } // the reader is gone
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(first.starts_with("{\"event\""), "{first}");
    assert!(out.status.success(), "{err}");
    assert!(
        !err.contains("failed") && !err.contains("panicked"),
        "{err}"
    );
    assert!(
        err.contains("frames captured"),
        "counters still printed: {err}"
    );
}
