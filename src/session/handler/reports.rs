//! Turns what a connection's state machine and FLAP reader found into reports for the
//! correlator, once the connection's cookie and roles are up to date.

use super::super::event::{
    At, FileEnd, FileSeen, FileStatus, MessageSeen, PhaseSeen, ProgressSeen, Step,
};
use super::super::machine::MachineSink;
use super::super::phase::{Arrow, Phase, Role};
use super::super::report::Report;
use super::super::store::{FileStore, Stored, StoredFile};
use super::state::{Class, FlowState};
use super::SessionHandler;
use crate::flow::{Direction, Endpoint};
use crate::proto::rendezvous::IcbmEvent;
use crate::proto::Capability;
use crate::reassembly::ConnMeta;

/// What the machine said during one call.
pub enum Out {
    Phase(PhaseSeen),
    /// A file ended, with where it was carved (or why not).
    File(Box<FileEnd>, Stored),
    Progress(ProgressSeen),
}

/// Collects the machine's output for one call; file bytes go straight to the store.
pub struct Sink<'a> {
    pub outs: &'a mut Vec<Out>,
    pub store: Option<&'a dyn FileStore>,
    pub carve: &'a mut Option<Box<dyn StoredFile>>,
    pub primary: bool,
}

impl MachineSink for Sink<'_> {
    fn phase(&mut self, step: Step, arrow: Arrow, at: At) {
        self.outs.push(Out::Phase(PhaseSeen { step, arrow, at }));
    }
    fn file_start(&mut self, name: &[String], size: u64, offset: u64) {
        if let (Some(c), true) = (self.store, self.primary) {
            *self.carve = Some(c.start_file(name, size, offset));
        }
    }
    fn file_data(&mut self, offset: u64, bytes: &[u8]) {
        if let Some(f) = self.carve.as_mut() {
            f.write_at(offset, bytes);
        }
    }
    fn file_end(&mut self, mut end: FileEnd) {
        let mut stored = Stored::default();
        if let Some(f) = self.carve.take() {
            let whole = matches!(end.status, FileStatus::Complete | FileStatus::Resumed)
                && end.missing.is_empty();
            stored = f.finish(whole);
            if stored.path.is_some() {
                // The event describes the file at `path`: a resumed transfer's prefix
                // that was never on this wire is missing from it even when the protocol
                // says the receiver held it.
                end.missing = std::mem::take(&mut stored.missing);
            }
        }
        self.outs.push(Out::File(Box::new(end), stored));
    }
    fn progress(&mut self, progress: ProgressSeen) {
        self.outs.push(Out::Progress(progress));
    }
}

impl SessionHandler {
    /// Turns the machine's findings into reports.
    pub(super) fn flush_outs(&mut self, st: &mut FlowState, conn: &ConnMeta) {
        if st.outs.is_empty() {
            return;
        }
        if !st.recognized {
            st.recognized = true;
            self.report_handshake(st, conn);
        }
        // Held frames go after this call's phases: the PROMPT names the file, and the
        // first frames start the transfer's `--pcap-dir` file, named after it.
        let release_held = self.opts.pcap && !st.held.is_empty();
        for out in std::mem::take(&mut st.outs) {
            self.report_out(st, conn, out);
        }
        if release_held {
            let frames = st.held.take();
            let cref = Self::conn_ref(st, conn);
            self.send(Report::Frames { conn: cref, frames });
        }
    }

    fn report_handshake(&mut self, st: &mut FlowState, conn: &ConnMeta) {
        let Some(h) = st.handshake.or(st.syn_ack) else {
            return;
        };
        let step = Step::TcpHandshake {
            client: conn.client(),
            server: conn.server(),
        };
        let phase = PhaseSeen {
            step,
            arrow: Arrow(Role::Client, Role::Server),
            at: h,
        };
        let cref = Self::conn_ref(st, conn);
        self.send(Report::Phase { conn: cref, phase });
        st.ladder.note_frame(h.frame, Phase::TcpHandshake);
    }

    fn report_out(&mut self, st: &mut FlowState, conn: &ConnMeta, out: Out) {
        let cref = Self::conn_ref(st, conn);
        match out {
            Out::Phase(mut phase) => {
                // A phase found before any frame (classification) is the segment's.
                if phase.at.frame.0 == 0 {
                    if let Some(s) = st.seg {
                        phase.at = At {
                            ts: s.ts,
                            frame: s.frame,
                        };
                    }
                }
                if let (Step::Prompt(p), Class::Data(d)) = (&mut phase.step, &st.class) {
                    p.ends = d.machine.sender.map(|s| (conn.key.src(s), conn.key.dst(s)));
                }
                st.ladder.notes.push(phase.step.phase());
                self.send(Report::Phase { conn: cref, phase });
            }
            Out::File(end, stored) => {
                let sender_dir = match &st.class {
                    Class::Data(d) => d.machine.sender,
                    _ => None,
                };
                let primary = !(cref.proxied && sender_dir.is_some_and(|s| s != conn.client_dir));
                let file = Box::new(FileSeen {
                    end: *end,
                    path: stored.path,
                    carve_error: stored.error,
                    sender: sender_dir.map(|s| conn.key.src(s)),
                    receiver: sender_dir.map(|s| conn.key.dst(s)),
                });
                self.send(Report::File {
                    conn: cref,
                    file,
                    primary,
                });
            }
            Out::Progress(progress) => self.send(Report::Progress {
                conn: cref,
                progress,
            }),
        }
    }

    /// Rendezvous messages the FLAP reader found in the data just fed.
    pub(super) fn on_icbm(&mut self, st: &mut FlowState, conn: &ConnMeta, dir: Direction, at: At) {
        for ev in std::mem::take(&mut self.found.icbm) {
            let (mut rv, cookie) = match ev {
                IcbmEvent::Rendezvous(msg) => {
                    let direct_im = msg.capability == Capability::DIRECT_IM;
                    if msg.capability != Capability::SEND_FILE && !direct_im {
                        continue;
                    }
                    // SNAC 4/6 goes from an OSCAR client to the server, whichever side of
                    // the TCP connection looked like the client when it was picked up
                    // midstream.
                    let outgoing = match msg.snac.1 {
                        6 => true,
                        7 => false,
                        _ => dir == conn.client_dir,
                    };
                    let flap = flap_ends(conn, dir, outgoing);
                    let rv = super::super::rendezvous::message(&msg, flap, at, outgoing, direct_im);
                    (rv, msg.cookie)
                }
                // Only rendezvous ICBMs (channel 2) can be about a transfer; whether this
                // cookie is one, only the correlator knows.
                IcbmEvent::ClientError(e) if e.channel == 2 => {
                    // The error goes back towards the proposer: 4/0B client → server is
                    // the decliner speaking.
                    let outgoing = dir == conn.client_dir;
                    let flap = flap_ends(conn, dir, outgoing);
                    (
                        super::super::rendezvous::decline(&e, flap, at, outgoing),
                        e.cookie,
                    )
                }
                _ => continue,
            };
            rv.segment = st.segment_at(at);
            st.rv_frame = Some(cookie);
            self.send(Report::Rendezvous(Box::new(rv)));
        }
    }
}

impl SessionHandler {
    /// Instant messages the FLAP reader found (`--messages` only reads them).
    pub(super) fn on_messages(&mut self, conn: &ConnMeta, dir: Direction, at: At) {
        for im in std::mem::take(&mut self.found.ims) {
            let outgoing = im.snac.1 == crate::proto::rendezvous::SUBTYPE_TO_HOST;
            let (flap_client, flap_server) = flap_ends(conn, dir, outgoing);
            let raw = im.raw_text();
            self.send(Report::Message(Box::new(MessageSeen {
                at,
                outgoing,
                flap_client,
                flap_server,
                peer: im.screen_name,
                own: None,
                text: crate::proto::im::strip_html(&raw),
                raw,
                charset: im.texts.first().map(|t| t.charset),
                auto_response: im.auto_response,
                cookie: im.cookie,
            })));
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
