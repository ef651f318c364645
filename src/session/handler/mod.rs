//! The worker's stream handler: has each connection classified from its first bytes
//! (`crate::classify`), runs data connections through their state machine and FLAP
//! connections through the rendezvous reader, holds frames until a connection is
//! recognized, and reports everything to the correlator.

mod close;
mod reports;
mod state;

pub use state::FlowState;

use super::event::{At, LadderLine, PhaseSeen, Step};
use super::flap::{FlapConn, FlapFound};
use super::framer::DataConn;
use super::machine::{DataMachine, Mode};
use super::phase::{Arrow, Role};
use super::report::{Clock, ConnId, ConnRef, Report, ReportBatch};
use super::store::FileStore;
use crate::capture::{Frame, FrameNo, Timestamp};
use crate::classify::{Classifier, Found, Verdict};
use crate::flow::Direction;
use crate::reassembly::{CloseReason, ConnMeta, FlowSummary, SegmentMeta, StreamHandler};
use crossbeam_channel::Sender;
use reports::{Out, Sink};
use state::Class;
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
    /// `--messages`: report channel-1 instant messages of FLAP connections.
    pub messages: bool,
    /// `--hash`: the digest of each file.
    pub hash: crate::session::digest::HashAlg,
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
            messages: false,
            hash: Default::default(),
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
    pending: Vec<(Clock, Report)>,
    /// Latest packet time this worker has seen; never goes back.
    clock: Timestamp,
    /// Highest frame number this worker has seen: with `clock`, the order of reports of
    /// one packet time (see `merge`).
    frame: FrameNo,
    /// The packet time of the latest handler call (see `Clock::at`).
    at: Timestamp,
    opts: Arc<SessionOptions>,
    store: Option<Arc<dyn FileStore>>,
    worker: u64,
    next_conn: u64,
    pub counters: SessionCounters,
    /// Scratch for what a FLAP connection carried in one data call.
    found: FlapFound,
}

impl SessionHandler {
    pub fn new(
        worker: usize,
        reports: Sender<ReportBatch>,
        opts: Arc<SessionOptions>,
        store: Option<Arc<dyn FileStore>>,
    ) -> Self {
        SessionHandler {
            reports,
            pending: Vec::new(),
            clock: Timestamp(0),
            frame: FrameNo(0),
            at: Timestamp(0),
            opts,
            store,
            worker: worker as u64,
            next_conn: 0,
            counters: SessionCounters::default(),
            found: FlapFound::default(),
        }
    }

    fn send(&mut self, r: Report) {
        let clock = Clock {
            ts: self.clock,
            frame: self.frame,
            at: self.at,
        };
        self.pending.push((clock, r));
    }

    /// Moves the packet clock on (every handler call that carries a time does).
    fn clock_at(&mut self, ts: Timestamp) {
        self.clock = self.clock.max(ts);
        self.at = ts;
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

    /// The state a connection gets once the classify stage named it.
    fn start(&mut self, st: &mut FlowState, conn: &ConnMeta, found: Found, from_client: bool) {
        let progress = self.opts.progress_secs;
        let pickup = match &mut st.class {
            Class::Unknown(c) => c.take_pickup(),
            _ => None,
        };
        let mut machine = match found {
            Found::Flap => {
                self.counters.flap_conns += 1;
                st.class = Class::Flap(Box::new(FlapConn::new(self.opts.messages)));
                return;
            }
            Found::Oft => DataMachine::new(conn.client_dir, false, progress),
            Found::ProxyClient => DataMachine::new(conn.client_dir, true, progress),
            Found::Midstream => DataMachine::midstream(conn.client_dir, progress),
            Found::Odc => {
                let mut m = DataMachine::new(conn.client_dir, false, progress);
                m.direct_im = true;
                m.odc_announced = true;
                m.modes = [Mode::Odc; 2];
                let arrow = if from_client {
                    Arrow(Role::Client, Role::Server)
                } else {
                    Arrow(Role::Server, Role::Client)
                };
                st.outs.push(Out::Phase(PhaseSeen {
                    step: Step::DirectIm,
                    arrow,
                    at: At::default(),
                }));
                m
            }
        };
        // The other direction was scanned first (a DONE answering data in flight).
        if let Some(seen) = pickup {
            machine.unframed = *seen;
        }
        machine.hash = self.opts.hash;
        self.counters.data_conns += 1;
        st.class = Class::Data(Box::new(DataConn::new(machine)));
    }

    /// Feeds `bytes` of `dir`, which end at stream offset `end`.
    fn feed(&mut self, st: &mut FlowState, conn: &ConnMeta, dir: Direction, bytes: &[u8], at: At) {
        let end = st.stream[dir.index()];
        self.feed_to(st, conn, dir, bytes, at, end);
    }

    fn feed_to(
        &mut self,
        st: &mut FlowState,
        conn: &ConnMeta,
        dir: Direction,
        bytes: &[u8],
        at: At,
        end: u64,
    ) {
        match &mut st.class {
            Class::Data(d) => {
                d.at_stream(dir, end.saturating_sub(bytes.len() as u64));
                d.machine.acked_to = st.acked;
                if st.carve.file.is_none() {
                    st.carve.primary = !(d.machine.proxy.is_some()
                        && d.machine.sender.is_some_and(|s| s != conn.client_dir));
                }
                let mut sink = Sink {
                    outs: &mut st.outs,
                    store: self.store.as_deref(),
                    carve: &mut st.carve.file,
                    primary: st.carve.primary,
                };
                d.feed(dir, bytes, at, &mut sink);
                self.flush_outs(st, conn);
            }
            Class::Flap(f) => {
                f.feed(dir, bytes, &mut self.found);
                if !self.found.is_empty() {
                    self.on_icbm(st, conn, dir, at);
                    self.on_messages(conn, dir, at);
                }
            }
            Class::Unknown(_) | Class::Other => {}
        }
    }

    /// `--explain`: the line of the frame just processed.
    fn ladder_line(&mut self, st: &mut FlowState, conn: &ConnMeta, frame: &Frame) {
        match st.seg.take() {
            Some(s) if st.ladder.lines.len() < self.opts.max_ladder_lines => {
                st.ladder.lines.push(LadderLine {
                    frame: s.frame,
                    ts: s.ts,
                    from_client: s.dir == conn.client_dir,
                    flags: s.flags,
                    payload_len: s.payload_len,
                    notes: std::mem::take(&mut st.ladder.notes),
                });
            }
            Some(_) => self.counters.ladder_lines_dropped += 1,
            None if st.recognized => self.late_ladder_line(st, conn, frame),
            None => {}
        }
    }

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
            notes: Vec::new(),
        };
        let cref = Self::conn_ref(st, conn);
        self.send(Report::Ladder {
            conn: cref,
            lines: vec![line],
        });
    }

    /// pcap output: a recognized connection's frames go on, an unrecognized one's are
    /// held, a FLAP connection's go only when they carried a rendezvous.
    fn pass_frame(&mut self, st: &mut FlowState, conn: &ConnMeta, frame: Frame) {
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
            Class::Data(_) | Class::Unknown(_) => {
                if st.held.len() < self.opts.max_held_frames {
                    st.held.push(frame);
                } else {
                    st.held.lost += 1;
                    self.counters.held_frames_dropped += 1;
                }
            }
            Class::Flap(_) if self.opts.with_rendezvous => {
                if let Some(cookie) = st.rv_frame.take() {
                    self.send(Report::RendezvousFrame { cookie, frame });
                }
            }
            _ => {
                st.held.take();
            }
        }
    }
}

/// Sequence numbers to stream offsets: where each direction's stream starts (after its
/// SYN, or at its first payload when picked up midstream) and how far the peer's
/// cumulative ACK reaches into it.
fn track_acks(st: &mut FlowState, seg: &SegmentMeta) {
    let d = seg.dir.index();
    if seg.flags.syn() {
        st.seq0[d] = Some(seg.seq.wrapping_add(1));
    } else if st.seq0[d].is_none() && seg.payload_len > 0 {
        st.seq0[d] = Some(seg.seq);
    }
    let r = seg.dir.reverse().index();
    if let (true, Some(s0)) = (seg.flags.ack(), st.seq0[r]) {
        // Relative to the last ACK, so streams past 4 GiB wrap correctly.
        let off = seg.ack.wrapping_sub(s0);
        st.acked[r] = match st.acked[r] {
            None if off < 1 << 31 => Some(off as u64),
            None => None,
            Some(a) => Some(a + (off.wrapping_sub(a as u32) as i32).max(0) as u64),
        };
    }
    if let Class::Data(dc) = &mut st.class {
        dc.machine.acked_to = st.acked;
    }
}

impl StreamHandler for SessionHandler {
    type State = FlowState;

    fn counters(&self) -> Option<&crate::stats::Counters> {
        Some(&self.counters)
    }

    fn lazy_open(&self) -> bool {
        // A SYN's frame is held for pcap output and drawn on the ladder; otherwise
        // nothing of it is needed before the flow says more.
        !self.opts.pcap && !self.opts.explain
    }

    fn protected(&self, st: &FlowState) -> bool {
        matches!(st.class, Class::Data(_) | Class::Flap(_))
    }

    fn held_cost(&self, st: &FlowState) -> usize {
        st.held.cost()
    }

    fn buffered_cost(&self, st: &FlowState) -> usize {
        st.class.buffer_cost()
    }

    fn shed(&mut self, st: &mut FlowState) {
        self.counters.memcap_held_frames_dropped += st.held.give_up() as u64;
    }

    fn handed_out(&mut self, frame: FrameNo) {
        self.frame = self.frame.max(frame);
    }

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
        st.class = Class::Unknown(Classifier::new(
            conn.midstream,
            self.opts.midstream_scan_bytes,
        ));
    }

    fn segment(&mut self, st: &mut FlowState, conn: &ConnMeta, seg: &SegmentMeta) {
        self.clock_at(seg.ts);
        self.frame = self.frame.max(seg.frame);
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
        if seg.flags.rst() && st.reset.is_none() {
            st.reset = Some(at);
            if let Class::Data(d) = &mut st.class {
                d.machine.reset = true;
            }
        }
        track_acks(st, seg);
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
        st.stream[dir.index()] += bytes.len() as u64;
        let at = At { ts, frame };
        if let Class::Unknown(c) = &mut st.class {
            let from_client = dir == conn.client_dir;
            let (verdict, prior) = c.offer(dir, from_client, conn.midstream, bytes, ts);
            match verdict {
                Verdict::Wait => return,
                Verdict::Other => {
                    st.class = Class::Other;
                    return;
                }
                Verdict::Found(found) => self.start(st, conn, found, from_client),
            }
            if !prior.is_empty() {
                let end = st.stream[dir.index()].saturating_sub(bytes.len() as u64);
                self.feed_to(st, conn, dir, &prior, at, end);
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
        st.stream[dir.index()] += len;
        match &mut st.class {
            Class::Data(d) => d.gap(dir, len),
            Class::Flap(f) => f.gap(dir),
            Class::Unknown(c) => c.gap(dir, len),
            Class::Other => {}
        }
    }

    fn frame(&mut self, st: &mut FlowState, conn: &ConnMeta, frame: Frame) {
        self.clock_at(frame.ts);
        self.frame = self.frame.max(frame.no);
        if self.opts.explain && matches!(st.class, Class::Data(_) | Class::Unknown(_)) {
            self.ladder_line(st, conn, &frame);
        }
        st.seg = None;
        st.ladder.notes.clear();
        if self.opts.pcap {
            self.pass_frame(st, conn, frame);
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
        self.close_conn(st, conn, summary, reason, ts);
        if self.lazy_open() {
            // Nothing reads a closed connection's reader again when no late frame is kept
            // for the pcap or drawn on a ladder: its state goes now rather than when the
            // flow's linger ends, which a burst of short transfers would otherwise pay for
            // thousands at a time.
            st.class = Class::Other;
            st.outs = Vec::new();
        }
    }
}
