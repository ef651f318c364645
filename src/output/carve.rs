//! `--extract DIR`: writes each transferred file as its bytes stream past.
//!
//! Bytes go straight to disk at their offset (`write_all_at`), so no file is ever held
//! in memory; a range that never arrives stays a hole, which reads back as zeros. The
//! file is written as `NAME.partial` from its first byte and only renamed to `NAME` when
//! it is known to be whole, so a half file never sits under the final name — not even
//! after a crash. It is created on the first byte (or at `finish`), so a file that is
//! skipped and `discard`ed leaves nothing behind.
//!
//! Safety inside DIR: names are cleaned by `carve_name`; directories are created one by
//! one and an existing entry is used only if it is a real directory (a symlink is never
//! followed: another name is picked); files are created with `O_EXCL|O_NOFOLLOW`; and the
//! directory a file landed in is checked against DIR once it is open, so a directory
//! swapped for a symlink in between is caught. Nothing is ever overwritten: a taken name
//! becomes `name (1).ext`, `name (2).ext`, ….

use super::carve_name::{numbered, safe_components};
use super::error::OutputError;
use super::record_file::ensure_writable_dir;
use crate::session::store::{FileStore, Stored, StoredFile};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Alternative names tried for a taken name before giving up.
const MAX_ALTERNATIVES: u32 = 1000;
/// Separate byte ranges tracked per file; past it the file is reported as partial.
const MAX_RANGES: usize = 65_536;
const PARTIAL_SUFFIX: &str = ".partial";

#[derive(Clone, Debug)]
pub struct Carver {
    root: PathBuf,
    canon_root: PathBuf,
    /// A file could not be written: no further file is started.
    failed: Arc<AtomicBool>,
}

impl Carver {
    /// Creates DIR if missing and checks it is writable, before capture starts.
    pub fn new(dir: &Path) -> Result<Carver, OutputError> {
        ensure_writable_dir(dir)?;
        let canon_root = dir.canonicalize().map_err(|e| OutputError::write(dir, e))?;
        Ok(Carver {
            root: dir.to_path_buf(),
            canon_root,
            failed: Arc::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// A file about to arrive. `components` is the OFT name split at its 0x01 separators;
    /// offsets given to `write_at` are file offsets, so a transfer resumed at
    /// `resume_offset` writes its bytes from there on.
    pub fn start_file(
        &self,
        components: &[String],
        announced_size: u64,
        resume_offset: u64,
    ) -> CarveFile {
        CarveFile {
            root: self.root.clone(),
            canon_root: self.canon_root.clone(),
            rel: safe_components(components),
            announced_size,
            resume_offset,
            open: None,
            covered: Coverage::default(),
            bytes_written: 0,
            excess_bytes: 0,
            gaps: 0,
            error: None,
            stopped: self.failed.load(Ordering::Relaxed),
            failed: self.failed.clone(),
        }
    }
}

impl FileStore for Carver {
    fn start_file(&self, components: &[String], size: u64, offset: u64) -> Box<dyn StoredFile> {
        Box::new(Carver::start_file(self, components, size, offset))
    }
    fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

/// The first failed write of the run says so once on stderr; carving stops there.
fn note_failure(failed: &AtomicBool, e: &OutputError) {
    if !failed.swap(true, Ordering::Relaxed) {
        eprintln!("oftsniff: error: --extract: {e}; no further file is carved");
    }
}

impl StoredFile for CarveFile {
    fn write_at(&mut self, offset: u64, bytes: &[u8]) {
        // The error is kept and reported again by `finish`.
        let _ = CarveFile::write_at(self, offset, bytes);
    }

    fn finish(self: Box<Self>, whole: bool) -> Stored {
        let stopped = self.stopped;
        let failed = self.failed.clone();
        match CarveFile::finish(*self, whole) {
            _ if stopped => Stored {
                error: Some("not carved: an earlier --extract write failed".into()),
                ..Stored::default()
            },
            Ok(r) => Stored {
                path: Some(r.path),
                missing: r.missing.iter().map(|&(a, b)| [a, b]).collect(),
                error: r.error.map(|e| e.to_string()),
            },
            Err(e) => {
                note_failure(&failed, &e);
                Stored {
                    error: Some(e.to_string()),
                    ..Stored::default()
                }
            }
        }
    }
}

/// Byte ranges written so far, merged: start → end (exclusive).
#[derive(Default, Debug)]
struct Coverage {
    ranges: BTreeMap<u64, u64>,
    overflow: bool,
}

impl Coverage {
    fn add(&mut self, mut start: u64, mut end: u64) {
        if start >= end {
            return;
        }
        let mut merged = Vec::new();
        if let Some((&s, &e)) = self.ranges.range(..=start).next_back() {
            if e >= start {
                merged.push(s);
                start = s;
                end = end.max(e);
            }
        }
        for (&s, &e) in self.ranges.range(start..) {
            if s > end {
                break;
            }
            if merged.last() != Some(&s) {
                merged.push(s);
            }
            end = end.max(e);
        }
        if merged.is_empty() && self.ranges.len() >= MAX_RANGES {
            // Bytes are on disk but no longer accounted; the file is reported partial.
            self.overflow = true;
            return;
        }
        for s in merged {
            self.ranges.remove(&s);
        }
        self.ranges.insert(start, end);
    }

    fn missing(&self, size: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = 0;
        for (&s, &e) in &self.ranges {
            if at >= size {
                break;
            }
            if s > at {
                out.push((at, s.min(size)));
            }
            at = at.max(e);
        }
        if at < size {
            out.push((at, size));
        }
        out
    }
}

struct Opened {
    file: File,
    dir: PathBuf,
    /// Final name (without `.partial`) reserved when the file was created.
    name: String,
    /// Directories this file created, outermost first (removed again on discard if empty).
    made_dirs: Vec<PathBuf>,
}

impl Opened {
    fn partial_path(&self) -> PathBuf {
        self.dir.join(format!("{}{}", self.name, PARTIAL_SUFFIX))
    }
}

pub struct CarveFile {
    root: PathBuf,
    canon_root: PathBuf,
    rel: Vec<String>,
    announced_size: u64,
    resume_offset: u64,
    open: Option<Opened>,
    covered: Coverage,
    bytes_written: u64,
    excess_bytes: u64,
    gaps: u64,
    error: Option<OutputError>,
    /// Started after carving stopped: takes nothing, creates nothing.
    stopped: bool,
    failed: Arc<AtomicBool>,
}

/// Where a carved file went and how whole it is.
#[derive(Debug)]
pub struct CarveResult {
    pub path: PathBuf,
    /// Byte ranges `[start, end)` of the announced size that never arrived (zeros on
    /// disk inside the file; a missing tail is not materialized).
    pub missing: Vec<(u64, u64)>,
    /// The file did not arrive whole; it is named `….partial`.
    pub partial: bool,
    pub bytes_written: u64,
    /// Bytes sent past the announced size; not written.
    pub excess_bytes: u64,
    pub resumed_from: u64,
    /// Gaps the stream reported through `hole`.
    pub gaps: u64,
    /// A write error after which the rest of the file was not written.
    pub error: Option<OutputError>,
}

impl CarveFile {
    /// The cleaned relative path this file will get (before any ` (n)` suffix).
    pub fn relative_path(&self) -> PathBuf {
        self.rel.iter().collect()
    }

    /// Writes `bytes` at file offset `offset`. Bytes past the announced size are dropped
    /// and counted. After a write error the file takes no more bytes; the error is
    /// returned once and reported again by `finish`.
    pub fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), OutputError> {
        if self.error.is_some() || self.stopped || bytes.is_empty() {
            return Ok(());
        }
        let end = offset.saturating_add(bytes.len() as u64);
        let keep_end = end.min(self.announced_size);
        self.excess_bytes += end - keep_end.max(offset);
        if keep_end <= offset {
            return Ok(());
        }
        let data = &bytes[..(keep_end - offset) as usize];
        let r = self.opened().and_then(|o| {
            o.file
                .write_all_at(data, offset)
                .map_err(|e| OutputError::write(&o.partial_path(), e))
        });
        match r {
            Ok(()) => {
                self.covered.add(offset, keep_end);
                self.bytes_written += data.len() as u64;
                Ok(())
            }
            Err(e) => {
                note_failure(&self.failed, &e);
                self.error = Some(clone_error(&e));
                Err(e)
            }
        }
    }

    /// Records that `[offset, offset+len)` will not arrive (a gap in the stream). The
    /// range stays a hole on disk and is reported missing unless written later.
    pub fn hole(&mut self, offset: u64, len: u64) {
        // Unwritten ranges are missing by construction; the hole itself is only counted.
        if len > 0 && offset < self.announced_size {
            self.gaps += 1;
        }
    }

    /// Abandons the file: whatever was created for it is removed again.
    pub fn discard(mut self) {
        if let Some(o) = self.open.take() {
            let _ = std::fs::remove_file(o.partial_path());
            for d in o.made_dirs.iter().rev() {
                // Only empty directories go; another file may have used one meanwhile.
                let _ = std::fs::remove_dir(d);
            }
        }
    }

    /// Closes the file. `complete` says the transfer ended normally (DONE received); the
    /// file gets its final name only then and if every announced byte was written.
    pub fn finish(mut self, complete: bool) -> Result<CarveResult, OutputError> {
        if self.stopped {
            return Err(OutputError::WriterGone);
        }
        self.opened()?;
        let o = self.open.take().ok_or(OutputError::WriterGone)?;
        let missing = self.covered.missing(self.announced_size);
        let partial =
            !complete || !missing.is_empty() || self.covered.overflow || self.error.is_some();
        let path = if partial {
            o.partial_path()
        } else {
            promote(&o)?
        };
        Ok(CarveResult {
            path,
            missing,
            partial,
            bytes_written: self.bytes_written,
            excess_bytes: self.excess_bytes,
            resumed_from: self.resume_offset,
            gaps: self.gaps,
            error: self.error,
        })
    }

    fn opened(&mut self) -> Result<&mut Opened, OutputError> {
        if self.open.is_none() {
            self.open = Some(self.create()?);
        }
        self.open.as_mut().ok_or(OutputError::WriterGone)
    }

    fn create(&self) -> Result<Opened, OutputError> {
        let (dirs, file_name) = self.rel.split_at(self.rel.len() - 1);
        let mut made_dirs = Vec::new();
        let mut dir = self.root.clone();
        let mut expected = self.canon_root.clone();
        for comp in dirs {
            let (next, name, made) = enter_dir(&dir, comp)?;
            if made {
                made_dirs.push(next.clone());
            }
            expected.push(name);
            dir = next;
        }
        let (file, name) = create_partial(&dir, &file_name[0])?;
        let opened = Opened {
            file,
            dir,
            name,
            made_dirs,
        };
        // A directory swapped for a symlink after it was checked would show up here.
        let real = opened
            .dir
            .canonicalize()
            .map_err(|e| OutputError::write(&opened.dir, e))?;
        if real != expected {
            let p = opened.partial_path();
            let _ = std::fs::remove_file(&p);
            return Err(OutputError::write(
                &p,
                io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "path leaves the extract directory",
                ),
            ));
        }
        Ok(opened)
    }
}

/// io::Error is not Clone; keep its kind and text for the report.
fn clone_error(e: &OutputError) -> OutputError {
    match e {
        OutputError::Write { path, source } => OutputError::Write {
            path: path.clone(),
            source: io::Error::new(source.kind(), source.to_string()),
        },
        OutputError::NotADirectory { path } => OutputError::NotADirectory { path: path.clone() },
        OutputError::Config(s) => OutputError::Config(s.clone()),
        OutputError::WriterGone => OutputError::WriterGone,
    }
}

/// Steps into `comp` under `parent`, creating it if needed; an entry that is not a real
/// directory (a file, a symlink to anywhere) is passed over for `comp (1)`, ….
/// Returns the path, the name used, and whether it was created here.
fn enter_dir(parent: &Path, comp: &str) -> Result<(PathBuf, String, bool), OutputError> {
    for n in 0..MAX_ALTERNATIVES {
        let name = if n == 0 {
            comp.to_string()
        } else {
            numbered(comp, n)
        };
        let p = parent.join(&name);
        match std::fs::symlink_metadata(&p) {
            Ok(md) if md.file_type().is_dir() => return Ok((p, name, false)),
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => match std::fs::create_dir(&p) {
                Ok(()) => return Ok((p, name, true)),
                // Someone made it in between: look at what it is on the next round.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(OutputError::write(&p, e)),
            },
            Err(e) => return Err(OutputError::write(&p, e)),
        }
    }
    Err(taken(&parent.join(comp)))
}

fn taken(p: &Path) -> OutputError {
    OutputError::write(
        p,
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            "too many files with this name",
        ),
    )
}

/// Reserves a final name that is free and creates `name.partial` for it.
fn create_partial(dir: &Path, base: &str) -> Result<(File, String), OutputError> {
    for n in 0..MAX_ALTERNATIVES {
        let name = if n == 0 {
            base.to_string()
        } else {
            numbered(base, n)
        };
        if std::fs::symlink_metadata(dir.join(&name)).is_ok() {
            continue;
        }
        let partial = dir.join(format!("{name}{PARTIAL_SUFFIX}"));
        let r = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&partial);
        match r {
            Ok(f) => return Ok((f, name)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(OutputError::write(&partial, e)),
        }
    }
    Err(taken(&dir.join(base)))
}

/// Gives a whole file its final name without ever replacing an existing entry: a hard
/// link fails if the name exists (even as a symlink), unlike rename.
fn promote(o: &Opened) -> Result<PathBuf, OutputError> {
    let from = o.partial_path();
    for n in 0..MAX_ALTERNATIVES {
        let name = if n == 0 {
            o.name.clone()
        } else {
            numbered(&o.name, n)
        };
        let to = o.dir.join(&name);
        match std::fs::hard_link(&from, &to) {
            Ok(()) => {
                std::fs::remove_file(&from).map_err(|e| OutputError::write(&from, e))?;
                return Ok(to);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // No hard links on this filesystem: rename, after checking the name is free.
            Err(_) if std::fs::symlink_metadata(&to).is_err() => {
                std::fs::rename(&from, &to).map_err(|e| OutputError::write(&to, e))?;
                return Ok(to);
            }
            Err(_) => continue,
        }
    }
    Err(taken(&o.dir.join(&o.name)))
}

#[cfg(test)]
mod tests;
