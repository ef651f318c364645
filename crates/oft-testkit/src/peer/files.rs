//! Files on disk ↔ names and sizes on the wire: what a sender offers, where a receiver writes.

use super::{PeerError, Result};
use oftsniff::proto::{FileName, OftChecksum};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// One file the sender will offer.
#[derive(Clone, Debug)]
pub struct OutFile {
    pub path: PathBuf,
    /// Name in the OFT header: folder components joined by 0x01 (§1.7).
    pub name: FileName,
    pub size: u32,
    /// OFT checksum of the whole file (§2).
    pub checksum: u32,
    /// Modification time, Unix seconds (0 when unknown).
    pub mod_time: u32,
}

/// Everything the sender announces: the PROPOSE's service data and one PROMPT per file.
#[derive(Clone, Debug)]
pub struct Offer {
    pub files: Vec<OutFile>,
    pub total_size: u32,
    /// The name in TLV 0x2711: the file's name, or the folder's for several files.
    pub service_name: String,
    /// Service-data kind 2 ("folder / several files") rather than 1.
    pub multiple: bool,
}

/// Builds the offer for `paths`. A directory contributes its regular files (sorted, recursively)
/// under its own name. With `folder`, every name is prefixed by it; several files without
/// `folder` are sent under the folder name `files`.
pub fn plan(paths: &[PathBuf], folder: Option<&str>, utf16: bool) -> Result<Offer> {
    let mut entries: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for p in paths {
        let base = file_name(p)?;
        if p.is_dir() {
            walk(p, vec![base], &mut entries)?;
        } else {
            entries.push((p.clone(), vec![base]));
        }
    }
    if entries.is_empty() {
        return Err(PeerError("no files to send".into()));
    }
    let multiple = entries.len() > 1 || folder.is_some() || paths.iter().any(|p| p.is_dir());
    let folder = match folder {
        Some(f) => Some(f.to_owned()),
        None if entries.len() > 1 && paths.len() > 1 => Some("files".to_owned()),
        None => None,
    };
    let mut files = Vec::with_capacity(entries.len());
    let mut total: u64 = 0;
    for (path, mut comps) in entries {
        if let Some(f) = &folder {
            comps.insert(0, f.clone());
        }
        let joined = comps.join("\u{1}");
        let name = if utf16 {
            FileName::utf16(&joined)
        } else {
            FileName::utf8(&joined)
        };
        let meta =
            std::fs::metadata(&path).map_err(|e| PeerError(format!("{}: {e}", path.display())))?;
        let len = meta.len();
        let mod_time = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| u32::try_from(d.as_secs()).ok())
            .unwrap_or(0);
        let size = u32::try_from(len)
            .map_err(|_| PeerError(format!("{}: larger than 4 GiB", path.display())))?;
        let checksum = checksum_prefix(&path, u64::from(size))
            .map_err(|e| PeerError(format!("{}: {e}", path.display())))?;
        total += len;
        files.push(OutFile {
            path,
            name,
            size,
            checksum,
            mod_time,
        });
    }
    let total_size =
        u32::try_from(total).map_err(|_| PeerError("files add up to more than 4 GiB".into()))?;
    let service_name = match &folder {
        Some(f) => f.clone(),
        None => files[0].name.display(),
    };
    Ok(Offer {
        files,
        total_size,
        service_name,
        multiple,
    })
}

fn file_name(p: &Path) -> Result<String> {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| PeerError(format!("{}: has no file name", p.display())))
}

fn walk(dir: &Path, prefix: Vec<String>, out: &mut Vec<(PathBuf, Vec<String>)>) -> Result<()> {
    let mut children: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| PeerError(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    children.sort();
    for c in children {
        let mut comps = prefix.clone();
        comps.push(file_name(&c)?);
        if c.is_dir() {
            walk(&c, comps, out)?;
        } else if c.is_file() {
            out.push((c, comps));
        }
    }
    Ok(())
}

/// OFT checksum of the first `len` bytes of the file at `path` (fewer if it is shorter).
pub fn checksum_prefix(path: &Path, len: u64) -> io::Result<u32> {
    let mut f = File::open(path)?.take(len);
    let mut sum = OftChecksum::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(sum.value());
        }
        sum.update(&buf[..n]);
    }
}

/// Where a received file goes under `out`: the name's 0x01-separated components as directories.
/// Names that could escape `out` (empty, `.`, `..`, absolute, containing `/` or `\`) are refused.
pub fn local_path(out: &Path, name: &FileName) -> Result<PathBuf> {
    let mut p = out.to_path_buf();
    for c in name.components() {
        let bad = c.is_empty()
            || c.contains(['/', '\\', '\0'])
            || !matches!(
                Path::new(&c).components().next(),
                Some(Component::Normal(_))
            );
        if bad {
            return Err(PeerError(format!(
                "refusing file name {:?}: not a plain relative path",
                name.display()
            )));
        }
        p.push(c);
    }
    Ok(p)
}

#[cfg(test)]
mod tests;
