//! A monitor started while a long transfer runs (issue 11 §3): the connection is picked
//! up far into a data phase longer than `--midstream-scan-bytes`, and the receiver's DONE,
//! the first OFT header of the capture, names the file. oftgen cuts the start of a 50 MB
//! transfer at 10, 60 and 99 %; what oftsniff reports is checked against the sender's
//! bytes as they are in the capture.

mod common;

use common::{bins, events, of_kind, read_frames, TempDir};
use oftsniff::decode::decode_tcp;
use oftsniff::proto::checksum::OftChecksum;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

const SIZE: u64 = 50_000_000;

/// What the capture holds of the file: the sender's (TCP server's) payload in order,
/// with the times of its first and last segment.
fn sender_bytes(pcap: &Path) -> (Vec<u8>, f64, f64) {
    let mut tail = Vec::new();
    let mut times = Vec::new();
    for f in read_frames(pcap) {
        let p = decode_tcp(f.link, &f.data).unwrap();
        if p.src.port == 5190 && !p.payload.is_empty() {
            tail.extend_from_slice(&f.data[p.payload.clone()]);
            times.push(f.ts.as_f64());
        }
    }
    let (first, last) = (times[0], *times.last().unwrap());
    (tail, first, last)
}

fn pick_up_at(percent: u64) {
    let dir = TempDir::new(&format!("midlong{percent}"));
    let pcap = dir.join("t.pcap");
    common::succeed(
        Command::new(bins::oftgen())
            .args(["oft-transfers", "--transfers", "1", "--concurrent", "1"])
            .args(["--file-bytes", &SIZE.to_string()])
            .args(["--pickup-at", &percent.to_string()])
            .arg(&pcap),
    );
    let (tail, first, last) = sender_bytes(&pcap);
    let unseen = SIZE - tail.len() as u64;
    // The capture starts with the segment that crossed PERCENT of the file.
    let cut = SIZE * percent / 100;
    assert!(
        unseen <= cut && unseen + 3000 > cut,
        "unseen {unseen}, cut {cut}"
    );
    assert!(tail.len() > 256 << 10, "longer than the scan budget");

    let json = dir.join("e.json");
    let out = common::succeed(
        common::oftsniff()
            .arg("-r")
            .arg(&pcap)
            .arg("--json")
            .arg(&json),
    );
    let log = String::from_utf8_lossy(&out.stdout);
    let evs = events(&json);
    let files = of_kind(&evs, "file");
    assert_eq!(files.len(), 1, "{percent}%: {log}");
    let f = files[0];
    assert_eq!(f["name"], "file-000000.bin");
    assert_eq!(f["size"], SIZE);
    assert_eq!(f["status"], "unknown_start");
    assert_eq!(f["bytes"], tail.len() as u64);
    assert_eq!(f["missing"], serde_json::json!([[0, unseen]]));
    assert_eq!(f["first_data_ts"], first);
    assert_eq!(f["last_data_ts"], last);
    let sha: String = Sha256::digest(&tail)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(f["sha256"], sha);
    // The seen part's share of the checksum: the file with its unseen prefix zeroed.
    let mut c = OftChecksum::starting_at(unseen);
    c.update(&tail);
    assert_eq!(f["checksum_partial"], format!("{:#010x}", c.value()));
    assert_eq!(f["checksum_ok"], serde_json::Value::Null);
    assert!(
        log.contains(&format!("unseen_prefix={unseen}")) && log.contains("unknown_start"),
        "{log}"
    );
    let t = of_kind(&evs, "transfer");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["files"], 1);
}

#[test]
fn picked_up_at_10_percent() {
    pick_up_at(10);
}

#[test]
fn picked_up_at_60_percent() {
    pick_up_at(60);
}

#[test]
fn picked_up_at_99_percent() {
    pick_up_at(99);
}

/// A folder picked up in the middle of its first file, longer than the scan budget: the
/// receiver's DONE places the first file's tail, and the next PROMPT is followed as usual.
#[test]
fn folder_picked_up_mid_file_locks_on_at_the_next_prompt() {
    use oft_testkit::gen::pcap::PcapBuilder;
    use oft_testkit::gen::tcp::{Dir, TcpConv};
    use oftsniff::capture::Timestamp;
    use oftsniff::proto::oft::{FileName, OftHeader};
    use oftsniff::proto::Cookie;

    let body = |n: usize, k: u8| -> Vec<u8> { (0..n).map(|i| (i * 31 % 251) as u8 ^ k).collect() };
    let (first, second) = (body(900_000, 1), body(70_000, 2));
    let cookie = Cookie(*b"fold3r\0\0");
    let header = |name: &str, b: &[u8], left: u16| {
        OftHeader::prompt(
            cookie,
            FileName::utf8(name),
            b.len() as u32,
            OftChecksum::of(b),
            2,
            left,
            (first.len() + second.len()) as u32,
        )
    };
    let (p1, p2) = (
        header("dir\u{1}a.bin", &first, 2),
        header("dir\u{1}b.bin", &second, 1),
    );
    let ep = |s: &str| s.parse::<std::net::SocketAddr>().unwrap().into();
    let mut c = TcpConv::midstream(
        ep("198.18.7.2:40001"),
        ep("198.18.7.1:5190"),
        Timestamp(1_700_000_000_000_000_000),
    );
    let seen = 500_000;
    c.send(Dir::ServerToClient, &first[first.len() - seen..]);
    c.send(
        Dir::ClientToServer,
        &p1.done(cookie, p1.size, p1.checksum, false).emit(),
    );
    c.send(Dir::ServerToClient, &p2.emit());
    c.send(Dir::ClientToServer, &p2.ack(cookie).emit());
    c.send(Dir::ServerToClient, &second);
    c.send(
        Dir::ClientToServer,
        &p2.done(cookie, p2.size, p2.checksum, true).emit(),
    );
    c.close();
    let dir = TempDir::new("midfolder");
    let pcap = dir.join("f.pcap");
    let mut b = PcapBuilder::new();
    b.add_conv(&c);
    b.write_file(&pcap).unwrap();
    let json = dir.join("e.json");
    common::run_ok(&[
        "-q".as_ref(),
        "-r".as_ref(),
        pcap.as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    let evs = events(&json);
    let files = of_kind(&evs, "file");
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[0]["name"], "dir/a.bin");
    assert_eq!(files[0]["status"], "unknown_start");
    assert_eq!(files[0]["bytes"], seen as u64);
    assert_eq!(
        files[0]["missing"],
        serde_json::json!([[0, first.len() - seen]])
    );
    assert_eq!(files[1]["name"], "dir/b.bin");
    assert_eq!(files[1]["status"], "complete");
    assert_eq!(files[1]["checksum_ok"], true);
    assert_eq!(files[1]["bytes"], second.len() as u64);
}
