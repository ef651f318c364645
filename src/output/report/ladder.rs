//! The packet ladder as a sequence diagram: one lifeline per party (sender, proxy,
//! receiver, the FLAP server when its messages are part of the story), one arrow per
//! frame or FLAP message, numbered with the capture's frame numbers.

use super::esc;
use crate::output::human::dated_time;
use crate::output::schema::snac_label;
use crate::session::event::{ConnEnds, Ladder, LadderLine, RendezvousSeen, TransferSummary};
use std::fmt::Write as _;
use std::net::IpAddr;

/// The parties of a transfer, one lifeline each, found by address.
pub struct Parties {
    pub lanes: Vec<(String, IpAddr)>,
}

impl Parties {
    pub fn new(t: &TransferSummary, l: &Ladder) -> Self {
        let mut p = Parties { lanes: Vec::new() };
        let sender = t.sender.or(l.sender);
        let receiver = t.receiver.or(l.receiver);
        if let Some(e) = sender {
            p.add("sender", e.ip);
        }
        if let Some(e) = t.proxy {
            p.add("proxy", e.ip);
        }
        if let Some(e) = receiver {
            p.add("receiver", e.ip);
        }
        for ((c, s), _) in &l.frames {
            p.add("peer", c.ip);
            p.add("peer", s.ip);
        }
        for r in &l.rendezvous {
            p.add("OSCAR client", r.flap_client.ip);
            p.add("FLAP server", r.flap_server.ip);
        }
        p
    }

    fn add(&mut self, label: &str, ip: IpAddr) {
        if !self.lanes.iter().any(|(_, i)| *i == ip) {
            self.lanes.push((label.to_string(), ip));
        }
    }

    pub fn lane(&self, ip: IpAddr) -> usize {
        self.lanes.iter().position(|(_, i)| *i == ip).unwrap_or(0)
    }
}

/// One arrow of the diagram.
struct Arrow {
    frame: u64,
    time: String,
    from: usize,
    to: usize,
    label: String,
    /// A FLAP message, drawn in another colour.
    flap: bool,
}

/// Runs of plain frames longer than this are folded into one row.
const FOLD_RUN: usize = 6;
const ROW: i32 = 24;
const LANE_W: i32 = 230;
const LEFT: i32 = 250;

pub fn svg(l: &Ladder, parties: &Parties) -> String {
    let rows = fold(arrows(l, parties));
    let width = LEFT + LANE_W * parties.lanes.len() as i32 + 40;
    let height = 60 + ROW * rows.len() as i32 + 10;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"ladder\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"packet ladder of {}\">",
        l.transfer
    );
    s.push_str("<defs><marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"context-stroke\"/></marker></defs>");
    for (i, (label, ip)) in parties.lanes.iter().enumerate() {
        let x = lane_x(i);
        let _ = write!(
            s,
            "<text x=\"{x}\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{}</text><text x=\"{x}\" y=\"34\" text-anchor=\"middle\" font-size=\"11\" fill=\"#556\">{}</text><line x1=\"{x}\" y1=\"42\" x2=\"{x}\" y2=\"{}\" stroke=\"#99a\" stroke-dasharray=\"4 3\"/>",
            esc(label),
            esc(&ip.to_string()),
            height - 4
        );
    }
    for (i, row) in rows.iter().enumerate() {
        draw_row(&mut s, 60 + ROW * i as i32, row);
    }
    s.push_str("</svg>\n");
    s
}

fn lane_x(i: usize) -> i32 {
    LEFT + LANE_W / 2 + LANE_W * i as i32
}

enum Row {
    Arrow(Arrow),
    /// `n` frames (data and ACKs) carrying `bytes` folded away.
    Folded {
        n: usize,
        bytes: u64,
    },
}

fn draw_row(s: &mut String, y: i32, row: &Row) {
    match row {
        Row::Folded { n, bytes } => {
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#556\">⋮ {n} more frames of data and ACKs, {bytes} payload bytes</text>",
                LEFT + 10,
                y + 4
            );
        }
        Row::Arrow(a) => {
            let (x1, x2) = (lane_x(a.from), lane_x(a.to));
            let colour = if a.flap { "#8a4fbf" } else { "#1f5fbf" };
            let mid = (x1 + x2) / 2;
            let _ = write!(
                s,
                "<text x=\"4\" y=\"{y}\" font-size=\"11\" fill=\"#556\">{}</text><text x=\"{}\" y=\"{y}\" font-size=\"11\" text-anchor=\"end\" font-weight=\"bold\">#{}</text><line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"1.5\" marker-end=\"url(#ah)\"/><text x=\"{mid}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"{colour}\">{}</text>",
                esc(&a.time),
                LEFT - 8,
                a.frame,
                y - 4,
                esc(&a.label)
            );
        }
    }
}

/// A frame of a data connection, or a FLAP message.
enum Item<'a> {
    Frame(&'a ConnEnds, &'a LadderLine),
    Flap(&'a RendezvousSeen),
}

/// Every frame and FLAP message in frame order, each with its payload length when it is
/// a plain frame (no phase, no SYN/FIN/RST) that may be folded away.
fn arrows(l: &Ladder, parties: &Parties) -> Vec<(Arrow, Option<u32>)> {
    let mut items: Vec<(u64, Item)> = l
        .frames
        .iter()
        .map(|(c, line)| (line.frame.0, Item::Frame(c, line)))
        .chain(l.rendezvous.iter().map(|r| (r.at.frame.0, Item::Flap(r))))
        .collect();
    items.sort_by_key(|(f, _)| *f);
    let mut date = None;
    items
        .into_iter()
        .map(|(frame, item)| match item {
            Item::Frame(conn, line) => frame_arrow(frame, conn, line, parties, &mut date),
            Item::Flap(r) => (flap_arrow(frame, r, parties, &mut date), None),
        })
        .collect()
}

fn frame_arrow(
    frame: u64,
    (c, sv): &ConnEnds,
    line: &LadderLine,
    parties: &Parties,
    date: &mut Option<String>,
) -> (Arrow, Option<u32>) {
    let (from, to) = if line.from_client { (c, sv) } else { (sv, c) };
    let notes: Vec<&str> = line.notes.iter().map(|p| p.as_str()).collect();
    let f = line.flags;
    let plain = notes.is_empty() && !(f.syn() || f.fin() || f.rst());
    let arrow = Arrow {
        frame,
        time: dated_time(line.ts.as_f64(), date),
        from: parties.lane(from.ip),
        to: parties.lane(to.ip),
        label: format!("[{f}] len {} {}", line.payload_len, notes.join(", ")),
        flap: false,
    };
    (arrow, plain.then_some(line.payload_len))
}

fn flap_arrow(
    frame: u64,
    r: &RendezvousSeen,
    parties: &Parties,
    date: &mut Option<String>,
) -> Arrow {
    let (from, to) = if r.outgoing {
        (r.flap_client, r.flap_server)
    } else {
        (r.flap_server, r.flap_client)
    };
    let len = r
        .segment
        .map(|(f, n)| format!(" [{f}] len {n}"))
        .unwrap_or_default();
    Arrow {
        frame,
        time: dated_time(r.at.ts.as_f64(), date),
        from: parties.lane(from.ip),
        to: parties.lane(to.ip),
        label: format!("FLAP SNAC {} {}{len}", snac_label(r.snac), r.kind.as_str()),
        flap: true,
    }
}

/// Folds long runs of plain frames (data or ACKs, no phase) to their first and last two.
fn fold(arrows: Vec<(Arrow, Option<u32>)>) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut run: Vec<(Arrow, u32)> = Vec::new();
    let flush = |run: &mut Vec<(Arrow, u32)>, rows: &mut Vec<Row>| {
        if run.len() > FOLD_RUN {
            let n = run.len() - 4;
            let bytes = run[2..run.len() - 2]
                .iter()
                .map(|(_, b)| u64::from(*b))
                .sum();
            let tail = run.split_off(run.len() - 2);
            let middle = run.split_off(2);
            drop(middle);
            rows.extend(run.drain(..).map(|(a, _)| Row::Arrow(a)));
            rows.push(Row::Folded { n, bytes });
            rows.extend(tail.into_iter().map(|(a, _)| Row::Arrow(a)));
        } else {
            rows.extend(run.drain(..).map(|(a, _)| Row::Arrow(a)));
        }
    };
    for (a, plain) in arrows {
        match plain {
            Some(len) => run.push((a, len)),
            None => {
                flush(&mut run, &mut rows);
                rows.push(Row::Arrow(a));
            }
        }
    }
    flush(&mut run, &mut rows);
    rows
}
