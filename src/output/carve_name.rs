//! Turning the file name an OFT header announces into a relative path that is safe to
//! create under the `--extract` directory. Pure functions; `carve` does the file work.
//!
//! The name arrives split at its 0x01 separators and already decoded (bad UTF-16 shows
//! up as U+FFFD, which is kept: it is harmless and tells the reader something was lost).
//! Each component:
//! - NUL, C0/C1 control characters, DEL, `/` and `\` become `_`;
//! - empty, `.` and `..` components are dropped (so nothing climbs out of the directory);
//! - Windows device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with any extension, any
//!   case) get a `_` prefix, so the tree stays copyable to Windows;
//! - longer than `MAX_COMPONENT_BYTES` is cut, keeping a short extension.
//!
//! At most `MAX_DEPTH` components are kept (the file name and the first directories) and
//! at most `MAX_TOTAL_BYTES` in all; past that only the file name remains.

/// Room left below the usual 255-byte limit for a ` (NNNN)` and a `.partial` suffix.
pub const MAX_COMPONENT_BYTES: usize = 200;
pub const MAX_DEPTH: usize = 16;
pub const MAX_TOTAL_BYTES: usize = 1024;
/// Longest extension kept when a long component is cut.
const MAX_EXT_BYTES: usize = 16;
/// What a name with no usable component becomes.
pub const UNNAMED: &str = "unnamed";

fn is_unsafe_char(c: char) -> bool {
    c.is_control() || c == '/' || c == '\\'
}

fn is_windows_device(component: &str) -> bool {
    let stem = component.split('.').next().unwrap_or("");
    let stem = stem.trim_end_matches([' ', '.']).to_ascii_uppercase();
    match stem.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" => true,
        s if s.len() == 4 && (s.starts_with("COM") || s.starts_with("LPT")) => {
            matches!(s.as_bytes()[3], b'1'..=b'9')
        }
        _ => false,
    }
}

/// Longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Cuts to `max` bytes, keeping an extension of up to `MAX_EXT_BYTES` when there is one.
pub fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    if let Some(dot) = name.rfind('.').filter(|&d| d > 0) {
        let ext = &name[dot..];
        if ext.len() <= MAX_EXT_BYTES && ext.len() < max {
            return format!("{}{}", cut(&name[..dot], max - ext.len()), ext);
        }
    }
    cut(name, max).to_string()
}

/// One component made safe, or `None` when nothing of it should become a path element.
pub fn safe_component(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .map(|c| if is_unsafe_char(c) { '_' } else { c })
        .collect();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        return None;
    }
    let named = if is_windows_device(&cleaned) {
        format!("_{cleaned}")
    } else {
        cleaned
    };
    Some(shorten(&named, MAX_COMPONENT_BYTES))
}

/// The safe relative path: directories first, the file name last; never empty.
pub fn safe_components(raw: &[String]) -> Vec<String> {
    let mut parts: Vec<String> = raw.iter().filter_map(|c| safe_component(c)).collect();
    let Some(file) = parts.pop() else {
        return vec![UNNAMED.to_string()];
    };
    parts.truncate(MAX_DEPTH - 1);
    let total: usize = parts.iter().map(|p| p.len() + 1).sum::<usize>() + file.len();
    if total > MAX_TOTAL_BYTES {
        parts.clear();
    }
    parts.push(file);
    parts
}

/// `name (n).ext` (or `name (n)` without an extension): the n-th alternative of a taken name.
pub fn numbered(name: &str, n: u32) -> String {
    match name.rfind('.').filter(|&d| d > 0) {
        Some(dot) => format!("{} ({}){}", &name[..dot], n, &name[dot..]),
        None => format!("{name} ({n})"),
    }
}

#[cfg(test)]
mod tests;
