//! The classic pcap file format, written record by record. Shared by the pcap output and
//! the traffic generator.

use crate::capture::{Frame, LinkType, Timestamp};
use std::io::{self, Write};
use std::sync::atomic::{AtomicU32, Ordering};

/// Snap length written in the file header by default (tcpdump's).
pub const SNAPLEN: u32 = 262_144;

/// The snap length files written from now on declare, and cut records to: the run's
/// `-s`, set once by the pcap output before it opens a file (frames are already cut to
/// it at capture).
static HEADER_SNAPLEN: AtomicU32 = AtomicU32::new(SNAPLEN);

/// Sets the snap length of the files written from now on (0: the default).
pub fn set_header_snaplen(snaplen: u32) {
    let n = if snaplen == 0 { SNAPLEN } else { snaplen };
    HEADER_SNAPLEN.store(n, Ordering::Relaxed);
}

fn header_snaplen() -> u32 {
    HEADER_SNAPLEN.load(Ordering::Relaxed)
}

/// Magic of a nanosecond-resolution pcap, so timestamps survive the round trip exactly.
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// Writes a pcap stream: the 24-byte global header on creation, then one record per frame.
pub struct PcapFileWriter<W: Write> {
    out: W,
    /// Bytes written so far, header included (for `-C` rotation).
    written: u64,
}

impl<W: Write> PcapFileWriter<W> {
    pub fn new(mut out: W, link: LinkType) -> io::Result<Self> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&MAGIC_NANOS.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0.
        h[16..20].copy_from_slice(&header_snaplen().to_le_bytes());
        h[20..24].copy_from_slice(&link.linktype().to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapFileWriter { out, written: 24 })
    }

    /// One record. `data` is written as given; `orig_len` may exceed it (snapped capture).
    pub fn write_record(&mut self, ts: Timestamp, orig_len: u32, data: &[u8]) -> io::Result<()> {
        let incl = data.len().min(header_snaplen() as usize);
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&(ts.secs() as u32).to_le_bytes());
        h[4..8].copy_from_slice(&ts.subsec_nanos().to_le_bytes());
        h[8..12].copy_from_slice(&(incl as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.max(incl as u32).to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&data[..incl])?;
        self.written += 16 + incl as u64;
        Ok(())
    }

    pub fn write_frame(&mut self, f: &Frame) -> io::Result<()> {
        self.write_record(f.ts, f.orig_len, &f.data)
    }

    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests;
