//! Errors of the output stage. Each renders as one line a person can act on; the binary
//! prefixes it with `oftsniff: ` and exits with code 2.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum OutputError {
    /// A file or directory could not be created, opened, written or synced.
    Write { path: PathBuf, source: io::Error },
    /// A path that must be a directory is something else (or a symlink, which is refused).
    NotADirectory { path: PathBuf },
    /// Options that do not fit together, e.g. `-W` without `-C`.
    Config(String),
    /// The writer thread ended before it was finished (it panicked).
    WriterGone,
}

impl OutputError {
    pub fn write(path: &Path, source: io::Error) -> Self {
        OutputError::Write {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The OS reason without Rust's " (os error N)" tail, which means nothing to a user.
fn reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputError::Write { path, source } => {
                write!(f, "cannot write {}: {}", path.display(), reason(source))
            }
            OutputError::NotADirectory { path } => {
                write!(f, "cannot write into {}: not a directory", path.display())
            }
            OutputError::Config(msg) => f.write_str(msg),
            OutputError::WriterGone => f.write_str("pcap writer thread died; output is incomplete"),
        }
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OutputError::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
