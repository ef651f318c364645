//! What a parser error means for the read: the end of the file, a request for more bytes,
//! a truncated tail to warn about, or a fatal error.

use std::io;

use pcap_parser::PcapError;

use super::header::{PCAPNG_BOM_LE, PCAPNG_SHB_MAGIC};
use super::pcapng::NgProblem;
use super::{Format, OfflineSource, Step, MAX_RECORD_BYTES};
use crate::capture::error::{CaptureError, CaptureWarning};
use crate::capture::frame::Batch;

impl OfflineSource {
    /// The file shrank under its mapping: the record just parsed (and any after it) may be
    /// zeros, so it is dropped, and the file ends here with a warning.
    pub(super) fn changed_while_read(&mut self, step: Step, batch: &mut Batch) -> Step {
        if let Step::Frame = step {
            batch.pop();
        }
        self.warnings.push(CaptureWarning::ChangedWhileRead {
            path: self.path.clone(),
            frame: self.next_frame_no(),
            offset: self.offset(),
        });
        Step::End
    }

    pub(super) fn ng_error(&self, reason: NgProblem) -> CaptureError {
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
    pub(super) fn reader_error(
        &mut self,
        e: PcapError<&'static [u8]>,
    ) -> Result<Step, CaptureError> {
        let data_len = self.reader().data().len() as u64;
        let exhausted = self.reader().reader_exhausted();
        match e {
            PcapError::Eof => Ok(Step::End),
            PcapError::Incomplete(_) | PcapError::BufferTooSmall | PcapError::UnexpectedEof => {
                if let Some(len) = self.whole_ng_block_to_skip() {
                    // The parser wanted more of a block that is all there (an empty Name
                    // Resolution Block, a block type it does not know): skip it by its
                    // length, as the format says; only a block running past the end of
                    // the file is a truncated tail.
                    if let Format::PcapNg { reader, .. } = &mut self.format {
                        reader.consume_noshift(len);
                    }
                    return Ok(Step::Skip);
                }
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
                    if data_len == 0 || self.cut_by_stop() {
                        // Stopped while a pipe's writer was mid-record: not a damaged
                        // capture, a run ended by request.
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
                if matches!(e, PcapError::BufferTooSmall) && !self.grow_buffer() {
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

    /// The length of the pcapng block at the read position when it is whole in the buffer
    /// (both length fields agree, a multiple of 4 of at least 12 bytes) and of a type that
    /// carries no packet or interface: such a block can always be skipped. Sections,
    /// interfaces and packets are never skipped: a malformed one stays an error.
    fn whole_ng_block_to_skip(&self) -> Option<usize> {
        let Format::PcapNg { big_endian, .. } = &self.format else {
            return None;
        };
        let data = self.reader().data();
        let btype = read_u32(data.get(0..4)?, *big_endian);
        // Section header, interface description, obsolete packet, simple and enhanced
        // packet blocks.
        if data.get(0..4)? == PCAPNG_SHB_MAGIC || matches!(btype, 1 | 2 | 3 | 6) {
            return None;
        }
        let len = read_u32(data.get(4..8)?, *big_endian) as usize;
        if len < 12 || !len.is_multiple_of(4) {
            return None;
        }
        let trailer = read_u32(data.get(len - 4..len)?, *big_endian) as usize;
        (trailer == len).then_some(len)
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

pub(super) enum Problem {
    Reader(PcapError<&'static [u8]>),
    Ng(NgProblem),
}

fn read_u32(b: &[u8], big_endian: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}
