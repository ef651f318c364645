//! The state machine of one data connection (docs/PROTOCOL.md §3): the optional proxy
//! negotiation, then OFT2 PROMPT / ACK / RESUME… / data / DONE, once per file.
//!
//! It takes whole parsed messages and raw data chunks from the framer (`session::framer`)
//! and reports through a `MachineSink`; it never looks at bytes itself except to count,
//! checksum and hash file data.

use super::digest::HashAlg;
use super::event::{At, Checksum, FileEnd, FileStatus, ProgressSeen, Prompt, Sha256Digest, Step};
use super::phase::{Arrow, Role};
use crate::capture::Timestamp;
use crate::classify::pickup::Unframed;
use crate::flow::Direction;
use crate::proto::checksum::OftChecksum;
use crate::proto::{Capability, Cookie, OftHeader, OftType, ProxyBody, ProxyFrame};
use std::net::Ipv4Addr;

mod file;
mod getfile;
mod odc;
mod wide;

use file::{FileHash, FileProgress};
pub use odc::OdcDirection;

/// Where the machine's findings go (the connection layer turns them into reports).
pub trait MachineSink {
    fn phase(&mut self, step: Step, arrow: Arrow, at: At);
    /// A file's data is about to flow: `offset` is where the first byte lands.
    fn file_start(&mut self, name: &[String], size: u64, offset: u64);
    fn file_data(&mut self, offset: u64, bytes: &[u8]);
    fn file_end(&mut self, end: FileEnd);
    fn progress(&mut self, progress: ProgressSeen);
}

/// Bound on the bytes a direction may hold while it waits for the other side.
pub const MAX_PENDING: usize = 256 * 1024;
/// Bound on the `missing` ranges kept per file.
const MAX_MISSING_RANGES: usize = 256;

/// Per-direction expectation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// OFT2 headers.
    Headers,
    /// Raw file bytes follow (sender after ACK / RESUME_ACK).
    Data { remaining: u64 },
    /// Nothing may come until the other direction answers (bytes are held).
    Blocked,
    /// Proxy client: INIT_SEND or INIT_RECV, then blocked until READY.
    ProxyClient,
    /// Proxy server: ACK, READY, ERROR frames.
    ProxyServer,
    /// Lost framing (gap, garbage): look for an OFT2 header at each chunk start.
    Lost,
    /// Direct IM: an ODC2 header is expected (after a proxy READY for Direct IM, or
    /// once the first one was seen).
    Odc,
    /// Direct IM: payload bytes of the current ODC2 frame.
    OdcPayload { remaining: u64 },
    /// Direct IM: not followed further.
    Ignore,
}

/// What the machine learned about the proxy session of this connection.
#[derive(Clone, Debug, Default)]
pub struct ProxyInfo {
    /// True when the TCP client sent INIT_SEND (created the session).
    pub creator: Option<bool>,
    pub token: Option<u16>,
    pub proxy_ip: Option<Ipv4Addr>,
    pub screen_name: Option<String>,
    /// The capability of the INIT frame: what the relayed stream carries after READY.
    pub capability: Option<Capability>,
    pub ready: bool,
}

pub struct DataMachine {
    /// Direction the TCP client sends in.
    client_dir: Direction,
    pub modes: [Mode; 2],
    pub sender: Option<Direction>,
    pub cookie: Option<Cookie>,
    pub proxy: Option<ProxyInfo>,
    file: Option<FileProgress>,
    pub files_done: u64,
    pub bytes: u64,
    /// Bytes seen per direction since its last header, outside any framing (midstream
    /// pickup, lost framing).
    pub unframed: [Unframed; 2],
    pub finished: bool,
    pub direct_im: bool,
    /// The `direct_im` phase was reported.
    pub odc_announced: bool,
    /// A Get File header was seen.
    pub get_file: bool,
    /// Direct IM: what each direction's ODC2 frames carried.
    pub odc: [OdcDirection; 2],
    /// The data reached the size the PROMPT announced, and no header came since.
    pub data_ended: bool,
    pub progress_nanos: u64,
    /// `--hash`: the digest files get.
    pub hash: HashAlg,
    /// The connection was reset: file bytes from now on were in flight then.
    pub reset: bool,
    /// Stream offset (of its direction) of the bytes `on_data` is handed next.
    pub stream_pos: u64,
    /// Per direction, the stream offset its peer has acknowledged (TCP ACKs).
    pub acked_to: [Option<u64>; 2],
}

impl DataMachine {
    /// A connection whose first bytes were OFT2 (`proxied` false) or a proxy INIT.
    pub fn new(client_dir: Direction, proxied: bool, progress_secs: u64) -> Self {
        let modes = if proxied {
            let mut m = [Mode::ProxyServer; 2];
            m[client_dir.index()] = Mode::ProxyClient;
            m
        } else {
            [Mode::Headers; 2]
        };
        DataMachine {
            client_dir,
            modes,
            sender: None,
            cookie: None,
            proxy: proxied.then(ProxyInfo::default),
            file: None,
            files_done: 0,
            bytes: 0,
            unframed: Default::default(),
            finished: false,
            direct_im: false,
            odc_announced: false,
            get_file: false,
            odc: Default::default(),
            data_ended: false,
            reset: false,
            stream_pos: 0,
            acked_to: [None; 2],
            progress_nanos: progress_secs.saturating_mul(Timestamp::NANOS_PER_SEC),
            hash: HashAlg::default(),
        }
    }

    /// A connection picked up in the middle: every direction hunts for a header.
    pub fn midstream(client_dir: Direction, progress_secs: u64) -> Self {
        let mut m = DataMachine::new(client_dir, false, progress_secs);
        m.modes = [Mode::Lost; 2];
        m
    }

    fn role_of(&self, dir: Direction) -> Role {
        if self.proxy.as_ref().is_some_and(|p| !p.ready) {
            if dir == self.client_dir {
                return match self.proxy.as_ref().and_then(|p| p.creator) {
                    Some(true) => Role::Creator,
                    Some(false) => Role::Joiner,
                    None => Role::Client,
                };
            }
            return Role::Proxy;
        }
        match self.sender {
            Some(s) if s == dir => Role::Sender,
            Some(_) => Role::Receiver,
            None if dir == self.client_dir => Role::Client,
            None => Role::Server,
        }
    }

    /// Who sent in `dir` to whom, as far as the roles are known.
    pub fn arrow(&self, dir: Direction) -> Arrow {
        Arrow(self.role_of(dir), self.role_of(dir.reverse()))
    }

    /// Receiver's role arrow once the sender is known.
    fn learn_sender(&mut self, sender: Direction) {
        if self.sender.is_none() {
            self.sender = Some(sender);
        }
    }

    fn learn_cookie(&mut self, c: Cookie) {
        if !c.is_zero() && self.cookie.is_none() {
            self.cookie = Some(c);
        }
    }

    // ---- proxy ------------------------------------------------------------------

    pub fn on_proxy(&mut self, dir: Direction, f: &ProxyFrame, at: At, sink: &mut dyn MachineSink) {
        let from_client = dir == self.client_dir;
        let proxy = self.proxy.get_or_insert_with(ProxyInfo::default);
        let step = match &f.body {
            ProxyBody::InitSend {
                screen_name,
                cookie,
                capability,
            } if from_client => {
                proxy.creator = Some(true);
                proxy.capability = *capability;
                proxy.screen_name = Some(screen_name.clone());
                self.learn_cookie(*cookie);
                self.modes[dir.index()] = Mode::Blocked;
                Step::ProxyInitSend {
                    screen_name: screen_name.clone(),
                    cookie: *cookie,
                }
            }
            ProxyBody::InitRecv {
                screen_name,
                token,
                cookie,
                capability,
            } if from_client => {
                proxy.creator = Some(false);
                proxy.capability = *capability;
                proxy.token = Some(*token);
                proxy.screen_name = Some(screen_name.clone());
                self.learn_cookie(*cookie);
                self.modes[dir.index()] = Mode::Blocked;
                Step::ProxyInitRecv {
                    screen_name: screen_name.clone(),
                    token: *token,
                    cookie: *cookie,
                }
            }
            ProxyBody::Ack { token, ip } if !from_client => {
                proxy.token = Some(*token);
                proxy.proxy_ip = Some(*ip);
                Step::ProxyAck {
                    token: *token,
                    proxy_ip: *ip,
                }
            }
            ProxyBody::Ready if !from_client => {
                // Arrow before the roles change: the proxy told its client.
                let arrow = self.arrow(dir);
                let mut next = Mode::Headers;
                if let Some(p) = self.proxy.as_mut() {
                    p.ready = true;
                    // §4.5: the INIT's capability says which protocol the relay carries.
                    if p.capability == Some(Capability::DIRECT_IM) {
                        self.direct_im = true;
                        next = Mode::Odc;
                    }
                }
                self.modes = [next; 2];
                sink.phase(Step::ProxyReady, arrow, at);
                return;
            }
            ProxyBody::Error { code } if !from_client => Step::ProxyError { code: *code },
            // A frame in the wrong direction: the stream is not what it seemed.
            _ => {
                self.modes[dir.index()] = Mode::Lost;
                return;
            }
        };
        let arrow = self.arrow(dir);
        sink.phase(step, arrow, at);
    }

    // ---- OFT headers ------------------------------------------------------------

    pub fn on_header(&mut self, dir: Direction, h: OftHeader, at: At, sink: &mut dyn MachineSink) {
        self.data_ended = false;
        // Whatever this direction carried unframed belongs to what came before.
        self.unframed[dir.index()] = Unframed::default();
        match h.kind {
            OftType::Prompt => self.on_prompt(dir, h, at, sink),
            OftType::Ack | OftType::ResumeAck => self.on_ack(dir, &h, at, sink),
            OftType::Resume => {
                self.learn_sender(dir.reverse());
                self.learn_cookie(h.cookie);
                let offset = h.bytes_received as u64;
                if let Some(f) = self.file.as_mut() {
                    f.resume = Some((offset, h.recv_checksum));
                }
                let step = Step::Resume {
                    offset,
                    checksum: Checksum(h.recv_checksum),
                    cookie: h.cookie,
                };
                self.modes[dir.reverse().index()] = Mode::Headers;
                sink.phase(step, self.arrow(dir), at);
            }
            OftType::ResumeAccept => {
                self.learn_sender(dir);
                let offset = h.bytes_received as u64;
                if let Some(f) = self.file.as_mut() {
                    f.agreed = Some(offset);
                }
                self.modes[dir.index()] = Mode::Blocked;
                sink.phase(Step::ResumeAccept { offset }, self.arrow(dir), at);
            }
            OftType::Done => self.on_done(dir, &h, at, sink),
            OftType::Other(_) => {}
            // Get File (0x11xx / 0x12xx).
            _ => self.on_get_file(dir, h, at, sink),
        }
    }

    fn on_prompt(&mut self, dir: Direction, h: OftHeader, at: At, sink: &mut dyn MachineSink) {
        if self.file.is_some() {
            self.end_file(FileStatus::Truncated, None, at.ts, sink);
        }
        self.learn_sender(dir);
        self.learn_cookie(h.cookie);
        let step = Step::Prompt(Box::new(prompt_of(&h)));
        self.file = Some(FileProgress::new(h, at.ts, false, self.hash));
        self.modes[dir.index()] = Mode::Blocked;
        self.modes[dir.reverse().index()] = Mode::Headers;
        sink.phase(step, self.arrow(dir), at);
    }

    /// ACK or RESUME_ACK: the receiver asks for the data, from the start or an offset.
    fn on_ack(&mut self, dir: Direction, h: &OftHeader, at: At, sink: &mut dyn MachineSink) {
        let rdir = dir.reverse();
        self.learn_sender(rdir);
        self.learn_cookie(h.cookie);
        let resume_ack = h.kind == OftType::ResumeAck;
        let offset = if resume_ack {
            h.bytes_received as u64
        } else {
            0
        };
        let step = if resume_ack {
            Step::ResumeAck {
                offset,
                cookie: h.cookie,
            }
        } else {
            Step::Ack { cookie: h.cookie }
        };
        sink.phase(step, self.arrow(dir), at);
        self.request_data(dir, h, offset, at, sink);
    }

    /// The receiver (sending in `dir`) asked for the file's data from `offset`: the
    /// sender's direction carries it next.
    fn request_data(
        &mut self,
        dir: Direction,
        h: &OftHeader,
        offset: u64,
        at: At,
        sink: &mut dyn MachineSink,
    ) {
        let rdir = dir.reverse();
        let file = self
            .file
            .get_or_insert_with(|| FileProgress::unknown(h, at.ts, self.hash));
        let size = file.size;
        let offset = offset.min(size);
        file.requested = Some(at.ts);
        file.offset = offset;
        file.next = offset;
        file.last_progress = at.ts;
        file.checksum = Some(match file.resume {
            Some((o, prefix)) if o == offset && offset > 0 => {
                OftChecksum::resume_from(offset, prefix)
            }
            _ if offset == 0 => OftChecksum::new(),
            _ => OftChecksum::starting_at(offset),
        });
        let comps = file.prompt.name.components();
        sink.file_start(&comps, size, offset);
        let remaining = size - offset;
        self.modes[rdir.index()] = if remaining > 0 {
            Mode::Data { remaining }
        } else {
            Mode::Blocked
        };
        self.modes[dir.index()] = Mode::Headers;
    }

    fn on_done(&mut self, dir: Direction, h: &OftHeader, at: At, sink: &mut dyn MachineSink) {
        let rdir = dir.reverse();
        self.learn_sender(rdir);
        self.learn_cookie(h.cookie);
        let step = Step::Done {
            bytes: h.bytes_received as u64,
            checksum: Checksum(h.recv_checksum),
            files_left: h.files_left,
            cookie: h.cookie,
        };
        sink.phase(step, self.arrow(dir), at);
        if self.file.is_none() {
            self.file = Some(self.picked_up_file(rdir, h, at));
        }
        let status = match self.file.as_ref() {
            Some(f) if f.unknown_start => FileStatus::UnknownStart,
            Some(f) if f.requested.is_none() => FileStatus::Skipped,
            _ => FileStatus::Complete,
        };
        self.end_file(status, Some(h.recv_checksum), at.ts, sink);
        if h.files_left <= 1 || h.flags & crate::proto::oft::flags::DONE != 0 {
            self.finished = true;
        }
        self.modes = [Mode::Headers; 2];
    }

    /// Picked up after the ACK: the DONE names the file, and what the sender's direction
    /// (`sdir`) carried unframed just before it is its end.
    fn picked_up_file(&mut self, sdir: Direction, h: &OftHeader, at: At) -> FileProgress {
        let mut f = FileProgress::unknown(h, at.ts, self.hash);
        let size = h.size as u64;
        let seen = std::mem::take(&mut self.unframed[sdir.index()]).place(size);
        f.bytes = seen.bytes;
        f.next = size;
        f.missing = seen.missing;
        // Bytes seen before the file was named were hashed with SHA-256 (the classifier
        // keeps them before any option applies): placed only when that is the choice.
        f.sha = FileHash::Placed(
            seen.sha256
                .map(Sha256Digest)
                .filter(|_| self.hash == HashAlg::Sha256),
        );
        f.first_data = seen.first;
        f.last_data = seen.last;
        f.checksum_partial = seen.checksum_partial;
        self.bytes += seen.bytes;
        f
    }

    /// Raw bytes in a `Data` direction; returns how many were file data.
    pub fn on_data(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        at: At,
        sink: &mut dyn MachineSink,
    ) -> usize {
        let Mode::Data { remaining } = self.modes[dir.index()] else {
            return 0;
        };
        let n = (remaining.min(bytes.len() as u64)) as usize;
        let chunk = &bytes[..n];
        let Some(f) = self.file.as_mut() else {
            return 0;
        };
        if f.first_data.is_none() && n > 0 {
            f.first_data = Some(at.ts);
            f.data_pos = Some((dir, self.stream_pos, f.next));
            let arrow = Arrow(Role::Sender, Role::Receiver);
            sink.phase(Step::DataStart { offset: f.next }, arrow, at);
        }
        let Some(f) = self.file.as_mut() else {
            return 0;
        };
        if let Some(c) = f.checksum.as_mut() {
            c.update(chunk);
        }
        if let FileHash::Running(s) = &mut f.sha {
            s.update(chunk);
        }
        sink.file_data(f.next, chunk);
        f.next += n as u64;
        f.bytes += n as u64;
        if self.reset {
            f.after_reset += n as u64;
        }
        f.last_data = Some(at.ts);
        self.bytes += n as u64;
        let left = remaining - n as u64;
        if self.progress_nanos > 0
            && at.ts.0 >= f.last_progress.0.saturating_add(self.progress_nanos)
            && left > 0
        {
            let secs = at.ts.secs_since(f.last_progress);
            let rate = (f.bytes - f.progress_bytes) as f64 * 8.0 / secs.max(1e-9);
            f.last_progress = at.ts;
            f.progress_bytes = f.bytes;
            sink.progress(ProgressSeen {
                at,
                name: f.name.clone(),
                bytes: f.next,
                size: f.size,
                rate_bps: rate,
            });
        }
        if left == 0 {
            // The sender's next bytes may still show the file is 4 GiB larger
            // (`machine::wide`); then a later data_end follows this one.
            self.modes[dir.index()] = Mode::Blocked;
            self.data_ended = true;
            let step = Step::DataEnd { bytes: f.bytes };
            sink.phase(step, Arrow(Role::Sender, Role::Receiver), at);
        } else {
            self.modes[dir.index()] = Mode::Data { remaining: left };
        }
        n
    }

    /// `len` bytes of `dir` are lost for good.
    pub fn on_gap(&mut self, dir: Direction, len: u64) {
        match self.modes[dir.index()] {
            Mode::Data { remaining } => {
                let n = len.min(remaining);
                if let Some(f) = self.file.as_mut() {
                    if f.missing.len() < MAX_MISSING_RANGES {
                        f.missing.push([f.next, f.next + n]);
                    }
                    f.next += n;
                    // The checksum cannot be known any more.
                    f.checksum = None;
                }
                let left = remaining - n;
                self.modes[dir.index()] = if left == 0 && n == len {
                    Mode::Blocked
                } else if left == 0 {
                    self.unframed[dir.index()].gap(len - n);
                    Mode::Lost
                } else {
                    Mode::Data { remaining: left }
                };
            }
            Mode::Ignore => {}
            _ => {
                self.unframed[dir.index()].gap(len);
                self.modes[dir.index()] = Mode::Lost;
            }
        }
    }

    /// The connection ended: a file still open is truncated.
    pub fn on_close(&mut self, ts: Timestamp, sink: &mut dyn MachineSink) {
        if self.file.is_some() {
            let status = if self.file.as_ref().is_some_and(|f| f.unknown_start) {
                FileStatus::UnknownStart
            } else {
                FileStatus::Truncated
            };
            self.end_file(status, None, ts, sink);
        }
    }
}

fn prompt_of(h: &OftHeader) -> Prompt {
    Prompt {
        name: h.name.display(),
        size: h.size as u64,
        checksum: Checksum(h.checksum),
        files_total: h.total_files,
        files_left: h.files_left,
        cookie: (!h.cookie.is_zero()).then_some(h.cookie),
        client_id: h.id_str(),
        ends: None,
    }
}

#[cfg(test)]
mod tests;
