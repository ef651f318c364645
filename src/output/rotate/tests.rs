use super::*;
use crate::capture::{FrameNo, Timestamp};
use crate::output::testdir::TestDir;

#[test]
fn names_follow_tcpdump() {
    let b = Path::new("out.pcap");
    assert_eq!(rotated_name(b, 0, None), PathBuf::from("out.pcap"));
    assert_eq!(rotated_name(b, 1, None), PathBuf::from("out.pcap1"));
    assert_eq!(rotated_name(b, 12, None), PathBuf::from("out.pcap12"));
    assert_eq!(rotated_name(b, 0, Some(1)), PathBuf::from("out.pcap"));
    assert_eq!(rotated_name(b, 0, Some(3)), PathBuf::from("out.pcap0"));
    assert_eq!(rotated_name(b, 2, Some(10)), PathBuf::from("out.pcap2"));
    assert_eq!(rotated_name(b, 0, Some(11)), PathBuf::from("out.pcap00"));
    assert_eq!(rotated_name(b, 7, Some(101)), PathBuf::from("out.pcap007"));
}

#[test]
fn flags_are_checked() {
    assert!(Rotation::from_flags(None, Some(3)).is_err());
    assert!(Rotation::from_flags(Some(0), None).is_err());
    assert!(Rotation::from_flags(Some(1), Some(0)).is_err());
    assert_eq!(
        Rotation::from_flags(Some(2), Some(4)).unwrap(),
        Some(Rotation {
            max_bytes: 2_000_000,
            ring: Some(4)
        })
    );
}

fn frame(i: u64) -> Frame {
    Frame {
        no: FrameNo(i),
        ts: Timestamp(i),
        orig_len: 1000,
        link: LinkType::Ethernet,
        data: vec![i as u8; 1000].into(),
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn size_rotation_starts_new_files_past_the_limit() {
    let d = TestDir::new("rot");
    let base = d.path().join("out.pcap");
    let rot = Rotation {
        max_bytes: 10_000,
        ring: None,
    };
    let mut w = RotatingPcap::open(&base, LinkType::Ethernet, Some(rot)).unwrap();
    for i in 0..25 {
        w.write_frame(&frame(i)).unwrap();
    }
    w.close().unwrap();
    // 1016-byte records: a file takes records until it exceeds 10 000 bytes (10 records).
    assert_eq!(names_in(d.path()), ["out.pcap", "out.pcap1", "out.pcap2"]);
    assert_eq!(std::fs::metadata(&base).unwrap().len(), 24 + 10 * 1016);
    assert_eq!(
        std::fs::metadata(d.path().join("out.pcap2")).unwrap().len(),
        24 + 5 * 1016
    );
}

#[test]
fn ring_wraps_and_overwrites_oldest() {
    let d = TestDir::new("rot");
    let base = d.path().join("out.pcap");
    let rot = Rotation {
        max_bytes: 10_000,
        ring: Some(2),
    };
    let mut w = RotatingPcap::open(&base, LinkType::Ethernet, Some(rot)).unwrap();
    for i in 0..35 {
        w.write_frame(&frame(i)).unwrap();
    }
    assert_eq!(w.files_opened(), 4);
    w.close().unwrap();
    assert_eq!(names_in(d.path()), ["out.pcap0", "out.pcap1"]);
    // Files 0,1,0,1: the last holds records 30..35, the one before 20..30.
    assert_eq!(
        std::fs::metadata(d.path().join("out.pcap1")).unwrap().len(),
        24 + 5 * 1016
    );
    assert_eq!(
        std::fs::metadata(d.path().join("out.pcap0")).unwrap().len(),
        24 + 10 * 1016
    );
    let first_rec = std::fs::read(d.path().join("out.pcap0")).unwrap()[24 + 16];
    assert_eq!(first_rec, 20);
}
