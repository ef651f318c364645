//! The file receiver's side of the OFT exchange (§3.2, §3.6, §3.7): for each PROMPT, ACK and
//! receive, DONE at once when the file is already here (skip), or RESUME from a partial file.

use super::files::{checksum_prefix, local_path};
use super::log::Log;
use super::net::FrameReader;
use super::{PeerError, Result};
use oftsniff::proto::{checksums_match, parse_oft_header, Cookie, OftChecksum, OftHeader, OftType};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// What the receiver has and where it writes.
#[derive(Clone, Debug, Default)]
pub struct RecvOptions {
    /// Directory for received files (folder components become subdirectories).
    pub out: PathBuf,
    /// A file the receiver already has: a PROMPT with its size and checksum is answered with
    /// DONE straight away (skip).
    pub have: Option<PathBuf>,
    /// A partial copy: a PROMPT for a larger file is answered with RESUME from its length.
    pub resume_from: Option<PathBuf>,
    /// Cancel as libpurple does: close the socket once this many data bytes of the first
    /// file have arrived, without a DONE (the sender's bytes still in flight meet RSTs).
    pub cancel_after: Option<u64>,
}

/// What happened to one offered file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStatus {
    Complete {
        path: PathBuf,
        bytes: u32,
    },
    Skipped,
    Resumed {
        path: PathBuf,
        offset: u32,
    },
    /// `--cancel-after`: the connection was closed after `bytes` data bytes.
    Cancelled {
        path: PathBuf,
        bytes: u64,
    },
}

/// Runs the receiver's side until the last file's DONE, then closes.
pub fn receive_files(
    mut conn: FrameReader,
    cookie: Cookie,
    opts: &RecvOptions,
    log: &Log,
) -> Result<Vec<FileStatus>> {
    let mut done = Vec::new();
    let mut resume_used = false;
    loop {
        let prompt = read_prompt(&mut conn, cookie, log)?;
        let last = prompt.files_left <= 1;
        let status = if already_have(opts.have.as_deref(), &prompt)? {
            let skip = prompt.done(cookie, prompt.size, prompt.checksum, last);
            conn.write_all(&skip.emit())?;
            log.step("already have it: DONE (skip)");
            FileStatus::Skipped
        } else {
            let partial = match &opts.resume_from {
                Some(p) if !resume_used => usable_partial(p, &prompt)?,
                _ => None,
            };
            resume_used |= partial.is_some();
            let status = receive_file(&mut conn, cookie, &prompt, partial, opts, log)?;
            if let FileStatus::Cancelled { bytes, .. } = status {
                drop(conn);
                log.step(format_args!(
                    "--cancel-after: closed the connection after {bytes} data bytes"
                ));
                done.push(status);
                return Ok(done);
            }
            status
        };
        done.push(status);
        if last {
            log.step("last file done; closing");
            return Ok(done);
        }
    }
}

/// The next PROMPT, which must carry no cookie or the rendezvous one.
fn read_prompt(conn: &mut FrameReader, cookie: Cookie, log: &Log) -> Result<OftHeader> {
    let prompt = conn.read_frame(parse_oft_header)?;
    if prompt.kind != OftType::Prompt {
        return Err(PeerError(format!(
            "expected PROMPT, got {}",
            prompt.kind.name()
        )));
    }
    log.step(format_args!(
        "got PROMPT {:?} size {} checksum {:#010x} files_left {}/{} cookie {}",
        prompt.name.display(),
        prompt.size,
        prompt.checksum,
        prompt.files_left,
        prompt.total_files,
        if prompt.cookie.is_zero() {
            "zero".to_owned()
        } else {
            prompt.cookie.to_string()
        }
    ));
    if !prompt.cookie.is_zero() && prompt.cookie != cookie {
        return Err(PeerError(format!(
            "PROMPT cookie {} is not the rendezvous cookie {cookie}",
            prompt.cookie
        )));
    }
    Ok(prompt)
}

/// ACK (or RESUME from `partial`), the data, and the DONE for one file.
fn receive_file(
    conn: &mut FrameReader,
    cookie: Cookie,
    prompt: &OftHeader,
    partial: Option<(PathBuf, u32)>,
    opts: &RecvOptions,
    log: &Log,
) -> Result<FileStatus> {
    let dest = local_path(&opts.out, &prompt.name)?;
    let (offset, sum) = match partial {
        Some((p, len)) => resume(conn, cookie, prompt, &p, len, &dest, log)?,
        None => {
            conn.write_all(&prompt.ack(cookie).emit())?;
            log.step("ACK");
            if let Some(dir) = dest.parent() {
                fs::create_dir_all(dir)?;
            }
            File::create(&dest).map_err(|e| PeerError(format!("{}: {e}", dest.display())))?;
            (0, OftChecksum::new())
        }
    };
    let sum = match receive_data(conn, prompt, offset, sum, &dest, opts, log)? {
        Received::All(sum) => sum,
        Received::Cancelled(bytes) => return Ok(FileStatus::Cancelled { path: dest, bytes }),
    };
    let value = sum.value();
    let last = prompt.files_left <= 1;
    conn.write_all(&prompt.done(cookie, prompt.size, value, last).emit())?;
    let ok = checksums_match(value, prompt.checksum);
    log.step(format_args!(
        "DONE: {} bytes, checksum {value:#010x} ({}), written to {}",
        prompt.size,
        if ok { "matches PROMPT" } else { "MISMATCH" },
        dest.display()
    ));
    if !ok {
        return Err(PeerError(format!(
            "{}: checksum {value:#010x} differs from the PROMPT's {:#010x}",
            prompt.name.display(),
            prompt.checksum
        )));
    }
    Ok(if offset > 0 {
        FileStatus::Resumed { path: dest, offset }
    } else {
        FileStatus::Complete {
            path: dest,
            bytes: prompt.size,
        }
    })
}

/// Whether `have` is the PROMPT's file (same size and checksum), the way Kopete decides.
fn already_have(have: Option<&Path>, prompt: &OftHeader) -> Result<bool> {
    let Some(p) = have else {
        return Ok(false);
    };
    let len = fs::metadata(p)
        .map_err(|e| PeerError(format!("--have {}: {e}", p.display())))?
        .len();
    Ok(len == u64::from(prompt.size) && checksums_match(checksum_prefix(p, len)?, prompt.checksum))
}

/// The partial file and its length, when it is shorter than the offered file.
fn usable_partial(p: &Path, prompt: &OftHeader) -> Result<Option<(PathBuf, u32)>> {
    let len = fs::metadata(p)
        .map_err(|e| PeerError(format!("--resume-from {}: {e}", p.display())))?
        .len();
    Ok(u32::try_from(len)
        .ok()
        .filter(|&l| l > 0 && l < prompt.size)
        .map(|l| (p.to_path_buf(), l)))
}

/// RESUME → RESUME_ACCEPT → RESUME_ACK. Copies the agreed prefix of the partial file into
/// `dest` and returns the offset and the checksum state after it.
fn resume(
    conn: &mut FrameReader,
    cookie: Cookie,
    prompt: &OftHeader,
    partial: &Path,
    len: u32,
    dest: &Path,
    log: &Log,
) -> Result<(u32, OftChecksum)> {
    let held = checksum_prefix(partial, u64::from(len))?;
    conn.write_all(&prompt.resume(cookie, len, held).emit())?;
    log.step(format_args!(
        "RESUME: holding {len} bytes of {}, checksum {held:#010x}",
        partial.display()
    ));
    let accept = conn.read_frame(parse_oft_header)?;
    if accept.kind != OftType::ResumeAccept {
        return Err(PeerError(format!(
            "expected RESUME_ACCEPT, got {}",
            accept.kind.name()
        )));
    }
    let offset = accept.bytes_received.min(len);
    log.step(format_args!(
        "got RESUME_ACCEPT offset {}",
        accept.bytes_received
    ));
    // Read the prefix before creating `dest`: the two may be the same file.
    let mut prefix = Vec::with_capacity(offset as usize);
    File::open(partial)?
        .take(u64::from(offset))
        .read_to_end(&mut prefix)?;
    if let Some(dir) = dest.parent() {
        fs::create_dir_all(dir)?;
    }
    File::create(dest)
        .and_then(|mut f| f.write_all(&prefix))
        .map_err(|e| PeerError(format!("{}: {e}", dest.display())))?;
    let mut sum = OftChecksum::new();
    sum.update(&prefix);
    let ack = OftHeader {
        bytes_received: offset,
        recv_checksum: sum.value(),
        ..prompt.reply(OftType::ResumeAck, cookie)
    };
    conn.write_all(&ack.emit())?;
    log.step(format_args!("RESUME_ACK offset {offset}"));
    Ok((offset, sum))
}

enum Received {
    All(OftChecksum),
    /// `--cancel-after` struck after this many bytes.
    Cancelled(u64),
}

/// Appends `size − offset` raw bytes to `dest`, checksumming them; stops early when
/// `--cancel-after` is reached.
fn receive_data(
    conn: &mut FrameReader,
    prompt: &OftHeader,
    offset: u32,
    mut sum: OftChecksum,
    dest: &Path,
    opts: &RecvOptions,
    log: &Log,
) -> Result<Received> {
    let mut out = fs::OpenOptions::new()
        .append(true)
        .open(dest)
        .map_err(|e| PeerError(format!("{}: {e}", dest.display())))?;
    let want = prompt.size - offset;
    let mut got: u32 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while got < want {
        if let Some(limit) = opts.cancel_after.filter(|&l| u64::from(got) >= l) {
            return Ok(Received::Cancelled(u64::from(got).max(limit)));
        }
        let mut room = buf.len().min((want - got) as usize);
        if let Some(limit) = opts.cancel_after {
            room = room.min((limit - u64::from(got)) as usize);
        }
        let n = match conn.read_raw(&mut buf[..room]) {
            Ok(0) => return Err(truncated(got, want, "the sender closed")),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                return Err(truncated(got, want, "connection reset"))
            }
            Err(e) => return Err(truncated(got, want, &e.to_string())),
        };
        out.write_all(&buf[..n])?;
        sum.update(&buf[..n]);
        got += n as u32;
    }
    log.step(format_args!("received {got} data bytes"));
    Ok(Received::All(sum))
}

fn truncated(got: u32, want: u32, why: &str) -> PeerError {
    PeerError(format!("truncated: {why} after {got} of {want} data bytes"))
}
