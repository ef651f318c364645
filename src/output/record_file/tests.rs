use super::*;
use crate::capture::{FrameNo, Timestamp};
use crate::output::testdir::TestDir;

fn frame(ts: u64, len: usize) -> Frame {
    Frame {
        no: FrameNo(1),
        ts: Timestamp(ts),
        orig_len: len as u32,
        link: LinkType::Ethernet,
        data: vec![0xab; len].into(),
    }
}

#[test]
fn header_reaches_disk_at_creation() {
    let d = TestDir::new("rf");
    let p = d.path().join("a.pcap");
    let _f = PcapFile::create(&p, LinkType::Ethernet, OpenMode::CreateNew).unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 24);
}

#[test]
fn records_stay_staged_until_flush() {
    let d = TestDir::new("rf");
    let p = d.path().join("a.pcap");
    let mut f = PcapFile::create(&p, LinkType::Ethernet, OpenMode::CreateNew).unwrap();
    f.write_frame(&frame(1, 60)).unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 24);
    f.flush().unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 24 + 16 + 60);
}

#[test]
fn large_staging_flushes_on_record_boundaries() {
    let d = TestDir::new("rf");
    let p = d.path().join("a.pcap");
    let mut f = PcapFile::create(&p, LinkType::Ethernet, OpenMode::CreateNew).unwrap();
    for i in 0..2000 {
        f.write_frame(&frame(i, 1000)).unwrap();
        let len = std::fs::metadata(&p).unwrap().len();
        assert_eq!((len - 24) % 1016, 0, "file ends inside a record");
    }
    assert!(std::fs::metadata(&p).unwrap().len() > 24);
}

#[test]
fn create_new_refuses_existing_file_and_symlink() {
    let d = TestDir::new("rf");
    let p = d.path().join("a.pcap");
    std::fs::write(&p, b"keep").unwrap();
    assert!(PcapFile::create(&p, LinkType::Ethernet, OpenMode::CreateNew).is_err());
    assert_eq!(std::fs::read(&p).unwrap(), b"keep");
    let target = d.path().join("target");
    let link = d.path().join("link.pcap");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(PcapFile::create(&link, LinkType::Ethernet, OpenMode::CreateNew).is_err());
    assert!(!target.exists());
}

#[test]
fn reopen_appends_records_without_second_header() {
    let d = TestDir::new("rf");
    let p = d.path().join("a.pcap");
    let mut f = PcapFile::create(&p, LinkType::Ethernet, OpenMode::CreateNew).unwrap();
    f.write_frame(&frame(1, 10)).unwrap();
    f.close().unwrap();
    let mut f = PcapFile::reopen(&p, LinkType::Ethernet).unwrap();
    f.write_frame(&frame(2, 10)).unwrap();
    f.close().unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 24 + 2 * (16 + 10));
}
