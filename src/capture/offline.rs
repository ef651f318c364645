//! Capture files: classic pcap (micro- or nanosecond, either byte order) and pcapng (any
//! number of sections and interfaces, each with its own link type and clock).
//!
//! A regular file is mapped into memory and its frames point into the mapping: no copy
//! (`mapped`). A pipe, standard input, or a file that cannot be mapped is read with
//! pcap-parser's streaming readers, in multi-megabyte chunks straight into the parser's
//! buffer, each frame copied exactly once, into its `Frame`.

use std::io::{self, Chain, Cursor};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapNGReader};

use super::error::{CaptureError, CaptureWarning};
use super::filter::{FilterExpr, FrameFilter};
use super::frame::{Batch, Frame, FrameData, FrameNo, LinkType, Timestamp};
use super::pool::{BufTaker, FramePool};

mod errors;
mod header;
mod input;
mod mapped;
mod pcapng;
mod set;
mod sigbus;

use mapped::MappedReader;
pub use mapped::MappedRegion;

use errors::Problem;
use pcapng::{ng_block, NgInterface};
pub use set::{expand, OfflineSet};

/// Bytes the parser buffers at once. Large reads keep the syscall count per gigabyte low.
pub const READ_BUFFER_BYTES: usize = 8 << 20;
/// Smallest read buffer: a small file gets a buffer its own size (rounded up to this), not
/// 8 MiB zeroed on every open; the buffer grows towards `READ_BUFFER_BYTES` when a record
/// does not fit (a file still being written).
const MIN_READ_BUFFER_BYTES: usize = 64 << 10;
/// Largest record (pcap record or pcapng block) accepted. Real frames are at most a few
/// hundred KiB (GRO super-frames included); anything larger is a corrupt length field, and
/// refusing it keeps memory bounded. Half the buffer, so a record always fits after a shift.
pub const MAX_RECORD_BYTES: usize = READ_BUFFER_BYTES / 2;

/// The probed prefix followed by the rest of the file, so non-seekable inputs work too.
type Input = Chain<Cursor<Vec<u8>>, input::InputFile>;

/// A record reader over a buffer filled by reads, or over a mapping.
trait RecordReader: PcapReaderIterator + Send {
    /// The mapping records are parsed in, if any.
    fn region(&self) -> Option<&Arc<MappedRegion>> {
        None
    }
}
impl RecordReader for LegacyPcapReader<Input> {}
impl RecordReader for PcapNGReader<Input> {}
impl RecordReader for MappedReader {
    fn region(&self) -> Option<&Arc<MappedRegion>> {
        Some(MappedReader::region(self))
    }
}

/// Which of the two container formats, with what each needs to turn records into frames.
enum Format {
    Pcap {
        reader: Box<dyn RecordReader>,
        link: LinkType,
        nanos: bool,
        big_endian: bool,
        record_header: usize,
        /// The file header's snapshot length.
        snaplen: u32,
    },
    PcapNg {
        reader: Box<dyn RecordReader>,
        /// Interfaces of the current section, indexed by interface id.
        ifaces: Vec<NgInterface>,
        big_endian: bool,
    },
}

/// A pcap or pcapng file read frame by frame.
pub struct OfflineSource {
    path: PathBuf,
    format: Format,
    /// Records read so far; the next frame gets `frames_read + 1`.
    frames_read: u64,
    /// Frames the capture filter left out.
    frames_filtered: u64,
    warnings: Vec<CaptureWarning>,
    /// An error met after some frames of a batch were already taken; returned next call so
    /// those frames still reach the pipeline.
    pending_error: Option<CaptureError>,
    finished: bool,
    /// Boxed so `Source`, an enum moved between threads, stays small.
    bufs: Box<BufTaker>,
    /// `-f`: frames that do not match are skipped (but still numbered).
    filter: Option<Box<FrameFilter>>,
    /// Set when a stop request ended a pipe before its writer did.
    cut_by_stop: Arc<AtomicBool>,
    /// Read from a pipe (or FIFO, or terminal): frames are handed on before waiting for
    /// more, so none sits in a batch while its writer is quiet.
    pipe: bool,
    /// `-s`: frames read are cut to this many bytes, their original length kept.
    snaplen: Option<usize>,
    /// Size of the parser's buffer now; at most `READ_BUFFER_BYTES`.
    buffer_bytes: usize,
    /// The mapping records are parsed in (a regular file), which frames point into.
    region: Option<Arc<MappedRegion>>,
}

/// Where a frame's bytes come from: its range of the mapping, or a copy.
pub(super) struct FrameBytes<'a> {
    bufs: &'a mut BufTaker,
    region: Option<&'a Arc<MappedRegion>>,
}

impl FrameBytes<'_> {
    pub(super) fn take(&mut self, bytes: &[u8]) -> FrameData {
        match self.region.and_then(|r| FrameData::in_region(r, bytes)) {
            Some(d) => d,
            None => self.bufs.copy(bytes),
        }
    }
}

/// The read buffer for an input of `len` bytes (`None`: a pipe, size unknown): the whole
/// file plus one byte, so its end is seen in one read, within the two bounds.
fn buffer_bytes_for(len: Option<u64>) -> usize {
    match len {
        Some(n) => usize::try_from(n)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            .clamp(MIN_READ_BUFFER_BYTES, READ_BUFFER_BYTES),
        None => READ_BUFFER_BYTES,
    }
}

/// What one step of the reader produced, detached from the reader's buffer borrow.
enum Step {
    Frame,
    Skip,
    NeedMore,
    End,
}

impl OfflineSource {
    /// Opens `path` and reads its header. Every failure maps to a one-line `CaptureError`.
    pub fn open(path: impl AsRef<Path>) -> Result<OfflineSource, CaptureError> {
        Self::open_until(path, None)
    }

    /// The same; reading a pipe (`-` for standard input) ends early once `stop` is set,
    /// even while nothing arrives on it.
    pub fn open_until(
        path: impl AsRef<Path>,
        stop: Option<Arc<AtomicBool>>,
    ) -> Result<OfflineSource, CaptureError> {
        Self::open_with(path.as_ref(), stop, true)
    }

    /// Reads a regular file instead of mapping it (tests compare the two paths).
    #[cfg(test)]
    fn open_unmapped(path: &Path) -> Result<OfflineSource, CaptureError> {
        Self::open_with(path, None, false)
    }

    fn open_with(
        path: &Path,
        stop: Option<Arc<AtomicBool>>,
        map: bool,
    ) -> Result<OfflineSource, CaptureError> {
        let path = path.to_path_buf();
        let cut_by_stop = Arc::new(AtomicBool::new(false));
        let mapped = if map {
            header::open_mapped(&path)?
        } else {
            None
        };
        let (format, pipe, buffer_bytes) = match mapped {
            Some(format) => (format, false, READ_BUFFER_BYTES),
            None => {
                let (magic, input, pipe, len) =
                    header::open_input(&path, stop, cut_by_stop.clone())?;
                let buffer_bytes = buffer_bytes_for(len);
                let format = header::read_format(&path, magic, input, buffer_bytes)?;
                (format, pipe, buffer_bytes)
            }
        };
        let mut src = OfflineSource {
            path,
            format,
            frames_read: 0,
            frames_filtered: 0,
            warnings: Vec::new(),
            pending_error: None,
            finished: false,
            bufs: Box::default(),
            filter: None,
            cut_by_stop,
            pipe,
            snaplen: None,
            buffer_bytes,
            region: None,
        };
        src.region = src.reader().region().cloned();
        Ok(src)
    }

    /// Whether frames point into a mapping of the file rather than into buffers of their own.
    pub fn is_mapped(&self) -> bool {
        self.region.is_some()
    }

    /// Skips frames the filter does not match from now on, as tcpdump -r does.
    pub fn set_filter(&mut self, expr: FilterExpr) {
        self.filter = Some(Box::new(FrameFilter::new(expr)));
    }

    /// Cuts every frame read from now on to `snaplen` bytes, keeping its original
    /// length (as `tcpdump -r -s`).
    pub fn set_snaplen(&mut self, snaplen: u32) {
        self.snaplen = Some((snaplen as usize).max(1));
    }

    /// Takes frame buffers from `pool` (handed back by the pcap writer) when it has any.
    pub fn use_pool(&mut self, pool: &FramePool) {
        *self.bufs = pool.taker();
    }

    /// Appends up to `max` (> 0) frames to `batch`. Returns how many were appended; 0 means
    /// the end of the file. Frames read before a fatal error are returned first, the error on
    /// the next call.
    pub fn next_batch(&mut self, batch: &mut Batch, max: usize) -> Result<usize, CaptureError> {
        if let Some(e) = self.pending_error.take() {
            self.finished = true;
            return Err(e);
        }
        let mut added = 0;
        while added < max && !self.finished {
            match self.step(batch) {
                Ok(Step::Frame) => {
                    added += 1;
                    if let (Some(snap), Some(f)) = (self.snaplen, batch.last_mut()) {
                        if f.data.len() > snap {
                            f.orig_len = f.orig_len.max(f.data.len() as u32);
                            f.data.truncate(snap);
                        }
                    }
                }
                Ok(Step::Skip) => {}
                Ok(Step::NeedMore) => {
                    if self.pipe && added > 0 {
                        // The next read may wait: hand these on first.
                        return Ok(added);
                    }
                    if let Err(e) = self.refill() {
                        return self.fail(e, added);
                    }
                }
                Ok(Step::End) => self.finished = true,
                Err(e) => return self.fail(e, added),
            }
        }
        Ok(added)
    }

    /// Link type of the file: a pcap's header; for pcapng the first interface's, or
    /// Ethernet before any interface block was read (pcap output then counts frames of
    /// other link types as mismatched rather than mixing them into one file).
    pub fn link_type(&self) -> LinkType {
        match &self.format {
            Format::Pcap { link, .. } => *link,
            Format::PcapNg { ifaces, .. } => ifaces
                .first()
                .and_then(|i| i.link.ok())
                .unwrap_or(LinkType::Ethernet),
        }
    }

    /// The snapshot length the file declares: a pcap's header, or for pcapng the first
    /// interface's (`None` before any interface block was read, or 0: unlimited).
    pub fn snaplen(&self) -> Option<u32> {
        match &self.format {
            Format::Pcap { snaplen, .. } => Some(*snaplen),
            Format::PcapNg { ifaces, .. } => ifaces.first().map(|i| i.snaplen),
        }
        .filter(|&n| n > 0)
    }

    /// Warnings gathered so far (a truncated last record); print them at the end.
    pub fn warnings(&self) -> &[CaptureWarning] {
        &self.warnings
    }

    /// Frames read so far (including ones not yet handed out of a batch).
    /// Frames the capture filter (`set_filter`) left out so far.
    pub fn frames_filtered(&self) -> u64 {
        self.frames_filtered
    }

    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fail(&mut self, e: CaptureError, added: usize) -> Result<usize, CaptureError> {
        if added > 0 {
            self.pending_error = Some(e);
            Ok(added)
        } else {
            self.finished = true;
            Err(e)
        }
    }

    fn refill(&mut self) -> Result<(), CaptureError> {
        let before = self.reader().data().len();
        let res = match &mut self.format {
            Format::Pcap { reader, .. } => reader.refill().map_err(|e| e.to_owned_vec()),
            Format::PcapNg { reader, .. } => reader.refill().map_err(|e| e.to_owned_vec()),
        };
        self.region = self.reader().region().cloned();
        if res.is_err() {
            return Err(CaptureError::Unreadable {
                path: self.path.clone(),
                source: io::Error::other("read error"),
            });
        }
        // A refill that neither adds bytes nor reaches the end means the buffer is full and
        // the parser still wants more; asking again would spin forever.
        if self.reader().data().len() == before && !self.reader().reader_exhausted() {
            if self.grow_buffer() {
                return Ok(());
            }
            return Err(self.corrupt("record does not fit the read buffer"));
        }
        Ok(())
    }

    /// Doubles the read buffer, up to `READ_BUFFER_BYTES`; false when it is that already.
    fn grow_buffer(&mut self) -> bool {
        if self.buffer_bytes >= READ_BUFFER_BYTES {
            return false;
        }
        self.buffer_bytes = (self.buffer_bytes * 2).min(READ_BUFFER_BYTES);
        let grown = self.buffer_bytes;
        match &mut self.format {
            Format::Pcap { reader, .. } => reader.grow(grown),
            Format::PcapNg { reader, .. } => reader.grow(grown),
        };
        true
    }

    /// Whether the input is a pipe, FIFO or terminal, whose writer may go quiet.
    pub fn is_pipe(&self) -> bool {
        self.pipe
    }

    /// Whether a stop request ended the input (a pipe) before its writer did.
    pub fn cut_by_stop(&self) -> bool {
        self.cut_by_stop.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn reader(&self) -> &dyn RecordReader {
        match &self.format {
            Format::Pcap { reader, .. } => reader.as_ref(),
            Format::PcapNg { reader, .. } => reader.as_ref(),
        }
    }

    fn offset(&self) -> u64 {
        self.reader().consumed() as u64
    }

    fn next_frame_no(&self) -> FrameNo {
        FrameNo(self.frames_read + 1)
    }

    fn corrupt(&self, reason: impl Into<String>) -> CaptureError {
        CaptureError::CorruptRecord {
            path: self.path.clone(),
            frame: self.next_frame_no(),
            offset: self.offset(),
            reason: reason.into(),
        }
    }

    /// Reads one record. Frames are pushed onto `batch` here, while the record still
    /// borrows the parser's buffer; the buffer is advanced afterwards.
    fn step(&mut self, batch: &mut Batch) -> Result<Step, CaptureError> {
        let no = self.next_frame_no();
        let mut bytes = FrameBytes {
            bufs: &mut self.bufs,
            region: self.region.as_ref(),
        };
        let outcome: Result<(usize, Step), Problem> = match &mut self.format {
            Format::Pcap {
                reader,
                link,
                nanos,
                ..
            } => match reader.next() {
                Ok((len, PcapBlockOwned::Legacy(b))) => {
                    let frac = b.ts_usec as u64;
                    let ts =
                        (b.ts_sec as u64) * 1_000_000_000 + if *nanos { frac } else { frac * 1000 };
                    batch.push(Frame {
                        no,
                        ts: Timestamp(ts),
                        orig_len: b.origlen,
                        link: *link,
                        data: bytes.take(b.data),
                    });
                    Ok((len, Step::Frame))
                }
                Ok((len, _)) => Ok((len, Step::Skip)),
                Err(e) => Err(Problem::Reader(e.to_owned_vec())),
            },
            Format::PcapNg {
                reader,
                ifaces,
                big_endian,
            } => match reader.next() {
                Ok((len, PcapBlockOwned::NG(block))) => {
                    match ng_block(block, ifaces, big_endian, no, batch, &mut bytes) {
                        Ok(s) => Ok((len, s)),
                        Err(p) => Err(Problem::Ng(p)),
                    }
                }
                Ok((len, _)) => Ok((len, Step::Skip)),
                Err(e) => Err(Problem::Reader(e.to_owned_vec())),
            },
        };
        let (consumed, step) = match outcome {
            Ok(v) => v,
            Err(Problem::Reader(e)) => return self.reader_error(e),
            Err(Problem::Ng(p)) => return Err(self.ng_error(p)),
        };
        if self.region.as_ref().is_some_and(|r| r.changed()) {
            return Ok(self.changed_while_read(step, batch));
        }
        match &mut self.format {
            Format::Pcap { reader, .. } => reader.consume_noshift(consumed),
            Format::PcapNg { reader, .. } => reader.consume_noshift(consumed),
        }
        if let Step::Frame = step {
            // Numbered whether or not the filter keeps it, so frame numbers stay the file's.
            self.frames_read += 1;
            if let (Some(filter), Some(frame)) = (&mut self.filter, batch.last()) {
                if !filter.matches(frame).map_err(CaptureError::Filter)? {
                    batch.pop();
                    self.frames_filtered += 1;
                    return Ok(Step::Skip);
                }
            }
        }
        Ok(step)
    }
}

#[cfg(test)]
mod tests;
