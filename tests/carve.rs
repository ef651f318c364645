//! File carving into a directory: names from hostile OFT headers, planted symlinks,
//! partial files and holes.

use oftsniff::output::carve::Carver;
use std::path::{Path, PathBuf};

mod common;
/// A scratch directory removed on drop.
use common::TempDir as Dir;

fn names(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// Every regular file under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                walk(base, &e.path(), out);
            } else {
                out.push(
                    e.path()
                        .strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// Contents of the 44-byte file in gaim-sendfile-2005.pcap are not needed here; any
/// bytes do, written in uneven chunks as a stream would deliver them.
fn carve_whole(c: &Carver, parts: &[String], body: &[u8]) -> PathBuf {
    let mut f = c.start_file(parts, body.len() as u64, 0);
    let mut at = 0;
    for chunk in body.chunks(7) {
        f.write_at(at, chunk).unwrap();
        at += chunk.len() as u64;
    }
    let r = f.finish(true).unwrap();
    assert!(!r.partial && r.missing.is_empty(), "{r:?}");
    r.path
}

#[test]
fn whole_file_gets_its_final_name_and_no_partial_stays() {
    let d = Dir::new("whole");
    let c = Carver::new(&d.0.join("x")).unwrap();
    let body: Vec<u8> = (0..44u8).collect();
    let p = carve_whole(&c, &names(&["howdoisentfile.txt"]), &body);
    assert_eq!(p, d.0.join("x/howdoisentfile.txt"));
    assert_eq!(std::fs::read(&p).unwrap(), body);
    assert_eq!(tree(&d.0.join("x")), ["howdoisentfile.txt"]);
}

#[test]
fn hostile_names_stay_inside_the_directory() {
    let d = Dir::new("hostile");
    let root = d.0.join("extract");
    let c = Carver::new(&root).unwrap();
    let bad_utf16 = String::from_utf16_lossy(&[0xDC00, 0x2E, 0x2E, 0xD800]); // "\u{fffd}..\u{fffd}"
    let cases: Vec<Vec<String>> = vec![
        names(&["../../etc/passwd"]),
        names(&["/abs"]),
        names(&["/", "etc", "shadow"]),
        names(&["a", "..", "b"]),
        names(&["..", "..", "..", "escape"]),
        names(&[&"n".repeat(300)]),
        names(&[&format!("{}.txt", "é".repeat(200))]),
        vec![bad_utf16],
        names(&["CON"]),
        names(&["con.txt"]),
        names(&["LPT1", "x"]),
        names(&["ctl\x01\x1b\0name"]),
        names(&["back\\..\\slash"]),
        names(&[]),
        names(&["", ".", ".."]),
    ];
    let canon_root = root.canonicalize().unwrap();
    for (i, parts) in cases.iter().enumerate() {
        let p = carve_whole(&c, parts, format!("case {i}").as_bytes());
        let canon = p.canonicalize().unwrap();
        assert!(
            canon.starts_with(&canon_root),
            "{parts:?} -> {}",
            p.display()
        );
        for comp in canon.strip_prefix(&canon_root).unwrap().components() {
            let s = comp.as_os_str().to_string_lossy();
            assert!(
                s != ".." && !s.contains('\0') && !s.chars().any(|c| c.is_control()),
                "{s:?}"
            );
            assert!(s.len() <= 255);
            assert!(
                !["CON", "CON.TXT", "LPT1"].contains(&s.to_ascii_uppercase().as_str()),
                "{s}"
            );
        }
    }
    // Nothing appeared beside the extract directory.
    let siblings: Vec<_> = std::fs::read_dir(&d.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(siblings, ["extract"]);
    assert_eq!(tree(&root).len(), cases.len());
}

#[test]
fn symlink_planted_as_directory_is_not_followed() {
    let d = Dir::new("symdir");
    let root = d.0.join("extract");
    let outside = d.0.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let c = Carver::new(&root).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("sub")).unwrap();
    let p = carve_whole(&c, &names(&["sub", "f.txt"]), b"data");
    assert_eq!(p, root.join("sub (1)/f.txt"));
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "wrote through the symlink"
    );
}

#[test]
fn symlink_planted_as_file_name_is_not_followed() {
    let d = Dir::new("symfile");
    let root = d.0.join("extract");
    let c = Carver::new(&root).unwrap();
    let victim = d.0.join("victim");
    let victim2 = d.0.join("victim2");
    std::os::unix::fs::symlink(&victim, root.join("f.txt")).unwrap();
    std::os::unix::fs::symlink(&victim2, root.join("f (1).txt.partial")).unwrap();
    let p = carve_whole(&c, &names(&["f.txt"]), b"data");
    assert_eq!(p, root.join("f (2).txt"));
    assert!(!victim.exists() && !victim2.exists());
    assert_eq!(std::fs::read(&p).unwrap(), b"data");
}

#[test]
fn existing_files_are_never_overwritten() {
    let d = Dir::new("noover");
    let c = Carver::new(&d.0).unwrap();
    std::fs::write(d.0.join("f.txt"), b"precious").unwrap();
    let a = carve_whole(&c, &names(&["f.txt"]), b"one");
    let b = carve_whole(&c, &names(&["f.txt"]), b"two");
    assert_eq!(std::fs::read(d.0.join("f.txt")).unwrap(), b"precious");
    assert_eq!(a, d.0.join("f (1).txt"));
    assert_eq!(b, d.0.join("f (2).txt"));
    assert_eq!(std::fs::read(&b).unwrap(), b"two");
}

#[test]
fn two_files_in_flight_with_one_name_get_distinct_names() {
    let d = Dir::new("inflight");
    let c = Carver::new(&d.0).unwrap();
    let mut a = c.start_file(&names(&["same.bin"]), 1, 0);
    let mut b = c.start_file(&names(&["same.bin"]), 1, 0);
    a.write_at(0, b"a").unwrap();
    b.write_at(0, b"b").unwrap();
    let rb = b.finish(true).unwrap();
    let ra = a.finish(true).unwrap();
    assert_ne!(ra.path, rb.path);
    assert_eq!(std::fs::read(&ra.path).unwrap(), b"a");
    assert_eq!(std::fs::read(&rb.path).unwrap(), b"b");
}

#[test]
fn gap_leaves_zero_filled_hole_and_partial_name_with_missing_ranges() {
    let d = Dir::new("gap");
    let c = Carver::new(&d.0).unwrap();
    let mut f = c.start_file(&names(&["g.dat"]), 100, 0);
    f.write_at(0, &[1; 10]).unwrap();
    f.hole(10, 20);
    f.write_at(30, &[2; 20]).unwrap();
    let r = f.finish(true).unwrap();
    assert!(r.partial);
    assert_eq!(r.gaps, 1);
    assert_eq!(r.missing, [(10, 30), (50, 100)]);
    assert_eq!(r.path, d.0.join("g.dat.partial"));
    let bytes = std::fs::read(&r.path).unwrap();
    assert_eq!(bytes.len(), 50);
    assert!(bytes[..10].iter().all(|&b| b == 1));
    assert!(bytes[10..30].iter().all(|&b| b == 0));
    assert!(bytes[30..].iter().all(|&b| b == 2));
    assert!(!d.0.join("g.dat").exists());
}

#[test]
fn resumed_transfer_writes_at_the_resume_offset() {
    let d = Dir::new("resume");
    let c = Carver::new(&d.0).unwrap();
    let mut f = c.start_file(&names(&["r.dat"]), 8, 5);
    f.write_at(5, b"xyz").unwrap();
    let r = f.finish(true).unwrap();
    assert!(r.partial);
    assert_eq!(r.resumed_from, 5);
    assert_eq!(r.missing, [(0, 5)]);
    assert_eq!(std::fs::read(&r.path).unwrap(), b"\0\0\0\0\0xyz");
}

#[test]
fn retransmitted_bytes_fill_a_reported_hole() {
    let d = Dir::new("refill");
    let c = Carver::new(&d.0).unwrap();
    let mut f = c.start_file(&names(&["h"]), 6, 0);
    f.write_at(0, b"ab").unwrap();
    f.hole(2, 2);
    f.write_at(4, b"ef").unwrap();
    f.write_at(2, b"cd").unwrap();
    let r = f.finish(true).unwrap();
    assert!(!r.partial, "{r:?}");
    assert_eq!(std::fs::read(&r.path).unwrap(), b"abcdef");
}

#[test]
fn whole_bytes_but_unfinished_transfer_is_partial() {
    let d = Dir::new("trunc");
    let c = Carver::new(&d.0).unwrap();
    let mut f = c.start_file(&names(&["t.txt"]), 3, 0);
    f.write_at(0, b"abc").unwrap();
    let r = f.finish(false).unwrap();
    assert!(r.partial && r.missing.is_empty());
    assert_eq!(r.path, d.0.join("t.txt.partial"));
}

#[test]
fn bytes_past_the_announced_size_are_dropped_and_counted() {
    let d = Dir::new("excess");
    let c = Carver::new(&d.0).unwrap();
    let mut f = c.start_file(&names(&["e"]), 4, 0);
    f.write_at(0, b"abcdef").unwrap();
    f.write_at(10, b"zz").unwrap();
    let r = f.finish(true).unwrap();
    assert_eq!(r.excess_bytes, 4);
    assert_eq!(std::fs::read(&r.path).unwrap(), b"abcd");
}

#[test]
fn empty_announced_file_is_created_whole() {
    let d = Dir::new("empty");
    let c = Carver::new(&d.0).unwrap();
    let r = c
        .start_file(&names(&["empty.txt"]), 0, 0)
        .finish(true)
        .unwrap();
    assert!(!r.partial);
    assert_eq!(std::fs::metadata(&r.path).unwrap().len(), 0);
}

#[test]
fn discarded_files_leave_nothing_behind() {
    let d = Dir::new("discard");
    let c = Carver::new(&d.0).unwrap();
    // Skipped: DONE straight after PROMPT, no byte ever written.
    c.start_file(&names(&["dir", "skipped.txt"]), 10, 0)
        .discard();
    // Abandoned after some bytes.
    let mut f = c.start_file(&names(&["dir", "sub", "abandoned.txt"]), 10, 0);
    f.write_at(0, b"abc").unwrap();
    f.discard();
    assert_eq!(std::fs::read_dir(&d.0).unwrap().count(), 0);
}

#[test]
fn unusable_directory_fails_at_once_with_one_line() {
    let d = Dir::new("baddir");
    let file = d.0.join("file");
    std::fs::write(&file, b"x").unwrap();
    for p in [
        PathBuf::from("/proc/oftsniff-extract"),
        file.clone(),
        file.join("sub"),
    ] {
        let e = Carver::new(&p).expect_err("must fail");
        let msg = e.to_string();
        assert!(
            msg.contains(&p.display().to_string()) && !msg.contains('\n'),
            "{msg}"
        );
    }
}
