//! Outputs that fail mid-run: `--extract` and `-w` onto a full disk (a 2 MB tmpfs the
//! test mounts, filled to within a few pages, and unmounts again whatever happens). A
//! record never claims what did not happen: the `file` event keeps describing the wire
//! (`status`), says why the carve failed (`carve_error`), points at the partial file or
//! nowhere, stderr says it once, no further file is carved, and the run exits 1. The
//! pcap written with `-w` keeps whole records only, counted exactly, and the other
//! outputs go on.

mod common;

use common::{netns::is_root, of_kind, TempDir};
use oft_testkit::gen::oft::{self, Kind, Variant};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `size` mounted at `dir`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }

    /// Fills the file system but for `leave` bytes.
    fn fill(&self, leave: u64) {
        let p = self.0.join("filler");
        let mut f = std::fs::File::create(&p).unwrap();
        let chunk = vec![0xAAu8; 4096];
        let mut len = 0u64;
        while f.write_all(&chunk).is_ok() {
            len += chunk.len() as u64;
        }
        drop(f);
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(len.saturating_sub(leave)).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The scenarios' transfers a minute apart (each starts at the same instant) in one
/// capture.
fn transfers(d: &TempDir, kinds: &[Kind]) -> PathBuf {
    let mut cap = oft_testkit::gen::pcap::PcapBuilder::new();
    for (i, k) in kinds.iter().enumerate() {
        let mut frames = oft::build(*k, i as u64 + 3, Variant::PLAIN)
            .pcap
            .into_frames();
        for f in &mut frames {
            f.ts.0 += i as u64 * 60_000_000_000;
        }
        cap.add_frames(frames);
    }
    let pcap = d.join("transfers.pcap");
    cap.write_file(&pcap).unwrap();
    pcap
}

fn skip(test: &str, why: &str) {
    eprintln!("\n** SKIPPED {test}: {why}\n");
}

#[test]
fn extract_onto_a_full_disk_says_so_on_the_file_event_and_exits_1() {
    const TEST: &str = "extract_onto_a_full_disk";
    if !is_root() {
        return skip(TEST, "not root (mounting a tmpfs needs it)");
    }
    let d = TempDir::new("extract-full");
    let Some(fs) = Tmpfs::mount(&d.join("mnt"), "2m") else {
        return skip(TEST, "mount -t tmpfs failed");
    };
    // Two transfers: the first fills the disk, the second is not carved at all.
    let mut cap = oft::build(Kind::Direct, 3, Variant::PLAIN).pcap;
    let mut later = oft::build(Kind::Port80, 4, Variant::PLAIN)
        .pcap
        .into_frames();
    for f in &mut later {
        f.ts.0 += 60_000_000_000; // a minute after the first (both start at one instant)
    }
    cap.add_frames(later);
    let pcap = d.join("two.pcap");
    cap.write_file(&pcap).unwrap();
    fs.fill(16 << 10);
    let carved = fs.0.join("carved");
    let json = d.join("events.json");
    let out = common::oftsniff()
        .args(["-q", "-r"])
        .arg(&pcap)
        .arg("--json")
        .arg(&json)
        .arg("--extract")
        .arg(&carved)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<_> = stderr.lines().filter(|l| l.contains("--extract")).collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr}");
    assert!(lines[0].starts_with("oftsniff: error:"), "{stderr}");
    let ev = common::events(&json);
    let files = of_kind(&ev, "file");
    assert_eq!(files.len(), 2, "{ev:?}");
    for f in &files {
        // The wire was fine: the record says so, and says the carve was not.
        assert_eq!(f["status"], "complete", "{f}");
        assert_eq!(f["checksum_ok"], true, "{f}");
        let err = f["carve_error"].as_str().unwrap_or_else(|| panic!("{f}"));
        assert!(!err.is_empty(), "{f}");
        if let Some(p) = f["path"].as_str() {
            assert!(p.ends_with(".partial"), "{f}");
        }
    }
    assert!(
        files[0]["path"].as_str().is_some(),
        "the first file's partial: {}",
        files[0]
    );
    assert!(files[1]["path"].is_null(), "not carved: {}", files[1]);
    // Without --extract trouble the key is there and null.
    let (ev, _) = common::run_json(&pcap, &[]);
    assert!(of_kind(&ev, "file")[0]["carve_error"].is_null());
}

#[test]
fn w_onto_a_full_disk_keeps_whole_records_counts_them_exactly_and_exits_1() {
    const TEST: &str = "w_onto_a_full_disk";
    if !is_root() {
        return skip(TEST, "not root (mounting a tmpfs needs it)");
    }
    let d = TempDir::new("w-full");
    let Some(fs) = Tmpfs::mount(&d.join("mnt"), "2m") else {
        return skip(TEST, "mount -t tmpfs failed");
    };
    let pcap = transfers(&d, &[Kind::Direct; 10]);
    // What a disk with room gets.
    let (ev, _) = common::run_json(&pcap, &["-w", d.join("room.pcap").to_str().unwrap()]);
    let all = of_kind(&ev, "stats")[0]["pcap"]["frames_written"]
        .as_u64()
        .unwrap();
    fs.fill(100 << 10);
    let out_pcap = fs.0.join("out.pcap");
    let json = d.join("events.json");
    let out = common::oftsniff()
        .args(["-q", "-r"])
        .arg(&pcap)
        .arg("--json")
        .arg(&json)
        .arg("-w")
        .arg(&out_pcap)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<_> = stderr.lines().filter(|l| l.contains("out.pcap")).collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr}");
    assert!(lines[0].starts_with("oftsniff: cannot write"), "{stderr}");
    let ev = common::events(&json);
    assert_eq!(of_kind(&ev, "file").len(), 10, "the events go on");
    let p = &of_kind(&ev, "stats")[0]["pcap"];
    let written = p["frames_written"].as_u64().unwrap();
    assert!(written > 0 && written < all, "{p}");
    assert_eq!(
        written + p["frames_not_written"].as_u64().unwrap(),
        all,
        "{p}"
    );
    // Whole records only, exactly as counted.
    let frames = common::read_frames(&out_pcap);
    assert_eq!(frames.len() as u64, written, "{p}");
    let size = std::fs::metadata(&out_pcap).unwrap().len();
    let records: u64 = frames.iter().map(|f| 16 + f.data.len() as u64).sum();
    assert_eq!(size, 24 + records, "no cut record");
    assert_eq!(p["bytes_written"], size, "{p}");
    if common::have_tshark() {
        assert_eq!(
            common::tshark_reads_clean(&out_pcap),
            Some(written as usize)
        );
    }
}
