//! The file sender's side of the OFT exchange on an established data connection (§3.2, §3.6,
//! §3.7): PROMPT, then ACK / RESUME / DONE (skip), data, DONE — once per file.

use super::files::{checksum_prefix, Offer, OutFile};
use super::log::Log;
use super::net::{self, FrameReader};
use super::{PeerError, Result};
use oftsniff::proto::{checksums_match, parse_oft_header, Cookie, OftHeader, OftType};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

/// Ways to misbehave on purpose, for tests of the sniffer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SendOptions {
    /// Reset the connection (RST) once this many file bytes have been sent, over all files.
    pub abort_after: Option<u64>,
    /// Pace the file data to at most this many bytes per second, so a receiver's cancel
    /// lands while the transfer is still running (as on a slow link).
    pub rate: Option<u64>,
}

/// How the exchange ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Every file acknowledged by a DONE.
    Completed { sent: u64, skipped: usize },
    /// `--abort-after` struck: the connection was reset after `sent` data bytes.
    Aborted { sent: u64 },
    /// The receiver closed or reset the connection in the middle of the data (its cancel):
    /// `sent` data bytes were handed to the kernel before a write failed.
    ReceiverGone { sent: u64 },
}

/// Runs the sender's side for every file of `offer` and closes the connection.
pub fn send_files(
    mut conn: FrameReader,
    cookie: Cookie,
    offer: &Offer,
    opts: SendOptions,
    log: &Log,
) -> Result<SendOutcome> {
    let total =
        u16::try_from(offer.files.len()).map_err(|_| PeerError("more than 65535 files".into()))?;
    let mut sent: u64 = 0;
    let mut skipped = 0;
    for (i, f) in offer.files.iter().enumerate() {
        let files_left = total - i as u16;
        let prompt = prompt_for(offer, i, cookie);
        let prompt_cookie = prompt.cookie;
        conn.write_all(&prompt.emit())?;
        log.step(format_args!(
            "PROMPT {:?} size {} checksum {:#010x} files_left {files_left}/{total} cookie {}",
            f.name.display(),
            f.size,
            f.checksum,
            prompt_cookie
        ));
        let Some(offset) = start_offset(&mut conn, cookie, &prompt, f, log)? else {
            skipped += 1;
            continue;
        };
        match send_data(&mut conn, f, offset, &mut sent, opts, log)? {
            DataEnd::Sent => {}
            DataEnd::ReceiverGone => return Ok(SendOutcome::ReceiverGone { sent }),
            DataEnd::Abort => {
                // Give the kernel a moment to put the bytes on the wire: an RST discards
                // whatever is still queued, and the point is a reset *after* N bytes.
                std::thread::sleep(Duration::from_millis(300));
                let (stream, _) = conn.into_parts();
                net::abort(stream);
                log.step(format_args!(
                    "--abort-after: connection reset after {sent} data bytes"
                ));
                return Ok(SendOutcome::Aborted { sent });
            }
        }
        check_done(&mut conn, cookie, f, log)?;
    }
    net::finish(conn.stream());
    log.step("all files done; closing");
    Ok(SendOutcome::Completed { sent, skipped })
}

/// The receiver's answer to a PROMPT: where the data starts (ACK: 0, or the offset a RESUME
/// agreed on), or None when it already has the file (DONE: skip).
fn start_offset(
    conn: &mut FrameReader,
    cookie: Cookie,
    prompt: &OftHeader,
    f: &OutFile,
    log: &Log,
) -> Result<Option<u32>> {
    let reply = read_reply(conn, cookie)?;
    match reply.kind {
        OftType::Ack => {
            log.step("got ACK");
            Ok(Some(0))
        }
        OftType::Done => {
            log.step(format_args!(
                "got DONE straight after PROMPT: receiver already has {:?}, skipping",
                f.name.display()
            ));
            Ok(None)
        }
        OftType::Resume => negotiate_resume(conn, cookie, prompt, &reply, f, log).map(Some),
        other => Err(PeerError(format!(
            "expected ACK, RESUME or DONE, got {}",
            other.name()
        ))),
    }
}

/// The receiver's DONE after the data, which must confirm the size and checksum.
fn check_done(conn: &mut FrameReader, cookie: Cookie, f: &OutFile, log: &Log) -> Result<()> {
    let done = read_reply(conn, cookie)?;
    if done.kind != OftType::Done {
        return Err(PeerError(format!(
            "expected DONE after the data, got {}",
            done.kind.name()
        )));
    }
    let ok = checksums_match(done.recv_checksum, f.checksum);
    log.step(format_args!(
        "got DONE: receiver has {} bytes, checksum {:#010x} ({})",
        done.bytes_received,
        done.recv_checksum,
        if ok { "matches" } else { "MISMATCH" }
    ));
    if done.bytes_received != f.size || !ok {
        return Err(PeerError(format!(
            "receiver's DONE disagrees: {} bytes {:#010x}, sent {} bytes {:#010x}",
            done.bytes_received, done.recv_checksum, f.size, f.checksum
        )));
    }
    Ok(())
}

/// The PROMPT for file `i` of `offer`. WinAIM and Pidgin leave the cookie out of the first
/// PROMPT; later ones carry it (Miranda). The modification time is the file's (Kopete, joscar).
pub fn prompt_for(offer: &Offer, i: usize, cookie: Cookie) -> OftHeader {
    let f = &offer.files[i];
    let total = offer.files.len().min(usize::from(u16::MAX)) as u16;
    let mut h = OftHeader::prompt(
        if i == 0 { Cookie::ZERO } else { cookie },
        f.name.clone(),
        f.size,
        f.checksum,
        total,
        total.saturating_sub(i as u16),
        offer.total_size,
    );
    h.mod_time = f.mod_time;
    h
}

/// Reads the receiver's next header and checks it carries the real cookie (Pidgin and joscar
/// close the connection otherwise).
fn read_reply(conn: &mut FrameReader, cookie: Cookie) -> Result<OftHeader> {
    let h = conn.read_frame(parse_oft_header)?;
    if h.cookie != cookie {
        return Err(PeerError(format!(
            "{} carries cookie {}, expected {cookie}",
            h.kind.name(),
            h.cookie
        )));
    }
    Ok(h)
}

/// RESUME → RESUME_ACCEPT → RESUME_ACK; returns the agreed offset.
fn negotiate_resume(
    conn: &mut FrameReader,
    cookie: Cookie,
    prompt: &OftHeader,
    resume: &OftHeader,
    f: &OutFile,
    log: &Log,
) -> Result<u32> {
    let asked = resume.bytes_received;
    log.step(format_args!(
        "got RESUME: receiver holds {asked} bytes, checksum {:#010x}",
        resume.recv_checksum
    ));
    let mine = if asked <= f.size {
        checksum_prefix(&f.path, u64::from(asked))?
    } else {
        0
    };
    // A prefix that differs (or is longer than the file) restarts from 0.
    let agreed = if asked <= f.size && checksums_match(mine, resume.recv_checksum) {
        asked
    } else {
        0
    };
    let agreed_sum = checksum_prefix(&f.path, u64::from(agreed))?;
    let accept = OftHeader {
        bytes_received: agreed,
        recv_checksum: agreed_sum,
        ..prompt.reply(OftType::ResumeAccept, cookie)
    };
    conn.write_all(&accept.emit())?;
    log.step(format_args!(
        "RESUME_ACCEPT offset {agreed}{}",
        if agreed == asked {
            ""
        } else {
            " (prefix differs: from the start)"
        }
    ));
    let ack = read_reply(conn, cookie)?;
    if ack.kind != OftType::ResumeAck {
        return Err(PeerError(format!(
            "expected RESUME_ACK, got {}",
            ack.kind.name()
        )));
    }
    if ack.bytes_received > f.size {
        return Err(PeerError(format!(
            "RESUME_ACK offset {} beyond the file's {} bytes",
            ack.bytes_received, f.size
        )));
    }
    log.step(format_args!("got RESUME_ACK offset {}", ack.bytes_received));
    Ok(ack.bytes_received)
}

enum DataEnd {
    Sent,
    Abort,
    ReceiverGone,
}

/// How long to wait so that `sent` bytes since `start` stay within `rate` bytes per second.
fn pace(start: Instant, sent: u64, rate: Option<u64>) {
    let Some(rate) = rate.filter(|&r| r > 0) else {
        return;
    };
    let due = Duration::from_secs_f64(sent as f64 / rate as f64);
    if let Some(wait) = due.checked_sub(start.elapsed()) {
        std::thread::sleep(wait);
    }
}

/// Writes the file from `offset` on; stops early (for an abort) when `abort_after` is reached.
fn send_data(
    conn: &mut FrameReader,
    f: &OutFile,
    offset: u32,
    sent: &mut u64,
    opts: SendOptions,
    log: &Log,
) -> Result<DataEnd> {
    let abort_after = opts.abort_after;
    let mut file =
        File::open(&f.path).map_err(|e| PeerError(format!("{}: {e}", f.path.display())))?;
    file.seek(SeekFrom::Start(u64::from(offset)))?;
    let mut left = u64::from(f.size - offset);
    log.step(format_args!(
        "sending {left} data bytes from offset {offset}"
    ));
    // Paced writes are small so the pacing is smooth at low rates.
    let chunk = opts
        .rate
        .map_or(64 * 1024, |r| (r / 50).clamp(1, 64 * 1024));
    let mut buf = vec![0u8; chunk as usize];
    let start = Instant::now();
    let mut this_file: u64 = 0;
    while left > 0 {
        let mut want = left.min(buf.len() as u64) as usize;
        if let Some(limit) = abort_after {
            want = want.min(limit.saturating_sub(*sent) as usize);
            if want == 0 {
                return Ok(DataEnd::Abort);
            }
        }
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(PeerError(format!(
                "{}: shrank while sending ({left} bytes missing)",
                f.path.display()
            )));
        }
        if let Err(e) = conn.write_all(&buf[..n]) {
            if receiver_gone(&e) {
                log.step(format_args!(
                    "receiver closed the connection after {sent} data bytes sent ({e})"
                ));
                return Ok(DataEnd::ReceiverGone);
            }
            return Err(e.into());
        }
        *sent += n as u64;
        this_file += n as u64;
        left -= n as u64;
        pace(start, this_file, opts.rate);
    }
    if abort_after.is_some_and(|limit| *sent >= limit) {
        return Ok(DataEnd::Abort);
    }
    log.step("data sent");
    Ok(DataEnd::Sent)
}

/// A write error that means the receiver went away (its socket closed or reset).
fn receiver_gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionReset | BrokenPipe | ConnectionAborted)
}
