//! Capture files built byte by byte: classic pcap in either byte order and resolution,
//! pcapng blocks, and temp files that remove themselves.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A file in the temp dir, removed when the test ends (also on panic).
pub(super) struct TempFile(pub(super) PathBuf);

impl TempFile {
    pub(super) fn with(bytes: &[u8]) -> TempFile {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("oftsniff-offline-{}-{n}.cap", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        TempFile(p)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub(super) struct Rec<'a> {
    pub(super) secs: u32,
    pub(super) frac: u32,
    pub(super) orig_len: u32,
    pub(super) data: &'a [u8],
}

pub(super) fn rec(secs: u32, frac: u32, data: &[u8]) -> Rec<'_> {
    Rec {
        secs,
        frac,
        orig_len: data.len() as u32,
        data,
    }
}

fn put32(out: &mut Vec<u8>, v: u32, big: bool) {
    out.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}

fn put16(out: &mut Vec<u8>, v: u16, big: bool) {
    out.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}

/// Classic pcap as libpcap writes it: header in the writer's byte order.
pub(super) fn pcap(big: bool, nanos: bool, linktype: u32, recs: &[Rec]) -> Vec<u8> {
    let mut out = Vec::new();
    put32(&mut out, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }, big);
    put16(&mut out, 2, big);
    put16(&mut out, 4, big);
    put32(&mut out, 0, big);
    put32(&mut out, 0, big);
    put32(&mut out, 262_144, big);
    put32(&mut out, linktype, big);
    for r in recs {
        put32(&mut out, r.secs, big);
        put32(&mut out, r.frac, big);
        put32(&mut out, r.data.len() as u32, big);
        put32(&mut out, r.orig_len, big);
        out.extend_from_slice(r.data);
    }
    out
}

/// pcapng block builder: type, body, padded, with both length fields.
pub(super) fn ng_block(out: &mut Vec<u8>, big: bool, btype: u32, body: &[u8]) {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    put32(out, btype, big);
    put32(out, total, big);
    out.extend_from_slice(body);
    out.resize(out.len() + padded - body.len(), 0);
    put32(out, total, big);
}

pub(super) fn ng_shb(out: &mut Vec<u8>, big: bool) {
    let mut b = Vec::new();
    put32(&mut b, 0x1a2b_3c4d, big);
    put16(&mut b, 1, big);
    put16(&mut b, 0, big);
    b.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
    ng_block(out, big, 0x0a0d_0d0a, &b);
}

/// Interface Description Block; `tsresol` adds an if_tsresol option, `tsoffset` an
/// if_tsoffset option.
pub(super) fn ng_idb(
    out: &mut Vec<u8>,
    big: bool,
    linktype: u16,
    tsresol: Option<u8>,
    tsoffset: i64,
) {
    let mut b = Vec::new();
    put16(&mut b, linktype, big);
    put16(&mut b, 0, big);
    put32(&mut b, 0, big);
    if let Some(r) = tsresol {
        put16(&mut b, 9, big);
        put16(&mut b, 1, big);
        b.extend_from_slice(&[r, 0, 0, 0]);
    }
    if tsoffset != 0 {
        put16(&mut b, 14, big);
        put16(&mut b, 8, big);
        b.extend_from_slice(&if big {
            tsoffset.to_be_bytes()
        } else {
            tsoffset.to_le_bytes()
        });
    }
    if tsresol.is_some() || tsoffset != 0 {
        put32(&mut b, 0, big); // opt_endofopt
    }
    ng_block(out, big, 1, &b);
}

pub(super) fn ng_epb(
    out: &mut Vec<u8>,
    big: bool,
    if_id: u32,
    ts: u64,
    data: &[u8],
    orig_len: u32,
) {
    let mut b = Vec::new();
    put32(&mut b, if_id, big);
    put32(&mut b, (ts >> 32) as u32, big);
    put32(&mut b, ts as u32, big);
    put32(&mut b, data.len() as u32, big);
    put32(&mut b, orig_len, big);
    b.extend_from_slice(data);
    b.resize(b.len().div_ceil(4) * 4, 0);
    ng_block(out, big, 6, &b);
}
