//! pcapng blocks the reader has no use for are skipped by their length, whatever their
//! body: an empty Name Resolution Block or a block of an unknown type (12 bytes, no body)
//! before the packets once made the reader take the parser's "incomplete" for a
//! truncated tail, read 0 frames and exit 0. tshark reads every packet of such files.

mod common;

use common::{of_kind, TempDir};

fn block(out: &mut Vec<u8>, btype: u32, body: &[u8]) {
    let len = 12 + body.len().div_ceil(4) * 4;
    out.extend_from_slice(&btype.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + (4 - body.len() % 4) % 4, 0);
    out.extend_from_slice(&(len as u32).to_le_bytes());
}

/// The bundled Gaim capture as pcapng (nanosecond timestamps), with `extra` blocks (type,
/// body) placed after the interface and before the first packet.
fn gaim_pcapng(extra: &[(u32, &[u8])]) -> (Vec<u8>, usize) {
    let frames = common::read_frames(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gaim-sendfile-2005.pcap"
    )));
    let mut b = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    block(&mut b, 0x0a0d_0d0a, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u16.to_le_bytes()); // Ethernet
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&0u32.to_le_bytes());
    idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]); // if_tsresol 9, end
    block(&mut b, 1, &idb);
    for (t, body) in extra {
        block(&mut b, *t, body);
    }
    for f in &frames {
        let mut epb = Vec::new();
        for v in [
            0u32,
            (f.ts.0 >> 32) as u32,
            f.ts.0 as u32,
            f.data.len() as u32,
            f.orig_len,
        ] {
            epb.extend_from_slice(&v.to_le_bytes());
        }
        epb.extend_from_slice(&f.data);
        block(&mut b, 6, &epb);
    }
    (b, frames.len())
}

#[test]
fn empty_and_unknown_pcapng_blocks_before_the_packets_are_skipped() {
    let dir = TempDir::new("pcapng-blocks");
    // A Name Resolution Block holding only its end-of-records marker (16 bytes: the
    // smallest tshark takes), an unknown block type with no body, one with a short body.
    let nrb: (u32, &[u8]) = (4, &[0, 0, 0, 0]);
    let unknown: (u32, &[u8]) = (0x8000_0001, b"");
    for (name, extra) in [
        ("unknown.pcapng", vec![unknown]),
        ("empty-nrb.pcapng", vec![nrb]),
        (
            "both.pcapng",
            vec![nrb, unknown, (0x8000_0002, &[1u8; 5][..])],
        ),
    ] {
        let (bytes, n) = gaim_pcapng(&extra);
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (ev, stderr) = common::run_json(&path, &[]);
        assert!(!stderr.contains("warning"), "{name}: {stderr}");
        let stats = of_kind(&ev, "stats")[0];
        assert_eq!(stats["frames_captured"], n as u64, "{name}: {stats}");
        let f = of_kind(&ev, "file");
        assert_eq!(f.len(), 1, "{name}");
        assert_eq!(f[0]["status"], "complete", "{name}: {}", f[0]);
        if common::have_tshark() {
            assert_eq!(common::tshark_reads_clean(&path), Some(n), "{name}");
        }
    }
}
