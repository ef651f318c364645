//! One readable line per event for the terminal: time of day (UTC), transfer id, what
//! happened, then key=value details, aligned so a person can follow a LAN and grep it.

use super::schema::{
    capability_name, message_direction, percent, phase_detail, proxy_creator_name, snac_label,
    PhaseDetail,
};
use crate::session::event::{
    Event, FileSeen, FileStatus, LegCounts, MessageRelation, MessageSeen, RendezvousSeen,
    TransferSummary,
};
use crate::session::TransferId;
use std::fmt::Write;

/// `HH:MM:SS.micro` of a Unix time in seconds.
pub fn time_of_day(ts: f64) -> String {
    let micros = (ts.max(0.0) * 1e6).round() as u64;
    let secs = micros / 1_000_000;
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        day / 3600,
        day / 60 % 60,
        day % 60,
        micros % 1_000_000
    )
}

/// `YYYY-MM-DD` (UTC) of a Unix time in seconds.
pub fn date_utc(ts: f64) -> String {
    // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
    let z = (ts.max(0.0) / 86_400.0).floor() as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Time of day as the log writes it, with the date in front when it is not `*last_date`
/// (the first line of a block, or the day changed); `last_date` follows.
pub fn dated_time(ts: f64, last_date: &mut Option<String>) -> String {
    let date = date_utc(ts);
    let time = time_of_day(ts);
    if last_date.as_deref() == Some(date.as_str()) {
        time
    } else {
        let s = format!("{date} {time}");
        *last_date = Some(date);
        s
    }
}

/// Bits per second as a person reads it.
/// `sent=… delivered=… acked=…`, `?` for a count not known.
pub fn legs(l: &LegCounts) -> String {
    let n = |v: Option<u64>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
    format!(
        "sent={} delivered={} acked={}",
        n(l.sent),
        n(l.delivered),
        n(l.acked)
    )
}

pub fn rate(bps: f64) -> String {
    if bps >= 1e9 {
        format!("{:.2} Gbit/s", bps / 1e9)
    } else if bps >= 1e6 {
        format!("{:.2} Mbit/s", bps / 1e6)
    } else if bps >= 1e3 {
        format!("{:.1} kbit/s", bps / 1e3)
    } else {
        format!("{bps:.0} bit/s")
    }
}

fn detail(d: &PhaseDetail) -> String {
    let mut s = String::new();
    let mut kv = |k: &str, v: String| {
        let _ = write!(s, " {k}={v}");
    };
    if let Some(v) = &d.name {
        kv("name", format!("{v:?}"));
    }
    if let Some(v) = d.size {
        kv("size", v.to_string());
    }
    if let (Some(t), Some(l)) = (d.files_total, d.files_left) {
        kv("file", format!("{}/{}", t.saturating_sub(l) + 1, t));
    }
    if let Some(v) = d.offset {
        kv("offset", v.to_string());
    }
    if let Some(v) = d.bytes {
        kv("bytes", v.to_string());
    }
    if let Some(v) = &d.checksum {
        kv("checksum", v.to_string());
    }
    if let Some(v) = &d.screen_name {
        kv("sn", format!("{v:?}"));
    }
    if let Some(v) = d.token {
        kv("token", v.to_string());
    }
    if let Some(v) = &d.proxy_ip {
        kv("proxy_ip", v.clone());
    }
    if let Some(v) = d.error_code {
        kv("error", format!("0x{v:04x}"));
    }
    if let Some(v) = &d.cookie {
        kv("cookie", v.to_string());
    }
    if let (Some(c), Some(sv)) = (&d.client, &d.server) {
        kv("conn", format!("{c}->{sv}"));
    }
    if let Some(v) = &d.client_id {
        kv("client", format!("{v:?}"));
    }
    if let Some(v) = &d.reason {
        kv("reason", v.to_string());
    }
    s
}

/// The line for an event; flows only when `verbose`.
pub fn line(ev: &Event, verbose: bool) -> Option<String> {
    let t = time_of_day(ev.ts().as_f64());
    Some(match ev {
        Event::Phase {
            transfer,
            leg,
            phase,
            ..
        } => {
            // A second leg (the far side of the proxy) says so, or its lines would read
            // as repeats of the first leg's.
            let tag = if *leg > 1 {
                format!("{transfer}#{leg}")
            } else {
                transfer.to_string()
            };
            format!(
                "{t} {:<4} {:<15} {:<17}{}",
                tag,
                phase.step.phase().as_str(),
                phase.arrow.to_string(),
                detail(&phase_detail(&phase.step))
            )
        }
        Event::File { transfer, file } => file_line(&t, *transfer, file),
        Event::Progress {
            transfer,
            progress: p,
        } => format!(
            "{t} {:<4} {:<15} {:<17} name={:?} bytes={}/{} ({:.1}%) {}",
            transfer.to_string(),
            "progress",
            "",
            p.name,
            p.bytes,
            p.size,
            percent(p.bytes, p.size),
            rate(p.rate_bps)
        ),
        Event::Rendezvous { transfer, rv } => rendezvous_line(&t, *transfer, rv),
        Event::Transfer(x) => transfer_line(&t, x),
        Event::Flow(f) if verbose => format!(
            "{t} {:<4} {:<15} {:<17} {} -> {}{} pkts={}/{} bytes={}/{} gaps={} ({} B)",
            "-",
            "flow",
            f.close.as_str(),
            f.client,
            f.server,
            if f.midstream { " midstream" } else { "" },
            f.packets_c2s,
            f.packets_s2c,
            f.bytes_c2s,
            f.bytes_s2c,
            f.gaps,
            f.gap_bytes
        ),
        Event::Flow(_) => return None,
        Event::Message { transfer, msg } => message_line(&t, *transfer, msg),
    })
}

fn file_line(t: &str, transfer: TransferId, file: &FileSeen) -> String {
    let f = &file.end;
    let seen = f
        .checksum_seen
        .map_or_else(|| "?".to_string(), |c| c.to_string());
    let check = match f.checksum_ok {
        Some(true) => format!("checksum {seen} ok"),
        Some(false) => format!(
            "checksum MISMATCH seen {seen} announced {}",
            f.checksum_expected
        ),
        None => match f.checksum_partial {
            Some(p) => format!("checksum n/a (partial {p})"),
            None => "checksum n/a".to_string(),
        },
    };
    let mut s = format!(
        "{t} {:<4} {:<15} {:<17} name={:?} bytes={}/{} {} in {:.3}s ({}) {}",
        transfer.to_string(),
        "file",
        f.status.as_str(),
        f.name,
        f.bytes,
        f.size,
        legs(&f.legs),
        f.duration_s(),
        rate(f.rate_bps()),
        check
    );
    if let Some(p) = &file.path {
        let _ = write!(s, " saved={:?}", p.display().to_string());
    }
    if !f.missing.is_empty() {
        let _ = write!(s, " missing={}", f.missing.len());
    }
    // Picked up midstream: how much of the file went by before the capture saw it.
    if let (FileStatus::UnknownStart, Some([0, end])) = (f.status, f.missing.first()) {
        let _ = write!(s, " unseen_prefix={end}");
    }
    s
}

/// `--messages`: who wrote what to whom, and where it falls against their transfer.
fn message_line(t: &str, link: Option<(TransferId, MessageRelation)>, m: &MessageSeen) -> String {
    let mut s = format!(
        "{t} {:<4} {:<15} {:<17} {:?} -> {:?}",
        link.map_or_else(|| "-".to_string(), |(id, _)| id.to_string()),
        "message",
        message_direction(m),
        m.from().unwrap_or("?"),
        m.to().unwrap_or("?"),
    );
    if let Some((_, r)) = link {
        let _ = write!(s, " ({} the transfer)", r.as_str());
    }
    let _ = write!(s, " text={:?}", m.text);
    if m.auto_response {
        s.push_str(" auto-response");
    }
    s
}

fn rendezvous_line(t: &str, transfer: TransferId, r: &RendezvousSeen) -> String {
    let mut s = format!(
        "{t} {:<4} {:<15} {:<17} snac={} flap={}->{} cookie={}",
        transfer.to_string(),
        format!("rv_{}", r.kind.as_str()),
        capability_name(r),
        snac_label(r.snac),
        r.flap_client,
        r.flap_server,
        r.cookie
    );
    if let Some(v) = &r.screen_name {
        let _ = write!(s, " sn={v:?}");
    }
    if let Some(v) = r.request_no {
        let _ = write!(s, " request={v}");
    }
    let ip = |i: Option<std::net::Ipv4Addr>| i.map_or_else(|| "?".to_string(), |i| i.to_string());
    if r.use_proxy {
        let _ = write!(s, " proxy={} token={}", ip(r.ip), r.port.unwrap_or(0));
    } else if let Some(p) = r.port {
        let peer = r.verified_ip.or(r.client_ip).or(r.ip);
        let _ = write!(s, " peer={}:{p}", ip(peer));
    }
    if let Some(v) = &r.file_name {
        let _ = write!(s, " file={v:?}");
    }
    if let Some(v) = r.total_size {
        let _ = write!(s, " size={v}");
    }
    if let Some(v) = r.cancel_reason {
        let _ = write!(s, " reason={v}");
    }
    if let Some(v) = r.nak_code {
        let _ = write!(s, " nak_code={v}");
    }
    s
}

fn transfer_line(t: &str, x: &TransferSummary) -> String {
    let ep =
        |e: Option<crate::flow::Endpoint>| e.map_or_else(|| "?".to_string(), |e| e.to_string());
    let mut s = format!(
        "{t} {:<4} {:<15} {:<17} {} -> {}",
        x.transfer.to_string(),
        "transfer",
        x.kind.as_str(),
        ep(x.sender),
        ep(x.receiver)
    );
    if let Some(p) = &x.proxy {
        let _ = write!(s, " via proxy {p}");
        if let Some(c) = x.proxy_creator {
            let _ = write!(s, " (created by {})", proxy_creator_name(x, c));
        }
    }
    if x.sender_name.is_some() || x.receiver_name.is_some() {
        let _ = write!(
            s,
            " names {:?} -> {:?}",
            x.sender_name.as_deref().unwrap_or("?"),
            x.receiver_name.as_deref().unwrap_or("?")
        );
    }
    if let Some(d) = &x.direct_im {
        // initiator -> peer / peer -> initiator.
        let (a, b) = (&d.initiator_to_peer, &d.peer_to_initiator);
        let _ = write!(
            s,
            " messages={}/{} typing={}/{} bytes={}/{} attachments={}/{}",
            a.messages,
            b.messages,
            a.typing,
            b.typing,
            a.bytes,
            b.bytes,
            a.attachment_bytes,
            b.attachment_bytes
        );
        if x.cancelled {
            s.push_str(" CANCELLED");
        }
        return s;
    }
    let _ = write!(
        s,
        " files={} bytes={} {} {}",
        x.files,
        x.bytes,
        legs(&x.legs_carried),
        rate(x.rate_bps())
    );
    if x.cancelled {
        s.push_str(" CANCELLED");
    }
    s
}

#[cfg(test)]
mod tests;
