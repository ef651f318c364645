//! Where carved files go: the session stage streams a file's bytes through these traits
//! as they pass, and `crate::output::carve` puts them on disk.

use std::path::PathBuf;

/// Receives the files of every data connection of a worker.
pub trait FileStore: Send + Sync {
    /// A file about to arrive. `components` is the OFT name split at its separators;
    /// offsets given to `write_at` are file offsets, so a transfer resumed at `offset`
    /// writes its bytes from there on.
    fn start_file(&self, components: &[String], size: u64, offset: u64) -> Box<dyn StoredFile>;
    /// A file could not be written (then no further file is): the run must end in
    /// failure.
    fn failed(&self) -> bool {
        false
    }
}

/// One file being written.
pub trait StoredFile: Send {
    /// A failed write is the store's to report (in `finish`); the stream goes on.
    fn write_at(&mut self, offset: u64, bytes: &[u8]);
    /// Closes the file; `whole` says every announced byte crossed the wire and the
    /// transfer ended normally.
    fn finish(self: Box<Self>, whole: bool) -> Stored;
}

/// Where a file was stored, what of it is missing there, and why it is not all there
/// when writing failed.
#[derive(Clone, Debug, Default)]
pub struct Stored {
    /// None when nothing could be written.
    pub path: Option<PathBuf>,
    /// Byte ranges `[start, end)` of the file that are not in it (with a path).
    pub missing: Vec<[u64; 2]>,
    /// The write error that stopped the file, or why it was not carved at all.
    pub error: Option<String>,
}
