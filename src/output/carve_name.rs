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
mod tests {
    use super::*;

    fn v(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dot_dot_and_separators_cannot_climb_out() {
        assert_eq!(
            safe_components(&v(&["../../etc/passwd"])),
            [".._.._etc_passwd"]
        );
        assert_eq!(safe_components(&v(&["a", "..", "b"])), ["a", "b"]);
        assert_eq!(safe_components(&v(&["..", "..", "x"])), ["x"]);
        assert_eq!(safe_components(&v(&["/abs"])), ["_abs"]);
        assert_eq!(safe_components(&v(&["a\\..\\b"])), ["a_.._b"]);
        assert_eq!(safe_components(&v(&["", ".", "f"])), ["f"]);
    }

    #[test]
    fn nothing_usable_becomes_unnamed() {
        assert_eq!(safe_components(&[]), [UNNAMED]);
        assert_eq!(safe_components(&v(&["..", ".", ""])), [UNNAMED]);
    }

    #[test]
    fn control_characters_and_nul_are_replaced() {
        assert_eq!(
            safe_component("a\0b\nc\x1bd\x7fe\u{85}f").unwrap(),
            "a_b_c_d_e_f"
        );
    }

    #[test]
    fn replacement_character_from_bad_utf16_is_kept() {
        // What String::from_utf16_lossy makes of [0xD800, 'a']: an unpaired surrogate.
        let s = String::from_utf16_lossy(&[0xD800, 0x61]);
        assert_eq!(safe_component(&s).unwrap(), "\u{fffd}a");
    }

    #[test]
    fn windows_device_names_are_prefixed_in_any_case_with_any_extension() {
        for n in [
            "CON",
            "con",
            "con.txt",
            "Aux.tar.gz",
            "nul",
            "COM1",
            "lpt9.log",
            "PRN ",
        ] {
            assert!(safe_component(n).unwrap().starts_with('_'), "{n}");
        }
        for n in ["console", "COM0", "COM10", "lpt", "icon.txt"] {
            assert_eq!(safe_component(n).unwrap(), n);
        }
    }

    #[test]
    fn long_components_are_cut_keeping_the_extension() {
        let long = format!("{}.txt", "a".repeat(300));
        let s = safe_component(&long).unwrap();
        assert_eq!(s.len(), MAX_COMPONENT_BYTES);
        assert!(s.ends_with(".txt"));
        // Multi-byte characters are never split.
        let wide = "é".repeat(200);
        let s = safe_component(&wide).unwrap();
        assert!(s.len() <= MAX_COMPONENT_BYTES && s.chars().all(|c| c == 'é'));
    }

    #[test]
    fn depth_and_total_length_are_bounded() {
        let deep: Vec<String> = (0..100).map(|i| format!("d{i}")).collect();
        let s = safe_components(&deep);
        assert_eq!(s.len(), MAX_DEPTH);
        assert_eq!(s.last().unwrap(), "d99");
        let wide: Vec<String> = (0..10).map(|i| format!("{i}{}", "x".repeat(190))).collect();
        let s = safe_components(&wide);
        assert_eq!(s.len(), 1);
        assert!(s[0].starts_with('9'));
    }

    #[test]
    fn numbered_alternatives_keep_the_extension() {
        assert_eq!(numbered("howdoisentfile.txt", 1), "howdoisentfile (1).txt");
        assert_eq!(numbered("README", 2), "README (2)");
        assert_eq!(numbered(".bashrc", 3), ".bashrc (3)");
    }
}
