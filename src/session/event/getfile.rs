//! A Get File header (0x11xx / 0x12xx), as a phase reports it.

use crate::proto::Cookie;
use crate::session::phase::GetFileKind;

#[derive(Clone, Debug, PartialEq)]
pub struct GetFileStep {
    pub kind: GetFileKind,
    /// The header's name field: the listing's name, or the file or folder asked for.
    pub name: String,
    /// The header's size field (the listing's size on an offer).
    pub size: u64,
    pub cookie: Option<Cookie>,
}
