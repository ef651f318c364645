//! Recognising the container format from the first bytes of the input, and reading the
//! classic pcap file header.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;

use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::input::InputFile;
use super::{Format, Input};
use crate::capture::error::CaptureError;
use crate::capture::frame::{FrameNo, LinkType};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Bytes read up front to recognise the format: enough for any sane pcapng section header.
const PROBE_BYTES: usize = 64 << 10;

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

/// The format the magic number names, with its reader.
pub(super) fn read_format(
    path: &Path,
    magic4: [u8; 4],
    input: Input,
    buffer_bytes: usize,
) -> Result<Format, CaptureError> {
    let magic_le = u32::from_le_bytes(magic4);
    if magic4 == PCAPNG_SHB_MAGIC {
        let reader = PcapNGReader::new(buffer_bytes, input).map_err(|e| header_error(path, e))?;
        Ok(Format::PcapNg {
            reader,
            ifaces: Vec::new(),
            big_endian: false,
        })
    } else if matches!(
        magic_le,
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0xa1b2_cd34
    ) {
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
