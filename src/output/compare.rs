//! `--compare A B`: two transfers side by side, aligned by protocol step. Each side's
//! frames and FLAP messages are grouped by the step the session layer marked them with
//! (a frame without a phase of its own belongs to the step before it on its connection;
//! a SYN to the handshake it opens, or to a refused attempt when none completed; a FIN or
//! RST to its connection's teardown); rows
//! are the steps in protocol order, the n-th occurrence of a step beside the other
//! side's n-th, so a step one side lacks shows as one-sided.

use super::human::{rate, time_of_day};
use super::report::esc;
use crate::capture::{FrameNo, Timestamp};
use crate::flow::Endpoint;
use crate::session::event::{ConnEnds, Ladder, RvType, TransferSummary};
use crate::session::phase::Phase;
use std::collections::HashMap;
use std::fmt::Write as _;

/// A protocol step, as the rows of the table name them, in protocol order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepKey {
    Propose,
    RefusedSyn,
    Handshake,
    ProxyInit,
    ProxyAck,
    ProxyReady,
    ProxyError,
    Accept,
    Prompt,
    Ack,
    Resume,
    ResumeAccept,
    ResumeAck,
    Data,
    Done,
    Cancel,
    Decline,
    Teardown,
    DirectIm,
    GetFile,
    OtherRendezvous,
}

impl StepKey {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKey::Propose => "FLAP PROPOSE",
            StepKey::RefusedSyn => "refused SYN",
            StepKey::Handshake => "TCP handshake",
            StepKey::ProxyInit => "proxy INIT",
            StepKey::ProxyAck => "proxy ACK",
            StepKey::ProxyReady => "proxy READY",
            StepKey::ProxyError => "proxy ERROR",
            StepKey::Accept => "FLAP ACCEPT",
            StepKey::Prompt => "PROMPT",
            StepKey::Ack => "ACK",
            StepKey::Resume => "RESUME",
            StepKey::ResumeAccept => "RESUME_ACCEPT",
            StepKey::ResumeAck => "RESUME_ACK",
            StepKey::Data => "data",
            StepKey::Done => "DONE",
            StepKey::Cancel => "FLAP CANCEL",
            StepKey::Decline => "FLAP decline",
            StepKey::Teardown => "teardown",
            StepKey::DirectIm => "direct IM",
            StepKey::GetFile => "Get File listing / request",
            StepKey::OtherRendezvous => "FLAP other",
        }
    }

    fn of_phase(p: Phase) -> StepKey {
        match p {
            Phase::TcpHandshake => StepKey::Handshake,
            Phase::ProxyInitSend | Phase::ProxyInitRecv => StepKey::ProxyInit,
            Phase::ProxyAck => StepKey::ProxyAck,
            Phase::ProxyReady => StepKey::ProxyReady,
            Phase::ProxyError => StepKey::ProxyError,
            Phase::Prompt => StepKey::Prompt,
            Phase::Ack => StepKey::Ack,
            Phase::Resume => StepKey::Resume,
            Phase::ResumeAccept => StepKey::ResumeAccept,
            Phase::ResumeAck => StepKey::ResumeAck,
            Phase::DataStart | Phase::DataEnd => StepKey::Data,
            Phase::Done => StepKey::Done,
            Phase::Close => StepKey::Teardown,
            Phase::Propose => StepKey::Propose,
            Phase::Accept => StepKey::Accept,
            Phase::Cancel => StepKey::Cancel,
            Phase::DirectIm => StepKey::DirectIm,
            Phase::GetFile(_) => StepKey::GetFile,
        }
    }

    fn of_rendezvous(k: RvType) -> StepKey {
        match k {
            RvType::Propose => StepKey::Propose,
            RvType::Accept => StepKey::Accept,
            RvType::Cancel => StepKey::Cancel,
            RvType::Decline => StepKey::Decline,
            RvType::Other => StepKey::OtherRendezvous,
        }
    }
}

/// The frames of one side that carry one occurrence of a step.
#[derive(Clone, Debug)]
pub struct Group {
    pub step: StepKey,
    /// 1 for the first time the step happens on this side, 2 for the second, …
    pub occurrence: u32,
    /// Frame number, TCP payload length, time.
    pub frames: Vec<(FrameNo, u32, Timestamp)>,
}

/// One transfer, grouped by step.
#[derive(Clone, Debug)]
pub struct Side {
    /// How the user named it (`capture.pcap:T1`).
    pub label: String,
    pub summary: Option<TransferSummary>,
    pub first: Timestamp,
    pub groups: Vec<Group>,
}

/// Both sides, and the rows aligning them.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub sides: [Side; 2],
    /// Per row: the step, its occurrence, and the index of each side's group.
    pub rows: Vec<(StepKey, u32, [Option<usize>; 2])>,
}

impl Side {
    pub fn new(label: String, summary: Option<TransferSummary>, l: &Ladder) -> Self {
        let groups = group(l);
        let first = groups
            .iter()
            .flat_map(|g| g.frames.iter().map(|f| f.2))
            .min()
            .unwrap_or_default();
        Side {
            label,
            summary,
            first,
            groups,
        }
    }
}

type Item = (FrameNo, u32, Timestamp);

/// Builds one side's groups, frame by frame.
#[derive(Default)]
struct Grouper {
    groups: Vec<Group>,
    /// Per connection: the group its last frame went to.
    current: HashMap<ConnEnds, usize>,
    /// Per connection: frames waiting for a group (a SYN before the handshake completes).
    waiting: HashMap<ConnEnds, Vec<Item>>,
    /// Per connection: its one teardown group (FINs, RSTs, the close).
    teardown: HashMap<ConnEnds, usize>,
    /// Connections in order of first frame.
    order: Vec<ConnEnds>,
}

impl Grouper {
    fn new_group(&mut self, conn: ConnEnds, step: StepKey) -> usize {
        let frames = self.waiting.remove(&conn).unwrap_or_default();
        self.groups.push(Group {
            step,
            occurrence: 0,
            frames,
        });
        let g = self.groups.len() - 1;
        if step == StepKey::Teardown {
            self.teardown.insert(conn, g);
        }
        g
    }

    /// The group a frame completing `step` on `conn` joins: the connection's current one
    /// when it is the same step, its teardown for a close, else a new one.
    fn group_for(&mut self, conn: ConnEnds, step: StepKey) -> usize {
        let g = match (self.current.get(&conn), step) {
            (Some(&g), _) if self.groups[g].step == step => g,
            (_, StepKey::Teardown) => match self.teardown.get(&conn) {
                Some(&g) => g,
                None => self.new_group(conn, step),
            },
            _ => self.new_group(conn, step),
        };
        self.current.insert(conn, g);
        g
    }

    fn frame(&mut self, conn: ConnEnds, f: &crate::session::event::LadderLine) {
        if !self.order.contains(&conn) {
            self.order.push(conn);
        }
        let item = (f.frame, f.payload_len, f.ts);
        let closing = f.flags.fin() || f.flags.rst();
        if f.notes.is_empty() && closing {
            let g = self.group_for(conn, StepKey::Teardown);
            self.groups[g].frames.push(item);
        } else if f.notes.is_empty() {
            match self.current.get(&conn) {
                Some(&g) if !f.flags.syn() => self.groups[g].frames.push(item),
                _ => self.waiting.entry(conn).or_default().push(item),
            }
        }
        for p in &f.notes {
            let g = self.group_for(conn, StepKey::of_phase(*p));
            if self.groups[g].frames.last().map(|x| x.0) != Some(f.frame) {
                self.groups[g].frames.push(item);
            }
        }
    }

    /// Frames left waiting: SYNs (and their answers) of attempts that never completed.
    fn finish(mut self) -> Vec<Group> {
        for conn in std::mem::take(&mut self.order) {
            if let Some(frames) = self.waiting.remove(&conn) {
                self.groups.push(Group {
                    step: StepKey::RefusedSyn,
                    occurrence: 0,
                    frames,
                });
            }
        }
        self.groups
    }
}

/// Groups a ladder's frames and FLAP messages by step (see the module comment).
fn group(l: &Ladder) -> Vec<Group> {
    let mut frames: Vec<&(ConnEnds, crate::session::event::LadderLine)> = l.frames.iter().collect();
    frames.sort_by_key(|(_, f)| f.frame);
    let mut grouper = Grouper::default();
    for (conn, f) in frames {
        grouper.frame(*conn, f);
    }
    let mut groups = grouper.finish();
    for r in &l.rendezvous {
        groups.push(Group {
            step: StepKey::of_rendezvous(r.kind),
            occurrence: 0,
            frames: vec![(r.at.frame, r.segment.map_or(0, |s| s.1), r.at.ts)],
        });
    }
    groups.sort_by_key(|g| g.frames.first().map(|f| f.0));
    let mut seen: HashMap<StepKey, u32> = HashMap::new();
    for g in &mut groups {
        let n = seen.entry(g.step).or_default();
        *n += 1;
        g.occurrence = *n;
    }
    groups
}

impl Comparison {
    pub fn new(a: Side, b: Side) -> Self {
        let mut keys: Vec<(StepKey, u32)> = a
            .groups
            .iter()
            .chain(b.groups.iter())
            .map(|g| (g.step, g.occurrence))
            .collect();
        keys.sort();
        keys.dedup();
        let find =
            |s: &Side, k: (StepKey, u32)| s.groups.iter().position(|g| (g.step, g.occurrence) == k);
        let rows = keys
            .into_iter()
            .map(|k| (k.0, k.1, [find(&a, k), find(&b, k)]))
            .collect();
        Comparison {
            sides: [a, b],
            rows,
        }
    }

    /// Row `i`'s cell for side `s`: frames, bytes, time since the side's first frame.
    fn cell(&self, s: usize, g: Option<usize>) -> [String; 3] {
        let Some(g) = g else {
            return ["—".into(), String::new(), String::new()];
        };
        let side = &self.sides[s];
        let g = &side.groups[g];
        let bytes: u64 = g.frames.iter().map(|f| u64::from(f.1)).sum();
        let t = g.frames[0].2.secs_since(side.first);
        [
            frame_list(&g.frames),
            format!("{bytes} B"),
            format!("+{t:.6}s"),
        ]
    }

    fn mark(sides: [Option<usize>; 2]) -> &'static str {
        match sides {
            [Some(_), None] => "A only",
            [None, Some(_)] => "B only",
            _ => "",
        }
    }
}

/// `8,9,10` or, for many, `14..200 (57 frames)`.
fn frame_list(frames: &[(FrameNo, u32, Timestamp)]) -> String {
    if frames.len() <= 4 {
        let v: Vec<String> = frames.iter().map(|f| f.0 .0.to_string()).collect();
        v.join(",")
    } else {
        format!(
            "{}..{} ({} frames)",
            frames[0].0 .0,
            frames[frames.len() - 1].0 .0,
            frames.len()
        )
    }
}

fn side_heading(s: &Side) -> String {
    let ep = |e: Option<Endpoint>| e.map_or_else(|| "?".into(), |e| e.to_string());
    match &s.summary {
        Some(t) => format!(
            "{}: {} -> {}, {}, {} bytes, {}, first frame {}",
            s.label,
            ep(t.sender),
            ep(t.receiver),
            t.proxy
                .map_or_else(|| "direct".to_string(), |p| format!("via proxy {p}")),
            t.bytes,
            rate(t.rate_bps()),
            time_of_day(s.first.as_f64())
        ),
        None => format!("{}: first frame {}", s.label, time_of_day(s.first.as_f64())),
    }
}

/// The table as text, for the terminal.
pub fn text(c: &Comparison) -> String {
    let mut out = format!(
        "A = {}\nB = {}\n",
        side_heading(&c.sides[0]),
        side_heading(&c.sides[1])
    );
    let mut lines = vec![[
        "step".to_string(),
        "A frames".into(),
        "A bytes".into(),
        "A time".into(),
        "B frames".into(),
        "B bytes".into(),
        "B time".into(),
        String::new(),
    ]];
    for (step, occ, sides) in &c.rows {
        let [a0, a1, a2] = c.cell(0, sides[0]);
        let [b0, b1, b2] = c.cell(1, sides[1]);
        let name = if *occ > 1 {
            format!("{} #{occ}", step.as_str())
        } else {
            step.as_str().to_string()
        };
        let mark = Comparison::mark(*sides).to_string();
        lines.push([name, a0, a1, a2, b0, b1, b2, mark]);
    }
    let mut width = [0usize; 8];
    for l in &lines {
        for (w, cell) in width.iter_mut().zip(l) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for l in &lines {
        let mut line = String::new();
        for (i, (cell, w)) in l.iter().zip(width).enumerate() {
            let pad = w - cell.chars().count();
            if matches!(i, 2 | 5) {
                let _ = write!(line, "{}{cell}  ", " ".repeat(pad));
            } else {
                let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The table as an HTML fragment, for the report.
pub fn html(c: &Comparison) -> String {
    let mut h = format!(
        "<p class=\"mono\">A = {}<br>B = {}</p>\n<table id=\"compare-table\"><tr><th>step</th><th>A frames</th><th>A bytes</th><th>A time</th><th>B frames</th><th>B bytes</th><th>B time</th><th></th></tr>\n",
        esc(&side_heading(&c.sides[0])),
        esc(&side_heading(&c.sides[1]))
    );
    for (step, occ, sides) in &c.rows {
        let mark = Comparison::mark(*sides);
        let class = if mark.is_empty() {
            ""
        } else {
            " class=\"one\""
        };
        let name = if *occ > 1 {
            format!("{} #{occ}", step.as_str())
        } else {
            step.as_str().to_string()
        };
        let _ = write!(h, "<tr{class}><td>{}</td>", esc(&name));
        for (s, g) in sides.iter().enumerate() {
            let [f, b, t] = c.cell(s, *g);
            let _ = write!(
                h,
                "<td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
                esc(&f),
                esc(&b),
                esc(&t)
            );
        }
        let _ = writeln!(h, "<td>{mark}</td></tr>");
    }
    h.push_str("</table>\n");
    h
}
