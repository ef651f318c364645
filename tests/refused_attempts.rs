//! A connection attempt the rendezvous predicted, refused before the peers moved on to
//! the proxy (Appendix B: "failed attempts come first"), belongs to the transfer: it is
//! counted in the transfer event and its frames go to `-w` with the rest.

use oft_testkit::gen::oft::{self, Kind, Variant};
use oftsniff::capture::offline::OfflineSource;
use oftsniff::decode::decode_tcp;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Scratch(PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn transfer_event(json: &Path) -> Value {
    let text = std::fs::read_to_string(json).unwrap();
    let transfers: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "transfer")
        .collect();
    assert_eq!(transfers.len(), 1, "one transfer expected: {transfers:?}");
    transfers.into_iter().next().unwrap()
}

#[test]
fn refused_direct_attempt_joins_the_proxied_transfer() {
    let dir =
        Scratch(std::env::temp_dir().join(format!("oftsniff-refused-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let input = dir.0.join("stage2.pcap");
    let cap = oft::build(Kind::ProxyStage2, 1, Variant::PLAIN);
    cap.pcap.write_file(&input).unwrap();

    let (json, out) = (dir.0.join("e.json"), dir.0.join("out.pcap"));
    let st = Command::new(env!("CARGO_BIN_EXE_oftsniff"))
        .arg("-r")
        .arg(&input)
        .arg("-q")
        .arg("--json")
        .arg(&json)
        .arg("-w")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    let t = transfer_event(&json);
    assert_eq!(t["failed_attempts"], 1, "{t}");
    assert_eq!(
        t["legs"].as_array().unwrap().len(),
        2,
        "the attempt is not a leg: {t}"
    );

    // The SYN to the offered address and the RST refusing it are in the pcap.
    let mut src = OfflineSource::open(&out).unwrap();
    let mut frames = Vec::new();
    while src.next_batch(&mut frames, 1024).unwrap() > 0 {}
    let refused: Vec<_> = frames
        .iter()
        .filter_map(|f| decode_tcp(f.link, &f.data).ok())
        .filter(|p| p.src.port == 47_003 || p.dst.port == 47_003)
        .collect();
    assert_eq!(refused.len(), 2, "SYN and RST of the refused attempt");
    assert!(refused[0].flags.syn() && !refused[0].flags.ack());
    assert!(refused[1].flags.rst());

    // Without -w the attempt is still counted.
    let st = Command::new(env!("CARGO_BIN_EXE_oftsniff"))
        .arg("-r")
        .arg(&input)
        .arg("-q")
        .arg("--json")
        .arg(&json)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(transfer_event(&json)["failed_attempts"], 1);
}
