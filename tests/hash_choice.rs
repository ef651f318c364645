//! `--hash`: which digest `file` events carry.

mod common;

use common::{run_ok, TempDir};
use oft_testkit::gen::workloads::{oft_transfers, OftTransfers};
use std::ffi::OsStr;
use std::fs::File;

/// The `file` records of a run with `flags`.
fn files(capture: &std::path::Path, flags: &[&str]) -> Vec<serde_json::Value> {
    let mut args: Vec<&OsStr> = vec![OsStr::new("-r"), capture.as_os_str()];
    args.extend(["--json", "-", "-q"].iter().map(OsStr::new));
    args.extend(flags.iter().map(OsStr::new));
    let out = run_ok(&args);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "file")
        .collect()
}

#[test]
fn each_choice_hashes_the_file_bytes_into_its_field() {
    let dir = TempDir::new("hash-choice");
    let p = dir.join("t.pcap");
    let spec = OftTransfers {
        transfers: 3,
        concurrent: 2,
        file_bytes: 70_000,
        seed: 3,
        ..OftTransfers::default()
    };
    oft_transfers(&spec, File::create(&p).unwrap()).unwrap();
    let default = files(&p, &[]);
    let sha = files(&p, &["--hash", "sha256"]);
    let md5 = files(&p, &["--hash", "md5"]);
    let none = files(&p, &["--hash", "none"]);
    assert_eq!(default.len(), 3);
    assert_eq!(default, sha, "sha256 is the default");
    for ((s, m), n) in sha.iter().zip(&md5).zip(&none) {
        assert_eq!(s["sha256"].as_str().map(str::len), Some(64));
        assert!(s.get("md5").is_none(), "no md5 field by default: {s}");
        assert_eq!(m["md5"].as_str().map(str::len), Some(32));
        assert!(m["sha256"].is_null());
        assert!(n["sha256"].is_null() && n.get("md5").is_none());
        // Everything else is the same run.
        for k in ["name", "bytes", "status", "checksum_ok", "transfer"] {
            assert_eq!(s[k], m[k]);
            assert_eq!(s[k], n[k]);
        }
    }
    // Different files of one size hash differently (the digest is of the bytes).
    assert_ne!(md5[0]["md5"], md5[1]["md5"]);
}
