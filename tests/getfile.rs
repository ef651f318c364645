//! Get File (issue 11 §5): the requester browses the owner's shared folder. The owner's
//! listing is reported as a file of its own, then the file asked for, with the Get File
//! phases in between; the transfer's kind is `getfile`. The same report whatever the
//! capture did to the segments (reordered, duplicated, PROMPT split).

mod common;

use common::{of_kind, run_json, TempDir};
use oft_testkit::gen::oft::{self, Kind, Variant};
use oftsniff::proto::checksum::OftChecksum;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// The events of a run over the Get File scenario, and what it sent: (files, owner,
/// requester).
fn report(v: Variant, tag: &str) -> (Vec<Value>, (Vec<oft::GenFile>, String, String)) {
    let dir = TempDir::new(tag);
    let cap = oft::build(Kind::GetFile, 5, v);
    let pcap = dir.join("gf.pcap");
    cap.pcap.write_file(&pcap).unwrap();
    let (evs, _) = run_json(&pcap, &[]);
    (evs, (cap.files, cap.sender.unwrap(), cap.receiver.unwrap()))
}

#[test]
fn listing_then_requested_file() {
    let (evs, (files_sent, owner, requester)) = report(Variant::PLAIN, "getfile");
    let phases: Vec<&str> = of_kind(&evs, "phase")
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        [
            "tcp_handshake",
            "getfile_listing",
            "getfile_listing_request",
            "data_start",
            "data_end",
            "getfile_listing_received",
            "getfile_file_request",
            "prompt",
            "ack",
            "data_start",
            "data_end",
            "done",
            "close"
        ]
    );
    let phase = |name: &str| {
        of_kind(&evs, "phase")
            .into_iter()
            .find(|p| p["phase"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(phase("getfile_listing")["dir"], "sender->receiver");
    assert_eq!(phase("getfile_file_request")["dir"], "receiver->sender");
    assert_eq!(phase("getfile_file_request")["name"], files_sent[1].name);
    let files = of_kind(&evs, "file");
    assert_eq!(files.len(), 2, "{files:?}");
    for (f, sent) in files.iter().zip(&files_sent) {
        assert_eq!(f["name"], sent.name);
        assert_eq!(f["status"], "complete");
        assert_eq!(f["bytes"], sent.data.len());
        assert_eq!(f["checksum_ok"], true);
        assert_eq!(
            f["checksum_seen"],
            format!("{:#010x}", OftChecksum::of(&sent.data))
        );
        assert_eq!(f["sha256"], hex(&sent.data));
        assert_eq!(f["sender"], owner.as_str());
        assert_eq!(f["receiver"], requester.as_str());
    }
    let listing = String::from_utf8(files_sent[0].data.clone()).unwrap();
    assert!(listing.contains("shared\\notes.txt"), "{listing}");
    let t = of_kind(&evs, "transfer");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["kind"], "getfile");
    assert_eq!(t[0]["files"], 2);
}

#[test]
fn damaged_capture_gives_the_same_files() {
    let key = |evs: &[Value]| -> Vec<Value> {
        of_kind(evs, "file")
            .iter()
            .map(|f| serde_json::json!([f["name"], f["status"], f["bytes"], f["sha256"]]))
            .collect()
    };
    let (plain, _) = report(Variant::PLAIN, "getfile-plain");
    let (mangled, _) = report(Variant::ALL, "getfile-mangled");
    assert_eq!(key(&plain), key(&mangled));
    assert_eq!(of_kind(&mangled, "transfer")[0]["kind"], "getfile");
}
