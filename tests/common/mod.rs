//! Helpers shared by the binary-level tests: running oftsniff, reading what it wrote,
//! and generating OFT transfers with the project's own emitters.
#![allow(dead_code)]

use oftsniff::capture::{Batch, Frame, OfflineSource};
use oftsniff::proto::oft::{FileName, OftHeader, OftType};
use oftsniff::proto::Cookie;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod bins;
pub mod netns;

pub fn oftsniff() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oftsniff"))
}

/// Runs oftsniff with `args`, returning its output; panics with stderr when it fails.
pub fn run_ok(args: &[&std::ffi::OsStr]) -> Output {
    let out = oftsniff().args(args).output().expect("run oftsniff");
    assert!(
        out.status.success(),
        "oftsniff {:?} exited {:?}: {}",
        args,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd` (oftsniff, oftgen, a tool), which must succeed; panics with its stderr.
pub fn succeed(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} exited {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A scratch directory removed on drop, even when the test panics.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "oftsniff-bin-{}-{}-{:?}",
            tag,
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, s: &str) -> PathBuf {
        self.0.join(s)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every frame of a capture, read with oftsniff's own reader. The frames own their bytes:
/// tests rewrite the file they read in place, which would change (or, cut short, zero)
/// the bytes of frames still pointing into its mapping.
pub fn read_frames(p: &Path) -> Vec<Frame> {
    let mut src = OfflineSource::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut all = Vec::new();
    let mut batch: Batch = Vec::new();
    loop {
        batch.clear();
        let n = src
            .next_batch(&mut batch, 1024)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if n == 0 {
            break;
        }
        all.extend(batch.drain(..).map(|mut f| {
            f.data = f.data.into_vec().into();
            f
        }));
    }
    assert!(
        src.warnings().is_empty(),
        "{}: reader warnings {:?}",
        p.display(),
        src.warnings()
    );
    all
}

/// Whether tshark is here; says loudly when it is not.
pub fn have_tshark() -> bool {
    let ok = Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        loud_skip("tshark is not installed (.ci/run installs it): its checks were NOT run");
    }
    ok
}

/// A banner on the real stderr: libtest captures `eprintln!` of passing tests, which
/// would turn a skipped check into a silent pass.
pub fn loud_skip(why: &str) {
    use std::io::Write;
    netns::record_skip("", why);
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED part of {test}: {why} ***\n"
    );
}

/// tshark opens the file and reads to its end without a "cut short" warning; returns
/// the number of packets it listed.
pub fn tshark_reads_clean(p: &Path) -> Option<usize> {
    if !have_tshark() {
        return None;
    }
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(p)
        .output()
        .expect("run tshark");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tshark failed on {}: {err}",
        p.display()
    );
    assert!(
        !err.contains("cut short") && !err.contains("appears to be damaged"),
        "tshark on {}: {err}",
        p.display()
    );
    Some(String::from_utf8_lossy(&out.stdout).lines().count())
}

/// Runs `oftsniff -r PCAP -q --json FILE` plus `extra` (panicking with stderr if it
/// fails); returns the events and stderr. FILE is written beside the capture.
pub fn run_json(pcap: &Path, extra: &[&str]) -> (Vec<serde_json::Value>, String) {
    let json = pcap.with_extension("events.json");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "-r".as_ref(),
        pcap.as_os_str(),
        "-q".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let out = run_ok(&args);
    (
        events(&json),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The JSON events of a run, one per line.
pub fn events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}")))
        .collect()
}

pub fn of_kind<'a>(evs: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    evs.iter().filter(|e| e["event"] == kind).collect()
}

/// The receiver's RESUME_ACCEPT / RESUME_ACK style reply with an offset.
pub fn with_offset(h: &OftHeader, kind: OftType, cookie: Cookie, offset: u32) -> OftHeader {
    OftHeader {
        bytes_received: offset,
        ..h.reply(kind, cookie)
    }
}

pub fn prompt_for(cookie: Cookie, name: FileName, body: &[u8]) -> OftHeader {
    let sum = oftsniff::proto::checksum::OftChecksum::of(body);
    OftHeader::prompt(
        cookie,
        name,
        body.len() as u32,
        sum,
        1,
        1,
        body.len() as u32,
    )
}
