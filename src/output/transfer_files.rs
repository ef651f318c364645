//! `--pcap-dir`: one pcap per transfer, named so a person can find it by eye:
//! `20051020T153012Z_4.254.84.74-5190_24.252.11.55-1234_howdoisentfile.txt.pcap`
//! (UTC start time, the two endpoints as the session orders them, the first file name).
//!
//! A file is created when the transfer's first frame leaves the reorder buffer (by then
//! its label has normally arrived; without one the name uses `transfer-<id>`), never
//! overwrites anything (a `-2`, `-3`… suffix is added), and is closed once the transfer
//! ended and none of its frames are still held. Open files are capped: past the cap the
//! least recently written one is closed — it is a complete pcap at that point — and
//! reopened for append if more frames come.

use super::error::OutputError;
use super::record_file::{OpenMode, PcapFile};
use crate::capture::{Frame, LinkType, Timestamp};
use crate::flow::Endpoint;
use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use crate::session::event::{TransferId, TransferLabel};

/// Bytes kept of the file name inside a pcap name.
const NAME_PART_MAX: usize = 80;
/// Collision suffixes tried before giving up on a name.
const MAX_SUFFIX: u32 = 1000;
/// Staging per transfer file before it is flushed early.
const TRANSFER_FLUSH_BYTES: usize = 64 << 10;
/// Frames of a transfer kept while its label has not arrived (a rendezvous frame can
/// reach the writer long before the data connection that names the transfer); past it,
/// the file is created under a time-and-number name.
pub const MAX_UNLABELLED_FRAMES: usize = 64;
/// Ended transfers remembered so late frames don't start a second file.
const ENDED_MEMORY: usize = 4096;

/// `YYYYMMDDTHHMMSSZ` of a packet timestamp (UTC, proleptic Gregorian).
pub fn utc_stamp(ts: Timestamp) -> String {
    let secs = ts.secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil inverse).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        y,
        m,
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn endpoint_part(e: Endpoint) -> String {
    // ':' in IPv6 would upset Windows and scp, so it becomes '.'.
    let ip = match e.ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6.to_string().replace(':', "."),
    };
    format!("{}-{}", ip, e.port)
}

/// Keeps `[A-Za-z0-9._-]`, maps anything else to `_`, never starts with `.`, and keeps at
/// most `NAME_PART_MAX` bytes: safe inside one path component on any system.
pub fn name_part(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(NAME_PART_MAX)
        .collect();
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    s
}

impl TransferLabel {
    pub fn file_stem(&self) -> String {
        let mut s = format!(
            "{}_{}_{}",
            utc_stamp(self.start),
            endpoint_part(self.a),
            endpoint_part(self.b)
        );
        if let Some(n) = self
            .first_name
            .as_deref()
            .map(name_part)
            .filter(|n| !n.is_empty())
        {
            s.push('_');
            s.push_str(&n);
        }
        s
    }
}

struct Entry {
    label: Option<TransferLabel>,
    /// Frames waiting for the label, before the file exists.
    unlabelled: Vec<Frame>,
    file: Option<PcapFile>,
    path: Option<PathBuf>,
    link: Option<LinkType>,
    last_use: u64,
    ended: bool,
    failed: bool,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct TransferFileCounters {
    pub files_created: u64,
    pub frames_written: u64,
    pub link_mismatch: u64,
    pub late_frames: u64,
    pub transfers_evicted: u64,
    pub write_errors: u64,
}

pub struct TransferFiles {
    dir: PathBuf,
    max_open: usize,
    max_transfers: usize,
    entries: HashMap<TransferId, Entry>,
    open: usize,
    clock: u64,
    ended: HashSet<TransferId>,
    ended_order: VecDeque<TransferId>,
    pub counters: TransferFileCounters,
    /// First error, reported at exit; later ones are only counted.
    pub first_error: Option<OutputError>,
}

impl TransferFiles {
    pub fn new(dir: &Path, max_open: usize, max_transfers: usize) -> TransferFiles {
        TransferFiles {
            dir: dir.to_path_buf(),
            max_open: max_open.max(1),
            max_transfers: max_transfers.max(1),
            entries: HashMap::new(),
            open: 0,
            clock: 0,
            ended: HashSet::new(),
            ended_order: VecDeque::new(),
            counters: TransferFileCounters::default(),
            first_error: None,
        }
    }

    fn entry(&mut self, t: TransferId) -> &mut Entry {
        if !self.entries.contains_key(&t) && self.entries.len() >= self.max_transfers {
            self.evict_oldest();
        }
        self.clock += 1;
        let clock = self.clock;
        let e = self.entries.entry(t).or_insert(Entry {
            label: None,
            unlabelled: Vec::new(),
            file: None,
            path: None,
            link: None,
            last_use: clock,
            ended: false,
            failed: false,
        });
        e.last_use = clock;
        e
    }

    fn evict_oldest(&mut self) {
        if let Some(t) = self
            .entries
            .iter()
            .min_by_key(|(_, e)| e.last_use)
            .map(|(t, _)| *t)
        {
            self.counters.transfers_evicted += 1;
            self.close(t);
        }
    }

    pub fn set_label(&mut self, t: TransferId, label: TransferLabel) {
        if !self.ended.contains(&t) {
            self.entry(t).label = Some(label);
            self.write_unlabelled(t);
        }
    }

    /// Writes the frames that waited for a label (creating the file under whatever name
    /// is known by now).
    fn write_unlabelled(&mut self, t: TransferId) {
        let held = self
            .entries
            .get_mut(&t)
            .map(|e| std::mem::take(&mut e.unlabelled))
            .unwrap_or_default();
        for f in &held {
            self.write_now(t, f);
        }
    }

    /// The transfer is over; its file closes once `held` (frames still in the reorder
    /// buffer) reaches zero — see `close_if_done`.
    pub fn mark_ended(&mut self, t: TransferId) {
        if let Some(e) = self.entries.get_mut(&t) {
            e.ended = true;
        } else {
            self.remember_ended(t);
        }
    }

    /// Whether `TransferEnd` was seen (for a transfer still open or recently closed).
    pub fn is_ended(&self, t: TransferId) -> bool {
        self.ended.contains(&t) || self.entries.get(&t).is_some_and(|e| e.ended)
    }

    pub fn close_if_done(&mut self, t: TransferId) {
        if self.entries.get(&t).is_some_and(|e| e.ended) {
            self.close(t);
        }
    }

    fn remember_ended(&mut self, t: TransferId) {
        if self.ended.insert(t) {
            self.ended_order.push_back(t);
            if self.ended_order.len() > ENDED_MEMORY {
                if let Some(old) = self.ended_order.pop_front() {
                    self.ended.remove(&old);
                }
            }
        }
    }

    fn close(&mut self, t: TransferId) {
        self.write_unlabelled(t);
        if let Some(mut e) = self.entries.remove(&t) {
            if let Some(f) = e.file.take() {
                self.open -= 1;
                let p = f.path().to_path_buf();
                if let Err(err) = f.close() {
                    self.error(OutputError::write(&p, err));
                }
            }
            self.remember_ended(t);
        }
    }

    fn error(&mut self, e: OutputError) {
        self.counters.write_errors += 1;
        self.first_error.get_or_insert(e);
    }

    pub fn write(&mut self, t: TransferId, frame: &Frame) {
        if self.ended.contains(&t) {
            self.counters.late_frames += 1;
            return;
        }
        let e = self.entry(t);
        if e.label.is_none() && e.path.is_none() && !e.failed {
            if e.unlabelled.len() < MAX_UNLABELLED_FRAMES {
                e.unlabelled.push(frame.clone());
                return;
            }
            self.write_unlabelled(t);
        }
        self.write_now(t, frame);
    }

    fn write_now(&mut self, t: TransferId, frame: &Frame) {
        let link = *self.entry(t).link.get_or_insert(frame.link);
        if link != frame.link {
            self.counters.link_mismatch += 1;
            return;
        }
        if let Err(e) = self.ensure_open(t, frame.ts, link) {
            self.error(e);
            if let Some(en) = self.entries.get_mut(&t) {
                en.failed = true;
            }
            return;
        }
        let Some(f) = self.entries.get_mut(&t).and_then(|e| e.file.as_mut()) else {
            return;
        };
        match f.write_frame(frame) {
            Ok(_) => self.counters.frames_written += 1,
            Err(err) => {
                let p = f.path().to_path_buf();
                self.error(OutputError::write(&p, err));
                if let Some(en) = self.entries.get_mut(&t) {
                    en.failed = true;
                    if en.file.take().is_some() {
                        self.open -= 1;
                    }
                }
            }
        }
    }

    fn ensure_open(
        &mut self,
        t: TransferId,
        ts: Timestamp,
        link: LinkType,
    ) -> Result<(), OutputError> {
        let e = self.entries.get(&t).expect("entry created by write");
        if e.failed || e.file.is_some() {
            return Ok(());
        }
        if self.open >= self.max_open {
            self.park_least_recent();
        }
        let e = self.entries.get_mut(&t).expect("entry still present");
        let file = match &e.path {
            Some(p) => PcapFile::reopen(p, link)?,
            None => {
                let stem = match &e.label {
                    Some(l) => l.file_stem(),
                    None => format!("{}_transfer-{}", utc_stamp(ts), t.0),
                };
                let f = create_unique(&self.dir, &stem, link)?;
                e.path = Some(f.path().to_path_buf());
                self.counters.files_created += 1;
                f
            }
        };
        let mut file = file;
        file.set_flush_bytes(TRANSFER_FLUSH_BYTES);
        e.file = Some(file);
        self.open += 1;
        Ok(())
    }

    /// Closes (without forgetting) the open file written least recently.
    fn park_least_recent(&mut self) {
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| e.file.is_some())
            .min_by_key(|(_, e)| e.last_use)
            .map(|(t, _)| *t);
        if let Some(f) = victim
            .and_then(|t| self.entries.get_mut(&t))
            .and_then(|e| e.file.take())
        {
            self.open -= 1;
            let p = f.path().to_path_buf();
            if let Err(err) = f.close() {
                self.error(OutputError::write(&p, err));
            }
        }
    }

    pub fn flush(&mut self) {
        let mut errs = Vec::new();
        for e in self.entries.values_mut() {
            if let Some(f) = e.file.as_mut().filter(|f| f.is_dirty()) {
                if let Err(err) = f.flush() {
                    errs.push(OutputError::write(f.path(), err));
                }
            }
        }
        for e in errs {
            self.error(e);
        }
    }

    pub fn close_all(&mut self) {
        let ids: Vec<TransferId> = self.entries.keys().copied().collect();
        for t in ids {
            self.close(t);
        }
    }
}

fn create_unique(dir: &Path, stem: &str, link: LinkType) -> Result<PcapFile, OutputError> {
    for n in 1..=MAX_SUFFIX {
        let name = if n == 1 {
            format!("{stem}.pcap")
        } else {
            format!("{stem}-{n}.pcap")
        };
        let path = dir.join(name);
        match PcapFile::create(&path, link, OpenMode::CreateNew) {
            Err(OutputError::Write { source, .. })
                if source.kind() == io::ErrorKind::AlreadyExists => {}
            other => return other,
        }
    }
    Err(OutputError::write(
        &dir.join(format!("{stem}.pcap")),
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            "too many files with this name",
        ),
    ))
}

#[cfg(test)]
mod tests;
