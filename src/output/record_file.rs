//! A pcap file on disk that only ever receives whole records.
//!
//! Records are staged in memory and handed to the kernel in one `write_all` per flush,
//! and flushes happen only between records, so whatever stops the process (a signal
//! handled by the main loop, or even `kill -9` between two flushes) leaves a file that
//! ends on a record boundary. The header is flushed at creation: an output that never
//! sees a frame is still a valid, empty pcap.

use super::error::OutputError;
use super::pcapfile::PcapFileWriter;
use crate::capture::{Frame, LinkType};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Staged bytes past which a file is flushed even before the periodic flush (default;
/// see `set_flush_bytes`).
pub const FLUSH_BYTES: usize = 1 << 20;

/// Length of the pcap global header, which `PcapFileWriter::new` always emits.
const GLOBAL_HEADER_LEN: usize = 24;

/// The `Write` end under `PcapFileWriter`: collects bytes until `flush`.
struct RecordSink {
    file: File,
    staged: Vec<u8>,
    /// Where each staged record ends in `staged`.
    bounds: Vec<usize>,
    /// Leading bytes to swallow: a file reopened for append already has its header.
    skip: usize,
    /// Length of the file: whole records only, also after a failed write.
    on_disk: u64,
    /// Staged records and bytes a failed write lost.
    lost_records: u64,
    lost_bytes: u64,
}

impl Write for RecordSink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let skipped = self.skip.min(b.len());
        self.skip -= skipped;
        self.staged.extend_from_slice(&b[skipped..]);
        Ok(b.len())
    }

    /// Writes every staged byte. On a short write (a full disk) the file is cut back to
    /// its last whole record, so it stays a valid pcap that ends on a record boundary,
    /// and the records that did not make it are counted as lost.
    fn flush(&mut self) -> io::Result<()> {
        let mut done = 0;
        let mut failed = None;
        while done < self.staged.len() {
            match self.file.write(&self.staged[done..]) {
                Ok(0) => {
                    failed = Some(io::Error::from(io::ErrorKind::WriteZero));
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let keep = match failed {
            None => done,
            Some(_) => self
                .bounds
                .iter()
                .rev()
                .find(|&&b| b <= done)
                .copied()
                .unwrap_or(0),
        };
        let kept_records = self.bounds.iter().filter(|&&b| b <= keep).count();
        let lost_records = (self.bounds.len() - kept_records) as u64;
        let lost_bytes = (self.staged.len() - keep) as u64;
        self.staged.clear();
        self.bounds.clear();
        if let Some(e) = failed {
            if keep < done {
                // Best effort: the error that stops this output is the write's.
                let _ = self.file.set_len(self.on_disk + keep as u64);
            }
            self.on_disk += keep as u64;
            self.lost_records += lost_records;
            self.lost_bytes += lost_bytes;
            return Err(e);
        }
        self.on_disk += done as u64;
        Ok(())
    }
}

/// How to open the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Create or truncate, following the user's path as given (`-w`, as tcpdump does).
    Truncate,
    /// Create a file that must not exist yet; a symlink in its place is refused.
    CreateNew,
}

pub struct PcapFile {
    w: PcapFileWriter<RecordSink>,
    path: PathBuf,
    link: LinkType,
    staged_since_flush: usize,
    flush_bytes: usize,
    records: u64,
    /// Device and inode of the open file, to tell whether `path` still names it.
    id: (u64, u64),
}

impl PcapFile {
    pub fn create(path: &Path, link: LinkType, mode: OpenMode) -> Result<PcapFile, OutputError> {
        let mut oo = OpenOptions::new();
        oo.write(true);
        match mode {
            OpenMode::Truncate => {
                oo.create(true).truncate(true);
            }
            OpenMode::CreateNew => {
                oo.create_new(true).custom_flags(libc::O_NOFOLLOW);
            }
        }
        let file = oo.open(path).map_err(|e| OutputError::write(path, e))?;
        Self::start(file, path, link, 0)
    }

    /// Reopens a file this process created and closed earlier, to append more records.
    pub fn reopen(path: &Path, link: LinkType) -> Result<PcapFile, OutputError> {
        let file = OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| OutputError::write(path, e))?;
        Self::start(file, path, link, GLOBAL_HEADER_LEN)
    }

    fn start(
        file: File,
        path: &Path,
        link: LinkType,
        skip: usize,
    ) -> Result<PcapFile, OutputError> {
        let id = file
            .metadata()
            .map(|m| (m.dev(), m.ino()))
            .map_err(|e| OutputError::write(path, e))?;
        let on_disk = if skip > 0 {
            file.metadata()
                .map_err(|e| OutputError::write(path, e))?
                .len()
        } else {
            0
        };
        let sink = RecordSink {
            file,
            staged: Vec::new(),
            bounds: Vec::new(),
            skip,
            on_disk,
            lost_records: 0,
            lost_bytes: 0,
        };
        let err = |e| OutputError::write(path, e);
        let mut w = PcapFileWriter::new(sink, link).map_err(err)?;
        w.flush().map_err(err)?;
        Ok(PcapFile {
            w,
            path: path.to_path_buf(),
            link,
            staged_since_flush: 0,
            flush_bytes: FLUSH_BYTES,
            records: 0,
            id,
        })
    }

    /// Appends one record; may flush, but only after the record is complete.
    pub fn write_frame(&mut self, f: &Frame) -> io::Result<u64> {
        let before = self.w.bytes_written();
        self.w.write_frame(f)?;
        let sink = self.w.get_mut();
        sink.bounds.push(sink.staged.len());
        let n = self.w.bytes_written() - before;
        self.records += 1;
        self.staged_since_flush += n as usize;
        if self.staged_since_flush >= self.flush_bytes {
            if let Err(e) = self.flush() {
                // This record was lost with the others; the caller counts it as the
                // frame that failed.
                self.w.get_mut().lost_records -= 1;
                return Err(e);
            }
        }
        Ok(n)
    }

    /// Smaller for the many per-transfer files, so their staging memory stays small.
    pub fn set_flush_bytes(&mut self, n: usize) {
        self.flush_bytes = n.max(1);
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.staged_since_flush = 0;
        self.w.flush()
    }

    pub fn is_dirty(&self) -> bool {
        self.staged_since_flush > 0
    }

    /// Flushes every staged record; the file is complete afterwards. No fsync: like
    /// tcpdump, completeness after any ordinary stop is what matters, and waiting for
    /// the disk at exit cost a third of a large run's time (writeback continues anyway).
    pub fn close(mut self) -> io::Result<()> {
        self.flush()?;
        let _file = self.w.into_inner();
        Ok(())
    }

    /// Bytes this writer produced, header included (the file size for a fresh file),
    /// less those a failed write lost.
    pub fn bytes_written(&self) -> u64 {
        self.w.bytes_written() - self.w.get_ref().lost_bytes
    }

    /// Records written, less those a failed write lost.
    pub fn records(&self) -> u64 {
        self.records - self.w.get_ref().lost_records
    }

    /// Records taken earlier (and counted by the caller) that a failed write lost,
    /// beyond the one whose `write_frame` failed.
    pub fn lost_records(&self) -> u64 {
        self.w.get_ref().lost_records
    }

    /// Whether the path still names this file (not renamed or removed since it was
    /// opened, as logrotate does before `SIGHUP`).
    pub fn still_at_path(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.id)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn link(&self) -> LinkType {
        self.link
    }
}

/// Creates `dir` (and its parents) if missing and proves it is a writable directory by
/// creating and removing a probe file, so a bad output directory fails before capture.
pub fn ensure_writable_dir(dir: &Path) -> Result<(), OutputError> {
    // A file in the way would otherwise be reported as "File exists".
    if std::fs::metadata(dir).is_ok_and(|m| !m.is_dir()) {
        return Err(OutputError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    // The directory itself is created, not its parents: a missing parent is refused, as
    // `-w` and `--json` refuse a file in one (tcpdump -w does the same).
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(OutputError::write(dir, e)),
    }
    let md = std::fs::metadata(dir).map_err(|e| OutputError::write(dir, e))?;
    if !md.is_dir() {
        return Err(OutputError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let probe = dir.join(format!(".oftsniff-probe-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&probe)
        .map_err(|e| OutputError::write(dir, e))?;
    std::fs::remove_file(&probe).map_err(|e| OutputError::write(dir, e))?;
    Ok(())
}

#[cfg(test)]
mod tests;
