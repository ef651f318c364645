//! Recognising the container format from the first bytes of the input, and reading the
//! classic pcap file header.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;

use pcap_parser::pcap::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header, PcapHeader,
};
use pcap_parser::pcapng::parse_sectionheaderblock;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::input::InputFile;
use super::mapped::{MappedReader, Records};
use super::{Format, Input, RecordReader};
use crate::capture::error::CaptureError;
use crate::capture::frame::{FrameNo, LinkType};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Bytes read up front to recognise the format: enough for any sane pcapng section header.
const PROBE_BYTES: usize = 64 << 10;
/// Smaller files are read, not mapped: too short to hold a magic number, they are
/// refused with the read path's error.
const MIN_MAPPED_BYTES: u64 = 4;

pub(super) const PCAPNG_SHB_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
pub(super) const PCAPNG_BOM_LE: [u8; 4] = [0x4d, 0x3c, 0x2b, 0x1a];

/// Opens the input (`-` for standard input) and reads enough of it to tell the format.
/// Returns the first four bytes, the whole input (those bytes included), whether it is
/// a pipe (or FIFO, or terminal) rather than a regular file, and a regular file's length.
/// A pipe ends early once `stop` is set.
pub(super) fn open_input(
    path: &Path,
    stop: Option<Arc<AtomicBool>>,
    cut_by_stop: Arc<AtomicBool>,
) -> Result<([u8; 4], Input, bool, Option<u64>), CaptureError> {
    // `-r -` reads standard input, as tcpdump does (`tcpdump -w - | oftsniff -r -`).
    let from = if path.as_os_str() == "-" {
        Path::new("/dev/stdin")
    } else {
        path
    };
    let file = File::open(from).map_err(|e| CaptureError::from_open(path.to_path_buf(), e))?;
    let meta = file
        .metadata()
        .map_err(|e| CaptureError::from_open(path.to_path_buf(), e))?;
    if meta.is_dir() {
        return Err(CaptureError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let pipe = !meta.is_file();
    let mut file = InputFile::new(file, !pipe, stop, cut_by_stop);
    let prefix = read_prefix(&mut file, PROBE_BYTES)
        .map_err(|e| CaptureError::from_open(path.to_path_buf(), e))?;
    if prefix.is_empty() {
        return Err(CaptureError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    if prefix.len() < 4 {
        return Err(CaptureError::TruncatedHeader {
            path: path.to_path_buf(),
        });
    }
    let magic4 = [prefix[0], prefix[1], prefix[2], prefix[3]];
    let input: Input = Cursor::new(prefix).chain(file);
    let len = (!pipe).then_some(meta.len());
    Ok((magic4, input, pipe, len))
}

/// A regular file (of at least `MIN_MAPPED_BYTES`), mapped, with its format read from the
/// mapping. `None` when it is not such a file or cannot be mapped: the caller reads it
/// instead (and reports any error opening it).
pub(super) fn open_mapped(path: &Path) -> Result<Option<Format>, CaptureError> {
    // Looked at before opening: opening a FIFO would wait for its writer, and closing it
    // again would leave that writer a broken pipe.
    let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
    if path.as_os_str() == "-" || !regular {
        return Ok(None);
    }
    let Ok(file) = File::open(path) else {
        return Ok(None);
    };
    let len = match file.metadata() {
        Ok(m) if m.is_file() && m.len() >= MIN_MAPPED_BYTES => m.len(),
        _ => return Ok(None),
    };
    let Some(mut reader) = MappedReader::map(file, len) else {
        return Ok(None);
    };
    let data = reader.data();
    let magic4 = [data[0], data[1], data[2], data[3]];
    if magic4 == PCAPNG_SHB_MAGIC {
        // As pcap-parser's reader does: the first block must be a section header.
        parse_sectionheaderblock(data).map_err(|e| header_error(path, nom_error(e)))?;
        reader.set_records(Records::PcapNg { big_endian: false });
        return Ok(Some(Format::PcapNg {
            reader: Box::new(reader),
            ifaces: Vec::new(),
            big_endian: false,
        }));
    }
    if !is_pcap_magic(magic4) {
        return Err(CaptureError::BadMagic {
            path: path.to_path_buf(),
            magic: u32::from_be_bytes(magic4),
        });
    }
    let (_, header) = parse_pcap_header(data).map_err(|e| header_error(path, nom_error(e)))?;
    reader.set_records(Records::Pcap(if header.is_modified_format() {
        parse_pcap_frame_modified
    } else if header.is_bigendian() {
        parse_pcap_frame_be
    } else {
        parse_pcap_frame
    }));
    reader.consume_noshift(header.size());
    pcap_format(path, &header, Box::new(reader)).map(Some)
}

/// A nom error of a header parser as the reader would have returned it.
fn nom_error(e: nom::Err<PcapError<&[u8]>>) -> PcapError<&'static [u8]> {
    match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => e.to_owned_vec(),
        nom::Err::Incomplete(nom::Needed::Size(n)) => PcapError::Incomplete(n.get()),
        nom::Err::Incomplete(nom::Needed::Unknown) => PcapError::Incomplete(0),
    }
}

fn is_pcap_magic(magic4: [u8; 4]) -> bool {
    matches!(
        u32::from_le_bytes(magic4),
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0xa1b2_cd34
    )
}

/// The format the magic number names, with its reader.
pub(super) fn read_format(
    path: &Path,
    magic4: [u8; 4],
    input: Input,
    buffer_bytes: usize,
) -> Result<Format, CaptureError> {
    if magic4 == PCAPNG_SHB_MAGIC {
        let reader = PcapNGReader::new(buffer_bytes, input).map_err(|e| header_error(path, e))?;
        Ok(Format::PcapNg {
            reader: Box::new(reader),
            ifaces: Vec::new(),
            big_endian: false,
        })
    } else if is_pcap_magic(magic4) {
        read_pcap_header(path, input, buffer_bytes)
    } else {
        Err(CaptureError::BadMagic {
            path: path.to_path_buf(),
            magic: u32::from_be_bytes(magic4),
        })
    }
}

/// Reads a classic pcap's file header: link type, resolution, byte order.
fn read_pcap_header(
    path: &Path,
    input: Input,
    buffer_bytes: usize,
) -> Result<Format, CaptureError> {
    let mut reader =
        LegacyPcapReader::new(buffer_bytes, input).map_err(|e| header_error(path, e))?;
    let first = match reader.next() {
        Ok((len, PcapBlockOwned::LegacyHeader(h))) => Some((len, h)),
        _ => None,
    };
    let Some((len, header)) = first else {
        return Err(CaptureError::TruncatedHeader {
            path: path.to_path_buf(),
        });
    };
    reader.consume_noshift(len);
    pcap_format(path, &header, Box::new(reader))
}

/// A classic pcap's format from its file header: link type, resolution, byte order.
fn pcap_format(
    path: &Path,
    header: &PcapHeader,
    reader: Box<dyn RecordReader>,
) -> Result<Format, CaptureError> {
    let raw_link = header.network.0 as u32;
    // The upper bits of the pcap link-type field carry FCS information, not the type.
    let link =
        LinkType::from_linktype(raw_link & 0xffff).ok_or(CaptureError::UnsupportedLinkType {
            path: path.to_path_buf(),
            linktype: raw_link,
        })?;
    Ok(Format::Pcap {
        reader,
        link,
        nanos: header.is_nanosecond_precision(),
        big_endian: header.is_bigendian(),
        record_header: if header.is_modified_format() { 24 } else { 16 },
        snaplen: header.snaplen,
    })
}

/// Reads up to `limit` bytes, fewer only at end of file.
fn read_prefix(file: &mut InputFile, limit: usize) -> io::Result<Vec<u8>> {
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
