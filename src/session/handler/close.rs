//! A connection's end: the attempt a rendezvous may have predicted, the last phase and
//! outcome of a data connection, and its flow record.

use super::super::event::{At, FlowSeen, OdcFlow, PhaseSeen, SessionKind, Step};
use super::super::phase::Phase;
use super::super::report::{ConnOutcome, Report};
use super::reports::Sink;
use super::state::{Class, FlowState};
use super::SessionHandler;
use crate::capture::Timestamp;
use crate::flow::Direction;
use crate::reassembly::{CloseReason, ConnMeta, FlowSummary};

impl SessionHandler {
    pub(super) fn close_conn(
        &mut self,
        st: &mut FlowState,
        conn: &ConnMeta,
        summary: &FlowSummary,
        reason: CloseReason,
        ts: Timestamp,
    ) {
        // A connection that never carried a byte (a SYN refused with RST, an attempt
        // that timed out) may be a try the rendezvous predicted: the correlator decides.
        let silent = summary
            .dirs
            .iter()
            .all(|d| d.bytes == 0 && d.gap_bytes == 0);
        if silent && !conn.midstream && matches!(st.class, Class::Unknown(_)) {
            let cref = Self::conn_ref(st, conn);
            let frames = st.held.take();
            self.send(Report::Attempt { conn: cref, frames });
        }
        if matches!(st.class, Class::Data(_)) {
            self.close_data(st, conn, reason, ts);
        }
        if self.opts.flow_records {
            self.send(Report::Flow(FlowSeen::new(conn, summary, reason, ts)));
        }
    }

    fn close_data(
        &mut self,
        st: &mut FlowState,
        conn: &ConnMeta,
        reason: CloseReason,
        ts: Timestamp,
    ) {
        let Class::Data(d) = &mut st.class else {
            return;
        };
        let mut sink = Sink {
            outs: &mut st.outs,
            store: self.store.as_deref(),
            carve: &mut st.carve.file,
            primary: st.carve.primary,
        };
        d.machine.on_close(ts, &mut sink);
        self.counters.bytes_discarded += d.discarded;
        self.flush_outs(st, conn);
        if !st.recognized {
            return;
        }
        // Timeouts and end of input happen after the last frame, not at it.
        let at = match reason {
            CloseReason::Fin => st.last,
            CloseReason::Rst => st.reset.unwrap_or(st.last),
            _ => At {
                ts,
                frame: st.last.frame,
            },
        };
        let cref = Self::conn_ref(st, conn);
        let Class::Data(d) = &st.class else {
            return;
        };
        let closer = st.closer.unwrap_or(conn.client_dir);
        let phase = PhaseSeen {
            step: Step::Close { reason },
            arrow: d.machine.arrow(closer),
            at,
        };
        self.send(Report::Phase { conn: cref, phase });
        let outcome = outcome(st, conn, ts);
        if self.opts.explain {
            st.ladder.note_frame(at.frame, Phase::Close);
            let lines = std::mem::take(&mut st.ladder.lines);
            self.send(Report::Ladder { conn: cref, lines });
        }
        self.send(Report::Closed {
            conn: cref,
            outcome,
        });
    }
}

/// What a data connection amounted to, for its transfer's record.
fn outcome(st: &FlowState, conn: &ConnMeta, ts: Timestamp) -> ConnOutcome {
    let Class::Data(d) = &st.class else {
        unreachable!("only data connections have an outcome")
    };
    let m = &d.machine;
    let proxy = m.proxy.as_ref();
    ConnOutcome {
        kind: if m.direct_im {
            SessionKind::DirectIm
        } else if m.get_file {
            SessionKind::GetFile
        } else {
            SessionKind::File
        },
        start: conn.start,
        end: ts,
        sender: m.sender.map(|s| conn.key.src(s)),
        receiver: m.sender.map(|s| conn.key.dst(s)),
        proxy_creator: proxy.and_then(|p| p.creator),
        proxy_ip: proxy.and_then(|p| p.proxy_ip),
        screen_name: proxy.and_then(|p| p.screen_name.clone()),
        files: m.files_done,
        bytes: m.bytes,
        frames_lost: st.held.lost,
        odc: if m.direct_im {
            [Direction::AtoB, Direction::BtoA]
                .into_iter()
                .map(|d| OdcFlow {
                    from: conn.key.src(d),
                    screen_name: m.odc[d.index()].screen_name.clone(),
                    counts: m.odc[d.index()].counts,
                })
                .collect()
        } else {
            Vec::new()
        },
    }
}
