use super::*;

mod build;
mod mapped;

use build::{ng_block, ng_epb, ng_idb, ng_shb, pcap, rec, Rec, TempFile};

fn read_all(path: &Path) -> (Vec<Frame>, OfflineSource) {
    let mut src = OfflineSource::open(path).unwrap();
    let mut frames = Vec::new();
    loop {
        let mut batch = Vec::new();
        let n = src.next_batch(&mut batch, 7).unwrap();
        assert_eq!(n, batch.len());
        if n == 0 {
            break;
        }
        frames.extend(batch);
    }
    (frames, src)
}

fn open_err(bytes: &[u8]) -> CaptureError {
    let f = TempFile::with(bytes);
    match OfflineSource::open(&f.0) {
        Ok(_) => panic!("opened a file that should be refused"),
        Err(e) => e,
    }
}

/// Reads until the first error; returns the frames before it and the error.
fn read_until_err(bytes: &[u8]) -> (Vec<Frame>, CaptureError) {
    let f = TempFile::with(bytes);
    let mut src = OfflineSource::open(&f.0).unwrap();
    let mut frames = Vec::new();
    loop {
        match src.next_batch(&mut frames, 64) {
            Ok(0) => panic!("reached the end without the expected error"),
            Ok(_) => {}
            Err(e) => return (frames, e),
        }
    }
}

#[test]
fn pcap_in_both_byte_orders_and_both_resolutions_gives_the_same_frames() {
    for big in [false, true] {
        for nanos in [false, true] {
            let frac = if nanos { 123_456_789 } else { 123_456 };
            let bytes = pcap(
                big,
                nanos,
                1,
                &[
                    rec(1_000, frac, b"first frame"),
                    Rec {
                        secs: 1_001,
                        frac: 0,
                        orig_len: 1500,
                        data: b"cut",
                    },
                ],
            );
            let f = TempFile::with(&bytes);
            let (frames, src) = read_all(&f.0);
            assert_eq!(frames.len(), 2, "big={big} nanos={nanos}");
            let want_ns = if nanos { 123_456_789 } else { 123_456_000 };
            assert_eq!(frames[0].ts, Timestamp(1_000 * 1_000_000_000 + want_ns));
            assert_eq!(frames[0].data, b"first frame");
            assert_eq!(frames[0].orig_len, 11);
            assert_eq!(frames[0].no, FrameNo(1));
            assert_eq!(frames[0].link, LinkType::Ethernet);
            assert_eq!(frames[1].ts, Timestamp(1_001 * 1_000_000_000));
            assert_eq!(
                frames[1].orig_len, 1500,
                "snapped frame keeps its original length"
            );
            assert_eq!(frames[1].data, b"cut");
            assert_eq!(frames[1].no, FrameNo(2));
            assert!(src.warnings().is_empty());
        }
    }
}

#[test]
fn every_supported_pcap_link_type_is_carried_on_the_frames() {
    for (raw, want) in [
        (0, LinkType::Null),
        (1, LinkType::Ethernet),
        (101, LinkType::Raw),
        (12, LinkType::Raw12),
        (14, LinkType::Raw14),
        (108, LinkType::Loop),
        (113, LinkType::LinuxSll),
        (228, LinkType::Ipv4),
        (229, LinkType::Ipv6),
        (276, LinkType::LinuxSll2),
    ] {
        let f = TempFile::with(&pcap(false, false, raw, &[rec(1, 2, &[0x45; 20])]));
        let (frames, _) = read_all(&f.0);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].link, want, "linktype {raw}");
    }
}

#[test]
fn pcapng_interfaces_keep_their_own_link_type_and_clock() {
    for big in [false, true] {
        let mut b = Vec::new();
        ng_shb(&mut b, big);
        ng_idb(&mut b, big, 1, None, 0); // Ethernet, microseconds (the default)
        ng_idb(&mut b, big, 101, Some(9), 0); // raw IP, nanoseconds
        ng_idb(&mut b, big, 113, Some(0x80 | 10), 100); // SLL, 2^-10 s, +100 s offset
        ng_epb(&mut b, big, 0, 5_000_001, b"eth", 3);
        ng_epb(&mut b, big, 1, 7_000_000_003, b"raw-ip", 60);
        ng_epb(&mut b, big, 2, 3 * 1024 + 512, b"sll", 3);
        // A new section starts its own interface numbering.
        ng_shb(&mut b, big);
        ng_idb(&mut b, big, 229, Some(3), 0); // IPv6, milliseconds
        ng_epb(&mut b, big, 0, 42_001, b"v6", 2);
        let f = TempFile::with(&b);
        let (frames, _) = read_all(&f.0);
        let got: Vec<_> = frames
            .iter()
            .map(|f| (f.no.0, f.link, f.ts.0, f.orig_len))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, LinkType::Ethernet, 5_000_001_000, 3),
                (2, LinkType::Raw, 7_000_000_003, 60),
                (3, LinkType::LinuxSll, 103_500_000_000, 3),
                (4, LinkType::Ipv6, 42_001_000_000, 2),
            ],
            "big={big}"
        );
        assert_eq!(
            frames[1].data, b"raw-ip",
            "padding is not part of the frame"
        );
    }
}

#[test]
fn an_unsupported_pcapng_interface_matters_only_when_it_carries_packets() {
    let mut b = Vec::new();
    ng_shb(&mut b, false);
    ng_idb(&mut b, false, 147, None, 0);
    ng_idb(&mut b, false, 1, None, 0);
    ng_epb(&mut b, false, 1, 1, b"ok", 2);
    let f = TempFile::with(&b);
    assert_eq!(read_all(&f.0).0.len(), 1);

    ng_epb(&mut b, false, 0, 2, b"usb?", 4);
    let (frames, e) = read_until_err(&b);
    assert_eq!(frames.len(), 1, "frames before the bad one are delivered");
    assert!(
        matches!(e, CaptureError::UnsupportedLinkType { linktype: 147, .. }),
        "{e}"
    );
}

#[test]
fn packet_on_an_undeclared_pcapng_interface_is_a_corrupt_record_after_earlier_frames() {
    let mut b = Vec::new();
    ng_shb(&mut b, false);
    ng_idb(&mut b, false, 1, None, 0);
    ng_epb(&mut b, false, 0, 1, b"one", 3);
    ng_epb(&mut b, false, 0, 2, b"two", 3);
    ng_epb(&mut b, false, 5, 3, b"bad", 3);
    let (frames, e) = read_until_err(&b);
    assert_eq!(frames.len(), 2);
    match e {
        CaptureError::CorruptRecord { frame, .. } => assert_eq!(frame, FrameNo(3)),
        other => panic!("wrong error {other}"),
    }
}

#[test]
fn batches_respect_max_and_number_frames_across_batches() {
    let recs: Vec<_> = (0..10u32)
        .map(|i| Rec {
            secs: i,
            frac: 0,
            orig_len: 4,
            data: b"abcd",
        })
        .collect();
    let f = TempFile::with(&pcap(false, false, 1, &recs));
    let mut src = OfflineSource::open(&f.0).unwrap();
    let mut batch = Vec::new();
    assert_eq!(src.next_batch(&mut batch, 4).unwrap(), 4);
    assert_eq!(src.next_batch(&mut batch, 4).unwrap(), 4);
    assert_eq!(src.next_batch(&mut batch, 4).unwrap(), 2);
    assert_eq!(src.next_batch(&mut batch, 4).unwrap(), 0);
    assert_eq!(
        src.next_batch(&mut batch, 4).unwrap(),
        0,
        "end of file stays the end"
    );
    let nos: Vec<u64> = batch.iter().map(|f| f.no.0).collect();
    assert_eq!(nos, (1..=10).collect::<Vec<_>>());
    assert_eq!(src.frames_read(), 10);
}

#[test]
fn files_larger_than_the_read_buffer_are_read_whole() {
    // Odd sizes so record boundaries fall everywhere relative to buffer refills.
    let payloads: Vec<Vec<u8>> = (0..14_000u32)
        .map(|i| vec![(i % 251) as u8; 900 + (i as usize * 7) % 1600])
        .collect();
    let recs: Vec<_> = payloads
        .iter()
        .enumerate()
        .map(|(i, d)| rec(i as u32, 0, d))
        .collect();
    let bytes = pcap(false, false, 1, &recs);
    assert!(bytes.len() > 2 * READ_BUFFER_BYTES);
    let f = TempFile::with(&bytes);
    let (frames, src) = read_all(&f.0);
    assert_eq!(frames.len(), payloads.len());
    for (fr, want) in frames.iter().zip(&payloads) {
        assert_eq!(&fr.data, want, "frame {}", fr.no);
    }
    assert!(src.warnings().is_empty());
}

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Expected values from tshark 4.0.17 on the same files:
///   tshark -r FILE -T fields -e frame.number | wc -l              (frames)
///   tshark -r FILE -T fields -e frame.cap_len | awk '{s+=$1} END {print s}'   (bytes)
///   tshark -r FILE -T fields -e frame.time_epoch | sed -n '1p;$p'             (first, last)
#[test]
fn real_captures_match_tshark() {
    for (name, count, bytes, first, last) in [
        (
            "gaim-sendfile-2005.pcap",
            21,
            2228,
            1_131_312_785_802_073_000,
            1_131_312_796_767_049_000,
        ),
        (
            "gaim-chat-join-2005.pcap",
            70,
            8718,
            1_136_254_595_445_219_000,
            1_136_254_665_586_076_000,
        ),
        (
            "ndpi-icq-flap-2015.pcapng",
            71,
            9386,
            1_434_606_464_176_482_000,
            1_434_606_536_630_487_000,
        ),
    ] {
        let (frames, src) = read_all(&data_file(name));
        assert_eq!(frames.len(), count, "{name}");
        assert_eq!(
            frames.iter().map(|f| f.data.len()).sum::<usize>(),
            bytes,
            "{name}"
        );
        assert_eq!(frames[0].ts.0, first, "{name}");
        assert_eq!(frames[count - 1].ts.0, last, "{name}");
        assert!(
            frames.iter().all(|f| f.link == LinkType::Ethernet),
            "{name}"
        );
        assert_eq!(frames[count - 1].no, FrameNo(count as u64));
        assert!(src.warnings().is_empty(), "{name}");
    }
}

#[test]
fn a_truncated_last_record_is_a_warning_and_earlier_frames_are_kept() {
    let good = pcap(
        false,
        false,
        1,
        &[
            rec(1, 0, b"aaaa"),
            rec(2, 0, b"bbbbbbbb"),
            rec(3, 0, b"cccccccccccc"),
        ],
    );
    // Cut inside the third record's data, and inside the third record's header.
    for cut in [good.len() - 5, 24 + 20 + 24 + 5] {
        let f = TempFile::with(&good[..cut]);
        let (frames, src) = read_all(&f.0);
        assert_eq!(frames.len(), 2, "cut at {cut}");
        match src.warnings() {
            [CaptureWarning::TruncatedLastRecord {
                frame,
                offset,
                bytes_left,
                ..
            }] => {
                assert_eq!(*frame, FrameNo(3));
                assert_eq!(*offset, 24 + 20 + 24);
                assert_eq!(*bytes_left, cut as u64 - offset);
            }
            w => panic!("cut at {cut}: warnings {w:?}"),
        }
        let line = src.warnings()[0].to_string();
        assert!(line.contains("truncated") && !line.contains('\n'), "{line}");
    }
}

#[test]
fn a_truncated_real_pcapng_keeps_the_frames_before_the_cut() {
    let whole = std::fs::read(data_file("ndpi-icq-flap-2015.pcapng")).unwrap();
    let f = TempFile::with(&whole[..whole.len() - 40]);
    let (frames, src) = read_all(&f.0);
    assert_eq!(frames.len(), 70);
    assert_eq!(src.warnings().len(), 1);
}

#[test]
fn bad_magic_is_reported_with_the_bytes_found() {
    let e = open_err(b"GET / HTTP/1.1\r\n\r\n and some more text to pass the header size");
    assert!(
        matches!(
            e,
            CaptureError::BadMagic {
                magic: 0x4745_5420,
                ..
            }
        ),
        "{e}"
    );
    assert!(e
        .to_string()
        .contains("not a pcap or pcapng file (bad magic 0x47455420)"));
}

#[test]
fn a_record_claiming_4_gb_is_refused_without_allocating_it() {
    let mut b = pcap(false, false, 1, &[rec(1, 0, b"fine")]);
    b.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    b.extend_from_slice(&[0u8; 100]);
    let (frames, e) = read_until_err(&b);
    assert_eq!(frames.len(), 1);
    match &e {
        CaptureError::RecordTooLarge { frame, claimed, .. } => {
            assert_eq!(*frame, FrameNo(2));
            assert_eq!(*claimed, 16 + 0xffff_ffff);
        }
        other => panic!("wrong error {other}"),
    }

    let mut b = Vec::new();
    ng_shb(&mut b, false);
    ng_idb(&mut b, false, 1, None, 0);
    b.extend_from_slice(&6u32.to_le_bytes());
    b.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    b.extend_from_slice(&[0u8; 64]);
    let (_, e) = read_until_err(&b);
    assert!(
        matches!(
            e,
            CaptureError::RecordTooLarge {
                claimed: 0xffff_fff0,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn empty_missing_directory_short_and_unsupported_inputs_get_their_own_errors() {
    assert!(matches!(open_err(b""), CaptureError::EmptyFile { .. }));
    assert!(matches!(
        open_err(&[0xd4, 0xc3]),
        CaptureError::TruncatedHeader { .. }
    ));
    assert!(matches!(
        open_err(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]),
        CaptureError::TruncatedHeader { .. }
    ));
    let e = open_err(&pcap(false, false, 147, &[]));
    assert!(
        matches!(e, CaptureError::UnsupportedLinkType { linktype: 147, .. }),
        "{e}"
    );
    assert!(e.to_string().ends_with("unsupported link type 147"));

    let missing =
        std::env::temp_dir().join(format!("oftsniff-no-such-{}.pcap", std::process::id()));
    let e = OfflineSource::open(&missing).err().unwrap();
    assert!(matches!(e, CaptureError::FileNotFound { .. }), "{e}");

    let e = OfflineSource::open(std::env::temp_dir()).err().unwrap();
    assert!(matches!(e, CaptureError::NotAFile { .. }), "{e}");
}

#[test]
fn every_error_displays_as_one_line_starting_with_the_program_name() {
    let errors = [
        open_err(b""),
        open_err(b"junkjunkjunkjunkjunkjunkjunk"),
        open_err(&pcap(false, false, 147, &[])),
        CaptureError::NoSuchInterface {
            iface: "eth9".into(),
        },
        CaptureError::permission("eth0"),
        CaptureError::from_os("eth0", "bind", io::Error::from_raw_os_error(libc::EINVAL)),
    ];
    for e in errors {
        let s = e.to_string();
        assert!(s.starts_with("oftsniff: ") && !s.contains('\n'), "{s}");
    }
    let s = CaptureError::permission("eth0").to_string();
    assert!(
        s.contains("sudo") && s.contains("setcap cap_net_raw,cap_net_admin+ep"),
        "{s}"
    );
    assert_eq!(
        CaptureError::NoSuchInterface {
            iface: "eth9".into()
        }
        .to_string(),
        "oftsniff: no such interface 'eth9' (see oftsniff -D)"
    );
}

#[test]
fn os_errors_map_to_permission_and_unknown_interface() {
    let p = CaptureError::from_os("eth0", "socket", io::Error::from_raw_os_error(libc::EPERM));
    assert!(matches!(p, CaptureError::Permission { .. }));
    let p = CaptureError::from_os("eth0", "socket", io::Error::from_raw_os_error(libc::EACCES));
    assert!(matches!(p, CaptureError::Permission { .. }));
    let n = CaptureError::from_os("eth9", "bind", io::Error::from_raw_os_error(libc::ENODEV));
    assert!(matches!(n, CaptureError::NoSuchInterface { .. }));
}

/// Reads everything until the end or the first error; must never panic or hang.
fn read_to_end_or_error(bytes: &[u8]) {
    let f = TempFile::with(bytes);
    if let Ok(mut src) = OfflineSource::open(&f.0) {
        let mut batch = Vec::new();
        // Every call either makes progress through the file or ends it.
        for _ in 0..=bytes.len() + 1 {
            batch.clear();
            match src.next_batch(&mut batch, 16) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        panic!("reader did not finish");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    #[test]
    fn garbage_after_a_valid_header_never_panics(
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        ng in proptest::prelude::any::<bool>(),
    ) {
        let mut b = if ng {
            let mut b = Vec::new();
            ng_shb(&mut b, false);
            ng_idb(&mut b, false, 1, Some(9), 0);
            b
        } else {
            pcap(false, false, 1, &[])
        };
        b.extend_from_slice(&tail);
        read_to_end_or_error(&b);
    }

    #[test]
    fn corrupted_real_captures_never_panic(
        file in 0usize..3,
        flips in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..8),
        cut in proptest::prelude::any::<usize>(),
    ) {
        let name = ["gaim-sendfile-2005.pcap", "gaim-chat-join-2005.pcap", "ndpi-icq-flap-2015.pcapng"][file];
        let mut b = std::fs::read(data_file(name)).unwrap();
        for (at, v) in flips {
            let i = at % b.len();
            b[i] = v;
        }
        b.truncate(cut % (b.len() + 1));
        read_to_end_or_error(&b);
    }
}

#[test]
fn pcapng_blocks_with_an_empty_body_are_skipped_by_their_length() {
    for big in [false, true] {
        let mut b = Vec::new();
        ng_shb(&mut b, big);
        // An empty Name Resolution Block and a block type nobody knows, 12 bytes each,
        // before the packets: the parser asks for more of them, yet they are whole.
        ng_block(&mut b, big, 4, b"");
        ng_idb(&mut b, big, 1, None, 0);
        ng_block(&mut b, big, 0x8000_0001, b"");
        ng_epb(&mut b, big, 0, 1, b"one", 3);
        ng_block(&mut b, big, 0x8000_0001, b"");
        ng_epb(&mut b, big, 0, 2, b"two", 3);
        let f = TempFile::with(&b);
        let (frames, src) = read_all(&f.0);
        let data: Vec<&[u8]> = frames.iter().map(|f| &f.data[..]).collect();
        assert_eq!(data, [&b"one"[..], b"two"], "big-endian {big}");
        assert!(src.warnings().is_empty(), "{:?}", src.warnings().len());
    }
}

#[test]
fn a_pcapng_block_running_past_the_end_is_still_a_truncated_tail() {
    let mut b = Vec::new();
    ng_shb(&mut b, false);
    ng_idb(&mut b, false, 1, None, 0);
    ng_epb(&mut b, false, 0, 1, b"one", 3);
    ng_block(&mut b, false, 0x8000_0001, &[7; 40]);
    b.truncate(b.len() - 20);
    let f = TempFile::with(&b);
    let (frames, src) = read_all(&f.0);
    assert_eq!(frames.len(), 1);
    assert_eq!(src.warnings().len(), 1, "the cut block is reported");
}

#[test]
fn the_read_buffer_fits_the_file_and_grows_for_records_appended_after_open() {
    assert_eq!(buffer_bytes_for(Some(100)), MIN_READ_BUFFER_BYTES);
    assert_eq!(buffer_bytes_for(Some(1 << 20)), (1 << 20) + 1);
    assert_eq!(buffer_bytes_for(Some(u64::MAX)), READ_BUFFER_BYTES);
    assert_eq!(buffer_bytes_for(None), READ_BUFFER_BYTES);
    // A file still being written: the record appended after open is larger than the
    // buffer sized for the file at open, and must still be read whole.
    let small = vec![1u8; 60];
    let big = vec![2u8; 3 * MIN_READ_BUFFER_BYTES];
    let f = TempFile::with(&pcap(false, false, 1, &[rec(1, 0, &small)]));
    let mut src = OfflineSource::open(&f.0).unwrap();
    let tail = pcap(false, false, 1, &[rec(2, 0, &big)]);
    let mut file = std::fs::OpenOptions::new().append(true).open(&f.0).unwrap();
    std::io::Write::write_all(&mut file, &tail[24..]).unwrap();
    let mut batch = Vec::new();
    while src.next_batch(&mut batch, 8).unwrap() > 0 {}
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[1].data, big);
    assert!(src.warnings().is_empty());
}
