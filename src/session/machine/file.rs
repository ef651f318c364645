//! A file from its PROMPT to its DONE: what was asked for, what crossed the wire, and
//! how it ended.

use super::{DataMachine, MachineSink};
use crate::capture::Timestamp;
use crate::flow::Direction;
use crate::proto::checksum::{checksums_match, OftChecksum};
use crate::proto::OftHeader;
use crate::session::digest::{Digests, FileHasher, HashAlg};
use crate::session::event::{Checksum, FileEnd, FileStatus, LegCounts, Sha256Digest};

/// The digest of a file's bytes on the wire: hashed as they pass, or already worked out
/// when bytes seen before the file was named were placed in it (None: not knowable).
pub(super) enum FileHash {
    Running(FileHasher),
    Placed(Option<Sha256Digest>),
}

/// A file from its PROMPT to its DONE.
pub(super) struct FileProgress {
    pub(super) prompt: OftHeader,
    /// The file's size: the PROMPT's 32 bits, plus 4 GiB for each time the sender's data
    /// went on past them (a larger file's header holds only its low 32 bits).
    pub(super) size: u64,
    pub(super) name: String,
    /// Bytes requested: ACK or RESUME_ACK seen.
    pub(super) requested: Option<Timestamp>,
    pub(super) offset: u64,
    /// Next absolute file offset expected on the wire.
    pub(super) next: u64,
    pub(super) bytes: u64,
    pub(super) checksum: Option<OftChecksum>,
    pub(super) sha: FileHash,
    pub(super) first_data: Option<Timestamp>,
    pub(super) last_data: Option<Timestamp>,
    pub(super) missing: Vec<[u64; 2]>,
    pub(super) resume: Option<(u64, u32)>,
    pub(super) agreed: Option<u64>,
    pub(super) unknown_start: bool,
    pub(super) last_progress: Timestamp,
    pub(super) progress_bytes: u64,
    /// File bytes that crossed the wire after the connection was reset (in flight).
    pub(super) after_reset: u64,
    /// The first data byte: its direction, its stream offset and its file offset.
    pub(super) data_pos: Option<(Direction, u64, u64)>,
    /// Picked up midstream: the OFT checksum of the bytes seen, the rest taken as zeros.
    pub(super) checksum_partial: Option<u32>,
}

impl DataMachine {
    pub(super) fn end_file(
        &mut self,
        mut status: FileStatus,
        done_csum: Option<u32>,
        ts: Timestamp,
        sink: &mut dyn MachineSink,
    ) {
        let Some(f) = self.file.take() else { return };
        let size = f.size;
        let whole = f.requested.is_some() && f.next >= size && f.missing.is_empty();
        if status == FileStatus::Complete {
            if !whole {
                status = FileStatus::Truncated;
            } else if f.offset > 0 {
                status = FileStatus::Resumed;
            }
        }
        // Resumed from an offset whose prefix checksum we hold: the value covers the file.
        let covers_file = f.offset == 0 || f.resume.is_some_and(|(o, _)| o == f.offset);
        let checksum_seen = f
            .checksum
            .filter(|_| f.requested.is_some())
            .map(|c| c.value());
        let checksum_ok = match checksum_seen {
            Some(seen) if whole && covers_file => Some(checksums_match(seen, f.prompt.checksum)),
            _ => None,
        };
        let mut missing = f.missing.clone();
        if f.requested.is_some() && f.next < size && status != FileStatus::Skipped {
            missing.push([f.next, size]);
        }
        // A resumed file's prefix never crossed this wire (the receiver already held it):
        // it is missing from what was seen, whether or not the RESUME was seen.
        if f.offset > 0 {
            missing.insert(0, [0, f.offset]);
        }
        let acked = self.acked_of(&f, size);
        let digests = match f.sha {
            _ if status == FileStatus::Skipped => Digests::default(),
            FileHash::Running(h) => h.finish(),
            FileHash::Placed(sha256) => Digests { sha256, md5: None },
        };
        let end = FileEnd {
            name: f.name.clone(),
            components: f.prompt.name.components(),
            size,
            bytes: f.bytes,
            offset: f.offset,
            checksum_expected: Checksum(f.prompt.checksum),
            checksum_seen: checksum_seen.map(Checksum),
            checksum_ok,
            checksum_done: done_csum.map(Checksum),
            checksum_partial: f.checksum_partial.map(Checksum),
            status,
            first_data: f.first_data,
            last_data: f.last_data,
            requested: f.requested,
            end: ts,
            sha256: digests.sha256,
            md5: digests.md5,
            missing,
            bytes_after_reset: f.after_reset,
            // One connection: what it carried was sent and delivered; the correlator
            // puts the receiver's leg's counts in for a proxied transfer.
            legs: LegCounts {
                sent: Some(f.bytes),
                delivered: Some(f.bytes),
                acked,
            },
        };
        sink.file_end(end);
        self.files_done += 1;
    }
}

impl DataMachine {
    /// The receiver's cumulative ACK past the file's first data byte, capped at the
    /// file bytes that could follow it; None when the data's start or no ACK was seen
    /// (0 when no byte crossed the wire).
    fn acked_of(&self, f: &FileProgress, size: u64) -> Option<u64> {
        let Some((dir, pos, at)) = f.data_pos else {
            // No data was due (a skipped file): none to acknowledge.
            return (f.bytes == 0 && !f.unknown_start).then_some(0);
        };
        let acked = self.acked_to[dir.index()]?;
        Some(acked.saturating_sub(pos).min(size.saturating_sub(at)))
    }
}

impl FileProgress {
    /// A file from its PROMPT, or (`unknown_start`) from a later header when the
    /// connection was picked up midstream.
    pub(super) fn new(
        h: OftHeader,
        ts: Timestamp,
        unknown_start: bool,
        hash: HashAlg,
    ) -> FileProgress {
        FileProgress {
            name: h.name.display(),
            size: u64::from(h.size),
            prompt: h,
            requested: None,
            offset: 0,
            next: 0,
            bytes: 0,
            checksum: None,
            sha: FileHash::Running(FileHasher::new(hash)),
            first_data: None,
            last_data: None,
            missing: Vec::new(),
            resume: None,
            agreed: None,
            unknown_start,
            last_progress: ts,
            progress_bytes: 0,
            after_reset: 0,
            data_pos: None,
            checksum_partial: None,
        }
    }

    pub(super) fn unknown(h: &OftHeader, ts: Timestamp, hash: HashAlg) -> FileProgress {
        FileProgress::new(h.clone(), ts, true, hash)
    }
}
