//! Hostile input through the whole binary: every synthesized OFT scenario, its frames
//! damaged at random (bytes flipped in headers and payloads, frames cut short, dropped or
//! repeated), read with every output on. oftsniff must finish normally every time: no
//! panic, exit 0, a pcap tshark-clean where tshark is present, nothing carved outside DIR.

mod common;

use common::TempDir;
use oft_testkit::gen::oft::{self, Variant, KINDS};
use oft_testkit::gen::XorShift64;
use oftsniff::output::pcapfile::PcapFileWriter;

/// Damaged variants per scenario.
const SEEDS: u64 = 3;

#[test]
fn damaged_scenarios_never_crash_any_output() {
    let dir = TempDir::new("hostile");
    let mut runs = 0;
    for (k, &(name, kind)) in KINDS.iter().enumerate() {
        for seed in 0..SEEDS {
            let mut rng = XorShift64::new(0xBAD5EED ^ (k as u64) << 8 ^ seed);
            let mut frames = oft::build(kind, seed + 1, Variant::PLAIN)
                .pcap
                .into_frames();
            let n = frames.len() as u64;
            for _ in 0..(1 + rng.below(12)) {
                let i = rng.below(n) as usize;
                match rng.below(4) {
                    // Flip bytes anywhere in the frame, headers included.
                    0 | 1 => {
                        let f = &mut frames[i];
                        for _ in 0..1 + rng.below(6) {
                            if f.data.is_empty() {
                                break;
                            }
                            let at = rng.below(f.data.len() as u64) as usize;
                            f.data[at] ^= (rng.below(255) + 1) as u8;
                        }
                    }
                    // Cut it short.
                    2 => {
                        let f = &mut frames[i];
                        let keep = rng.below(f.data.len() as u64 + 1) as usize;
                        f.data.truncate(keep);
                    }
                    // Repeat it later.
                    _ => {
                        let f = frames[i].clone();
                        let at = rng.below(n) as usize;
                        frames.insert(at, f);
                    }
                }
            }
            let input = dir.join(&format!("{name}-{seed}.pcap"));
            let mut w = PcapFileWriter::new(std::fs::File::create(&input).unwrap(), frames[0].link)
                .unwrap();
            for f in &frames {
                w.write_frame(f).unwrap();
            }
            w.flush().unwrap();
            drop(w);

            let extract = dir.join(&format!("x-{name}-{seed}"));
            let out_pcap = dir.join(&format!("o-{name}-{seed}.pcap"));
            let out = common::oftsniff()
                .arg("-r")
                .arg(&input)
                .arg("-q")
                .arg("--json")
                .arg(dir.join("e.json"))
                .arg("-w")
                .arg(&out_pcap)
                .arg("--extract")
                .arg(&extract)
                .arg("--explain")
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!err.contains("panicked"), "{name} seed {seed}: {err}");
            assert!(out.status.success(), "{name} seed {seed}: {err}");
            // tshark is slow to start: one damaged variant per scenario is enough.
            if seed == 0 {
                if let Some(frames) = common::tshark_reads_clean(&out_pcap) {
                    assert!(frames < 100_000, "{name} seed {seed}");
                }
            }
            // Whatever was carved stayed inside the extract directory.
            if extract.exists() {
                let root = extract.canonicalize().unwrap();
                for e in walk(&extract) {
                    assert!(
                        e.canonicalize().unwrap().starts_with(&root),
                        "{}",
                        e.display()
                    );
                }
            }
            runs += 1;
        }
    }
    assert_eq!(runs, KINDS.len() * SEEDS as usize);
}

fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}
