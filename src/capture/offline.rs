//! Capture files: classic pcap (micro- or nanosecond, either byte order) and pcapng (any
//! number of sections and interfaces, each with its own link type and clock), read with
//! pcap-parser's streaming readers over one large buffer.
//!
//! The file is read in multi-megabyte chunks straight into the parser's buffer; each frame
//! is parsed in place and copied exactly once, into its `Frame`.

use std::fs::File;
use std::io::{self, Chain, Cursor, Read};
use std::path::{Path, PathBuf};

use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{
    Block, LegacyPcapReader, OptionCode, PcapBlockOwned, PcapError, PcapNGOption, PcapNGReader,
};

use super::error::{CaptureError, CaptureWarning};
use super::frame::{Batch, Frame, FrameNo, LinkType, Timestamp};
use super::pool::{BufTaker, FramePool};

/// Bytes the parser buffers at once. Large reads keep the syscall count per gigabyte low.
pub const READ_BUFFER_BYTES: usize = 8 << 20;
/// Largest record (pcap record or pcapng block) accepted. Real frames are at most a few
/// hundred KiB (GRO super-frames included); anything larger is a corrupt length field, and
/// refusing it keeps memory bounded. Half the buffer, so a record always fits after a shift.
pub const MAX_RECORD_BYTES: usize = READ_BUFFER_BYTES / 2;

/// Bytes read up front to recognise the format: enough for any sane pcapng section header.
const PROBE_BYTES: usize = 64 << 10;

const PCAPNG_SHB_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const PCAPNG_BOM_LE: [u8; 4] = [0x4d, 0x3c, 0x2b, 0x1a];

/// The probed prefix followed by the rest of the file, so non-seekable inputs work too.
type Input = Chain<Cursor<Vec<u8>>, File>;

/// Which of the two container formats, with what each needs to turn records into frames.
enum Format {
    Pcap {
        reader: LegacyPcapReader<Input>,
        link: LinkType,
        nanos: bool,
        big_endian: bool,
        record_header: usize,
    },
    PcapNg {
        reader: PcapNGReader<Input>,
        /// Interfaces of the current section, indexed by interface id.
        ifaces: Vec<NgInterface>,
        big_endian: bool,
    },
}

/// One pcapng Interface Description Block, as far as frames need it.
struct NgInterface {
    /// The link type, or the raw number when oftsniff cannot decode it; that is an error
    /// only once a packet actually arrives on the interface.
    link: Result<LinkType, u32>,
    /// Timestamp units per second (if_tsresol), `None` when the option is invalid.
    units_per_sec: Option<u64>,
    /// if_tsoffset, seconds added to every timestamp.
    offset_secs: i64,
    snaplen: u32,
}

/// A pcap or pcapng file read frame by frame.
pub struct OfflineSource {
    path: PathBuf,
    format: Format,
    /// Records read so far; the next frame gets `frames_read + 1`.
    frames_read: u64,
    warnings: Vec<CaptureWarning>,
    /// An error met after some frames of a batch were already taken; returned next call so
    /// those frames still reach the pipeline.
    pending_error: Option<CaptureError>,
    finished: bool,
    /// Boxed so `Source`, an enum moved between threads, stays small.
    bufs: Box<BufTaker>,
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
        let path = path.as_ref().to_path_buf();
        // `-r -` reads standard input, as tcpdump does (`tcpdump -w - | oftsniff -r -`).
        let from = if path.as_os_str() == "-" {
            Path::new("/dev/stdin")
        } else {
            path.as_path()
        };
        let mut file = File::open(from).map_err(|e| CaptureError::from_open(path.clone(), e))?;
        let meta = file
            .metadata()
            .map_err(|e| CaptureError::from_open(path.clone(), e))?;
        if meta.is_dir() {
            return Err(CaptureError::NotAFile { path });
        }
        let prefix = read_prefix(&mut file, PROBE_BYTES)
            .map_err(|e| CaptureError::from_open(path.clone(), e))?;
        if prefix.is_empty() {
            return Err(CaptureError::EmptyFile { path });
        }
        if prefix.len() < 4 {
            return Err(CaptureError::TruncatedHeader { path });
        }
        let magic4 = [prefix[0], prefix[1], prefix[2], prefix[3]];
        let magic_le = u32::from_le_bytes(magic4);
        let input: Input = Cursor::new(prefix).chain(file);

        let format = if magic4 == PCAPNG_SHB_MAGIC {
            let reader =
                PcapNGReader::new(READ_BUFFER_BYTES, input).map_err(|e| header_error(&path, e))?;
            Format::PcapNg {
                reader,
                ifaces: Vec::new(),
                big_endian: false,
            }
        } else if matches!(
            magic_le,
            0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0xa1b2_cd34
        ) {
            let mut reader = LegacyPcapReader::new(READ_BUFFER_BYTES, input)
                .map_err(|e| header_error(&path, e))?;
            let first = match reader.next() {
                Ok((len, PcapBlockOwned::LegacyHeader(h))) => Some((len, h)),
                _ => None,
            };
            let Some((len, header)) = first else {
                return Err(CaptureError::TruncatedHeader { path });
            };
            reader.consume_noshift(len);
            let raw_link = header.network.0 as u32;
            // The upper bits of the pcap link-type field carry FCS information, not the type.
            let link = LinkType::from_linktype(raw_link & 0xffff).ok_or(
                CaptureError::UnsupportedLinkType {
                    path: path.clone(),
                    linktype: raw_link,
                },
            )?;
            Format::Pcap {
                reader,
                link,
                nanos: header.is_nanosecond_precision(),
                big_endian: header.is_bigendian(),
                record_header: if header.is_modified_format() { 24 } else { 16 },
            }
        } else {
            return Err(CaptureError::BadMagic {
                path,
                magic: u32::from_be_bytes(magic4),
            });
        };
        Ok(OfflineSource {
            path,
            format,
            frames_read: 0,
            warnings: Vec::new(),
            pending_error: None,
            finished: false,
            bufs: Box::default(),
        })
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
                Ok(Step::Frame) => added += 1,
                Ok(Step::Skip) => {}
                Ok(Step::NeedMore) => {
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

    /// Warnings gathered so far (a truncated last record); print them at the end.
    pub fn warnings(&self) -> &[CaptureWarning] {
        &self.warnings
    }

    /// Frames read so far (including ones not yet handed out of a batch).
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
        if res.is_err() {
            return Err(CaptureError::Unreadable {
                path: self.path.clone(),
                source: io::Error::other("read error"),
            });
        }
        // A refill that neither adds bytes nor reaches the end means the buffer is full and
        // the parser still wants more; asking again would spin forever.
        if self.reader().data().len() == before && !self.reader().reader_exhausted() {
            return Err(self.corrupt("record does not fit the read buffer"));
        }
        Ok(())
    }

    fn reader(&self) -> &dyn PcapReaderIterator {
        match &self.format {
            Format::Pcap { reader, .. } => reader,
            Format::PcapNg { reader, .. } => reader,
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
        let bufs = &mut self.bufs;
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
                        data: bufs.copy(b.data),
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
                    match ng_block(block, ifaces, big_endian, no, batch, bufs) {
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
        match &mut self.format {
            Format::Pcap { reader, .. } => reader.consume_noshift(consumed),
            Format::PcapNg { reader, .. } => reader.consume_noshift(consumed),
        }
        if let Step::Frame = step {
            self.frames_read += 1;
        }
        Ok(step)
    }

    fn ng_error(&self, reason: NgProblem) -> CaptureError {
        match reason {
            NgProblem::UnsupportedLink(linktype) => CaptureError::UnsupportedLinkType {
                path: self.path.clone(),
                linktype,
            },
            NgProblem::Corrupt(reason) => self.corrupt(reason),
        }
    }

    /// Turns a parser error into end of file, a request for more bytes, a truncated-tail
    /// warning, or a fatal error.
    fn reader_error(&mut self, e: PcapError<&'static [u8]>) -> Result<Step, CaptureError> {
        let data_len = self.reader().data().len() as u64;
        let exhausted = self.reader().reader_exhausted();
        match e {
            PcapError::Eof => Ok(Step::End),
            PcapError::Incomplete(_) | PcapError::BufferTooSmall | PcapError::UnexpectedEof => {
                if let Some(claimed) = self.claimed_record_len() {
                    if claimed > MAX_RECORD_BYTES as u64 {
                        return Err(CaptureError::RecordTooLarge {
                            path: self.path.clone(),
                            frame: self.next_frame_no(),
                            offset: self.offset(),
                            claimed,
                            limit: MAX_RECORD_BYTES as u64,
                        });
                    }
                }
                if matches!(e, PcapError::UnexpectedEof) || exhausted {
                    if data_len == 0 {
                        return Ok(Step::End);
                    }
                    self.warnings.push(CaptureWarning::TruncatedLastRecord {
                        path: self.path.clone(),
                        frame: self.next_frame_no(),
                        offset: self.offset(),
                        bytes_left: data_len,
                    });
                    return Ok(Step::End);
                }
                if matches!(e, PcapError::BufferTooSmall) {
                    return Err(self.corrupt("record does not fit the read buffer"));
                }
                Ok(Step::NeedMore)
            }
            PcapError::ReadError => Err(CaptureError::Unreadable {
                path: self.path.clone(),
                source: io::Error::other("read error"),
            }),
            PcapError::HeaderNotRecognized => Err(self.corrupt("unrecognised block")),
            PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
                Err(self.corrupt(format!("malformed record ({})", kind.description())))
            }
        }
    }

    /// The total length the record at the read position says it has, when enough of its
    /// header is present to tell.
    fn claimed_record_len(&self) -> Option<u64> {
        let data = self.reader().data();
        match &self.format {
            Format::Pcap {
                big_endian,
                record_header,
                ..
            } => {
                let caplen = read_u32(data.get(8..12)?, *big_endian);
                Some(*record_header as u64 + caplen as u64)
            }
            Format::PcapNg { big_endian, .. } => {
                let big = if data.get(0..4)? == PCAPNG_SHB_MAGIC {
                    data.get(8..12)? != PCAPNG_BOM_LE
                } else {
                    *big_endian
                };
                Some(read_u32(data.get(4..8)?, big) as u64)
            }
        }
    }
}

enum Problem {
    Reader(PcapError<&'static [u8]>),
    Ng(NgProblem),
}

enum NgProblem {
    UnsupportedLink(u32),
    Corrupt(String),
}

/// Handles one pcapng block: interface bookkeeping, or a frame pushed onto `batch`.
fn ng_block(
    block: Block<'_>,
    ifaces: &mut Vec<NgInterface>,
    big_endian: &mut bool,
    no: FrameNo,
    batch: &mut Batch,
    bufs: &mut BufTaker,
) -> Result<Step, NgProblem> {
    match block {
        Block::SectionHeader(shb) => {
            // Interface ids are scoped to their section.
            ifaces.clear();
            *big_endian = shb.big_endian();
            Ok(Step::Skip)
        }
        Block::InterfaceDescription(idb) => {
            let raw = idb.linktype.0 as u32;
            ifaces.push(NgInterface {
                link: LinkType::from_linktype(raw).ok_or(raw),
                units_per_sec: ts_units_per_sec(idb.if_tsresol),
                offset_secs: ts_offset_secs(&idb.options, *big_endian),
                snaplen: idb.snaplen,
            });
            Ok(Step::Skip)
        }
        Block::EnhancedPacket(epb) => {
            let iface = ifaces.get(epb.if_id as usize).ok_or_else(|| {
                NgProblem::Corrupt(format!("packet on undeclared interface {}", epb.if_id))
            })?;
            let link = iface.link.map_err(NgProblem::UnsupportedLink)?;
            let units = iface.units_per_sec.ok_or_else(|| {
                NgProblem::Corrupt(format!("interface {} has an invalid if_tsresol", epb.if_id))
            })?;
            let raw_ts = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
            batch.push(Frame {
                no,
                ts: ng_timestamp(raw_ts, units, iface.offset_secs),
                orig_len: epb.origlen,
                link,
                data: bufs.copy(epb.packet_data()),
            });
            Ok(Step::Frame)
        }
        Block::SimplePacket(spb) => {
            let iface = ifaces.first().ok_or_else(|| {
                NgProblem::Corrupt("simple packet block before any interface".to_string())
            })?;
            let link = iface.link.map_err(NgProblem::UnsupportedLink)?;
            let mut data = spb.packet_data();
            if iface.snaplen > 0 && data.len() > iface.snaplen as usize {
                data = &data[..iface.snaplen as usize];
            }
            // Simple packet blocks carry no timestamp at all.
            batch.push(Frame {
                no,
                ts: Timestamp(0),
                orig_len: spb.origlen,
                link,
                data: bufs.copy(data),
            });
            Ok(Step::Frame)
        }
        _ => Ok(Step::Skip),
    }
}

/// Converts a pcapng timestamp in `units` per second, plus an offset in seconds, to
/// nanoseconds. The common resolutions avoid the 128-bit division.
fn ng_timestamp(raw: u64, units: u64, offset_secs: i64) -> Timestamp {
    let nanos = match units {
        1_000_000_000 => raw as u128,
        1_000_000 => raw as u128 * 1000,
        _ => {
            let secs = (raw / units) as u128;
            let frac = (raw % units) as u128;
            secs * 1_000_000_000 + frac * 1_000_000_000 / units as u128
        }
    };
    let nanos = nanos as i128 + offset_secs as i128 * 1_000_000_000;
    Timestamp(nanos.clamp(0, u64::MAX as i128) as u64)
}

/// Reads if_tsoffset in the section's byte order (pcap-parser's own field assumes
/// little-endian).
fn ts_offset_secs(options: &[PcapNGOption<'_>], big_endian: bool) -> i64 {
    options
        .iter()
        .find(|o| o.code == OptionCode::IfTsoffset)
        .and_then(|o| o.value().get(..8))
        .map(|v| {
            let a: [u8; 8] = v.try_into().unwrap_or([0; 8]);
            if big_endian {
                i64::from_be_bytes(a)
            } else {
                i64::from_le_bytes(a)
            }
        })
        .unwrap_or(0)
}

/// Decodes if_tsresol: a power of ten, or of two when the top bit is set. Done here rather
/// than with pcap-parser's helper, which rejects every power-of-two resolution.
fn ts_units_per_sec(tsresol: u8) -> Option<u64> {
    let exp = (tsresol & 0x7f) as u32;
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exp)
    } else {
        1u64.checked_shl(exp).filter(|_| exp < 64)
    }
}

fn read_u32(b: &[u8], big_endian: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// Reads up to `limit` bytes, fewer only at end of file.
fn read_prefix(file: &mut File, limit: usize) -> io::Result<Vec<u8>> {
    // Enough to tell the format (a pcap global header is 24 bytes), in as few reads as
    // the source gives: from a pipe, waiting for more would stall a live stream.
    const ENOUGH: usize = 24;
    let mut buf = vec![0u8; limit];
    let mut have = 0;
    while have < ENOUGH {
        match file.read(&mut buf[have..]) {
            Ok(0) => break,
            Ok(n) => have += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(have);
    Ok(buf)
}

/// Maps an error from constructing a reader over a recognised magic number.
fn header_error(path: &Path, e: PcapError<&'static [u8]>) -> CaptureError {
    match e {
        PcapError::ReadError => CaptureError::Unreadable {
            path: path.to_path_buf(),
            source: io::Error::other("read error"),
        },
        PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
            CaptureError::TruncatedHeader {
                path: path.to_path_buf(),
            }
        }
        other => CaptureError::CorruptRecord {
            path: path.to_path_buf(),
            frame: FrameNo(0),
            offset: 0,
            reason: format!("malformed file header: {other}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A file in the temp dir, removed when the test ends (also on panic).
    struct TempFile(PathBuf);

    impl TempFile {
        fn with(bytes: &[u8]) -> TempFile {
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir()
                .join(format!("oftsniff-offline-{}-{n}.cap", std::process::id()));
            std::fs::write(&p, bytes).unwrap();
            TempFile(p)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    struct Rec<'a> {
        secs: u32,
        frac: u32,
        orig_len: u32,
        data: &'a [u8],
    }

    fn rec(secs: u32, frac: u32, data: &[u8]) -> Rec<'_> {
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
    fn pcap(big: bool, nanos: bool, linktype: u32, recs: &[Rec]) -> Vec<u8> {
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
    fn ng_block(out: &mut Vec<u8>, big: bool, btype: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        put32(out, btype, big);
        put32(out, total, big);
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        put32(out, total, big);
    }

    fn ng_shb(out: &mut Vec<u8>, big: bool) {
        let mut b = Vec::new();
        put32(&mut b, 0x1a2b_3c4d, big);
        put16(&mut b, 1, big);
        put16(&mut b, 0, big);
        b.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
        ng_block(out, big, 0x0a0d_0d0a, &b);
    }

    /// Interface Description Block; `tsresol` adds an if_tsresol option, `tsoffset` an
    /// if_tsoffset option.
    fn ng_idb(out: &mut Vec<u8>, big: bool, linktype: u16, tsresol: Option<u8>, tsoffset: i64) {
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

    fn ng_epb(out: &mut Vec<u8>, big: bool, if_id: u32, ts: u64, data: &[u8], orig_len: u32) {
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
}
