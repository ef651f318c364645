//! A frame's bytes: its own buffer (copied once, out of the kernel ring, a pipe or a
//! recycled buffer), or a range of a capture file mapped into memory (not copied at all).
//! Everything downstream reads them as `&[u8]`.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::capture::offline::MappedRegion;

/// The captured bytes of one frame.
#[derive(Clone)]
pub enum FrameData {
    Owned(Vec<u8>),
    /// `len` bytes at `start` of a mapped capture file, which stays mapped while any frame
    /// of it lives.
    Mapped {
        region: Arc<MappedRegion>,
        start: usize,
        len: usize,
    },
}

impl FrameData {
    /// `bytes` as a range of `region` when they lie inside it; `None` otherwise.
    pub fn in_region(region: &Arc<MappedRegion>, bytes: &[u8]) -> Option<FrameData> {
        let base = region.bytes();
        // Addresses compared as integers: no pointer into `base` is formed from them.
        let start = (bytes.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
        let end = start.checked_add(bytes.len())?;
        (end <= base.len()).then(|| FrameData::Mapped {
            region: region.clone(),
            start,
            len: bytes.len(),
        })
    }

    /// Keeps the first `len` bytes (`-s`); no-op when there are fewer.
    pub fn truncate(&mut self, len: usize) {
        match self {
            FrameData::Owned(v) => v.truncate(len),
            FrameData::Mapped { len: l, .. } => *l = (*l).min(len),
        }
    }

    /// Memory this frame keeps alive for whoever holds it: an owned buffer's capacity, or
    /// the length of a mapped range (the page cache holds the file, but a held frame keeps
    /// its pages from being released).
    pub fn capacity(&self) -> usize {
        match self {
            FrameData::Owned(v) => v.capacity(),
            FrameData::Mapped { len, .. } => *len,
        }
    }

    /// Whether the bytes are a range of a mapped file rather than a buffer of their own.
    pub fn is_mapped(&self) -> bool {
        matches!(self, FrameData::Mapped { .. })
    }

    /// The bytes as a buffer of their own, to change them: a mapped frame's are copied
    /// first (the file is never written).
    pub fn to_mut(&mut self) -> &mut Vec<u8> {
        if let FrameData::Mapped { .. } = self {
            *self = FrameData::Owned(self.to_vec());
        }
        match self {
            FrameData::Owned(v) => v,
            FrameData::Mapped { .. } => unreachable!("made owned above"),
        }
    }

    /// The bytes in a buffer of their own (copied when mapped).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            FrameData::Owned(v) => v,
            mapped => mapped.to_vec(),
        }
    }
}

impl Deref for FrameData {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            FrameData::Owned(v) => v,
            FrameData::Mapped { region, start, len } => region
                .bytes()
                .get(*start..start.saturating_add(*len))
                .unwrap_or(&[]),
        }
    }
}

impl DerefMut for FrameData {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.to_mut()
    }
}

impl AsRef<[u8]> for FrameData {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Default for FrameData {
    fn default() -> Self {
        FrameData::Owned(Vec::new())
    }
}

impl From<Vec<u8>> for FrameData {
    fn from(v: Vec<u8>) -> Self {
        FrameData::Owned(v)
    }
}

impl PartialEq for FrameData {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl PartialEq<[u8]> for FrameData {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl PartialEq<Vec<u8>> for FrameData {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == **other
    }
}

impl PartialEq<FrameData> for Vec<u8> {
    fn eq(&self, other: &FrameData) -> bool {
        **self == **other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for FrameData {
    fn eq(&self, other: &[u8; N]) -> bool {
        **self == other[..]
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for FrameData {
    fn eq(&self, other: &&[u8; N]) -> bool {
        **self == other[..]
    }
}

impl fmt::Debug for FrameData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_mapped() { "mapped" } else { "owned" };
        write!(f, "FrameData::{kind}({:02x?})", &self[..])
    }
}

impl Eq for FrameData {}

impl PartialOrd for FrameData {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FrameData {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl std::hash::Hash for FrameData {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}
