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
    /// Leading bytes to swallow: a file reopened for append already has its header.
    skip: usize,
}

impl Write for RecordSink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let skipped = self.skip.min(b.len());
        self.skip -= skipped;
        self.staged.extend_from_slice(&b[skipped..]);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.staged.is_empty() {
            let r = self.file.write_all(&self.staged);
            self.staged.clear();
            r?;
        }
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
        let sink = RecordSink {
            file,
            staged: Vec::new(),
            skip,
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
        let n = self.w.bytes_written() - before;
        self.records += 1;
        self.staged_since_flush += n as usize;
        if self.staged_since_flush >= self.flush_bytes {
            self.flush()?;
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

    /// Bytes this writer produced, header included (the file size for a fresh file).
    pub fn bytes_written(&self) -> u64 {
        self.w.bytes_written()
    }

    pub fn records(&self) -> u64 {
        self.records
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
