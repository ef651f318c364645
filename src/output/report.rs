//! `--report FILE.html`: one self-contained page (no scripts, fonts or styles from
//! elsewhere) with a table of the run's transfers, per transfer a throughput chart and
//! the packet ladder as a sequence diagram (both inline SVG), the `--compare` table when
//! there is one, and the run's counters.
//!
//! The page is built from small fragments with `write!`; every string that came from the
//! wire (screen names, file names) or from the user (paths) goes through [`esc`].

mod chart;
mod ladder;

use super::compare::Comparison;
use super::human::{date_utc, rate, time_of_day};
use super::schema::StatsRecord;
use crate::session::event::{Ladder, TransferSummary};
use crate::session::record::RunRecord;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// What the page is drawn from.
pub struct ReportInput<'a> {
    /// One run's record, or (`--compare` over two captures) one per capture: transfer
    /// ids are per capture, so each keeps its own.
    pub records: &'a [&'a RunRecord],
    /// The run's counters; None while it runs (a live page rewritten at an interval).
    pub stats: Option<&'a StatsRecord>,
    pub compare: Option<&'a Comparison>,
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #ccd}\
h3{font-size:15px;margin:16px 0 4px}table{border-collapse:collapse;margin:6px 0}\
td,th{border:1px solid #d4d8e2;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#eef1f7}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.muted{color:#667}.bad{color:#b00020;font-weight:600}.ok{color:#0a7d32}\
.one{background:#fff4d6}code,.mono{font-family:ui-monospace,monospace;font-size:12px}\
svg{display:block;margin:6px 0;max-width:100%;height:auto}svg text{font-family:ui-monospace,monospace}";

/// The whole page.
pub fn render(input: &ReportInput) -> String {
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<title>oftsniff report</title><style>");
    h.push_str(STYLE);
    h.push_str("</style></head><body>\n<h1>oftsniff report</h1>\n");
    let mut transfers: Vec<Row> = input
        .records
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.transfers.iter().map(move |t| Row {
                anchor: if i == 0 {
                    t.transfer.to_string()
                } else {
                    format!("{}-{}", t.transfer, i + 1)
                },
                record: r,
                t,
            })
        })
        .collect();
    transfers.sort_by_key(|r| (r.t.start, r.t.transfer));
    let _ = writeln!(
        h,
        "<p class=\"muted\">{} transfer(s). Times are UTC; frame numbers are the capture's, as Wireshark shows them.</p>",
        transfers.len()
    );
    summary_table(&mut h, &transfers);
    if let Some(c) = input.compare {
        h.push_str("<h2 id=\"compare\">Side by side</h2>\n");
        h.push_str(&super::compare::html(c));
    }
    for row in &transfers {
        transfer_section(&mut h, row);
    }
    counters_section(&mut h, input.stats);
    h.push_str("</body></html>\n");
    h
}

/// A transfer of one of the records, and the page anchor of its section.
struct Row<'a> {
    anchor: String,
    record: &'a RunRecord,
    t: &'a TransferSummary,
}

fn summary_table(h: &mut String, transfers: &[Row]) {
    h.push_str("<h2>Transfers</h2>\n<table id=\"transfers\"><tr><th>id</th><th>time</th><th>sender → receiver</th><th>path</th><th>files</th><th>size</th><th>sent / delivered</th><th>acked</th><th>status</th><th>checksum</th><th>rate</th><th>duration</th></tr>\n");
    for Row { anchor, record, t } in transfers {
        let files: Vec<_> = record.files_of(t.transfer).collect();
        let size: u64 = files.iter().map(|f| f.end.size).sum();
        let names: Vec<String> = files.iter().map(|f| esc(&f.end.name)).collect();
        let status: Vec<&str> = files.iter().map(|f| f.end.status.as_str()).collect();
        let checksum = checksum_cell(&files);
        let status = if t.cancelled {
            "cancelled".to_string()
        } else if status.is_empty() {
            "no file".to_string()
        } else {
            status.join(", ")
        };
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{anchor}\">{id}</a></td><td class=\"mono\">{date} {time}</td><td>{snd} → {rcv}</td><td>{path}</td><td>{n} <span class=\"muted\">{names}</span></td><td class=\"n\">{size}</td><td class=\"n\">{sent} / {delivered}</td><td class=\"n\">{acked}</td><td>{status}</td><td>{checksum}</td><td class=\"n\">{rate}</td><td class=\"n\">{dur:.3} s</td></tr>",
            id = t.transfer,
            date = date_utc(t.start.as_f64()),
            time = time_of_day(t.start.as_f64()),
            snd = party(t.sender_name.as_deref(), t.sender),
            rcv = party(t.receiver_name.as_deref(), t.receiver),
            path = path_cell(t),
            n = t.files,
            names = names.join(", "),
            sent = count(t.legs_carried.sent),
            delivered = count(t.legs_carried.delivered),
            acked = count(t.legs_carried.acked),
            rate = rate(t.rate_bps()),
            dur = t.duration_s(),
        );
    }
    h.push_str("</table>\n");
}

/// A byte count, `?` when not known.
fn count(v: Option<u64>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

/// A screen name (or `?`) and its endpoint.
fn party(name: Option<&str>, ep: Option<crate::flow::Endpoint>) -> String {
    let ep = ep.map_or_else(|| "?".to_string(), |e| e.to_string());
    format!(
        "<b>{}</b> <span class=\"mono muted\">{}</span>",
        esc(name.unwrap_or("?")),
        esc(&ep)
    )
}

fn path_cell(t: &TransferSummary) -> String {
    match t.proxy {
        Some(p) => format!(
            "via proxy <span class=\"mono\">{}</span>",
            esc(&p.to_string())
        ),
        None => "direct".to_string(),
    }
}

fn checksum_cell(files: &[&crate::session::event::FileSeen]) -> String {
    let cells: Vec<String> = files
        .iter()
        .map(|f| match f.end.checksum_ok {
            Some(true) => format!("<span class=\"ok\">{} ok</span>", f.end.checksum_expected),
            Some(false) => format!("<span class=\"bad\">{} bad</span>", f.end.checksum_expected),
            None => format!(
                "<span class=\"muted\">{} unchecked</span>",
                f.end.checksum_expected
            ),
        })
        .collect();
    cells.join("<br>")
}

fn transfer_section(h: &mut String, row: &Row) {
    let (record, t) = (row.record, row.t);
    let _ = writeln!(
        h,
        "<section id=\"{anchor}\"><h2>{id}: {snd} → {rcv}, {path}</h2>",
        anchor = esc(&row.anchor),
        id = t.transfer,
        snd = party(t.sender_name.as_deref(), t.sender),
        rcv = party(t.receiver_name.as_deref(), t.receiver),
        path = path_cell(t),
    );
    match record.ladder(t.transfer) {
        Some(l) => ladder_views(h, t, l),
        None => h.push_str("<p class=\"muted\">No frames were kept for this transfer.</p>\n"),
    }
    h.push_str("</section>\n");
}

fn ladder_views(h: &mut String, t: &TransferSummary, l: &Ladder) {
    let parties = ladder::Parties::new(t, l);
    h.push_str("<h3>Throughput</h3>\n");
    h.push_str(&chart::svg(l, &parties));
    h.push_str("<h3>Packet ladder</h3>\n");
    h.push_str(&ladder::svg(l, &parties));
}

fn counters_section(h: &mut String, stats: Option<&StatsRecord>) {
    h.push_str("<h2 id=\"counters\">How complete this record is</h2>\n");
    let Some(stats) = stats else {
        h.push_str("<p class=\"bad\">The run was still going when this page was written: its counters (drops, gaps, evictions) are added when it ends, and transfers still open are not shown yet.</p>\n");
        return;
    };
    h.push_str("<p class=\"muted\">Every frame, flow or byte the run dropped, evicted or skipped is counted here; zeros mean nothing was lost on the way.</p>\n<table id=\"counters-table\"><tr><th>counter</th><th>value</th><th>meaning</th></tr>\n");
    for c in stats.counters.iter() {
        let class = if c.value > 0 && is_loss(c.name) {
            " class=\"bad\""
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<tr{class}><td class=\"mono\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(c.name),
            c.value,
            esc(c.what)
        );
    }
    h.push_str("</table>\n");
}

/// Counters that say something is missing from the record.
fn is_loss(name: &str) -> bool {
    [
        "drop",
        "gap",
        "evict",
        "truncated",
        "lost",
        "forced",
        "given_up",
        "not_held",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// Fails early when `path` cannot be written (checked before the capture starts).
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(drop)
}

/// Writes the page beside `path` and renames it over `path`, so a reader never sees a
/// half-written report.
pub fn write_atomic(path: &Path, page: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(page.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests;
