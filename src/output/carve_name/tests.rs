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
