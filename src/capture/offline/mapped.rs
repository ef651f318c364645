//! Regular capture files read through a memory mapping: records are parsed where they lie
//! and frames point into the mapping, so a frame's bytes are never copied on the way in.
//!
//! Decisions, and why:
//! - Only the size at open is mapped. A file that grows meanwhile (a sensor still writing
//!   it) is mapped again from the read position when the reader reaches the end, as a
//!   read would have found more bytes there.
//! - A file that shrinks meanwhile would raise SIGBUS on the pages past its new end:
//!   `sigbus` turns those pages into zeros and marks the mapping, and the reader stops
//!   at its next record with a warning (`CaptureWarning::ChangedWhileRead`).
//! - A file rewritten in place while mapped shows the new bytes to frames not yet
//!   processed. Frames are hostile input anyway: every parser checks lengths on the slice
//!   it holds, so the worst outcome is wrong values, as from a corrupt file.
//! - The pages behind the read position are given back (MADV_DONTNEED) as the read goes
//!   on, so resident memory stays bounded on files of any size; a frame still held there
//!   simply faults its page back in from the page cache.
//! - Pipes, FIFOs, standard input and files that cannot be mapped keep the read path.

use std::fs::File;
use std::sync::Arc;

use memmap2::{Mmap, MmapOptions, UncheckedAdvice};
use nom::Offset;
use pcap_parser::pcap::LegacyPcapBlock;
use pcap_parser::pcapng::{parse_block_be, parse_block_le, Block};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

use super::sigbus::Watch;
use super::MAX_RECORD_BYTES;

/// Bytes the read position stays ahead of the pages given back: frames queued to the
/// workers mostly lie within it, so they rarely fault their page in again.
const RELEASE_LAG: usize = 8 << 20;
/// The pages behind are given back each time the read position moves on this far.
const RELEASE_STEP: usize = 8 << 20;

/// A capture file (or its tail, after growth) mapped read-only.
pub struct MappedRegion {
    // Declared first so it is dropped (unwatched) before the mapping is unmapped.
    watch: Watch,
    map: Mmap,
}

impl MappedRegion {
    /// Maps `len` bytes of `file` from `offset` (a multiple of the page size). `None` when
    /// the file cannot be mapped or watched: the caller reads it instead.
    fn new(file: &File, offset: u64, len: usize) -> Option<Arc<MappedRegion>> {
        if len == 0 {
            return None;
        }
        // SAFETY: mmap of a file descriptor we hold, read-only; the ways the file can
        // change under the mapping are handled as the module comment says (shrinking by
        // `sigbus`, rewriting as hostile bytes).
        let map = unsafe { MmapOptions::new().offset(offset).len(len).map(file) }.ok()?;
        let _ = map.advise(memmap2::Advice::Sequential);
        let watch = Watch::new(map.as_ptr() as usize, map.len())?;
        Some(Arc::new(MappedRegion { watch, map }))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Whether the file shrank under the mapping (its tail now reads as zeros).
    pub fn changed(&self) -> bool {
        self.watch.hit()
    }

    /// Gives back the pages of `[0, end)`.
    fn release(&self, end: usize) {
        let end = end.min(self.map.len());
        if end == 0 {
            return;
        }
        // SAFETY: madvise on our own read-only file mapping; MADV_DONTNEED there drops only
        // the page table entries, and a later read faults the same file pages back in.
        let _ = unsafe {
            self.map
                .unchecked_advise_range(UncheckedAdvice::DontNeed, 0, end)
        };
    }
}

/// One of pcap-parser's classic pcap record parsers (byte order, modified format).
pub(super) type PcapRecordParser =
    fn(&[u8]) -> nom::IResult<&[u8], LegacyPcapBlock<'_>, PcapError<&[u8]>>;

/// How records are parsed: classic pcap with its record parser, or pcapng in the current
/// section's byte order.
#[derive(Clone, Copy)]
pub(super) enum Records {
    Pcap(PcapRecordParser),
    PcapNg { big_endian: bool },
}

/// The pcap-parser reader interface over a mapping instead of a buffer.
pub(super) struct MappedReader {
    file: File,
    region: Arc<MappedRegion>,
    /// File offset of the region's first byte.
    base: u64,
    /// Read position in the region.
    pos: usize,
    exhausted: bool,
    records: Records,
    /// Region offset up to which pages were last given back.
    released: usize,
}

impl MappedReader {
    /// Maps `file` (of `len` bytes); `None` when it cannot be.
    pub(super) fn map(file: File, len: u64) -> Option<MappedReader> {
        let region = MappedRegion::new(&file, 0, usize::try_from(len).ok()?)?;
        Some(MappedReader {
            file,
            region,
            base: 0,
            pos: 0,
            exhausted: false,
            records: Records::PcapNg { big_endian: false },
            released: 0,
        })
    }

    pub(super) fn set_records(&mut self, records: Records) {
        self.records = records;
    }

    pub(super) fn region(&self) -> &Arc<MappedRegion> {
        &self.region
    }

    /// At the end of the mapping: maps what the file gained since, from the page holding
    /// the read position; false when it did not grow (or the new part cannot be mapped).
    fn remap_grown(&mut self) -> bool {
        let Ok(len) = self.file.metadata().map(|m| m.len()) else {
            return false;
        };
        let end = self.base + self.region.bytes().len() as u64;
        if len <= end {
            return false;
        }
        let at = self.base + self.pos as u64;
        let page = page_size();
        let from = at - at % page;
        let Ok(n) = usize::try_from(len - from) else {
            return false;
        };
        let Some(region) = MappedRegion::new(&self.file, from, n) else {
            return false;
        };
        self.region = region;
        self.pos = (at - from) as usize;
        self.base = from;
        self.released = 0;
        true
    }

    fn parse(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&[u8]>> {
        let data = self.region.bytes().get(self.pos..).unwrap_or(&[]);
        let parsed = match self.records {
            Records::Pcap(parse) => parse(data).map(|(rem, b)| (rem, PcapBlockOwned::from(b))),
            Records::PcapNg { big_endian } => {
                let parse = if big_endian {
                    parse_block_be
                } else {
                    parse_block_le
                };
                parse(data).map(|(rem, b)| {
                    if let Block::SectionHeader(shb) = &b {
                        self.records = Records::PcapNg {
                            big_endian: shb.big_endian(),
                        };
                    }
                    (rem, PcapBlockOwned::from(b))
                })
            }
        };
        match parsed {
            Ok((rem, b)) => Ok((data.offset(rem), b)),
            Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(e),
            Err(nom::Err::Incomplete(n)) if !self.exhausted => {
                Err(PcapError::Incomplete(match n {
                    nom::Needed::Size(n) => n.get(),
                    nom::Needed::Unknown => 0,
                }))
            }
            Err(nom::Err::Incomplete(_)) => Err(PcapError::UnexpectedEof),
        }
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

impl PcapReaderIterator for MappedReader {
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&[u8]>> {
        if self.pos >= self.region.bytes().len() && self.exhausted {
            return Err(PcapError::Eof);
        }
        match self.parse() {
            // A record this long is a corrupt length field, as on the read path: the
            // caller looks at the claimed length and refuses it.
            Ok((len, _)) if len > MAX_RECORD_BYTES => Err(PcapError::BufferTooSmall),
            other => other,
        }
    }
    fn consume(&mut self, offset: usize) {
        self.consume_noshift(offset)
    }
    fn consume_noshift(&mut self, offset: usize) {
        self.pos = self.pos.saturating_add(offset);
        if self.pos >= self.released + RELEASE_LAG + RELEASE_STEP {
            self.released = self.pos - RELEASE_LAG;
            self.region.release(self.released);
        }
    }
    fn consumed(&self) -> usize {
        (self.base as usize).saturating_add(self.pos)
    }
    fn refill(&mut self) -> Result<(), PcapError<&[u8]>> {
        if !self.remap_grown() {
            self.exhausted = true;
        }
        Ok(())
    }
    fn position(&self) -> usize {
        self.pos
    }
    fn grow(&mut self, _new_size: usize) -> bool {
        false
    }
    fn data(&self) -> &[u8] {
        self.region.bytes().get(self.pos..).unwrap_or(&[])
    }
    fn reader_exhausted(&self) -> bool {
        self.exhausted
    }
}
