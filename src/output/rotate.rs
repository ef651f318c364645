//! `-w FILE` with tcpdump's `-C`/`-W` rotation.
//!
//! Naming follows tcpdump 4.99 (checked against its behaviour): without `-W` the files are
//! `FILE`, `FILE1`, `FILE2`, …; with `-W N` every file carries a number, zero-padded to
//! the width of `N-1` (`-W 3`: `FILE0`, `FILE1`, `FILE2`; `-W 11`: `FILE00` … `FILE10`),
//! and after `N` files the numbering wraps and the oldest file is overwritten. Like tcpdump,
//! a new file is started before writing a record once the current one is *larger* than
//! the limit, so a file overshoots the limit by at most one record. Every file starts with
//! its own pcap header.

use super::error::OutputError;
use super::record_file::{OpenMode, PcapFile};
use crate::capture::{Frame, LinkType};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// `-C`/`-W` as given by the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// `-C`: size in bytes (the option counts millions of bytes).
    pub max_bytes: u64,
    /// `-W`: ring size; `None` means files keep counting up.
    pub ring: Option<u32>,
}

impl Rotation {
    /// From the command-line values; `-W` without `-C` and zero values are refused.
    pub fn from_flags(
        rotate_mb: Option<u64>,
        rotate_files: Option<u32>,
    ) -> Result<Option<Rotation>, OutputError> {
        match (rotate_mb, rotate_files) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(OutputError::Config("-W needs -C (file size)".into())),
            (Some(0), _) => Err(OutputError::Config("-C must be at least 1".into())),
            (Some(_), Some(0)) => Err(OutputError::Config("-W must be at least 1".into())),
            (Some(mb), ring) => Ok(Some(Rotation {
                max_bytes: mb.saturating_mul(1_000_000),
                ring,
            })),
        }
    }
}

/// Digits needed for the largest ring index, as tcpdump pads it.
fn ring_width(ring: Option<u32>) -> usize {
    match ring {
        None => 0,
        Some(n) => {
            let mut x = n.saturating_sub(1);
            let mut w = 0;
            while x > 0 {
                w += 1;
                x /= 10;
            }
            w
        }
    }
}

/// Name of file number `index` of a rotated `-w base`.
pub fn rotated_name(base: &Path, index: u32, ring: Option<u32>) -> PathBuf {
    let width = ring_width(ring);
    if index == 0 && width == 0 {
        return base.to_path_buf();
    }
    let mut s: OsString = base.as_os_str().to_owned();
    s.push(format!("{:0width$}", index, width = width));
    PathBuf::from(s)
}

pub struct RotatingPcap {
    base: PathBuf,
    rotation: Option<Rotation>,
    link: LinkType,
    index: u32,
    current: Option<PcapFile>,
    files_opened: u64,
    /// Bytes of files already closed.
    closed_bytes: u64,
}

impl RotatingPcap {
    /// Creates the first file now, so an unwritable path fails before capture starts.
    pub fn open(
        base: &Path,
        link: LinkType,
        rotation: Option<Rotation>,
    ) -> Result<RotatingPcap, OutputError> {
        let first = rotated_name(base, 0, rotation.and_then(|r| r.ring));
        let current = PcapFile::create(&first, link, OpenMode::Truncate)?;
        Ok(RotatingPcap {
            base: base.to_path_buf(),
            rotation,
            link,
            index: 0,
            current: Some(current),
            files_opened: 1,
            closed_bytes: 0,
        })
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    pub fn write_frame(&mut self, f: &Frame) -> Result<u64, OutputError> {
        if let (Some(rot), Some(cur)) = (self.rotation, self.current.as_ref()) {
            if cur.bytes_written() > rot.max_bytes {
                self.rotate(rot)?;
            }
        }
        let cur = self.current.as_mut().ok_or(OutputError::WriterGone)?;
        cur.write_frame(f)
            .map_err(|e| OutputError::write(cur.path(), e))
    }

    fn rotate(&mut self, rot: Rotation) -> Result<(), OutputError> {
        if let Some(cur) = self.current.take() {
            self.closed_bytes += cur.bytes_written();
            let p = cur.path().to_path_buf();
            cur.close().map_err(|e| OutputError::write(&p, e))?;
        }
        self.index = match rot.ring {
            Some(n) => (self.index + 1) % n,
            None => self.index.saturating_add(1),
        };
        let name = rotated_name(&self.base, self.index, rot.ring);
        self.current = Some(PcapFile::create(&name, self.link, OpenMode::Truncate)?);
        self.files_opened += 1;
        Ok(())
    }

    /// `SIGHUP`: when the current file was renamed or removed (logrotate), closes it and
    /// starts a new one, with its own header, at its path. Returns whether it did.
    pub fn reopen(&mut self) -> Result<bool, OutputError> {
        let Some(cur) = self.current.as_ref() else {
            return Ok(false);
        };
        if cur.still_at_path() {
            return Ok(false);
        }
        let name = cur.path().to_path_buf();
        if let Some(cur) = self.current.take() {
            self.closed_bytes += cur.bytes_written();
            cur.close().map_err(|e| OutputError::write(&name, e))?;
        }
        self.current = Some(PcapFile::create(&name, self.link, OpenMode::Truncate)?);
        self.files_opened += 1;
        Ok(true)
    }

    pub fn flush(&mut self) -> Result<(), OutputError> {
        match self.current.as_mut() {
            Some(c) if c.is_dirty() => c.flush().map_err(|e| OutputError::write(c.path(), e)),
            _ => Ok(()),
        }
    }

    /// Flushes and syncs the open file.
    pub fn close(mut self) -> Result<(), OutputError> {
        match self.current.take() {
            Some(c) => {
                let p = c.path().to_path_buf();
                c.close().map_err(|e| OutputError::write(&p, e))
            }
            None => Ok(()),
        }
    }

    /// Records of the open file that a failed write lost (see `PcapFile::lost_records`).
    pub fn lost_records(&self) -> u64 {
        self.current.as_ref().map_or(0, |c| c.lost_records())
    }

    pub fn files_opened(&self) -> u64 {
        self.files_opened
    }

    /// Bytes written to all files so far, headers included.
    pub fn bytes_written(&self) -> u64 {
        self.closed_bytes + self.current.as_ref().map_or(0, |c| c.bytes_written())
    }
}

#[cfg(test)]
mod tests;
