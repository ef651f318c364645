//! Throughput over packet time as inline SVG: payload bytes per interval, one line per
//! connection (leg) of the transfer, with the phases marked on the time axis.

use super::esc;
use super::ladder::Parties;
use crate::session::event::{ConnEnds, Ladder};
use crate::session::phase::Phase;
use std::fmt::Write as _;

const W: f64 = 900.0;
const H: f64 = 330.0;
/// Plot area inside the picture.
const X0: f64 = 80.0;
const X1: f64 = 700.0;
const Y0: f64 = 30.0;
const Y1: f64 = 230.0;
const BINS: u64 = 60;
const COLOURS: [&str; 4] = ["#1f5fbf", "#d2691e", "#2e8b57", "#8a4fbf"];

/// A bin width of 1, 2 or 5 times a power of ten nanoseconds, at least `span / BINS`.
fn bin_ns(span_ns: u64) -> u64 {
    let want = (span_ns / BINS).max(1_000);
    let mut p = 1u64;
    loop {
        for m in [1, 2, 5] {
            if p * m >= want {
                return p * m;
            }
        }
        p *= 10;
    }
}

fn duration_label(ns: u64) -> String {
    if ns >= 1_000_000_000 {
        format!("{} s", ns as f64 / 1e9)
    } else if ns >= 1_000_000 {
        format!("{} ms", ns as f64 / 1e6)
    } else {
        format!("{} µs", ns as f64 / 1e3)
    }
}

pub fn svg(l: &Ladder, parties: &Parties) -> String {
    let times = l
        .frames
        .iter()
        .map(|(_, f)| f.ts.0)
        .chain(l.rendezvous.iter().map(|r| r.at.ts.0));
    let (t0, t1) = times.fold((u64::MAX, 0), |(a, b), t| (a.min(t), b.max(t)));
    if t0 > t1 {
        return "<p class=\"muted\">No frames.</p>\n".to_string();
    }
    let bin = bin_ns((t1 - t0).max(1));
    let nbins = ((t1 - t0) / bin + 1) as usize;
    let legs = per_leg(l, t0, bin, nbins);
    let peak = legs
        .iter()
        .flat_map(|(_, b)| b.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let span = (nbins as u64 * bin) as f64;
    let x = |ns: u64| X0 + (X1 - X0) * (ns - t0) as f64 / span;
    let y = |v: u64| Y1 - (Y1 - Y0) * v as f64 / peak as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"throughput of {}\">",
        l.transfer
    );
    axes(&mut s, peak, span, bin);
    phase_marks(&mut s, l, &x);
    for (i, (conn, bins)) in legs.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut pts = String::new();
        for (b, v) in bins.iter().enumerate() {
            let (xa, xb) = (x(t0 + b as u64 * bin), x(t0 + (b as u64 + 1) * bin));
            let _ = write!(pts, "{xa:.1},{:.1} {xb:.1},{:.1} ", y(*v), y(*v));
        }
        let _ = write!(
            s,
            "<polyline points=\"{pts}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>"
        );
        let ly = Y0 + 16.0 * i as f64;
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"4\" fill=\"{colour}\"/><text x=\"{}\" y=\"{ly}\" font-size=\"11\">leg {}: {} ↔ {}</text>",
            X1 + 12.0,
            ly - 5.0,
            X1 + 28.0,
            i + 1,
            esc(&party(parties, conn.0)),
            esc(&party(parties, conn.1)),
        );
    }
    s.push_str("</svg>\n");
    s
}

fn party(parties: &Parties, ep: crate::flow::Endpoint) -> String {
    let i = parties.lane(ep.ip);
    parties
        .lanes
        .get(i)
        .map_or_else(|| ep.to_string(), |(label, _)| label.clone())
}

/// Payload bytes per bin for each connection, in order of first frame.
fn per_leg(l: &Ladder, t0: u64, bin: u64, nbins: usize) -> Vec<(ConnEnds, Vec<u64>)> {
    let mut legs: Vec<(ConnEnds, Vec<u64>)> = Vec::new();
    let mut frames: Vec<_> = l.frames.iter().collect();
    frames.sort_by_key(|(_, f)| f.frame);
    for (conn, f) in frames {
        let i = match legs.iter().position(|(c, _)| c == conn) {
            Some(i) => i,
            None => {
                legs.push((*conn, vec![0; nbins]));
                legs.len() - 1
            }
        };
        let b = (((f.ts.0 - t0) / bin) as usize).min(nbins - 1);
        legs[i].1[b] += u64::from(f.payload_len);
    }
    legs
}

fn axes(s: &mut String, peak: u64, span: f64, bin: u64) {
    let _ = write!(
        s,
        "<rect x=\"{X0}\" y=\"{Y0}\" width=\"{}\" height=\"{}\" fill=\"#f7f9fc\" stroke=\"#99a\"/>",
        X1 - X0,
        Y1 - Y0
    );
    for k in 0..=4u64 {
        let v = peak * k / 4;
        let yy = Y1 - (Y1 - Y0) * k as f64 / 4.0;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{v}</text><line x1=\"{X0}\" y1=\"{yy:.1}\" x2=\"{X1}\" y2=\"{yy:.1}\" stroke=\"#dde\"/>",
            X0 - 4.0,
            yy + 3.0
        );
    }
    // Time ticks at a round step (1, 2 or 5 times a power of ten): at most six.
    let step = bin_ns((span / 5.0 * BINS as f64) as u64);
    let decimals = (9 - (step as f64).log10().floor() as i32).clamp(0, 6) as usize;
    let mut t = 0u64;
    while (t as f64) <= span {
        let xx = X0 + (X1 - X0) * t as f64 / span;
        let _ = write!(
            s,
            "<line x1=\"{xx:.1}\" y1=\"{Y1}\" x2=\"{xx:.1}\" y2=\"{}\" stroke=\"#99a\"/><text x=\"{xx:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{:.decimals$}</text>",
            Y1 + 4.0,
            Y1 + 14.0,
            t as f64 / 1e9
        );
        t += step;
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">time since the transfer's first frame (s)</text><text x=\"16\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">payload bytes per {}</text>",
        (X0 + X1) / 2.0,
        Y1 + 32.0,
        (Y0 + Y1) / 2.0,
        (Y0 + Y1) / 2.0,
        duration_label(bin)
    );
}

/// A dashed line where each phase happened, labelled under the time axis.
fn phase_marks(s: &mut String, l: &Ladder, x: &dyn Fn(u64) -> f64) {
    let mut marks: Vec<(f64, String)> = Vec::new();
    let notes = l.frames.iter().flat_map(|(_, f)| {
        f.notes
            .iter()
            .filter(|p| **p != Phase::DataEnd || f.notes.len() == 1)
            .map(move |p| (f.ts.0, p.as_str().to_string()))
    });
    let rv = l
        .rendezvous
        .iter()
        .map(|r| (r.at.ts.0, r.kind.as_str().to_string()));
    for (t, name) in notes.chain(rv) {
        let xx = x(t);
        if marks
            .iter()
            .any(|(m, n)| (m - xx).abs() < 1.0 && *n == name)
        {
            continue;
        }
        marks.push((xx, name));
    }
    marks.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Each label goes on the first line below the axis where it does not overprint
    // another (about 6 px per character at this size).
    let mut right_edge = [f64::NEG_INFINITY; 4];
    for (xx, name) in marks {
        let half = 3.2 * name.len() as f64;
        let level = right_edge
            .iter()
            .position(|r| *r < xx - half)
            .unwrap_or(right_edge.len() - 1);
        right_edge[level] = xx + half + 4.0;
        let ly = Y1 + 46.0 + 12.0 * level as f64;
        let _ = write!(
            s,
            "<line x1=\"{xx:.1}\" y1=\"{Y0}\" x2=\"{xx:.1}\" y2=\"{Y1}\" stroke=\"#c33\" stroke-width=\"0.8\" stroke-dasharray=\"3 3\"/><text x=\"{xx:.1}\" y=\"{ly}\" font-size=\"10\" fill=\"#a22\" text-anchor=\"middle\">{}</text>",
            esc(&name)
        );
    }
}
