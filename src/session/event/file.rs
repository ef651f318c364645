//! A file as the session stage saw it end: its status, byte counts per leg, checksums
//! and digests, and where it was carved.

use super::*;

/// How a file ended on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileStatus {
    Complete,
    Skipped,
    Resumed,
    Truncated,
    UnknownStart,
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Complete => "complete",
            FileStatus::Skipped => "skipped",
            FileStatus::Resumed => "resumed",
            FileStatus::Truncated => "truncated",
            FileStatus::UnknownStart => "unknown_start",
        }
    }
}

/// Everything known about a file when it ends.
#[derive(Clone, Debug)]
pub struct FileEnd {
    pub name: String,
    pub components: Vec<String>,
    pub size: u64,
    /// Data bytes seen on the wire.
    pub bytes: u64,
    pub offset: u64,
    pub checksum_expected: Checksum,
    pub checksum_seen: Option<Checksum>,
    pub checksum_ok: Option<bool>,
    pub checksum_done: Option<Checksum>,
    /// A file picked up midstream: the OFT checksum of the file with every byte not seen
    /// taken as zero (the seen part's share of the whole checksum).
    pub checksum_partial: Option<Checksum>,
    pub status: FileStatus,
    pub first_data: Option<Timestamp>,
    pub last_data: Option<Timestamp>,
    /// Time the data was asked for (ACK / RESUME_ACK), the start of the transfer proper.
    pub requested: Option<Timestamp>,
    pub end: Timestamp,
    pub sha256: Option<Sha256Digest>,
    /// Set instead of `sha256` with `--hash md5`.
    pub md5: Option<Md5Digest>,
    /// Byte ranges `[start, end)` not seen.
    pub missing: Vec<[u64; 2]>,
    /// Of `bytes`, those that arrived after the connection was reset.
    pub bytes_after_reset: u64,
    /// What each leg carried: sent, delivered, acknowledged.
    pub legs: LegCounts,
}

/// A file's bytes as the sender put them on the wire (`sent`), as they reached the
/// receiver's side of the wire (`delivered`: the same connection for a direct transfer,
/// the proxy→receiver leg for a proxied one) and as the receiver acknowledged them
/// (`acked`: its cumulative TCP ACK past the first data byte, capped at the file's
/// bytes). None: that leg, or the start of the data on it, was not seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegCounts {
    pub sent: Option<u64>,
    pub delivered: Option<u64>,
    pub acked: Option<u64>,
}

impl LegCounts {
    /// Sums over files: a count unknown for one file counts as 0.
    pub fn add(&mut self, o: &LegCounts) {
        let add = |a: &mut Option<u64>, b: Option<u64>| {
            if let Some(b) = b {
                *a = Some(a.unwrap_or(0) + b);
            }
        };
        add(&mut self.sent, o.sent);
        add(&mut self.delivered, o.delivered);
        add(&mut self.acked, o.acked);
    }
}

impl FileEnd {
    /// When the data phase started: the receiver's ACK / RESUME_ACK that asked for the
    /// data, or the first data byte when that was not seen.
    pub fn data_start(&self) -> Option<Timestamp> {
        self.last_data?;
        self.requested.or(self.first_data)
    }

    /// When delivery ended: the DONE, or the last data byte when there was no DONE.
    pub fn delivery_end(&self) -> Option<Timestamp> {
        let last = self.last_data?;
        Some(if self.checksum_done.is_some() {
            self.end.max(last)
        } else {
            last
        })
    }

    /// From the start of the data phase to the end of delivery.
    pub fn duration_s(&self) -> f64 {
        match (self.data_start(), self.delivery_end()) {
            (Some(a), Some(b)) if b > a => b.secs_since(a),
            _ => 0.0,
        }
    }

    /// The wire burst: first to last data byte.
    pub fn wire_duration_s(&self) -> f64 {
        match (self.first_data, self.last_data) {
            (Some(a), Some(b)) if b > a => b.secs_since(a),
            _ => 0.0,
        }
    }

    /// Average rate in bits per second over the data phase (0 when it took no time).
    pub fn rate_bps(&self) -> f64 {
        let d = self.duration_s();
        if d > 0.0 {
            self.bytes as f64 * 8.0 / d
        } else {
            0.0
        }
    }
}

/// A file as a data connection saw it, with where it was carved and the two parties.
#[derive(Clone, Debug)]
pub struct FileSeen {
    pub end: FileEnd,
    pub path: Option<PathBuf>,
    /// Why `--extract` could not write the file (whole), when it could not.
    pub carve_error: Option<String>,
    pub sender: Option<Endpoint>,
    pub receiver: Option<Endpoint>,
}
