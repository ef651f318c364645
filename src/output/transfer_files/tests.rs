use super::*;
use std::net::Ipv4Addr;

#[test]
fn utc_stamp_matches_known_dates() {
    assert_eq!(utc_stamp(Timestamp(0)), "19700101T000000Z");
    // 2005-10-20 15:30:12 UTC = 1129822212 (date -u -d @1129822212).
    assert_eq!(
        utc_stamp(Timestamp::from_parts(1_129_822_212, 5)),
        "20051020T153012Z"
    );
    // Leap day: 2024-02-29 23:59:59 UTC = 1709251199.
    assert_eq!(
        utc_stamp(Timestamp::from_parts(1_709_251_199, 0)),
        "20240229T235959Z"
    );
}

#[test]
fn label_names_the_file_by_time_endpoints_and_first_name() {
    let l = TransferLabel {
        start: Timestamp::from_parts(1_129_822_212, 0),
        a: Endpoint::new(IpAddr::V4(Ipv4Addr::new(4, 254, 84, 74)), 5190),
        b: Endpoint::new(IpAddr::V4(Ipv4Addr::new(24, 252, 11, 55)), 1234),
        first_name: Some("howdoisentfile.txt".into()),
    };
    assert_eq!(
        l.file_stem(),
        "20051020T153012Z_4.254.84.74-5190_24.252.11.55-1234_howdoisentfile.txt"
    );
}

#[test]
fn hostile_first_name_is_flattened() {
    assert_eq!(name_part("../../etc/passwd"), "_._.._etc_passwd");
    assert_eq!(name_part(".hidden"), "_hidden");
    assert_eq!(name_part("a\u{0}b\u{fffd}c\\d"), "a_b_c_d");
    assert_eq!(name_part(&"x".repeat(300)).len(), NAME_PART_MAX);
}

fn frame(ts_s: u64) -> Frame {
    Frame {
        no: crate::capture::FrameNo(ts_s),
        ts: Timestamp::from_parts(ts_s, 0),
        orig_len: 60,
        link: LinkType::Ethernet,
        data: vec![0; 60].into(),
    }
}

#[test]
fn frames_before_the_label_go_into_the_labelled_file() {
    let d = crate::output::testdir::TestDir::new("tf-unlabelled");
    let mut tf = TransferFiles::new(d.path(), 8, 8);
    let t = TransferId(1);
    // A rendezvous frame, long before the data connection labels the transfer.
    tf.write(t, &frame(1_129_822_212));
    let l = TransferLabel {
        start: Timestamp::from_parts(1_129_822_212, 0),
        a: Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 40000),
        b: Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)), 5190),
        first_name: Some("f.txt".into()),
    };
    tf.set_label(t, l.clone());
    tf.write(t, &frame(1_129_822_220));
    tf.mark_ended(t);
    tf.close_if_done(t);
    let names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [format!("{}.pcap", l.file_stem())]);
    assert_eq!(tf.counters.frames_written, 2);
}

#[test]
fn a_transfer_never_labelled_still_gets_its_frames_at_the_end() {
    let d = crate::output::testdir::TestDir::new("tf-never");
    let mut tf = TransferFiles::new(d.path(), 8, 8);
    for i in 0..(MAX_UNLABELLED_FRAMES as u64 + 3) {
        tf.write(TransferId(7), &frame(1_000 + i));
    }
    tf.close_all();
    assert_eq!(tf.counters.files_created, 1);
    assert_eq!(tf.counters.frames_written, MAX_UNLABELLED_FRAMES as u64 + 3);
}
