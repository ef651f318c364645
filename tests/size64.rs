//! Files of 4 GiB and more (issue 11 §5): the OFT headers carry only the low 32 bits of
//! the size (the full one goes in rendezvous TLV 0x2713), so the data connection must
//! see for itself that the sender goes on past them. A generated 5 GiB transfer is
//! streamed from oftgen straight into `oftsniff -r -`, never stored.

mod common;

use common::{bins, of_kind};
use serde_json::Value;
use std::process::{Command, Stdio};

#[test]
fn five_gib_file_streamed_through_a_pipe() {
    let size: u64 = 5 << 30;
    let mut gen = Command::new(bins::oftgen())
        .args([
            "oft-transfers",
            "-",
            "--transfers",
            "1",
            "--concurrent",
            "1",
        ])
        .args(["--file-bytes", &size.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = common::oftsniff()
        .args(["-r", "-", "-q", "--json", "-"])
        .stdin(gen.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(gen.wait().unwrap().success());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let evs: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let prompt: Vec<&Value> = of_kind(&evs, "phase")
        .into_iter()
        .filter(|p| p["phase"] == "prompt")
        .collect();
    // The header says 1 GiB: the low 32 bits.
    assert_eq!(prompt[0]["size"], size & 0xFFFF_FFFF);
    let files = of_kind(&evs, "file");
    assert_eq!(files.len(), 1, "{files:?}");
    let f = files[0];
    assert_eq!(f["size"], size);
    assert_eq!(f["bytes"], size);
    assert_eq!(f["status"], "complete");
    assert_eq!(f["checksum_ok"], true, "{f}");
    assert_eq!(f["missing"], serde_json::json!([]));
    assert_eq!(f["bytes_acked"], size);
    let ends: Vec<u64> = of_kind(&evs, "phase")
        .into_iter()
        .filter(|p| p["phase"] == "data_end")
        .map(|p| p["bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ends,
        vec![size & 0xFFFF_FFFF, size],
        "a data_end where the header's size ended, and the real one"
    );
    let t = of_kind(&evs, "transfer");
    assert_eq!(t[0]["bytes"], size);
    let stats = of_kind(&evs, "stats");
    assert_eq!(stats[0]["bytes_discarded"], 0);
}
