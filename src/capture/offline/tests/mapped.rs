//! The mapped read path against the buffered one, and files that change while mapped.

use super::super::*;
use super::build::{ng_block, ng_epb, ng_idb, ng_shb, pcap, rec, Rec, TempFile};
use super::data_file;

/// Everything a reader hands out: each frame, then the warnings, then the error if any.
fn outcome(mut src: OfflineSource) -> (Vec<String>, bool) {
    let mut seen = Vec::new();
    let mut mapped = false;
    loop {
        let mut batch = Vec::new();
        match src.next_batch(&mut batch, 5) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                seen.push(format!("error {e}"));
                break;
            }
        }
        for f in &batch {
            mapped |= f.data.is_mapped();
            seen.push(format!(
                "{} {} {} {:?} {:02x?}",
                f.no,
                f.ts.0,
                f.orig_len,
                f.link,
                &f.data[..]
            ));
        }
    }
    seen.extend(src.warnings().iter().map(|w| w.to_string()));
    (seen, mapped)
}

/// Reads `path` both ways; the two must agree on everything.
fn same_both_ways(path: &Path, what: &str) {
    let mapped = OfflineSource::open(path).map(outcome);
    let read = OfflineSource::open_unmapped(path).map(outcome);
    match (mapped, read) {
        (Ok((m, was_mapped)), Ok((r, was_read_mapped))) => {
            assert_eq!(m, r, "{what}");
            assert!(!was_read_mapped, "{what}: the read path copies");
            let frames = r.iter().filter(|l| !l.starts_with("error")).count();
            if frames > 0 && !r.iter().all(|l| l.contains("warning")) {
                assert!(
                    was_mapped,
                    "{what}: frames of a regular file point into the mapping"
                );
            }
        }
        (Err(m), Err(r)) => assert_eq!(m.to_string(), r.to_string(), "{what}"),
        (m, r) => panic!("{what}: mapped {:?} vs read {:?}", m.is_ok(), r.is_ok()),
    }
}

fn ng_file(big: bool) -> Vec<u8> {
    let mut b = Vec::new();
    ng_shb(&mut b, big);
    ng_block(&mut b, big, 4, b"");
    ng_idb(&mut b, big, 1, Some(9), 0);
    ng_epb(&mut b, big, 0, 1, b"one", 3);
    ng_block(&mut b, big, 0x8000_0001, &[5; 33]);
    ng_epb(&mut b, big, 0, 2, b"two, longer", 1500);
    ng_shb(&mut b, !big);
    ng_idb(&mut b, !big, 101, None, 0);
    ng_epb(&mut b, !big, 0, 3, &[0x45; 41], 41);
    b
}

#[test]
fn mapped_and_read_paths_agree_on_frames_warnings_and_errors() {
    let payloads: Vec<[u8; 61]> = (0..50u32).map(|i| [i as u8; 61]).collect();
    let recs: Vec<Rec> = (0..50u32)
        .map(|i| rec(i, i * 7, &payloads[i as usize]))
        .collect();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for big in [false, true] {
        for nanos in [false, true] {
            cases.push((
                format!("pcap big={big} ns={nanos}"),
                pcap(big, nanos, 1, &recs),
            ));
        }
        cases.push((format!("pcapng big={big}"), ng_file(big)));
    }
    let whole = pcap(false, false, 1, &recs);
    for cut in [3, 10, 24, 30, 24 + 16 + 61 + 5, whole.len() - 1] {
        cases.push((format!("pcap cut at {cut}"), whole[..cut].to_vec()));
    }
    let ng = ng_file(false);
    for cut in [20, 40, ng.len() - 4] {
        cases.push((format!("pcapng cut at {cut}"), ng[..cut].to_vec()));
    }
    let mut huge = pcap(false, false, 1, &recs[..3]);
    huge.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
    huge.resize(huge.len() + 5000, 9);
    cases.push(("a record claiming 2 GB".into(), huge));
    let mut garbage = ng_file(false);
    garbage.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    cases.push(("pcapng then garbage".into(), garbage));
    cases.push(("bad magic".into(), b"GIF89a and then some".to_vec()));
    for (what, bytes) in &cases {
        let f = TempFile::with(bytes);
        same_both_ways(&f.0, what);
    }
    for name in [
        "gaim-sendfile-2005.pcap",
        "gaim-chat-join-2005.pcap",
        "ndpi-icq-flap-2015.pcapng",
    ] {
        same_both_ways(&data_file(name), name);
    }
}

#[test]
fn snap_length_cuts_mapped_frames_as_read_ones() {
    let payloads: Vec<[u8; 300]> = (0..20u32).map(|i| [i as u8; 300]).collect();
    let recs: Vec<Rec> = (0..20u32)
        .map(|i| rec(i, 0, &payloads[i as usize]))
        .collect();
    let f = TempFile::with(&pcap(false, false, 1, &recs));
    let mut m = OfflineSource::open(&f.0).unwrap();
    let mut r = OfflineSource::open_unmapped(&f.0).unwrap();
    m.set_snaplen(100);
    r.set_snaplen(100);
    let (m, r) = (outcome(m), outcome(r));
    assert!(m.1, "mapped");
    assert_eq!(m.0, r.0);
    assert_eq!(m.0.len(), 20);
}

fn big_pcap(records: u32, len: usize) -> Vec<u8> {
    let payloads: Vec<Vec<u8>> = (0..records).map(|i| vec![(i % 251) as u8; len]).collect();
    let recs: Vec<Rec> = payloads
        .iter()
        .enumerate()
        .map(|(i, d)| rec(i as u32, 0, d))
        .collect();
    pcap(false, false, 1, &recs)
}

#[test]
fn a_file_truncated_while_mapped_ends_with_a_warning_instead_of_sigbus() {
    // 4 MB, cut to 64 KiB after the first frames were taken: the pages past the new end
    // would raise SIGBUS when touched, by the reader or by a frame already handed out.
    let bytes = big_pcap(4000, 1000);
    let f = TempFile::with(&bytes);
    let mut src = OfflineSource::open(&f.0).unwrap();
    assert!(src.is_mapped());
    let mut early = Vec::new();
    assert_eq!(src.next_batch(&mut early, 100).unwrap(), 100);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f.0)
        .unwrap()
        .set_len(64 << 10)
        .unwrap();
    let mut rest = Vec::new();
    while src.next_batch(&mut rest, 64).unwrap_or(0) > 0 {}
    // Frames handed out before the cut: those inside the file's new size keep their bytes,
    // those past it read as zeros, and touching them does not kill the process.
    let sum: u64 = early
        .iter()
        .flat_map(|f| f.data.iter())
        .map(|&b| b as u64)
        .sum();
    assert!(sum > 0);
    assert_eq!(early[0].data[..], [0u8; 1000][..]);
    assert_eq!(early[99].data[..], [0u8; 1000][..], "past the cut: zeros");
    assert_eq!(
        early[1].data[..],
        [1u8; 1000][..],
        "inside the new size: unchanged"
    );
    let warned: Vec<String> = src.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("shrank while it was being read"),
        "{}",
        warned[0]
    );
    assert!(
        rest.len() < 100,
        "reading stops at the cut, not after 3,900 zero records: {}",
        rest.len()
    );
}

#[test]
fn a_file_that_grows_while_mapped_is_read_to_its_new_end() {
    let first = big_pcap(30, 200);
    let more = big_pcap(5000, 900);
    let f = TempFile::with(&first);
    let mut src = OfflineSource::open(&f.0).unwrap();
    assert!(src.is_mapped());
    let mut batch = Vec::new();
    assert_eq!(src.next_batch(&mut batch, 10).unwrap(), 10);
    let mut file = std::fs::OpenOptions::new().append(true).open(&f.0).unwrap();
    // The appended records, then half a record: a writer caught mid-write.
    std::io::Write::write_all(&mut file, &more[24..]).unwrap();
    std::io::Write::write_all(&mut file, &more[24..24 + 500]).unwrap();
    while src.next_batch(&mut batch, 64).unwrap() > 0 {}
    assert_eq!(batch.len(), 5030);
    assert_eq!(batch[29].data, vec![29u8; 200]);
    assert_eq!(batch[5029].data, vec![(4999 % 251) as u8; 900]);
    assert!(batch[5029].data.is_mapped(), "the grown part is mapped too");
    assert_eq!(
        src.warnings().len(),
        1,
        "the half record is a truncated tail"
    );
}
