//! The pcap writer thread: the one owner of every pcap output file.
//!
//! Workers send it batches of frames tagged with their transfer and connection through a
//! bounded channel. Senders never drop: when the channel is full they block, and each
//! time that happens is counted as a writer stall and reported at exit.
//!
//! Order on output: frames of one connection leave in the order they were sent (capture
//! order); frames of different connections are merged by timestamp through a bounded
//! reorder window (`reorder` module; default 500 ms of packet time, 32 768 frames or
//! 32 MiB, whichever is hit first). When no message arrives for `flush_interval` of wall
//! time everything held is written, so a quiet live capture does not keep frames back.
//!
//! Files are opened by `PcapOut::open`, before capture starts. Each file only ever holds
//! whole records (see `record_file`), files are flushed every `flush_interval` and every
//! MiB of staged data, and `finish` drains, flushes and syncs everything.

use super::error::OutputError;
use super::record_file::ensure_writable_dir;
use super::reorder::{ReorderBuffer, ReorderLimits};
use super::rotate::{RotatingPcap, Rotation};
use super::transfer_files::TransferFiles;
pub use super::transfer_files::{TransferId, TransferLabel};
use crate::capture::pool::BufReturner;
use crate::capture::{Frame, FramePool, LinkType, Timestamp};
use crate::flow::FlowKey;
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use serde::{Serialize, Serializer};
use std::collections::HashMap;

type FastHash = std::hash::BuildHasherDefault<crate::flow::key::FnvHasher>;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct PcapOutConfig {
    /// `-w FILE`.
    pub write: Option<PathBuf>,
    /// `-C`: rotate `-w` output past this many millions of bytes.
    pub rotate_mb: Option<u64>,
    /// `-W`: keep a ring of this many `-w` files (needs `-C`).
    pub rotate_files: Option<u32>,
    /// `--pcap-dir DIR`: one pcap per transfer.
    pub pcap_dir: Option<PathBuf>,
    /// Link type of the `-w` file: the capture's (first) link type. Frames of another
    /// link type are not written to it and are counted in `link_mismatch`.
    pub link: LinkType,
    /// `-s`: the snapshot length the files' headers declare.
    pub snaplen: u32,
    pub reorder: ReorderLimits,
    /// Messages (batches) queued to the writer before senders block.
    pub channel_capacity: usize,
    /// Wall time between flushes; also the idle time after which held frames are written.
    pub flush_interval: Duration,
    /// Bumped on `SIGHUP`: `-w` is reopened at its path if it was renamed.
    pub reopen: Option<Arc<AtomicU64>>,
    /// Per-transfer files open at once; past it the least recently written is closed.
    pub max_open_transfer_files: usize,
    /// Transfers tracked at once by `--pcap-dir`; past it the least recent is closed.
    pub max_transfers: usize,
    /// Where buffers of written frames go (give the capture thread the same pool).
    pub pool: FramePool,
}

impl PcapOutConfig {
    pub fn new(link: LinkType) -> Self {
        PcapOutConfig {
            write: None,
            rotate_mb: None,
            rotate_files: None,
            pcap_dir: None,
            link,
            snaplen: super::pcapfile::SNAPLEN,
            reorder: ReorderLimits::default(),
            channel_capacity: 1024,
            flush_interval: Duration::from_secs(1),
            reopen: None,
            max_open_transfer_files: 256,
            max_transfers: 65_536,
            pool: FramePool::new(16),
        }
    }
}

/// What workers tell the writer.
#[derive(Debug)]
pub enum WriterMsg {
    /// Frames of connection `conn`, in capture order, belonging to `transfer`.
    Frames {
        transfer: TransferId,
        conn: FlowKey,
        frames: Vec<Frame>,
    },
    /// Names the transfer's `--pcap-dir` file; send it before the first frames.
    TransferInfo {
        transfer: TransferId,
        label: TransferLabel,
    },
    /// No more frames will come; the transfer's file is closed once its frames are out.
    TransferEnd { transfer: TransferId },
    /// Several messages in order, sent as one so the channel is crossed once per batch.
    Batch(Vec<WriterMsg>),
}

enum Envelope {
    Msg(WriterMsg),
    /// Write everything sent before this, close the files, and end; the final counters
    /// go back through the reply channel when there is one.
    Finish(Option<Sender<PcapOutStats>>),
}

/// Counters and outcome of the writer, reported at exit.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PcapOutStats {
    /// Frames and bytes (headers included) written to `-w`.
    pub frames_written: u64,
    pub bytes_written: u64,
    /// `-w` files opened (more than one with `-C`).
    pub files: u64,
    /// Per-transfer files created under `--pcap-dir` and frames written to them.
    pub transfer_files: u64,
    pub transfer_frames_written: u64,
    /// Times a sender found the channel full and had to wait.
    pub writer_stalls: u64,
    /// Frames whose link type differs from the `-w` file's; not written there.
    pub link_mismatch: u64,
    /// Frames whose link type differs from their transfer file's first frame.
    pub transfer_link_mismatch: u64,
    /// Frames written to `-w` with a timestamp older than one written before them
    /// (they arrived after the reorder window had passed).
    pub written_out_of_order: u64,
    /// Frames of a transfer that arrived after its end; written to `-w` only.
    pub late_frames: u64,
    /// Transfers whose state was dropped because `max_transfers` were tracked.
    pub transfers_evicted: u64,
    /// Frames not written to `-w` because it failed earlier.
    pub frames_not_written: u64,
    pub write_errors: u64,
    /// First write error; when set, the output is incomplete and oftsniff exits 2.
    #[serde(serialize_with = "error_as_line")]
    pub error: Option<Arc<OutputError>>,
}

impl PcapOutStats {
    fn fail(&mut self, e: OutputError) {
        self.write_errors += 1;
        self.error.get_or_insert_with(|| Arc::new(e));
    }
}

fn error_as_line<S: Serializer>(e: &Option<Arc<OutputError>>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.serialize_some(&e.to_string()),
        None => s.serialize_none(),
    }
}

/// Cloneable handle workers send through.
#[derive(Clone)]
pub struct PcapSender {
    tx: Sender<Envelope>,
    stalls: Arc<AtomicU64>,
}

impl PcapSender {
    /// Queues a message, waiting if the writer is behind (counted as a stall).
    pub fn send(&self, msg: WriterMsg) -> Result<(), OutputError> {
        match self.tx.try_send(Envelope::Msg(msg)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(m)) => {
                self.stalls.fetch_add(1, Ordering::Relaxed);
                self.tx.send(m).map_err(|_| OutputError::WriterGone)
            }
            Err(TrySendError::Disconnected(_)) => Err(OutputError::WriterGone),
        }
    }

    pub fn frames(
        &self,
        transfer: TransferId,
        conn: FlowKey,
        frames: Vec<Frame>,
    ) -> Result<(), OutputError> {
        self.send(WriterMsg::Frames {
            transfer,
            conn,
            frames,
        })
    }

    pub fn transfer_info(
        &self,
        transfer: TransferId,
        label: TransferLabel,
    ) -> Result<(), OutputError> {
        self.send(WriterMsg::TransferInfo { transfer, label })
    }

    pub fn transfer_end(&self, transfer: TransferId) -> Result<(), OutputError> {
        self.send(WriterMsg::TransferEnd { transfer })
    }

    /// Ends the writer once everything sent before has been written and returns its
    /// final counters, so they can go into the `stats` event; `None` if it is gone.
    /// Nothing sent afterwards is written.
    pub fn finish_and_report(&self) -> Option<PcapOutStats> {
        let (tx, rx) = bounded(1);
        self.tx.send(Envelope::Finish(Some(tx))).ok()?;
        rx.recv().ok()
    }
}

pub struct PcapOut;

impl PcapOut {
    /// Checks the options, creates the `-w` file and `--pcap-dir`, and starts the thread.
    pub fn open(cfg: PcapOutConfig) -> Result<PcapOutHandle, OutputError> {
        let rotation = Rotation::from_flags(cfg.rotate_mb, cfg.rotate_files)?;
        if rotation.is_some() && cfg.write.is_none() {
            return Err(OutputError::Config("-C and -W need -w FILE".into()));
        }
        super::pcapfile::set_header_snaplen(cfg.snaplen);
        let main = match &cfg.write {
            Some(p) => Some(RotatingPcap::open(p, cfg.link, rotation)?),
            None => None,
        };
        let per_transfer = match &cfg.pcap_dir {
            Some(d) => {
                ensure_writable_dir(d)?;
                Some(TransferFiles::new(
                    d,
                    cfg.max_open_transfer_files,
                    cfg.max_transfers,
                ))
            }
            None => None,
        };
        let (tx, rx) = bounded(cfg.channel_capacity.max(1));
        let stalls = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            main,
            per_transfer,
            reorder: ReorderBuffer::new(cfg.reorder),
            held: HashMap::default(),
            bufs: cfg.pool.returner(),
            last_ts: Timestamp(0),
            stats: PcapOutStats::default(),
            stalls: stalls.clone(),
            reopen_seen: cfg.reopen.as_ref().map_or(0, |r| r.load(Ordering::SeqCst)),
            reopen: cfg.reopen.clone(),
        };
        let interval = cfg.flush_interval;
        let thread = std::thread::Builder::new()
            .name("pcap-writer".into())
            .spawn(move || writer.run(rx, interval))
            .map_err(|e| {
                OutputError::Config(format!("cannot start the pcap writer thread: {e}"))
            })?;
        Ok(PcapOutHandle { tx, stalls, thread })
    }
}

pub struct PcapOutHandle {
    tx: Sender<Envelope>,
    stalls: Arc<AtomicU64>,
    thread: JoinHandle<PcapOutStats>,
}

impl PcapOutHandle {
    pub fn sender(&self) -> PcapSender {
        PcapSender {
            tx: self.tx.clone(),
            stalls: self.stalls.clone(),
        }
    }

    /// Writes everything sent so far (call it after the workers are drained), flushes,
    /// syncs and closes every file, and joins the thread. Messages sent after this
    /// through leftover senders are not written.
    pub fn finish(self) -> PcapOutStats {
        let _ = self.tx.send(Envelope::Finish(None));
        let mut stats = match self.thread.join() {
            Ok(s) => s,
            Err(_) => PcapOutStats {
                error: Some(Arc::new(OutputError::WriterGone)),
                ..Default::default()
            },
        };
        stats.writer_stalls = self.stalls.load(Ordering::Relaxed);
        stats
    }
}

struct Writer {
    main: Option<RotatingPcap>,
    per_transfer: Option<TransferFiles>,
    /// Tagged with whether the frame came after its transfer's end.
    reorder: ReorderBuffer<(TransferId, FlowKey), bool>,
    /// Frames of each transfer still in the reorder buffer (kept for `--pcap-dir` only).
    held: HashMap<TransferId, usize, FastHash>,
    /// Buffers of written frames go back to the capture thread.
    bufs: BufReturner,
    last_ts: Timestamp,
    stats: PcapOutStats,
    stalls: Arc<AtomicU64>,
    reopen: Option<Arc<AtomicU64>>,
    /// The `reopen` generation last acted on.
    reopen_seen: u64,
}

impl Writer {
    fn run(mut self, rx: Receiver<Envelope>, interval: Duration) -> PcapOutStats {
        let mut last_flush = Instant::now();
        let mut reply = None;
        loop {
            match rx.recv_timeout(interval) {
                Ok(Envelope::Msg(m)) => self.handle(m),
                Ok(Envelope::Finish(r)) => {
                    reply = r;
                    break;
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => self.release(true),
            }
            if last_flush.elapsed() >= interval {
                self.flush();
                last_flush = Instant::now();
            }
            self.reopen_if_asked();
        }
        self.release(true);
        let stats = self.close();
        if let Some(r) = reply {
            let _ = r.send(stats.clone());
        }
        stats
    }

    fn handle(&mut self, m: WriterMsg) {
        match m {
            WriterMsg::Batch(msgs) => {
                for m in msgs {
                    self.handle(m);
                }
            }
            WriterMsg::Frames {
                transfer,
                conn,
                frames,
            } => {
                // Frames sent after the transfer's end go to `-w` only.
                let late = self
                    .per_transfer
                    .as_ref()
                    .is_some_and(|pt| pt.is_ended(transfer));
                if late {
                    self.stats.late_frames += frames.len() as u64;
                } else if self.per_transfer.is_some() && !frames.is_empty() {
                    *self.held.entry(transfer).or_insert(0) += frames.len();
                }
                self.reorder.push_many((transfer, conn), late, frames);
                self.release(false);
            }
            WriterMsg::TransferInfo { transfer, label } => {
                if let Some(pt) = self.per_transfer.as_mut() {
                    pt.set_label(transfer, label);
                }
            }
            WriterMsg::TransferEnd { transfer } => {
                if let Some(pt) = self.per_transfer.as_mut() {
                    pt.mark_ended(transfer);
                    if !self.held.contains_key(&transfer) {
                        pt.close_if_done(transfer);
                    }
                }
            }
        }
    }

    fn release(&mut self, drain: bool) {
        while let Some(((transfer, _), late, frame)) = self.reorder.pop(drain) {
            self.write(transfer, &frame, late);
            self.bufs.give(frame.data);
            // Only `--pcap-dir` needs to know when a transfer's last frame is out.
            if late || self.per_transfer.is_none() {
                continue;
            }
            let done = match self.held.get_mut(&transfer) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                _ => self.held.remove(&transfer).is_some(),
            };
            if let (true, Some(pt)) = (done, self.per_transfer.as_mut()) {
                pt.close_if_done(transfer);
            }
        }
    }

    fn write(&mut self, transfer: TransferId, frame: &Frame, late: bool) {
        if frame.ts < self.last_ts {
            self.stats.written_out_of_order += 1;
        }
        self.last_ts = self.last_ts.max(frame.ts);
        if let (Some(pt), false) = (self.per_transfer.as_mut(), late) {
            pt.write(transfer, frame);
        }
        let Some(main) = self.main.as_mut() else {
            return;
        };
        if frame.link != main.link() {
            self.stats.link_mismatch += 1;
            return;
        }
        match main.write_frame(frame) {
            Ok(_) => self.stats.frames_written += 1,
            Err(e) => {
                self.fail_main(e);
                self.stats.frames_not_written += 1;
            }
        }
    }

    /// Stops writing `-w` after an error; what is on disk stays a valid pcap.
    fn fail_main(&mut self, e: OutputError) {
        self.stats.fail(e);
        if let Some(m) = self.main.take() {
            // Records counted as written when staged, cut off the file by the failure.
            let lost = m.lost_records();
            self.stats.frames_written -= lost;
            self.stats.frames_not_written += lost;
            self.stats.bytes_written += m.bytes_written();
            self.stats.files += m.files_opened();
            if let Err(e) = m.close() {
                self.stats.fail(e);
            }
        }
    }

    /// After `SIGHUP`: what is held for reordering stays held (it goes to the new file).
    fn reopen_if_asked(&mut self) {
        let Some(gen) = self.reopen.as_ref().map(|r| r.load(Ordering::SeqCst)) else {
            return;
        };
        if gen == self.reopen_seen {
            return;
        }
        self.reopen_seen = gen;
        let Some(main) = self.main.as_mut() else {
            return;
        };
        match main.reopen() {
            // Counted in `files_opened` at close.
            Ok(_) => {}
            Err(e) => self.fail_main(e),
        }
    }

    fn flush(&mut self) {
        if let Some(Err(e)) = self.main.as_mut().map(|m| m.flush()) {
            self.fail_main(e);
        }
        if let Some(pt) = self.per_transfer.as_mut() {
            pt.flush();
        }
    }

    fn close(mut self) -> PcapOutStats {
        if let Some(mut m) = self.main.take() {
            let flushed = m.flush();
            let lost = m.lost_records();
            self.stats.frames_written -= lost;
            self.stats.frames_not_written += lost;
            self.stats.bytes_written += m.bytes_written();
            self.stats.files += m.files_opened();
            if let Err(e) = flushed.and_then(|()| m.close()) {
                self.stats.fail(e);
            }
        }
        if let Some(mut pt) = self.per_transfer.take() {
            pt.close_all();
            let c = pt.counters;
            self.stats.transfer_files = c.files_created;
            self.stats.transfer_frames_written = c.frames_written;
            self.stats.transfer_link_mismatch = c.link_mismatch;
            self.stats.late_frames += c.late_frames;
            self.stats.transfers_evicted = c.transfers_evicted;
            self.stats.write_errors += c.write_errors;
            if self.stats.error.is_none() {
                self.stats.error = pt.first_error.take().map(Arc::new);
            }
        }
        self.stats.writer_stalls = self.stalls.load(Ordering::Relaxed);
        self.stats
    }
}

#[cfg(test)]
mod tests;
