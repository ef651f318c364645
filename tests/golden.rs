//! Golden output: what oftsniff prints for every bundled capture and every generated
//! scenario, byte for byte, with one worker and with two. The NDJSON events (`--json -`,
//! with files carved to a relative directory so their paths are stable), and the readable
//! log with flow lines and the `--explain` ladder (`-v --explain`).
//!
//! A change in any of them fails here. When a change is intended, regenerate with
//! `OFTSNIFF_BLESS=1 cargo test --test golden` and review the diff of `tests/golden/`.

use oft_testkit::gen::oft::{self, Variant, KINDS};
use oft_testkit::gen::pcap::PcapBuilder;
use oft_testkit::gen::scenarios::SCENARIOS;
use oftsniff::capture::{Frame, Timestamp};
use std::path::{Path, PathBuf};

mod common;
use common::{oftsniff, TempDir};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Every OFT scenario back to back on the same addresses (cookies, listeners and
/// 4-tuples repeat, as with real clients), 2 s of packet time apart.
fn all_oft(path: &Path) {
    let mut pcap = PcapBuilder::new();
    let mut start = 0u64;
    for (i, (_, kind)) in KINDS.iter().enumerate() {
        let frames: Vec<Frame> = oft::build(*kind, 11 + i as u64, Variant::PLAIN)
            .pcap
            .into_frames();
        let first = frames.first().map_or(0, |f| f.ts.0);
        let last = frames.last().map_or(0, |f| f.ts.0);
        pcap.add_frames(frames.into_iter().map(|mut f| {
            f.ts = Timestamp(f.ts.0 - first + start);
            f
        }));
        start += last - first + 2 * Timestamp::NANOS_PER_SEC;
    }
    pcap.write_file(path).expect("write capture");
}

/// (case name, capture path) for every input the golden files cover.
fn cases(dir: &TempDir) -> Vec<(String, PathBuf)> {
    let mut cases = Vec::new();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut bundled: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    bundled.sort();
    for p in bundled {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        cases.push((name, p));
    }
    for sc in SCENARIOS {
        let p = dir.join(&format!("{}.pcap", sc.name));
        (sc.build)(1).write_file(&p).expect("write scenario");
        cases.push((format!("gen-{}", sc.name), p));
    }
    let p = dir.join("all-oft.pcap");
    all_oft(&p);
    cases.push(("gen-all-oft".to_string(), p));
    cases
}

/// stdout of `oftsniff -r PCAP ARGS --workers N`, run in `cwd`.
fn stdout_of(pcap: &Path, args: &[&str], workers: usize, cwd: &Path) -> String {
    let out = oftsniff()
        .current_dir(cwd)
        .arg("-r")
        .arg(pcap)
        .args(args)
        .args(["--workers", &workers.to_string()])
        .output()
        .expect("run oftsniff");
    assert!(
        out.status.success(),
        "oftsniff -r {} {args:?} --workers {workers}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The first differing line of two texts, for a failure message a person can act on.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i), g.get(i));
        if a != b {
            return format!(
                "line {}:\n  golden: {}\n  now:    {}",
                i + 1,
                a.unwrap_or(&"<none>"),
                b.unwrap_or(&"<none>")
            );
        }
    }
    "only trailing bytes differ".to_string()
}

#[test]
fn output_matches_golden_files() {
    let dir = TempDir::new("golden");
    let bless = std::env::var_os("OFTSNIFF_BLESS").is_some();
    let golden = golden_dir();
    if bless {
        std::fs::create_dir_all(&golden).unwrap();
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, pcap) in cases(&dir) {
        // Carved files that share a name are numbered in the order workers create them,
        // which two workers do not fix: the many-transfer capture is not carved.
        let ndjson: &[&str] = if name == "gen-all-oft" {
            &["--json", "-"]
        } else {
            &["--json", "-", "--extract", "carved"]
        };
        let kinds: [(&str, &[&str]); 2] = [("ndjson", ndjson), ("log", &["-v", "--explain"])];
        for (ext, args) in kinds {
            let path = golden.join(format!("{name}.{ext}"));
            for workers in [1, 2] {
                let cwd = dir.join(&format!("run-{name}-{ext}-{workers}"));
                std::fs::create_dir_all(&cwd).unwrap();
                let got = stdout_of(&pcap, args, workers, &cwd);
                if bless && workers == 1 {
                    std::fs::write(&path, &got).unwrap();
                }
                let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                    panic!(
                        "{}: {e} (OFTSNIFF_BLESS=1 cargo test --test golden writes it)",
                        path.display()
                    )
                });
                compared += 1;
                if want != got {
                    failures.push(format!(
                        "{} with --workers {workers}: {}",
                        path.display(),
                        first_difference(&want, &got)
                    ));
                }
            }
        }
    }
    assert!(compared >= 40, "only {compared} outputs compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
