//! Several capture files (`-r` given more than once, or a directory) read as one
//! capture: a sensor's rotated files, in timestamp order. Files are ordered by their
//! first frame's time and opened only when the merge reaches that time, so files that
//! follow one another are read one at a time (one read buffer), and only files whose
//! times overlap are open together and merged frame by frame. Frames are numbered
//! across the whole set. A file that cannot be opened, or turns out corrupt part way,
//! is reported in one line and skipped (its frames before the damage are kept); the
//! run goes on with the others.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use super::OfflineSource;
use crate::capture::error::CaptureError;
use crate::capture::filter::FilterExpr;
use crate::capture::frame::{Batch, Frame, FrameNo, LinkType, Timestamp};

/// Frames taken from one file at a time while it is being merged.
const HEAD_FRAMES: usize = 256;

/// A file not opened yet, and the time its first frame carries.
struct Pending {
    path: PathBuf,
    first: Timestamp,
}

/// An open file and its frames read but not yet handed out (never empty while open).
struct Head {
    src: OfflineSource,
    frames: VecDeque<Frame>,
}

/// The files of one run, merged.
pub struct OfflineSet {
    pending: VecDeque<Pending>,
    open: Vec<Head>,
    filter: Option<FilterExpr>,
    /// `-s`: frames are cut to this many bytes.
    cut_to: Option<u32>,
    next_no: u64,
    /// One line per file skipped, and per warning of a file read.
    notes: Vec<String>,
    files_skipped: u64,
    /// Frames the filter left out in files already closed.
    filtered_closed: u64,
    link: LinkType,
    file_snaplen: Option<u32>,
}

/// The files `paths` name: each file itself, each directory's regular files (not its
/// subdirectories), by name.
pub fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut notes = Vec::new();
    for p in paths {
        if !p.is_dir() {
            files.push(p.clone());
            continue;
        }
        match std::fs::read_dir(p) {
            Ok(rd) => {
                let mut inside: Vec<PathBuf> = rd
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.is_file())
                    .collect();
                inside.sort();
                files.extend(inside);
            }
            Err(e) => notes.push(format!("{}: cannot list: {e}", p.display())),
        }
    }
    (files, notes)
}

impl OfflineSet {
    /// Probes every file for its first frame's time (and drops it again); files that
    /// cannot be read are noted and left out. Fails only when no file is left.
    pub fn open(
        paths: &[PathBuf],
        filter: Option<&FilterExpr>,
        snaplen: u32,
    ) -> Result<OfflineSet, CaptureError> {
        let (files, mut notes) = expand(paths);
        if files.is_empty() {
            let path = paths.first().cloned().unwrap_or_default();
            return Err(CaptureError::NoFiles { path });
        }
        let mut files_skipped = notes.len() as u64;
        let mut pending = Vec::new();
        let mut first_err = None;
        let mut link = None;
        for path in files {
            match probe(&path) {
                Ok(Some((first, l, snap))) => {
                    link.get_or_insert((l, snap));
                    pending.push(Pending { path, first });
                }
                // A readable capture without frames: nothing to merge, nothing wrong.
                Ok(None) => {}
                Err(e) => {
                    notes.push(skipped(&e));
                    files_skipped += 1;
                    first_err.get_or_insert(e);
                }
            }
        }
        // Equal first times keep the order given (a stable sort), so a rotated set
        // named in order reads in order.
        pending.sort_by_key(|p| p.first);
        let (link, file_snaplen) = match (link, first_err) {
            (Some(l), _) => l,
            (None, Some(e)) if pending.is_empty() => return Err(e),
            (None, _) => (LinkType::Ethernet, None),
        };
        Ok(OfflineSet {
            pending: pending.into(),
            open: Vec::new(),
            filter: filter.cloned(),
            cut_to: Some(snaplen),
            next_no: 1,
            notes,
            files_skipped,
            filtered_closed: 0,
            link,
            file_snaplen,
        })
    }

    /// Link type of the first file with a frame (pcap output takes one link type).
    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// The first file's declared snapshot length.
    pub fn snaplen(&self) -> Option<u32> {
        self.file_snaplen
    }

    /// Files skipped so far, unreadable from the start or corrupt part way.
    pub fn files_skipped(&self) -> u64 {
        self.files_skipped
    }

    /// Frames the capture filter left out, over every file read so far.
    pub fn frames_filtered(&self) -> u64 {
        self.filtered_closed
            + self
                .open
                .iter()
                .map(|h| h.src.frames_filtered())
                .sum::<u64>()
    }

    /// Closes open file `i`, keeping its count of filtered frames.
    fn close(&mut self, i: usize) -> Head {
        let done = self.open.swap_remove(i);
        self.filtered_closed += done.src.frames_filtered();
        done
    }

    /// A line per file skipped and per warning of a file read.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Appends up to `max` frames, oldest first over all files; 0 at the end of the last.
    pub fn next_batch(&mut self, batch: &mut Batch, max: usize) -> Result<usize, CaptureError> {
        let mut added = 0;
        while added < max {
            let oldest = self.oldest_open();
            let due = match (oldest, self.pending.front()) {
                (None, None) => break,
                (None, Some(_)) => true,
                (Some((_, ts)), Some(p)) => p.first <= ts,
                (Some(_), None) => false,
            };
            if due {
                if let Some(p) = self.pending.pop_front() {
                    self.start(p);
                }
                continue;
            }
            let Some((i, _)) = oldest else { break };
            let Some(mut frame) = self.open[i].frames.pop_front() else {
                break;
            };
            frame.no = FrameNo(self.next_no);
            self.next_no += 1;
            batch.push(frame);
            added += 1;
            if self.open[i].frames.is_empty() && !self.fill(i) {
                let done = self.close(i);
                self.notes
                    .extend(done.src.warnings().iter().map(|w| w.to_string()));
            }
        }
        Ok(added)
    }

    /// The open file whose next frame is oldest (the first such, on a tie).
    fn oldest_open(&self) -> Option<(usize, Timestamp)> {
        let mut best: Option<(usize, Timestamp)> = None;
        for (i, h) in self.open.iter().enumerate() {
            let ts = h.frames.front().map_or(Timestamp(u64::MAX), |f| f.ts);
            if best.is_none_or(|(_, b)| ts < b) {
                best = Some((i, ts));
            }
        }
        best
    }

    /// Opens a file the merge has reached; a file that fails now is skipped.
    fn start(&mut self, p: Pending) {
        let mut src = match OfflineSource::open(&p.path) {
            Ok(s) => s,
            Err(e) => return self.skip(e),
        };
        if let Some(n) = self.cut_to {
            src.set_snaplen(n);
        }
        if let Some(f) = &self.filter {
            src.set_filter(f.clone());
        }
        self.open.push(Head {
            src,
            frames: VecDeque::new(),
        });
        let i = self.open.len() - 1;
        if !self.fill(i) {
            self.close(i);
        }
    }

    /// Reads the next frames of open file `i`; false when it has none left (its end,
    /// or damage, which is noted and skips the rest of it).
    fn fill(&mut self, i: usize) -> bool {
        let mut got: Batch = Vec::with_capacity(HEAD_FRAMES);
        match self.open[i].src.next_batch(&mut got, HEAD_FRAMES) {
            Ok(0) => false,
            Ok(_) => {
                self.open[i].frames.extend(got);
                true
            }
            Err(e) => {
                self.skip(e);
                false
            }
        }
    }

    fn skip(&mut self, e: CaptureError) {
        self.notes.push(skipped(&e));
        self.files_skipped += 1;
    }
}

/// The line that reports a file skipped (the error names the file).
fn skipped(e: &CaptureError) -> String {
    let e = e.to_string();
    format!("{}; file skipped", e.trim_start_matches("oftsniff: "))
}

/// The time of a file's first frame, its link type and snap length; None for a file
/// without frames.
fn probe(path: &Path) -> Result<Option<(Timestamp, LinkType, Option<u32>)>, CaptureError> {
    let stream = || CaptureError::StreamInSet {
        path: path.to_path_buf(),
    };
    if path.as_os_str() == "-" {
        return Err(stream());
    }
    let mut src = OfflineSource::open(path)?;
    if src.is_pipe() {
        return Err(stream());
    }
    let mut one: Batch = Vec::with_capacity(1);
    src.next_batch(&mut one, 1)?;
    Ok(one.first().map(|f| (f.ts, src.link_type(), src.snaplen())))
}
