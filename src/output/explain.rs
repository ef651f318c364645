//! `--explain`: a transfer's packet ladder as text, one numbered line per frame of its
//! data connections, with its FLAP rendezvous messages between the frames they came
//! between.

use super::human::dated_time;
use super::schema::snac_label;
use crate::session::event::{Ladder, LadderLine, RendezvousSeen};
use std::fmt::Write;

/// The ladder of one transfer: a heading, then its lines in frame order.
pub fn render(ladder: &Ladder) -> String {
    let ep =
        |e: Option<crate::flow::Endpoint>| e.map_or_else(|| "?".to_string(), |e| e.to_string());
    let mut text = format!(
        "== {} {} {} -> {}\n",
        ladder.transfer,
        ladder.kind.as_str(),
        ep(ladder.sender),
        ep(ladder.receiver)
    );
    let mut frames: Vec<_> = ladder.frames.iter().collect();
    frames.sort_by_key(|(_, l)| l.frame);
    let mut rendezvous: Vec<_> = ladder.rendezvous.iter().collect();
    rendezvous.sort_by_key(|r| r.at.frame);
    let mut rv = rendezvous.into_iter().peekable();
    let mut date = None;
    for ((client, server), l) in frames {
        while let Some(r) = rv.next_if(|r| r.at.frame < l.frame) {
            flap_line(&mut text, r, &mut date);
        }
        let time = dated_time(l.ts.as_f64(), &mut date);
        frame_line(
            &mut text,
            &time,
            &client.to_string(),
            &server.to_string(),
            l,
        );
    }
    for r in rv {
        flap_line(&mut text, r, &mut date);
    }
    text
}

fn frame_line(text: &mut String, time: &str, client: &str, server: &str, l: &LadderLine) {
    let arrow = if l.from_client {
        format!("{client} -> {server}")
    } else {
        format!("{client} <- {server}")
    };
    let notes: Vec<&str> = l.notes.iter().map(|p| p.as_str()).collect();
    let _ = writeln!(
        text,
        "{:>7} {time}  {}  [{}] len {}  {}",
        l.frame.0,
        arrow,
        l.flags,
        l.payload_len,
        notes.join(", ")
    );
}

/// As on data lines: the OSCAR client first, the arrow says who sent.
fn flap_line(text: &mut String, r: &RendezvousSeen, date: &mut Option<String>) {
    let time = dated_time(r.at.ts.as_f64(), date);
    let arrow = if r.outgoing { "->" } else { "<-" };
    let tcp = r
        .segment
        .map(|(flags, len)| format!("  [{flags}] len {len}"))
        .unwrap_or_default();
    let file = r
        .file_name
        .as_deref()
        .map(|n| format!(" \"{n}\""))
        .unwrap_or_default();
    let _ = writeln!(
        text,
        "{:>7} {time}  FLAP {} {arrow} {}{tcp}  SNAC {} {}{file}",
        r.at.frame.0,
        r.flap_client,
        r.flap_server,
        snac_label(r.snac),
        r.kind.as_str(),
    );
}
