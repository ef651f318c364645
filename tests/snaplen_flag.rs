//! `-s SNAPLEN` through the binary, read from a file: frames are cut to SNAPLEN as they
//! are read (their original length kept), so the snap length accounting of
//! tests/snaplen.rs sees them, and `-w` declares SNAPLEN in its header.

mod common;

use common::{of_kind, TempDir};
use oft_testkit::gen::oft::{self, Kind, Variant};
use std::path::Path;
use std::process::Command;

/// Ethernet + IPv4 + TCP headers of the generator's frames.
const HEADERS: usize = 14 + 20 + 20;

/// The snapshot length in a pcap's global header.
fn header_snaplen(p: &Path) -> u32 {
    let b = std::fs::read(p).unwrap();
    u32::from_le_bytes(b[16..20].try_into().unwrap())
}

/// What capinfos says the file's snapshot length is ("Packet size limit: file hdr: N
/// bytes"); `None` when capinfos is not installed.
fn capinfos_snaplen(p: &Path) -> Option<u32> {
    let out = Command::new("capinfos").arg("-l").arg(p).output().ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.contains("file hdr"))
        .unwrap_or_else(|| panic!("capinfos -l: {text}"));
    let n = line.rsplit("file hdr:").next().unwrap();
    Some(n.trim().trim_end_matches("bytes").trim().parse().unwrap())
}

#[test]
fn dash_s_cuts_frames_read_and_sets_the_written_snaplen() {
    let dir = TempDir::new("snaplen-flag");
    let cap = oft::build(Kind::Direct, 1, Variant::PLAIN);
    let file = cap.files[0].clone();
    let pcap = dir.join("oft.pcap");
    cap.pcap.write_file(&pcap).unwrap();

    // -s 100: the frames carrying data are cut (so are the 256-byte OFT headers, so the
    // transfer itself cannot be recognized any more).
    let (ev, stderr) = common::run_json(&pcap, &["-s", "100"]);
    let stats = of_kind(&ev, "stats")[0];
    assert!(stats["snaplen_truncated"].as_u64().unwrap() > 0, "{stats}");
    assert!(stderr.contains("frames truncated by snaplen"), "{stderr}");
    let flow = of_kind(&ev, "flow");
    assert!(flow.iter().any(|f| f["gap_bytes"].as_u64().unwrap() > 0));

    // Long enough for the OFT headers, not for the file's data: the file is reported with
    // the cut bytes missing, and -w declares the snap length and holds cut frames.
    let snap = HEADERS + 400;
    let out = dir.join("out.pcap");
    let snap_arg = snap.to_string();
    let (ev, _) = common::run_json(&pcap, &["-s", &snap_arg, "-w", out.to_str().unwrap()]);
    let stats = of_kind(&ev, "stats")[0];
    assert!(stats["snaplen_truncated"].as_u64().unwrap() > 0, "{stats}");
    let files = of_kind(&ev, "file");
    assert_eq!(files.len(), 1, "{ev:?}");
    let f = files[0];
    assert_eq!(f["name"], file.name.as_str(), "{f}");
    assert_eq!(f["status"], "truncated", "{f}");
    let missing: u64 = f["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_u64().unwrap() - r[0].as_u64().unwrap())
        .sum();
    assert!(missing > 0, "{f}");
    assert_eq!(
        f["bytes"].as_u64().unwrap() + missing,
        file.data.len() as u64
    );

    assert_eq!(header_snaplen(&out), snap as u32);
    let frames = common::read_frames(&out);
    assert!(frames.iter().all(|f| f.data.len() <= snap));
    assert!(frames
        .iter()
        .any(|f| f.data.len() == snap && f.orig_len as usize > snap));
    common::tshark_reads_clean(&out);
    match capinfos_snaplen(&out) {
        Some(n) => assert_eq!(n, snap as u32),
        None => common::loud_skip("capinfos is not installed: its check was NOT run"),
    }
}

#[test]
fn default_and_zero_snaplen_are_tcpdumps() {
    let dir = TempDir::new("snaplen-default");
    let cap = oft::build(Kind::Direct, 2, Variant::PLAIN);
    let pcap = dir.join("oft.pcap");
    cap.pcap.write_file(&pcap).unwrap();
    for extra in [&[][..], &["-s", "0"][..]] {
        let out = dir.join("out.pcap");
        let mut args = vec!["-w", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let (ev, _) = common::run_json(&pcap, &args);
        assert_eq!(of_kind(&ev, "stats")[0]["snaplen_truncated"], 0);
        assert_eq!(header_snaplen(&out), 262_144, "{extra:?}");
    }
}

#[test]
fn pnet_on_any_is_refused_in_one_line() {
    let out = common::oftsniff()
        .args(["-i", "any", "--backend", "pnet"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("oftsniff: --backend pnet cannot capture on any"),
        "{err}"
    );
}
