//! The pcap writer thread end to end: files it leaves behind are read back byte for byte
//! and, where tshark is installed, opened with it.

use oftsniff::capture::{Frame, FrameNo, LinkType, Timestamp};
use oftsniff::flow::{Endpoint, FlowKey};
use oftsniff::output::pcap_out::{PcapOut, PcapOutConfig, TransferId, TransferLabel};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;
/// A scratch directory removed on drop.
use common::TempDir as Dir;

fn ep(last: u8, port: u16) -> Endpoint {
    // Test addresses from 198.18.0.0/15 (benchmarking range) only.
    Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, last)), port)
}

fn conn(n: u8) -> FlowKey {
    FlowKey::from_segment(ep(1, 5190), ep(n + 1, 40000 + n as u16)).0
}

/// A frame whose bytes encode its number, so a record can be traced back to it.
fn frame(no: u64, ts_ms: u64, len: usize) -> Frame {
    let mut data = vec![0u8; len];
    data[..8].copy_from_slice(&no.to_be_bytes());
    Frame {
        no: FrameNo(no),
        ts: Timestamp(ts_ms * 1_000_000),
        orig_len: len as u32 + 4,
        link: LinkType::Ethernet,
        data: data.into(),
    }
}

struct Record {
    ts: u64,
    orig_len: u32,
    data: Vec<u8>,
}

/// Reads a nanosecond little-endian pcap as written by `PcapFileWriter`; panics on any
/// trailing partial record.
fn read_pcap(p: &Path) -> (u32, Vec<Record>) {
    let b = std::fs::read(p).unwrap();
    assert!(b.len() >= 24, "{}: no header", p.display());
    assert_eq!(&b[0..4], &0xa1b2_3c4du32.to_le_bytes());
    let u32at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let link = u32at(20);
    let mut recs = Vec::new();
    let mut i = 24;
    while i < b.len() {
        assert!(i + 16 <= b.len(), "{}: partial record header", p.display());
        let incl = u32at(i + 8) as usize;
        assert!(i + 16 + incl <= b.len(), "{}: partial record", p.display());
        recs.push(Record {
            ts: u32at(i) as u64 * 1_000_000_000 + u32at(i + 4) as u64,
            orig_len: u32at(i + 12),
            data: b[i + 16..i + 16 + incl].to_vec(),
        });
        i += 16 + incl;
    }
    (link, recs)
}

fn numbers(recs: &[Record]) -> Vec<u64> {
    recs.iter()
        .map(|r| u64::from_be_bytes(r.data[..8].try_into().unwrap()))
        .collect()
}

/// tshark reads the file without complaint (no "cut short", no error exit).
fn tshark_reads(p: &Path) {
    let out = match Command::new("tshark").arg("-r").arg(p).output() {
        Ok(o) => o,
        Err(_) => {
            eprintln!(
                "!!! tshark not installed: SKIPPING tshark check of {}",
                p.display()
            );
            return;
        }
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tshark failed on {}: {err}",
        p.display()
    );
    assert!(!err.contains("cut short"), "tshark: {err}");
}

fn cfg_w(p: &Path) -> PcapOutConfig {
    let mut c = PcapOutConfig::new(LinkType::Ethernet);
    c.write = Some(p.to_path_buf());
    // No idle drain in the middle of a test, whatever the machine's load.
    c.flush_interval = Duration::from_secs(60);
    c
}

#[test]
fn interleaved_connections_come_out_in_timestamp_order_per_connection_order_kept() {
    let d = Dir::new("order");
    let out = d.0.join("out.pcap");
    let h = PcapOut::open(cfg_w(&out)).unwrap();
    let s = h.sender();
    let t = TransferId(1);
    // Two workers' batches, each in capture order, arriving out of timestamp order.
    s.frames(
        t,
        conn(1),
        vec![frame(1, 1000, 60), frame(3, 1020, 60), frame(5, 1040, 60)],
    )
    .unwrap();
    s.frames(t, conn(2), vec![frame(2, 1010, 60), frame(4, 1030, 60)])
        .unwrap();
    // Conn 2's clock steps back: its own order must still hold.
    s.frames(t, conn(2), vec![frame(6, 1005, 60)]).unwrap();
    let st = h.finish();
    assert!(st.error.is_none(), "{:?}", st.error);
    let (link, recs) = read_pcap(&out);
    assert_eq!(link, 1);
    // 6 stays behind 4 (same connection) but, being older than 5, goes before it.
    assert_eq!(numbers(&recs), [1, 2, 3, 4, 6, 5]);
    assert_eq!(st.frames_written, 6);
    assert_eq!(recs[0].ts, 1_000_000_000);
    assert_eq!(recs[0].orig_len, 64, "original length kept");
    assert_eq!(recs[0].data, frame(1, 1000, 60).data, "bytes kept");
    tshark_reads(&out);
}

#[test]
fn frames_arriving_after_the_window_are_written_and_counted_out_of_order() {
    let d = Dir::new("late");
    let out = d.0.join("out.pcap");
    let mut c = cfg_w(&out);
    c.reorder.window = Duration::from_millis(100);
    let h = PcapOut::open(c).unwrap();
    let s = h.sender();
    // Frame 2 leaves once frame 4 is 200 ms newer than it.
    s.frames(
        TransferId(1),
        conn(1),
        vec![frame(1, 1000, 60), frame(2, 5000, 60), frame(4, 5200, 60)],
    )
    .unwrap();
    // Then frames a worker held until its connection was recognized, seconds old.
    s.frames(TransferId(1), conn(2), vec![frame(3, 1500, 60)])
        .unwrap();
    let st = h.finish();
    let (_, recs) = read_pcap(&out);
    assert_eq!(numbers(&recs), [1, 2, 3, 4]);
    assert_eq!(st.written_out_of_order, 1);
}

#[test]
fn negative_run_leaves_header_only_pcap() {
    let d = Dir::new("empty");
    let out = d.0.join("out.pcap");
    let h = PcapOut::open(cfg_w(&out)).unwrap();
    assert_eq!(
        std::fs::metadata(&out).unwrap().len(),
        24,
        "header on disk before any frame"
    );
    let st = h.finish();
    assert_eq!(st.frames_written, 0);
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 24);
    tshark_reads(&out);
}

#[test]
fn rotation_through_the_writer_makes_valid_tcpdump_named_files() {
    let d = Dir::new("rot");
    let out = d.0.join("out.pcap");
    let mut c = cfg_w(&out);
    c.rotate_mb = Some(1);
    let h = PcapOut::open(c).unwrap();
    let s = h.sender();
    // 2 500 records of 1 016 bytes: files of 985 records (just over 1e6 bytes).
    for b in 0..25u64 {
        let frames = (0..100)
            .map(|i| frame(b * 100 + i, b * 100 + i, 1000))
            .collect();
        s.frames(TransferId(1), conn(1), frames).unwrap();
    }
    let st = h.finish();
    assert_eq!(st.files, 3);
    let names: Vec<PathBuf> = ["out.pcap", "out.pcap1", "out.pcap2"]
        .iter()
        .map(|n| d.0.join(n))
        .collect();
    let mut all = Vec::new();
    for n in &names {
        let (_, recs) = read_pcap(n);
        all.extend(numbers(&recs));
        tshark_reads(n);
    }
    assert_eq!(all, (0..2500).collect::<Vec<u64>>());
    assert!(!d.0.join("out.pcap3").exists());
}

#[test]
fn ring_rotation_keeps_newest_files_zero_padded() {
    let d = Dir::new("ring");
    let out = d.0.join("out.pcap");
    let mut c = cfg_w(&out);
    c.rotate_mb = Some(1);
    c.rotate_files = Some(11);
    let h = PcapOut::open(c).unwrap();
    let s = h.sender();
    let frames = (0..1500).map(|i| frame(i, i, 1000)).collect();
    s.frames(TransferId(1), conn(1), frames).unwrap();
    let st = h.finish();
    assert_eq!(st.files, 2);
    assert!(!out.exists(), "with -W every file is numbered");
    for n in ["out.pcap00", "out.pcap01"] {
        read_pcap(&d.0.join(n));
        tshark_reads(&d.0.join(n));
    }
}

#[test]
fn unwritable_paths_fail_at_open_with_one_line() {
    let d = Dir::new("bad");
    let file = d.0.join("plainfile");
    std::fs::write(&file, b"x").unwrap();
    let cases = [
        PathBuf::from("/proc/nonexistent/out.pcap"),
        file.join("out.pcap"), // parent is a file
    ];
    for p in cases {
        let e = PcapOut::open(cfg_w(&p)).err().expect("open must fail");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("cannot write {}: ", p.display())),
            "{msg}"
        );
        assert!(!msg.contains('\n') && !msg.contains("os error"), "{msg}");
    }
    let mut c = PcapOutConfig::new(LinkType::Ethernet);
    c.pcap_dir = Some(file.clone());
    let e = PcapOut::open(c).err().expect("a file is no pcap dir");
    assert!(!e.to_string().contains('\n'));
    let mut c = PcapOutConfig::new(LinkType::Ethernet);
    c.pcap_dir = Some(PathBuf::from("/proc/oftsniff-pcaps"));
    assert!(PcapOut::open(c).is_err());
}

#[test]
fn rotation_flags_without_w_or_with_bad_values_are_refused() {
    let mut c = PcapOutConfig::new(LinkType::Ethernet);
    c.rotate_mb = Some(1);
    assert!(PcapOut::open(c).is_err());
    let d = Dir::new("flags");
    let mut c = cfg_w(&d.0.join("o.pcap"));
    c.rotate_files = Some(3);
    assert!(PcapOut::open(c).is_err());
}

fn label(first: &str, start_s: u64) -> TransferLabel {
    TransferLabel {
        start: Timestamp::from_parts(start_s, 0),
        a: ep(1, 5190),
        b: ep(2, 1234),
        first_name: Some(first.into()),
    }
}

#[test]
fn pcap_dir_writes_one_file_per_transfer_named_by_label() {
    let d = Dir::new("dir");
    let dir = d.0.join("sessions"); // created by open
    let mut c = cfg_w(&d.0.join("all.pcap"));
    c.pcap_dir = Some(dir.clone());
    c.max_open_transfer_files = 1; // forces close and reopen between the two transfers
    let h = PcapOut::open(c).unwrap();
    let s = h.sender();
    s.transfer_info(TransferId(7), label("a.txt", 1_129_822_212))
        .unwrap();
    s.transfer_info(TransferId(8), label("../b.txt", 1_129_822_213))
        .unwrap();
    for i in 0..10u64 {
        let t = if i % 2 == 0 { 7 } else { 8 };
        s.frames(TransferId(t), conn(t as u8), vec![frame(i, 1000 + i, 60)])
            .unwrap();
    }
    s.transfer_end(TransferId(7)).unwrap();
    s.transfer_end(TransferId(8)).unwrap();
    s.frames(TransferId(7), conn(7), vec![frame(99, 2000, 60)])
        .unwrap(); // late
    let st = h.finish();
    assert!(st.error.is_none(), "{:?}", st.error);
    assert_eq!(st.transfer_files, 2);
    assert_eq!(st.late_frames, 1);
    let a = dir.join("20051020T153012Z_198.18.0.1-5190_198.18.0.2-1234_a.txt.pcap");
    let b = dir.join("20051020T153013Z_198.18.0.1-5190_198.18.0.2-1234__._b.txt.pcap");
    assert_eq!(numbers(&read_pcap(&a).1), [0, 2, 4, 6, 8]);
    assert_eq!(numbers(&read_pcap(&b).1), [1, 3, 5, 7, 9]);
    tshark_reads(&a);
    tshark_reads(&b);
    // -w holds everything, the late frame included.
    assert_eq!(numbers(&read_pcap(&d.0.join("all.pcap")).1).len(), 11);
}

#[test]
fn pcap_dir_never_overwrites_and_names_unlabelled_transfers() {
    let d = Dir::new("dir2");
    let name = "20051020T153012Z_198.18.0.1-5190_198.18.0.2-1234_a.txt.pcap";
    std::fs::write(d.0.join(name), b"precious").unwrap();
    let mut c = PcapOutConfig::new(LinkType::Ethernet);
    c.pcap_dir = Some(d.0.clone());
    let h = PcapOut::open(c).unwrap();
    let s = h.sender();
    s.transfer_info(TransferId(1), label("a.txt", 1_129_822_212))
        .unwrap();
    s.frames(TransferId(1), conn(1), vec![frame(1, 1000, 60)])
        .unwrap();
    s.frames(
        TransferId(2),
        conn(2),
        vec![frame(2, 1_129_822_214_000, 60)],
    )
    .unwrap();
    let st = h.finish();
    assert!(st.error.is_none(), "{:?}", st.error);
    assert_eq!(std::fs::read(d.0.join(name)).unwrap(), b"precious");
    let second =
        d.0.join("20051020T153012Z_198.18.0.1-5190_198.18.0.2-1234_a.txt-2.pcap");
    assert_eq!(numbers(&read_pcap(&second).1), [1]);
    let unlabelled = d.0.join("20051020T153014Z_transfer-2.pcap");
    assert_eq!(numbers(&read_pcap(&unlabelled).1), [2]);
}

#[test]
fn frames_of_another_link_type_are_counted_not_mixed_in() {
    let d = Dir::new("link");
    let out = d.0.join("out.pcap");
    let h = PcapOut::open(cfg_w(&out)).unwrap();
    let mut raw = frame(2, 1001, 60);
    raw.link = LinkType::Raw;
    h.sender()
        .frames(TransferId(1), conn(1), vec![frame(1, 1000, 60), raw])
        .unwrap();
    let st = h.finish();
    assert_eq!(st.link_mismatch, 1);
    assert_eq!(numbers(&read_pcap(&out).1), [1]);
}

#[test]
fn many_senders_through_a_tiny_channel_lose_nothing() {
    let d = Dir::new("many");
    let out = d.0.join("out.pcap");
    let mut c = cfg_w(&out);
    c.channel_capacity = 1;
    let h = PcapOut::open(c).unwrap();
    // All four start at once: a thousand sends into one slot cannot all find it free.
    let start = std::sync::Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4u64)
        .map(|w| {
            let s = h.sender();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                for i in 0..250u64 {
                    let no = w * 1000 + i;
                    s.frames(TransferId(w), conn(w as u8), vec![frame(no, i, 60)])
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let st = h.finish();
    assert_eq!(st.frames_written, 1000);
    assert!(
        st.writer_stalls > 0,
        "senders waited but no stall was counted"
    );
    let got = numbers(&read_pcap(&out).1);
    for w in 0..4u64 {
        let mine: Vec<u64> = got.iter().copied().filter(|n| n / 1000 == w).collect();
        assert_eq!(
            mine,
            (0..250).map(|i| w * 1000 + i).collect::<Vec<_>>(),
            "worker {w} order"
        );
    }
}

#[test]
fn quiet_writer_gets_held_frames_to_disk_without_finish() {
    let d = Dir::new("quiet");
    let out = d.0.join("out.pcap");
    let mut c = cfg_w(&out);
    c.flush_interval = Duration::from_millis(50);
    let h = PcapOut::open(c).unwrap();
    h.sender()
        .frames(TransferId(1), conn(1), vec![frame(1, 1000, 60)])
        .unwrap();
    // Within the packet-time window, but the writer has been idle: a kill -9 now must
    // find the frame on disk.
    let want = 24 + 16 + 60;
    let mut len = 0;
    for _ in 0..200 {
        len = std::fs::metadata(&out).unwrap().len();
        if len == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(len, want);
    h.finish();
}
