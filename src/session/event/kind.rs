//! What a transfer is.

/// Kind of peer session a data connection carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    File,
    DirectIm,
    /// Get File: the receiver browsed the sender's shared folder.
    GetFile,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::File => "file",
            SessionKind::DirectIm => "directim",
            SessionKind::GetFile => "getfile",
        }
    }
}
