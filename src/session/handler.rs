//! The worker's stream handler: classifies each connection from its first bytes, runs
//! data connections through their state machine and FLAP connections through the
//! rendezvous reader, holds frames until a connection is recognized, and reports
//! everything to the correlator.

use super::flap::FlapConn;
use super::framer::DataConn;
use super::machine::{At, DataMachine, FileEnd, MachineSink};
use super::phase::{Arrow, Phase, Role};
use super::pickup::Unframed;
use super::records::{decline_report, file_record, rendezvous_report};
use super::report::{ConnId, ConnOutcome, ConnRef, LadderLine, Report, ReportBatch, SessionKind};
use crate::capture::{Frame, FrameNo, Timestamp};
use crate::classify::{classify_direction, Classification};
use crate::flow::{Direction, Endpoint};
use crate::output::carve::{CarveFile, Carver};
use crate::output::event::{FlowRecord, PhaseDetail, ProgressRecord};
use crate::proto::rendezvous::IcbmEvent;
use crate::proto::{probe_oft, Capability, Probe};
use crate::reassembly::{CloseReason, ConnMeta, FlowSummary, SegmentMeta, StreamHandler};
use crossbeam_channel::Sender;
use std::sync::Arc;

/// Options the session layer takes from the command line.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Seconds of packet time between `progress` events; 0 turns them off.
    pub progress_secs: u64,
    /// Keep per-frame lines for `--explain`.
    pub explain: bool,
    /// Hand frames of recognized connections on for pcap output.
    pub pcap: bool,
    /// Also hand on FLAP frames carrying rendezvous messages.
    pub with_rendezvous: bool,
    /// Frames held per unrecognized flow (`Limits::max_held_frames`).
    pub max_held_frames: usize,
    /// Bytes of a midstream connection searched for an OFT2 header
    /// (`Limits::midstream_scan_bytes`).
    pub midstream_scan_bytes: usize,
    /// Ladder lines kept per connection for `--explain` (`Limits::max_ladder_lines`).
    pub max_ladder_lines: usize,
    /// Report a `flow` event for every TCP connection.
    pub flow_records: bool,
}

impl Default for SessionOptions {
    /// The command line's defaults (limits from `Limits::default()`).
    fn default() -> Self {
        let limits = crate::config::Limits::default();
        SessionOptions {
            progress_secs: crate::config::DEFAULT_PROGRESS_SECS,
            explain: false,
            pcap: false,
            with_rendezvous: false,
            max_held_frames: limits.max_held_frames,
            midstream_scan_bytes: limits.midstream_scan_bytes,
            max_ladder_lines: limits.max_ladder_lines,
            flow_records: true,
        }
    }
}

/// Counted by the session layer of one worker: `held_frames_dropped`, `data_conns`,
/// `flap_conns`, `bytes_discarded`, `ladder_lines_dropped` of the counters registry.
pub type SessionCounters = crate::stats::Counters;

pub struct SessionHandler {
    reports: Sender<ReportBatch>,
    /// Reports gathered during one batch of frames, sent together: one channel
    /// operation (and at most one wake-up of the event thread) per batch. Each carries
    /// the worker's packet clock when it was made, so the event thread can merge the
    /// workers' reports in time order before correlating them.
    pending: Vec<(Timestamp, Report)>,
    /// Latest packet time this worker has seen; never goes back.
    clock: Timestamp,
    opts: Arc<SessionOptions>,
    carver: Option<Arc<Carver>>,
    worker: u64,
    next_conn: u64,
    pub counters: SessionCounters,
    /// Scratch for rendezvous events of one data call.
    icbm: Vec<IcbmEvent>,
}

enum Class {
    Unknown,
    Data(Box<DataConn>),
    Flap(Box<FlapConn>),
    Other,
}

/// Per-connection state, kept inside the flow table.
pub struct FlowState {
    id: ConnId,
    class: Class,
    /// The first bytes of each direction, while they are too few to classify.
    prefix: [Vec<u8>; 2],
    syn_ack: Option<At>,
    handshake: Option<At>,
    held: Vec<Frame>,
    held_lost: u64,
    /// The connection produced a phase: its frames go on.
    recognized: bool,
    midstream_scan_left: usize,
    /// What each direction of a midstream connection carried while it was scanned, for
    /// the machine if an OFT2 header turns up (boxed: only such connections have it).
    pickup: Option<Box<[Unframed; 2]>>,
    outs: Vec<Out>,
    ladder: Vec<LadderLine>,
    /// Phases completed by the frame being processed, for its ladder line.
    frame_notes: Vec<&'static str>,
    seg: Option<SegmentMeta>,
    /// The frame being processed completed a file-transfer rendezvous message.
    rv_frame: Option<crate::proto::Cookie>,
    /// Boxed: a carve handle is large and only transfers being carved have one, while
    /// this state lives in every flow-table slot.
    carve: Option<Box<CarveFile>>,
    carve_primary: bool,
    /// Last frame of the connection, and the direction that first sent FIN or RST.
    last: At,
    closer: Option<Direction>,
}

impl Default for FlowState {
    fn default() -> Self {
        FlowState {
            id: ConnId(0),
            class: Class::Unknown,
            prefix: [Vec::new(), Vec::new()],
            syn_ack: None,
            handshake: None,
            held: Vec::new(),
            held_lost: 0,
            recognized: false,
            midstream_scan_left: 0,
            pickup: None,
            outs: Vec::new(),
            ladder: Vec::new(),
            frame_notes: Vec::new(),
            seg: None,
            rv_frame: None,
            carve: None,
            carve_primary: true,
            last: At::default(),
            closer: None,
        }
    }
}

/// What the machine said during one call, turned into reports afterwards (when the
/// connection's cookie and roles are up to date).
enum Out {
    Phase(Phase, Arrow, At, Box<PhaseDetail>),
    File(Box<FileEnd>, Option<String>),
    Progress(At, String, u64, u64, f64),
}

/// Bytes of a direction kept for classification.
const PREFIX_MAX: usize = 16;

impl SessionHandler {
    pub fn new(
        worker: usize,
        reports: Sender<ReportBatch>,
        opts: Arc<SessionOptions>,
        carver: Option<Arc<Carver>>,
    ) -> Self {
        SessionHandler {
            reports,
            pending: Vec::new(),
            clock: Timestamp(0),
            opts,
            carver,
            worker: worker as u64,
            next_conn: 0,
            counters: SessionCounters::default(),
            icbm: Vec::new(),
        }
    }

    fn send(&mut self, r: Report) {
        self.pending.push((self.clock, r));
    }

    /// Moves the packet clock on (every handler call that carries a time does).
    fn clock_at(&mut self, ts: Timestamp) {
        self.clock = self.clock.max(ts);
    }

    /// Hands the gathered reports to the correlator.
    pub fn flush_reports(&mut self) {
        if !self.pending.is_empty() {
            // The correlator outlives the workers; a send error means it already failed
            // and reported why.
            let _ = self.reports.send(ReportBatch {
                worker: self.worker as usize,
                reports: std::mem::take(&mut self.pending),
            });
        }
    }

    fn conn_ref(st: &FlowState, conn: &ConnMeta) -> ConnRef {
        let (cookie, token, proxied) = match &st.class {
            Class::Data(d) => (
                d.machine.cookie,
                d.machine.proxy.as_ref().and_then(|p| p.token),
                d.machine.proxy.is_some(),
            ),
            _ => (None, None, false),
        };
        ConnRef {
            id: st.id,
            client: conn.client(),
            server: conn.server(),
            cookie,
            token,
            proxied,
        }
    }

    /// Decides what a connection is from the first bytes of one direction (`probe`);
    /// false while they are too few.
    fn classify(
        &mut self,
        st: &mut FlowState,
        conn: &ConnMeta,
        dir: Direction,
        probe: &[u8],
        ts: Timestamp,
    ) -> bool {
        let from_client = dir == conn.client_dir;
        let progress = self.opts.progress_secs;
        st.class = match classify_direction(probe) {
            // A midstream connection's bytes are not held: a short chunk is scanned.
            Classification::NeedMore if probe.len() < PREFIX_MAX && !conn.midstream => {
                return false
            }
            Classification::Oft => Class::Data(Box::new(DataConn::new(DataMachine::new(
                conn.client_dir,
                false,
                progress,
            )))),
            Classification::ProxyClient if from_client => Class::Data(Box::new(DataConn::new(
                DataMachine::new(conn.client_dir, true, progress),
            ))),
            Classification::Odc => {
                let mut m = DataMachine::new(conn.client_dir, false, progress);
                m.direct_im = true;
                m.modes = [super::machine::Mode::Ignore; 2];
                let (a, b) = if from_client {
                    (Role::Client, Role::Server)
                } else {
                    (Role::Server, Role::Client)
                };
                st.outs.push(Out::Phase(
                    Phase::DirectIm,
                    Arrow(a, b),
                    At::default(),
                    Box::default(),
                ));
                Class::Data(Box::new(DataConn::new(m)))
            }
            Classification::Flap => {
                self.counters.flap_conns += 1;
                Class::Flap(Box::default())
            }
            _ if conn.midstream && st.midstream_scan_left > 0 => {
                return self.scan_midstream(st, conn, dir, probe, ts)
            }
            _ => Class::Other,
        };
        if let Class::Data(d) = &mut st.class {
            self.counters.data_conns += 1;
            // The other direction was scanned first (a DONE answering data in flight).
            if let Some(seen) = st.pickup.take() {
                d.machine.unframed = *seen;
            }
        }
        st.pickup = None;
        st.prefix = [Vec::new(), Vec::new()];
        true
    }

    /// A connection picked up midstream: look for an OFT2 header at this chunk's start.
    /// Chunks before it are counted and hashed (a DONE may later name the file they end)
    /// but not kept.
    fn scan_midstream(
        &mut self,
        st: &mut FlowState,
        conn: &ConnMeta,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
    ) -> bool {
        st.prefix = [Vec::new(), Vec::new()];
        st.midstream_scan_left = st.midstream_scan_left.saturating_sub(bytes.len());
        if probe_oft(bytes) == Probe::Match {
            let mut m = DataMachine::midstream(conn.client_dir, self.opts.progress_secs);
            if let Some(seen) = st.pickup.take() {
                m.unframed = *seen;
            }
            st.class = Class::Data(Box::new(DataConn::new(m)));
            self.counters.data_conns += 1;
            return true;
        }
        st.pickup.get_or_insert_with(Box::default)[dir.index()].data(bytes, ts);
        if st.midstream_scan_left == 0 {
            st.class = Class::Other;
            st.pickup = None;
        }
        false
    }

    /// Turns the machine's findings into reports.
    fn flush_outs(&mut self, st: &mut FlowState, conn: &ConnMeta) {
        if st.outs.is_empty() {
            return;
        }
        let cref = Self::conn_ref(st, conn);
        if !st.recognized {
            st.recognized = true;
            if let Some(h) = st.handshake.or(st.syn_ack) {
                let detail = PhaseDetail {
                    client: Some(conn.client().to_string()),
                    server: Some(conn.server().to_string()),
                    ..PhaseDetail::default()
                };
                self.send(Report::Phase {
                    conn: cref,
                    phase: Phase::TcpHandshake,
                    arrow: Arrow(Role::Client, Role::Server),
                    ts: h.ts,
                    frame: h.frame,
                    detail,
                });
                note_frame(st, h.frame, "tcp_handshake");
            }
        }
        // Held frames go after this call's phases: the PROMPT names the file, and the
        // first frames start the transfer's `--pcap-dir` file, named after it.
        let release_held = self.opts.pcap && !st.held.is_empty();
        let sender_dir = match &st.class {
            Class::Data(d) => d.machine.sender,
            _ => None,
        };
        for out in std::mem::take(&mut st.outs) {
            match out {
                Out::Phase(phase, arrow, at, detail) => {
                    let at = if at.frame.0 == 0 {
                        st.seg
                            .map(|s| At {
                                ts: s.ts,
                                frame: s.frame,
                            })
                            .unwrap_or(at)
                    } else {
                        at
                    };
                    st.frame_notes.push(phase.as_str());
                    self.send(Report::Phase {
                        conn: cref,
                        phase,
                        arrow,
                        ts: at.ts,
                        frame: at.frame,
                        detail: *detail,
                    });
                }
                Out::File(end, path) => {
                    let (sender, receiver) = match sender_dir {
                        Some(s) => (conn.key.src(s).to_string(), conn.key.dst(s).to_string()),
                        None => (String::new(), String::new()),
                    };
                    let primary =
                        !(cref.proxied && sender_dir.is_some_and(|s| s != conn.client_dir));
                    let file = file_record(&end, path, sender, receiver);
                    self.send(Report::File {
                        conn: cref,
                        file,
                        primary,
                    });
                }
                Out::Progress(at, name, bytes, size, rate) => {
                    let progress = ProgressRecord {
                        ts: at.ts.as_f64(),
                        transfer: String::new(),
                        name,
                        bytes,
                        size,
                        percent: if size > 0 {
                            bytes as f64 * 100.0 / size as f64
                        } else {
                            100.0
                        },
                        rate_bps: rate,
                    };
                    self.send(Report::Progress {
                        conn: cref,
                        progress,
                    });
                }
            }
        }
        if release_held {
            let frames = std::mem::take(&mut st.held);
            self.send(Report::Frames { conn: cref, frames });
        }
    }

    fn on_icbm(&mut self, st: &mut FlowState, conn: &ConnMeta, dir: Direction, at: At) {
        for ev in std::mem::take(&mut self.icbm) {
            let msg = match ev {
                IcbmEvent::Rendezvous(msg) => msg,
                // Only rendezvous ICBMs (channel 2) can be about a transfer; whether this
                // cookie is one, only the correlator knows.
                IcbmEvent::ClientError(e) if e.channel == 2 => {
                    // The error goes back towards the proposer: 4/0B client → server is
                    // the decliner speaking.
                    let outgoing = dir == conn.client_dir;
                    let flap = flap_ends(conn, dir, outgoing);
                    let (record, mut prediction) = decline_report(&e, flap, at, outgoing);
                    prediction.segment = segment_of(st, at);
                    st.rv_frame = Some(e.cookie);
                    self.send(Report::Rendezvous { record, prediction });
                    continue;
                }
                _ => continue,
            };
            let direct_im = msg.capability == Capability::DIRECT_IM;
            if msg.capability != Capability::SEND_FILE && !direct_im {
                continue;
            }
            st.rv_frame = Some(msg.cookie);
            // SNAC 4/6 goes from an OSCAR client to the server, whichever side of the
            // TCP connection looked like the client when it was picked up midstream.
            let outgoing = match msg.snac.1 {
                6 => true,
                7 => false,
                _ => dir == conn.client_dir,
            };
            let flap = flap_ends(conn, dir, outgoing);
            let (record, mut prediction) = rendezvous_report(&msg, flap, at, outgoing, direct_im);
            prediction.segment = segment_of(st, at);
            self.send(Report::Rendezvous { record, prediction });
        }
    }
}

/// The OSCAR client and server of a FLAP connection, from who sent a message.
fn flap_ends(conn: &ConnMeta, dir: Direction, outgoing: bool) -> (Endpoint, Endpoint) {
    if outgoing {
        (conn.key.src(dir), conn.key.dst(dir))
    } else {
        (conn.key.dst(dir), conn.key.src(dir))
    }
}

/// TCP flags and payload length of the frame that completed a message, for `--explain`.
fn segment_of(st: &FlowState, at: At) -> Option<(crate::decode::TcpFlags, u32)> {
    st.seg
        .filter(|s| s.frame == at.frame)
        .map(|s| (s.flags, s.payload_len))
}

fn note_frame(st: &mut FlowState, frame: FrameNo, note: &'static str) {
    if let Some(l) = st.ladder.iter_mut().find(|l| l.frame == frame) {
        if l.note.is_empty() {
            l.note = note.to_string();
        } else {
            l.note = format!("{note}, {}", l.note);
        }
    }
}

/// Collects the machine's output for one call; file bytes go straight to the carver.
struct Sink<'a> {
    outs: &'a mut Vec<Out>,
    carver: Option<&'a Carver>,
    carve: &'a mut Option<Box<CarveFile>>,
    primary: bool,
}

impl MachineSink for Sink<'_> {
    fn phase(&mut self, phase: Phase, arrow: Arrow, at: At, detail: PhaseDetail) {
        self.outs
            .push(Out::Phase(phase, arrow, at, Box::new(detail)));
    }
    fn file_start(&mut self, name: &[String], size: u64, offset: u64) {
        if let (Some(c), true) = (self.carver, self.primary) {
            *self.carve = Some(Box::new(c.start_file(name, size, offset)));
        }
    }
    fn file_data(&mut self, offset: u64, bytes: &[u8]) {
        if let Some(f) = self.carve.as_mut() {
            let _ = f.write_at(offset, bytes);
        }
    }
    fn file_end(&mut self, end: &FileEnd) -> Option<String> {
        let mut end = end.clone();
        let path = self.carve.take().and_then(|f| {
            let whole = matches!(
                end.status,
                super::machine::FileStatus::Complete | super::machine::FileStatus::Resumed
            ) && end.missing.is_empty();
            let r = f.finish(whole).ok()?;
            // The event describes the file at `path`: a resumed transfer's prefix that was
            // never on this wire is missing from it even when the protocol says the
            // receiver held it.
            end.missing = r.missing.iter().map(|&(a, b)| [a, b]).collect();
            Some(r.path.display().to_string())
        });
        self.outs.push(Out::File(Box::new(end), path.clone()));
        path
    }
    fn progress(&mut self, at: At, name: &str, bytes: u64, size: u64, rate_bps: f64) {
        self.outs
            .push(Out::Progress(at, name.to_string(), bytes, size, rate_bps));
    }
}

impl StreamHandler for SessionHandler {
    type State = FlowState;

    fn batch_end(&mut self, now: Timestamp) {
        // Tells the event thread that nothing older than `now` will come from this
        // worker, so it can put events of all workers in time order.
        self.clock_at(now);
        self.send(Report::Watermark {
            worker: self.worker as usize,
            ts: now,
        });
        self.flush_reports();
    }

    fn open(&mut self, st: &mut FlowState, conn: &ConnMeta) {
        self.next_conn += 1;
        st.id = ConnId(self.worker << 56 | self.next_conn);
        if conn.midstream {
            st.midstream_scan_left = self.opts.midstream_scan_bytes;
        }
    }

    fn segment(&mut self, st: &mut FlowState, conn: &ConnMeta, seg: &SegmentMeta) {
        self.clock_at(seg.ts);
        st.seg = Some(*seg);
        st.rv_frame = None;
        let at = At {
            ts: seg.ts,
            frame: seg.frame,
        };
        st.last = at;
        if st.closer.is_none() && (seg.flags.fin() || seg.flags.rst()) {
            st.closer = Some(seg.dir);
        }
        let from_client = seg.dir == conn.client_dir;
        if seg.flags.syn() && seg.flags.ack() && !from_client {
            st.syn_ack = Some(at);
        } else if st.handshake.is_none()
            && st.syn_ack.is_some()
            && from_client
            && seg.flags.ack()
            && !seg.flags.syn()
        {
            st.handshake = Some(at);
        }
    }

    fn data(
        &mut self,
        st: &mut FlowState,
        conn: &ConnMeta,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
        frame: FrameNo,
    ) {
        self.clock_at(ts);
        let at = At { ts, frame };
        if let Class::Unknown = st.class {
            let d = dir.index();
            let prior = std::mem::take(&mut st.prefix[d]);
            let decided = if prior.is_empty() {
                self.classify(st, conn, dir, bytes, ts)
            } else {
                let mut probe = prior.clone();
                probe.extend_from_slice(&bytes[..bytes.len().min(PREFIX_MAX)]);
                self.classify(st, conn, dir, &probe, ts)
            };
            if !decided {
                if matches!(st.class, Class::Unknown) && !conn.midstream {
                    // Too few bytes yet: hold them (at most a few segments' worth).
                    let mut held = prior;
                    held.extend_from_slice(&bytes[..bytes.len().min(PREFIX_MAX)]);
                    st.prefix[d] = held;
                }
                return;
            }
            if !prior.is_empty() {
                self.feed(st, conn, dir, &prior, at);
            }
        }
        self.feed(st, conn, dir, bytes, at);
    }

    fn gap(
        &mut self,
        st: &mut FlowState,
        _conn: &ConnMeta,
        dir: Direction,
        len: u64,
        ts: Timestamp,
    ) {
        self.clock_at(ts);
        match &mut st.class {
            Class::Data(d) => d.gap(dir, len),
            Class::Flap(f) => f.gap(dir),
            Class::Unknown => {
                // The start of this direction is gone: classification starts over.
                st.prefix[dir.index()].clear();
                if let Some(seen) = st.pickup.as_mut() {
                    seen[dir.index()].gap(len);
                }
            }
            Class::Other => {}
        }
    }

    fn frame(&mut self, st: &mut FlowState, conn: &ConnMeta, frame: Frame) {
        self.clock_at(frame.ts);
        let seg = st.seg.take();
        if self.opts.explain && matches!(st.class, Class::Data(_) | Class::Unknown) {
            if let Some(s) = seg {
                if st.ladder.len() < self.opts.max_ladder_lines {
                    let note = std::mem::take(&mut st.frame_notes).join(", ");
                    st.ladder.push(LadderLine {
                        frame: s.frame,
                        ts: s.ts,
                        from_client: s.dir == conn.client_dir,
                        flags: s.flags,
                        payload_len: s.payload_len,
                        note,
                    });
                } else {
                    self.counters.ladder_lines_dropped += 1;
                }
            } else if st.recognized {
                self.late_ladder_line(st, conn, &frame);
            }
        }
        st.frame_notes.clear();
        if !self.opts.pcap {
            return;
        }
        match st.class {
            Class::Data(_) if st.recognized => {
                // Consecutive frames of one connection travel in one report.
                if let Some((_, Report::Frames { conn: c, frames })) = self.pending.last_mut() {
                    if c.id == st.id {
                        frames.push(frame);
                        return;
                    }
                }
                let cref = Self::conn_ref(st, conn);
                self.send(Report::Frames {
                    conn: cref,
                    frames: vec![frame],
                });
            }
            Class::Data(_) | Class::Unknown => {
                if st.held.len() < self.opts.max_held_frames {
                    st.held.push(frame);
                } else {
                    st.held_lost += 1;
                    self.counters.held_frames_dropped += 1;
                }
            }
            Class::Flap(_) if self.opts.with_rendezvous => {
                if let Some(cookie) = st.rv_frame.take() {
                    self.send(Report::RendezvousFrame { cookie, frame });
                }
            }
            _ => {
                st.held.clear();
            }
        }
    }

    fn close(
        &mut self,
        st: &mut FlowState,
        conn: &ConnMeta,
        summary: &FlowSummary,
        reason: CloseReason,
        ts: Timestamp,
    ) {
        self.clock_at(ts);
        // A connection that never carried a byte (a SYN refused with RST, an attempt
        // that timed out) may be a try the rendezvous predicted: the correlator decides.
        let silent = summary
            .dirs
            .iter()
            .all(|d| d.bytes == 0 && d.gap_bytes == 0);
        if silent && !conn.midstream && matches!(st.class, Class::Unknown) {
            let cref = Self::conn_ref(st, conn);
            let frames = std::mem::take(&mut st.held);
            self.send(Report::Attempt { conn: cref, frames });
        }
        if let Class::Data(d) = &mut st.class {
            let mut sink = Sink {
                outs: &mut st.outs,
                carver: self.carver.as_deref(),
                carve: &mut st.carve,
                primary: st.carve_primary,
            };
            d.machine.on_close(ts, &mut sink);
            self.counters.bytes_discarded += d.discarded;
            self.flush_outs(st, conn);
            if st.recognized {
                let cref = Self::conn_ref(st, conn);
                let detail = PhaseDetail {
                    reason: Some(reason.as_str().to_string()),
                    ..PhaseDetail::default()
                };
                let Class::Data(d) = &st.class else {
                    unreachable!()
                };
                // Timeouts and end of input happen after the last frame, not at it.
                let at = match reason {
                    CloseReason::Fin | CloseReason::Rst => st.last,
                    _ => At {
                        ts,
                        frame: st.last.frame,
                    },
                };
                let closer = st.closer.unwrap_or(conn.client_dir);
                let arrow = d.machine.arrow(closer);
                self.send(Report::Phase {
                    conn: cref,
                    phase: Phase::Close,
                    arrow,
                    ts: at.ts,
                    frame: at.frame,
                    detail,
                });
                let m = &d.machine;
                let outcome = ConnOutcome {
                    kind: if m.direct_im {
                        SessionKind::DirectIm
                    } else {
                        SessionKind::File
                    },
                    start: conn.start,
                    end: ts,
                    sender: m.sender.map(|s| conn.key.src(s)),
                    receiver: m.sender.map(|s| conn.key.dst(s)),
                    proxy_creator: m.proxy.as_ref().and_then(|p| p.creator),
                    proxy_ip: m.proxy.as_ref().and_then(|p| p.proxy_ip),
                    screen_name: m.proxy.as_ref().and_then(|p| p.screen_name.clone()),
                    files: m.files_done,
                    bytes: m.bytes,
                    frames_lost: st.held_lost,
                };
                if self.opts.explain {
                    note_frame(st, at.frame, Phase::Close.as_str());
                    let lines = std::mem::take(&mut st.ladder);
                    self.send(Report::Ladder { conn: cref, lines });
                }
                self.send(Report::Closed {
                    conn: cref,
                    outcome,
                });
            }
        }
        if self.opts.flow_records {
            self.send(Report::Flow(FlowRecord::new(conn, summary, reason, ts)));
        }
    }
}

impl SessionHandler {
    /// A frame after the connection closed (the peer's FIN after an RST, a last ACK) is
    /// still one of its frames: its ladder line follows the ones sent at close.
    fn late_ladder_line(&mut self, st: &FlowState, conn: &ConnMeta, frame: &Frame) {
        let Ok(p) = crate::decode::decode_tcp(frame.link, &frame.data) else {
            return;
        };
        let line = LadderLine {
            frame: frame.no,
            ts: frame.ts,
            from_client: p.src == conn.client(),
            flags: p.flags,
            payload_len: p.payload.len() as u32,
            note: String::new(),
        };
        let cref = Self::conn_ref(st, conn);
        self.send(Report::Ladder {
            conn: cref,
            lines: vec![line],
        });
    }

    fn feed(&mut self, st: &mut FlowState, conn: &ConnMeta, dir: Direction, bytes: &[u8], at: At) {
        match &mut st.class {
            Class::Data(d) => {
                if st.carve.is_none() {
                    st.carve_primary = !(d.machine.proxy.is_some()
                        && d.machine.sender.is_some_and(|s| s != conn.client_dir));
                }
                let mut sink = Sink {
                    outs: &mut st.outs,
                    carver: self.carver.as_deref(),
                    carve: &mut st.carve,
                    primary: st.carve_primary,
                };
                d.feed(dir, bytes, at, &mut sink);
                self.flush_outs(st, conn);
            }
            Class::Flap(f) => {
                f.feed(dir, bytes, &mut self.icbm);
                if !self.icbm.is_empty() {
                    self.on_icbm(st, conn, dir, at);
                }
            }
            Class::Unknown | Class::Other => {}
        }
    }
}
