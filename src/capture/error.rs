//! What can go wrong while opening or reading a frame source, phrased for the person at the
//! terminal: every error displays as one line that says what happened and, where there is
//! one, what to do about it.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::filter::FilterError;
use super::frame::FrameNo;

/// A capture source could not be opened or read any further. `main` prints it and exits 2.
#[derive(Debug)]
pub enum CaptureError {
    /// The named interface does not exist (in this network namespace).
    NoSuchInterface { iface: String },
    /// The process may not open a packet socket.
    Permission { iface: String, exe: PathBuf },
    /// The interface exists but is down, or went away while capturing.
    InterfaceDown { iface: String },
    /// Any other failure of a live-capture system call.
    Live {
        iface: String,
        what: &'static str,
        source: io::Error,
    },
    /// The capture filter does not compile (for this source's link type).
    Filter(FilterError),
    /// The interface's framing is not one the decoder understands.
    UnsupportedInterfaceType { iface: String, arphrd: u16 },

    /// The capture file does not exist.
    FileNotFound { path: PathBuf },
    /// The path names a directory (or something else that is not a regular file).
    NotAFile { path: PathBuf },
    /// `-r` named directories (and files) that held no file to read.
    NoFiles { path: PathBuf },
    /// Standard input, a pipe or a FIFO among several `-r` inputs: a set is probed for
    /// its first frames and read again, which a stream cannot be.
    StreamInSet { path: PathBuf },
    /// The capture file exists but cannot be read.
    Unreadable { path: PathBuf, source: io::Error },
    /// The capture file has no bytes at all.
    EmptyFile { path: PathBuf },
    /// The first four bytes are neither a pcap nor a pcapng magic number.
    BadMagic { path: PathBuf, magic: u32 },
    /// The file ends inside its file (or first section) header.
    TruncatedHeader { path: PathBuf },
    /// A pcap header, or a pcapng interface that carries packets, names a link type
    /// oftsniff cannot decode.
    UnsupportedLinkType { path: PathBuf, linktype: u32 },
    /// A record is malformed in a way that makes everything after it unreadable.
    CorruptRecord {
        path: PathBuf,
        frame: FrameNo,
        offset: u64,
        reason: String,
    },
    /// A record claims to be larger than any frame can be; refusing it avoids allocating
    /// whatever a corrupt length field asks for.
    RecordTooLarge {
        path: PathBuf,
        frame: FrameNo,
        offset: u64,
        claimed: u64,
        limit: u64,
    },
}

impl CaptureError {
    /// Classifies an OS error from a live-capture call: permission and unknown-interface
    /// errors get their own messages, everything else is reported with the call that failed.
    pub fn from_os(iface: &str, what: &'static str, err: io::Error) -> CaptureError {
        match err.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => CaptureError::permission(iface),
            Some(libc::ENODEV) | Some(libc::ENXIO) => CaptureError::NoSuchInterface {
                iface: iface.to_string(),
            },
            Some(libc::ENETDOWN) => CaptureError::InterfaceDown {
                iface: iface.to_string(),
            },
            _ => CaptureError::Live {
                iface: iface.to_string(),
                what,
                source: err,
            },
        }
    }

    pub fn permission(iface: &str) -> CaptureError {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("oftsniff"));
        CaptureError::Permission {
            iface: iface.to_string(),
            exe,
        }
    }

    /// Maps an error from opening a capture file to the case the user has to act on.
    pub fn from_open(path: PathBuf, err: io::Error) -> CaptureError {
        match err.kind() {
            io::ErrorKind::NotFound => CaptureError::FileNotFound { path },
            _ if err.raw_os_error() == Some(libc::EISDIR) => CaptureError::NotAFile { path },
            _ => CaptureError::Unreadable { path, source: err },
        }
    }
}

/// `io::Error`'s own text is one line on Linux; this keeps it so if a source ever adds more.
struct OneLine<'a>(&'a dyn fmt::Display);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.to_string();
        f.write_str(&s.replace(['\n', '\r'], " "))
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CaptureError::*;
        f.write_str("oftsniff: ")?;
        match self {
            NoSuchInterface { iface } => {
                write!(f, "no such interface '{iface}' (see oftsniff -D)")
            }
            Permission { iface, exe } => write!(
                f,
                "no permission to capture on {iface}: run with sudo, or grant the binary the \
                 capability: sudo setcap cap_net_raw,cap_net_admin+ep {}",
                exe.display()
            ),
            InterfaceDown { iface } => write!(f, "interface {iface} is down"),
            Filter(e) => write!(f, "{e}"),
            Live {
                iface,
                what,
                source,
            } => {
                write!(f, "capture on {iface} failed: {what}: {}", OneLine(source))
            }
            UnsupportedInterfaceType { iface, arphrd } => write!(
                f,
                "interface {iface} has hardware type {arphrd}, which oftsniff cannot decode \
                 (supported: Ethernet, loopback, raw IP)"
            ),
            FileNotFound { path } => write!(f, "{}: no such file", path.display()),
            NotAFile { path } => write!(f, "{}: not a regular file", path.display()),
            NoFiles { path } => write!(f, "{}: no capture files to read", path.display()),
            StreamInSet { path } => write!(
                f,
                "{}: a pipe or standard input can only be read alone (one -r)",
                path.display()
            ),
            Unreadable { path, source } => {
                write!(f, "{}: cannot read: {}", path.display(), OneLine(source))
            }
            EmptyFile { path } => {
                write!(
                    f,
                    "{}: empty file, not a pcap or pcapng capture",
                    path.display()
                )
            }
            BadMagic { path, magic } => write!(
                f,
                "{}: not a pcap or pcapng file (bad magic 0x{magic:08x})",
                path.display()
            ),
            TruncatedHeader { path } => {
                write!(
                    f,
                    "{}: truncated: the file ends inside its header",
                    path.display()
                )
            }
            UnsupportedLinkType { path, linktype } => {
                write!(f, "{}: unsupported link type {linktype}", path.display())
            }
            CorruptRecord {
                path,
                frame,
                offset,
                reason,
            } => write!(
                f,
                "{}: corrupt record (frame {frame}, byte offset {offset}): {}",
                path.display(),
                OneLine(reason)
            ),
            RecordTooLarge {
                path,
                frame,
                offset,
                claimed,
                limit,
            } => write!(
                f,
                "{}: corrupt record (frame {frame}, byte offset {offset}): claims {claimed} \
                 bytes, more than the {limit}-byte limit for one record",
                path.display()
            ),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaptureError::Live { source, .. } | CaptureError::Unreadable { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// Something wrong with the input that did not stop the read; reported once at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureWarning {
    /// The file ends in the middle of its last record; every frame before it was read.
    TruncatedLastRecord {
        path: PathBuf,
        frame: FrameNo,
        offset: u64,
        bytes_left: u64,
    },
    /// The file shrank while it was being read (another process truncated or rewrote it);
    /// the frames before `frame` were read, the rest of the file is left out.
    ChangedWhileRead {
        path: PathBuf,
        frame: FrameNo,
        offset: u64,
    },
}

impl fmt::Display for CaptureWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureWarning::TruncatedLastRecord {
                path,
                frame,
                offset,
                bytes_left,
            } => write!(
                f,
                "oftsniff: warning: {}: truncated: the last record (frame {frame}, byte offset \
                 {offset}) is cut short after {bytes_left} bytes; the {} frames before it were \
                 read",
                path.display(),
                frame.0.saturating_sub(1)
            ),
            CaptureWarning::ChangedWhileRead {
                path,
                frame,
                offset,
            } => write!(
                f,
                "oftsniff: warning: {}: the file shrank while it was being read (byte offset \
                 {offset}); the {} frames before it were read, the rest is left out",
                path.display(),
                frame.0.saturating_sub(1)
            ),
        }
    }
}
