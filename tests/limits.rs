//! The named limits cut what they promise to cut, and every cut is counted in the
//! `stats` event and on stderr.

mod common;

use serde_json::Value;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn stats(args: &[&str]) -> (Value, String) {
    let out = common::oftsniff()
        .args(args)
        .args(["-q", "--json", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let last = text.lines().last().unwrap();
    let v: Value = serde_json::from_str(last).unwrap();
    assert_eq!(v["event"], "stats");
    (v, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn out_of_order_limit_gives_holes_up_early_and_counts_them() {
    let f = data("ndpi-icq-flap-2015.pcapng");
    let f = f.to_str().unwrap();
    let (free, _) = stats(&["-r", f]);
    assert_eq!(free["ooo_limit_gaps"], 0);
    let (tight, err) = stats(&["-r", f, "--max-ooo-bytes", "100"]);
    // The two holes of this capture are given up as soon as data piles up behind them;
    // the bytes lost are the same 71,091 either way.
    assert_eq!(tight["ooo_limit_gaps"], 2, "{tight}");
    assert_eq!(tight["gap_bytes"], free["gap_bytes"]);
    assert!(err.contains("2 holes given up at --max-ooo-bytes"), "{err}");
}

#[test]
fn flow_limit_evicts_and_counts() {
    let f = data("gaim-chat-join-2005.pcap");
    let f = f.to_str().unwrap();
    let (free, _) = stats(&["-r", f, "--workers", "1"]);
    assert_eq!(free["flows_evicted"], 0);
    assert_eq!(free["flows_seen"], 3);
    let (one, err) = stats(&["-r", f, "--workers", "1", "--max-flows", "1"]);
    // Three interleaved connections in a table of one: each return of an evicted
    // connection is picked up again, midstream, and evicts another.
    let evicted = one["flows_evicted"].as_u64().unwrap();
    assert!(evicted >= 2, "{one}");
    assert_eq!(
        one["flows_seen"].as_u64().unwrap(),
        evicted + 1,
        "every flow seen but the last was evicted"
    );
    assert!(err.contains(&format!("{evicted} evicted")), "{err}");
}

/// Classic pcap (microseconds, little-endian) of `frames` under link type `link`.
fn pcap_bytes(link: u32, frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, link] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for (ts_ns, data) in frames {
        let secs = (ts_ns / 1_000_000_000) as u32;
        let usecs = ((ts_ns % 1_000_000_000) / 1000) as u32;
        for v in [secs, usecs, data.len() as u32, data.len() as u32] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(data);
    }
    b
}

/// The Gaim capture's frames without their Ethernet header: bare IPv4.
fn gaim_as_raw_ip() -> Vec<(u64, Vec<u8>)> {
    common::read_frames(&data("gaim-sendfile-2005.pcap"))
        .into_iter()
        .map(|f| {
            assert_eq!(&f.data[12..14], &[0x08, 0x00], "not plain Ethernet/IPv4");
            (f.ts.0, f.data[14..].to_vec())
        })
        .collect()
}

fn pcap_link_type(p: &std::path::Path) -> u32 {
    let b = std::fs::read(p).unwrap();
    u32::from_le_bytes(b[20..24].try_into().unwrap())
}

#[test]
fn held_frames_limit_cuts_the_transfers_frames_and_counts_them() {
    let d = common::TempDir::new("held");
    let input = d.join("oft-direct.pcap");
    let gen = std::process::Command::new(common::bins::oftgen())
        .arg("oft-direct")
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let run = |limit: &str, out: &str| {
        let out = d.join(out);
        let o = common::oftsniff()
            .arg("-r")
            .arg(&input)
            .args(["-q", "--json", "-", "--max-held-frames", limit, "-w"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success());
        let evs: Vec<Value> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let frames = common::read_frames(&out);
        (evs, String::from_utf8_lossy(&o.stderr).into_owned(), frames)
    };
    let (free, _, all) = run("256", "free.pcap");
    let (cut, err, kept) = run("1", "cut.pcap");
    let transfer = |evs: &[Value]| common::of_kind(evs, "transfer")[0].clone();
    assert_eq!(transfer(&free)["frames_lost"], 0);
    // The connection's SYN is held, its SYN-ACK and ACK are not: the PROMPT that
    // recognizes it comes with the fourth frame.
    assert_eq!(transfer(&cut)["frames_lost"], 2, "{}", transfer(&cut));
    assert_eq!(kept.len() + 2, all.len());
    assert_eq!(kept[0].data, all[0].data, "the SYN must stay first");
    assert_eq!(
        kept[0].data[14 + 20 + 13],
        0x02,
        "first frame is not a bare SYN"
    );
    let stats = common::of_kind(&cut, "stats")[0];
    let dropped = stats["held_frames_dropped"].as_u64().unwrap();
    assert!(dropped >= 2, "{stats}");
    assert!(
        err.contains(&format!(
            "{dropped} frames not held for pcap output (--max-held-frames)"
        )),
        "{err}"
    );
    assert_eq!(common::of_kind(&free, "stats")[0]["held_frames_dropped"], 0);
}

#[test]
fn stats_event_carries_the_pcap_writers_final_counters() {
    let d = common::TempDir::new("stats-pcap");
    let out = d.join("out.pcap");
    let o = common::oftsniff()
        .arg("-r")
        .arg(data("gaim-sendfile-2005.pcap"))
        .args(["-q", "--json", "-", "-w"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let stats: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let p = &stats["pcap"];
    let written = common::read_frames(&out).len() as u64;
    assert!(written > 0);
    assert_eq!(p["frames_written"], written, "{stats}");
    assert_eq!(p["bytes_written"], std::fs::metadata(&out).unwrap().len());
    assert_eq!(p["files"], 1);
    assert_eq!(p["writer_stalls"], 0);
    assert_eq!(p["link_mismatch"], 0);
    assert_eq!(p["error"], Value::Null);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{written} frames written to pcap")),
        "{err}"
    );
    assert!(!err.contains("warning"), "{err}");
    // Without pcap output there is nothing to report.
    let (plain, _) = stats_of(&data("gaim-sendfile-2005.pcap"));
    assert_eq!(plain["pcap"], Value::Null);
}

fn stats_of(p: &std::path::Path) -> (Value, String) {
    stats(&["-r", p.to_str().unwrap()])
}

#[test]
fn raw_ip_link_types_12_and_14_are_written_back_with_their_own_number() {
    let d = common::TempDir::new("raw12");
    for link in [12u32, 14, 101] {
        let input = d.join(&format!("raw{link}.pcap"));
        std::fs::write(&input, pcap_bytes(link, &gaim_as_raw_ip())).unwrap();
        let out = d.join(&format!("out{link}.pcap"));
        let o = common::oftsniff()
            .arg("-r")
            .arg(&input)
            .args(["-q", "-w"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success());
        assert_eq!(pcap_link_type(&out), link);
        let n = common::read_frames(&out).len();
        assert!(n >= 10, "link {link}: {n} frames written");
    }
}

/// A pcapng section whose first interface is Ethernet and whose second, raw IP, carries
/// every frame.
fn pcapng_on_second_interface(frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, btype: u32, body: &[u8]) {
        let len = 12 + body.len().div_ceil(4) * 4;
        out.extend_from_slice(&btype.to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + (4 - body.len() % 4) % 4, 0);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    }
    let mut b = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    block(&mut b, 0x0a0d_0d0a, &shb);
    for link in [1u16, 101] {
        let mut idb = Vec::new();
        idb.extend_from_slice(&link.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&0u32.to_le_bytes());
        block(&mut b, 1, &idb);
    }
    for (ts_ns, data) in frames {
        let us = ts_ns / 1000;
        let mut epb = Vec::new();
        for v in [
            1u32,
            (us >> 32) as u32,
            us as u32,
            data.len() as u32,
            data.len() as u32,
        ] {
            epb.extend_from_slice(&v.to_le_bytes());
        }
        epb.extend_from_slice(data);
        block(&mut b, 6, &epb);
    }
    b
}

#[test]
fn frames_of_another_link_type_than_the_w_file_are_reported_not_silently_lost() {
    let d = common::TempDir::new("mixed");
    let input = d.join("mixed.pcapng");
    std::fs::write(&input, pcapng_on_second_interface(&gaim_as_raw_ip())).unwrap();
    let out = d.join("out.pcap");
    let o = common::oftsniff()
        .arg("-r")
        .arg(&input)
        .args(["-q", "--json", "-", "-w"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let stats: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(stats["event"], "stats");
    let missing = stats["pcap"]["link_mismatch"].as_u64().unwrap();
    assert!(missing >= 10, "{stats}");
    assert_eq!(stats["pcap"]["frames_written"], 0);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "oftsniff: warning: {missing} frames not written to -w: their link type differs"
        )),
        "{err}"
    );
}
